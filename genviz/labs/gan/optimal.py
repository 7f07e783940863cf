"""The optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) and the Jensen-Shannon divergence it
measures (Goodfellow et al. 2014, Prop. 1 and Thm. 1), for 2-D data whose density is known (pure core).

p_data is exact (the data set is a Gaussian mixture with known means and std). The generator's density p_g
has no closed form (G is not invertible), so it is a Gaussian kernel density estimate of G's samples, its
bandwidth chosen by held-out likelihood (samples split in two halves, the KDE built on one half scores the
other), with one defensive broad kernel so that it never vanishes where G put a lone sample. Everything that follows is a plug-in of that KDE: D*, and

    JS(p_data ‖ p_g) = ½ E_data[log 2 p_d / (p_d + p_g)] + ½ E_g[log 2 p_g / (p_d + p_g)]

by Monte Carlo over held-out real points and the generated half the KDE was not built on, with the standard
error of those sample means. The SE covers the Monte Carlo error only; the KDE's smoothing bias is not in it
(tests/test_gan_optimal.py measures it against quadrature on densities where p_g is known).

The learned discriminator gives a lower bound on the same divergence: for every D,
E_data log D + E_g log(1 − D) ≤ 2 JS − log 4, so JS ≥ log 2 − L_D / 2 with L_D D's binary cross-entropy loss
(the minimax and non-saturating GANs' D loss), equal when D = D*.
"""
from __future__ import annotations

import math

import numpy as np
import torch

LOG2 = math.log(2.0)
HELD_FOR_BANDWIDTH = 400  # held-out samples that choose the bandwidth
BANDWIDTHS = np.geomspace(0.003, 1.0, 10)  # candidates, in the data's units (the ring's modes have std 0.01)


