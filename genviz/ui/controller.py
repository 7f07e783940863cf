"""The controller: what the window's commands do to the run and the worker, and what the worker's
events do to the run. It owns the RunModel and the engine bridge and holds no widget: the window
(and the action modules) connect its signals to what they show.
"""
from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from genviz.core.engine import default_torch_threads
from genviz.core.labs import LabInfo
from genviz.core.run import RunModel
from genviz.core.settings import SettingError
from genviz.ui.engine_bridge import EngineBridge, QueryFailed


class Controller(QObject):
    ready = Signal(object, bool)  # the Ready event, and whether an opened session was continued
    snapshot = Signal(object, bool)  # a live Snapshot, and whether the timeline got a frame from it
    problem = Signal(str, str)  # something the user must notice: message, details
    note = Signal(str, int)  # a passing status message and how long it shows (ms)
    valuesChanged = Signal(str, dict)  # a lab's settings changed outside its form (preset, restore)
    restored = Signal(int)  # "Resume from here" took the checkpoint at this step
    offer = Signal(str, str, object)  # a problem with a way out: message, button label, callable
    lost = Signal(str)  # the worker died or hangs; the run (views, curves, history) is kept
    resetNeeded = Signal()  # an accepted change takes effect on a Reset (the window clears its views)

    def __init__(self, labs: dict[str, LabInfo], engine_kind: str = "process", snapshot_hz: float = 40.0,
                 parent=None, run: RunModel | None = None):
        super().__init__(parent)
        self.run = run if run is not None else RunModel(labs)
        self.snapshot_hz = snapshot_hz
        self.checkpoint_seconds = 10.0  # of training between checkpoints for "Resume from here"
        # EngineConfig fields over the window's (the compare view's runs: one torch thread, a lower priority)
        self.engine_options: dict = {}
        self.bridge = EngineBridge(engine_kind, parent=self)
        self.bridge.snapshot.connect(self._on_snapshot)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.state.connect(self._on_state)
        self.bridge.nonFinite.connect(self._on_nonfinite)
        self.bridge.error.connect(self._on_error)
        self.bridge.settingApplied.connect(self._on_setting_applied)
        self.bridge.checkpoint.connect(lambda e: self.run.history.add_checkpoint(e.step, e.state))
        self.bridge.restored.connect(self._on_restored)
        self.bridge.lost.connect(self._on_lost)
        self.bridge.slow.connect(self._on_slow)
        self.bridge.paced.connect(self._on_paced)
        self.lost_config = None  # the config of a lost worker's run, continued by recover()
        self.keep_live = None  # live settings to keep over a restored checkpoint's (a NaN recovery)
        self.nan_floor: int | None = None  # a NaN recovery went back to this step; the next goes further
        self._kept_tmp = tempfile.TemporaryDirectory(prefix="genviz-models-")
        self.kept_dir = Path(self._kept_tmp.name)

    @property
    def engine(self):
        return self.bridge.engine

    # -- commands ------------------------------------------------------------------------------------
    def engine_config(self, run: RunModel | None = None):
        options = {"torch_threads": default_torch_threads(), "checkpoint_seconds": self.checkpoint_seconds,
                   **self.engine_options}
        return (run or self.run).config(snapshot_hz=self.snapshot_hz, **options)

    async def attempt(self, change, what: str, lab: str | None = None) -> bool:
        """Try ``change(run)`` on a copy of the run, have the worker build what the copy's Reset
        would build (data, model, saved state) next to the running experiment, and only if that
        works apply ``change`` to the run. A refusal leaves the run and the worker as they were.
        ``what``: "open the session x", for the message; ``lab``: the lab the change opens (the
        current one by default)."""
        trial = self.run.trial()
        try:
            change(trial)
            trial.lab = lab or trial.lab
        except SettingError as exc:
            self.problem.emit(f"Could not {what}: {exc}", "")
            return False
        if self.bridge.healthy:
            frames = {}
            if trial.session is not None and trial.session.lab == trial.lab:
                from genviz.core.protocol import frame_signature

                for frame in trial.session.history.frames:
                    frames.update(frame_signature(frame.data))
            try:
                await self.bridge.prepare(self.engine_config(trial), frames)
            except QueryFailed as exc:
                self.problem.emit(f"Could not {what}: {exc}. Nothing was changed: the running model goes on.", "")
                return False
        change(self.run)
        return True

    def carry_data(self, name: str) -> str:
        """Give points lab ``name`` the open points lab's 2-D data set (its ``data`` setting) before it opens (File ▸
        Compare families…). Returns why not ("" when carried or when there is nothing to carry)."""
        run = self.run
        if not run.lab or name == run.lab or not (run._points(run.lab) and run._points(name)):
            return ""
        try:
            run.update(name, {"data": run.values_of(run.lab)["data"]})
        except SettingError as exc:  # data this lab cannot take: it opens with its own
            return f"{run.labs[name].title}: {exc}"
        return ""

    def open_lab(self, name: str, overrides: dict | None = None) -> tuple[str, tuple | None]:
        """Leave the current lab (its model kept, for labs that explore it) for lab ``name``: its settings (the
        command line's ``overrides`` the first time), the newest model kept for it, its own speed. Returns a
        problem with the overrides ("" when none: a bad one leaves the defaults) and the kept model it opened
        ((source lab, file, step), or None). The next :meth:`reset` builds it."""
        self.keep_model()
        run, problem = self.run, ""
        try:
            run.values_of(name, overrides)
        except SettingError as exc:
            problem = str(exc)
            run.values_of(name)
        kept = run.take_newest_kept_model(name)
        self.set_speed(run.labs[name].speed)
        run.lab = name
        return problem, kept

    def open_preset(self, preset) -> dict:
        """A lecture preset's settings, seed and data (its lab opens next); returns its settings."""
        return self.run.open_preset(preset)

    # -- the class's answers and Check this run (the run model keeps them) -------------------------------------
    def add_answer(self, record: dict) -> None:
        """A prediction answered (genviz.core.predict.answer_record), its reveal still to come."""
        self.run.answers = [*self.run.answers, dict(record)]

    def replace_answer(self, index: int, record: dict) -> None:
        """An answer revealed (or left unscored): ``run.answers[index]`` becomes ``record``."""
        answers = list(self.run.answers)
        answers[index] = dict(record)
        self.run.answers = answers

    def set_checked(self, step: int, verdicts: list[dict]) -> None:
        """Check this run's verdicts on the model at ``step`` (the cards mark the numbers they checked)."""
        self.run.checked_step = int(step)
        self.run.checked = list(verdicts)

    def set_preset(self, preset) -> None:
        """The preset the run came from (its shipped state opened as a session), or None: the user left it. Its
        predictions are asked afresh."""
        if preset is not None:
            self.run.answers_from = len(self.run.answers)
        self.run.preset = preset

    async def open_session(self, session, name: str = "the session") -> bool:
        """Take an opened session (settings, seed, data, views; its state and history continue at the next
        build) once the worker has built it next to the running run (:meth:`attempt`)."""
        return await self.attempt(lambda run: run.open_session(session), f"open {name}", lab=session.lab)

    async def use_data(self, ref: str | None) -> bool:
        """Image data for the next build (``None``: the embedded digits), once the worker has read it."""
        return await self.attempt(lambda run: setattr(run, "data", ref), f"use the data {ref or 'digits'}")

    async def use_model_code(self, code: dict | None) -> bool:
        """A user's own model (``genviz.core.model_code.named``: the user named or confirmed it), or None: the
        lab's own model. The worker builds the lab with it next to the running run first (a factory that raises,
        a wrong shape or a NaN is said in one line and changes nothing); then the next Reset uses it."""
        shown = code["spec"].rsplit("/", 1)[-1] if code else "the lab's own model"
        if not await self.attempt(lambda run: setattr(run, "model_code", code), f"use {shown}"):
            return False
        self.resetNeeded.emit()
        return True

    def start(self, state: bytes | None = None) -> None:
        """Build the run as it stands, continuing from ``state`` (its history and step as the run holds them;
        a run opened from a saved comparison) when given."""
        if state is not None:
            self.run.continue_here(state)
        else:
            self.run.session = None
        self.set_speed(self.run.labs[self.run.lab].speed)
        self.reset()

    def reset(self) -> None:
        """Build the current lab anew (or continue the opened session of this lab); after a lost
        worker, continue its run from its last checkpoint in a fresh worker."""
        if self.lost_config is not None and self.lost_config.lab == self.run.lab:
            self.recover()
        self.lost_config, self.nan_floor = None, None
        self.run.begin()
        self.run.running, self.run.steps_per_sec = False, 0.0
        self.bridge.start(self.engine_config())
        self.engine.set_speed(self.run.speed)

    def recover(self) -> int | None:
        """Put the lost worker's run back on its last checkpoint (the next build continues it);
        returns its step, or None when there was no checkpoint (the run starts over)."""
        config, self.lost_config = self.lost_config, None
        found = self.run.history.checkpoints[-1] if config is not None and self.run.history.checkpoints else None
        if found is None:
            return None
        step, blob = found
        self.run.continue_from(config, step, blob)
        self.valuesChanged.emit(self.run.lab, self.run.values_of(self.run.lab))
        return step

    @property
    def is_lost(self) -> bool:
        return self.bridge.lost_reason is not None

    def play(self, until: int = 0) -> None:
        """Train (the run shows it at once; the worker's word follows); with ``until``, pause on reaching that
        step (a preset's prediction is asked or revealed there)."""
        if self.engine and self.bridge.healthy:
            self.engine.play(until)
            self.run.running = True

    def pause(self) -> None:
        if self.engine:
            self.engine.pause()
        self.run.running = False

    def toggle_play(self) -> None:
        self.pause() if self.run.running else self.play()

    def step(self, n: int, part: str | None = None, args: dict | None = None) -> None:
        """n training steps, or n of the lab's partial steps ``part`` (Experiment.PARTS) with ``args``."""
        if self.run.running:
            self.pause()
        if self.engine and self.bridge.healthy:
            self.engine.step(n, part, args)

    def set_speed(self, steps_per_sec: float) -> None:
        self.run.speed = float(steps_per_sec)
        if self.engine:
            self.engine.set_speed(self.run.speed)

    def set_seed(self, seed: int) -> None:
        """The seed the next Reset uses."""
        self.run.seed = int(seed)

    def set_device(self, device: str) -> None:
        """Where the next Reset trains: auto, cpu or cuda."""
        self.run.device = str(device)

    def edit_setting(self, name: str, value, live: bool) -> None:
        """A value typed in the settings form (already parsed by its editor)."""
        self.run.values_of(self.run.lab)[name] = value
        if live and self.engine and self.bridge.healthy:
            self.engine.set_setting(name, value)
        elif not live:
            self.note.emit(f"'{name}' = {value} applies on Reset (Ctrl+R)", 5000)

    def apply_settings(self, changes: dict, reset: bool) -> bool:
        """Settings asked for by a panel (a preset, drawn data, a model file): parsed (a bad one
        changes nothing), sent live where possible; with ``reset`` the new run is first built next
        to the running one (:meth:`attempt`), which goes on untouched if that fails."""
        if reset:
            asyncio.ensure_future(self.apply_and_reset(changes))
            return True
        try:
            values = self.run.update(self.run.lab, changes)
        except SettingError as exc:
            self.problem.emit(str(exc), "")
            return False
        self.valuesChanged.emit(self.run.lab, values)
        if self.engine and self.bridge.healthy:
            for name in changes:
                self.engine.set_setting(name, values[name])
        return True

    async def apply_and_reset(self, changes: dict, what: str | None = None) -> bool:
        lab = self.run.lab
        shown = ", ".join(f"{k} = {str(v)[:80]}" for k, v in changes.items())
        if not await self.attempt(lambda run: run.update(lab, changes), what or f"use {shown}"):
            return False
        self.valuesChanged.emit(lab, self.run.values_of(lab))
        self.resetNeeded.emit()
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
        if lab is None or not lab.shares_model or not self.bridge.healthy or run.step <= 0:
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
        return self.resume_at(history.frames[max(0, min(index, len(history) - 1))].step)

    def resume_at(self, step: int) -> int | None:
        """Restart training from the checkpoint at or before ``step``; the later history goes."""
        history = self.run.history
        found = history.checkpoint_at_or_before(step)
        if found is None or self.engine is None or not self.bridge.healthy:
            self.problem.emit(f"No checkpoint at or before step {step:,} to resume from.", "")
            return None
        ck_step, blob = found
        self.pause()
        self.nan_floor = None
        self.engine.restore(blob)
        history.truncate_after(ck_step)
        self.run.step = ck_step
        note = "" if ck_step == step else f" (the nearest checkpoint to step {step:,})"
        self.note.emit(f"Resumed from the checkpoint at step {ck_step:,}{note}: press Play", 8000)
        return ck_step

    async def state(self) -> bytes:
        return await self.bridge.take_state()

    def lost_session(self):
        """The run of a lost worker as a Session: its last checkpoint and the history up to it (what
        a save or an autosave can still keep), or None without a checkpoint."""
        if not self.is_lost or not self.run.history.checkpoints:
            return None
        step, blob = self.run.history.checkpoints[-1]
        session = self.run.to_session(blob)
        session.step, session.history = step, self.run.history.copy_until(step)
        return session

    def close(self, timeout: float = 1.0) -> bool:
        return self.bridge.close(timeout)

    # -- the worker's events -----------------------------------------------------------------------------
    def _on_ready(self, info) -> None:
        run = self.run
        run.device_name = info.device
        run.cuda = (info.cuda_name or "CUDA") if info.cuda_available else ""
        run.static = info.static
        continued = run.session is not None and run.session.lab == run.lab
        run.session = None
        if continued:
            run.step = info.step
        self.ready.emit(info, continued)

    def _on_state(self, state) -> None:
        self.run.step = state.step
        self.run.running = bool(state.running)

    def _on_error(self, e) -> None:
        self.run.running = False
        self.problem.emit(f"Error while {e.where}: {e.message}", e.traceback)

    def _on_snapshot(self, snap) -> None:
        self.run.step = snap.step
        self.run.steps_per_sec = snap.steps_per_sec
        self.snapshot.emit(snap, self.run.history.record(snap))

    def _on_lost(self, reason: str) -> None:
        """The worker died or hangs: keep everything the window shows, and say how to go on."""
        engine = self.engine
        self.lost_config = engine.config if engine is not None else None
        self.run.running, self.run.steps_per_sec = False, 0.0
        found = self.run.history.checkpoints[-1] if self.run.history.checkpoints else None
        where = (f"from its last checkpoint (step {found[0]:,}) in a new worker" if found
                 else "from step 0 in a new worker (no checkpoint was taken yet)")
        self.lost.emit(f"The training worker {reason}. The views, curves and history are kept; Play or Reset "
                       f"continues {where}.")

    def _on_slow(self, seconds: float) -> None:
        """A busy machine starves the worker: say so (it is working, not hung) instead of stopping it."""
        if seconds > 0:
            self.note.emit(f"The machine is busy: the training worker has not answered for {seconds:.0f} s "
                           "(it is working, not hung)", 2500)
        else:
            self.note.emit("The training worker answers again", 1500)

    def _on_paced(self, slow: bool) -> None:
        self.note.emit("The machine is busy: the views take half their frames, so training keeps its speed" if slow
                       else "The views take every frame again", 2500)

    def _on_nonfinite(self, info) -> None:
        self.run.running = False
        bad = ", ".join(f"{k}={v:g}" for k, v in info.metrics.items())
        lab = self.run.labs[self.run.lab]
        rates = [s.name for s in lab.settings if s.live and s.name.startswith("lr")]
        values = self.run.values_of(self.run.lab)
        lower = " and ".join(f"{name} (now {values[name]:g})" for name in rates)
        # the kept parameters may already give a non-finite loss at any learning rate: go back to a
        # checkpoint before them, further back each time the same run diverges again
        limit = info.step - 1 if self.nan_floor is None else self.nan_floor - 1
        found = self.run.history.checkpoint_at_or_before(limit) if limit >= 0 else None
        text = (f"Training paused: the loss became non-finite at step {info.step} ({bad}); the model is kept at its "
                f"last good state (step {info.step - 1}).")
        if found is None:
            self.problem.emit(f"{text} {'Lower ' + lower + ', then' if lower else 'Change the settings, then'} "
                              f"press Reset to start over.", "")
            return
        step = found[0]
        advice = f"Lower {lower} in Settings, then go" if lower else "Go"
        self.offer.emit(f"{text} {advice} back to the checkpoint at step {step:,} and press Play (your settings "
                        f"are kept).", f"Go back to step {step:,}", lambda: self.go_back_to(step))

    def go_back_to(self, step: int) -> None:
        """After a divergence: continue from the checkpoint at ``step`` with the current settings."""
        if self.resume_at(step) is not None:
            self.nan_floor = step
            self.keep_live = dict(self.run.values_of(self.run.lab))

    def _on_setting_applied(self, info) -> None:
        if info.error is not None:
            self.problem.emit(f"Setting '{info.name}' was not applied: {info.error}", "")

    def _on_restored(self, info) -> None:
        self.run.step = info.step
        keep, self.keep_live = self.keep_live, None
        if keep is not None:  # a NaN recovery: the user's (lowered) rates win over the checkpoint's
            lab = self.run.labs[self.run.lab]
            for spec in lab.settings:
                if spec.live and spec.name in keep and info.settings.get(spec.name) != keep[spec.name]:
                    self.engine.set_setting(spec.name, keep[spec.name])
            return
        self.valuesChanged.emit(self.run.lab, self.run.take_restored(info.settings))

