"""The optimal discriminator and the JS divergence (genviz.labs.gan.optimal) against exact values: densities
against torch.distributions, the JS divergence against quadrature, the learned-D bound against the theorem."""
import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from genviz.labs.gan.optimal import (LOG2, js_lower_bound, js_terms, kde_log_density, mixture_log_density,
                                     optimal_discriminator)
from genviz.models.gan import grid_points

MEANS = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]])


def mixture(means, std) -> MixtureSameFamily:
    m = torch.as_tensor(means, dtype=torch.float64)
    return MixtureSameFamily(Categorical(torch.ones(len(m), dtype=torch.float64)),
                             Independent(Normal(m, torch.full_like(m, std)), 1))


def quadrature_js(log_p, log_q, extent=(-4, 4, -3.5, 5), n=801) -> float:
    x = grid_points(extent, n).double()
    lp, lq = log_p(x), log_q(x)
    lm = torch.logaddexp(lp, lq) - LOG2
    cell = (extent[1] - extent[0]) / (n - 1) * (extent[3] - extent[2]) / (n - 1)
    return float(0.5 * ((lp.exp() * (lp - lm)).sum() + (lq.exp() * (lq - lm)).sum()) * cell)


def test_densities_are_exact():
    x = torch.randn(500, 2, dtype=torch.float64) * 1.5
    ref = mixture(MEANS, 0.1).log_prob(x)
    assert torch.allclose(mixture_log_density(x.float(), torch.tensor(MEANS, dtype=torch.float32), 0.1).double(),
                          ref, rtol=1e-4, atol=1e-3)
    centres = torch.randn(300, 2, dtype=torch.float64)
    ref = mixture(centres, 0.3).log_prob(x)
    assert torch.allclose(kde_log_density(x, centres, 0.3), ref, atol=1e-9)
    # the narrow ring's scale: no cancellation at std 0.01 in float32
    near = torch.tensor([[1.004, 0.003]])
    got = mixture_log_density(near, torch.tensor([[1.0, 0.0]]), 0.01)
    want = -0.5 * (0.004 ** 2 + 0.003 ** 2) / 1e-4 - math.log(2 * math.pi * 1e-4)
    assert abs(float(got) - want) < 1e-3


def test_js_estimate_covers_quadrature_with_exact_densities():
    """With both densities known, the Monte Carlo JS covers the quadrature value: its SE is honest."""
    p, q = mixture(MEANS, 0.3), mixture(MEANS * 1.4, 0.3)
    truth = quadrature_js(p.log_prob, q.log_prob)
    assert 0.1 < truth < LOG2
    z = []
    for seed in range(20):
        torch.manual_seed(seed)
        xp, xq = p.sample((2000,)), q.sample((2000,))
        r = js_terms(p.log_prob(xp), q.log_prob(xp), p.log_prob(xq), q.log_prob(xq))
        z.append((r["js"] - truth) / r["js_se"])
    z = np.array(z)
    assert abs(z.mean()) < 0.6 and 0.6 < z.std() < 1.5, z


def test_d_star_and_js_from_samples():
    """G of known density (the modes too wide): the KDE plug-in JS lands within its SE plus a small smoothing bias
    of quadrature; D* is ½ where the two densities agree and follows p_data / (p_data + p_g)."""
    data_std, g_std = 0.1, 0.2
    p, g = mixture(MEANS, data_std), mixture(MEANS, g_std)
    truth = quadrature_js(p.log_prob, g.log_prob)
    torch.manual_seed(0)
    fake, real = g.sample((2000,)).numpy(), p.sample((2000,)).numpy()
    grid = grid_points((-2, 2, -1, 2.5), 40)
    res = optimal_discriminator(fake, real, MEANS, data_std, grid)
    assert abs(res["js"] - truth) < 3 * res["js_se"] + 0.02, (res["js"], truth, res["js_se"])
    exact = torch.sigmoid(p.log_prob(grid.double()) - g.log_prob(grid.double())).numpy()
    # D* is judged where the densities are not both negligible
    mass = (p.log_prob(grid.double()).exp() + g.log_prob(grid.double()).exp()).numpy() > 0.05
    assert np.isfinite(res["d_star"][mass]).all()
    assert np.abs(res["d_star"][mass] - exact[mass]).mean() < 0.08


