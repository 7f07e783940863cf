"""Tiny experiments that misbehave on purpose, to test the engine's fault handling."""
import torch

from genviz.core.experiment import Experiment, guarded_update


class QuadraticExperiment(Experiment):
    """Minimises ||w||^2 by SGD; the loss turns NaN from step ``nan_at`` (if set)."""

    nan_at = None
    fail_at = None

    def __init__(self, settings, seed=0, device="cpu", data=None):
        super().__init__(settings, seed, device, data)
        self.w = torch.nn.Parameter(torch.ones(3))
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
