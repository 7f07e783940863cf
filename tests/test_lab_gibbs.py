"""The Gibbs lab: CD/PCD training, chains, clamping, half-steps, AIS in the background, the widgets."""
import asyncio

import numpy as np
import pytest
import torch

from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.labs.gibbs.experiment import GibbsExperiment, autocorrelation, clamp_mask
from genviz.ui import theme
from tests.helpers import run_until
from genviz.ui.main_window import MainWindow


def make(**overrides):
    torch.set_num_threads(1)
    return GibbsExperiment(resolve(get_lab("gibbs").settings, {"hidden": 32, "chains": 16, **overrides}), seed=0)


def run(exp, n):
    out = []
    for _ in range(n):
        out.append(exp.advance())
    return out


def test_cd_and_pcd_learn_the_digits():
    for method, k in (("cd", 1), ("pcd", 1), ("cd", 5)):
        exp = make(method=method, k=k)
        before = exp.final_metrics()
        run(exp, 600)
        after = exp.final_metrics()
        assert after["recon_error"] < 0.75 * before["recon_error"], method
        assert after["pseudo_ll"] > before["pseudo_ll"] + 2, method


def test_sample_mode_only_moves_the_chains():
    exp = make(mode="sample")
    w = exp.rbm.W.detach().clone()
    run(exp, 10)
    assert torch.equal(w, exp.rbm.W) and exp.chain_steps == 10


def test_half_steps_alternate_and_fill_the_film_strip():
    exp = make()
    assert exp.next_half == "h"
    exp.advance("half")
    assert exp.next_half == "v" and exp.film[-1][0] == "h" and exp.chain_steps == 0
    exp.advance("half")
    assert exp.next_half == "h" and exp.film[-1][0] == "v" and exp.chain_steps == 1
    for _ in range(30):
        exp.advance("half")
    assert len(exp.film) == 12 and exp.step_count == 32  # each half step is a counted step


def test_clamped_pixels_stay_fixed():
    exp = make(clamp="top half", image=3)
    run(exp, 20)
    mask = clamp_mask("top half", exp.shape, None)
    ref = exp.reference().numpy()
    assert np.array_equal(exp.chains.numpy()[:, mask], np.broadcast_to(ref[mask], (16, mask.sum())))
    painted = np.zeros(exp.shape, bool)
    painted[2:4, 2:6] = True
    exp.set_setting("clamp", "painted")
    exp.advance("paint", mask=painted)
    run(exp, 5)
    flat = painted.reshape(-1)
    assert np.array_equal(exp.chains.numpy()[:, flat], np.broadcast_to(ref[flat], (16, flat.sum())))


def test_restart_from_data_and_image():
    exp = make()
    exp.advance("restart", start="image")
    assert (exp.chains == exp.reference()).all()
    exp.advance("restart", start="data")
    rows = {tuple(r) for r in exp.x_test.numpy().astype(int)}
    assert all(tuple(r) in rows for r in exp.chains.numpy().astype(int))


def test_autocorrelation_of_known_processes():
    rng = np.random.default_rng(0)
    white = rng.standard_normal((4000, 8))
    acf = autocorrelation(white, 5)
    assert abs(acf[0] - 1) < 1e-6 and np.all(np.abs(acf[1:]) < 0.05)
    ar = np.zeros((4000, 8))
    for t in range(1, 4000):  # AR(1) with coefficient 0.8: ACF(lag) = 0.8^lag
        ar[t] = 0.8 * ar[t - 1] + rng.standard_normal(8)
    acf = autocorrelation(ar, 3)
    np.testing.assert_allclose(acf, 0.8 ** np.arange(4), atol=0.05)


def test_ais_in_the_background_reports_a_test_log_likelihood():
    exp = make(ais_runs=20, ais_scale=0.05)
    run(exp, 100)
    state = exp.query("ais")
    assert state["running"]
    run(exp, 20)  # training goes on while AIS runs on a copy
    res = exp.wait_for_ais(120)
    assert not res["running"] and res["ll_low"] <= res["test_ll"] <= res["ll_high"]
    assert -64 * np.log(2) - 5 < res["test_ll"] < 0  # better than uniform-ish, below 0


