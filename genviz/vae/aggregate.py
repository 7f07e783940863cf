"""The aggregate posterior q(z) = (1/N) Σ_n q(z | x_n) of a VAE against its prior (pure core).

Over N data points the aggregate posterior is a finite mixture of the encoder's Gaussians, so its density is
exact and its KL to the prior is a plain Monte Carlo average: z ~ q(z) (a point n, then z ~ q(z|x_n)),
KL(q(z) ‖ p(z)) = E_q(z)[log q(z) − log p(z)], ± the standard error of that mean. With the average per-point
KL, which is closed form, it splits the ELBO's KL term (Hoffman & Johnson 2016, "ELBO surgery"):

    E_x KL(q(z|x) ‖ p(z)) = I_q[x; z] + KL(q(z) ‖ p(z)),

the mutual information between x and z under q (at most log N) plus how far the aggregate posterior is from
the prior. A prior that matches q(z) (a mixture or VampPrior, Tomczak & Welling 2018) pays only the first.
"""
from __future__ import annotations

import math

import numpy as np
import torch

LOG_2PI = math.log(2 * math.pi)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z_i; mu_n, diag exp(logvar_n)) for every pair: z [m, d], mu/logvar [n, d] -> [m, n] (float64)."""
    z, mu, logvar = z.double(), mu.double(), logvar.double()
    d2 = ((z[:, None, :] - mu[None, :, :]) ** 2 / logvar.exp()[None]).sum(-1)
    return -0.5 * (d2 + logvar.sum(-1)[None] + z.shape[1] * LOG_2PI)


def aggregate_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log q(z) = log (1/N) Σ_n N(z; mu_n, diag σ_n²) at z [m, d] -> [m] (float64), in chunks of z."""
    out = [torch.logsumexp(gaussian_log_density(part, mu, logvar), 1) - math.log(len(mu)) for part in z.split(256)]
    return torch.cat(out)


def marginal_kl(mu: torch.Tensor, logvar: torch.Tensor, draws: int = 2000,
                generator: torch.Generator | None = None, log_prior=None) -> dict:
    """KL(q(z) ‖ p(z)), the mean per-point KL(q(z|x) ‖ p(z)) and the mutual information I_q[x; z], each by Monte
    Carlo over the same draws with its SE (so the first two's difference is the third, exactly), and the per-point
    KL in closed form for the standard normal prior (``mean_kl_exact``; ``log_prior``: z -> [m], another prior).
    nats."""
    mu, logvar = mu.double(), logvar.double()
    n, d = mu.shape
    pick = torch.randint(0, n, (draws,), generator=generator)
    eps = torch.randn(draws, d, generator=generator, dtype=torch.float64)
    z = mu[pick] + (0.5 * logvar[pick]).exp() * eps
    log_q = aggregate_log_density(z, mu, logvar)
    log_p = log_prior(z).double() if log_prior is not None else -0.5 * (z ** 2).sum(-1) - 0.5 * d * LOG_2PI
    own = -0.5 * (eps ** 2).sum(-1) - 0.5 * logvar[pick].sum(-1) - 0.5 * d * LOG_2PI  # log q(z | x_n) at its draw

    def mean_se(v: torch.Tensor) -> tuple[float, float]:
        return float(v.mean()), float(v.std() / math.sqrt(draws))

    # three estimates from the same draws, so that they add up exactly: E KL = I + KL(q(z) ‖ p(z))
    out = {"points": int(n), "draws": int(draws)}
    out["mean_kl"], out["mean_kl_se"] = mean_se(own - log_p)
    out["mutual_info"], out["mutual_info_se"] = mean_se(own - log_q)
    out["marginal_kl"], out["marginal_kl_se"] = mean_se(log_q - log_p)
    if log_prior is None:  # the per-point KLs in closed form, for comparison with the estimate
        out["mean_kl_exact"] = float((0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(-1)).mean())
    out["mutual_info_max"] = math.log(n)
    return out


def density_grid(points: np.ndarray, cov2: np.ndarray, extent, size: int) -> np.ndarray:
    """The aggregate posterior in the view's plane: (1/N) Σ_n N(u; points_n, cov2_n) on a size × size grid over
    ``extent`` (x0, x1, y0, y1), row 0 at y0 -> float32 [size, size]. Each q(z|x_n) projected onto an orthonormal
    plane is that Gaussian's marginal there, so this is the exact density of the projected aggregate posterior."""
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, size), np.linspace(y0, y1, size)
    gx, gy = np.meshgrid(xs, ys)
    u = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    p = torch.from_numpy(np.asarray(points, np.float64))
    c = torch.from_numpy(np.asarray(cov2, np.float64))
    prec = torch.linalg.inv(c)  # [n, 2, 2]
    logdet = torch.logdet(c)
    out = []
    for part in u.split(2048):
        diff = part[:, None, :] - p[None]  # [m, n, 2]
        m = torch.einsum("mni,nij,mnj->mn", diff, prec, diff)
        out.append(torch.logsumexp(-0.5 * (m + logdet[None]) - LOG_2PI, 1) - math.log(len(p)))
    return torch.cat(out).exp().reshape(size, size).numpy().astype(np.float32)
