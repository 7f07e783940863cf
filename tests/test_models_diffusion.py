"""Diffusion in 2-D against exact values: the mixture's score at every t equals autograd of its exact
log-density, which integrates to 1; the forward process has the right moments; samplers driven by the
exact score recover every mode; DDIM with eta = 0 is deterministic and inverts; the probability-flow
likelihood with the exact score equals the exact density, and a trained model's integrates to 1."""
import math

import numpy as np
import pytest
import torch

from genviz.data.toy2d import make_toy, mode_coverage, spread_ratio
from genviz.labs.diffusion.experiment import NLL_STEPS
from genviz.models.diffusion import (B_FLOOR, PROCESSES, SAMPLERS, DiffusionModel, MixtureMarginals, Process,
                                     ddim_encode, ode_log_prob, sample)


def ring(process):
    toy = make_toy("ring8")
    return toy, MixtureMarginals(toy.modes, 0.05, Process(process))


@pytest.mark.parametrize("process", PROCESSES)
def test_exact_mixture_score_is_the_gradient_of_its_density_which_integrates_to_one(process):
    _, mix = ring(process)
    g = torch.Generator().manual_seed(0)
    for t in (0.01, 0.3, 0.9):
        x = (torch.randn(50, 2, generator=g, dtype=torch.float64) * 1.5).requires_grad_(True)
        lp = mix.log_prob(x, torch.tensor(t, dtype=torch.float64))
        auto, = torch.autograd.grad(lp.sum(), x)
        assert torch.allclose(mix.score(x.detach(), torch.tensor(t, dtype=torch.float64)), auto, atol=1e-9)
    # normalized, by quadrature at a middle time
    n, lim = 400, 6.0 if process != "ve" else 40.0
    xs = torch.linspace(-lim, lim, n, dtype=torch.float64)
    grid = torch.cartesian_prod(xs, xs)
    area = (xs[1] - xs[0]) ** 2
    mass = float(torch.exp(mix.log_prob(grid, torch.tensor(0.5, dtype=torch.float64))).sum() * area)
    assert mass == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("process", PROCESSES)
def test_forward_process_moments(process):
    proc = Process(process)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(200000, 2, generator=g, dtype=torch.float64) * 0.7 + torch.tensor([1.0, -2.0], dtype=torch.float64)
    t = torch.full((len(x0),), 0.4, dtype=torch.float64)
    xt = proc.noise(x0, t, torch.randn(x0.shape, generator=g, dtype=torch.float64))
    a, b = proc.ab(torch.tensor([0.4], dtype=torch.float64))
    assert torch.allclose(xt.mean(0), a * torch.tensor([1.0, -2.0], dtype=torch.float64), atol=0.02 * float(b) + 0.01)
    assert torch.allclose(xt.var(0), a ** 2 * 0.49 + b ** 2, rtol=0.02)


@pytest.mark.parametrize("sampler,process", [("ode", "vp-linear"), ("sde", "vp-linear"), ("ddpm", "vp-cosine"),
                                             ("ddim", "vp-linear"), ("ode", "flow"), ("sde", "ve"),
                                             ("langevin", "ve")])
def test_samplers_driven_by_the_exact_score_recover_every_mode(sampler, process):
    toy, mix = ring(process)
    model = DiffusionModel(process).double()
    x = sample(model, 2000, sampler, steps=200, generator=torch.Generator().manual_seed(2),
               score_fn=lambda x, t: mix.score(x, t))
    cov = mode_coverage(x.numpy(), toy.modes, 0.05)
    assert cov["modes"] == 8 and cov["hq_percent"] > 80, cov


def test_ddim_with_eta_zero_is_deterministic_and_inverts():
    torch.manual_seed(3)
    model = DiffusionModel("vp-linear").double()
    noise = torch.randn(64, 2, dtype=torch.float64)
    a = sample(model, 64, "ddim", steps=200, x=noise, generator=torch.Generator().manual_seed(4))
    b = sample(model, 64, "ddim", steps=200, x=noise, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)  # no noise enters with eta = 0
    # run forwards, the noise it finds decodes back to the points (driven by a mixture's exact score)
    toy = make_toy("ring8")
    mix = MixtureMarginals(toy.modes, 0.3, Process("vp-linear"))
    score = lambda x, t: mix.score(x, t)  # noqa: E731
    x0 = sample(model, 64, "ddim", steps=400, x=noise, score_fn=score, denoise=False)
    back = ddim_encode(model, x0, steps=400, score_fn=score)
    again = sample(model, 64, "ddim", steps=400, x=back, score_fn=score, denoise=False)
    assert torch.allclose(again, x0, atol=2e-2) and torch.allclose(back, noise, atol=5e-2)


def test_probability_flow_likelihood_with_the_exact_score_is_the_exact_density():
    toy = make_toy("ring8")
    for process in ("vp-linear", "flow"):
        mix = MixtureMarginals(toy.modes, 0.2, Process(process))
        model = DiffusionModel(process).double()
        g = torch.Generator().manual_seed(6)
        x0 = torch.from_numpy(toy.modes[:4]).double() + 0.2 * torch.randn(4, 2, generator=g, dtype=torch.float64)
        got = ode_log_prob(model, x0, steps=400, score_fn=lambda x, t: mix.score(x, t))
        exact = mix.log_prob(x0, torch.tensor(0.0, dtype=torch.float64))
        assert torch.allclose(got, exact, atol=0.05), (process, got, exact)


