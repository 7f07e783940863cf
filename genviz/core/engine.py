"""The training engine: one interface, a worker thread or a worker process behind it.

The worker owns the experiment and runs its training loop; the caller (the GUI, a benchmark, a
test) sends commands and polls for events and snapshots. Nothing here imports Qt or torch, so the
GUI can start without paying for ``import torch`` (the worker process pays it instead).

Why a process by default: on CPU a training thread holds the GIL through Python overhead and starves
the GUI (docs/references.md, "GIL contention decides the engine's design"). ``genviz bench manifold``
measures both on the lab itself.

Faults: the worker never raises (every failure is an ``Error`` event). A worker process that dies (the
out-of-memory killer's SIGKILL, a crash in native code) or hangs is noticed by :meth:`Engine.health`:
the exit code or signal from the process, or a heartbeat (a shared timestamp a worker thread renews
every 0.1 s) older than :data:`HEARTBEAT_TIMEOUT` from a process that is stopped, has used no CPU for
:data:`HANG_TIMEOUT` or stayed silent for :data:`BUSY_LIMIT`; a silent worker whose CPU time advances
is only slow (``slow_for``: a busy machine). A Reset that replaces the running experiment is
first tried with the ``prepare`` query: the candidate is built (data, model, state) next to the
running one, which goes on untouched when the candidate is refused, and becomes the run on the
Reset that follows.

Snapshot flow control is credit based: the worker sends a snapshot only when the consumer has taken
the previous one and the rate cap allows, and builds it at that moment, so what arrives is always
the latest state and at most one snapshot is ever in flight (latest wins, nothing queues up).
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import replace
from typing import Any

import psutil

from genviz.core.protocol import (GENERATION_EVENTS, Checkpoint, EngineConfig, Error, NonFinite, Pause, Play, Prepare,
                                  Query, Quit, Ready, Reply, Reset, Restore, Restored, SetSetting, SettingApplied,
                                  SetView, Snapshot, Speed, State, Step, TakeState, frame_signature, signature_mismatch)

__all__ = ["Engine", "EngineConfig", "ProcessEngine", "ThreadEngine", "Worker", "default_torch_threads",
           "make_engine"]


def default_torch_threads() -> int:
    """Leave one core to the GUI: on this 2-core machine the worker gets one thread."""
    return max(1, (os.cpu_count() or 2) - 1)


HEARTBEAT_SECONDS = 0.1  # how often a worker process says it is alive
HEARTBEAT_TIMEOUT = 0.8  # silence after which the worker's process is looked at (stopped? using CPU?)
# A silent worker that is not stopped is slow, not hung, while its CPU time advances: a lecture laptop
# at load 7-12 (slides, a video call, screen recording) starves it for seconds (docs/references.md).
# It hangs when it has used no CPU for HANG_TIMEOUT seconds, or stayed silent for BUSY_LIMIT whatever it does.
HANG_TIMEOUT = 30.0
BUSY_LIMIT = 300.0
START_TIMEOUT = 120.0  # a spawned worker imports torch first: minutes on a loaded laptop is not a hang
SWITCH_INTERVAL = 0.0005  # seconds: the worker process's GIL switch interval (see _process_entry)
BURST_MIN, BURST_MAX = 0.002, 0.005  # seconds: the bounds of a burst of steps (Worker.burst_seconds)


def _config_key(config: EngineConfig) -> EngineConfig:
    return replace(config, generation=0)


def _device_info() -> dict:
    import torch

    info = {"cuda_available": bool(torch.cuda.is_available()), "cuda_name": None}
    if info["cuda_available"]:
        info["cuda_name"] = torch.cuda.get_device_name(0)
    return info


class Worker:
    """The training loop behind every engine, in three phases per turn: take the pending commands
    (:meth:`handle`), train a burst of steps if due (:meth:`train`: as many as fit in a few ms, one
    under the speed cap), send a snapshot if the consumer took the last one and the rate allows
    (:meth:`send_snapshot`). Never raises: every failure is an
    :class:`~genviz.core.protocol.Error` event, and the worker waits for the next command."""

    def __init__(self, config: EngineConfig, commands, events, snapshots, credit, stop):
        self.config = config
        self.commands, self.events, self.snapshots, self.credit, self.stop = commands, events, snapshots, credit, stop
        self.runner = None
        self.running = False
        self.pending = 0  # steps asked for by Step while paused
        self.until = 0  # Play(until): pause on reaching this step (0: play on)
        self.parts: list[tuple[str, dict]] = []  # partial steps asked for (Step with a part), in order
        self.step_times: list[float] = []
        self.last_send = self.last_heavy = self.heavy_cost = self.light_cost = 0.0
        self.want_heavy = True
        self.max_rate = 0.0  # steps/s cap set by the speed control (0 = as fast as possible)
        self.next_step_at = 0.0
        self.train_time = 0.0  # seconds spent training since the last checkpoint
        self.checkpoints_taken = 0  # since the build: the first few come sooner (1, 2, 4, 8 s of training)
        self.checkpoint_due = 1.0  # seconds of training after which the next checkpoint is taken
        self.non_finite = Exception  # NonFiniteLoss once the build imported torch (the engine itself does not)
        self.prepared = None  # (config key, Runner, torch RNG state): a candidate the prepare query built
        self.background_shown = False  # whether the last snapshot showed background work running

    # -- the loop -------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            import torch

            torch.set_num_threads(max(1, int(self.config.torch_threads)))
        except Exception:  # pragma: no cover - torch missing is reported by the build below
            pass
        self.build(self.config)
        while not self.stop.is_set():
            if not self.handle():
                return
            self.train()
            self.send_snapshot()

    @property
    def exp(self):
        return self.runner.exp if self.runner is not None else None

    @property
    def busy(self) -> bool:
        return self.runner is not None and (self.running or self.pending > 0 or bool(self.parts))

    def emit(self, event) -> None:
        self.events.put(event)

    def report_error(self, where: str, exc: BaseException) -> None:
        self.emit(Error(where, f"{type(exc).__name__}: {exc}", traceback.format_exc()))

    def pause(self) -> None:
        self.running, self.pending, self.want_heavy, self.until = False, 0, True, 0
        self.parts = []
        self.emit(State(False, self.exp.step_count if self.exp else 0))

    def build(self, config: EngineConfig) -> None:
        from genviz.core.experiment import NonFiniteLoss
        from genviz.core.runner import Runner

        self.non_finite = NonFiniteLoss

        self.config = config
        prepared, self.prepared = self.prepared, None
        self.runner, self.running, self.pending, self.step_times, self.parts = None, False, 0, [], []
        self.checkpoints_taken = 0
        try:
            if prepared is not None and prepared[0] == _config_key(config):
                import torch

                self.runner = prepared[1]  # built and checked by the prepare query just before
                torch.set_rng_state(prepared[2])
            else:
                prepared = None
                self.runner = Runner(config, set_threads=False)
            exp = self.runner.exp
            self.emit(Ready(config.generation, str(exp.device), dict(exp.settings), config.seed,
                            self.runner.static_info(), exp.step_count, **_device_info()))
        except Exception as exc:
            self.runner = None
            self.report_error("building the experiment", exc)
        self.want_heavy = True
        self.emit(State(False, self.exp.step_count if self.exp else 0))
        if self.runner is not None:
            self.checkpoint()

    def checkpoint(self) -> None:
        self.train_time = 0.0
        self.checkpoints_taken += 1
        # a lost worker (killed, out of memory) is continued from its last checkpoint: the first few
        # come after 1, 2, 4, 8 s of training, so a run lost early never starts over from its build
        self.checkpoint_due = min(self.config.checkpoint_seconds, 2.0 ** max(0, self.checkpoints_taken - 1))
        try:
            self.emit(Checkpoint(self.config.generation, self.exp.step_count, self.runner.state()))
        except Exception as exc:
            self.report_error("writing a checkpoint", exc)

    # -- phase 1: commands ------------------------------------------------------------------------------
    def handle(self) -> bool:
        """Apply every pending command (waiting briefly for one while idle). False: quit."""
        try:
            cmd = self.commands.get_nowait() if self.busy else self.commands.get(timeout=0.05)
        except queue.Empty:
            return True
        while cmd is not None:
            if isinstance(cmd, Quit):
                return False
            self.apply(cmd)
            try:
                cmd = self.commands.get_nowait()
            except queue.Empty:
                cmd = None
        return True

    def apply(self, cmd) -> None:
        exp = self.exp
        if isinstance(cmd, Reset):
            self.build(cmd.config)
        elif isinstance(cmd, Speed):
            self.max_rate = max(0.0, float(cmd.steps_per_sec))
        elif isinstance(cmd, Pause):
            self.pause()
        elif isinstance(cmd, (Query, Prepare, TakeState)):
            self.answer(cmd)
        elif exp is None:
            return  # nothing to play, step, restore or set until a build succeeds
        elif isinstance(cmd, Play):
            self.until = int(cmd.until)
            if self.until and exp.step_count >= self.until:
                self.until = 0
                self.pause()
                return
            self.running = True
            self.emit(State(True, exp.step_count))
        elif isinstance(cmd, Step):
            if cmd.part is None:
                self.pending += int(cmd.n)
            else:
                self.parts += [(str(cmd.part), dict(cmd.args))] * max(0, min(int(cmd.n), 1000))
        elif isinstance(cmd, Restore):
            # "Resume from here": the checkpoint's state replaces the current one, same experiment
            self.config = replace(self.config, generation=cmd.generation)
            self.running, self.pending, self.parts = False, 0, []
            try:
                self.runner.restore(cmd.state)
                self.emit(Restored(self.config.generation, exp.step_count, dict(exp.settings)))
            except Exception as exc:
                self.report_error("restoring a checkpoint", exc)
            self.want_heavy = True
            self.emit(State(False, exp.step_count))
        elif isinstance(cmd, (SetSetting, SetView)):
            try:
                if isinstance(cmd, SetView):
                    exp.set_view(cmd.name, cmd.value)
                    self.emit(SettingApplied(cmd.name, exp.view.get(cmd.name)))
                else:
                    exp.set_setting(cmd.name, cmd.value)
                    self.emit(SettingApplied(cmd.name, exp.settings.get(cmd.name)))
            except Exception as exc:
                self.emit(SettingApplied(cmd.name, error=f"{type(exc).__name__}: {exc}"))
            self.want_heavy = True

    def prepare(self, config: EngineConfig, frames: dict | None = None) -> dict:
        """Build the experiment a coming Reset asks for next to the running one, which is left
        untouched (its random streams too); raise if it cannot be built or cannot show ``frames``
        (a session's frame signature). On success it is kept for that Reset."""
        import torch

        from genviz.core.runner import Runner

        self.prepared = None
        with torch.random.fork_rng(devices=[]):
            runner = Runner(config, set_threads=False)
            if frames:
                with runner.view_random:
                    own = frame_signature(runner.exp.snapshot(heavy=True))
                why = signature_mismatch(frames, own)
                if why is not None:
                    raise ValueError(f"this is not a session of the {config.lab} lab as genviz draws it: {why}")
            rng = torch.get_rng_state()
        self.prepared = (_config_key(config), runner, rng)
        return {"step": runner.exp.step_count, "device": str(runner.exp.device)}

    def answer(self, cmd: Query | Prepare | TakeState) -> None:
        """A Reply to the request with ``cmd.id``: the engine's own verbs, or the experiment's query."""
        try:
            if isinstance(cmd, Prepare):
                self.emit(Reply(cmd.id, True, self.prepare(cmd.config, cmd.frames)))
                return
            if self.runner is None:
                raise RuntimeError("no experiment is loaded")
            value = self.runner.state() if isinstance(cmd, TakeState) else self.runner.query(cmd.name, **cmd.kwargs)
            self.emit(Reply(cmd.id, True, value))
        except Exception as exc:
            message = str(exc) if _is_input_error(exc) else f"{type(exc).__name__}: {exc}"
            self.emit(Reply(cmd.id, False, error=message))

    # -- phase 2: a burst of training steps ----------------------------------------------------------
    def burst_seconds(self) -> float:
        """How long a burst of steps may run before the worker looks at its commands and the snapshot
        again: a tenth of the snapshot period, within 2-5 ms (30 Hz: 3.3 ms). A step that takes longer
        is a burst of one. Pause, a setting or a query waits at most this long (plus the step it comes in)."""
        return min(BURST_MAX, max(BURST_MIN, 0.1 / max(1e-3, float(self.config.snapshot_hz))))

    def _bursting(self) -> bool:
        """Whether the next step may follow in the same burst: playing uncapped or stepping what Step
        asked for, with no partial step queued (those go one per turn, each checkpointed)."""
        return self.runner is not None and not self.parts and (
            self.pending > 0 or (self.running and self.max_rate <= 0))

    def train(self) -> None:
        """Train while the burst lasts: steps one after another without the per-turn work (the command
        queue, the snapshot's credit) between them, so the cheapest labs run at their headless speed.
        Play(until), Step(n) and the speed cap stay exact: each step is counted and checked on its own."""
        part = self.parts.pop(0) if self.parts and self.runner is not None else None
        if part is not None:
            self.train_one(part)
            return
        if not self.busy or not self._due():
            return
        end = time.perf_counter() + self.burst_seconds()
        while self.train_one(None) and self._bursting() and time.perf_counter() < end:
            pass

    def train_one(self, part: tuple[str, dict] | None) -> bool:
        """One step (or the partial step ``part``) with its bookkeeping; False: training stopped. The
        bookkeeping costs ~0.5 µs a step (the cheapest labs' steps take 50 µs)."""
        runner = self.runner
        exp = runner.exp
        t_step = time.perf_counter()
        try:
            runner.step(*part) if part is not None else runner.step()
        except self.non_finite as exc:
            # the experiment refused the update (guarded_update), so the state is the last good one
            self.running, self.pending, self.parts, self.want_heavy = False, 0, [], True
            self.emit(NonFinite(exc.step, exc.metrics))
            self.emit(State(False, exp.step_count))
            return False
        except Exception as exc:
            self.running, self.pending, self.parts, self.want_heavy = False, 0, [], True
            self.report_error(f"training step {exp.step_count + 1}" + (f" ({part[0]})" if part else ""), exc)
            self.emit(State(False, exp.step_count))
            return False
        if part is not None:  # a partial step: a checkpoint after it, so "Resume from here" restores it exactly
            self.checkpoint()
            self.want_heavy = True
            return True
        now = time.perf_counter()
        self.train_time += now - t_step
        every = self.config.checkpoint_steps
        if exp.step_count % every == 0 if every > 0 else self.train_time >= self.checkpoint_due:
            self.checkpoint()
        times = self.step_times
        times.append(now)
        if len(times) > 512 or now - times[0] > 2.0:
            del times[: max(1, len(times) - 256)]
        if self.pending > 0:
            self.pending -= 1
            if self.pending == 0 and not self.running:
                self.want_heavy = True
        if self.running and self.until and exp.step_count >= self.until:
            self.until = 0
            self.pause()  # Play(until): the step the window asks at, exactly
            return False
        return True

    def _due(self) -> bool:
        """Whether the speed cap allows a step now (short naps keep commands and snapshots responsive)."""
        if self.pending > 0 or self.max_rate <= 0:
            return True
        wait = self.next_step_at - time.perf_counter()
        if wait > 0:
            time.sleep(min(wait, 0.02))
        if wait > 0.02:
            return False
        self.next_step_at = max(self.next_step_at, time.perf_counter() - 0.1) + 1.0 / self.max_rate
        return True

    # -- phase 3: the snapshot -------------------------------------------------------------------------
    def send_snapshot(self) -> None:
        """Built only when the consumer took the previous one (credit) and the rate allows, so what
        arrives is the latest state and at most one snapshot is ever in flight. Building snapshots takes
        at most ``heavy_share`` of the worker's time, light and heavy ones together: a lab's costly light
        snapshots at most a third of it (each waits ``3 cost / heavy_share`` after the last snapshot),
        heavy ones the rest (each waits its cost over what is left). Two budgets of a share each let a
        lab whose every frame computes spend twice the share (DCGAN 14 %, the KL page 20 %)."""
        now = time.perf_counter()
        cfg = self.config
        if self.runner is None or not self.credit.is_set():
            return
        # paused: a snapshot after each change (pause, step, setting: they ask for a heavy one) and
        # while background work runs, then none (the same frame 20 times a second redrew the window)
        background = bool(getattr(self.exp, "background_busy", lambda: False)())
        if not (self.busy or self.want_heavy or background or self.background_shown):
            return
        if not (self.want_heavy or now - self.last_send >= 1.0 / cfg.snapshot_hz):
            return
        light_share = cfg.heavy_share / 3  # at most, for a lab whose light snapshots compute
        light_used = min(light_share, self.light_cost * cfg.snapshot_hz)
        since = now - self.last_heavy
        heavy = self.want_heavy or (since * (cfg.heavy_share - light_used) >= self.heavy_cost
                                    and since >= 1.0 / cfg.heavy_hz)
        if not heavy and (now - self.last_send) * light_share < self.light_cost:
            return  # a costly light snapshot (a lab whose every frame computes) keeps to its part of the share
        t0 = time.perf_counter()
        try:
            data = self.runner.snapshot(heavy)
        except Exception as exc:
            self.report_error("building a snapshot", exc)
            self.running, self.pending, self.parts = False, 0, []
            data = {}
        t1 = time.perf_counter()
        if heavy:
            self.heavy_cost, self.last_heavy, self.want_heavy = t1 - t0, t1, False
        else:
            self.light_cost = t1 - t0
        times, sps = self.step_times, 0.0
        if len(times) >= 2 and times[-1] - times[0] > 0 and self.busy:
            sps = (len(times) - 1) / (times[-1] - times[0])
        snap = Snapshot(cfg.generation, self.exp.step_count, self.busy, sps, heavy, self.runner.take_rows(), data,
                        str(self.exp.device), time.time())
        self.credit.clear()
        self.snapshots.put(snap)
        self.last_send = t1
        self.background_shown = background  # the snapshot after background work ends still goes


def _is_input_error(exc: BaseException) -> bool:
    from genviz.safeio import InputError

    return isinstance(exc, InputError)


def worker_main(config: EngineConfig, commands, events, snapshots, credit, stop) -> None:
    Worker(config, commands, events, snapshots, credit, stop).run()


class Engine:
    """Commands in, events and snapshots out. Subclasses decide where the worker runs."""

    kind = "abstract"

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.config: EngineConfig | None = None
        self.heard = False  # whether the worker has sent anything yet (it is past its start-up)
        self.slow_for = 0.0  # seconds a working worker has been silent (a busy machine), 0 when it answers
        # the consumer takes a snapshot at most this often (seconds; 0: as often as the worker sends):
        # the snapshot's credit goes back this long after the last one was taken
        self.frame_interval = 0.0
        self._taken_at, self._credit_owed = 0.0, False

    # -- lifecycle (subclasses) ---------------------------------------------------------------
    def start(self, config: EngineConfig) -> None:
        raise NotImplementedError

    def close(self, timeout: float = 1.0) -> bool:
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        raise NotImplementedError

    def health(self) -> str | None:
        """None while the worker works; else what happened to it, as the end of a sentence that
        starts "The training worker ..." (it exited, was killed by a signal, or hangs)."""
        return None if self.alive else "stopped"

    # -- commands --------------------------------------------------------------------------
    def send(self, cmd) -> None:
        self._commands.put(cmd)

    def play(self, until: int = 0) -> None:
        """Train; with ``until``, pause on reaching that step."""
        self.send(Play(int(until)))

    def pause(self) -> None:
        self.send(Pause())

    def step(self, n: int = 1, part: str | None = None, args: dict | None = None) -> None:
        """n steps, or n of the lab's partial steps ``part`` (``Experiment.PARTS``) with ``args``."""
        self.send(Step(int(n), part, dict(args or {})))

    def set_speed(self, steps_per_sec: float) -> None:
        """Cap training speed (0 = unlimited), so a lecture can watch learning in slow motion."""
        self.send(Speed(float(steps_per_sec)))

    def reset(self, config: EngineConfig | None = None) -> None:
        generation = (self.config.generation if self.config else 0) + 1
        # a plain Reset starts from step 0, not from the session state the run was opened with
        self.config = replace(config or replace(self.config, state=None), generation=generation)
        self.send(Reset(self.config))

    def set_setting(self, name: str, value: Any) -> None:
        self.config = replace(self.config, settings={**self.config.settings, name: value})
        self.send(SetSetting(name, value))

    def set_view(self, name: str, value: Any) -> None:
        self.config = replace(self.config, view={**self.config.view, name: value})
        self.send(SetView(name, value))

    def restore(self, state: bytes) -> None:
        """Continue from a checkpoint of the running experiment: snapshots, checkpoints and metric
        rows of the replaced course are dropped (a new generation), and training pauses."""
        self.config = replace(self.config, generation=self.config.generation + 1, state=None)
        self.send(Restore(self.config.generation, state))

    def query(self, name: str, **kwargs) -> int:
        """Send the experiment a query; the Reply carries the returned id."""
        qid = next(self._ids)
        self.send(Query(qid, name, kwargs))
        return qid

    def request(self, make) -> int:
        """Send the engine's own verb ``make(id)`` (Prepare, TakeState); the Reply carries the returned id."""
        qid = next(self._ids)
        self.send(make(qid))
        return qid

    # -- results ---------------------------------------------------------------------------
    def poll(self) -> tuple[list, Snapshot | None]:
        """All pending events, and the newest snapshot (or None). Never blocks. Snapshots and
        generation events of a replaced generation (a reset or restore came after them) are dropped."""
        evts = []
        while True:
            try:
                evts.append(self._events.get_nowait())
            except (queue.Empty, EOFError, OSError):
                break
        snap = None
        while True:
            try:
                snap = self._snapshots.get_nowait()
            except (queue.Empty, EOFError, OSError):
                break
        generation = self.config.generation if self.config is not None else None
        if evts or snap is not None:
            self.heard = True
        now = time.monotonic()
        if snap is not None:
            self._taken_at, self._credit_owed = now, True
            if generation is not None and snap.generation != generation:
                snap = None  # from the experiment a reset replaced: never draw it
        if self._credit_owed and now - self._taken_at >= self.frame_interval:
            self._credit_owed = False
            self._credit.set()
        evts = [e for e in evts if not isinstance(e, GENERATION_EVENTS) or e.generation == generation]
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
        self._commands.put(Quit())
        self._thread.join(timeout)
        return not self._thread.is_alive()


class ProcessEngine(Engine):
    """Worker in a separate process (spawned: safe with CUDA and with Qt in the parent)."""

    kind = "process"
    hang_timeout = HANG_TIMEOUT
    busy_limit = BUSY_LIMIT

    def start(self, config: EngineConfig) -> None:
        self.config = config
        ctx = mp.get_context("spawn")
        self._commands, self._events, self._snapshots = ctx.Queue(), ctx.Queue(), ctx.Queue()
        self._credit, self._stop = ctx.Event(), ctx.Event()
        self._beat = ctx.Value("d", 0.0, lock=False)  # time.monotonic() of the worker's last heartbeat
        self._credit.set()
        self._process = ctx.Process(
            target=_process_entry, name="genviz-worker", daemon=True,
            args=(config, self._commands, self._events, self._snapshots, self._credit, self._stop, self._beat))
        self._started_at = time.monotonic()
        self.slow_for = 0.0  # seconds the running worker has been silent while still working (a busy machine)
        self._cpu_seen: tuple[float, float] | None = None  # (its CPU seconds, when they last advanced)
        self._process.start()
        # the worker alone writes events and snapshots: with the parent's copies of those pipes'
        # write ends closed, a worker killed in the middle of a message leaves a reader that gets
        # EOFError instead of one that waits for ever for the rest (spawn passed the child its own
        # copies during start)
        for q in (self._events, self._snapshots):
            q._writer.close()

    def health(self) -> str | None:
        if not hasattr(self, "_process"):
            return "was never started"
        code = self._process.exitcode
        if code is not None:
            if code >= 0:
                return f"exited (code {code})"
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = " (the system may have run out of memory)" if -code == getattr(signal, "SIGKILL", 9) else ""
            return f"was killed by {name}{why}"
        beat, now = self._beat.value, time.monotonic()
        if beat == 0.0 or not self.heard:
            # starting: importing torch can hold the GIL (and so the heartbeat) for seconds
            if now - self._started_at > START_TIMEOUT:
                return f"did not start within {START_TIMEOUT:.0f} s"
            return None
        silence = now - beat
        if silence <= HEARTBEAT_TIMEOUT:
            self.slow_for, self._cpu_seen = 0.0, None
            return None
        status, cpu = _process_status(self._process.pid)
        if status in ("stopped", "tracing-stop"):
            return f"is stopped (SIGSTOP or a debugger) and has not answered for {silence:.1f} s (it hangs)"
        if self._cpu_seen is None or (cpu is not None and cpu > self._cpu_seen[0]):
            self._cpu_seen = (cpu if cpu is not None else 0.0, now)  # it works (or we cannot tell yet)
        idle = now - self._cpu_seen[1]
        if idle > self.hang_timeout or cpu is None and silence > self.hang_timeout:
            return f"has not answered for {silence:.1f} s and used no CPU for {idle:.0f} s (it hangs)"
        if silence > self.busy_limit:
            return f"has not answered for {silence:.0f} s while computing (it hangs)"
        self.slow_for = silence  # slow, not hung: the machine is busy
        return None

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
            self._commands.put(Quit())
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


def _process_status(pid: int) -> tuple[str | None, float | None]:
    """The worker process's state ("running", "sleeping", "stopped", ...) and its CPU seconds so
    far; None for what cannot be read (a platform or permission that refuses)."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            times = proc.cpu_times()
            return proc.status(), float(times.user + times.system)
    except (psutil.Error, OSError):
        return None, None


def _process_entry(config, commands, events, snapshots, credit, stop, beat=None) -> None:
    from genviz.core.allocator import keep_freed_memory

    keep_freed_memory()  # the pages a step or a snapshot frees stay for the next one (allocator.py)
    if getattr(config, "nice", 0) > 0 and hasattr(os, "nice"):
        try:
            os.nice(int(config.nice))
        except OSError:  # pragma: no cover - a platform that refuses: the run goes on at normal priority
            pass
    # the queues' feeder thread writes a snapshot into the pipe in pieces, and needs the GIL between them
    # while the GUI waits in its read for the rest: with Python's 5 ms switch interval a training burst
    # (cheap steps that never release the GIL) held it that long at each piece, stalling the GUI up to
    # 90 ms (inference's mean-field experiment); a shorter interval hands it over within 0.5 ms
    sys.setswitchinterval(SWITCH_INTERVAL)
    # the worker must never block on exit waiting for the GUI to read what it left in the pipes
    for q in (events, snapshots):
        q.cancel_join_thread()
    # if the GUI dies without closing us (killed, crashed), leave at once: even while the main thread
    # is still importing torch (seconds on a loaded machine), which a stop flag could not interrupt
    parent = mp.parent_process()
    if parent is not None:
        def watch_parent():
            while not stop.is_set():
                if not parent.is_alive():
                    os._exit(0)
                time.sleep(0.1)

        threading.Thread(target=watch_parent, name="genviz-parent-watch", daemon=True).start()
    if beat is not None:
        def heartbeat():  # a thread, so a long training step (which releases the GIL) is no hang
            while not stop.is_set():
                beat.value = time.monotonic()
                time.sleep(HEARTBEAT_SECONDS)

        beat.value = time.monotonic()
        threading.Thread(target=heartbeat, name="genviz-heartbeat", daemon=True).start()
    worker_main(config, commands, events, snapshots, credit, stop)


def make_engine(kind: str = "process") -> Engine:
    kind = (kind or "process").lower()
    if kind == "thread":
        return ThreadEngine()
    if kind == "process":
        return ProcessEngine()
    raise ValueError(f"unknown engine '{kind}' (process, thread)")
