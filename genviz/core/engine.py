"""The training engine: one interface, a worker thread or a worker process behind it.

The worker owns the experiment and runs its training loop; the caller (the GUI, a benchmark, a
test) sends commands and polls for events and snapshots. Nothing here imports Qt or torch, so the
GUI can start without paying for ``import torch`` (the worker process pays it instead).

Why a process by default: on CPU a training thread holds the GIL through Python overhead and starves
the GUI (REFERENCE.md: thread 90 steps/s at 181 ms p99 timer lateness vs process 178 steps/s at
3 ms). ``genviz bench manifold`` measures both on the lab itself.

Snapshot flow control is credit based: the worker sends a snapshot only when the consumer has taken
the previous one and the rate cap allows, and builds it at that moment, so what arrives is always
the latest state and at most one snapshot is ever in flight (latest wins, nothing queues up).
"""
from __future__ import annotations

import itertools
import math
import multiprocessing as mp
import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass
class EngineConfig:
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


def default_torch_threads() -> int:
    """Leave one core to the GUI: on this 2-core machine the worker gets one thread."""
    return max(1, (os.cpu_count() or 2) - 1)


def _build_experiment(config: EngineConfig):
    from genviz.core.experiment import pick_device
    from genviz.core.labs import get_lab, import_object
    from genviz.core.settings import resolve

    lab = get_lab(config.lab)
    cls = import_object(config.experiment_ref or lab.experiment)
    settings = resolve(lab.settings, config.settings)
    exp = cls(settings, seed=config.seed, device=pick_device(config.device), data=config.data)
    if config.state is not None:
        restore_state(exp, config.state)
    return exp


def restore_state(exp, blob: bytes) -> None:
    from genviz.core.checkpoint import state_from_bytes

    exp.load_state_dict(state_from_bytes(blob, "saved training state"))


def state_bytes(exp) -> bytes:
    from genviz.core.checkpoint import state_to_bytes

    return state_to_bytes(exp.state_dict())


def _device_info() -> dict:
    import torch

    info = {"cuda_available": bool(torch.cuda.is_available()), "cuda_name": None}
    if info["cuda_available"]:
        info["cuda_name"] = torch.cuda.get_device_name(0)
    return info


