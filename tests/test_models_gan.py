"""GAN lab: the mode-coverage protocol on sample sets with known answers, the ring and grid, each
loss's value and gradient sign, WGAN-GP and R1 against hand computations, unrolled Adam."""
import copy
import math

import numpy as np
import pytest
import torch

from genviz.data import DataError
from genviz.data.toy2d import grid_means, load_points, make_toy, mode_coverage, ring_means
from genviz.models.gan import (LOSSES, Discriminator, Generator, d_loss, g_loss, gradient_penalty, r1_penalty,
                               unrolled_params)


def test_ring_has_eight_distinct_modes_on_the_unit_circle():
    m = ring_means(8)
    assert m.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0)
    d = np.linalg.norm(m[:, None] - m[None], axis=-1) + np.eye(8) * 9
    assert d.min() == pytest.approx(2 * math.sin(math.pi / 8))  # neighbours, none repeated
    toy = make_toy("ring8")
    assert toy.std == 0.01 and len(toy.modes) == 8


def test_grid_has_25_modes_on_the_even_lattice():
    m = grid_means()
    assert len({tuple(p) for p in m}) == 25
    assert set(np.unique(m)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert make_toy("grid25").std == 0.05


def test_coverage_of_a_perfect_generator():
    toy = make_toy("grid25")
    cov = mode_coverage(toy.sample(2500, np.random.default_rng(0)), toy.modes, toy.std)
    assert cov["modes"] == 25 and 97.5 < cov["hq_percent"] < 100 and cov["reverse_kl"] < 0.02


def test_coverage_of_exact_and_single_mode_samples():
    modes, std = ring_means(8), 0.01
    at_modes = np.repeat(modes, 10, axis=0)
    cov = mode_coverage(at_modes, modes, std)
    assert cov["modes"] == 8 and cov["hq_percent"] == 100 and cov["reverse_kl"] == pytest.approx(0, abs=1e-12)
    one = np.repeat(modes[:1], 50, axis=0)
    cov = mode_coverage(one, modes, std)
    assert cov["modes"] == 1 and cov["reverse_kl"] == pytest.approx(math.log(8))
    assert list(cov["per_mode"]) == [50, 0, 0, 0, 0, 0, 0, 0]


def test_coverage_threshold_and_off_mode_points():
    modes, std = ring_means(8), 0.01
    inside = modes[2] + np.array([2.9 * std, 0])
    outside = modes[5] + np.array([0, 3.1 * std])
    cov = mode_coverage(np.stack([inside, outside]), modes, std)
    assert cov["hq_percent"] == 50 and cov["modes"] == 1 and cov["per_mode"][2] == 1
    far = mode_coverage(np.zeros((10, 2)), modes, std)  # the ring's centre: nowhere near a mode
    assert far["modes"] == 0 and far["hq_percent"] == 0 and math.isinf(far["reverse_kl"])


def grad_of(fn, value):
    x = torch.tensor([float(value)], requires_grad=True)
    fn(x).backward()
    return float(x.grad.detach())


@pytest.mark.parametrize("kind", LOSSES)
def test_gradient_signs(kind):
    # G wants D's output on fakes to rise; D wants real outputs up and fake outputs down
    assert grad_of(lambda f: g_loss(kind, f), 0.3) < 0
    assert grad_of(lambda r: d_loss(kind, r, torch.zeros(1)), 0.3) < 0
    assert grad_of(lambda f: d_loss(kind, torch.zeros(1), f), 0.3) > 0


def test_loss_values_on_tiny_cases():
    z, log2 = torch.zeros(1), math.log(2)
    assert float(d_loss("minimax", z, z)) == pytest.approx(2 * log2)
    assert float(g_loss("nonsat", z)) == pytest.approx(log2)
    assert float(g_loss("minimax", z)) == pytest.approx(-log2)
    assert float(d_loss("lsgan", torch.ones(1), z)) == 0
    assert float(g_loss("lsgan", z)) == pytest.approx(0.5)
    assert float(d_loss("hinge", torch.tensor([2.0]), torch.tensor([-2.0]))) == 0
    assert float(d_loss("hinge", z, z)) == 2
    assert float(d_loss("wgan", torch.tensor([3.0, 1.0]), torch.tensor([0.5]))) == pytest.approx(0.5 - 2.0)


def test_minimax_saturates_where_nonsaturating_does_not():
    # D is sure the fakes are fake (logit -10): the original loss gives G almost no gradient
    assert abs(grad_of(lambda f: g_loss("minimax", f), -10)) < 1e-4
    assert abs(grad_of(lambda f: g_loss("nonsat", f), -10)) > 0.99


def linear_critic(w, pack=1):
    d = Discriminator(hidden=4, layers=0, pack=pack)
    with torch.no_grad():
        d.net[0].weight.copy_(torch.tensor([w], dtype=torch.float32))
        d.net[0].bias.fill_(0.3)
    return d


def test_wgan_gp_penalty_by_hand():
    # a linear critic has gradient w everywhere, so the penalty is (||w|| - 1)^2 exactly
    d = linear_critic([3.0, 4.0])
    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    assert float(gradient_penalty(d, real, fake)) == pytest.approx((5 - 1) ** 2, rel=1e-6)
    packed = linear_critic([1.0, 2.0, 2.0, 0.0], pack=2)  # norm over the whole packed input: 3
    assert float(gradient_penalty(packed, real, fake)) == pytest.approx(4.0, rel=1e-6)


def test_gradient_penalty_of_a_nonlinear_critic_matches_autograd_by_hand():
    torch.manual_seed(0)
    d = Discriminator(hidden=8, layers=1, activation="tanh")
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    g = torch.Generator().manual_seed(1)
    eps = torch.rand(16, 1, generator=torch.Generator().manual_seed(1))
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x)
    expected = ((grad.norm(dim=1) - 1) ** 2).mean()
    assert float(gradient_penalty(d, real, fake, g)) == pytest.approx(float(expected), rel=1e-5)


