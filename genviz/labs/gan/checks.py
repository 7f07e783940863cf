"""Check this run, for the GAN lab (genviz.core.checkrun). A GAN has no likelihood to normalise; what its views show
are counts and Monte Carlo estimates of the generator's distribution: the high-quality share's and the reverse KL's
standard errors are checked by repetition on fresh samples, and D's loss on screen against the training loss
function itself."""
from __future__ import annotations

import numpy as np
import torch

from genviz.core.checkrun import Checks, close, coverage
from genviz.data.toy2d import mode_coverage
from genviz.labs.gan.experiment import EVAL_SAMPLES
from genviz.models.gan import d_loss


@torch.no_grad()
def gan_checks(exp, checks: Checks) -> None:
    toy = exp.toy
    reps = []
    if toy.modes is not None:
        g = torch.Generator().manual_seed(777)
        for _ in range(20):
            z = exp.G.sample_noise(EVAL_SAMPLES, g).to(exp.device)
            reps.append(mode_coverage(exp.G(z).cpu().numpy(), toy.modes, toy.std))

        def hq() -> tuple[bool, str]:
            return coverage(np.array([r["hq_percent"] for r in reps]), np.array([r["hq_percent_se"] for r in reps]))

        checks.add("high quality % ± SE", "coverage.hq_percent", "its binomial standard error by repetition (20 fresh "
                   "sets of 2,500 samples)", hq, kind="estimate")

        def rkl() -> tuple[bool, str]:
            ok = [r for r in reps if r.get("reverse_kl_se") is not None]
            if len(ok) < 10:
                return True, f"too few high-quality samples for its SE in {20 - len(ok)} of 20 sets: not applicable"
            return coverage(np.array([r["reverse_kl"] for r in ok]), np.array([r["reverse_kl_se"] for r in ok]),
                            low=0.5, high=2.0)

        checks.add("reverse KL ± SE (mode histogram)", "coverage.reverse_kl", "its second-order standard error by "
                   "repetition", rkl, kind="estimate")

        def counts() -> tuple[bool, str]:
            r = reps[0]
            per = np.asarray(r["per_mode"])
            total_ok = int(per.sum()) == int(r["n_hq"]) and int((per > 0).sum()) == int(r["modes"])
            return total_ok, (f"Σ per-mode counts {int(per.sum())} = high-quality samples {int(r['n_hq'])}; "
                              f"modes with a sample {int((per > 0).sum())} = modes captured {int(r['modes'])}")

        checks.add("modes captured, samples per mode", "coverage.modes", "the counts agree with each other", counts)

    def objective() -> tuple[bool, str]:
        o = exp.objective_parts(exp.G(exp.eval_noise).cpu().numpy())
        n = o["n"]
        real = torch.from_numpy(exp.real_view[:n]).float().to(exp.device)
        fake = exp.G(exp.eval_noise)[:n]
        want = float(d_loss(exp.settings["loss"], exp.D(real), exp.D(fake)))
        return close(o["d_loss"], want, 1e-4 * max(1.0, abs(want)), what="real part + fake part ")

    checks.add("D's loss (the losses card)", "objective.d_loss", "its two parts add up to the training loss function",
               objective)
