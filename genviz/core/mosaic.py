"""Image mosaics for views of many images (decoded grids, Gibbs chains, filters): pure numpy."""
from __future__ import annotations

import numpy as np


def tile(images: np.ndarray, rows: int, cols: int, pad: int = 0, fill: float = 0) -> np.ndarray:
    """[rows*cols, H, W] -> one mosaic (row 0 at the top), tiles separated by ``pad`` pixels."""
    n, h, w = images.shape
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), fill, images.dtype)
    for i in range(min(n, rows * cols)):
        r, c = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = images[i]
    return out


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of a near-square grid holding n tiles."""
    import math

    cols = math.ceil(math.sqrt(max(1, n)))
    return math.ceil(max(1, n) / cols), cols
