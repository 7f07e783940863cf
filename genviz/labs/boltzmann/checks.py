"""Check this run, for the Boltzmann-machine lab (genviz.core.checkrun): the BM's log Z and p(v) from its block
table against a brute-force sum over every joint state, its exact gradient against autograd, the fantasy-particle
share against exact p(v) by long Gibbs runs (with its SE), and the DBN's likelihood, bound and gap against
independent computations (the posterior by Bayes' rule, exact ancestral samples, the transposed start)."""
from __future__ import annotations

import math

import torch

from genviz.core.checkrun import Checks, agree, close
from genviz.models.boltzmann import (all_states, dbn_bound, dbn_log_prob, kl_from_uniform, pattern_index,
                                     rbm_log_prob, top_from_transpose)

CHAINS, SWEEPS = 4000, 200  # the long Gibbs runs that check p(v)
SAMPLES = 200_000  # exact ancestral samples of the DBN


@torch.no_grad()
def boltzmann_checks(exp, checks: Checks) -> None:
    if exp.kind == "bm":
        _bm_checks(exp, checks)
    else:
        _dbn_checks(exp, checks)


def _bm_checks(exp, checks: Checks) -> None:
    bm, x = exp.bm, exp.x
    e = bm.exact(x)
    s = all_states(bm.n_units, x.device)
    ne = bm.neg_energy(s)  # −E of every joint state, from the whole matrix

    def log_z() -> tuple[bool, str]:
        return close(e["log_z"], float(torch.logsumexp(ne, 0)), 1e-9 * max(1.0, abs(e["log_z"])),
                     what="log Z from the visible × hidden block table against the sum over all joint states: ")

    checks.add("log Z", "log_z", f"two enumerations of the 2^{bm.n_units} states", log_z)

    def kl() -> tuple[bool, str]:
        lz = torch.logsumexp(ne, 0)
        # p(v) of each pattern: the joint states whose visible part is that pattern
        on = pattern_index(s[:, : bm.n_visible])[None, :] == pattern_index(x)[:, None]
        log_pv = torch.logsumexp(torch.where(on, ne[None, :] - lz, torch.tensor(-math.inf, dtype=ne.dtype)), 1)
        brute = kl_from_uniform(float(log_pv.mean()), len(x))
        shown = exp._bm_snapshot()["kl"]
        return close(shown, brute, 1e-9, what="the KL shown against the brute-force sum: ")

    checks.add("KL(p_data ‖ p_model)", "kl", "the shown KL against p(v) summed over the joint states directly", kl)

    def gradient() -> tuple[bool, str]:
        w = bm.W.detach().clone().requires_grad_(True)
        b = bm.b.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            n = 0.5 * ((s @ w) * s).sum(-1) + s @ b
            log_pv = torch.logsumexp((n - torch.logsumexp(n, 0)).reshape(1 << bm.n_hidden, 1 << bm.n_visible), 0)
            log_pv[pattern_index(x)].mean().backward()
        # one weight w_ij = w_ji appears twice in ½ sᵀWs: its gradient is twice an entry's
        err = max(float((2 * w.grad * bm.mask - e["grad_W"]).abs().max()), float((b.grad - e["grad_b"]).abs().max()))
        return err <= 1e-9, f"the exact gradient ⟨ssᵀ⟩_data − ⟨ssᵀ⟩_model against autograd of mean log p(v): " \
                            f"largest difference {err:.2g}"

    checks.add("the exact gradient", "kl", "the learning rule's two averages, exact, against autograd", gradient)

    def chains() -> tuple[bool, str]:
        g = torch.Generator(device=x.device).manual_seed(11)
        state = torch.bernoulli(torch.full((CHAINS, bm.n_units), 0.5, dtype=torch.float64, device=x.device),
                                generator=g)
        for _ in range(SWEEPS):
            bm.sweep(state, 0, g)
        on = (pattern_index(state[:, : bm.n_visible])[:, None] == pattern_index(x)[None, :]).any(1).double()
        se = float(on.std() / math.sqrt(CHAINS))
        return agree(float(on.mean()), e["log_pv"][pattern_index(x)].exp().sum().item(), max(se, 1e-3),
                     what=f"the share of {CHAINS:,} chains on a pattern after {SWEEPS} sweeps against p(patterns): ")

    checks.add("fantasy particles on a pattern", "data_mass", f"{CHAINS:,} Gibbs chains of {SWEEPS} sweeps against "
               "the exact mass on the patterns (their sampler against enumeration)", chains, kind="estimate")


def _dbn_checks(exp, checks: Checks) -> None:
    rbm1, top, x = exp.rbm1, exp.top, exp.x
    second = exp.second_layer

    def transposed() -> tuple[bool, str]:
        start = top_from_transpose(rbm1)
        a, b = dbn_log_prob(rbm1, start, x), rbm_log_prob(rbm1, x)
        err = float((a - b).abs().max())
        return err <= 1e-9, f"a DBN whose top is the first RBM upside down against the first RBM alone: largest " \
                            f"difference in log p(v) {err:.2g} (Hinton, Osindero & Teh 2006: they are one model)"

    checks.add("the transposed start", "kl_rbm", "the DBN's log p(v) at top_init = transpose equals the RBM's",
               transposed)
    if not second:
        return

    def gap() -> tuple[bool, str]:
        h = all_states(rbm1.n_hidden, x.device)
        log_top = -top.free_energy(h)
        log_top = log_top - torch.logsumexp(log_top, 0)
        pv = rbm1.p_v(h)  # [S, V]
        log_lik = (x[:, None, :] * torch.log(pv)[None] + (1 - x[:, None, :]) * torch.log1p(-pv)[None]).sum(-1)
        log_post = log_lik + log_top[None]
        log_post = log_post - torch.logsumexp(log_post, 1, keepdim=True)  # Bayes' rule, [P, S]
        q = rbm1.p_h(x)
        log_q = (h[None] * torch.log(q)[:, None] + (1 - h[None]) * torch.log1p(-q)[:, None]).sum(-1)
        kl = float((log_q.exp() * (log_q - log_post)).sum(1).mean())
        shown = float((dbn_log_prob(rbm1, top, x) - dbn_bound(rbm1, top, x)).mean())
        return close(shown, kl, 1e-8, what="log p(v) − bound against E KL(q(h1|v) ‖ p(h1|v)) by Bayes' rule: ")

    checks.add("the bound's gap", "gap", "against the KL from q to the posterior computed by Bayes' rule", gap)

    def samples() -> tuple[bool, str]:
        g = torch.Generator(device=x.device).manual_seed(12)
        h = all_states(rbm1.n_hidden, x.device)
        log_top = -top.free_energy(h)
        idx = torch.multinomial(torch.softmax(log_top, 0), SAMPLES, replacement=True, generator=g)
        v = torch.bernoulli(rbm1.p_v(h[idx]), generator=g)
        on = (pattern_index(v)[:, None] == pattern_index(x)[None, :]).any(1).double()
        exact = float(dbn_log_prob(rbm1, top, x).exp().sum())
        return agree(float(on.mean()), exact, float(on.std() / math.sqrt(SAMPLES)),
                     what=f"{SAMPLES:,} exact ancestral samples' share on a pattern against Σ p_DBN(patterns): ")

    checks.add("the DBN's p(v)", "kl_dbn", f"{SAMPLES:,} exact ancestral samples (h1 from the top RBM's enumerated "
               "marginal, then v | h1)", samples, kind="estimate")
