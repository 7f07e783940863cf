"""What crosses the queue between the GUI (or a script) and the training worker, as small typed
classes: the run's configuration, the commands, the events and the snapshot envelope.

A reader can follow a snapshot from :class:`genviz.core.engine.Worker` (which builds it) through
:meth:`genviz.core.engine.Engine.poll` (which drops one of a replaced generation) to the window,
which records it in the :class:`genviz.core.history.History` and hands it to the lab's panel as
metric rows (:meth:`LabPanel.extend_curves`) and a :class:`Frame` (:meth:`LabPanel.show_frame`).

Everything here is plain data: picklable (the process engine sends it through multiprocessing
queues) and free of torch and Qt, so the GUI can import it before torch loads.

A snapshot's ``data`` and an event's ``static`` hold only: numpy arrays, Python numbers, bools,
strings, None, and lists, tuples and dicts (string or int keys) of those. Sessions store exactly these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class EngineConfig:
    """Everything that decides a run: what a Reset builds."""

    lab: str
    settings: dict = field(default_factory=dict)
    seed: int = 0
    device: str = "auto"
    data: str | None = None
    snapshot_hz: float = 30.0
    # heavy snapshots (evaluation passes) may take at most this share of the worker's time
    heavy_share: float = 0.1
    # and come at most this often: views like the decoded manifold need no more to look live
    heavy_hz: float = 10.0
    torch_threads: int = 1
    # "module:Class" overriding the lab's experiment (tests use it to inject faults)
    experiment_ref: str | None = None
    # bumped by every reset and restore, so output of a replaced state can be told apart and dropped
    generation: int = 0
    # a training state (Experiment.state_dict bytes) to continue from instead of step 0: a session
    state: bytes | None = None
    # checkpoints for "Resume from here": every this many seconds of training (and at step 0) ...
    checkpoint_seconds: float = 10.0
    # ... or, when > 0, every this many steps (deterministic: tests and scripts)
    checkpoint_steps: int = 0
    # the lab's view-only choices (Experiment.VIEW) that differ from their defaults
    view: dict = field(default_factory=dict)
    # a user's own model (``--model-code``): {"spec": "FILE.py:factory" or "module:factory", "sha256": of the file,
    # "family": the LabInfo.user_model it implements}. The worker imports it: a config carries it only when the
    # user named the code (command line) or confirmed it (window), never from a session alone
    model_code: dict | None = None
    # a worker process lowers its scheduling priority by this much (os.nice): several runs sharing the
    # cores (the compare view) then leave the GUI thread its turn
    nice: int = 0


# -- commands: client -> worker -----------------------------------------------------------------------
@dataclass(frozen=True)
class Play:
    """Train; with ``until`` > 0, pause on reaching that step (a preset's prediction asks its question there)."""

    until: int = 0


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Step:
    """n training steps; with ``part``, n of the lab's partial steps (``Experiment.PARTS``: the GAN's lone D or
    G update, the Gibbs chains' half step) with ``args``: counted, recorded and checkpointed like any step."""

    n: int = 1
    part: str | None = None
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Speed:
    """Cap training at this many steps/s (0 = as fast as possible)."""

    steps_per_sec: float = 0.0


@dataclass(frozen=True)
class Reset:
    """Build a new experiment from this config (a new generation)."""

    config: EngineConfig


@dataclass(frozen=True)
class Restore:
    """Put a checkpoint of the running experiment back ("Resume from here"), as a new generation."""

    generation: int
    state: bytes


@dataclass(frozen=True)
class SetSetting:
    name: str
    value: Any


@dataclass(frozen=True)
class SetView:
    """A view-only choice (``Experiment.VIEW``): what snapshots show, not how training goes."""

    name: str
    value: Any


@dataclass(frozen=True)
class Query:
    """Ask the experiment something between steps: ``Experiment.query`` for the base's ``save`` and
    ``metrics`` and the queries the lab declares (``Experiment.QUERIES``). The answer is a Reply with
    this ``id``."""

    id: int
    name: str
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Prepare:
    """The engine's verb: build the experiment ``config`` describes beside the running one (which goes on
    untouched) and check that it can show ``frames`` (a session's frame signature); kept for the next Reset."""

    id: int
    config: EngineConfig
    frames: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TakeState:
    """The engine's verb: the running experiment's checkpoint (bytes), for a session file."""

    id: int


@dataclass(frozen=True)
class Quit:
    pass


Command = Union[Play, Pause, Step, Speed, Reset, Restore, SetSetting, SetView, Query, Prepare, TakeState, Quit]


# -- events: worker -> client -------------------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    """A (re)built experiment: its static info (what does not change while it trains)."""

    generation: int
    device: str
    settings: dict
    seed: int
    static: dict
    step: int
    cuda_available: bool = False
    cuda_name: str | None = None


@dataclass(frozen=True)
class State:
    running: bool
    step: int


@dataclass(frozen=True)
class NonFinite:
    """Training paused: the step ``step`` had non-finite metrics; the model is the last good one."""

    step: int
    metrics: dict


@dataclass(frozen=True)
class Error:
    where: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class SettingApplied:
    name: str
    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    generation: int
    step: int
    state: bytes


@dataclass(frozen=True)
class Restored:
    generation: int
    step: int
    settings: dict


@dataclass(frozen=True)
class Reply:
    id: int
    ok: bool
    value: Any = None
    error: str | None = None


Event = Union[Ready, State, NonFinite, Error, SettingApplied, Checkpoint, Restored, Reply]
# events that belong to one generation: dropped by the client once a reset or restore replaced it
GENERATION_EVENTS = (Ready, Checkpoint, Restored)


# -- the snapshot envelope ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """The worker's view of the run at ``step``. ``metrics``: the metric rows since the previous
    snapshot as columns (``{"step": int64[n], name: float64[n]}``). ``data``: what the lab's views
    draw (``Experiment.snapshot``); a ``heavy`` one ran the evaluation passes and is what the
    timeline records."""

    generation: int
    step: int
    running: bool
    steps_per_sec: float
    heavy: bool
    metrics: dict
    data: dict
    device: str = "cpu"
    sent_at: float = 0.0

    @property
    def frame(self) -> "Frame | None":
        return Frame(self.step, self.data, self.heavy) if self.data else None


@dataclass(frozen=True)
class Frame:
    """What a panel draws: a lab's view data at one step (live, or recorded in the history)."""

    step: int
    data: dict
    heavy: bool = True


# -- what a frame looks like ----------------------------------------------------------------------------
def frame_signature(data: Any, prefix: str = "") -> dict[str, tuple[str, int]]:
    """What a snapshot's data looks like, key by key: (kind, ndim) for arrays, (type name, 0) else.
    Nested dicts are flattened with dotted keys. Used to refuse a session whose frames belong to
    another lab (or another version of this one) before its lab's panel tries to draw them."""
    out: dict[str, tuple[str, int]] = {}
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(frame_signature(value, name + "."))
        elif hasattr(value, "ndim") and hasattr(value, "dtype"):
            out[name] = ("array", int(value.ndim))
        else:
            kind = "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__
            out[name] = (kind, 0)
    return out


def signature_mismatch(session: dict, lab: dict) -> str | None:
    """Why frames of signature ``session`` cannot be a frame of signature ``lab`` (None: they can)."""
    unknown = sorted(set(session) - set(lab))
    if unknown:
        return f"its frames hold {', '.join(unknown[:4])}{' …' if len(unknown) > 4 else ''}, which this lab never shows"
    for key, sig in session.items():
        if lab[key] != sig and not (sig[0] == "NoneType" or lab[key][0] == "NoneType"):
            return f"its frames hold '{key}' as {sig[0]} of {sig[1]} dimensions; this lab draws {lab[key][0]} of {lab[key][1]}"
    return None
