"""Boltzmann machines and deep belief nets small enough to be exact (genviz.models.boltzmann): every exact sum against
an independent brute force, the learning rule's two averages against autograd, the Gibbs sampler against
enumeration, and the DBN's likelihood, bound and transposed start against their definitions."""
import itertools
import math

import pytest
import torch

from genviz.models.boltzmann import (BoltzmannMachine, all_states, bars_and_stripes, dbn_bound, dbn_log_prob,
                                     dbn_sample, kl_from_uniform, pattern_index, rbm_log_prob, top_from_transpose)
from genviz.models.rbm import RBM


def random_bm(v, h, connect="full", seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    bm = BoltzmannMachine(v, h, connect, init_std=scale, generator=g)
    bm.b.copy_(torch.randn(v + h, generator=g, dtype=torch.float64))
    return bm


def random_rbm(v, h, seed=0):
    torch.manual_seed(seed)
    r = RBM(v, h, init_std=1.0).double()
    with torch.no_grad():
        r.b.normal_()
        r.c.normal_()
    return r


@pytest.mark.parametrize("n,count", [(2, 6), (3, 14), (4, 30)])
def test_bars_and_stripes_are_every_bar_and_stripe_image_once(n, count):
    x = bars_and_stripes(n)
    assert len(x) == count == 2 ** (n + 1) - 2
    assert len({tuple(r.tolist()) for r in x}) == count
    for img in x.reshape(-1, n, n):
        bars = bool((img == img[:1]).all())  # every row the same: columns on or off
        stripes = bool((img == img[:, :1]).all())
        assert bars or stripes


def test_log_z_and_p_v_agree_with_a_brute_force_sum():
    bm = random_bm(4, 3)
    s = torch.tensor(list(itertools.product((0.0, 1.0), repeat=7)), dtype=torch.float64)
    # −E written out pair by pair, not by matrix products
    neg_e = torch.tensor([sum(bm.W[i, j] * st[i] * st[j] for i in range(7) for j in range(i + 1, 7))
                          + (bm.b * st).sum() for st in s], dtype=torch.float64)
    e = bm.exact()
    assert e["log_z"] == pytest.approx(float(torch.logsumexp(neg_e, 0)), abs=1e-10)
    for k, v in enumerate(all_states(4)):
        on = (s[:, :4] == v).all(1)
        assert float(e["log_pv"][k]) == pytest.approx(float(torch.logsumexp(neg_e[on], 0)) - e["log_z"], abs=1e-10)
    assert float(e["log_pv"].exp().sum()) == pytest.approx(1.0, abs=1e-12)


def test_a_restricted_bm_is_the_rbm_of_the_same_weights():
    bm = random_bm(5, 4, "restricted")
    assert float(bm.W[:5, :5].abs().max()) == 0 and float(bm.W[5:, 5:].abs().max()) == 0
    r = RBM(5, 4).double()
    with torch.no_grad():
        r.W.copy_(bm.W[:5, 5:])
        r.b.copy_(bm.b[:5])
        r.c.copy_(bm.b[5:])
    v = all_states(5)
    assert bm.exact()["log_z"] == pytest.approx(r.exact_log_z(), abs=1e-10)
    assert torch.allclose(bm.exact()["log_pv"], rbm_log_prob(r, v), atol=1e-10)


@pytest.mark.parametrize("connect", ["full", "restricted"])
def test_the_exact_gradient_is_autograd_of_the_mean_log_likelihood(connect):
    bm = random_bm(4, 3, connect, seed=3)
    x = torch.tensor([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1.0]], dtype=torch.float64)
    e = bm.exact(x)
    w, b = bm.W.clone().requires_grad_(True), bm.b.clone().requires_grad_(True)
    s = all_states(7)
    ne = 0.5 * ((s @ w) * s).sum(-1) + s @ b
    log_pv = torch.logsumexp((ne - torch.logsumexp(ne, 0)).reshape(8, 16), 0)
    log_pv[pattern_index(x)].mean().backward()
    assert torch.allclose(e["grad_W"], 2 * w.grad * bm.mask, atol=1e-12)  # a tied weight appears twice in sᵀWs
    assert torch.allclose(e["grad_b"], b.grad, atol=1e-12)
    assert e["mean_log_p"] == pytest.approx(float(log_pv[pattern_index(x)].mean().detach()), abs=1e-12)


def test_gibbs_sweeps_sample_the_exact_joint_distribution():
    bm = random_bm(3, 2, seed=5, scale=1.0)
    g = torch.Generator().manual_seed(0)
    n = 40_000
    state = torch.bernoulli(torch.full((n, 5), 0.5, dtype=torch.float64), generator=g)
    for _ in range(60):
        bm.sweep(state, 0, g)
    freq = torch.bincount(pattern_index(state), minlength=32).double() / n
    s = all_states(5)
    ne = bm.neg_energy(s)
    p = (ne - torch.logsumexp(ne, 0)).exp()
    se = (p * (1 - p) / n).sqrt()
    assert float(((freq - p).abs() / se.clamp_min(1e-4)).max()) < 4.5


