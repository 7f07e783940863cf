"""2-D toy distributions for the GAN and flow labs (pure core).

The ring of 8 and the 5x5 grid follow the PacGAN protocol exactly (docs/references.md): ring means at
(cos 2 pi i/8, sin 2 pi i/8), i = 0..7, std 0.01; grid means on {-4,-2,0,2,4}^2, std 0.05.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genviz import safeio
from genviz.data.images import DataError

MAX_POINTS = 1_000_000  # a drawn or loaded set; the labs resample it
MAX_COORD = 1e6  # beyond this a view's range and a network's inputs overflow float32


@dataclass
class Toy2D:
    """A sampler of 2-D points. ``modes`` and ``std`` are set for Gaussian mixtures, so mode
    coverage can be scored."""

    name: str
    sampler: object  # callable(n, rng) -> [n, 2] float32
    modes: np.ndarray | None = None
    std: float | None = None
    extent: tuple[float, float, float, float] = (-2, 2, -2, 2)  # xmin, xmax, ymin, ymax for views
    meta: dict = field(default_factory=dict)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.sampler(n, rng), dtype=np.float32)


def ring_means(k: int = 8, radius: float = 1.0) -> np.ndarray:
    t = 2 * np.pi * np.arange(k) / k  # endpoint excluded: linspace(0, 2pi, 8) would give 7 modes
    return np.stack([radius * np.cos(t), radius * np.sin(t)], 1)


def grid_means(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], 1)


def mixture(name: str, means: np.ndarray, std: float, extent) -> Toy2D:
    def sampler(n, rng):
        idx = rng.integers(0, len(means), n)
        return means[idx] + std * rng.standard_normal((n, 2))

    return Toy2D(name, sampler, means.astype(np.float64), std, extent)


def two_moons(n, rng, noise=0.05):
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    pts = np.stack([x, y], 1) + noise * rng.standard_normal((n, 2))
    return (pts - [0.5, 0.25]) * 1.6


def spiral(n, rng, noise=0.05):
    t = np.sqrt(rng.random(n)) * 3 * np.pi
    r = t / (3 * np.pi) * 1.8
    sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    pts = sign[:, None] * np.stack([r * np.cos(t), r * np.sin(t)], 1)
    return pts + noise * rng.standard_normal((n, 2))


def checkerboard(n, rng):
    """FFJORD's checkerboard: 8 of the 16 unit squares of [-4, 4]^2 (entropy ln 32, docs/references.md)."""
    x1 = rng.random(n) * 4 - 2
    x2 = rng.random(n) - rng.integers(0, 2, n) * 2
    x2 = x2 + (np.floor(x1) % 2)
    return np.stack([x1, x2], 1) * 2


def points_dataset(name: str, points: np.ndarray, jitter: float | None = None) -> Toy2D:
    """Resampled user points (drawn with the mouse or loaded), with a little Gaussian jitter."""
    pts = validate_points(points, name)
    name = safeio.plain_name(name) or "points"
    lo, hi = pts.min(0), pts.max(0)
    span = float(max(hi - lo))
    jitter = 0.01 * span if jitter is None else jitter
    pad = 0.15 * span + 1e-3

    def sampler(n, rng):
        return pts[rng.integers(0, len(pts), n)] + jitter * rng.standard_normal((n, 2))

    return Toy2D(name, sampler, None, None, (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad))


