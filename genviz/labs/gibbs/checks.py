"""Check this run, for the Gibbs (RBM) lab (genviz.core.checkrun): the free energy's closed form against the sum
over hidden states, annealed importance sampling (the log-likelihood view's estimator) against the exact log Z of
the trained weights' first 12 hidden units, and the pseudo-likelihood's standard error by repetition."""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from genviz.core.checkrun import Checks, close, coverage
from genviz.labs.gibbs.experiment import EVAL
from genviz.models.rbm import RBM, ais, ais_betas, base_rate_bias

SUB = 12  # hidden units of the sub-RBM whose sums are enumerated (2^12 states)


@torch.no_grad()
def gibbs_checks(exp, checks: Checks) -> None:
    rbm = exp.rbm
    k = min(SUB, rbm.n_hidden)
    sub = RBM(rbm.n_visible, k).to(exp.device).double()
    sub.W.copy_(rbm.W[:, :k].double())
    sub.b.copy_(rbm.b.double())
    sub.c.copy_(rbm.c[:k].double())
    x = exp.x_test[:EVAL].double()

    def free_energy() -> tuple[bool, str]:
        v = x[:20]
        hs = torch.tensor(list(itertools.product((0.0, 1.0), repeat=k)), dtype=torch.float64, device=v.device)
        # −E(v, h) = bᵀv + cᵀh + vᵀWh, summed over every h
        neg_e = (v @ sub.b)[:, None] + (hs @ sub.c)[None, :] + (v @ sub.W) @ hs.T
        brute = -torch.logsumexp(neg_e, 1)
        err = float((sub.free_energy(v) - brute).abs().max())
        return err <= 1e-8 * max(1.0, float(brute.abs().max())), (
            f"F(v) = −bᵀv − Σ_j log(1 + e^(c_j + W_jᵀv)) against −log Σ_h e^(−E(v, h)) over all 2^{k} h, 20 test "
            f"images: largest difference {err:.2g}")

    checks.add("free energy F(v)", "free_energy_data", f"the closed form against the sum over the hidden states "
               f"(the trained weights' first {k} hidden units)", free_energy)

    def ais_vs_exact() -> tuple[bool, str]:
        exact = sub.exact_log_z()
        g = torch.Generator(device=exp.device).manual_seed(5)
        est, per_run = ais(sub, base_rate_bias(exp.x_train.mean(0)), runs=100, betas=ais_betas(0.2), generator=g)
        w = per_run - per_run.max()
        sem = float(w.exp().std() / math.sqrt(len(w)) / w.exp().mean())  # the delta method's SE of log Z
        return close(est, exact, 4 * sem + 0.02, what="AIS (100 runs, 2,900 temperatures) ")

    checks.add("log-likelihood by AIS", "ais.test_ll", f"AIS against the exact log Z (enumerated) of the trained "
               f"weights' first {k} hidden units", ais_vs_exact, kind="estimate")

    def pseudo() -> tuple[bool, str]:
        est, ses = [], []
        for i in range(20):
            pll = rbm.pseudo_likelihood(exp.x_test[:EVAL], generator=torch.Generator(device=exp.device).manual_seed(
                100 + i)).double()
            est.append(float(pll.mean()))
            ses.append(float(pll.std() / math.sqrt(len(pll))))
        return coverage(np.array(est), np.array(ses), low=0.3)

    checks.add("pseudo-log-likelihood ± SE", "pseudo_ll", "its standard error by repetition (20 sets of random bits; "
               "the SE also covers the choice of images, so the repeats may spread less)", pseudo, kind="estimate")