def test_the_learning_rules_sampled_estimate_is_unbiased_at_equilibrium():
    """Both phases by Gibbs sampling (the positive one clamps v and samples the connected hidden units): with enough
    sweeps and chains their average is the exact gradient."""
    bm = random_bm(3, 2, seed=7, scale=0.8)
    x = torch.tensor([[1, 0, 1], [0, 1, 1.0]], dtype=torch.float64)
    exact = bm.exact(x)
    g = torch.Generator().manual_seed(1)
    reps = 3000
    data = x.repeat(reps, 1)
    pos_h = torch.bernoulli(torch.full((len(data), 2), 0.5, dtype=torch.float64), generator=g)
    neg = torch.bernoulli(torch.full((6000, 5), 0.5, dtype=torch.float64), generator=g)
    est = bm.sampled_gradient(data, pos_h, neg, 40, g)
    assert float((est["W"] - exact["grad_W"]).abs().max()) < 0.04
    assert float((est["b"] - exact["grad_b"]).abs().max()) < 0.04
    # the estimate is symmetric and keeps the mask
    assert torch.equal(est["W"], est["W"].T) and float((est["W"] * (1 - bm.mask)).abs().max()) == 0


def test_a_bm_too_large_to_enumerate_is_refused():
    with pytest.raises(ValueError, match="at most 20 units"):
        BoltzmannMachine(16, 5)


def dbn_brute(rbm1, top, v):
    """log p(v) of the DBN by summing p(h2, h1) p(v | h1) over every (h1, h2) pair, from the energies."""
    h1s, h2s = all_states(rbm1.n_hidden), all_states(top.n_hidden)
    neg_e = (h1s @ top.W.double() @ h2s.T) + (h1s @ top.b.double())[:, None] + (h2s @ top.c.double())[None, :]
    log_p_h1 = torch.logsumexp(neg_e, 1) - torch.logsumexp(neg_e.reshape(-1), 0)
    pv = torch.sigmoid(h1s @ rbm1.W.double().T + rbm1.b.double())
    out = []
    for row in v:
        lik = torch.where(row.bool(), pv, 1 - pv).log().sum(1)
        out.append(torch.logsumexp(lik + log_p_h1, 0))
    return torch.stack(out)


def test_the_dbn_likelihood_sums_to_one_and_matches_brute_force():
    rbm1, top = random_rbm(4, 3, seed=1), random_rbm(3, 4, seed=2)
    v = all_states(4)
    lp = dbn_log_prob(rbm1, top, v)
    assert float(lp.exp().sum()) == pytest.approx(1.0, abs=1e-12)
    assert torch.allclose(lp, dbn_brute(rbm1, top, v), atol=1e-10)


def test_the_bound_is_below_the_likelihood_by_the_posteriors_kl():
    rbm1, top = random_rbm(4, 3, seed=3), random_rbm(3, 5, seed=4)
    v = all_states(4)
    lp, bound = dbn_log_prob(rbm1, top, v), dbn_bound(rbm1, top, v)
    assert bool((bound <= lp + 1e-12).all())
    h = all_states(3)
    for i, row in enumerate(v):
        q = rbm1.p_h(row[None])[0]
        q_h = torch.where(h.bool(), q, 1 - q).prod(1)
        pv = rbm1.p_v(h)
        # the posterior by Bayes' rule: p(h1 | v) ∝ p(v | h1) p_top(h1), p_top ∝ e^(−F_top(h1))
        post = torch.softmax(torch.where(row.bool(), pv, 1 - pv).log().sum(1) - top.free_energy(h), 0)
        kl = float((q_h * (q_h.log() - post.log())).sum())
        assert float(lp[i] - bound[i]) == pytest.approx(kl, abs=1e-10)


def test_the_transposed_top_makes_the_dbn_the_first_rbm():
    rbm1 = random_rbm(6, 4, seed=8)
    v = all_states(6)
    assert torch.allclose(dbn_log_prob(rbm1, top_from_transpose(rbm1), v), rbm_log_prob(rbm1, v), atol=1e-10)
    top = top_from_transpose(rbm1)
    assert torch.allclose(dbn_bound(rbm1, top, v), rbm_log_prob(rbm1, v), atol=1e-10)  # q is then the posterior


def test_dbn_samples_come_from_its_distribution():
    rbm1, top = random_rbm(3, 3, seed=9), random_rbm(3, 3, seed=10)
    g = torch.Generator().manual_seed(0)
    h1 = torch.bernoulli(torch.full((20_000, 3), 0.5, dtype=torch.float64), generator=g)
    h1, pv = dbn_sample(rbm1, top, h1, 200, g)
    v = torch.bernoulli(pv, generator=g)
    freq = torch.bincount(pattern_index(v), minlength=8).double() / len(v)
    p = dbn_log_prob(rbm1, top, all_states(3)).exp()
    assert float(((freq - p).abs() / (p * (1 - p) / len(v)).sqrt()).max()) < 4.5


def test_kl_from_uniform_is_zero_for_the_data_distribution():
    assert kl_from_uniform(-math.log(14), 14) == pytest.approx(0.0, abs=1e-15)
