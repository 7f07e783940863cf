"""Issue 8 in the real window: the timeline scrubs to the exact snapshot of a step and resumes from
a checkpoint; sessions save, open (hostile ones refused), autosave and restore after a crash;
exports for slides; lecture presets, the presenter view and persisted settings."""
import asyncio
import json
import re
import xml.etree.ElementTree as ET

import numpy as np

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from genviz.cli import main as cli_main
from genviz.core.engine import EngineConfig
from genviz.core.headless import record_session
from genviz.core.presets import all_presets, get_preset
from genviz.core.session import load_session, save_session
from genviz.ui import export, theme
from genviz.ui.main_window import MainWindow
from tests.helpers import open_window, run_until, train_until


@pytest.fixture
def loop(_app_loop):
    return _app_loop  # the app's loop (conftest)


def drawn(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.drawing, timeout=5000)


def test_scrub_shows_the_exact_snapshot_and_resume_continues_from_a_checkpoint(qtbot, loop):
    w = open_window(qtbot)
    panel = w.panel()
    train_until(qtbot, w)
    ck1 = w.run.history.checkpoints[1][0]  # a frame after a checkpoint that is not the first
    i = next(k for k, f in enumerate(w.run.history.frames) if f.step >= ck1)
    frame = w.run.history.frames[i]
    w.timeline.slider.setValue(i)
    drawn(qtbot, panel)
    assert not w.timeline.live and panel.heavy is frame.data
    assert np.array_equal(panel.manifold_view.item.image, frame.data["manifold"])  # the exact picture of that step
    assert panel.curves._marker.value() == frame.step and panel.curves._marker.isVisible()
    assert f"step {frame.step:,}" in w.timeline.label.text()

    # training goes on underneath: curves grow, the views stay at the scrubbed step
    n_curve = panel.curves.buffers["neg_elbo"].x.size
    w.training.play()
    qtbot.waitUntil(lambda: panel.curves.buffers["neg_elbo"].x.size > n_curve + 20, timeout=30000)
    assert panel.heavy is frame.data
    w.training.pause()
    qtbot.wait(200)

    # "Resume from here": the checkpoint at or before the frame; the later history goes
    qtbot.mouseClick(w.timeline.resume_button, Qt.LeftButton)
    ck_step = max(s for s, _ in w.run.history.checkpoints)
    assert ck1 <= ck_step <= frame.step and w.timeline.live
    assert w.run.history.frames[-1].step <= ck_step and w.run.history.metrics()["step"].max() <= ck_step
    assert panel.curves.buffers["neg_elbo"].x.max() <= ck_step
    qtbot.waitUntil(lambda: w.run.step == ck_step, timeout=10000)
    w.training.do_step(5)
    qtbot.waitUntil(lambda: w.run.step == ck_step + 5, timeout=10000)

    # playback steps through the history, then stops at its end
    w.timeline.fps.setCurrentIndex(3)
    w.timeline.play_history(True)
    qtbot.waitUntil(lambda: not w.timeline.play_button.isChecked(), timeout=20000)
    assert w.timeline.index == len(w.run.history) - 1
    qtbot.keyClick(w, Qt.Key_End)
    assert w.timeline.live and not panel.curves._marker.isVisible()
    w.close()


def test_session_round_trip_through_the_window(qtbot, loop, tmp_path):
    w = open_window(qtbot)
    train_until(qtbot, w, frames=4, checkpoints=2)
    path = tmp_path / "run.genviz"
    task = asyncio.ensure_future(w.sessions.save(path))
    run_until(loop, task.done, timeout=30)
    assert task.result() and path.is_file()
    saved = load_session(path)
    assert saved.step == w.run.step and len(saved.history) == len(w.run.history)
    assert str(path) in w.sessions.recent()
    w.close()

    w2 = open_window(qtbot, lab="gan", overrides={})
    task = asyncio.ensure_future(w2.sessions.open(path))
    run_until(loop, task.done, timeout=30)
    qtbot.waitUntil(lambda: w2.run.lab == "manifold" and w2.run.step == saved.step and w2.run.static != {}, timeout=60000)
    panel = w2.panel()
    drawn(qtbot, panel)
    assert panel.heavy is w2.run.history.frames[-1].data  # the views as saved
    assert np.array_equal(panel.manifold_view.item.image, saved.history.frames[-1].data["manifold"])
    assert panel.curves.buffers["neg_elbo"].x.max() == saved.step  # the curves came back too
    assert w2.run.values["manifold"]["hidden"] == 32
    w2.training.do_step(3)  # and it trains on from the saved step
    qtbot.waitUntil(lambda: w2.run.step == saved.step + 3, timeout=20000)

    # a hostile file is refused with a message; the running lab is untouched
    evil = tmp_path / "evil.genviz"
    evil.write_bytes(b"PK\x03\x04 not really a zip")
    task = asyncio.ensure_future(w2.sessions.open(evil))
    run_until(loop, task.done, timeout=30)
    assert task.result() is False and w2.banner.isVisible() and "Could not open the session" in w2.banner.label.text()
    assert w2.run.lab == "manifold" and w2.run.step == saved.step + 3
    w2.close()


