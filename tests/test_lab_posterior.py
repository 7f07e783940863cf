"""The posterior lab: quadrature against exact Gaussians and against IWAE k = 5000 on a VAE trained
on the embedded digits, Burda's monotone bounds, ELBO + KL = log p(x), q* beating q, HMC and ESS,
and the panel driven with real snapshots."""
import math

import numpy as np

from genviz.core.protocol import Snapshot
import pytest
import torch
from torch import nn

from genviz.core.protocol import EngineConfig
from genviz.core.runner import build_experiment
from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.labs.posterior import inference as inf


class LinearGaussianVAE(nn.Module):
    """p(z) = N(0, I), p(x|z) = N(W z + b, s^2 I): the posterior and p(x) are Gaussian in closed form."""

    latent = 2

    def __init__(self, d: int = 5, s: float = 0.7, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = nn.Parameter(torch.randn(d, 2, generator=g))
        self.b = nn.Parameter(torch.randn(d, generator=g) * 0.3)
        self.s = s

    def decode(self, z):
        mean = z @ self.w.T + self.b
        return torch.distributions.Independent(torch.distributions.Normal(mean, self.s), 1)

    def exact(self, x):
        w, b, s2 = self.w.detach().double(), self.b.detach().double(), self.s ** 2
        cov_x = w @ w.T + s2 * torch.eye(len(b), dtype=torch.float64)
        log_px = torch.distributions.MultivariateNormal(b, cov_x).log_prob(x.double())
        post_cov = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + w.T @ w / s2)
        post_mean = post_cov @ w.T @ (x.double() - b) / s2
        return float(log_px), post_mean.numpy(), post_cov.numpy()


def test_quadrature_matches_a_closed_form_posterior():
    model = LinearGaussianVAE()
    x = model.decode(torch.tensor([[0.8, -0.4]])).sample()[0]
    log_px, m, cov = model.exact(x)
    g = inf.grid_posterior(model, x, 200, hint=(m, np.sqrt(np.diag(cov))))
    assert g.log_px == pytest.approx(log_px, abs=1e-4)
    gm, gcov = g.mean_cov()
    np.testing.assert_allclose(gm, m, atol=1e-4)
    np.testing.assert_allclose(gcov, cov, atol=1e-4)
    # the 50 % highest-density region of a 2-D Gaussian is the ellipse of Mahalanobis radius sqrt(2 ln 2)
    level = g.mass_levels((0.5,))[0]
    peak = 1 / (2 * math.pi * math.sqrt(np.linalg.det(cov)))
    assert level == pytest.approx(peak * 0.5, rel=0.03)


def test_gaussian2d_log_prob_and_entropy_against_torch():
    mu = torch.tensor([0.3, -1.0])
    tril = torch.tensor([[0.5, 0.0], [0.3, 0.2]])
    q = inf.Gaussian2D(mu, tril, full=True)
    ref = torch.distributions.MultivariateNormal(mu, scale_tril=tril)
    z = torch.randn(7, 2)
    torch.testing.assert_close(q.log_prob(z), ref.log_prob(z))
    torch.testing.assert_close(q.entropy(), ref.entropy())


def test_optimal_gaussian_finds_the_exact_posterior_of_a_linear_model():
    torch.manual_seed(0)
    model = LinearGaussianVAE()
    x = model.decode(torch.tensor([[0.5, 0.5]])).sample()[0]
    log_px, m, cov = model.exact(x)
    start = inf.Gaussian2D.diagonal(torch.zeros(2), torch.zeros(2))
    fit = inf.OptimalGaussian(start, full=True, lr=0.03, samples=200)
    fit.fit(model, x, 800)
    got = fit.q().numpy()
    np.testing.assert_allclose(got["mu"], m, atol=0.03)
    np.testing.assert_allclose(got["cov"], cov, atol=0.03)
    # the family holds the posterior, so the ELBO reaches log p(x): no approximation gap
    assert float(inf.elbo_of(model, x, fit.q(), 20000)) == pytest.approx(log_px, abs=0.02)


