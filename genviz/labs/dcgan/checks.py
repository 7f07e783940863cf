"""Check this run, for the DCGAN lab (genviz.core.checkrun): the digit score's two terms against the KL form of the
same score, its standard error by repetition over fresh latent points, and the interpolation's ends and norms."""
from __future__ import annotations

import numpy as np
import torch

from genviz.core.checkrun import Checks, close, coverage
from genviz.labs.dcgan.experiment import SCORED
from genviz.models.dcgan import digit_score

REPEATS = 20


@torch.no_grad()
def dcgan_checks(exp, checks: Checks) -> None:
    if exp.classifier is not None:
        probs = torch.softmax(exp.classifier(exp.G.images(exp.z_scored)), 1).double()

        def identity() -> tuple[bool, str]:
            p = probs.clamp_min(1e-12)
            kl = float((p * (p.log() - p.mean(0).log())).sum(1).mean())  # E_x KL(p(y|x) ‖ p(y))
            return close(digit_score(probs)["log_score"], kl, 1e-9, what="H[p(y)] − E H[p(y|x)] against "
                         "E KL(p(y|x) ‖ p(y)): ")

        checks.add("log digit score", "score.log_score", "its two entropy terms against the KL form", identity)

        def spread() -> tuple[bool, str]:
            g = torch.Generator().manual_seed(123)
            est, ses = [], []
            for _ in range(REPEATS):
                z = torch.randn(SCORED, exp.G.latent, generator=g).to(exp.device)
                s = digit_score(torch.softmax(exp.classifier(exp.G.images(z)), 1))
                est.append(s["log_score"])
                ses.append(s["log_score_se"])
            return coverage(np.array(est), np.array(ses), low=0.5, high=2.0)

        checks.add("log digit score ± SE", "score.log_score", f"its 10-split standard error against {REPEATS} repeats "
                   f"on fresh latent points ({SCORED:,} each)", spread, kind="estimate")

    def ends() -> tuple[bool, str]:
        z = exp.interpolation().reshape(len(exp.z_pairs), -1, exp.G.latent)
        err = float(max((z[:, 0] - exp.z_pairs[:, 0]).abs().max(), (z[:, -1] - exp.z_pairs[:, 1]).abs().max()))
        return err <= 1e-5, f"each interpolation row starts and ends at its pair's points: largest difference {err:.2g}"

    checks.add("interpolation", "interpolation_norms", "the rows' ends are the chosen latent points", ends)