def test_autosave_and_restore_after_a_crash(qtbot, loop):
    w = open_window(qtbot)
    train_until(qtbot, w, frames=3, checkpoints=1)
    task = asyncio.ensure_future(w.sessions.autosave())
    run_until(loop, task.done, timeout=30)
    saved = w.sessions.autosave_file
    assert task.result() and saved.is_file()
    step = load_session(saved).step
    w.controller.bridge.close()  # killed: no closeEvent, the autosave stays, and its lock goes with the process
    w.sessions.autosave_lock.release(force=True)

    w2 = open_window(qtbot, lab="gan", overrides={})
    assert w2.banner.isVisible() and "did not close normally" in w2.banner.label.text()
    qtbot.mouseClick(w2.banner.action_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w2.run.lab == "manifold" and w2.run.step == step, timeout=60000)
    qtbot.waitUntil(lambda: not saved.exists(), timeout=5000)  # restored here: the orphan goes
    task = asyncio.ensure_future(w2.sessions.autosave())
    run_until(loop, task.done, timeout=30)
    assert task.result() and w2.sessions.autosave_file.is_file()
    w2.close()
    assert not w2.sessions.autosave_file.exists()  # a normal exit clears it


def test_exports_for_slides(qtbot, tmp_path, monkeypatch):
    w = open_window(qtbot)
    train_until(qtbot, w, frames=5, checkpoints=1)
    panel = w.panel()
    views = panel.views()
    assert "manifold" in views, list(views)
    view = views["manifold"]
    png = export.view_png(view, tmp_path / "v.png", scale=2)
    assert Image.open(png).size == (2 * view.width(), 2 * view.height())
    svg = export.view_svg(panel.curves, tmp_path / "c.svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    # issue 39: every tick label its own text element (not "05001k1.5k"), and no ℹ button drawn in
    texts = ["".join(t.itertext()).strip() for t in ET.parse(svg).getroot().iter() if t.tag.endswith("text")]
    numeric = [t for t in texts if re.fullmatch(r"[-−0-9.,kMe+]+", t)]
    assert len(numeric) >= 4 and all(len(t) <= 6 for t in numeric), texts
    assert not any("ℹ" in t for t in texts), texts
    # a label Qt writes in two runs ("prior, 2" and "σ") is one text element in the SVG
    latent = export.view_svg(views["latent-means"], tmp_path / "l.svg")
    texts = ["".join(t.itertext()) for t in ET.parse(latent).getroot().iter() if t.tag.endswith("text")]
    assert "prior, 2σ" in texts, [t for t in texts if "prior" in t or "σ" in t]
    win = export.window_png(w, tmp_path / "w.png")
    assert Image.open(win).size[0] >= w.width()
    w.exports.timeline(view, str(tmp_path / "t.gif"), fps=8, width=240)
    gif = Image.open(tmp_path / "t.gif")
    assert gif.size[0] == 240 and gif.n_frames >= 2
    frames = export.timeline_animation(panel, panel.curves, w.run.history, tmp_path / "c.gif", fps=5, width=300, max_frames=4)
    assert Image.open(tmp_path / "c.gif").n_frames == frames == 4  # the curve's marker moves every frame
    # a real MP4: decodable, with one video frame per exported frame, at the size asked for (made even)
    import imageio_ffmpeg

    n = export.timeline_animation(panel, view, w.run.history, tmp_path / "t.mp4", fps=8, width=241, max_frames=5)
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "t.mp4"))
    meta = next(reader)
    decoded = [f for f in reader]
    assert n == min(5, len(w.run.history)) and len(decoded) == n and meta["size"][0] == 242 and meta["fps"] == 8
    assert len(decoded[0]) == meta["size"][0] * meta["size"][1] * 3 and max(decoded[-1]) > 0
    monkeypatch.setattr(export, "mp4_writer", lambda: None)
    with pytest.raises(export.ExportError, match="MP4 export needs imageio-ffmpeg"):
        export.timeline_animation(panel, view, w.run.history, tmp_path / "none.mp4")
    assert not (tmp_path / "none.mp4").exists()
    (tmp_path / "m.csv").write_text(w.run.history.metrics_csv())
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) == 1 + len(w.run.history.metrics()["step"])
    w.close()


