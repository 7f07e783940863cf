"""Datasets that ship with genviz: nothing to download, so every lab works on a fresh laptop."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genviz.data.images import DataError, ImageDataset

RESOURCES = Path(__file__).resolve().parents[1] / "resources"  # package data: in every wheel


def resource_path(*parts: str) -> Path:
    path = RESOURCES.joinpath(*parts)
    if not path.exists():
        raise DataError(f"resource {path} is missing: this genviz installation is incomplete; reinstall it")
    return path


def load_digits() -> ImageDataset:
    """The 1797 8x8 handwritten digits (UCI optdigits, as bundled with scikit-learn; values 0..16).

    A copy lives in genviz/resources/data so the GUI need not import scikit-learn (about 2 s)."""
    with np.load(resource_path("data", "digits_8x8.npz")) as f:
        images = f["images"].astype(np.float32) / 16.0
        labels = f["labels"].astype(np.int64)
    return ImageDataset("digits", images, labels, [str(i) for i in range(10)], source="embedded digits 8x8")


SHAPE_NAMES = ["square", "ellipse", "triangle"]


def make_shapes(n: int = 3000, size: int = 28, seed: int = 0) -> ImageDataset:
    """Procedural shapes whose true factors are known (like dSprites): shape, scale, rotation and
    position x, y, each drawn uniformly. Rendered with 2x2 supersampling for smooth edges."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, len(SHAPE_NAMES), n)
    scale = rng.uniform(0.45, 1.0, n)
    rotation = rng.uniform(0.0, 2 * np.pi, n)
    pos_x = rng.uniform(0.3, 0.7, n)
    pos_y = rng.uniform(0.3, 0.7, n)

    ss = 2
    coords = (np.arange(size * ss) + 0.5) / (size * ss)
    gy, gx = np.meshgrid(coords, coords, indexing="ij")
    images = np.zeros((n, size, size), np.float32)
    radius = 0.22 * scale
    for start in range(0, n, 512):
        sl = slice(start, min(n, start + 512))
        dx = gx[None] - pos_x[sl, None, None]
        dy = gy[None] - pos_y[sl, None, None]
        c, s = np.cos(rotation[sl])[:, None, None], np.sin(rotation[sl])[:, None, None]
        u = (c * dx + s * dy) / radius[sl, None, None]  # coordinates in the shape's own frame
        v = (-s * dx + c * dy) / radius[sl, None, None]
        square = (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
        ellipse = (u / 1.0) ** 2 + (v / 0.6) ** 2 <= 1.0
        # equilateral triangle with circumradius 1
        triangle = (v >= -0.5) & (np.sqrt(3) * u + v <= 1.0) & (-np.sqrt(3) * u + v <= 1.0)
        kind = shape[sl, None, None]
        inside = np.where(kind == 0, square, np.where(kind == 1, ellipse, triangle))
        images[sl] = inside.reshape(-1, size, ss, size, ss).mean(axis=(2, 4))
    factors = {"shape": shape.astype(np.float64), "scale": scale, "rotation": rotation,
               "pos_x": pos_x, "pos_y": pos_y}
    return ImageDataset("shapes", images, shape, list(SHAPE_NAMES), factors, source="procedural shapes")
