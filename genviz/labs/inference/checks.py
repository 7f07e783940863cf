"""Check this run, for the variational-inference lab (genviz.core.checkrun): the quadrature KLs against Monte
Carlo estimates from exact draws, EM's gap against the KL from q to the exact posterior, CAVI's ELBO never falling,
and the mean-field closed-form KL against Monte Carlo."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, agree, close

DRAWS = 200_000


def _sample_mixture(q, n: int, g: torch.Generator) -> torch.Tensor:
    """n draws of a GaussianMixtureQ (its weights, means and covariances)."""
    with torch.no_grad():
        w, m, chol = q.weights().double(), q.means.double(), q.chol().double()
        k = torch.multinomial(w, n, replacement=True, generator=g)
        eps = torch.randn(n, 2, 1, generator=g, dtype=torch.float64)
        return m[k] + (chol[k] @ eps).squeeze(-1)


@torch.no_grad()
def inference_checks(exp, checks: Checks) -> None:
    kind = exp.kind
    g = torch.Generator().manual_seed(2024)
    if kind == "kl":
        for name, q in (("reverse", exp.q_rev), ("forward", exp.q_fwd)):
            qp, pq = exp._kl_pair(q.log_prob, exp._q_cover(q))

            def kl_qp(q=q, qp=qp) -> tuple[bool, str]:
                z = _sample_mixture(q, DRAWS, g)
                d = (q.log_prob(z).double() - exp.log_p_fn(z).double())
                return agree(qp, float(d.mean()), float(d.std() / math.sqrt(DRAWS)), what="quadrature ")

            def kl_pq(q=q, pq=pq) -> tuple[bool, str]:
                z = exp.sample_p(DRAWS, g)
                d = (exp.log_p_fn(z).double() - q.log_prob(z).double())
                return agree(pq, float(d.mean()), float(d.std() / math.sqrt(DRAWS)), what="quadrature ")

            checks.add(f"KL(q ‖ p) of the {name} fit", f"{name[:3]}_fit.kl_qp", "quadrature against Monte Carlo "
                       f"({DRAWS:,} exact draws of q)", kl_qp)
            checks.add(f"KL(p ‖ q) of the {name} fit", f"{name[:3]}_fit.kl_pq", "quadrature against Monte Carlo "
                       f"({DRAWS:,} exact draws of p)", kl_pq)
    elif kind == "em":
        m = exp.em_model

        def gap() -> tuple[bool, str]:
            log_px, bound = float(m.log_px(exp.theta)[0]), float(m.bound(exp.theta, exp.r)[0])
            post = np.clip(m.posterior(exp.theta), 1e-300, 1.0)
            r = np.clip(exp.r, 1e-300, 1.0)
            kl = float(np.sum(r * np.log(r / post) + (1 - r) * np.log((1 - r) / np.clip(1 - post, 1e-300, 1.0))))
            return close(log_px - bound, kl, 1e-6 * max(1.0, abs(log_px)),
                         what="log p(x; θ) − L(q; θ) against KL(q ‖ p(z|x; θ)) summed over the points: ")

        checks.add("EM's gap (log p = bound + KL)", "gap", "the gap between log p(x; θ) and the bound is the KL from q "
                   "to the exact posterior, summed by enumeration", gap)

        def never_falls() -> tuple[bool, str]:
            return exp.decreases == 0, f"{exp.decreases} updates lowered log p(x; θ) (EM) or the bound"

        checks.add("log p(x; θ) over the steps", "log_px", "EM never lowers it", never_falls)
    elif kind == "cavi":
        def monotone() -> tuple[bool, str]:
            return exp.decreases == 0, f"{exp.decreases} of {exp.step_count} updates lowered the ELBO"

        checks.add("CAVI's ELBO", "elbo", "coordinate ascent never lowers it", monotone)
    else:
        mf = exp.mf

        def kl_mc() -> tuple[bool, str]:
            var = mf.reverse_var
            z = torch.from_numpy(mf.m).double() + torch.randn(DRAWS, 2, generator=g, dtype=torch.float64) * \
                torch.from_numpy(np.sqrt(var)).double()
            lq = torch.distributions.Normal(torch.from_numpy(mf.m), torch.from_numpy(np.sqrt(var))).log_prob(z).sum(-1)
            lp = torch.distributions.MultivariateNormal(torch.from_numpy(mf.mu), torch.from_numpy(mf.sigma)).log_prob(z)
            d = (lq - lp).double()
            return agree(mf.kl_reverse(), float(d.mean()), float(d.std() / math.sqrt(DRAWS)), what="closed form ")

        checks.add("KL(q ‖ p) of the mean-field q", "kl_reverse", f"the closed form against Monte Carlo ({DRAWS:,} "
                   "draws of q)", kl_mc)
