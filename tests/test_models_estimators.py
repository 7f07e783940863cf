"""Gradient estimators against exact gradients: every unbiased estimator's mean within its confidence
interval of the closed form or the enumeration, the closed-form variances of the score function and
reparameterization on z^2, the Gumbel-softmax bias shrinking with the temperature, reparameterization's
zero gradient on a step; the Helmholtz machine's log p(x) by enumeration against brute force, RWS's
gradient approaching the exact one, and the score-function ELBO gradient unbiased."""
import itertools
import math

import numpy as np
import pytest
import torch

from genviz.models.estimators import (Decoder1D, HelmholtzMachine, categorical_estimates, categorical_exact_gradient,
                                      exact_gradient, gaussian_estimates, gumbel_bias, square_sf_variance,
                                      wake_sleep_losses)

N = 200_000


@pytest.mark.parametrize("name", ["square", "step", "decoder"])
@pytest.mark.parametrize("estimator", ["sf", "sf-baseline", "reparam"])
def test_gaussian_estimators_are_unbiased_where_they_apply(name, estimator):
    rng = np.random.default_rng(1)
    decoder = Decoder1D(seed=2)
    mu, sigma = 0.7, 1.3
    est = gaussian_estimates(name, estimator, mu, sigma, N, rng, decoder=decoder)
    exact = exact_gradient(name, mu, sigma, decoder)
    if name == "step" and estimator == "reparam":
        # the pathwise derivative of a step is zero: reparameterization is biased here, by all of it
        assert np.all(est == 0) and exact > 0.2
        return
    se = est.std() / math.sqrt(N)
    assert abs(est.mean() - exact) < 4 * se + 1e-12, (est.mean(), exact, se)


def test_decoder_gradient_by_quadrature_matches_finite_differences():
    decoder = Decoder1D(seed=2)
    from genviz.models.estimators import GAUSS_HERMITE, SQRT2PI

    nodes, weights = GAUSS_HERMITE

    def expectation(mu):
        return float((weights * decoder.f(mu + 1.3 * nodes)).sum() / SQRT2PI)

    h = 1e-5
    assert exact_gradient("decoder", 0.7, 1.3, decoder) == pytest.approx(
        (expectation(0.7 + h) - expectation(0.7 - h)) / (2 * h), rel=1e-6)


def test_closed_form_variances_on_z_squared():
    rng = np.random.default_rng(0)
    sf = gaussian_estimates("square", "sf", 1.0, 1.0, 800_000, rng)
    assert sf.var() == pytest.approx(30.0, rel=0.03) and square_sf_variance(1.0, 1.0) == pytest.approx(30.0)
    rep = gaussian_estimates("square", "reparam", 1.0, 1.5, 400_000, rng)
    assert rep.var() == pytest.approx(4 * 1.5 ** 2, rel=0.02)
    best = 1.0 + 3 * 1.0  # b* = mu^2 + 3 sigma^2
    base = gaussian_estimates("square", "sf-baseline", 1.0, 1.0, 800_000, rng, baseline=best)
    assert base.var() == pytest.approx(square_sf_variance(1.0, 1.0, best), rel=0.03)
    assert square_sf_variance(1.0, 1.0, best) < 30.0 / 2


def test_discrete_estimators_against_enumeration():
    rng = np.random.default_rng(3)
    logits, values = np.array([0.3, -0.5, 1.0, 0.0]), np.array([0.2, 1.5, -0.7, 0.9])
    exact = categorical_exact_gradient(logits, values)
    # enumeration, by finite differences of sum_k p_k f_k

    def expect(logit):
        p = np.exp(logit - logit.max())
        return float((p / p.sum() * values).sum())
    fd = np.array([(expect(logits + 1e-6 * e) - expect(logits - 1e-6 * e)) / 2e-6 for e in np.eye(4)])
    assert np.allclose(exact, fd, atol=1e-8)
    for estimator in ("sf", "sf-baseline"):
        est = categorical_estimates(logits, values, estimator, N, rng)
        se = est.std(0) / math.sqrt(N)
        assert np.all(np.abs(est.mean(0) - exact) < 4 * se + 1e-12), estimator
    # the relaxed estimator's closed form equals autograd through the softmax
    lg = torch.tensor(logits, requires_grad=True)
    g = np.random.default_rng(9)
    gumbel = -np.log(-np.log(g.random(4)))
    out = (torch.softmax((lg + torch.from_numpy(gumbel)) / 0.3, -1) * torch.from_numpy(values)).sum()
    auto = torch.autograd.grad(out, lg)[0].numpy()
    assert np.allclose(categorical_estimates(logits, values, "gumbel", 1, np.random.default_rng(9), 0.3)[0], auto)
    hot = gumbel_bias(logits, values, 1.0, 4000, rng)
    cold = gumbel_bias(logits, values, 0.1, 4000, rng)
    assert hot["bias"] > 4 * np.linalg.norm(hot["se"])  # biased at tau = 1
    assert cold["bias"] < hot["bias"] and cold["variance"] > hot["variance"]  # less bias, more variance


