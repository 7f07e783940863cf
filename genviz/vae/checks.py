"""Check this run, for the VAE labs (genviz.core.checkrun): the closed-form KL against its Monte Carlo estimate,
the test −ELBO's standard error by repetition, and the importance-weighted bounds' order L_1 ≤ L_10 ≤ L_100;
the posterior lab adds log p(x) by quadrature against importance sampling and the bounds below it."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, agree, ordered


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
