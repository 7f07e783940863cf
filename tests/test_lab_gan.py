"""The GAN lab's widgets driven with qtbot on the real engine."""

import numpy as np

from PySide6.QtCore import Qt

from genviz.labs.gan.panel import LOST_AFTER
from genviz.ui import theme
from genviz.ui.main_window import MainWindow
from tests.helpers import complete, run_until


def open_gan(qtbot, **overrides):
    theme.apply_theme("light")
    w = MainWindow(engine_kind="thread", lab="gan",
                   overrides={"g_hidden": 32, "d_hidden": 32, "batch": 64, **overrides})
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.panel().static != {}, timeout=30000)
    return w


def test_training_fills_every_view(qtbot):
    w = open_gan(qtbot)
    panel = w.panel()
    assert w.lab_list.currentItem().text() == "GAN mode coverage"
    w.training.do_step(30)
    qtbot.waitUntil(lambda: w.run.step == 30 and bool(panel.heavy) and not panel.drawing, timeout=30000)
    assert len(panel.fake.data) == 2500 and panel.heat.image.shape == (192, 192)
    assert panel.field.xData is not None and np.isnan(panel.field.xData).any()  # NaN-separated arrows
    assert "modes captured" in panel.coverage_text.text() and "/ 8" in panel.coverage_text.text()
    assert len(panel.per_mode.bars.opts["height"]) == 8
    assert panel.losses.buffers["d_loss"].x.size == 30
    panel.show_heat.setChecked(False)
    assert not panel.heat.isVisible()
    w.close()


def test_lost_modes_are_announced(qtbot):
    w = open_gan(qtbot)
    panel = w.panel()

    def evaluation(data, step):  # what extend_curves and show_frame do with a heavy snapshot's coverage
        panel._record_coverage(data, step)
        panel._draw_coverage(data, step)

    per_mode = np.array([5, 5, 5, 5, 5, 5, 5, 5])
    cov = {"per_mode": per_mode, "modes": 8, "n_modes": 8, "hq_percent": 90.0, "reverse_kl": 0.0}
    evaluation({"coverage": cov}, 100)
    assert not panel.warning.isVisible()
    per_mode = np.array([5, 0, 5, 5, 5, 0, 5, 5])
    dropped = {"coverage": {**cov, "per_mode": per_mode, "modes": 6}}
    evaluation(dropped, 200)
    assert not panel.warning.isVisible()  # one empty evaluation is noise, not collapse
    for step in range(201, 201 + LOST_AFTER):
        evaluation(dropped, step)
    assert panel.warning.isVisible() and "1, 5" in panel.warning.text()
    evaluation({"coverage": cov}, 300)  # the modes come back
    assert not panel.warning.isVisible()
    w.close()


def test_step_buttons_preset_and_drawing(qtbot, tmp_path):
    w = open_gan(qtbot)
    panel = w.panel()
    start = w.run.step
    qtbot.mouseClick(panel.d_step_button, Qt.LeftButton)
    qtbot.mouseClick(panel.g_step_button, Qt.LeftButton)
    run_until(None, lambda: w.run.step == start + 2, timeout=30)  # counted steps, with their metric rows
    rows = w.run.history.metrics()
    assert list(rows["part_d"][-2:] == 1) == [True, False] and list(rows["part_g"][-2:] == 1) == [False, True]

    panel.preset.activated.emit(panel.preset.findText("WGAN-GP"))  # checked by the worker, then reset
    run_until(None, lambda: w.run.values["gan"]["loss"] == "wgan-gp", timeout=60)
    assert w.run.values["gan"]["loss"] == "wgan-gp" and w.run.values["gan"]["d_steps"] == 5
    assert w.forms["gan"].editors["loss"].currentText() == "wgan-gp"
    qtbot.waitUntil(lambda: w.panel().static.get("loss") == "wgan-gp", timeout=30000)

    panel.draw_button.setChecked(True)
    rng = np.random.default_rng(0)
    for x, y in rng.normal(size=(12, 2)):
        panel.add_drawn_point(float(x), float(y))
    assert panel.use_drawn.isEnabled()
    qtbot.mouseClick(panel.use_drawn, Qt.LeftButton)
    run_until(None, lambda: w.run.values["gan"]["data"].endswith("drawn-points.npy"), timeout=60)
    qtbot.waitUntil(lambda: w.panel().static.get("dataset") == "drawn-points", timeout=30000)
    assert "no modes to count" in panel.coverage_text.text()
    w.close()


