"""The one way to run an experiment: build it from a config, advance it step by step, take its
metric rows, snapshots and checkpoints, record what the GUI records.

The worker process (``genviz.core.engine.Worker``), ``genviz train``/``export`` (``headless``), every
benchmark and the tests use it, so a step is counted and guarded against non-finite losses in one
place (``Experiment.advance``). This module imports torch only when a runner is built: the GUI can
import what it needs from the core without paying for torch.
"""
from __future__ import annotations

import time
from typing import Callable

from genviz.core.protocol import EngineConfig, Frame


def build_experiment(config: EngineConfig):
    """The lab's experiment (or ``config.experiment_ref``) with the config's settings, seed, device
    and data, continuing from ``config.state`` when it holds one."""
    from genviz.core.experiment import pick_device
    from genviz.core.labs import get_lab, import_object

    lab = get_lab(config.lab)
    cls = import_object(config.experiment_ref or lab.experiment)
    settings, data = data_for(lab, dict(config.settings), config.data)
    extra = {}
    if config.model_code is not None:
        from genviz.core.model_code import checked_for

        extra["model_code"] = checked_for(lab, config.model_code)
    exp = cls(settings, seed=config.seed, device=pick_device(config.device), data=data, **extra)
    if config.state is not None:
        restore_state(exp, config.state)
    for name, value in config.view.items():
        exp.set_view(name, value)
    return exp


def data_for(lab, settings: dict, data: str | None) -> tuple[dict, str | None]:
    """Where ``data`` (--data) goes, the same for every reader: a points lab's is its ``data`` setting (as the
    window does); an images lab reads it where its LabInfo's ``data_applies`` says. Refused with the reason where
    nothing would read it (diffusion and inference once trained on their built-in data and exited 0)."""
    from genviz.core.settings import SettingError, resolve

    if data is None:
        return settings, data
    spec = next((s for s in lab.settings if s.name == "data"), None)
    if lab.data_kind == "points" and spec is None:
        raise SettingError(f"--data does nothing here: the {lab.name} lab has its own data (no data setting)")
    if lab.data_kind == "points":
        if "data" in settings and settings["data"] != data:
            raise SettingError(f"--data {data!r} and the setting data={settings['data']!r} disagree: give one")
        values = resolve(lab.settings, {**settings, "data": data})
        why = spec.inapplicable(values)
        if why is not None:
            raise SettingError(f"--data does nothing here: the {lab.name} lab's {why}")
        return {**settings, "data": data}, None
    values = resolve(lab.settings, settings)
    for name, allowed in lab.data_applies:
        if values.get(name) not in allowed:
            shown = " or ".join(repr(a) if a == "" else str(a) for a in allowed)
            raise SettingError(f"--data does nothing here: the {lab.name} lab reads it only when {name} is {shown} "
                               f"(now {values.get(name)!r})")
    return settings, data


def state_bytes(exp) -> bytes:
    """A checkpoint of ``exp`` as bytes (``torch.save`` of ``Experiment.state_dict``)."""
    from genviz.core.checkpoint import state_to_bytes

    return state_to_bytes(exp.state_dict())


def restore_state(exp, blob: bytes) -> None:
    """Put a checkpoint back, read without executing code (a hostile blob is refused)."""
    from genviz.core.checkpoint import state_from_bytes

    exp.load_state_dict(state_from_bytes(blob, "saved training state"))


def columns(rows: list[tuple[int, dict]]) -> dict:
    """Metric rows -> {"step": int64[n], name: float64[n]} (cheap to pickle, easy to append to curves)."""
    buffer = RowBuffer()
    for step, metrics in rows:
        buffer.append(step, metrics)
    return buffer.take()


