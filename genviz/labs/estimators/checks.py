"""Check this run, for the gradient-estimator lab (genviz.core.checkrun): the unbiased estimators' means against the
exact gradient (closed form, quadrature, enumeration), the closed-form variances, every standard error by
repetition, and for the Helmholtz machines the bounds' order L_1 ≤ L_10 ≤ L_100 ≤ log p(x) (exact by
enumeration)."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, agree, coverage, ordered
from genviz.labs.estimators.experiment import DISCRETE, EVAL, GAUSSIAN
from genviz.models.estimators import (categorical_estimates, categorical_exact_gradient, exact_gradient,
                                      gaussian_estimates, square_sf_variance)

N = 200_000  # fresh estimates for a mean


@torch.no_grad()
def estimator_checks(exp, checks: Checks) -> None:
    rng = np.random.default_rng(4242)
    s = exp.settings
    if exp.kind == "variance":
        exact = exact_gradient(s["f"], s["mu"], s["sigma"], exp.decoder)
        how = "quadrature" if s["f"] == "decoder" else "closed form"
        for est in GAUSSIAN:
            def draws(n, est=est):
                return gaussian_estimates(s["f"], est, s["mu"], s["sigma"], n, rng, exp.decoder, baseline=exp.baseline)

            def unbiased(draws=draws) -> tuple[bool, str]:
                g = draws(N)
                return agree(float(g.mean()), exact, float(g.std() / math.sqrt(N)), what=f"mean of {N:,} ")

            checks.add(f"{est}: mean estimate (histogram, running mean)", f"estimators.{est}.mean",
                       f"unbiased: the mean of fresh estimates against the exact gradient ({how})", unbiased)

            def se(draws=draws) -> tuple[bool, str]:
                reps = [draws(2000) for _ in range(20)]
                return coverage(np.array([r.mean() for r in reps]), np.array([r.std() / math.sqrt(2000) for r in reps]))

            checks.add(f"{est}: mean ± SE", f"estimators.{est}.se", "its standard error by repetition (20 × 2,000)", se,
                       kind="estimate")
            if s["f"] == "square":
                closed = {"sf": square_sf_variance(s["mu"], s["sigma"]),
                          "sf-baseline": square_sf_variance(s["mu"], s["sigma"], exp.baseline),
                          "reparam": 4 * s["sigma"] ** 2}[est]

                def variance(draws=draws, closed=closed) -> tuple[bool, str]:
                    g = draws(N)
                    v = float(g.var(ddof=1))
                    m4 = float(((g - g.mean()) ** 4).mean())
                    return agree(v, closed, math.sqrt(max(m4 - v * v, 0.0) / N), what=f"variance of {N:,} ")

                checks.add(f"{est}: variance (closed form, dashed)", f"closed_var.{est}", "the closed form against "
                           "the variance of fresh estimates", variance)
        if s["f"] == "decoder":
            def quadrature() -> tuple[bool, str]:
                g = gaussian_estimates(s["f"], "reparam", s["mu"], s["sigma"], N, rng, exp.decoder)
                return agree(exact, float(g.mean()), float(g.std() / math.sqrt(N)), what="Gauss–Hermite quadrature ")

            checks.add("the exact gradient (black line)", "exact", "quadrature against Monte Carlo", quadrature)
    elif exp.kind == "discrete":
        exact = float(categorical_exact_gradient(exp.logits, exp.values)[0])
        for est in DISCRETE:
            def check(est=est) -> tuple[bool, str]:
                g = categorical_estimates(exp.logits, exp.values, est, N, rng)[:, 0]
                ok, text = agree(float(g.mean()), exact, float(g.std() / math.sqrt(N)), what=f"mean of {N:,} ")
                if est == "gumbel":  # biased by design: its bias is reported, not required to vanish
                    return True, f"biased by design (τ = {exp.settings.get('temperature', '?')}): {text}"
                return ok, text

            checks.add(f"{est}: mean estimate", f"estimators.{est}.mean", "unbiased: fresh estimates against the "
                       "exact gradient (enumerating the categories)" if est != "gumbel" else
                       "its bias against the exact gradient", check)
    elif exp.kind == "vae":
        x = exp.x_test[:EVAL]
        for method, model in zip(exp.methods, exp.models):
            def se(model=model) -> tuple[bool, str]:
                reps = [model.elbo(x, draws=10).double() for _ in range(20)]
                spread = float(np.std([float(r.mean()) for r in reps], ddof=1))
                shown = float(np.mean([float(r.std() / math.sqrt(len(r))) for r in reps]))
                return spread <= shown, (f"20 repeats with fresh draws spread {spread:.3g}; the SE shown {shown:.3g} "
                                         "(over the images) covers them")

            checks.add(f"test ELBO ± SE ({method})", f"test_elbo.{method}", "its standard error covers the Monte "
                       "Carlo noise (repetition)", se, kind="estimate")
    elif exp.kind == "ardecoder":
        from genviz.labs.estimators.experiment import ARDecoderVAE

        ar = next(m for m in exp.models if isinstance(m, ARDecoderVAE))

        def causal() -> tuple[bool, str]:
            x = exp.x_test[:4].clone().requires_grad_(True)
            z = torch.randn(4, ar.w_z.shape[1], generator=torch.Generator().manual_seed(3))
            with torch.enable_grad():
                logits = ar.logits(x, z)
                leaks = 0
                for i in range(logits.shape[1]):
                    (g,) = torch.autograd.grad(logits[:, i].sum(), x, retain_graph=True)
                    leaks += int((g[:, i:].abs() > 0).sum())
            return leaks == 0, (f"∂ logit_i / ∂ x_j over {logits.shape[1]} pixels and 4 images: {leaks} nonzero for "
                                "j ≥ i (0: each pixel is predicted from the pixels before it and z only, so p(x|z) is a "
                                "normalised autoregressive model)")

        checks.add("autoregressive decoder (samples, −log p(x))", "nll.autoregressive", "causal by autograd: "
                   "p(x|z) = Π p(x_i | x_<i, z) is exact", causal)
    elif exp.kind == "vamp":
        from genviz.labs.estimators.experiment import VampVAE
        from genviz.vae.aggregate import marginal_kl

        vamp = next(m for m in exp.models if isinstance(m, VampVAE))
        if vamp.q(exp.x_test[:1]).mean.shape[1] == 2:
            def normalised() -> tuple[bool, str]:
                t = torch.linspace(-12, 12, 1201)
                gy, gx = torch.meshgrid(t, t, indexing="ij")
                mass = float(vamp.log_prior(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)).exp().sum()) * (24 / 1200) ** 2
                return abs(mass - 1.0) < 1e-3, f"∫ p(z) dz = {mass:.5f} by quadrature on [−12, 12]² (1,201² points)"

            checks.add("VampPrior p(z) (prior view)", "prior_density.vamp", "a mixture of the encoder's posteriors at "
                       "the pseudo-inputs: a density (integrates to 1)", normalised)
        xa = exp.x_train[:EVAL]
        for method, model in zip(exp.methods, exp.models):
            def kl_se(model=model) -> tuple[bool, str]:
                from genviz.labs.estimators.experiment import standard_log_prior

                q = model.q(xa)
                prior = model.log_prior if isinstance(model, VampVAE) else standard_log_prior
                reps = [marginal_kl(q.mean, 2 * q.stddev.log(), 2000, torch.Generator().manual_seed(900 + i),
                                    log_prior=prior) for i in range(20)]
                return coverage(np.array([r["marginal_kl"] for r in reps]), np.array([r["marginal_kl_se"] for r in reps]))

            checks.add(f"KL(q(z) ‖ p(z)) ± SE ({method})", f"marginal_kl.{method}", "its standard error by repetition "
                       "(20 × 2,000 draws of q(z))", kl_se, kind="estimate")
    elif exp.kind == "iwae":
        x = exp.x_test[:50]
        for method, model in zip(exp.methods, exp.models):
            def iw_order(model=model) -> tuple[bool, str]:
                torch.manual_seed(77)
                bounds = {k: torch.stack([model.iwae_bound(x, k, reparam=False).double() for _ in range(4)]).mean(0)
                          for k in (1, 10, 100, 1000)}
                means = [float(b.mean()) for b in bounds.values()]
                ses = [float(b.std() / math.sqrt(len(b))) for b in bounds.values()]
                return ordered(means, ses, [f"L_{k}" for k in bounds])

            checks.add(f"test −log p(x) ({method})", f"nll.{method}", "IWAE bounds climb with k toward log p(x): "
                       "L₁ ≤ L₁₀ ≤ L₁₀₀ ≤ L₁₀₀₀ (Burda et al. 2016, Thm. 1), so L₅₀₀ shown is a lower bound",
                       iw_order, kind="estimate")

            def nll_se(model=model) -> tuple[bool, str]:
                reps = [torch.cat([model.iwae_bound(p, 500, reparam=False) for p in x.split(25)]).double()
                        for _ in range(8)]
                spread = float(np.std([float(r.mean()) for r in reps], ddof=1))
                shown = float(np.mean([float(r.std() / math.sqrt(len(r))) for r in reps]))
                return spread <= shown, (f"8 repeats with fresh draws spread {spread:.3g}; the SE shown {shown:.3g} "
                                         "(over the images) covers them")

            checks.add(f"test −log p(x) ± SE ({method})", f"nll_se.{method}", "its standard error covers the Monte "
                       "Carlo noise (repetition)", nll_se, kind="estimate")
    else:
        x = exp.x_test[:50]
        for method, model in zip(exp.methods, exp.models):
            def bounds(model=model) -> tuple[bool, str]:
                log_p = model.log_px(x).double()
                vals, ses = [], []
                for k in (1, 10, 100):
                    h = torch.bernoulli(torch.sigmoid(model.q_logits(x)).expand(k, *x.shape[:1], -1))
                    log_w = (model.log_joint(x, h) - model.log_q(h, x)).double()  # [k, n]
                    lk = torch.logsumexp(log_w, 0) - math.log(k)
                    vals.append(float(lk.mean()))
                    ses.append(float(lk.std() / math.sqrt(len(lk))))
                return ordered(vals + [float(log_p.mean())], ses + [0.0], ["L₁", "L₁₀", "L₁₀₀", "log p(x)"])

            checks.add(f"exact test log p(x) ({method})", f"log_px.{method}", "the recognition model's bounds lie "
                       "below it, in order: L₁ ≤ L₁₀ ≤ L₁₀₀ ≤ log p(x) (exact, every latent state)", bounds,
                       kind="estimate")

            def kl(model=model) -> tuple[bool, str]:
                xk = exp.x_test[:100]
                log_post = torch.log_softmax(model.log_px_table(xk), -1).double()  # [n, S]
                log_q = model.log_q(model.states.unsqueeze(0), xk.unsqueeze(1)).double()  # [n, S]
                exact = float((log_q.exp() * (log_q - log_post)).sum(-1).mean())
                h = torch.bernoulli(torch.sigmoid(model.q_logits(xk)).expand(2000, *xk.shape[:1], -1))
                lq = model.log_q(h, xk).double()
                lp = (model.log_joint(xk, h).double() - model.log_px(xk).double())
                d = (lq - lp).mean(1)  # per draw, averaged over the images
                return agree(exact, float(d.mean()), float(d.std() / math.sqrt(len(d))), what="enumeration ")

            checks.add(f"KL(q ‖ p(h|x)) ({method})", f"kl.{method}", "the exact KL (every latent state) against a "
                       "Monte Carlo estimate from 2,000 draws of q", kl)