@pytest.mark.parametrize("data", ["ring8", "grid25"])
@pytest.mark.parametrize("process", PROCESSES)
def test_probability_flow_likelihood_on_narrow_modes_at_the_apps_step_counts(data, process):
    """The data's own density (modes of std 0.01 and 0.05) against the ODE likelihood with the exact score, at 100
    steps (final metrics) and at the live readout's NLL_STEPS. A grid uniform in t erred by +1.04 nats (100 steps)
    and +4.18 (40) on the ring."""
    toy = make_toy(data)
    mix = MixtureMarginals(toy.modes, toy.std, Process(process))
    model = DiffusionModel(process).double()
    x0 = torch.from_numpy(toy.sample(200, np.random.default_rng(0))).double()
    exact = mix.log_prob(x0, torch.tensor(0.0, dtype=torch.float64))  # b(0) = 0 (VE: B_FLOOR, 1/10 of a mode)
    for steps, tol in ((100, 0.05), (NLL_STEPS, 0.1)):
        got = ode_log_prob(model, x0, steps=steps, score_fn=lambda x, t: mix.score(x, t))
        err = float((got - exact).mean())
        assert abs(err) < tol, (steps, err)


@pytest.mark.parametrize("data", ["ring8", "grid25"])
@pytest.mark.parametrize("process", PROCESSES)
def test_every_sampler_driven_by_the_exact_score_keeps_the_spread_within_a_mode(data, process):
    """A perfect score must give the data's spread within each mode (the readout's 1): sampling stops where
    b = B_FLOOR, a tenth of the ring's std; stopping at t = 1e-3 (b = 0.0105) gave 0.65-0.81."""
    toy = make_toy(data)
    mix = MixtureMarginals(toy.modes, toy.std, Process(process))
    model = DiffusionModel(process).double()
    for sampler in SAMPLERS:
        if sampler == "ddpm" and not process.startswith("vp"):
            continue
        x = sample(model, 2000, sampler, steps=100, generator=torch.Generator().manual_seed(2),
                   score_fn=lambda x, t: mix.score(x, t)).numpy()
        r, _ = spread_ratio(x, toy.modes, toy.std)
        cov = mode_coverage(x, toy.modes, toy.std)
        assert cov["modes"] == len(toy.modes) and cov["hq_percent"] > 90, (sampler, cov["hq_percent"])
        assert 0.9 <= r <= (1.3 if sampler == "langevin" else 1.1), (sampler, r)
    assert float(Process(process).ab(torch.tensor([Process(process).t_min], dtype=torch.float64))[1]) \
        == pytest.approx(B_FLOOR, rel=1e-3)


def test_a_trained_models_ode_density_integrates_to_one_and_its_score_approaches_the_true_one():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = DiffusionModel("vp-linear", hidden=64)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    mix = MixtureMarginals(np.zeros((1, 2)), 0.6, Process("vp-linear"))  # one Gaussian: an analytic score

    def score_error():
        x = torch.randn(2000, 2, generator=g) * 0.6
        t = torch.full((2000,), 0.2)
        xt = model.process.noise(x, t, torch.randn(x.shape, generator=g))
        with torch.no_grad():
            return float(((model.score(xt, t).double() - mix.score(xt.double(), t.double())) ** 2).sum(-1).mean())

    before = score_error()
    for _ in range(1500):
        x0 = torch.randn(256, 2, generator=g) * 0.6
        loss, _ = model.loss(x0, generator=g)
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
    after = score_error()
    assert after < 0.1 * before
    n, lim = 36, 3.0
    xs = torch.linspace(-lim, lim, n)
    grid = torch.cartesian_prod(xs, xs)
    lp = ode_log_prob(model, grid, steps=60)
    mass = float(torch.exp(lp).sum() * (xs[1] - xs[0]) ** 2)
    assert abs(math.log(mass)) < 0.05, mass


@pytest.mark.parametrize("process", PROCESSES)
def test_closed_form_drift_and_diffusion_match_autograd(process):
    proc = Process(process)
    t = torch.linspace(0.01, 0.98, 50, dtype=torch.float64)
    f, g2 = proc.drift_diffusion(t)
    fa, g2a = proc.drift_diffusion_autograd(t)
    assert torch.allclose(f, fa, rtol=1e-6, atol=1e-9) and torch.allclose(g2, g2a, rtol=1e-6, atol=1e-9)


def test_classifier_free_guidance_mixes_the_conditional_and_unconditional_outputs():
    torch.manual_seed(0)
    model = DiffusionModel("vp-linear", hidden=16, classes=3).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    t = torch.full((5,), 0.4, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1, 0])
    uncond, cond = model(x, t, torch.full((5,), 3)), model(x, t, y)
    for gamma, expect in ((0.0, uncond), (1.0, cond), (3.0, -2 * uncond + 3 * cond)):
        with model.guiding(y, gamma):
            assert torch.allclose(model(x, t), expect)
            _, b = model.process.ab(t)
            assert torch.allclose(model.score(x, t), -expect / b[:, None])  # the score is guided alike
    assert model.guide is None
    loss, _ = model.loss(x, y=y)  # labels dropped at random during training
    assert loss.shape == (5,)