class RowBuffer:
    """Metric rows kept as columns while they come (a row without a metric of the others has NaN there):
    ``take`` then makes each column one array. Taking 500 rows of dicts apart at each snapshot cost the
    cheapest labs' workers 3 % of their time (the EM page: 15,000 steps/s, py-spy)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.steps: list[int] = []
        self.cols: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.steps)

    def append(self, step: int, metrics: dict) -> None:
        cols = self.cols
        if metrics.keys() != cols.keys():  # a new or a missing metric: NaN where a row has none
            n = len(self.steps)
            for name in cols.keys() - metrics.keys():
                cols[name].append(float("nan"))
            for name in metrics.keys() - cols.keys():
                cols[name] = [float("nan")] * n
        self.steps.append(step)
        for name, value in metrics.items():
            cols[name].append(value)

    def take(self) -> dict:
        """{"step": int64[n], name: float64[n]} for the rows since the last take (names sorted), or {}."""
        import numpy as np

        if not self.steps:
            return {}
        out = {"step": np.array(self.steps, dtype=np.int64)}
        for name in sorted(self.cols):
            values = self.cols[name]
            try:
                out[name] = np.array(values, dtype=np.float64)
            except (TypeError, ValueError):  # a value numpy does not read as one number (a 0-d tensor reads)
                out[name] = np.array([float(v) for v in values], dtype=np.float64)
            if out[name].shape != (len(self.steps),):
                out[name] = np.array([float(v) for v in values], dtype=np.float64)
        self.clear()
        return out


class Runner:
    """An experiment and what running it produces. ``step`` raises ``NonFiniteLoss`` (the step is
    not counted and the model keeps its last good state); any other exception is the lab's."""

    def __init__(self, config: EngineConfig, set_threads: bool = True):
        import torch

        from genviz.core.experiment import ViewRandomness

        if set_threads:
            torch.set_num_threads(max(1, int(config.torch_threads)))
        self.config = config
        self.exp = build_experiment(config)
        # views sample from their own stream, so a run with snapshots takes the steps of one without
        self.view_random = ViewRandomness(config.seed, self.exp.device)
        self.rows = RowBuffer()  # the metric rows since the last take_rows

    @property
    def step_count(self) -> int:
        return self.exp.step_count

    def step(self, part: str | None = None, args: dict | None = None) -> dict:
        """One counted step, or one of the lab's partial steps (``Experiment.PARTS``), its metric row recorded."""
        metrics = self.exp.advance() if part is None else self.exp.advance(part, **(args or {}))
        self.rows.append(self.exp.step_count, metrics)
        return metrics

    def query(self, name: str, **kwargs):
        """The experiment's answer, drawing any random numbers from the views' stream, never training's. Only
        the base's queries (save, metrics, check) and those the lab declares (``Experiment.QUERIES``) are asked."""
        if name not in ("save", "metrics", "check") and name not in self.exp.QUERIES:
            raise KeyError(f"the {self.exp.LAB.name if self.exp.LAB else type(self.exp).__name__} lab declares no "
                           f"query '{name}' (Experiment.QUERIES)")
        with self.view_random:
            return self.exp.query(name, **kwargs)

    def take_rows(self) -> dict:
        """The metric rows since the last call, as columns."""
        return self.rows.take()

    def snapshot(self, heavy: bool) -> dict:
        with self.view_random:
            return self.exp.snapshot(heavy=heavy)

    def frame(self) -> Frame:
        return Frame(self.exp.step_count, self.snapshot(heavy=True), True)

    def state(self) -> bytes:
        return state_bytes(self.exp)

    def restore(self, blob: bytes) -> None:
        self.rows.clear()
        restore_state(self.exp, blob)

    def static_info(self) -> dict:
        return self.exp.static_info()

    def train(self, steps: int, *, history=None, frame_every: int = 0, checkpoint_every: int = 0,
              progress: Callable[[int, float, dict], None] | None = None) -> str | None:
        """Advance ``steps`` steps. With a ``history``: a frame at the start and every
        ``frame_every`` steps (and at the end), a checkpoint at the start and every
        ``checkpoint_every`` steps, and every metric row. ``progress(step, seconds, metrics)`` is
        called after each step. Returns None, or why training stopped early (a non-finite loss)."""
        from genviz.core.experiment import NonFiniteLoss

        t0 = time.perf_counter()
        if history is not None:
            self._record(history, checkpoint=True)
        stopped = None
        for _ in range(steps):
            try:
                metrics = self.step()
            except NonFiniteLoss as exc:
                stopped = str(exc)
                break
            n = self.exp.step_count
            if history is not None:
                if frame_every and n % frame_every == 0:
                    self._record(history)
                if checkpoint_every and n % checkpoint_every == 0:
                    history.add_checkpoint(n, self.state())
            if progress is not None:
                progress(n, time.perf_counter() - t0, metrics)
        if history is not None and self.rows:
            self._record(history)
        return stopped

    def _record(self, history, checkpoint: bool = False) -> None:
        history.add_rows(self.take_rows())
        frame = self.frame()
        history.add_frame(frame.step, frame.data)
        if checkpoint:
            history.add_checkpoint(self.exp.step_count, self.state())


def session_problem(session) -> str | None:
    """Why ``session``'s recorded frames cannot be drawn by its lab (None: they can): its experiment is built from the
    session (settings, seed, data and saved state, so a bad state is found too) and the kinds and dimensions of
    every value of every frame are checked against a frame of the lab's own. Every reader of sessions checks
    here before a panel draws anything (a crafted frame of flattened arrays once crashed ``genviz export``);
    the window does the same through its worker's ``prepare``."""
    from genviz.core.protocol import frame_signature, signature_mismatch

    # a model of the user's own code: its weights fit only that code, which a check never runs; the lab's own
    # model gives the frames' signature (a watched run, genviz.watch, holds no state at all)
    state = None if getattr(session, "model_code", None) else session.state
    try:
        runner = Runner(EngineConfig(lab=session.lab, settings=dict(session.settings), seed=session.seed,
                                     data=session.data, device="cpu", state=state), set_threads=False)
        with runner.view_random:
            own = frame_signature(runner.exp.snapshot(heavy=True))
    except Exception as exc:  # noqa: BLE001 - any failure to build it is the answer
        return f"its run cannot be built: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    frames: dict = {}
    for frame in session.history.frames:
        frames.update(frame_signature(frame.data))
    why = signature_mismatch(frames, own)
    return None if why is None else f"this is not a session of the {session.lab} lab as genviz draws it: {why}"


def check_session_files(paths: list[str], labs: tuple[str, ...] | None = None) -> dict[str, str]:
    """{path: why} for each session file that cannot be read or drawn (for a process of its own: a GUI that
    never imports torch checks a comparison's sessions this way)."""
    import torch

    from genviz.core.session import SessionError, load_session

    torch.set_num_threads(1)
    problems = {}
    for path in paths:
        try:
            why = session_problem(load_session(path, labs))
        except SessionError as exc:
            why = str(exc)
        if why is not None:
            problems[str(path)] = why
    return problems