def squared_distances(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """|x_i − c_j|² [m, n] by differences (no cancellation at the ring's 0.01 scale; float32 keeps ~1e-6 of the
    coordinates, far below the narrowest mode)."""
    return torch.cdist(x, c, compute_mode="donot_use_mm_for_euclid_dist").square_()


def mixture_log_density(x: torch.Tensor, means: torch.Tensor, std: float) -> torch.Tensor:
    """log p(x) of an equal-weight mixture of isotropic 2-D Gaussians; x [n, 2] -> [n]."""
    return (torch.logsumexp(squared_distances(x, means) * (-0.5 / std ** 2), 1) - math.log(len(means))
            - math.log(2 * math.pi * std ** 2))


def kde_log_density(x: torch.Tensor, centres: torch.Tensor, h: float, d2: torch.Tensor | None = None) -> torch.Tensor:
    """log of the Gaussian KDE (1/n) Σ_i N(x; c_i, h² I) at x [m, 2] -> [m] (``d2``: the distances, if known)."""
    if d2 is None:
        d2 = squared_distances(x, centres)
    return torch.logsumexp(d2 * (-0.5 / (h * h)), 1) - (math.log(len(centres)) + math.log(2 * math.pi * h * h))


def choose_bandwidth(fit: torch.Tensor, held: torch.Tensor, near: float | None = None) -> float:
    """The candidate bandwidth whose KDE on ``fit`` gives ``held`` the highest mean log-likelihood; with ``near``
    (the last choice, while training moves G a little between snapshots) only it and its two neighbours are tried,
    and the search walks on while the best is at the edge."""
    held = held[:HELD_FOR_BANDWIDTH]
    d2 = squared_distances(held, fit)
    scores: dict[int, float] = {}

    def score(i: int) -> float:
        if i not in scores:
            scores[i] = float(kde_log_density(held, fit, float(BANDWIDTHS[i]), d2).mean())
        return scores[i]

    if near is None:
        return float(BANDWIDTHS[max(range(len(BANDWIDTHS)), key=score)])
    i = int(np.argmin(np.abs(np.log(BANDWIDTHS / near))))
    while True:
        best = max((j for j in (i - 1, i, i + 1) if 0 <= j < len(BANDWIDTHS)), key=score)
        if best == i:
            return float(BANDWIDTHS[i])
        i = best


def js_terms(log_pd_real: torch.Tensor, log_pg_real: torch.Tensor,
             log_pd_fake: torch.Tensor, log_pg_fake: torch.Tensor) -> dict:
    """The JS divergence from densities at real and generated points: its two halves and their SEs (nats)."""
    def half(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
        # log 2 p_a / (p_a + p_b) = log 2 − log(1 + exp(log p_b − log p_a)), stable for either sign
        v = (LOG2 - torch.nn.functional.softplus(b - a)).double()
        return 0.5 * float(v.mean()), 0.5 * float(v.std() / math.sqrt(len(v)))

    real, real_se = half(log_pd_real, log_pg_real)
    fake, fake_se = half(log_pg_fake, log_pd_fake)
    return {"js": real + fake, "js_se": math.hypot(real_se, fake_se), "js_real_part": real,
            "js_real_part_se": real_se, "js_fake_part": fake, "js_fake_part_se": fake_se}


@torch.no_grad()
def optimal_discriminator(fake: np.ndarray, real: np.ndarray, means: np.ndarray, std: float,
                          grid: torch.Tensor, near: float | None = None) -> dict:
    """D* on ``grid`` [m, 2] (float32 image values, NaN where neither density is appreciable) and the JS divergence, from G's samples ``fake``, held-out
    ``real`` points and the data's mixture (``means``, ``std``). Half of ``fake`` builds the KDE (its bandwidth
    chosen on the other half; ``near``: see :func:`choose_bandwidth`), the other half is where E_g is taken."""
    fake_t = torch.from_numpy(np.asarray(fake, np.float32))
    real_t = torch.from_numpy(np.asarray(real, np.float32))
    mu = torch.from_numpy(np.asarray(means, np.float32))
    n = len(fake_t) // 2
    fit, held = fake_t[:n], fake_t[n:2 * n]
    h = choose_bandwidth(fit, held, near)
    g = grid.float().cpu()
    # a defensive component (Hesterberg 1995): one extra kernel, G's samples' own Gaussian (covariance + h²),
    # keeps p_g's estimate from vanishing at a held-out sample in a sparse region (a bridge between modes),
    # where the KDE alone read log p_g ≈ −400 and one point swung the JS estimate by 0.2 nats
    mean = fit.mean(0)
    cov = torch.cov(fit.T.double()) + (h * h + 1e-6) * torch.eye(2, dtype=torch.float64)
    broad = torch.distributions.MultivariateNormal(mean.double(), cov)
    w_kde, w_broad = math.log(n / (n + 1.0)), math.log(1.0 / (n + 1.0))

    def log_pg(x: torch.Tensor) -> torch.Tensor:
        return torch.logaddexp(kde_log_density(x, fit, h) + w_kde, broad.log_prob(x.double()).float() + w_broad)

    log_pd_grid, log_pg_grid = mixture_log_density(g, mu, std), log_pg(g)
    d_star = torch.sigmoid(log_pd_grid - log_pg_grid)  # p_d / (p_d + p_g)
    # where both densities are negligible D* is 0/0 (any value is optimal there) and the KDE's lighter tails would
    # paint it 1: left blank (NaN) where each is below a thousandth of its own peak on the grid
    cut = math.log(1000.0)
    d_star[(log_pd_grid < float(log_pd_grid.max()) - cut) & (log_pg_grid < float(log_pg_grid.max()) - cut)] = float("nan")
    out = js_terms(mixture_log_density(real_t, mu, std), log_pg(real_t), mixture_log_density(held, mu, std), log_pg(held))
    out.update(d_star=d_star.float().numpy(), bandwidth=h, n_kde=int(n), n_real=int(len(real_t)))
    return out


def js_lower_bound(d_loss: float, d_loss_se: float) -> tuple[float, float]:
    """log 2 − L_D / 2 and its SE: the JS divergence the learned D proves (Goodfellow et al. 2014, Thm. 1)."""
    return LOG2 - 0.5 * d_loss, 0.5 * d_loss_se