def test_r1_penalty_by_hand():
    d = linear_critic([3.0, 4.0])
    assert float(r1_penalty(d, torch.randn(10, 2))) == pytest.approx(25.0)


def test_unrolled_step_equals_a_real_adam_step():
    torch.manual_seed(0)
    d = Discriminator(hidden=16, layers=2)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2, betas=(0.5, 0.999))
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    for _ in range(3):  # give the optimizer some state to continue from
        opt.zero_grad()
        d_loss("nonsat", d(real), d(fake)).backward()
        opt.step()
    params = unrolled_params(d, opt, "nonsat", [real], fake)
    twin, twin_opt = copy.deepcopy(d), torch.optim.Adam(d.parameters(), lr=1e-2, betas=(0.5, 0.999))
    twin_opt = torch.optim.Adam(twin.parameters(), lr=1e-2, betas=(0.5, 0.999))
    twin_opt.load_state_dict(opt.state_dict())
    twin_opt.zero_grad()
    d_loss("nonsat", twin(real), twin(fake)).backward()
    twin_opt.step()
    for name, p in twin.named_parameters():
        torch.testing.assert_close(params[name].detach(), p.detach(), atol=1e-6, rtol=1e-5)


def test_unrolled_loss_reaches_the_generator():
    torch.manual_seed(0)
    g, d = Generator(2, 16, 1), Discriminator(16, 1)
    opt = torch.optim.Adam(d.parameters(), lr=1e-3)
    fake = g.rsample((32,))
    params = unrolled_params(d, opt, "nonsat", [torch.randn(32, 2) for _ in range(3)], fake)
    out = torch.func.functional_call(d, params, (fake,))
    g_loss("nonsat", out).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())


def test_packing_shapes():
    d = Discriminator(8, 1, pack=4)
    assert d(torch.randn(10, 2)).shape == (2,)