def tiny_machine(d=4, h=3, seed=0):
    model = HelmholtzMachine(d, h, seed=seed).double()
    g = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return model


def test_exact_log_px_by_enumeration_matches_brute_force():
    model = tiny_machine()
    xs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)), dtype=torch.float64)
    log_px = model.log_px(xs)
    assert float(torch.exp(log_px.detach()).sum()) == pytest.approx(1.0, abs=1e-12)
    for x in xs[:5]:
        brute = 0.0
        for h in itertools.product([0.0, 1.0], repeat=3):
            h = torch.tensor(h, dtype=torch.float64)
            prior = torch.sigmoid(model.prior)
            px_h = torch.sigmoid(model.gen_w @ h + model.gen_b)
            brute += float(torch.prod(torch.where(h > 0, prior, 1 - prior)) * torch.prod(torch.where(x > 0, px_h, 1 - px_h)))
        assert float(model.log_px(x[None])[0]) == pytest.approx(math.log(brute), abs=1e-12)
    assert torch.allclose(model.posterior(xs).sum(-1), torch.ones(16, dtype=torch.float64))


def test_rws_gradient_approaches_the_exact_one_and_the_sf_elbo_gradient_is_unbiased():
    model = tiny_machine(d=6, h=4, seed=1)
    x = torch.bernoulli(torch.full((3, 6), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(2))
    exact = torch.autograd.grad(model.log_px(x).mean(), model.generative())
    keep = [p.detach().clone() for p in model.recognition()]
    with torch.no_grad():  # a broad q, so that self-normalized importance sampling converges fast
        for p in model.recognition():
            p.mul_(0.1)
    torch.manual_seed(0)
    gen_loss, _, _ = wake_sleep_losses(model, x, "rws", k=20000)
    rws = torch.autograd.grad(gen_loss, model.generative())
    for a, b in zip(rws, exact):  # the w-weighted gradient estimates grad log p(x)
        assert torch.allclose(-a, b, atol=0.03 * float(b.abs().max()) + 1e-3)
    with torch.no_grad():
        for p, v in zip(model.recognition(), keep):
            p.copy_(v)
    # the ELBO, exact by enumeration: sum_h q(h|x) (log p(x, h) - log q(h|x))
    states = model.states
    q = torch.exp(model.log_q(states.unsqueeze(0), x.unsqueeze(1)))  # [n, S]
    elbo = (q * (model.log_px_table(x) - model.log_q(states.unsqueeze(0), x.unsqueeze(1)))).sum(-1).mean()
    exact_rec = torch.autograd.grad(elbo, model.recognition())
    reps = 4000
    g = torch.Generator().manual_seed(5)
    draws = []
    for _ in range(reps):
        _, rec_loss, _ = wake_sleep_losses(model, x, "sf-elbo", generator=g)
        gr = torch.autograd.grad(rec_loss, model.recognition())
        draws.append(torch.cat([-t.reshape(-1) for t in gr]))
    draws = torch.stack(draws)
    mean, se = draws.mean(0), draws.std(0) / math.sqrt(reps)
    target = torch.cat([t.reshape(-1) for t in exact_rec])
    assert torch.all((mean - target).abs() < 4.5 * se + 1e-9), float(((mean - target).abs() / se).max())
