"""Check this run, for the posterior lab (genviz.core.checkrun): the VAE labs' checks, then log p(x) by quadrature
(converged, and against importance sampling), the bounds below it in order, and the encoder's ELBO's standard error by
repetition."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, agree, coverage, ordered
from genviz.labs.posterior import inference as inf
from genviz.vae.checks import vae_checks


@torch.no_grad()
def posterior_checks(exp, checks: Checks) -> None:
    vae_checks(exp, checks)
    model = exp.model.eval()
    x = exp.chosen_x()
    n = int(exp.settings["grid"])
    grid = inf.grid_posterior(model, x, n)

    def quadrature_converged() -> tuple[bool, str]:
        fine = inf.grid_posterior(model, x, 2 * n)
        gap = abs(fine.log_px - grid.log_px)
        return gap <= 0.01, (f"log p(x) on the {n}×{n} grid {grid.log_px:.5f}, on a {2 * n}×{2 * n} grid "
                             f"{fine.log_px:.5f} (|difference| {gap:.2g} ≤ 0.01)")

    checks.add("log p(x) (quadrature)", "numbers.log_px", "the grid is fine enough: doubling its resolution moves "
               "log p(x) by less than 0.01 nats", quadrature_converged)

    q = inf.encoder_q(model, x)

    def log_weights(n: int) -> torch.Tensor:
        """log p(x, z) − log q(z|x) for n fresh draws of the encoder's q (not the views' common numbers)."""
        z = q.rsample(n)
        return (inf._log_joint(model, x, z) - q.log_prob(z)).double()

    def bound(k: int, groups: int) -> tuple[float, float]:
        g = torch.logsumexp(log_weights(k * groups).reshape(groups, k), 1) - math.log(k)
        return inf.mean_se(g.cpu().numpy())

    def quadrature_vs_importance() -> tuple[bool, str]:
        v, se = bound(5000, 20)
        # L_5000 is below log p(x) by a small bias; it must not lie above it, nor far below
        return agree(grid.log_px, v, max(se, 1e-9), z=4.0, what="quadrature ") if v <= grid.log_px + 4 * se \
            else (False, f"L₅₀₀₀ {v:.4f} ± {se:.4f} lies above log p(x) {grid.log_px:.4f}")

    checks.add("log p(x) (quadrature)", "numbers.log_px", "against an importance-sampling estimate (L₅₀₀₀, 20 "
               "repeats)", quadrature_vs_importance)

    def bounds_below() -> tuple[bool, str]:
        b = {k: bound(k, max(20, 20000 // k)) for k in (1, 10, 100, 1000)}  # independent draws for each k
        vals = [b[k][0] for k in (1, 10, 100, 1000)] + [grid.log_px]
        ses = [b[k][1] for k in (1, 10, 100, 1000)] + [0.0]
        return ordered(vals, ses, ["L₁", "L₁₀", "L₁₀₀", "L₁₀₀₀", "log p(x)"])

    checks.add("the bounds (Bounds above L[q])", "numbers.iwae_1000", "L₁ ≤ L₁₀ ≤ L₁₀₀ ≤ L₁₀₀₀ ≤ log p(x) for the "
               "chosen x, each bound from draws of its own", bounds_below, kind="estimate")

    def elbo_se() -> tuple[bool, str]:
        est, ses = [], []
        for _ in range(20):
            z = q.rsample(2000)
            v, s = inf.mean_se((inf._log_joint(model, x, z) + q.entropy()).double().cpu().numpy())
            est.append(v)
            ses.append(s)
        return coverage(np.array(est), np.array(ses))

    checks.add("L[q] ± SE (the encoder's ELBO)", "numbers.elbo_q", "its standard error by repetition (20 × 2,000 "
               "draws)", elbo_se, kind="estimate")