def test_headless_export_of_a_saved_session(qtbot, tmp_path, capsys):
    session = record_session(EngineConfig(lab="gan"), 30, frame_every=5, checkpoint_every=10)
    path = save_session(session, tmp_path / "gan.genviz")
    assert cli_main(["export", str(path), "--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert "lab" in listed and "losses" in listed
    assert cli_main(["export", str(path), "--view", "losses", "--format", "gif", "--fps", "5", "--width", "320",
                     "--out", str(tmp_path / "l.gif")]) == 0
    result = json.loads(capsys.readouterr().out)
    gif = Image.open(tmp_path / "l.gif")
    assert gif.n_frames == result["frames"] == 7 and gif.size[0] == 320  # steps 0, 5, ..., 30
    assert cli_main(["export", str(path), "--view", "lab", "--format", "png", "--out", str(tmp_path / "lab.png")]) == 0
    capsys.readouterr()
    assert Image.open(tmp_path / "lab.png").size == (2800, 1800)  # 2x the off-screen 1400x900 panel
    assert cli_main(["export", str(path), "--format", "csv", "--out", str(tmp_path / "m.csv")]) == 0
    assert len((tmp_path / "m.csv").read_text().splitlines()) == 31
    assert cli_main(["export", str(path), "--view", "nope"]) == 2
    assert "no view 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("preset", [p.name for p in all_presets()])
def test_every_preset_trains_a_few_steps_headless(preset):
    p = get_preset(preset)
    if p.missing():
        pytest.skip(p.missing())
    assert p.title and len(p.caption) > 40
    # the preset's view choices are the lab's (its experiment's VIEW): a wrong name fails the build
    session = record_session(EngineConfig(lab=p.lab, settings=p.settings, seed=p.seed, data=p.data, view=p.view), 3,
                             frame_every=3, checkpoint_every=3)
    assert session.step == 3 and np.isfinite(session.history.metrics()["step"]).all()


def test_presets_presenter_view_and_persisted_settings(qtbot):
    w = open_window(qtbot)
    gan = get_preset("gan-wgan-gp-ring")
    w.lecture.apply(gan)
    qtbot.waitUntil(lambda: w.run.lab == "gan" and w.run.static != {} and w.run.step > 0, timeout=60000)
    assert w.run.values["gan"]["loss"] == "wgan-gp" and w.run.values["gan"]["d_steps"] == 5
    assert w.caption.isVisible() and "WGAN-GP fixes it" in w.caption.text()
    w.lecture.step(1)  # the next preset in the Lecture menu
    names = [p.name for p in w.lecture.presets]
    assert w.run.preset.name == names[(names.index(gan.name) + 1) % len(names)]
    qtbot.waitUntil(lambda: w.run.lab == w.run.preset.lab and w.run.static != {}, timeout=60000)

    w.lecture.enter_presenter()
    assert w.isFullScreen() or w.windowState() & Qt.WindowFullScreen
    assert not w.bar.isVisible() and not w.lab_list.isVisible() and w.caption.isVisible()
    assert theme.font_scale() >= 1.5
    w.lecture.toggle_controls()  # C: the controls come back while presenting
    assert w.bar.isVisible()
    w.lecture.leave_presenter()
    assert w.bar.isVisible() and theme.font_scale() == 1.0

    w.lecture.set_font_scale(1.3)
    w.lecture.set_theme("dark")
    w.resize(1500, 940)
    qtbot.waitUntil(lambda: w.width() == 1500, timeout=3000)
    w.close()
    from genviz.ui.prefs import Prefs

    stored = Prefs()
    assert abs(float(stored.value("font_scale")) - 1.3) < 1e-6 and stored.value("theme") == "dark"
    theme.apply_theme("light", font_scale=1.0)
    w2 = MainWindow(engine_kind="thread")  # no lab given: the last one opened
    qtbot.addWidget(w2)
    w2.show()
    assert w2.run.lab == w.run.lab
    # the stored geometry is restored (Qt fits it to the screen: the off-screen one is small)
    from PySide6.QtWidgets import QMainWindow

    plain = QMainWindow()
    from PySide6.QtCore import QByteArray

    plain.restoreGeometry(QByteArray.fromBase64(stored.value("geometry").encode()))
    plain.show()
    assert w2.height() == plain.height() and w2.pos() == plain.pos()  # (the width is held at its minimum)
    plain.close()
    w2.close()


def test_animation_frames_carry_their_step(qtbot):
    from PySide6.QtGui import QImage

    image = QImage(400, 300, QImage.Format_RGB888)
    image.fill(0)
    export.stamp_step(image, 12345)
    arr = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(300, image.bytesPerLine())
    assert arr[-40:, -150:].max() > 200  # the pale label box in the lower right
    assert arr[:200, :200].max() == 0  # and nothing elsewhere