def test_effective_sample_size_of_known_chains():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((4000, 4))
    assert inf.effective_sample_size(iid) == pytest.approx(16000, rel=0.15)
    # AR(1) with rho = 0.9: ESS = N (1 - rho) / (1 + rho)
    ar = np.zeros((20000, 4))
    for t in range(1, len(ar)):
        ar[t] = 0.9 * ar[t - 1] + math.sqrt(1 - 0.81) * rng.standard_normal(4)
    assert inf.effective_sample_size(ar) == pytest.approx(80000 * 0.1 / 1.9, rel=0.2)
    assert inf.split_rhat(iid) < 1.01 and inf.split_rhat(ar) < 1.01


def test_chains_in_different_modes_get_a_small_ess_and_a_large_rhat():
    """Vehtari et al. (2021): four chains each mixing well within its own mode of a 4-peak target
    are four draws of the mode, not 16,000 draws of the target; R-hat says they disagree."""
    rng = np.random.default_rng(1)
    stuck = rng.standard_normal((4000, 4)) * 0.3 + np.array([-3.0, -1.0, 1.0, 3.0])
    assert inf.split_rhat(stuck) > 1.5
    assert inf.effective_sample_size(stuck) < 100


def test_hmc_samples_the_exact_posterior():
    model = LinearGaussianVAE(seed=1)
    x = model.decode(torch.tensor([[-0.5, 1.0]])).sample()[0]
    _, m, cov = model.exact(x)
    hmc = inf.HMC(torch.zeros(16, 2), step_size=0.1, adapt=50, seed=0)
    hmc.run(model, x, 450)
    draws = hmc.draws()
    assert draws.shape == (400, 16, 2) and 0.4 < hmc.acceptance < 0.95
    flat = draws.reshape(-1, 2)
    np.testing.assert_allclose(flat.mean(0), m, atol=0.05)
    np.testing.assert_allclose(np.cov(flat.T), cov, atol=0.05)
    assert inf.effective_sample_size(draws[..., 0]) > 500


# -- on a VAE trained on the embedded digits ---------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    settings = resolve(get_lab("posterior").settings, {"hidden": 128})
    exp = build_experiment(EngineConfig(lab="posterior", device="cpu", settings=settings))
    for _ in range(1500):
        exp.advance()
    return exp


def test_quadrature_agrees_with_iwae_5000_and_the_elbo_identity(trained):
    model = trained.model.eval()
    torch.manual_seed(1)
    for x in trained.x_test[:4]:
        q = inf.encoder_q(model, x)
        g = inf.grid_posterior(model, x, 200, hint=(q.mu.numpy(), q.scale_tril.diagonal().numpy()))
        iwae = float(model.iwae_bound(x[None], k=5000))
        assert g.log_px == pytest.approx(iwae, abs=0.05)
        # ELBO + KL(q || p(z|x)) = log p(x): KL by quadrature on a wide grid, ELBO by Monte Carlo
        wide = inf.grid_posterior(model, x, 500, box=(np.array([-7.0, -7.0]), np.array([7.0, 7.0])))
        gx, gy = np.meshgrid(wide.xs, wide.ys)
        zs = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()
        log_q = q.log_prob(zs).double().numpy().reshape(wide.log_density.shape)
        cell = (wide.xs[1] - wide.xs[0]) * (wide.ys[1] - wide.ys[0])
        kl = float((np.exp(log_q) * (log_q - wide.log_density)).sum() * cell)
        assert kl > 0
        elbo = float(inf.elbo_of(model, x, q, 50000))
        assert elbo + kl == pytest.approx(wide.log_px, abs=0.02)
        assert wide.log_px == pytest.approx(g.log_px, abs=1e-3)  # the adaptive region holds the mass


