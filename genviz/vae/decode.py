"""Decoding on the GUI side with a numpy copy of the decoder (no torch, no round trip): a click on
the latent plane becomes an image in well under a millisecond."""
from __future__ import annotations

import numpy as np

_ACT = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "softplus": lambda h: np.logaddexp(0.0, h),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
}


def decode_numpy(layers: list[tuple[np.ndarray, np.ndarray]], z: np.ndarray, activation: str,
                 likelihood: str) -> np.ndarray:
    """Mean of p(x|z) for z [B, latent] -> [B, x_dim] in [0, 1]; mirrors ``VAE.decode_mean``."""
    h = np.atleast_2d(np.asarray(z, dtype=np.float32))
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = _ACT[activation](h)
    if likelihood == "bernoulli":
        return 1.0 / (1.0 + np.exp(-np.clip(h, -30, 30)))
    return np.clip(h, 0.0, 1.0)


def normal_ppf(p: np.ndarray) -> np.ndarray:
    """Inverse standard-normal CDF (Acklam's rational approximation, |error| < 1.2e-9)."""
    p = np.asarray(p, dtype=np.float64)
    a = [-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00]
    b = [-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]
    out = np.empty_like(p)
    lo, hi = p < 0.02425, p > 1 - 0.02425
    mid = ~(lo | hi)
    q = np.sqrt(-2 * np.log(p[lo]))
    out[lo] = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
              ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = np.sqrt(-2 * np.log(1 - p[hi]))
    out[hi] = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
              ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = p[mid] - 0.5
    r = q * q
    out[mid] = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
               (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    return out


def manifold_coords(n: int, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    """Grid coordinates spaced by the inverse normal CDF, as in Kingma & Welling's manifold figure:
    equal prior mass between neighbouring rows and columns."""
    return normal_ppf(np.linspace(lo, hi, n))
