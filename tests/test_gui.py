"""The real widgets driven with qtbot: the main window on the process engine, keyboard and buttons,
live settings, click-to-decode, hover, bad data, NaN banner, and a clean close."""
import asyncio
import threading
from dataclasses import replace

import numpy as np

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QWidget

from genviz.ui import theme
from genviz.ui.main_window import MainWindow
from tests.helpers import complete


@pytest.fixture
def window(qtbot, request):
    theme.apply_theme("light")
    kind = getattr(request, "param", "process")
    w = MainWindow(engine_kind=kind, lab="manifold", overrides={"hidden": 64})
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.panel().static != {}, timeout=60000)
    yield w
    w.close()


def test_play_pause_step_reset(qtbot, window):
    panel = window.panel()
    qtbot.mouseClick(window.bar.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.run.step > 100 and panel.redraws > 5 and bool(panel.heavy), timeout=30000)
    assert window.bar.play_button.isChecked()
    assert panel.manifold_view.item.image.shape == (20 * 9 - 1, 20 * 9 - 1)  # 20x20 tiles, 1-px gaps
    qtbot.keyClick(window, Qt.Key_Space)  # pause
    qtbot.waitUntil(lambda: not window.bar.play_button.isChecked(), timeout=5000)
    qtbot.wait(300)
    paused_at = window.run.step
    qtbot.wait(300)
    assert window.run.step == paused_at
    qtbot.keyClick(window, Qt.Key_Right)  # one step
    qtbot.waitUntil(lambda: window.run.step == paused_at + 1, timeout=10000)
    qtbot.keyClick(window, Qt.Key_R, Qt.ControlModifier)  # reset
    qtbot.waitUntil(lambda: window.run.step == 0 and panel.curves.buffers["neg_elbo"].x.size == 0, timeout=10000)
    qtbot.waitUntil(lambda: panel.static != {}, timeout=30000)
    assert "steps/s" in window.status_label.text()


def test_live_setting_and_reset_setting(qtbot, window):
    form = window.forms["manifold"]
    form.editors["beta"].setValue(3.0)
    qtbot.waitUntil(lambda: window.controller.bridge.engine.config.settings.get("beta") == 3.0, timeout=2000)
    form.editors["latent"].setValue(4)  # applies on Reset only
    assert window.run.values["manifold"]["latent"] == 4
    window.training.reset()
    qtbot.waitUntil(lambda: window.panel().static.get("latent") == 4, timeout=30000)
    window.training.do_step(2)
    qtbot.waitUntil(lambda: window.panel().heavy.get("basis") is not None
                    and window.panel().heavy["basis"].shape == (4, 2), timeout=30000)
    assert "PCA" in window.panel().latent_plot.getPlotItem().titleLabel.text


def test_click_decodes_at_once_and_hover_shows_nearest(qtbot, window):
    panel = window.panel()
    window.training.do_step(50)
    qtbot.waitUntil(lambda: window.run.step == 50 and bool(panel.heavy), timeout=30000)
    qtbot.waitUntil(lambda: not panel.drawing, timeout=2000)  # the views are drawn in turns
    qtbot.wait(50)
    vb = panel.latent_plot.getPlotItem().getViewBox()
    target = panel.heavy["points"][5]
    panel.click_plane(float(target[0]), float(target[1]))
    shown = panel.preview_view.item.image
    expected = panel.decode(panel.plane_to_z(target))
    np.testing.assert_allclose(shown, expected, atol=1e-6)
    assert panel.selected == 5 and len(panel.ellipse.xData) > 10  # the q(z|x) 2-sigma ellipse
    # a real mouse click on an empty corner of the plane decodes there, selecting nothing
    rect = vb.viewRect()
    corner = QPointF(rect.left() + 0.02 * rect.width(), rect.bottom() - 0.02 * rect.height())
    pos = panel.latent_plot.mapFromScene(vb.mapViewToScene(corner))
    before = len(panel.click_latency_ms)
    qtbot.mouseClick(panel.latent_plot.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(panel.click_latency_ms) > before, timeout=2000)
    assert panel.selected is None
    # QTest cannot hover on the offscreen platform; emit the scene's own hover signal instead
    panel.hover_index = None
    panel.latent_plot.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(float(target[0]), float(target[1]))))
    qtbot.waitUntil(lambda: panel.hover_index is not None, timeout=2000)
    # the nearest example to the hovered point is point 5 (or a duplicate encoded at the same place)
    np.testing.assert_allclose(panel.heavy["points"][panel.hover_index], target, atol=1e-3)
    assert panel.nearest_view.item.image.shape == (8, 8)


def test_bad_data_file_keeps_everything(qtbot, window, tmp_path):
    bad = tmp_path / "broken-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")
    ok = complete(window.data_actions.load(str(bad)))
    assert not ok and window.run.data is None
    assert window.banner.isVisible() and "truncated" in window.banner.label.text()
    assert window.controller.bridge.engine.alive