def test_iwae_bounds_rise_with_k_and_q_star_beats_q(trained):
    model = trained.model.eval()
    torch.manual_seed(2)
    for x in trained.x_test[4:7]:
        b = inf.iwae_bounds(model, x, (1, 10, 100, 1000), budget=20000)
        assert b[1] <= b[10] + 0.01 <= b[100] + 0.02 <= b[1000] + 0.03
        q = inf.encoder_q(model, x)
        fit = inf.OptimalGaussian(q, full=False)
        fit.fit(model, x, 300)
        elbos = []
        for candidate in (fit.q(), q):
            torch.manual_seed(3)  # common random numbers: the comparison is not drowned in MC noise
            elbos.append(float(inf.elbo_of(model, x, candidate, 20000)))
        assert elbos[0] > elbos[1]


def test_iwae_training_objective_and_report(trained):
    settings = resolve(get_lab("posterior").settings, {"hidden": 32, "objective": "iwae", "k": 5})
    exp = build_experiment(EngineConfig(lab="posterior", device="cpu", settings=settings))
    first = [exp.advance()["neg_bound"] for _ in range(5)]
    for _ in range(200):
        last = exp.advance()["neg_bound"]
    assert last < np.mean(first)
    report = trained.final_metrics(points=3, qstar_steps=100)["gap_decomposition"]
    assert report["points"] == 3
    assert report["approximation_gap"] >= -0.02 and report["amortization_gap"] > 0
    assert report["median_abs_quadrature_minus_iwae5000"] < 0.05
    assert report["inference_gap"] == pytest.approx(report["approximation_gap"] + report["amortization_gap"], abs=1e-3)


def test_snapshots_and_live_refinement(trained):
    trained.set_view("example", 3)
    heavy = trained.snapshot(heavy=True)
    assert heavy["example"] == 3 and heavy["posterior"].shape == (200, 200)
    assert np.isclose(np.exp(heavy["posterior"]).sum() * np.prod(np.diff(heavy["extent"])[[0, 2]]) / 200 ** 2, 1, atol=1e-3)
    n = heavy["numbers"]
    assert n["kl_q"] == pytest.approx(n["log_px"] - n["elbo_q"])
    steps = heavy["qstar"]["steps"]
    live = trained.snapshot(heavy=False)["live"]
    assert live["qstar"]["steps"] > steps and len(live["hmc"]["samples"]) > len(heavy["hmc"]["samples"])


def test_panel_draws_a_snapshot_and_picks_examples(qtbot, trained):
    from genviz.labs.posterior.panel import PosteriorPanel

    panel = PosteriorPanel(get_lab("posterior"))
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    panel.on_ready(trained.static_info())
    heavy = trained.snapshot(heavy=True)
    panel.take_live(Snapshot(0, trained.step_count, False, 0.0, True, {}, heavy))
    qtbot.waitUntil(lambda: panel.density.image.image is not None and "quadrature" in panel.readout.text(), timeout=5000)
    assert panel.ellipses["q"].getData()[0] is not None and len(panel.ellipses["qstar"].getData()[0]) == 96
    assert f"{heavy['numbers']['log_px']:.3f}".replace("-", "−") in panel.readout.text() and "±" in panel.readout.text()
    live = trained.snapshot(heavy=False)
    panel.take_live(Snapshot(0, trained.step_count, False, 0.0, False, {}, live))
    assert len(panel.hmc_points.data) == min(3000, len(live["live"]["hmc"]["samples"]))
    chosen = []
    panel.requestView.connect(lambda name, value: chosen.append((name, value)))
    h, w = panel.static["image_shape"]
    panel._on_strip_click(h + 2, (w + 1) * 2 + 1)  # row 1, column 2
    assert chosen[-1] == ("example", int(panel.strip_idx[8]))  # a view choice, not a training setting


