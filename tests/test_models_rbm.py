"""RBM math against brute force: conditionals, free energy, exact log Z, AIS, long Gibbs chains."""
import itertools
import math

import torch

from genviz.models.rbm import RBM, ais, ais_betas, base_rate_bias


def tiny(V=5, H=3, seed=0, scale=1.0):
    torch.manual_seed(seed)
    rbm = RBM(V, H)
    with torch.no_grad():
        rbm.W.copy_(torch.randn(V, H) * scale)
        rbm.b.copy_(torch.randn(V) * 0.5)
        rbm.c.copy_(torch.randn(H) * 0.5)
    return rbm.double()


def all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def joint(rbm):
    """Unnormalised log p(v, h) over every (v, h) pair: [2^V, 2^H]."""
    vs, hs = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    return vs, hs, -(rbm.energy(vs[:, None, :].expand(-1, len(hs), -1), hs[None, :, :].expand(len(vs), -1, -1)))


def test_free_energy_and_log_z_match_brute_force():
    rbm = tiny()
    vs, hs, logp = joint(rbm)
    with torch.no_grad():
        torch.testing.assert_close(-rbm.free_energy(vs), torch.logsumexp(logp, 1))
        assert abs(rbm.exact_log_z() - float(torch.logsumexp(logp.reshape(-1), 0))) < 1e-10


def test_conditionals_match_brute_force():
    rbm = tiny()
    vs, hs, logp = joint(rbm)
    with torch.no_grad():
        p_h_given_v = torch.softmax(logp, 1)  # [v, h]
        torch.testing.assert_close(rbm.p_h(vs), p_h_given_v @ hs)  # P(h_j = 1 | v)
        p_v_given_h = torch.softmax(logp, 0)  # [v, h]
        torch.testing.assert_close(rbm.p_v(hs), p_v_given_h.T @ vs)


def test_long_gibbs_chain_matches_the_exact_distribution():
    rbm = tiny(V=4, H=3, seed=1)
    vs, _, logp = joint(rbm)
    exact = torch.softmax(torch.logsumexp(logp, 1), 0).detach()
    g = torch.Generator().manual_seed(0)
    v = torch.bernoulli(torch.full((200, 4), 0.5, dtype=torch.float64), generator=g)  # 200 chains
    counts = torch.zeros(16, dtype=torch.float64)
    weights = 2 ** torch.arange(3, -1, -1, dtype=torch.float64)
    v, _, _ = rbm.gibbs(v, 50, generator=g)  # burn-in
    for _ in range(500):
        v, _, _ = rbm.gibbs(v, 1, generator=g)
        counts += torch.bincount((v @ weights).long(), minlength=16).double()
    tv = 0.5 * float((counts / counts.sum() - exact).abs().sum())
    assert tv < 0.02, tv


def test_clamped_gibbs_samples_the_conditional():
    rbm = tiny(V=4, H=3, seed=2)
    vs, _, logp = joint(rbm)
    p_v = torch.softmax(torch.logsumexp(logp, 1), 0).detach()
    mask = torch.tensor([True, True, False, False])
    fixed = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    match = (vs[:, :2] == fixed[:2]).all(1)
    cond = p_v * match
    cond = cond / cond.sum()
    g = torch.Generator().manual_seed(3)
    v = torch.bernoulli(torch.full((400, 4), 0.5, dtype=torch.float64), generator=g)
    v = torch.where(mask, fixed, v)
    counts = torch.zeros(16, dtype=torch.float64)
    weights = 2 ** torch.arange(3, -1, -1, dtype=torch.float64)
    v, _, _ = rbm.gibbs(v, 30, mask, fixed.expand_as(v), generator=g)
    for _ in range(200):
        v, _, _ = rbm.gibbs(v, 1, mask, fixed.expand_as(v), generator=g)
        assert (v[:, :2] == fixed[:2]).all()
        counts += torch.bincount((v @ weights).long(), minlength=16).double()
    assert 0.5 * float((counts / counts.sum() - cond).abs().sum()) < 0.02


def test_ais_matches_exact_log_z_for_20_hidden_units():
    torch.manual_seed(0)
    rbm = tiny(V=64, H=20, seed=4, scale=0.3)
    data_mean = torch.rand(64, dtype=torch.float64)
    exact = rbm.exact_log_z()
    est, per_run = ais(rbm, base_rate_bias(data_mean), runs=100, betas=ais_betas(0.2),
                       generator=torch.Generator().manual_seed(0))
    assert abs(est - exact) < 0.1, (est, exact)
    assert per_run.shape == (100,)


def test_cd_gradient_is_the_exact_gradient_when_the_model_samples_are_exact():
    """With the model expectation computed exactly, cd_gradients(data, .) equals autograd's
    gradient of the mean log-likelihood."""
    rbm = tiny(V=4, H=3, seed=5)
    vs, _, logp = joint(rbm)
    data = vs[[1, 5, 7, 12, 12]]
    log_z = torch.logsumexp(torch.logsumexp(-rbm.energy(vs[:, None, :].expand(-1, 8, -1),
                                                        all_states(3)[None].expand(16, -1, -1)), 1), 0)
    ll = (-rbm.free_energy(data) - log_z).mean()
    grads = torch.autograd.grad(ll, [rbm.W, rbm.b, rbm.c])
    with torch.no_grad():
        p_v = torch.softmax(torch.logsumexp(logp, 1), 0).detach()
        ph_d, ph_m = rbm.p_h(data), rbm.p_h(vs)
        model_W = vs.T @ (ph_m * p_v[:, None])
        expected = {"W": data.T @ ph_d / len(data) - model_W, "b": data.mean(0) - p_v @ vs,
                    "c": ph_d.mean(0) - p_v @ ph_m}
    for g, key in zip(grads, ("W", "b", "c")):
        torch.testing.assert_close(g, expected[key])
    # and the sample-based estimator is that formula on samples
    est = rbm.cd_gradients(data, vs)
    torch.testing.assert_close(est["b"], data.mean(0) - vs.mean(0))


def test_pseudo_likelihood_is_unbiased_for_the_sum_of_conditionals():
    rbm = tiny(V=5, H=3, seed=6)
    v = torch.tensor([[1.0, 0, 1, 1, 0]], dtype=torch.float64)
    exact = 0.0
    with torch.no_grad():
        for i in range(5):
            flipped = v.clone()
            flipped[0, i] = 1 - flipped[0, i]
            exact += float(torch.nn.functional.logsigmoid(rbm.free_energy(flipped) - rbm.free_energy(v)))
        est = rbm.pseudo_likelihood(v.expand(20000, -1).clone(), generator=torch.Generator().manual_seed(0))
    assert abs(float(est.mean()) - exact) < 0.05 * abs(exact) + 0.02
    assert math.isfinite(exact)
