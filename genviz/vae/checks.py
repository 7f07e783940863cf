"""Check this run, for the VAE labs (genviz.core.checkrun): the closed-form KL against its Monte Carlo estimate,
the test −ELBO's standard error by repetition, and the importance-weighted bounds' order L_1 ≤ L_10 ≤ L_100;
the posterior lab adds log p(x) by quadrature against importance sampling and the bounds below it."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, agree, coverage, ordered


@torch.no_grad()
def vae_checks(exp, checks: Checks, images: int = 100) -> None:
    model = exp.model.eval()
    x = exp.x_test[:images].to(exp.device)

    def kl_closed_vs_mc() -> tuple[bool, str]:
        mu, logvar = model.encode_params(x)
        std = (0.5 * logvar).exp()
        closed = model.elbo_terms(x)["kl"].double()  # closed form per image
        z = mu + std * torch.randn((2000, *mu.shape), device=mu.device)
        q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
        p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
        mc = (q - p).double().mean(0)  # per image, over 2,000 draws
        per = (q - p).double()
        se = float((per.std(0) / math.sqrt(per.shape[0])).pow(2).sum().sqrt() / len(x))
        return agree(float(closed.mean()), float(mc.mean()), se, what="closed form ")

    checks.add("KL(q(z|x) ‖ p(z)) (curves, KL per dimension)", "test_kl",
               f"the closed form against a Monte Carlo estimate (2,000 draws of z for each of {len(x)} test images)",
               kl_closed_vs_mc)

    def elbo_se_by_repetition() -> tuple[bool, str]:
        from genviz.vae.experiment import elbo_numbers

        xt = exp.x_test[:1000].to(exp.device)
        reps = [elbo_numbers(model.elbo_terms(xt)) for _ in range(20)]
        est = np.array([r["test_neg_elbo"] for r in reps])
        # the SE shown covers the one-sample noise and the choice of images: repeats on the same images
        # (fresh noise only) must spread less than it
        se = float(np.mean([r["test_neg_elbo_se"] for r in reps]))
        spread = float(est.std(ddof=1))
        return spread <= se, f"20 repeats with fresh noise spread {spread:.3g}; the SE shown {se:.3g} covers them"

    checks.add("−ELBO (test) ± SE", "test_neg_elbo", "its standard error covers the Monte Carlo noise (repetition)",
               elbo_se_by_repetition, kind="estimate")

    def bound_order() -> tuple[bool, str]:
        xs = x[:50]
        vals, ses = [], []
        for k in (1, 10, 100):
            per = torch.stack([model.iwae_loss(xs, k)[1] for _ in range(4)]).double().mean(0)  # per image
            vals.append(float(per.mean()))
            ses.append(float(per.std() / math.sqrt(len(per))) / 2.0)
        return ordered(vals, ses, ["L₁", "L₁₀", "L₁₀₀"])

    checks.add("the ELBO and the importance-weighted bounds", "test_neg_elbo",
               "L₁ ≤ L₁₀ ≤ L₁₀₀ on 50 test images (Burda et al. 2016)", bound_order, kind="estimate")


@torch.no_grad()
def posterior_checks(exp, checks: Checks) -> None:
    from genviz.labs.posterior import inference as inf

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