def _is_finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def worker_main(config: EngineConfig, commands, events, snapshots, credit, stop) -> None:
    """The worker loop, shared by the thread and process engines. Never raises: every failure is
    reported as an ("error", ...) event and the worker waits for the next command."""
    try:
        import torch

        torch.set_num_threads(max(1, int(config.torch_threads)))
    except Exception:  # pragma: no cover - torch missing is reported by the build below
        pass

    exp = None
    view_random = None
    running = False
    pending = 0
    metric_rows: list[tuple[int, dict]] = []
    step_times: list[float] = []
    last_send = 0.0
    last_heavy = 0.0
    heavy_cost = 0.0
    want_heavy = True
    max_rate = 0.0  # steps/s cap set by the speed control (0 = as fast as possible)
    next_step_at = 0.0
    train_time = 0.0  # seconds spent training since the last checkpoint

    def checkpoint() -> None:
        nonlocal train_time
        train_time = 0.0
        try:
            events.put(("checkpoint", {"generation": config.generation, "step": exp.step_count,
                                       "state": state_bytes(exp)}))
        except Exception as exc:
            report_error("writing a checkpoint", exc)

    def report_error(where: str, exc: BaseException) -> None:
        events.put(("error", {"where": where, "message": f"{type(exc).__name__}: {exc}",
                              "traceback": traceback.format_exc()}))

    def build(cfg: EngineConfig) -> None:
        nonlocal exp, running, pending, want_heavy, metric_rows, step_times, view_random
        from genviz.core.experiment import ViewRandomness

        exp = None
        running, pending = False, 0
        metric_rows, step_times = [], []
        try:
            exp = _build_experiment(cfg)
            view_random = ViewRandomness(cfg.seed, exp.device)
            static = exp.static_info()
            events.put(("ready", {"generation": cfg.generation, "device": str(exp.device), "settings": dict(exp.settings),
                                  "seed": cfg.seed, "static": static, "step": exp.step_count, **_device_info()}))
        except Exception as exc:
            report_error("building the experiment", exc)
        want_heavy = True
        events.put(("state", {"running": False, "step": exp.step_count if exp else 0}))
        if exp is not None:
            checkpoint()

    build(config)
    while not stop.is_set():
        idle = exp is None or (not running and pending == 0)
        try:
            cmd = commands.get(timeout=0.05) if idle else commands.get_nowait()
        except queue.Empty:
            cmd = None
        while cmd is not None:
            op = cmd[0]
            if op == "quit":
                return
            if op == "play" and exp is not None:
                running = True
                events.put(("state", {"running": True, "step": exp.step_count}))
            elif op == "pause":
                running, pending = False, 0
                want_heavy = True
                events.put(("state", {"running": False, "step": exp.step_count if exp else 0}))
            elif op == "speed":
                max_rate = max(0.0, float(cmd[1]))
            elif op == "step" and exp is not None:
                pending += int(cmd[1])
            elif op == "reset":
                config = cmd[1]
                build(config)
            elif op == "restore" and exp is not None:
                # "Resume from here": the checkpoint's state replaces the current one, same experiment
                config = replace(config, generation=cmd[1])
                running, pending, metric_rows = False, 0, []
                try:
                    restore_state(exp, cmd[2])
                    events.put(("restored", {"generation": config.generation, "step": exp.step_count,
                                             "settings": dict(exp.settings)}))
                except Exception as exc:
                    report_error("restoring a checkpoint", exc)
                want_heavy = True
                events.put(("state", {"running": False, "step": exp.step_count}))
            elif op == "set" and exp is not None:
                name, value = cmd[1], cmd[2]
                try:
                    exp.set_setting(name, value)
                    events.put(("setting", {"name": name, "value": exp.settings.get(name)}))
                except Exception as exc:
                    events.put(("setting", {"name": name, "error": f"{type(exc).__name__}: {exc}"}))
                want_heavy = True
            elif op == "query":
                qid, name, kwargs = cmd[1], cmd[2], cmd[3]
                try:
                    if exp is None:
                        raise RuntimeError("no experiment is loaded")
                    # the training state, for session files: every lab has it
                    value = state_bytes(exp) if name == "state" else exp.query(name, **kwargs)
                    events.put(("reply", {"id": qid, "ok": True, "value": value}))
                except Exception as exc:
                    events.put(("reply", {"id": qid, "ok": False,
                                          "error": f"{type(exc).__name__}: {exc}"}))
            try:
                cmd = commands.get_nowait()
            except queue.Empty:
                cmd = None

        may_step = pending > 0 or max_rate <= 0
        if exp is not None and running and not may_step:
            wait = next_step_at - time.perf_counter()
            if wait > 0:
                time.sleep(min(wait, 0.02))  # short naps keep commands and snapshots responsive
            may_step = wait <= 0.02
            if may_step:
                next_step_at = max(next_step_at, time.perf_counter() - 0.1) + 1.0 / max_rate
        if exp is not None and (running or pending > 0) and may_step:
            t_step = time.perf_counter()
            try:
                metrics = exp.train_step()
            except Exception as exc:
                running, pending = False, 0
                report_error(f"training step {exp.step_count + 1}", exc)
                events.put(("state", {"running": False, "step": exp.step_count}))
                want_heavy = True
                continue
            if not all(_is_finite(v) for v in metrics.values()):
                # the experiment refused the update (guarded_update), so the state is the last good one
                running, pending = False, 0
                bad = {k: float(v) for k, v in metrics.items()}
                events.put(("nan", {"step": exp.step_count + 1, "metrics": bad}))
                events.put(("state", {"running": False, "step": exp.step_count}))
                want_heavy = True
            else:
                exp.step_count += 1
                metric_rows.append((exp.step_count, metrics))
                now = time.perf_counter()
                train_time += now - t_step
                if (exp.step_count % config.checkpoint_steps == 0 if config.checkpoint_steps > 0
                        else train_time >= config.checkpoint_seconds):
                    checkpoint()
                step_times.append(now)
                if len(step_times) > 512 or (step_times and now - step_times[0] > 2.0):
                    del step_times[: max(1, len(step_times) - 256)]
                if pending > 0:
                    pending -= 1
                    if pending == 0 and not running:
                        want_heavy = True

        now = time.perf_counter()
        if exp is not None and credit.is_set() and (want_heavy or now - last_send >= 1.0 / config.snapshot_hz):
            since = now - last_heavy
            heavy = want_heavy or (since * config.heavy_share >= heavy_cost and since >= 1.0 / config.heavy_hz)
            t0 = time.perf_counter()
            try:
                with view_random:
                    data = exp.snapshot(heavy=heavy)
            except Exception as exc:
                report_error("building a snapshot", exc)
                running, pending = False, 0
                data = {}
            t1 = time.perf_counter()
            if heavy:
                heavy_cost, last_heavy, want_heavy = t1 - t0, t1, False
            sps = 0.0
            if len(step_times) >= 2 and step_times[-1] - step_times[0] > 0 and (running or pending):
                sps = (len(step_times) - 1) / (step_times[-1] - step_times[0])
            snap = {"generation": config.generation, "step": exp.step_count, "running": running or pending > 0, "steps_per_sec": sps,
                    "heavy": heavy, "metrics": _columns(metric_rows), "data": data,
                    "device": str(exp.device), "sent_at": time.time()}
            metric_rows = []
            credit.clear()
            snapshots.put(snap)
            last_send = t1