def test_nan_shows_banner_and_pauses(qtbot):
    w = MainWindow(engine_kind="thread", lab="manifold")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.controller.bridge.engine is not None, timeout=5000)
    w.controller.bridge.engine.reset(replace(w.controller.bridge.engine.config, experiment_ref="tests.helpers:NanAt6"))
    w.controller.bridge.engine.play()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=20000)
    assert "non-finite at step 6" in w.banner.label.text() and "last good state (step 5)" in w.banner.label.text()
    assert not w.bar.play_button.isChecked()
    w.close()


def test_dark_theme_and_close_leaves_nothing_running(qtbot):
    before = set(threading.enumerate())
    w = MainWindow(engine_kind="process", lab="manifold")
    qtbot.addWidget(w)
    w.show()
    w.lecture.set_theme("dark")
    assert theme.current() == "dark"
    qtbot.waitUntil(lambda: w.controller.bridge.engine is not None and w.controller.bridge.engine.alive, timeout=10000)
    engine = w.controller.bridge.engine
    w.close()
    assert not engine.alive and w.controller.bridge.engine is None
    qtbot.waitUntil(lambda: set(threading.enumerate()) <= before, timeout=2000)
    theme.apply_theme("light")


def test_worker_error_is_shown(qtbot):
    w = MainWindow(engine_kind="thread", lab="manifold")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.controller.bridge.engine is not None, timeout=5000)
    w.controller.bridge.engine.reset(replace(w.controller.bridge.engine.config, experiment_ref="tests.helpers:FailAt3"))
    w.controller.bridge.engine.play()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=20000)
    assert "training step 3" in w.banner.label.text() and "deliberate failure" in w.banner.label.text()
    assert w.banner.details_button.isVisibleTo(w.banner) and "Traceback" in w.banner.details
    w.close()


def test_awaiting_a_worker_query_through_qasync(qtbot, tmp_path):
    import torch

    w = MainWindow(engine_kind="thread", lab="manifold", overrides={"hidden": 16})
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.panel().static != {}, timeout=20000)
    path = str(tmp_path / "m.pt")
    try:
        saved = complete(asyncio.wait_for(w.controller.bridge.ask("save", path=path), 20))
        metrics = complete(asyncio.wait_for(w.controller.bridge.ask("metrics"), 20))
    finally:
        w.close()
        pass
    assert saved == path and torch.load(path, weights_only=True)["lab"] == "manifold"
    assert metrics["steps"] == 0


def test_collapse_warning_banner(qtbot):
    from genviz.core.labs import get_lab
    from genviz.labs.manifold.panel import ManifoldPanel

    panel = ManifoldPanel(get_lab("manifold"))
    qtbot.addWidget(panel)
    panel.show()
    panel._update_warning({"collapsed": True, "kl_dims": np.array([0.001, 0.002])}, 500)
    assert panel.warning.isVisible() and "Posterior collapse" in panel.warning.text()
    panel._update_warning({"collapsed": False, "kl_dims": np.array([1.0, 2.0])}, 600)
    assert not panel.warning.isVisible()


def test_curves_offer_a_log_scale_and_axes_have_no_si_prefix(qtbot):
    from genviz.ui.plots import CurvePlot

    plot = CurvePlot("Losses", {"a": "a", "b": "b"})
    qtbot.addWidget(plot)
    plot.append("a", np.arange(1, 101), 1000.0 / np.arange(1, 101))
    plot.append("b", np.arange(1, 101), -np.ones(100))  # not drawable on a log axis: left out there
    plot.redraw()
    plot.set_log(True)
    lo, hi = plot.getPlotItem().getViewBox().viewRange()[1]
    assert lo <= 1.0 + 1e-9 and hi >= np.log10(1000 / 11)  # log10: 10 up to the later 90 % of training
    x = plot.curves["b"].getData()[0]
    assert x is None or len(x) == 0
    assert not plot.getPlotItem().getAxis("left").autoSIPrefix
    plot.set_log(False)
    # a late spike does not rescale the plot
    plot.clear_data()
    y = np.ones(1000)
    y[800] = 1e6
    plot.append("a", np.arange(1000), y)
    plot.redraw()
    assert plot.getPlotItem().getViewBox().viewRange()[1][1] < 10


def test_leaving_the_presenter_view_restores_the_controls_text(qtbot):
    theme.apply_theme("light", font_scale=1.0)
    w = MainWindow(engine_kind="thread", lab="manifold")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.run.static != {}, timeout=60000)
    before = [x.font().pointSizeF() for x in w.lecture.controls()]
    dock = w.settings_dock.width()
    w.lecture.enter_presenter()
    qtbot.wait(50)
    w.lecture.toggle_controls()  # C: the controls shown at the presenter's text size
    qtbot.wait(50)
    w.lecture.leave_presenter()
    qtbot.wait(500)
    assert [x.font().pointSizeF() for x in w.lecture.controls()] == before
    # issue 39: the lab's own buttons and readouts lose the 1.5x text too, and the dock keeps its width
    size = QApplication.font().pointSizeF()
    big = [f"{type(x).__name__} {x.objectName()}" for x in w.findChildren(QWidget)
           if x.isVisibleTo(w) and x.font().pointSizeF() > size * 1.2]
    assert not big, big
    assert abs(w.settings_dock.width() - dock) <= 8, (w.settings_dock.width(), dock)
    assert w.statusBar().currentMessage() == "" and w.bar.isVisible()
    w.close()