def test_contour_segments_trace_a_known_circle():
    from genviz.ui.plots import contour_segments

    r, c = np.mgrid[0:101, 0:101].astype(float)
    z = (r - 50.0) ** 2 + (c - 40.0) ** 2  # a paraboloid: its level sets are circles
    x, y = contour_segments(-z, -900.5)  # (a level no grid point hits exactly)
    assert len(x) % 2 == 0 and len(x) > 300
    # pixel (c, r) has its centre at (c + 0.5, r + 0.5): every end point lies on the circle
    dist = np.hypot(x - 0.5 - 40.0, y - 0.5 - 50.0)
    assert np.abs(dist - np.sqrt(900.5)).max() < 0.05
    # segments join up: each end point is shared by exactly two segments (a closed curve)
    pts = np.round(np.stack([x, y], 1), 9)
    _, counts = np.unique(pts, axis=0, return_counts=True)
    assert (counts == 2).all()
    assert contour_segments(z, 1e9)[0].size == 0


def test_nested_iwae_estimates_are_ordered_and_their_errors_are_honest(trained):
    """Nested groups of one draw set give L1 <= L10 <= L100 <= L1000 for any draws (Jensen), and
    the standard errors match the spread of independent repeats."""
    from genviz.labs.posterior.inference import CRN_SEED

    model = trained.model.eval()
    for x in trained.x_test[:8]:
        b = inf.iwae_bounds_se(model, x, (1, 10, 100, 1000), budget=20000)
        means = [b[k][0] for k in (1, 10, 100, 1000)]
        assert means == sorted(means)
        assert all(b[k][1] > 0 for k in b)
    # the reported error of L_10 against the spread of 30 independent repeats (other draw sets)
    x = trained.x_test[0]
    repeats = []
    for seed in range(30):
        inf.CRN_SEED = seed
        repeats.append(inf.iwae_bounds_se(model, x, (10,), budget=2000)[10])
    inf.CRN_SEED = CRN_SEED
    spread = np.std([m for m, _ in repeats], ddof=1)
    reported = np.mean([s for _, s in repeats])
    assert 0.6 < reported / spread < 1.6


def test_estimates_show_no_more_digits_than_their_error():
    from genviz.core.numbers import estimate

    assert estimate(-26.97213, 0.0062) == "−26.9721 ± 0.0062"
    assert estimate(-26.97213, 0.02) == "−26.972 ± 0.020"
    assert estimate(12.3456, 1.7) == "12.3 ± 1.7"
    assert estimate(-26.97, None) == "−26.970"


def test_a_bound_estimated_above_log_px_never_reads_as_above_it():
    """Issue 39: "L₁₀₀₀ = −26.599 ± 0.011" printed under "log p(x) = −26.604" stated an impossible order."""
    from genviz.core.numbers import bound_text

    assert bound_text(-26.599, 0.011, -26.604) == "≈ log p(x), within 1 SE (−26.599 ± 0.011)"
    assert bound_text(-26.62, 0.011, -26.604) == "−26.620 ± 0.011"  # below: an ordinary estimate
    assert bound_text(-26.58, 0.011, -26.604) == "−26.580 ± 0.011, 2.2 SE above log p(x) (Monte Carlo noise)"
    assert "check the estimate" in bound_text(-26.5, 0.011, -26.604)


def test_the_grid_window_holds_the_posterior_even_from_a_poor_coarse_search(trained):
    """With a coarse search that bounds too little of the mass (here forced: only cells within
    0.5 nats of the peak), the window still grows until its edges carry less than 1e-5 of the peak
    density, so the 99 % contour is never cut by the view."""
    model = trained.model.eval()
    for x in trained.x_test[:6]:
        g = inf.grid_posterior(model, x, 120, cutoff=0.5)
        d = g.log_density
        edge = max(d[:, 0].max(), d[:, -1].max(), d[0, :].max(), d[-1, :].max())
        assert edge < d.max() + math.log(1e-5) + 1e-9