def test_generator_noise_kinds():
    g = Generator(noise_dim=3, noise="uniform")
    z = g.sample_noise(1000, torch.Generator().manual_seed(0))
    assert z.shape == (1000, 3) and z.abs().max() <= 1
    assert g.sample((5,)).shape == (5, 2) and not hasattr(g, "log_prob")


def test_points_files(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n0,1\n2,3\n4,5\n")
    assert load_points(tmp_path / "a.csv").shape == (3, 2)
    (tmp_path / "b.csv").write_text("0,1\n2,oops\n")
    with pytest.raises(DataError, match="line 2"):
        load_points(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("0,1,2\n")
    with pytest.raises(DataError, match="3 values"):
        load_points(tmp_path / "c.csv")
    np.save(tmp_path / "d.npy", np.zeros((5, 3)))
    with pytest.raises(DataError, match="rows of"):
        load_points(tmp_path / "d.npy")
    np.save(tmp_path / "e.npy", np.array([[0.0, np.nan], [1, 1]]))
    with pytest.raises(DataError, match="NaN"):
        load_points(tmp_path / "e.npy")
    (tmp_path / "f.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match="not a readable"):
        load_points(tmp_path / "f.npy")
    np.save(tmp_path / "ok.npy", np.random.default_rng(0).normal(size=(50, 2)))
    toy = make_toy(str(tmp_path / "ok.npy"))
    assert toy.sample(7, np.random.default_rng(1)).shape == (7, 2) and toy.modes is None
    with pytest.raises(DataError, match="unknown 2-D dataset"):
        make_toy("nonsense")


def test_experiment_steps_and_queries():
    from genviz.core.labs import get_lab
    from genviz.core.settings import resolve
    from genviz.labs.gan.experiment import GanExperiment

    torch.set_num_threads(1)
    for overrides in ({"loss": "wgan", "d_steps": 2}, {"loss": "wgan-gp", "pack": 2, "r1": 1.0},
                      {"loss": "hinge", "unroll": 2, "noise_dim": 5, "noise": "uniform"}):
        exp = GanExperiment(resolve(get_lab("gan").settings, {"g_hidden": 16, "d_hidden": 16, "batch": 32, **overrides}))
        for _ in range(3):
            m = exp.advance()
        assert all(math.isfinite(v) for v in m.values())
        if overrides["loss"] == "wgan":
            assert max(float(p.abs().max()) for p in exp.D.parameters()) <= 0.01 + 1e-7  # clipped
        snap = exp.snapshot(heavy=True)
        assert snap["fake"].shape == (2500, 2) and snap["heat"].shape == (192, 192)
        assert snap["mesh"].shape == (21, 21, 2) and snap["field"].shape == (441, 2)
        assert snap["coverage"]["n_modes"] == 8
        before = exp.step_count
        assert "g_loss" in exp.advance("g") and "d_loss" in exp.advance("d") and exp.step_count == before + 2
        fm = exp.final_metrics()
        assert fm["n_modes"] == 8 and 0 <= fm["hq_percent"] <= 100


def test_drawn_points_are_saved_under_their_content(tmp_path):
    """A later drawing must not overwrite the file an earlier session refers to."""
    from genviz.data.toy2d import load_points, save_drawn_points

    a, b = [[0.0, 1.0], [2.0, 3.0]], [[0.0, 1.0], [2.0, 3.5]]
    pa, pb = save_drawn_points(a, tmp_path), save_drawn_points(b, tmp_path)
    assert pa != pb and pa.name == pb.name == "drawn-points.npy"
    assert save_drawn_points(a, tmp_path) == pa
    np.testing.assert_array_equal(load_points(pa), a)
    np.testing.assert_array_equal(load_points(pb), b)


@pytest.mark.parametrize("kind,gp,r1,clip", [("wgan-gp", 10.0, 0.0, None), ("nonsat", 0.0, 5.0, None),
                                             ("wgan", 0.0, 0.0, 0.01)])
def test_unrolled_step_applies_the_penalties_and_clipping_of_the_real_step(kind, gp, r1, clip):
    """The look-ahead D is updated by D's whole objective (GP, R1) and clipped like the real D."""
    from genviz.models.gan import d_objective

    torch.manual_seed(0)
    d = Discriminator(hidden=16, layers=2)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2, betas=(0.5, 0.999))
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    for _ in range(2):
        opt.zero_grad()
        d_loss(kind, d(real), d(fake)).backward()
        opt.step()
    params = unrolled_params(d, opt, kind, [real], fake, gp_weight=gp, r1=r1, clip=clip,
                             generator=torch.Generator().manual_seed(7))
    twin = copy.deepcopy(d)
    twin_opt = torch.optim.Adam(twin.parameters(), lr=1e-2, betas=(0.5, 0.999))
    twin_opt.load_state_dict(opt.state_dict())
    twin_opt.zero_grad()
    d_objective(twin, kind, real, fake, gp, r1, torch.Generator().manual_seed(7))[0].backward()
    twin_opt.step()
    if clip is not None:
        with torch.no_grad():
            for p in twin.parameters():
                p.clamp_(-clip, clip)
    for name, p in twin.named_parameters():
        torch.testing.assert_close(params[name].detach(), p.detach(), atol=1e-6, rtol=1e-5)
    if gp or r1:  # and the penalty did change the step (the test would pass without it otherwise)
        plain = unrolled_params(d, opt, kind, [real], fake)
        assert any((plain[n] - params[n]).abs().max() > 1e-6 for n in params)


# (2 std wide samples: about 67.5 % fall within 3 std, so n = 60 gives ~40 high-quality samples, below 10 a mode,
# and n = 160 about 108, just above)
@pytest.mark.parametrize("weights,n", [("unequal", 2500), ("uniform", 2500), ("uniform", 60), ("half", 400),
                                       ("unequal", 160)])
def test_coverage_standard_errors_match_the_spread_over_repeated_sample_sets(weights, n):
    """hq_percent_se (binomial) and reverse_kl_se against the standard deviation of the estimates over 400
    independent sample sets, within 25 %, in the regimes where the delta method failed: a uniform histogram (its
    first-order term vanishes), modes missing, few high-quality samples. With fewer than 10 a mode no error is
    given (the delta method said 0.13 for a true spread of 0.37 with 7 samples), and the plug-in's bias is stated."""
    from genviz.core.numbers import reverse_kl_text

    toy = make_toy("ring8")
    rng = np.random.default_rng(3)
    w = {"unequal": np.linspace(1, 3, 8), "uniform": np.ones(8), "half": np.r_[np.ones(4), np.zeros(4)]}[weights]
    w = w / w.sum()
    hq, kl, hq_se, kl_se, bias = [], [], [], [], []
    for _ in range(400):
        k = rng.choice(8, n, p=w)
        x = toy.modes[k] + rng.normal(0, 2.0 * toy.std, (n, 2))  # wide: some samples fall outside 3 std
        cov = mode_coverage(x, toy.modes, toy.std)
        hq.append(cov["hq_percent"])
        kl.append(cov["reverse_kl"])
        bias.append(cov["reverse_kl_bias"])
        hq_se.append(cov["hq_percent_se"])
        kl_se.append(cov["reverse_kl_se"])
    assert abs(np.std(hq) / np.mean(hq_se) - 1) < 0.25
    if n == 60:  # too few high-quality samples for an error: none is given, and the readout says why
        text = reverse_kl_text(cov)
        assert all(se is None for se in kl_se) and "too few high-quality samples" in text and "<" not in text
        return
    assert all(se is not None for se in kl_se)
    assert abs(np.std(kl) / np.mean(kl_se) - 1) < 0.25, (np.std(kl), np.mean(kl_se))
    exact = float((w[w > 0] * np.log(w[w > 0] * 8)).sum())
    assert abs(np.mean(kl) - exact - np.mean(bias)) < 3 * np.std(kl) / np.sqrt(400) + 0.002  # the bias stated