def test_snapshots_carry_the_views():
    exp = make()
    run(exp, 30)
    snap = exp.snapshot(heavy=True)
    assert snap["chains"].shape == (16, 64) and snap["filters"].shape == (32, 64)
    assert len(snap["autocorrelation"]) > 1 and 0 <= snap["class_switch_rate"] <= 1
    assert np.isfinite(snap["pseudo_ll"]) and snap["free_energy_data"] < 0


def test_the_readouts_monte_carlo_figures_carry_standard_errors_that_cover():
    """The chains' mean free energy and class-switch rate are estimates from the chains: each with a standard
    error over the chains (independent), which matches the scatter of the same figure over fresh sets of chains."""
    exp = make(chains=64)
    run(exp, 60)
    exp.set_setting("mode", "sample")  # from here only the chains move
    means, rates, ses, rate_ses = [], [], [], []
    for seed in range(8):
        torch.manual_seed(seed)
        exp.restart_chains("noise")
        run(exp, 30)
        snap = exp.snapshot(heavy=True)
        means.append(snap["free_energy_chains"])
        ses.append(snap["free_energy_chains_se"])
        rates.append(snap["class_switch_rate"])
        rate_ses.append(snap["class_switch_rate_se"])
    assert snap["free_energy_data_se"] > 0
    for values, errors in ((means, ses), (rates, rate_ses)):
        scatter, se = float(np.std(values, ddof=1)), float(np.mean(errors))
        assert se / 3 < scatter < 3 * se, (values, errors)


def test_panel_draws_chains_steps_and_paints(qtbot):
    theme.apply_theme("light")
    w = MainWindow(engine_kind="thread", lab="gibbs", overrides={"hidden": 16, "chains": 9, "clamp": "painted"})
    qtbot.addWidget(w)
    w.show()
    panel = w.panel()
    loop = asyncio.get_event_loop()  # the app's loop (conftest)
    try:
        run_until(loop, lambda: panel.static != {})
        w.training.do_step(5)
        run_until(loop, lambda: w.run.step == 5 and panel.chains_view.item.image is not None
                  and panel.paint_view.enabled)
        assert panel.chains_view.item.image.shape == (3 * 8 + 2, 3 * 8 + 2)  # 3x3 tiles, 1-pixel gaps
        panel.half_button.click()
        run_until(loop, lambda: "next: sample v" in panel.chains_view.getPlotItem().titleLabel.text)
        # paint two pixels and send the mask
        panel.paint_view.paint_at(0, 0, True)
        panel.paint_view.paint_at(0, 1, True)
        run_until(loop, lambda: w.run.step == 6)  # the half step was counted
        panel.paint_view.on_painted(panel.paint_view.mask.copy())
        run_until(loop, lambda: w.run.step == 7)  # and so is the painted clamp, recorded in the history
        rows = w.run.history.metrics()
        assert rows["part_paint"][-1] == 1 and rows["painted"][-1] == 2
    finally:
        w.close()
        pass


def test_an_ais_estimate_keeps_its_interval_on_the_panel(qtbot):
    from genviz.core.labs import get_lab
    from genviz.labs.gibbs.panel import GibbsPanel

    panel = GibbsPanel(get_lab("gibbs"))
    qtbot.addWidget(panel)
    panel._ais({"step": 500, "test_ll": -80.5, "ll_low": -81.25, "ll_high": -79.75, "runs": 100,
                "temperatures": 1000, "log_z": 12.0, "seconds": 1.0})
    assert "−" not in panel.ais_text and "-80.50" in panel.ais_text and "-81.25 … -79.75" in panel.ais_text
    opts = panel.ais_bars.opts
    assert list(opts["x"]) == [500] and opts["top"][0] == pytest.approx(0.75) and opts["bottom"][0] == pytest.approx(0.75)