def test_perfect_generator_reads_about_zero():
    torch.manual_seed(1)
    p = mixture(MEANS, 0.1)
    res = optimal_discriminator(p.sample((2000,)).numpy(), p.sample((2000,)).numpy(), MEANS, 0.1,
                                grid_points((-2, 2, -1, 2.5), 32))
    assert abs(res["js"]) < 0.03
    shown = res["d_star"][np.isfinite(res["d_star"])]
    assert len(shown) > 20 and 0.35 < float(np.median(shown)) < 0.65
    assert np.isnan(res["d_star"]).any()  # far from every mode D* is 0/0: left blank


def test_learned_d_bound():
    """log 2 − L_D/2 equals JS for D = D* (in expectation) and lies below it for any other D."""
    p, g = mixture(MEANS, 0.1), mixture(MEANS * 1.2, 0.15)
    truth = quadrature_js(p.log_prob, g.log_prob)
    torch.manual_seed(2)
    xp, xg = p.sample((20000,)), g.sample((20000,))

    def bound(logit):
        lr, lf = logit(xp), logit(xg)
        parts = torch.cat([torch.nn.functional.softplus(-lr)]), torch.nn.functional.softplus(lf)
        loss = float(parts[0].mean() + parts[1].mean())
        se = math.hypot(float(parts[0].std()) / len(xp) ** 0.5, float(parts[1].std()) / len(xg) ** 0.5)
        return js_lower_bound(loss, se)

    optimal, se = bound(lambda x: p.log_prob(x) - g.log_prob(x))
    assert abs(optimal - truth) < 4 * se + 1e-3
    worse, _ = bound(lambda x: 0.5 * (p.log_prob(x) - g.log_prob(x)))
    assert worse < truth - 0.02
    blind, _ = bound(lambda x: torch.zeros(len(x), dtype=x.dtype))  # D = ½ everywhere proves nothing
    assert abs(blind) < 1e-12


@pytest.mark.parametrize("data", ["ring8", "mixture:-1,0;1,0;0,1.5"])
def test_snapshot_carries_optimal(data):
    from genviz.core.labs import get_lab
    from genviz.core.settings import resolve
    from genviz.labs.gan.experiment import DSTAR_GRID, GanExperiment

    exp = GanExperiment(resolve(get_lab("gan").settings, {"data": data, "optimal_d": True, "g_hidden": 16,
                                                          "d_hidden": 16}), seed=0)
    for _ in range(20):
        exp.train_step()
    o = exp.snapshot(True)["optimal"]
    assert o["d_star"].shape == (DSTAR_GRID, DSTAR_GRID)
    assert -0.05 <= o["js"] <= LOG2 + 1e-6
    assert o["js"] == pytest.approx(o["js_real_part"] + o["js_fake_part"])
    assert o["gap"] == pytest.approx(o["js"] - o["js_bound"])
    off = GanExperiment(resolve(get_lab("gan").settings, {"data": data, "g_hidden": 16, "d_hidden": 16}), seed=0)
    assert "optimal" not in off.snapshot(True)


def test_sparse_generator_mass_is_not_lost():
    """10 % of G's mass spread thinly (a broad Gaussian under the modes, like the bridges a GAN draws between
    modes): the defensive kernel keeps lone samples from reading log p_g ≈ −400, so the estimate stays near
    quadrature with a small SE."""
    modes = torch.as_tensor(MEANS)
    comps = torch.cat([modes, torch.tensor([[0.0, 0.5]], dtype=torch.float64)])
    scales = torch.tensor([0.1, 0.1, 0.1, 1.0], dtype=torch.float64)[:, None].expand(4, 2)
    g = MixtureSameFamily(Categorical(torch.tensor([0.3, 0.3, 0.3, 0.1], dtype=torch.float64)),
                          Independent(Normal(comps, scales), 1))
    p = mixture(MEANS, 0.1)
    truth = quadrature_js(p.log_prob, g.log_prob, extent=(-6, 6, -5.5, 6.5), n=1201)
    torch.manual_seed(3)
    res = optimal_discriminator(g.sample((2000,)).numpy(), p.sample((2000,)).numpy(), MEANS, 0.1,
                                grid_points((-2, 2, -1, 2.5), 16))
    assert res["js_se"] < 0.02
    assert abs(res["js"] - truth) < 3 * res["js_se"] + 0.03, (res["js"], truth, res["js_se"])
