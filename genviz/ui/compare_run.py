"""One run of the compare view: a run model and its controller, as the main window has them (``Run``), and
the dialog that adds a run with other settings or another seed."""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QSpinBox

from genviz.core.history import History
from genviz.core.labs import LabInfo, all_labs
from genviz.core.protocol import EngineConfig
from genviz.core.run import RunModel
from genviz.core.session import Session
from genviz.core.settings import SettingError, parse_assignments, resolve
from genviz.ui import theme
from genviz.ui.controller import Controller
from genviz.ui.engine_bridge import QueryFailed

WORKER_NICE = 10  # the runs' workers yield the cores to the GUI thread (four workers share two cores)


class Run(QObject):
    """One run of the comparison: a run model and its controller, as the main window has (settings, seed, view
    choices, history; the worker, its recovery and its sessions), and a name and status in the comparison."""

    snapshot = Signal(object, bool)  # the Snapshot, whether the history got a frame from it
    readyChanged = Signal()
    problem = Signal(str)

    def __init__(self, lab: LabInfo, settings: dict, seed: int = 0, data: str | None = None,
                 history: History | None = None, static: dict | None = None, state: bytes | None = None,
                 step: int = 0, name: str = "", status: str = "ok", error: str | None = None,
                 view: dict | None = None, parent=None, model_code: dict | None = None):
        super().__init__(parent)
        self.lab, self.name, self.status, self.error = lab, name, status, error
        try:
            values = resolve(lab.settings, settings)
        except SettingError:  # a failed run of a sweep: shown as it was given, never trained
            values = dict(settings)
        model = self.model = RunModel(
            {lab.name: lab}, lab=lab.name, values={lab.name: values}, views={lab.name: dict(view or {})}, seed=int(seed),
            data=data, history=history if history is not None else History(), static=dict(static or {}), step=int(step),
            model_code=model_code)
        self.controller = c = Controller(model.labs, "process", snapshot_hz=15.0, parent=self, run=model)
        c.engine_options = {"torch_threads": 1, "nice": WORKER_NICE}
        self.state = state  # what the worker continues from when it starts
        c.ready.connect(lambda *_: self.readyChanged.emit())
        c.snapshot.connect(self.snapshot.emit)
        c.problem.connect(lambda text, _details: self.problem.emit(f"{self.name}: {text}"))
        c.offer.connect(lambda text, _label, _act: self.problem.emit(f"{self.name}: {text}"))
        c.lost.connect(lambda text: self.problem.emit(f"{self.name}: {text}"))

    @classmethod
    def from_session(cls, session: Session, name: str = "", parent=None, trusted: bool = False) -> "Run":
        """``trusted``: the session's model code (if any) was confirmed by the user (the main window's own run);
        otherwise a run of a user's model (a sweep folder's, a saved comparison's) shows what it recorded (its
        timeline and curves) and never trains: no code runs from a folder."""
        if session.model_code and not trusted:
            return cls(all_labs()[session.lab], session.settings, session.seed, session.data, session.history,
                       session.static, None, session.step, name or session.title, status="recorded",
                       error=f"recorded only: {str(session.model_code.get('spec')).replace(os.sep, '/').rsplit('/', 1)[-1]}"
                             " runs from the main window", view=session.view, parent=parent)
        return cls(all_labs()[session.lab], session.settings, session.seed, session.data, session.history,
                   session.static, session.state, session.step, name or session.title, view=session.view,
                   parent=parent, model_code=session.model_code if trusted else None)

    # the run model's fields, under the names the comparison uses
    settings = property(lambda self: self.model.values_of(self.lab.name))
    seed = property(lambda self: self.model.seed)
    data = property(lambda self: self.model.data)
    history = property(lambda self: self.model.history)
    static = property(lambda self: self.model.static)
    step = property(lambda self: self.model.step)
    steps_per_sec = property(lambda self: self.model.steps_per_sec)
    running = property(lambda self: self.model.running)
    view = property(lambda self: self.model.view_of(self.lab.name))

    @property
    def snapshot_hz(self) -> float:
        return self.controller.snapshot_hz

    @snapshot_hz.setter
    def snapshot_hz(self, hz: float) -> None:
        self.controller.snapshot_hz = float(hz)

    @property
    def bridge(self):
        """The worker's bridge while the run has a worker, else None."""
        bridge = self.controller.bridge
        return bridge if bridge.engine is not None else None

    @property
    def trainable(self) -> bool:
        return self.status not in ("failed", "recorded")

    def config(self) -> EngineConfig:
        return self.controller.engine_config()

    def start(self) -> None:
        """A worker of its own, building the run (continuing its saved state and history, if any)."""
        if self.bridge is not None or not self.trainable:
            return
        self.controller.start(self.state)

    @property
    def lost(self) -> bool:
        return self.bridge is not None and self.controller.is_lost

    def restart(self) -> bool:
        """A run whose worker died continues from its last checkpoint on a new worker (its history after that
        step goes: that future is gone). False without a checkpoint."""
        if not self.history.checkpoints:
            return False
        self.controller.reset()  # a lost worker's run: recovered from its last checkpoint
        return True

    def play(self, on: bool) -> None:
        if on and self.lost:
            self.restart()
        if on:
            self.start()
        if self.bridge is not None and self.bridge.healthy:
            self.controller.play() if on else self.controller.pause()

    async def session(self) -> Session:
        """The run as a Session (its settings, seed, data and view choices): its state now (asked of its worker),
        or, when the worker died or cannot answer, its last checkpoint with the history up to it (never the state
        it was opened with beside a later step: a dead worker's run once saved 'step 3,172' holding step 400's
        weights); an untrained run keeps the state it was opened with."""
        state, until = self.state, None
        if self.bridge is not None:
            try:
                if not self.bridge.healthy:
                    raise QueryFailed("the worker is gone")
                state = await self.controller.state()
            except QueryFailed:
                if self.history.checkpoints:
                    until, state = self.history.checkpoints[-1]
        session = self.model.to_session(state)
        if until is not None:
            session.step, session.history = until, self.history.copy_until(until)
        session.title, session.caption = self.name, ""
        return session

    def close(self) -> None:
        self.controller.close(0.5)


class AddRunDialog(QDialog):
    """Settings (name=value, ...) over the first run's, and a seed."""

    def __init__(self, lab: LabInfo, base: dict, seed: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add a run")
        self.lab, self.base = lab, base
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("e.g. lr_g=1e-4, loss=wgan-gp (empty: the first run's settings)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        self.seed.setValue(seed)
        self.message = QLabel()
        self.message.setTextFormat(Qt.PlainText)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.colors()['warn_fg']}")
        form = QFormLayout(self)
        form.addRow("Settings", self.edit)
        form.addRow("Seed", self.seed)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.result_settings: dict | None = None

    def _check(self) -> None:
        try:
            items = [p.strip() for p in self.edit.text().split(",") if p.strip()]
            changes = parse_assignments(items)
            self.result_settings = resolve(self.lab.settings, {**self.base, **changes})
        except SettingError as exc:
            self.message.setText(str(exc))
            return
        self.accept()
