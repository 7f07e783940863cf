"""Tiny experiments that misbehave on purpose, to test the engine's fault handling; genviz's own labs."""
import torch

from genviz.core.experiment import Experiment, guarded_update
from genviz.core.labs import all_labs


def own_labs() -> dict:
    """genviz's own labs: rules of genviz's quality (a README example, a thumbnail) bind these, not a plugin
    lab someone installed beside genviz (the contract, genviz.testing, binds every lab)."""
    return {name: lab for name, lab in all_labs().items() if lab.experiment.startswith("genviz.labs.")}


class QuadraticExperiment(Experiment):
    """Minimises ||w||^2 by SGD; the loss turns NaN from step ``nan_at`` (if set)."""

    nan_at = None
    fail_at = None
    QUERIES = {"w": {}, "steps": {}}

    def __init__(self, settings, seed=0, device="cpu", data=None):
        super().__init__(settings, seed, device, data)
        self.model = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(3))})  # checkpoints hold it
        self.w = self.model["w"]
        self.opt = torch.optim.SGD([self.w], lr=0.05)

    def train_step(self):
        if self.fail_at is not None and self.step_count + 1 >= self.fail_at:
            raise ValueError("deliberate failure in train_step")
        loss = (self.w ** 2).sum()
        if self.nan_at is not None and self.step_count + 1 >= self.nan_at:
            loss = loss * float("nan")
        guarded_update(loss, self.opt, [self.w])
        return {"loss": float(loss.detach())}

    def snapshot(self, heavy):
        # no view data: these experiments stand in for a lab's model inside the lab's own panel
        return {}

    def query(self, name, **kwargs):
        if name == "w":
            return self.w.detach().tolist()
        if name == "steps":
            return self.step_count
        return super().query(name, **kwargs)


class NanAt6(QuadraticExperiment):
    nan_at = 6


class FailAt3(QuadraticExperiment):
    fail_at = 3


def run_until(loop, condition, timeout: float = 30.0) -> None:
    """Let the app's loop (see conftest: qasync's, running on Qt's event loop) and Qt work until
    condition() holds; ``loop`` is that loop (kept for the callers' readability)."""
    import time

    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        QApplication.processEvents()
        time.sleep(0.005)


def complete(awaitable, timeout: float = 60.0):
    """The result of a coroutine run on the app's loop while Qt processes events."""
    import asyncio

    task = asyncio.ensure_future(awaitable)
    run_until(None, task.done, timeout)
    return task.result()


def open_window(qtbot, lab: str = "manifold", engine: str = "thread", overrides: dict | None = None, **kwargs):
    """A real window on ``lab`` (small model, checkpoints every 0.3 s), shown, its lab built."""
    from genviz.ui import theme
    from genviz.ui.main_window import MainWindow

    theme.apply_theme("light", font_scale=1.0, line_scale=1.0)
    w = MainWindow(engine_kind=engine, lab=lab, overrides={"hidden": 32} if overrides is None else overrides, **kwargs)
    w.controller.checkpoint_seconds = 0.3
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.run.static != {}, timeout=90000)
    return w


def train_until(qtbot, w, frames: int = 6, checkpoints: int = 3) -> None:
    """Play until the history holds ``frames`` snapshots and ``checkpoints`` checkpoints, then pause."""
    w.training.play()
    qtbot.waitUntil(lambda: len(w.run.history) >= frames and len(w.run.history.checkpoints) >= checkpoints, timeout=90000)
    w.training.pause()
    qtbot.waitUntil(lambda: not w.bar.play_button.isChecked(), timeout=5000)
    qtbot.wait(200)


class BrokenPanel:
    """A lab panel that raises while being built (a plugin's bug)."""

    def __init__(self, lab, parent=None):
        raise RuntimeError("deliberate failure building the panel")
