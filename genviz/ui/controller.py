"""The controller: what the window's commands do to the run and the worker, and what the worker's
events do to the run. It owns the RunModel and the engine bridge and holds no widget: the window
(and the action modules) connect its signals to what they show.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from genviz.core.engine import default_torch_threads
from genviz.core.labs import LabInfo
from genviz.core.run import RunModel
from genviz.core.settings import SettingError
from genviz.ui.engine_bridge import EngineBridge


class Controller(QObject):
    ready = Signal(object, bool)  # the Ready event, and whether an opened session was continued
    snapshot = Signal(object, bool)  # a live Snapshot, and whether the timeline got a frame from it
    running = Signal(bool)  # training started or stopped (the worker's word)
    problem = Signal(str, str)  # something the user must notice: message, details
    note = Signal(str, int)  # a passing status message and how long it shows (ms)
    valuesChanged = Signal(str, dict)  # a lab's settings changed outside its form (preset, restore)
    restored = Signal(int)  # "Resume from here" took the checkpoint at this step

    def __init__(self, labs: dict[str, LabInfo], engine_kind: str = "process", snapshot_hz: float = 40.0,
                 parent=None):
        super().__init__(parent)
        self.run = RunModel(labs)
        self.snapshot_hz = snapshot_hz
        self.checkpoint_seconds = 10.0  # of training between checkpoints for "Resume from here"
        self.speed = 0.0
        self.steps_per_sec = 0.0
        self.device_name = "starting…"
        self.bridge = EngineBridge(engine_kind, parent=self)
        self.bridge.snapshot.connect(self._on_snapshot)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.state.connect(self._on_state)
        self.bridge.nonFinite.connect(self._on_nonfinite)
        self.bridge.error.connect(lambda e: (self.running.emit(False),
                                             self.problem.emit(f"Error while {e.where}: {e.message}", e.traceback)))
        self.bridge.settingApplied.connect(self._on_setting_applied)
        self.bridge.checkpoint.connect(lambda e: self.run.history.add_checkpoint(e.step, e.state))
        self.bridge.restored.connect(self._on_restored)
        self._kept_tmp = tempfile.TemporaryDirectory(prefix="genviz-models-")
        self.kept_dir = Path(self._kept_tmp.name)

    @property
    def engine(self):
        return self.bridge.engine


    # -- commands ------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Build the current lab anew (or continue the opened session of this lab)."""
        self.run.begin()
        self.steps_per_sec = 0.0
        self.bridge.start(self.run.config(snapshot_hz=self.snapshot_hz, torch_threads=default_torch_threads(),
                                          checkpoint_seconds=self.checkpoint_seconds))
        self.engine.set_speed(self.speed)

    def play(self) -> None:
        if self.engine:
            self.engine.play()

    def pause(self) -> None:
        if self.engine:
            self.engine.pause()

    def step(self, n: int) -> None:
        if self.engine:
            self.engine.step(n)

    def set_speed(self, steps_per_sec: float) -> None:
        self.speed = float(steps_per_sec)
        if self.engine:
            self.engine.set_speed(self.speed)

    def edit_setting(self, name: str, value, live: bool) -> None:
        """A value typed in the settings form (already parsed by its editor)."""
        self.run.values_of(self.run.lab)[name] = value
        if live and self.engine:
            self.engine.set_setting(name, value)
        elif not live:
            self.note.emit(f"'{name}' = {value} applies on Reset (Ctrl+R)", 5000)

    def apply_settings(self, changes: dict, reset: bool) -> bool:
        """Settings asked for by a panel (a preset, drawn data): parsed (a bad one changes nothing),
        sent live where possible, and a Reset when asked for."""
        try:
            values = self.run.update(self.run.lab, changes)
        except SettingError as exc:
            self.problem.emit(str(exc), "")
            return False
        self.valuesChanged.emit(self.run.lab, values)
        if reset:
            self.reset()
        elif self.engine:
            for name in changes:
                self.engine.set_setting(name, values[name])
        return True

    def set_view(self, name: str, value) -> None:
        """A panel's view-only choice: kept in the run (and so in sessions), sent to the worker."""
        self.run.view_of(self.run.lab)[name] = value
        if self.engine:
            self.engine.set_view(name, value)

    async def ask(self, name: str, **kwargs):
        return await self.bridge.ask(name, **kwargs)

    def keep_model(self) -> None:
        """Leaving a lab that shares its model: the worker saves it (before it builds the next lab,
        as commands run in order) so labs that explore a trained model can open it."""
        run = self.run
        lab = run.labs.get(run.lab) if run.lab else None
        if lab is None or not lab.shares_model or self.engine is None or run.step <= 0:
            return
        path = self.kept_dir / f"{lab.name}.pt"
        path.unlink(missing_ok=True)
        self.engine.query("save", path=str(path))
        run.kept_models[lab.name] = (str(path), run.step)

    def resume_from(self, index: int) -> int | None:
        """Restart training from the checkpoint at or before frame ``index``; the later history
        goes. Returns the checkpoint's step (None: nothing to resume from)."""
        history = self.run.history
        if not len(history) or self.engine is None:
            return None
        step = history.frames[max(0, min(index, len(history) - 1))].step
        found = history.checkpoint_at_or_before(step)
        if found is None:
            self.problem.emit(f"No checkpoint at or before step {step:,} to resume from.", "")
            return None
        ck_step, blob = found
        self.pause()
        self.engine.restore(blob)
        history.truncate_after(ck_step)
        self.run.step = ck_step
        note = "" if ck_step == step else f" (the nearest checkpoint to step {step:,})"
        self.note.emit(f"Resumed from the checkpoint at step {ck_step:,}{note}: press Play", 8000)
        return ck_step

    async def state(self) -> bytes:
        return await self.bridge.ask("state")

    def close(self, timeout: float = 1.0) -> bool:
        return self.bridge.close(timeout)

    # -- the worker's events -----------------------------------------------------------------------------
    def _on_ready(self, info) -> None:
        run = self.run
        self.device_name = info.device
        run.static = info.static
        continued = run.session is not None and run.session.lab == run.lab
        run.session = None
        if continued:
            run.step = info.step
        self.ready.emit(info, continued)

    def _on_state(self, state) -> None:
        self.run.step = state.step
        self.running.emit(state.running)

    def _on_snapshot(self, snap) -> None:
        self.run.step = snap.step
        self.steps_per_sec = snap.steps_per_sec
        self.snapshot.emit(snap, self.run.history.record(snap))

    def _on_nonfinite(self, info) -> None:
        self.running.emit(False)
        bad = ", ".join(f"{k}={v:g}" for k, v in info.metrics.items())
        self.problem.emit(
            f"Training paused: the loss became non-finite at step {info.step} ({bad}). The model is kept "
            f"at its last good state (step {info.step - 1}). Try a lower learning rate, or Reset.", "")

    def _on_setting_applied(self, info) -> None:
        if info.error is not None:
            self.problem.emit(f"Setting '{info.name}' was not applied: {info.error}", "")

    def _on_restored(self, info) -> None:
        self.run.step = info.step
        self.valuesChanged.emit(self.run.lab, self.run.take_restored(info.settings))