def _columns(rows: list[tuple[int, dict]]) -> dict:
    """Metric rows -> {"step": [...], name: [...]} (cheap to pickle, easy to append to curves)."""
    import numpy as np

    if not rows:
        return {}
    names = sorted({k for _, m in rows for k in m})
    out = {"step": np.array([s for s, _ in rows], dtype=np.int64)}
    for k in names:
        out[k] = np.array([float(m.get(k, float("nan"))) for _, m in rows], dtype=np.float64)
    return out


class Engine:
    """Commands in, events and snapshots out. Subclasses decide where the worker runs."""

    kind = "abstract"

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.config: EngineConfig | None = None

    # -- lifecycle (subclasses) ---------------------------------------------------------------
    def start(self, config: EngineConfig) -> None:
        raise NotImplementedError

    def close(self, timeout: float = 1.0) -> bool:
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        raise NotImplementedError

    # -- commands --------------------------------------------------------------------------
    def _send(self, *cmd) -> None:
        self._commands.put(cmd)

    def play(self) -> None:
        self._send("play")

    def pause(self) -> None:
        self._send("pause")

    def step(self, n: int = 1) -> None:
        self._send("step", int(n))

    def set_speed(self, steps_per_sec: float) -> None:
        """Cap training speed (0 = unlimited), so a lecture can watch learning in slow motion."""
        self._send("speed", float(steps_per_sec))

    def reset(self, config: EngineConfig | None = None) -> None:
        generation = (self.config.generation if self.config else 0) + 1
        # a plain Reset starts from step 0, not from the session state the run was opened with
        self.config = replace(config or replace(self.config, state=None), generation=generation)
        self._send("reset", self.config)

    def set_setting(self, name: str, value: Any) -> None:
        self.config = replace(self.config, settings={**self.config.settings, name: value})
        self._send("set", name, value)

    def restore(self, state: bytes) -> None:
        """Continue from a checkpoint of the running experiment: snapshots, checkpoints and metric
        rows of the replaced course are dropped (a new generation), and training pauses."""
        self.config = replace(self.config, generation=self.config.generation + 1, state=None)
        self._send("restore", self.config.generation, state)

    def query(self, name: str, **kwargs) -> int:
        qid = next(self._ids)
        self._send("query", qid, name, kwargs)
        return qid

    # -- results ---------------------------------------------------------------------------
    def poll(self) -> tuple[list[tuple[str, dict]], dict | None]:
        """All pending events, and the newest snapshot (or None). Never blocks."""
        evts = []
        while True:
            try:
                evts.append(self._events.get_nowait())
            except queue.Empty:
                break
            except (EOFError, OSError):
                break
        snap = None
        while True:
            try:
                snap = self._snapshots.get_nowait()
            except queue.Empty:
                break
            except (EOFError, OSError):
                break
        if snap is not None:
            self._credit.set()
            if self.config is not None and snap.get("generation") != self.config.generation:
                snap = None  # from the experiment a reset replaced: never draw it
        # events of a replaced generation (a reset or restore came after them) are dropped
        evts = [(k, p) for k, p in evts
                if k not in ("ready", "checkpoint", "restored") or p.get("generation") == self.config.generation]
        return evts, snap

    def wait_for(self, predicate, timeout: float = 30.0, interval: float = 0.01):
        """Poll until ``predicate(events, snapshot)`` returns a truthy value (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            evts, snap = self.poll()
            result = predicate(evts, snap)
            if result:
                return result
            time.sleep(interval)
        raise TimeoutError("the engine did not answer in time")


class ThreadEngine(Engine):
    """Worker in a Python thread of this process: no start-up cost, but it competes for the GIL."""

    kind = "thread"

    def start(self, config: EngineConfig) -> None:
        self.config = config
        self._commands, self._events, self._snapshots = queue.Queue(), queue.Queue(), queue.Queue()
        self._credit, self._stop = threading.Event(), threading.Event()
        self._credit.set()
        self._thread = threading.Thread(
            target=worker_main, name="genviz-worker", daemon=True,
            args=(config, self._commands, self._events, self._snapshots, self._credit, self._stop))
        self._thread.start()

    @property
    def alive(self) -> bool:
        return hasattr(self, "_thread") and self._thread.is_alive()

    def close(self, timeout: float = 1.0) -> bool:
        if not hasattr(self, "_thread"):
            return True
        self._stop.set()
        self._commands.put(("quit",))
        self._thread.join(timeout)
        return not self._thread.is_alive()


class ProcessEngine(Engine):
    """Worker in a separate process (spawned: safe with CUDA and with Qt in the parent)."""

    kind = "process"

    def start(self, config: EngineConfig) -> None:
        self.config = config
        ctx = mp.get_context("spawn")
        self._commands, self._events, self._snapshots = ctx.Queue(), ctx.Queue(), ctx.Queue()
        self._credit, self._stop = ctx.Event(), ctx.Event()
        self._credit.set()
        self._process = ctx.Process(
            target=_process_entry, name="genviz-worker", daemon=True,
            args=(config, self._commands, self._events, self._snapshots, self._credit, self._stop))
        self._process.start()

    @property
    def alive(self) -> bool:
        return hasattr(self, "_process") and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return getattr(getattr(self, "_process", None), "pid", None)

    def close(self, timeout: float = 1.0) -> bool:
        if not hasattr(self, "_process"):
            return True
        self._stop.set()
        try:
            self._commands.put(("quit",))
        except (ValueError, OSError):
            pass
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(0.5)
        if self._process.is_alive():  # pragma: no cover - last resort
            self._process.kill()
            self._process.join(0.5)
        for q in (self._commands, self._events, self._snapshots):
            q.cancel_join_thread()
            q.close()
        return not self._process.is_alive()


def _process_entry(config, commands, events, snapshots, credit, stop) -> None:
    # the worker must never block on exit waiting for the GUI to read what it left in the pipes
    for q in (events, snapshots):
        q.cancel_join_thread()
    # if the GUI dies without closing us (killed, crashed), stop instead of training forever
    parent = mp.parent_process()
    if parent is not None:
        def watch_parent():
            while not stop.is_set():
                if not parent.is_alive():
                    stop.set()
                    return
                time.sleep(0.25)

        threading.Thread(target=watch_parent, name="genviz-parent-watch", daemon=True).start()
    worker_main(config, commands, events, snapshots, credit, stop)


def make_engine(kind: str = "process") -> Engine:
    kind = (kind or "process").lower()
    if kind == "thread":
        return ThreadEngine()
    if kind == "process":
        return ProcessEngine()
    raise ValueError(f"unknown engine '{kind}' (process, thread)")
