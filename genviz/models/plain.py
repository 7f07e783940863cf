"""Model math the lab panels draw with, in numpy alone: a panel imports no torch (an import-linter contract),
so the window draws before torch loads."""
from __future__ import annotations

import numpy as np


def blind_spot(field: np.ndarray, shape: tuple[int, int], d: int) -> int:
    """The pixels above pixel d (raster order) that its prediction never sees although they lie within its
    receptive field's reach: unseen pixels inside the bounding box of the pixels it does see in the rows above.
    PixelCNN's blind triangle up and to the right counts; rows and columns beyond every layer's reach do not
    (counting every unseen pixel above titled a gated stack, which has no blind spot, "413 blind above" on 28x28,
    and PixelCNN "391" for its 15)."""
    h, w = shape
    r = int(d) // w
    seen = np.asarray(field).reshape(h, w)[:r] != 0
    if not seen.any():
        return 0
    rows, cols = np.flatnonzero(seen.any(1)), np.flatnonzero(seen.any(0))
    box = seen[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    return int((~box).sum())


def change_of_variables_1d(bend: float, z: np.ndarray) -> dict[str, np.ndarray]:
    """The change of variables in one dimension, for the figure beside the 2-D flows: z ~ N(0, 1)
    pushed through x = f(z) = z + bend * tanh(2 z), monotone for bend > -1/2. The density of x is
    p_x(x) = p_z(z) |dz/dx| = p_z(z) / f'(z) with f'(z) = 1 + 2 bend (1 - tanh(2 z)^2): where f
    stretches (f' > 1) the density thins, where it squeezes it piles up. Returns z, x = f(z),
    f'(z), p_z(z) and p_x(f(z))."""
    if not bend > -0.5:
        raise ValueError("bend must be > -1/2 for f to be invertible")
    z = np.asarray(z, dtype=np.float64)
    t = np.tanh(2 * z)
    x = z + bend * t
    dxdz = 1 + 2 * bend * (1 - t * t)
    p_z = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return {"z": z, "x": x, "dxdz": dxdz, "p_z": p_z, "p_x": p_z / dxdz}
