"""The flow lab: headless fitting in both modes, snapshots per layer, and the widgets via qtbot."""
import asyncio
import math

import numpy as np

import torch
from PySide6.QtWidgets import QComboBox

from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.labs.flow.experiment import FlowExperiment, entropy_limit
from genviz.ui import theme
from tests.helpers import complete, run_until
from genviz.ui.main_window import MainWindow


def make(**overrides):
    torch.set_num_threads(1)
    return FlowExperiment(resolve(get_lab("flow").settings, {"hidden": 16, "batch": 128, **overrides}), seed=0)


def test_entropy_limits():
    assert entropy_limit("checkerboard") == math.log(32)
    assert abs(entropy_limit("gaussian") - 2.8379) < 1e-3
    assert entropy_limit("moons") is None


def test_density_fit_lowers_test_nll_and_snapshots_every_layer():
    exp = make(flow="realnvp", layers=4)
    before = exp.final_metrics()["test_nll"]
    for _ in range(150):
        exp.advance()
    after = exp.final_metrics()["test_nll"]
    assert after < before - 0.3
    snap = exp.snapshot(heavy=True)
    assert snap["lines"].shape[0] == 5 and snap["cloud"].shape == (5, 600, 2)
    assert snap["density"].shape == (200, 200) and snap["density_layer"] == 4
    # the density view integrates to ~1 over the view box (moons sit inside it)
    x0, x1, y0, y1 = exp.extent
    cell = (x1 - x0) / 199 * (y1 - y0) / 199
    assert abs(snap["density"].sum() * cell - 1) < 0.1
    exp.set_view("layer", 0)
    base = exp.snapshot(heavy=True)
    assert base["density_layer"] == 0 and np.allclose(base["layer_logdet"], 0)


def test_final_metrics_build_no_graph():
    """The end-of-run figures are read, never differentiated: no tensor that needs grad is turned into a float
    (torch warns when one is), for the density fit with a second flow beside it and for the energy fit."""
    import warnings
    for settings in ({"flow": "realnvp", "layers": 2, "beside": 1}, {"fit": "energy", "layers": 2}):
        exp = make(**settings)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = exp.final_metrics()
        assert all(not isinstance(v, torch.Tensor) for v in out.values())


def test_energy_fit_reports_reverse_kl_with_quadrature_log_z():
    exp = make(fit="energy", flow="planar", layers=4, energy="U2", anneal=0)
    # U2 in its window: a Gaussian of std 0.4 in z2 for every z1, over |z1| <= 4 plus the two
    # half-Gaussian walls of std 0.2 outside: Z = 0.4 sqrt(2 pi) (8 + 0.2 sqrt(2 pi))
    exact = math.log(0.4 * math.sqrt(2 * math.pi) * (8 + 0.2 * math.sqrt(2 * math.pi)))
    assert abs(exp.log_z - exact) < 1e-3
    m0 = exp.final_metrics()["reverse_kl"]
    for _ in range(200):
        exp.advance()
    final = exp.final_metrics()
    m1 = final["reverse_kl"]
    assert m1 >= -0.05 and m1 < m0  # a KL: non-negative up to Monte Carlo error, and it fell
    # each snapshot's estimate comes with its standard error, and agrees with the 20,000-draw one
    snap = exp.snapshot(heavy=True)
    se = snap["reverse_kl_se"]
    assert snap["reverse_kl_draws"] == 4096 and 0 < se < 0.1
    assert abs(snap["reverse_kl"] - m1) < 4 * math.hypot(se, final["reverse_kl_se"])


