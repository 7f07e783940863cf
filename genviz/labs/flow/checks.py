"""Check this run, for the flow lab (genviz.core.checkrun): the model's mass on a grid, the change of variables
against autograd's Jacobian, the test NLL recomputed, and in energy mode log Z by quadrature and the reverse KL's
standard error by repetition."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, close, coverage
from genviz.labs.flow.experiment import grid


def _padded(extent, pad: float = 0.5) -> tuple[float, float, float, float]:
    x0, x1, y0, y1 = extent
    w, h = x1 - x0, y1 - y0
    return x0 - pad * w, x1 + pad * w, y0 - pad * h, y1 + pad * h


def flow_checks(exp, checks: Checks) -> None:
    flow = exp.flow

    @torch.no_grad()
    def mass() -> tuple[bool, str]:
        box, n = _padded(exp.extent), 500
        pts = grid(box, n).to(exp.device)
        logq = torch.cat([flow.log_prob(c) for c in pts.split(50000)]).double()
        cell = (box[1] - box[0]) / (n - 1) * (box[3] - box[2]) / (n - 1)
        m = float(logq.exp().sum()) * cell
        return 0.98 <= m <= 1.005, (f"∫ q(x) dx = {m:.4f} on a {n}×{n} grid over [{box[0]:.1f}, {box[1]:.1f}] × "
                                    f"[{box[2]:.1f}, {box[3]:.1f}] (allowed 0.98–1.005: mass beyond the box and "
                                    "the grid's error)")

    checks.add("model density q(x)", "test_nll", "it is a density: its mass on a grid is 1", mass)

    def jacobian() -> tuple[bool, str]:
        transforms = getattr(flow, "transforms", None)
        if transforms is None:
            return True, "not a chain of layers (your own flow): not applicable"
        z = flow.base.sample((256,)).to(exp.device).requires_grad_(True)
        x, total = z, torch.zeros(len(z), device=z.device)
        for t in transforms:
            x, ld = t(x)
            total = total + ld
        rows = [torch.autograd.grad(x[:, i].sum(), z, retain_graph=True)[0] for i in range(x.shape[1])]
        jac = torch.stack(rows, 1)  # [n, out, in]: the points do not interact
        auto = torch.linalg.slogdet(jac.double())[1]
        err = float((auto - total.double()).abs().max().detach())
        return err <= 1e-3 * max(1.0, float(auto.abs().max())), (f"Σ log|det J_k| of the layers against autograd's "
                                                                 f"log|det ∂x/∂z| at 256 points: largest difference "
                                                                 f"{err:.2g}")

    checks.add("log|det J| of the layers (log-det view, change of variables)", "test_layer_logdet",
               "the layers' log-determinants sum to the whole map's, by autograd", jacobian)

    if exp.energy is None:
        @torch.no_grad()
        def nll() -> tuple[bool, str]:
            x = exp.test[:5000].to(exp.device)
            terms = exp.test_terms(x)
            direct = float(-flow.log_prob(x).double().mean())
            if not terms:
                return True, f"test NLL {direct:.4f} (your own flow: no layer terms)"
            return close(-terms["test_logp"], direct, 1e-3 * max(1.0, abs(direct)), what="−(log N(z) + Σ log|det|) ")

        checks.add("test NLL", "test_nll", "the change of variables term by term equals log_prob", nll)
    else:
        @torch.no_grad()
        def log_z() -> tuple[bool, str]:
            box, n = (-4.0, 4.0, -4.0, 4.0), 800
            pts = grid(box, n)
            log_p = -exp.energy(pts).double()
            cell = (box[1] - box[0]) / (n - 1) * (box[3] - box[2]) / (n - 1)
            fine = float(torch.logsumexp(log_p, 0) + math.log(cell))
            return close(exp.log_z, fine, 0.01, what="log Z on the lab's grid against an 800×800 grid: ")

        checks.add("reverse KL (log Z by quadrature)", "reverse_kl", "log Z converged: a finer grid agrees", log_z)

        @torch.no_grad()
        def kl_se() -> tuple[bool, str]:
            reps = [exp.reverse_kl(2000) for _ in range(20)]
            return coverage(np.array([r[0] for r in reps]), np.array([r[1] for r in reps]))

        checks.add("reverse KL ± SE", "reverse_kl", "its standard error by repetition (20 × 2,000 draws)", kl_se,
                   kind="estimate")
