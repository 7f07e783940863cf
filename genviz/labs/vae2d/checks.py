"""Check this run, for the 2-D VAE lab (genviz.core.checkrun): with a 2-D latent, log p(x) = log ∫ p(x|z) p(z) dz is
a quadrature away, so the bounds the views show are checked against the exact values they bound."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, agree, ordered
from genviz.labs.vae2d.experiment import LIVE_K, TEST_K
from genviz.models.vae2d import LOG_2PI, gauss_log_prob

POINTS = 50  # test points the checks integrate exactly


@torch.no_grad()
def exact_elbo(model, x: torch.Tensor, n: int = 400, extent: float = 6.0) -> torch.Tensor:
    """[points] the ELBO ∫ q(z|x) log (p(x, z) / q(z|x)) dz by the midpoint rule on the grid over z (float64)."""
    h = 2 * extent / n
    t = torch.linspace(-extent + h / 2, extent - h / 2, n, dtype=torch.float64)
    gz = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    mean, log_scale = (v.double() for v in model.decode(gz.float()))
    log_prior = (-0.5 * gz ** 2 - 0.5 * LOG_2PI).sum(-1)
    mu, log_sigma = (v.double() for v in model.encode(x))
    out = []
    for xi, m, ls in zip(x.double(), mu, log_sigma):
        log_q = gauss_log_prob(gz, m, ls)
        w = torch.exp(log_q) * h * h
        out.append((w * (gauss_log_prob(xi, mean, log_scale) + log_prior - log_q)).sum() / w.sum())
    return torch.stack(out)


def vae2d_checks(exp, checks: Checks) -> None:
    model, x = exp.model, exp.test[:POINTS]

    def quadrature() -> tuple[bool, str]:
        a, b = model.exact_log_prob(x, 400), model.exact_log_prob(x, 800)
        err = float((a - b).abs().max())
        return err <= 1e-3, (f"log p(x) of {POINTS} test points by the midpoint rule on 400² and 800² grids over "
                             f"[−6, 6]²: largest difference {err:.2g} nats (≤ 0.001)")

    checks.add("exact log p(x)", "test_iwae", "the quadrature over z has converged", quadrature)

    def iwae_below() -> tuple[bool, str]:
        exact = model.exact_log_prob(x, 800).double()
        g = torch.Generator().manual_seed(77)
        values, ses, names = [], [], []
        for k in (1, LIVE_K, TEST_K):
            d = (model.iwae_log_prob(x, k, g).double() - exact)  # bound − exact, per point
            values.append(float(d.mean()))
            ses.append(float(d.std() / math.sqrt(len(d))))
            names.append(f"L_{k} − log p")
        values.append(0.0)
        ses.append(0.0)
        names.append("0")
        ok, detail = ordered(values, ses, names)
        return ok, f"{detail}; the gap at k = {TEST_K:,}: {-values[2]:.3f} nats"

    checks.add("test IWAE bound", "test_iwae", f"ELBO ≤ IWAE (k = {LIVE_K}) ≤ IWAE (k = {TEST_K:,}) ≤ the exact log p, "
               "paired over the same test points", iwae_below, kind="estimate")

    @torch.no_grad()
    def elbo_integral() -> tuple[bool, str]:
        exact = float(exact_elbo(model, x).mean())
        g = torch.Generator().manual_seed(78)
        draws = torch.stack([model.bound(x, 1, g).double() for _ in range(200)])  # 200 single-sample ELBOs each
        per_point = draws.mean(0)
        se = float(draws.std(0).pow(2).mean().div(200 * len(x)).sqrt())
        return agree(float(per_point.mean()), exact, se, what="the Monte Carlo ELBO (200 draws per point) against "
                     "∫ q log (p/q) by quadrature: ")

    checks.add("test ELBO", "test_elbo", "the sampled ELBO against its integral by quadrature", elbo_integral,
               kind="estimate")

    def density_below() -> tuple[bool, str]:
        d = exp.density().reshape(-1)
        pick = np.random.default_rng(79).choice(len(d), 200, replace=False)
        pts = exp._heat_grid[torch.from_numpy(pick)]
        with torch.no_grad():
            exact = model.exact_log_prob(pts, 400).double().numpy()
        keep = exact > exact.max() - 10  # where the density is within e^-10 of its peak (elsewhere both are ~0)
        diff = (np.log(np.maximum(d[pick].astype(np.float64), 1e-300)) - exact)[keep]
        top = float(np.exp(exact).max())
        return ordered([float(diff.mean()), 0.0], [float(diff.std(ddof=1) / math.sqrt(len(diff))), 0.0],
                       ["log shown − log p", "0"])[0], (
            f"at the {keep.sum()} of 200 grid points with p within e^-10 of its peak, log of the shown density − the exact log p(x): mean "
            f"{diff.mean():.3f}, largest {diff.max():.3f} nats (a lower bound in expectation; exact p up to {top:.3g})")

    checks.add("density", "density", "the view's density against the exact density at its grid points",
               density_below, kind="estimate")