def validate_points(points, where: str = "points") -> np.ndarray:
    a = np.asarray(points)
    if a.dtype == object or not np.issubdtype(a.dtype, np.number):
        raise DataError(f"{where}: expected numbers, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[1] != 2:
        raise DataError(f"{where}: expected rows of (x, y), got shape {tuple(a.shape)}")
    if len(a) < 2:
        raise DataError(f"{where}: need at least 2 points, got {len(a)}")
    if len(a) > MAX_POINTS:
        raise DataError(f"{where}: {len(a):,} points (at most {MAX_POINTS:,})")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{where}: the points contain NaN or infinite values")
    big = float(np.abs(a).max())
    if big > MAX_COORD:
        raise DataError(f"{where}: a coordinate of {big:.3g}; the labs draw and train on plain 2-D data with "
                        f"|x|, |y| <= {MAX_COORD:g} (rescale the points)")
    return a.astype(np.float64)


def save_drawn_points(points, folder: str | os.PathLike) -> Path:
    """Drawn points as ``folder/<content hash>/drawn-points.npy``: the name depends on the points
    alone, so a later drawing never overwrites a file that a saved session or preset refers to."""
    import hashlib

    pts = np.ascontiguousarray(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    digest = hashlib.sha256(pts.tobytes()).hexdigest()[:16]
    path = Path(folder).expanduser() / digest / "drawn-points.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("drawn-points.part.npy")
        np.save(tmp, pts)
        os.replace(tmp, path)
    return path


def load_points(path: str | os.PathLike) -> np.ndarray:
    """(x, y) rows from a .csv (a header line is allowed) or a .npy/.npz file."""
    try:
        path = safeio.regular_file(path, "points file")
        if path.suffix in (".npy", ".npz"):
            loaded = safeio.load_npy_or_npz(path, "points file")
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    keys = list(loaded.keys())
                    if not keys:
                        raise DataError(f"{path}: the archive is empty")
                    try:
                        loaded = loaded["points" if "points" in keys else keys[0]]
                    except Exception as exc:  # a damaged member
                        raise DataError(f"{path}: corrupt array data ({type(exc).__name__})") from None
            return validate_points(loaded, str(path))
        safeio.check_size(path.stat().st_size * 8, path, "the points of this CSV", None)
    except safeio.InputError as exc:
        raise DataError(str(exc)) from None
    rows = []
    try:
        with open(path, newline="") as f:
            for i, row in enumerate(csv.reader(f)):
                if len(rows) > MAX_POINTS:
                    raise DataError(f"{path}: more than {MAX_POINTS:,} points")
                if not row or all(not c.strip() for c in row):
                    continue
                try:
                    vals = [float(c) for c in row]
                except ValueError:
                    if i == 0:
                        continue  # a header
                    raise DataError(f"{path}: line {i + 1} is not two numbers: {','.join(row)!r}") from None
                if len(vals) != 2:
                    raise DataError(f"{path}: line {i + 1} has {len(vals)} values; expected x,y")
                rows.append(vals)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None
    except csv.Error as exc:  # a field beyond csv's limit, a NUL byte...
        raise DataError(f"{path}: not a CSV of x,y rows ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return validate_points(np.array(rows, dtype=np.float64).reshape(-1, 2), str(path))


MIXTURE_STD = 0.1  # the width of each mode of a mixture placed by hand


def placed_mixture(text: str) -> Toy2D:
    """'mixture:x,y;x,y;...' (1 to 25 modes, coordinates within +-10): an equal-weight mixture of Gaussians
    of std MIXTURE_STD at those means, so every lab that knows mixtures has its exact answers."""
    try:
        means = np.array([[float(v) for v in part.split(",")] for part in text.split(";") if part.strip()])
    except ValueError:
        means = np.zeros((0, 3))
    if means.ndim != 2 or means.shape[1] != 2 or not 1 <= len(means) <= 25 or not np.all(np.isfinite(means)) \
            or np.abs(means).max() > 10:
        raise DataError(f"mixture: give 1 to 25 means as mixture:x,y;x,y with coordinates within ±10 "
                        f"(got '{text[:60]}')")
    lo, hi = means.min(0) - 1.0, means.max(0) + 1.0
    half = max(hi[0] - lo[0], hi[1] - lo[1]) / 2
    cx, cy = (lo + hi) / 2
    return mixture("mixture", means, MIXTURE_STD, (cx - half, cx + half, cy - half, cy + half))


def make_toy(name: str) -> Toy2D:
    """ring8, grid25, moons, spiral, checkerboard, gaussian, mixture:x,y;x,y (modes placed by hand), or a
    path to a CSV/NPY of points."""
    if isinstance(name, str) and name.startswith("mixture:"):
        return placed_mixture(name[len("mixture:"):])
    if name == "ring8":
        return mixture("ring8", ring_means(8, 1.0), 0.01, (-1.6, 1.6, -1.6, 1.6))
    if name == "grid25":
        return mixture("grid25", grid_means(5, 2.0), 0.05, (-5.5, 5.5, -5.5, 5.5))
    if name == "moons":
        return Toy2D("moons", two_moons, extent=(-2.9, 2.9, -1.8, 1.8))
    if name == "spiral":
        return Toy2D("spiral", spiral, extent=(-2.2, 2.2, -2.2, 2.2))
    if name == "checkerboard":
        return Toy2D("checkerboard", checkerboard, extent=(-4.5, 4.5, -4.5, 4.5))
    if name == "gaussian":
        return mixture("gaussian", np.zeros((1, 2)), 1.0, (-4, 4, -4, 4))
    path = Path(name).expanduser()
    if path.suffix in (".csv", ".npy", ".npz", ".txt") or path.exists():
        return points_dataset(path.stem, load_points(path))
    raise DataError(f"unknown 2-D dataset '{name}' (ring8, grid25, moons, spiral, checkerboard, gaussian, "
                    "or a .csv/.npy file of x,y rows)")


TOY_NAMES = ("ring8", "grid25", "moons", "spiral", "checkerboard", "gaussian")


MIN_HQ_PER_MODE = 10  # below 10 high-quality samples a mode, the reverse KL's standard error is not given


def mode_coverage(samples: np.ndarray, modes: np.ndarray, std: float, threshold: float = 3.0) -> dict:
    """The PacGAN/VEEGAN protocol (docs/references.md): each sample goes to its nearest mode by
    std-normalised distance and is high quality if that distance is < ``threshold``; a mode is
    captured when it has at least one high-quality sample; reverse KL is KL(histogram of the
    high-quality samples over modes || uniform). A perfect generator scores ~98.9 % HQ.

    Standard errors for the samples drawn: ``hq_percent_se`` binomial. ``reverse_kl_se`` to second order (the
    plug-in KL to a uniform histogram is log K minus the plug-in entropy, whose variance is
    Var_p[log p] / n + (k - 1) / (2 n^2), Harris 1975), with the first term's own plug-in bias (k - 1) / n^2
    taken off: the delta method alone says 0 for a uniform histogram and gave 0.13 against a true spread of 0.37
    with 7 high-quality samples. It is None (the readout says "too few high-quality samples") when
    n_hq < 10 K; tests check it within 25 % of the estimate's spread over repeated sample sets.
    ``reverse_kl_bias``: the plug-in's upward bias, (k - 1) / (2 n_hq) (Miller 1955; k the modes hit)."""
    samples = np.asarray(samples, dtype=np.float64)
    d = np.sqrt(((samples[:, None, :] - modes[None, :, :]) ** 2).sum(-1)) / std
    nearest = d.argmin(1)
    hq = d[np.arange(len(samples)), nearest] < threshold
    counts = np.bincount(nearest[hq], minlength=len(modes)).astype(np.float64)
    k = len(modes)
    n_hq = float(counts.sum())
    rev_kl_se = rev_kl_bias = None
    if n_hq > 0:
        p = counts / n_hq
        nz = p > 0
        g = np.log(p[nz] * k)
        rev_kl = float((p[nz] * g).sum())
        hit = int(nz.sum())
        rev_kl_bias = (hit - 1) / (2 * n_hq)
        if n_hq >= MIN_HQ_PER_MODE * k:
            var_g = max(float((p[nz] * g ** 2).sum()) - rev_kl ** 2, 0.0)
            rev_kl_se = float(math.sqrt(max(var_g / n_hq - (hit - 1) / n_hq ** 2, 0.0) + (hit - 1) / (2 * n_hq ** 2)))
    else:
        rev_kl = math.inf  # no high-quality sample at all: the histogram is undefined
    frac = float(hq.mean()) if len(samples) else 0.0
    return {"modes": int((counts > 0).sum()), "n_modes": k, "hq_percent": 100.0 * frac,
            "hq_percent_se": 100.0 * math.sqrt(frac * (1 - frac) / max(len(samples), 1)),
            "reverse_kl": rev_kl, "reverse_kl_se": rev_kl_se, "reverse_kl_bias": rev_kl_bias, "n_hq": int(n_hq),
            "min_hq": MIN_HQ_PER_MODE * k,
            "per_mode": counts.astype(np.int64)}


# Points of a mode of std s in 2-D, counted within 3 s of it (as mode_coverage's high quality does), have
# E[d^2 | d < 3 s] = s^2 (2 - 9 e^-4.5 / (1 - e^-4.5)) = 1.899 s^2 (d^2 / s^2 is chi-square with 2 degrees of freedom)
TRUNCATED_D2 = 2 - 9 * math.exp(-4.5) / (1 - math.exp(-4.5))


def spread_ratio(x: np.ndarray, modes: np.ndarray, std: float) -> tuple[float | None, float | None]:
    """How widely the high-quality samples (within 3 std of a mode) spread around their mode against the data's
    own spread under the same cut: r = sqrt(mean d^2 / (TRUNCATED_D2 s^2)), so the data's own points read 1
    (above 1: wider, below 1: sharper and less diverse), and its standard error by the delta method,
    r / 2 * SE(mean d^2) / mean d^2. (None, None) with fewer than 10 such samples."""
    modes = np.asarray(modes, np.float64)
    d = np.sqrt(((np.asarray(x, np.float64)[:, None, :] - modes[None]) ** 2).sum(-1))
    near = d.min(1)
    d2 = near[near < 3 * std] ** 2
    if len(d2) < 10:
        return None, None
    r = float(np.sqrt(d2.mean() / TRUNCATED_D2) / std)
    return r, float(r / 2 * d2.std(ddof=1) / math.sqrt(len(d2)) / max(d2.mean(), 1e-300))
