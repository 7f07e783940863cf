"""The run the window shows, as plain data: which lab, its settings (parsed once, per lab), its view
choices, seed, device, data, the lecture preset it came from, the models kept from labs the user
left, and the run's history. It turns into the engine's config and into a Session, and back.

Pure core: no Qt, no torch. The controller (``genviz.ui.controller``) is its only writer; widgets observe it
(:meth:`RunModel.observe`: the toolbar shows whether it trains and the seed, device and speed a preset or
session set; the open panel whether it trains) and send their edits to the controller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from genviz.core.history import History
from genviz.core.labs import LabInfo
from genviz.core.presets import Preset
from genviz.core.protocol import EngineConfig
from genviz.core.session import Session
from genviz.core.settings import resolve


@dataclass
class RunModel:
    labs: dict[str, LabInfo]
    lab: str | None = None
    values: dict[str, dict] = field(default_factory=dict)  # per lab: the settings the next Reset uses
    views: dict[str, dict] = field(default_factory=dict)  # per lab: view-only choices (Experiment.VIEW)
    seed: int = 0
    device: str = "auto"
    data: str | None = None
    preset: Preset | None = None
    # a user's own model (EngineConfig.model_code) the user named or confirmed: it builds every lab of its family
    model_code: dict | None = None
    # models kept from labs the user left (lab -> (file, step)), for labs that explore them
    kept_models: dict[str, tuple[str, int]] = field(default_factory=dict)
    kept_used: dict[str, tuple[str, int]] = field(default_factory=dict)
    history: History = field(default_factory=History)
    static: dict = field(default_factory=dict)
    step: int = 0
    # an opened session, continued (state, history, views) when its lab is next built
    session: Session | None = None
    # the worker: whether it trains, steps per second asked for (0: as fast as it goes), reached, and the
    # device it trains on
    running: bool = False
    speed: float = 0.0
    steps_per_sec: float = 0.0
    device_name: str = "starting…"
    cuda: str = ""  # the CUDA device the worker found ("": none)
    # the class's answers to presets' predictions (genviz.core.predict.answer_record), this lecture's in order; the
    # current preset's round begins at ``answers_from`` (opening a preset asks its questions again)
    answers: list = field(default_factory=list)
    answers_from: int = 0
    # Check this run (genviz.core.checkrun): the verdicts of the last check, and the step they checked
    checked: list = field(default_factory=list)
    checked_step: int = -1
    _observers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def observe(self, name: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback(value)`` whenever field ``name`` takes a new value (a trial copy has no observers)."""
        if name not in self.__dataclass_fields__ or name.startswith("_"):
            raise AttributeError(f"RunModel has no field '{name}'")
        self._observers.setdefault(name, []).append(callback)

    def __setattr__(self, name: str, value: Any) -> None:
        observers = self.__dict__.get("_observers")
        watched = observers.get(name) if observers else None
        old = self.__dict__.get(name) if watched else None
        object.__setattr__(self, name, value)
        if watched and (type(old) is not type(value) or old != value):
            for callback in list(watched):
                callback(value)

    def trial(self) -> "RunModel":
        """A copy to try a change on (open a session, new data, new settings) before the run takes
        it: its tables are copied, so changing the copy leaves this run as it was."""
        from dataclasses import replace

        return replace(self, values={k: dict(v) for k, v in self.values.items()},
                       views={k: dict(v) for k, v in self.views.items()}, kept_models=dict(self.kept_models),
                       kept_used=dict(self.kept_used))

    def continue_from(self, config: EngineConfig, step: int, state: bytes) -> None:
        """Continue the run of ``config`` from its checkpoint at ``step`` (a lost worker's run):
        the history after it goes, and the next build continues from ``state``, as an opened session."""
        self.history.truncate_after(step)
        self.values[config.lab] = self.parse(config.lab, config.settings)
        self.views[config.lab] = dict(config.view)
        self.lab, self.seed, self.device, self.data = config.lab, config.seed, config.device, config.data
        self.session = Session(lab=config.lab, settings=dict(config.settings), seed=config.seed, data=config.data,
                               device=config.device, step=step, static=self.static, state=state,
                               history=self.history, view=dict(config.view), model_code=config.model_code)

    def continue_here(self, state: bytes) -> None:
        """The next build continues from ``state``, with the history and step the run holds (a saved run)."""
        self.session = Session(lab=self.lab, settings=dict(self.values_of(self.lab)), seed=self.seed, data=self.data,
                               device=self.device, step=self.step, static=self.static, state=state,
                               history=self.history, view=dict(self.view_of(self.lab)),
                               model_code=self.model_code_of(self.lab))

    # -- settings ---------------------------------------------------------------------------------
    def values_of(self, lab: str, overrides: dict | None = None) -> dict:
        """The lab's settings, its defaults with ``overrides`` parsed over them the first time
        (a SettingError names a bad one)."""
        if lab not in self.values:
            overrides = dict(overrides or {})
            if self.data and self._points(lab):
                overrides.setdefault("data", self.data)  # --data of a points lab is its data setting
            self.values[lab] = resolve(self.labs[lab].settings, overrides)
        return self.values[lab]

    def _points(self, lab: str) -> bool:
        """A lab whose data is its own ``data`` setting (2-D points), not the run's image data."""
        info = self.labs[lab]
        return info.data_kind == "points" and any(s.name == "data" for s in info.settings)

    def parse(self, lab: str, values: dict) -> dict:
        """``values`` over the lab's defaults, parsed (raises SettingError, changes nothing)."""
        return resolve(self.labs[lab].settings, values)

    def update(self, lab: str, changes: dict) -> dict:
        """Parse ``changes`` over the lab's current values and keep them (SettingError: nothing kept)."""
        values = self.parse(lab, {**self.values_of(lab), **changes})
        self.values[lab] = values
        return values

    def take_restored(self, settings: dict) -> dict:
        """The settings a restored checkpoint brought back (live ones may have changed since)."""
        names = {s.name for s in self.labs[self.lab].settings}
        self.values[self.lab].update({k: v for k, v in settings.items() if k in names})
        return self.values[self.lab]

    def view_of(self, lab: str) -> dict:
        return self.views.setdefault(lab, {})

    # -- the engine's config ------------------------------------------------------------------------
    def config(self, **engine: object) -> EngineConfig:
        """The config a Reset builds, continuing the opened session when it belongs to this lab."""
        state = self.session.state if self.session is not None and self.session.lab == self.lab else None
        values = self.values_of(self.lab)
        reads = not self._points(self.lab) and all(values.get(n) in allowed for n, allowed in
                                                   self.labs[self.lab].data_applies)
        return EngineConfig(lab=self.lab, settings=dict(values), seed=self.seed, device=self.device,
                            data=self.data if reads else None, state=state, view=dict(self.view_of(self.lab)),
                            model_code=self.model_code_of(self.lab), **engine)

    def model_code_of(self, lab: str) -> dict | None:
        """The user's model code when it is of ``lab``'s family (a VAE's builds the manifold, posterior and
        arithmetic labs), else None: the lab's own model."""
        code = self.model_code
        family = self.labs[lab].user_model if lab in self.labs else ""
        return dict(code) if code and family and code.get("family") == family else None

    def begin(self) -> None:
        """A Reset: step 0 and a new history, or the opened session's history when it is this lab's."""
        self.step = 0
        if self.session is not None and self.session.lab == self.lab:
            self.history = self.session.history
        else:
            self.session = None
            self.history = History()

    # -- sessions and presets --------------------------------------------------------------------------
    def to_session(self, state: bytes | None) -> Session:
        """The run as a Session (the history is copied: training may go on while it is written)."""
        return Session(lab=self.lab, settings=dict(self.values_of(self.lab)), seed=self.seed, data=self.data,
                       device=self.device, step=self.step, static=self.static, state=state,
                       history=History.from_payload(self.history.to_payload()), view=dict(self.view_of(self.lab)),
                       model_code=self.model_code_of(self.lab),
                       title=self.preset.title if self.preset else "",
                       caption=self.preset.caption if self.preset else "",
                       preset=self.preset.name if self.preset else "",
                       predictions=[dict(a) for a in self.answers if not self.preset or a["preset"] == self.preset.name])

    def open_session(self, session: Session) -> dict:
        """Take an opened session: its settings (parsed: SettingError changes nothing), seed, data
        and view; its state and history are used when its lab is built next. Returns the settings."""
        settings = dict(session.settings)
        if session.data and self._points(session.lab):
            settings["data"] = session.data  # a session of a points lab saved when --data carried its points
        values = self.parse(session.lab, settings)
        self.values[session.lab] = values
        self.views[session.lab] = dict(session.view)
        # (the caller had the user confirm a session's model code: it runs Python code)
        self.model_code = dict(session.model_code) if session.model_code else None
        self.data, self.seed, self.preset, self.session = session.data, session.seed, None, session
        if session.predictions:  # the class's answers go on in this run (and into its next save)
            self.answers_from = len(self.answers)
            self.answers = [*self.answers, *(dict(a) for a in session.predictions)]
        return values

    def open_preset(self, preset: Preset) -> dict:
        """Take a lecture preset: its settings over the defaults, seed and (for image labs) data."""
        values = preset.resolved_settings()
        self.values[preset.lab] = values
        if self.labs[preset.lab].data_kind == "images":
            self.data = preset.data
        self.seed, self.preset, self.session = preset.seed, preset, None
        self.answers_from = len(self.answers)  # its questions are asked afresh
        self.model_code = None  # a preset's lesson is measured on the lab's own model
        self.views[preset.lab] = {**self.views.get(preset.lab, {}), **preset.view}
        return values

    def round_answers(self) -> list[dict]:
        """The answers of the current preset's round (what its questions' progress is read from)."""
        name = self.preset.name if self.preset else None
        return [a for a in self.answers[self.answers_from:] if a.get("preset") == name]

    def take_newest_kept_model(self, lab: str) -> tuple[str, str, int] | None:
        """Opening a lab that explores a trained model: (source lab, file, step) of the newest kept
        model not opened in it yet; its ``model`` setting now names that file."""
        offers = self.kept_offers(lab)
        if not offers:
            return None
        src, (path, step) = next(iter(offers.items()))
        if self.kept_used.get(lab) == (path, step):
            return None
        self.values_of(lab)["model"] = path
        self.kept_used[lab] = (path, step)
        return src, path, step

    def kept_offers(self, lab: str) -> dict[str, tuple[str, int]]:
        return {src: self.kept_models[src] for src in self.labs[lab].model_from if src in self.kept_models}
