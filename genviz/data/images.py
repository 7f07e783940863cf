"""The image dataset every image lab consumes, and validation with messages a user can act on."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genviz.safeio import InputError, check_size, plain_name

MAX_CLASSES = 1000  # labels are class indices 0..MAX_CLASSES-1; a label of 10**12 is a broken file


class DataError(InputError):
    """A data file or array that cannot be used; the message says what is wrong and where."""


@dataclass
class ImageDataset:
    name: str
    images: np.ndarray  # float32 [N, H, W], values in [0, 1]
    labels: np.ndarray | None = None  # int64 [N]
    label_names: list[str] | None = None
    # the true generative factors where they are known (the shapes set): name -> [N] array
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        self.name = plain_name(self.name) or "data"
        if self.label_names:
            self.label_names = [plain_name(n, 30) for n in self.label_names]
        self.images = validate_images(self.images, self.source or self.name)
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.ndim != 1 or len(labels) != len(self.images):
                raise DataError(f"{self.source or self.name}: {len(self.images)} images but labels of "
                                f"shape {labels.shape}")
            if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
                raise DataError(f"{self.source or self.name}: labels must be integers, got {labels.dtype}")
            if len(labels) and (labels.min() < 0 or labels.max() >= MAX_CLASSES):
                raise DataError(f"{self.source or self.name}: labels must be class numbers 0..{MAX_CLASSES - 1}, "
                                f"found {labels.min()}..{labels.max()}")
            self.labels = labels.astype(np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        return self.images.shape[1], self.images.shape[2]

    def __len__(self) -> int:
        return len(self.images)

    def class_names(self) -> list[str]:
        if self.label_names:
            return list(self.label_names)
        if self.labels is None:
            return []
        return [str(i) for i in range(int(self.labels.max()) + 1)]


def validate_images(arr, where: str = "data") -> np.ndarray:
    """Accept [N,H,W], [N,H,W,1] or [N,D] (D a square) of uint8 0..255 or floats in [0,1] (or any
    non-negative range, rescaled); return float32 [N,H,W] in [0,1] or raise :class:`DataError`."""
    a = np.asarray(arr)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise DataError(f"{where}: expected numeric image data, got dtype {a.dtype}")
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 4 and a.shape[-1] in (3, 4):
        a = a[..., :3].astype(np.float32).mean(-1)  # colour -> grey: the labs model single-channel images
    if a.ndim == 2:
        side = int(round(np.sqrt(a.shape[1])))
        if side * side != a.shape[1]:
            raise DataError(f"{where}: rows of {a.shape[1]} values are not square images; "
                            "expected [N, H, W] or [N, H*W] with H == W")
        a = a.reshape(len(a), side, side)
    if a.ndim != 3:
        raise DataError(f"{where}: expected images shaped [N, H, W], got shape {tuple(a.shape)}")
    n, h, w = a.shape
    try:
        check_size(n * h * w * 4, where, "the images as float32")
    except InputError as exc:
        raise DataError(str(exc)) from None
    if n < 2 or h < 2 or w < 2:
        raise DataError(f"{where}: need at least 2 images of at least 2x2 pixels, got {tuple(a.shape)}")
    if h * w > 128 * 128:
        raise DataError(f"{where}: images of {h}x{w} are too large for these labs (at most 128x128)")
    if a.dtype == np.uint8:
        return (a.astype(np.float32) / 255.0)
    a = a.astype(np.float32)
    if not np.all(np.isfinite(a)):
        raise DataError(f"{where}: the images contain NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0:
        raise DataError(f"{where}: pixel values must be non-negative (found {lo:g})")
    if hi > 1.0:
        a = a / (255.0 if hi > 16.0 and hi <= 255.0 else hi)
    return np.ascontiguousarray(a, dtype=np.float32)