def test_open_points_file(qtbot, tmp_path):
    w = open_gan(qtbot)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n")
    assert not complete(w.data_actions.load(str(bad)))
    assert "3 values" in w.banner.label.text() and w.run.values["gan"]["data"] == "ring8"
    good = tmp_path / "pts.csv"
    good.write_text("x,y\n" + "\n".join(f"{np.cos(t):.3f},{np.sin(t):.3f}" for t in np.linspace(0, 6, 40)))
    assert complete(w.data_actions.load(str(good)))
    qtbot.waitUntil(lambda: w.panel().static.get("dataset") == "pts", timeout=30000)
    w.close()


def test_g_loss_curve_marks_the_current_fakes(qtbot):
    w = open_gan(qtbot)
    panel = w.panel()
    w.training.do_step(3)
    qtbot.waitUntil(lambda: w.run.step == 3 and "d_of_fake" in panel.heavy and not panel.drawing, timeout=30000)
    x, y = panel.g_marks.getData()
    d = np.clip(panel.heavy["d_of_fake"], 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(np.sort(x), np.sort(d))
    np.testing.assert_allclose(np.sort(y), np.sort(-np.log(d)))  # the non-saturating loss is in use
    w.close()


def _pixels(image) -> np.ndarray:
    image = image.convertToFormat(image.Format.Format_ARGB32)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return rows[:, :image.width()].astype(int)


def _same_within_a_pixel(a, b, tolerance: int = 8) -> bool:
    """Whether every pixel of ``a`` has its colour (within ``tolerance`` a channel) in ``b`` at most one pixel away,
    and the other way round: a pixmap cache puts each symbol at whole device pixels."""
    a, b = _pixels(a), _pixels(b)

    def covered(x, y):
        pad = np.pad(y, ((1, 1), (1, 1), (0, 0)), mode="edge")
        h, w = x.shape[:2]
        best = np.min([np.abs(x - pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]).max(-1)
                       for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
        return bool(best.max() <= tolerance)
    return a.shape == b.shape and covered(a, b) and covered(b, a)


def test_the_cached_real_points_and_modes_follow_new_data_a_theme_and_a_zoom(qtbot):
    """The real points and mode rings are kept as a pixmap between repaints: after new data, a theme switch or a
    zoom the view must look as it does drawn afresh without the cache (to a pixel: the cache draws at whole pixels)."""
    from PySide6.QtWidgets import QGraphicsItem

    from genviz.core.labs import get_lab
    from genviz.core.settings import resolve
    from genviz.labs.gan.experiment import GanExperiment
    from genviz.labs.gan.panel import GanPanel

    theme.apply_theme("light")
    panel = GanPanel(get_lab("gan"))
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    assert panel.real.cacheMode() == panel.modes.cacheMode() == QGraphicsItem.DeviceCoordinateCache

    def cached_and_afresh():
        """For the real points and for the rings alone (each cache puts its item at whole pixels, so two cached
        items may sit a pixel apart): the view as the cache shows it (filled by the last repaint), then drawn
        afresh without the cache."""
        pairs = []
        for item in (panel.real, panel.modes):
            other = panel.modes if item is panel.real else panel.real
            other.hide()
            kept = panel.view.grab().toImage()
            item.setCacheMode(QGraphicsItem.NoCache)
            afresh = panel.view.grab().toImage()
            item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            other.show()
            pairs.append((kept, afresh))
        panel.view.grab()  # the caches filled again
        return pairs

    ring = GanExperiment(resolve(get_lab("gan").settings, {"data": "ring8"}), seed=0).static_info()
    grid = GanExperiment(resolve(get_lab("gan").settings, {"data": "grid25"}), seed=0).static_info()
    panel.on_ready(ring)
    panel.view.grab()
    first = cached_and_afresh()
    assert all(_same_within_a_pixel(kept, afresh) for kept, afresh in first)
    panel.on_ready(grid)  # new data
    now = cached_and_afresh()
    assert all(_same_within_a_pixel(kept, afresh) for kept, afresh in now)
    assert not any(_same_within_a_pixel(kept, old) for (kept, _), (old, _) in zip(now, first))
    theme.apply_theme("dark")  # the real points' brush restyled
    try:
        assert all(_same_within_a_pixel(kept, afresh) for kept, afresh in cached_and_afresh())
    finally:
        theme.apply_theme("light")
    panel.view.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)  # a zoom
    assert all(_same_within_a_pixel(kept, afresh) for kept, afresh in cached_and_afresh())
