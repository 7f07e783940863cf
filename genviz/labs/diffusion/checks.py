"""Check this run, for the diffusion lab (genviz.core.checkrun): the probability-flow ODE's density integrates to 1
on a grid (the test NLL's normalisation), the exact score (black arrows) is the gradient of the exact log-density,
and the denoising loss's cross term averages to 0 (so the score error shown is the loss's reducible part)."""
from __future__ import annotations

import math

import torch

from genviz.core.checkrun import Checks, agree, close
from genviz.models.diffusion import ode_log_prob, sample

GRID = 80
ODE_STEPS = 100


def diffusion_checks(exp, checks: Checks) -> None:
    x0, x1, y0, y1 = exp.toy.extent
    w, h = (x1 - x0) * 0.25, (y1 - y0) * 0.25
    box = (x0 - w, x1 + w, y0 - h, y1 + h)

    def mass() -> tuple[bool, str]:
        # the ODE's density is the density of its own samples: its mass on a box equals the share of samples
        # that land there, whatever the model (an untrained one spreads far beyond the data)
        with torch.no_grad():
            xs_ = sample(exp.model, 4000, "ode", steps=ODE_STEPS, generator=torch.Generator().manual_seed(9),
                         denoise=False).cpu()
        inside = ((xs_[:, 0] >= box[0]) & (xs_[:, 0] <= box[1]) & (xs_[:, 1] >= box[2]) & (xs_[:, 1] <= box[3]))
        share = float(inside.double().mean())
        share_se = max(math.sqrt(share * (1 - share) / len(xs_)), 1.0 / len(xs_))
        xs, ys = torch.linspace(box[0], box[1], GRID), torch.linspace(box[2], box[3], GRID)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(exp.device)
        lp = ode_log_prob(exp.model, pts, steps=ODE_STEPS).double()
        cell = (box[1] - box[0]) / (GRID - 1) * (box[3] - box[2]) / (GRID - 1)
        m = float(lp.exp().sum()) * cell
        ok = abs(m - share) <= 4 * share_se + 0.03
        return ok, (f"∫ p(x) dx = {m:.4f} on an {GRID}×{GRID} grid over [{box[0]:.1f}, {box[1]:.1f}] × "
                    f"[{box[2]:.1f}, {box[3]:.1f}] against {share:.4f} ± {share_se:.4f}, the share of 4,000 ODE samples "
                    f"there ({ODE_STEPS} steps; allowed 4 SE + 0.03 for the discretisation and the grid)")

    checks.add("test NLL (probability-flow ODE)", "test_nll", "the ODE's density is normalised: its mass on a box is "
               "the share of its samples there (1 for a trained model)", mass)
    if exp.exact is None:
        return

    def exact_score() -> tuple[bool, str]:
        g = torch.Generator().manual_seed(3)
        x = (torch.rand(500, 2, generator=g, dtype=torch.float64) * torch.tensor([box[1] - box[0], box[3] - box[2]],
                                                                                  dtype=torch.float64)
             + torch.tensor([box[0], box[2]], dtype=torch.float64)).requires_grad_(True)
        t = torch.rand(500, generator=g, dtype=torch.float64) * 0.99 + 0.01
        (auto,) = torch.autograd.grad(exp.exact.log_prob(x, t).sum(), x)
        err = float((auto - exp.exact.score(x.detach(), t)).abs().max())
        return close(err, 0.0, 1e-6 * max(1.0, float(auto.abs().max())), what="largest |∇log p_t − score| at 500 "
                     "points and times: ")

    checks.add("exact score (black arrows)", "true", "the closed-form score is the gradient of the exact log p_t "
               "(autograd)", exact_score)

    def cross_term() -> tuple[bool, str]:
        st = exp.score_terms(float(min(max(exp.view["t"], 0.01), 1.0)), n=20000)
        ok, text = agree(st["cross"], 0.0, st["cross_se"], what="cross term ")
        return ok, text + f"; score error {st['score_error']:.4f} ± {st['score_error_se']:.4f}"

    checks.add("score error at t (the loss's reducible part)", "score_terms.score_error", "the denoising loss's "
               "cross term 2E[(ε_θ − ε*)·(ε* − ε)] averages to 0 (20,000 draws)", cross_term, kind="estimate")
