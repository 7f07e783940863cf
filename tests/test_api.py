"""genviz from Python (genviz.Run, genviz.labs/presets/open_session/describe): the same runner as the window and
the command line (the same metrics, step for step), settings refused with the command line's message, no Qt for
training, metrics and saving, pictures of the lab's own views, sessions both ways, the notebook's live figure within
its time share, and the example notebooks executed."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genviz
from genviz.core.settings import SettingError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))


def test_a_run_trains_on_the_windows_runner_step_for_step():
    """Recording frames (the views' own random stream) and checkpoints leaves training exactly as a bare runner's."""
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    run = genviz.Run("gan", seed=3, loss="hinge", batch=64)
    run.train(40).train(20)  # two calls: the second continues the first
    bare = Runner(EngineConfig(lab="gan", settings={"loss": "hinge", "batch": 64}, seed=3))
    rows = [bare.step() for _ in range(60)]
    metrics = run.metrics
    assert metrics["step"].tolist() == list(range(1, 61)) and run.step == 60
    assert np.array_equal(metrics["d_loss"], np.array([r["d_loss"] for r in rows]))
    assert len(run.history) >= 2 and run.history.frames[-1].step == 60 and run.history.frames[0].step == 0
    assert run.final_metrics()["steps"] == 60 and "modes" in json.dumps(run.final_metrics())
    assert repr(run) == "genviz.Run('gan', seed=3, loss='hinge', batch=64)  # step 60"


def test_settings_are_refused_with_the_command_lines_message():
    with pytest.raises(SettingError) as info:
        genviz.Run("gan", lr_g=5.0)
    cli = subprocess.run([sys.executable, "-m", "genviz", "train", "gan", "--set", "lr_g=5.0", "--steps", "1"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and str(info.value) in cli.stderr
    with pytest.raises(SettingError, match="unknown lab 'nope'; available: manifold"):
        genviz.Run("nope")
    with pytest.raises(SettingError, match="unknown setting"):
        genviz.Run("gan", nonsense=1)
    run = genviz.Run("gan", batch=32)
    run.set(lr_g=5e-4)
    assert run.settings["lr_g"] == 5e-4
    with pytest.raises(SettingError, match="loss cannot change while training"):
        run.set(loss="wgan")
    with pytest.raises(SettingError, match="<= 1.0"):
        run.set(lr_g=7.0)


def test_training_measuring_and_saving_import_no_qt(tmp_path):
    code = f"""
import sys, genviz
run = genviz.Run("flow", seed=0, layers=2, batch=64).train(30)
run.metrics["loss"]; run.final_metrics(); run.save({str(tmp_path / 'f.genviz')!r})
again = genviz.open_session({str(tmp_path / 'f.genviz')!r}).train(5)
print(again.step, sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'qasync')))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["35", "[]"]


def test_a_saved_run_opens_in_the_window_and_back_with_its_state_and_history(tmp_path):
    from genviz.core.session import load_session

    run = genviz.Run("manifold", seed=1, hidden=32).train(25)
    path = run.save(tmp_path / "m.genviz")
    session = load_session(path)
    assert session.step == 25 and session.lab == "manifold" and session.settings["hidden"] == 32
    assert session.history.metrics()["step"].tolist() == list(range(1, 26))
    again = genviz.open_session(path)
    assert again.step == 25 and again.settings == run.settings
    run.train(10)
    again.train(10)  # the same weights, optimiser and random streams: the same next steps
    assert np.array_equal(run.metrics["loss"][-10:], again.metrics["loss"][-10:])


def test_a_session_of_your_own_model_runs_its_code_only_when_named_again(tmp_path):
    spec = f"{ROOT / 'docs' / 'examples' / 'pixelcnn.py'}:make"
    run = genviz.Run("autoregressive", model_code=spec, batch=16).train(3)
    run.save(tmp_path / "mine.genviz")
    with pytest.raises(SettingError, match="name it again to run it"):
        genviz.open_session(tmp_path / "mine.genviz")
    again = genviz.open_session(tmp_path / "mine.genviz", model_code=spec)
    assert again.step == 3 and again.static["your_model"].startswith("SmallPixelCNN")