def test_panel_layer_slider_cache_and_presets(qtbot, tmp_path):
    theme.apply_theme("light")
    w = MainWindow(engine_kind="thread", lab="flow", overrides={"flow": "realnvp", "layers": 3, "hidden": 16})
    qtbot.addWidget(w)
    w.show()
    panel = w.panel()
    loop = asyncio.get_event_loop()  # the app's loop (conftest)
    try:
        run_until(loop, lambda: panel.static != {})
        w.training.do_step(5)
        run_until(loop, lambda: w.run.step == 5 and bool(panel.heavy) and not panel.drawing)
        assert panel.slider.maximum() == 3 and panel.slider.value() == 3
        # paused: the panel prefetches every layer's density, so the slider redraws from the cache
        run_until(loop, lambda: panel.cache_step == 5 and all(panel.fresh(k) for k in range(4)))
        panel.slider.setValue(0)
        base = panel.heavy["lines"][0]
        np.testing.assert_allclose(np.nanmax(panel.mesh.xData), base[:, 0].max(), atol=1e-6)  # layer 0 = base grid
        assert len(panel.layer_latency_ms) == 1 and w.run.view_of("flow")["layer"] == 0
        assert "layer 0" in panel.model_plot.getPlotItem().titleLabel.text
        np.testing.assert_array_equal(panel.model_img.image, panel.layer_cache[0][1])
        # the base density is N(0, I) on the view's grid
        x0, x1, y0, y1 = panel.static["extent"]
        gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
        np.testing.assert_allclose(panel.layer_cache[0][1], np.exp(-(gx ** 2 + gy ** 2) / 2) / (2 * np.pi),
                                   atol=1e-6)
        # a new model state makes the cache stale: a stale layer is drawn marked as such, then
        # fetched and redrawn when the fresh density arrives
        w.training.do_step(1)
        run_until(loop, lambda: panel.cache_step == 6 and panel._fetching is None)
        panel.layer_cache[1] = (5, *panel.layer_cache[1][1:])
        panel.slider.setValue(1)
        assert "step 5, updating" in panel.model_plot.getPlotItem().titleLabel.text
        run_until(loop, lambda: panel.fresh(1) and "updating" not in panel.model_plot.getPlotItem().titleLabel.text)
        panel.animate.setChecked(True)
        run_until(loop, lambda: panel.slider.value() == 2, timeout=3)
        panel.animate.setChecked(False)
        # the layer shown is view state, not a training setting: a saved session opens at it
        assert w.run.view_of("flow")["layer"] == 2 and "layer" not in w.run.values["flow"]
        assert complete(w.sessions.save(tmp_path / "flow.genviz"))
        w2 = MainWindow(engine_kind="thread", lab="manifold")
        qtbot.addWidget(w2)
        try:
            assert complete(w2.sessions.open(tmp_path / "flow.genviz"))
            run_until(loop, lambda: w2.run.lab == "flow" and w2.panel().heavy.get("density_layer") == 2)
            assert w2.panel().slider.value() == 2 and w2.run.view_of("flow") == {"layer": 2}
        finally:
            w2.close()
        # a preset resets the lab with its settings
        box = panel.findChild(QComboBox)
        box.activated.emit(box.findText("Planar K=32 on U3"))  # checked by the worker, then reset
        run_until(loop, lambda: w.run.values["flow"]["fit"] == "energy", timeout=60)
        values = w.run.values["flow"]
        assert (values["fit"], values["flow"], values["layers"], values["energy"]) == ("energy", "planar", 32, "U3")
        run_until(loop, lambda: panel.static.get("layers") == 32 and panel.slider.maximum() == 32)
    finally:
        w.close()
        pass


def test_a_typed_target_with_mass_at_the_rim_is_flagged():
    assert "warning" not in make(fit="energy", energy="U3").static_info()
    info = make(fit="energy", energy="0.5*z2**2").static_info()  # flat in z1: not normalisable
    assert "not be normalisable" in info["warning"]


def test_a_stretched_grid_line_is_broken_not_drawn_as_a_chord():
    """Issue 39: where a layer stretches a piece of a grid line far beyond its points' spacing, the mesh
    drew a straight chord across the view; the polyline leaves that piece out, and never joins two lines."""
    from genviz.labs.flow.panel import mesh_polyline

    t = np.linspace(-3, 3, 200)
    smooth = np.stack([t, 0.3 * np.sin(t)], 1)
    folded = smooth.copy()
    folded[120:, 0] += 6.0  # one jump far beyond the line's spacing (a fold)
    points, connect = mesh_polyline(np.stack([smooth, folded]))
    assert points.shape == (400, 2) and connect.shape == (400,)
    assert not connect[199] and not connect[399]  # line ends are not joined to the next line
    assert connect[:199].all()  # the smooth line is whole
    assert not connect[200 + 119] and connect[200:200 + 119].all() and connect[200 + 120:399].all()
