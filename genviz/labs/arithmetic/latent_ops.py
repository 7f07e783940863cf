"""Latent-space arithmetic in plain numpy (no torch, no Qt): the GUI runs these on every slider
move with its own copy of the decoder, and the tests check them against known answers."""
from __future__ import annotations

import numpy as np

MAX_SLIDERS = 32  # one slider per latent dimension up to this size, else the leading PCA directions
PCA_SLIDERS = 16


def lerp(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """n points on the segment from a to b (both ends included) -> [n, d]."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) * np.asarray(a, np.float64) + t * np.asarray(b, np.float64)


def slerp(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985; White 2016 for generative models) -> [n, d]:
    sin((1-t)W)/sin W a + sin(tW)/sin W b, W the angle between a and b. When |a| = |b| every point
    keeps that norm, so the path stays where a Gaussian prior puts its mass (the shell of radius
    ~sqrt(d)) instead of cutting through the improbable centre as a straight line does."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return lerp(a, b, n)
    cos = np.clip(a @ b / (na * nb), -1.0, 1.0)
    omega = np.arccos(cos)
    if np.sin(omega) < 1e-6:  # (anti)parallel: the great circle is not unique; a line is the limit
        return lerp(a, b, n)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def attribute_vector(z: np.ndarray, members_a: np.ndarray, members_b: np.ndarray) -> np.ndarray:
    """Mean latent of set A minus mean latent of set B (boolean masks or index arrays over z)."""
    z = np.asarray(z, np.float64)
    za, zb = z[members_a], z[members_b]
    if len(za) == 0 or len(zb) == 0:
        raise ValueError("both sets need at least one example")
    return za.mean(0) - zb.mean(0)


def analogy(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a - b + c: "a is to b as ? is to c" (Mikolov et al. 2013; White 2016 for images)."""
    return np.asarray(a, np.float64) - np.asarray(b, np.float64) + np.asarray(c, np.float64)


def prior_random_walk(z0: np.ndarray, steps: int, step_size: float, rng: np.random.Generator) -> np.ndarray:
    """A walk that wanders without drifting off: z' = rho z + sqrt(1 - rho^2) eps with
    rho = cos(step_size), whose stationary law is the N(0, I) prior -> [steps + 1, d]."""
    rho = float(np.cos(step_size))
    noise_scale = float(np.sqrt(max(0.0, 1.0 - rho * rho)))
    z = np.asarray(z0, np.float64).copy()
    out = [z.copy()]
    for _ in range(steps):
        z = rho * z + noise_scale * rng.standard_normal(z.shape)
        out.append(z.copy())
    return np.stack(out)


def slider_basis(mu: np.ndarray, max_sliders: int = MAX_SLIDERS, pca_sliders: int = PCA_SLIDERS):
    """(center [d], basis [d, m], scale [m], names) the sliders move along: the latent axes in prior
    units when d <= max_sliders, else the leading principal directions of the encoded means, each
    in units of its standard deviation over the data."""
    mu = np.asarray(mu, np.float64)
    d = mu.shape[1]
    if d <= max_sliders:
        return np.zeros(d), np.eye(d), np.ones(d), [f"z{i + 1}" for i in range(d)]
    center = mu.mean(0)
    _, s, vh = np.linalg.svd(mu - center, full_matrices=False)
    m = min(pca_sliders, d, len(mu))
    scale = np.maximum(s[:m] / max(1.0, np.sqrt(len(mu) - 1)), 1e-3)
    return center, vh[:m].T.copy(), scale, [f"PC{i + 1}" for i in range(m)]


def to_slider_values(z: np.ndarray, center: np.ndarray, basis: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Coordinates of z along the slider directions (the basis is orthonormal)."""
    return ((np.asarray(z, np.float64) - center) @ basis) / scale


def move_slider(z: np.ndarray, i: int, value: float, center, basis, scale) -> np.ndarray:
    """z with its coordinate along slider i set to ``value``; every other coordinate kept (also the
    part of z outside the sliders' span, when they are PCA directions)."""
    old = to_slider_values(z, center, basis, scale)[i]
    return np.asarray(z, np.float64) + basis[:, i] * (value - old) * scale[i]


def factor_directions(mu: np.ndarray, factors: dict[str, np.ndarray]):
    """Ground-truth directions from known generative factors (the shapes dataset's position, size,
    rotation), by least squares mu ~ c + sum_k f_k w_k on standardised factors.

    Returns (names, directions [F, d]: the latent move of +1 standard deviation of each factor
    with the others held fixed, r2 [F]: how much of each factor a linear read-out of mu explains,
    cosines [F, d]: |cos| between each direction and each latent axis, the "learned" directions)."""
    mu = np.asarray(mu, np.float64)
    names = list(factors)
    f = np.stack([np.asarray(factors[k], np.float64) for k in names], 1)
    f = (f - f.mean(0)) / np.maximum(f.std(0), 1e-12)
    mu_c = mu - mu.mean(0)
    directions, *_ = np.linalg.lstsq(f, mu_c, rcond=None)  # [F, d]
    # R^2 of predicting each factor linearly from the latent means
    design = np.concatenate([mu_c, np.ones((len(mu), 1))], 1)
    coef, *_ = np.linalg.lstsq(design, f, rcond=None)
    resid = f - design @ coef
    r2 = 1.0 - resid.var(0) / np.maximum(f.var(0), 1e-12)
    norms = np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
    cosines = np.abs(directions) / norms
    return names, directions, r2, cosines


def nearest_centroid(images: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The class whose mean image is nearest (Euclidean, pixels) to each image: [n, p], [k, p] -> [n]."""
    x, c = np.asarray(images, np.float64), np.asarray(centroids, np.float64)
    d2 = (x ** 2).sum(1)[:, None] - 2 * x @ c.T + (c ** 2).sum(1)[None]
    return d2.argmin(1)


def class_transfer_pairs(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For every ordered pair of classes (s, t ≠ s), up to ``per_class`` examples of s: (example indices [m],
    target classes [m]) for the class-vector analogy z(x) − z̄_s + z̄_t."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    idx, target = [], []
    for s in classes:
        members = np.flatnonzero(labels == s)
        pick = rng.choice(members, size=min(per_class, len(members)), replace=False)
        for t in classes:
            if t != s:
                idx.append(pick)
                target.append(np.full(len(pick), t))
    if not idx:
        return np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(idx), np.concatenate(target)