def test_labs_presets_and_help():
    assert {"gan", "manifold", "flow", "diffusion"} <= set(genviz.labs())
    names = [p.name for p in genviz.presets("gan")]
    assert "gan-mode-collapse-ring" in names and all(p.lab == "gan" for p in genviz.presets("gan"))
    text = genviz.describe("gan")
    assert "loss = 'nonsat'  [minimax | nonsat | lsgan | wgan | wgan-gp | hinge]" in text
    assert "  lr_g = 0.001  [1e-06 to 1, live]  generator learning rate (Adam)" in text.splitlines()
    assert "genviz.describe" in genviz.Run.__doc__ and "Run" in dir(genviz)
    trained = genviz.Run.from_preset("gan-mode-collapse-ring")  # ships a trained state: opens at it
    assert trained.step > 0 and trained.title == "Mode collapse on the ring" and len(trained.history) > 0
    fresh = genviz.Run.from_preset("gan-mode-collapse-ring", from_scratch=True)
    assert fresh.step == 0 and fresh.settings == trained.settings


def test_images_and_animations_of_the_labs_own_views(qtbot, tmp_path):
    run = genviz.Run("gan", seed=0, batch=64).train(30, frame_every=10)
    views = run.views()
    assert views[0] == "samples" and "lab" in views
    image = run.image()  # the main view, now
    assert image.size[0] > 800 and image.mode == "RGB"
    assert np.asarray(image).std() > 10  # drawn, not blank
    assert run.image("losses", width=400).size[0] == 400
    assert run.image("samples", step=10).size == image.size
    with pytest.raises(Exception, match="no view 'nope' in the gan lab; views: samples"):
        run.image("nope")
    gif = run.animate("samples", fps=5, width=300, path=tmp_path / "a.gif")
    from PIL import Image

    assert gif.frames == 4 and Image.open(tmp_path / "a.gif").n_frames == 4  # steps 0, 10, 20, 30
    assert gif.data[:6] == b"GIF89a" and "data:image/gif;base64," in gif._repr_html_()
    assert "step 30" in run._repr_html_() and "data:image/png;base64," in run._repr_html_()


def test_the_notebook_figure_keeps_to_its_rate_and_share(monkeypatch):
    """In Jupyter, train updates one displayed picture in place at most 5 times a second and spends at most a
    tenth of the time drawing it (measured here with a stand-in for IPython's display)."""
    import time

    from genviz import api

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(time.perf_counter())

    monkeypatch.setattr(api, "_in_notebook", lambda: True)
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=False: Handle())
    run = genviz.Run("gan", seed=0, batch=64)
    drawn = []
    real = api._NotebookFigure.update

    def timed(self, *args):
        t = time.perf_counter()
        real(self, *args)
        drawn.append(time.perf_counter() - t)

    monkeypatch.setattr(api._NotebookFigure, "update", timed)
    t0 = time.perf_counter()
    run.train(1500)
    total = time.perf_counter() - t0
    gaps = np.diff(shown[:-1])  # the last one is train's closing picture
    assert len(shown) >= 2 and (gaps >= 1 / api.NOTEBOOK_HZ - 1e-3).all()  # (>= 1 update while training)
    assert sum(drawn) <= 0.1 * total + 0.5  # within its share (and the first picture)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_example_notebooks_run(path, tmp_path, monkeypatch):
    """Each example notebook in docs/notebooks runs top to bottom, headless, in an IPython shell in this process
    (cell by cell, as a kernel runs them; a Jupyter kernel over ZeroMQ timed out under CPU load on this machine),
    without an error, and its picture cells give pictures."""
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(tmp_path)
    notebook = nbformat.read(path, as_version=4)
    # IPython's shell puts its own module in sys.modules["__main__"] (one without __spec__, which multiprocessing's
    # spawn then cannot start a worker from): the test's own is put back after
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    shell = InteractiveShell.instance()
    shell.reset()
    pictures = 0
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            result = shell.run_cell(cell.source, silent=False, store_history=False)
            assert result.success, f"{path.name}: {cell.source[:80]!r} raised {result.error_in_exec!r}"
            pictures += hasattr(result.result, "_repr_html_") or type(result.result).__name__ == "Image"
    finally:
        shell.reset()
        InteractiveShell.clear_instance()
    assert pictures >= 1
