"""Bridges the pure-core engine to Qt: polls it on a GUI timer and turns its output into signals.

The poll never blocks; it takes every pending event and at most the newest snapshot, so a slow
frame can never make work pile up. Worker queries become awaitable futures for qasync code.
"""
from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QObject, QTimer, Signal

from genviz.core.engine import Engine, make_engine
from genviz.core.protocol import (Checkpoint, EngineConfig, Error, NonFinite, Ready, Reply, Restored, SettingApplied,
                                  State)


class QueryFailed(RuntimeError):
    pass


def thread_schedstat() -> tuple[int, int] | None:
    """(ns on a CPU, ns waiting for one while runnable) of the calling thread, from Linux's
    ``/proc/thread-self/schedstat``; None where there is none."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            cpu, wait = f.read().split()[:2]
        return int(cpu), int(wait)
    except (OSError, ValueError):
        return None


class LoadPacer:
    """Whether the GUI thread should take fewer frames: the machine is oversubscribed when the thread
    waits for a core about as long as it runs. Measured on the 2-core machine (manifold lab): 0.02–0.05 s of
    waiting per second of CPU alone, 0.8–1.0 with one CPU-heavy process beside the app. The ratio is
    judged over ``WINDOW`` seconds, only once the thread used ``MIN_CPU`` of a core (a paused window
    proves nothing), with hysteresis; it does not depend on the frame rate, so pacing does not undo itself."""

    WINDOW = 1.0
    SLOW_ABOVE, FAST_BELOW = 0.4, 0.2  # seconds waited per second of CPU
    MIN_CPU = 0.05

    def __init__(self, read=thread_schedstat):
        self.read = read
        self.slow = False
        self._last: tuple[float, int, int] | None = None

    def update(self, now: float) -> bool:
        """Called often (on the thread measured); True when ``slow`` changed."""
        if self._last is not None and now - self._last[0] < self.WINDOW:
            return False
        stat = self.read()
        if stat is None:
            return False
        last, self._last = self._last, (now, *stat)
        if last is None:
            return False
        cpu, wait = (stat[0] - last[1]) / 1e9, (stat[1] - last[2]) / 1e9
        if cpu < self.MIN_CPU * (now - last[0]):
            return False
        ratio = wait / cpu
        slow = ratio > self.SLOW_ABOVE if not self.slow else ratio > self.FAST_BELOW
        changed, self.slow = slow != self.slow, slow
        return changed


class EngineBridge(QObject):
    """Each event type of ``genviz.core.protocol`` has its signal; each carries the event object."""

    snapshot = Signal(object)  # protocol.Snapshot
    ready = Signal(object)  # protocol.Ready
    state = Signal(object)  # protocol.State
    nonFinite = Signal(object)  # protocol.NonFinite
    error = Signal(object)  # protocol.Error
    settingApplied = Signal(object)  # protocol.SettingApplied
    checkpoint = Signal(object)  # protocol.Checkpoint
    restored = Signal(object)  # protocol.Restored
    lost = Signal(str)  # the worker died or hangs: how (the end of "The training worker ...")
    slow = Signal(float)  # the worker is working but silent this many seconds (a busy machine); 0: it answers again
    paced = Signal(bool)  # True: the machine is oversubscribed and the window takes half its frames; False: all again

    SLOW_NOTE_SECONDS = 2.0  # silence of a working worker worth a word in the status bar

    HEALTH_CHECK_SECONDS = 0.1
    # On an oversubscribed machine the window takes half the frames (LoadPacer): each frame costs the GUI
    # thread CPU that the worker then lacks, and a frame's paint stretched by waiting for a core is what
    # makes its timers late (issue 37's measurements with a CPU-heavy process beside the app).
    PACE_ON_LOAD = True
    ASK_TIMEOUT = 120.0  # a query waits at most this long (a prepare may load a data set)

    def __init__(self, kind: str = "process", poll_ms: int = 8, parent=None):
        super().__init__(parent)
        self.kind = kind
        self.engine: Engine | None = None
        self._futures: dict[int, asyncio.Future] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self.snapshots_received = 0
        self.last_snapshot_at = 0.0
        self.lost_reason: str | None = None  # set once the worker is found dead or hung
        self._checked_at = 0.0
        self._slow_said = 0  # whole seconds of silence last reported by ``slow``
        self.pacer = LoadPacer() if self.PACE_ON_LOAD else None

    @property
    def started(self) -> bool:
        return self.engine is not None

    @property
    def healthy(self) -> bool:
        return self.engine is not None and self.lost_reason is None

    def start(self, config: EngineConfig) -> None:
        """Build ``config``: in the running worker, or in a fresh one when there is none or the
        last one was lost (it is killed for good first)."""
        if self.engine is not None and self.lost_reason is not None:
            engine, self.engine = self.engine, None
            engine.close(0.2)
        self.lost_reason = None
        if self.engine is None:
            if self.kind.startswith("listen:"):  # a window waiting for a watched run (genviz --listen)
                from genviz.core.listen import make_listen_engine

                self.engine = make_listen_engine(self.kind)
            else:
                self.engine = make_engine(self.kind)
            self.engine.start(config)
            self._timer.start()
        else:
            self.engine.reset(config)

    def check_health(self) -> None:
        """Notice a dead or hung worker (at most every 0.1 s): one ``lost`` signal, and every
        pending query fails instead of waiting for ever."""
        now = time.monotonic()
        if self.engine is None or self.lost_reason is not None or now - self._checked_at < self.HEALTH_CHECK_SECONDS:
            return
        self._checked_at = now
        reason = self.engine.health()
        if reason is None:
            slow = self.engine.slow_for
            said = int(slow) if slow >= self.SLOW_NOTE_SECONDS else 0
            if said != self._slow_said:  # once a second while it lasts, and once when it ends
                self._slow_said = said
                self.slow.emit(float(slow) if said else 0.0)
            return
        self.lost_reason = reason
        self._fail_pending(f"the training worker {reason}")
        self.lost.emit(reason)

    def _fail_pending(self, message: str) -> None:
        futures, self._futures = self._futures, {}
        for fut in futures.values():
            if not fut.done():
                fut.set_exception(QueryFailed(message))

    def poll(self) -> None:
        if self.engine is None:
            return
        self.check_health()
        if self.lost_reason is not None:
            return  # a dead worker's pipes may hold a cut-off message: nothing more is read from them
        if self.pacer is not None:
            changed = self.pacer.update(time.perf_counter())
            hz = self.engine.config.snapshot_hz if self.engine.config is not None else 0
            self.engine.frame_interval = 2.0 / hz if self.pacer.slow and hz > 0 else 0.0  # a new engine too
            if changed:
                self.paced.emit(self.pacer.slow)
        events, snap = self.engine.poll()
        signals = {Ready: self.ready, State: self.state, NonFinite: self.nonFinite, Error: self.error,
                   SettingApplied: self.settingApplied, Checkpoint: self.checkpoint, Restored: self.restored}
        for event in events:
            if isinstance(event, Reply):
                fut = self._futures.pop(event.id, None)
                if fut is not None and not fut.done():
                    if event.ok:
                        fut.set_result(event.value)
                    else:
                        fut.set_exception(QueryFailed(event.error))
            else:
                signals[type(event)].emit(event)
        if snap is not None:
            self.snapshots_received += 1
            self.last_snapshot_at = time.perf_counter()
            self.snapshot.emit(snap)

    async def ask(self, name: str, **kwargs):
        """Await the experiment's answer to a query (it runs between training steps)."""
        self._check_alive()
        return await self._answer(self.engine.query(name, **kwargs), f"'{name}'")

    async def prepare(self, config, frames: dict | None = None) -> dict:
        """Await the worker's build of ``config`` beside the running model (protocol.Prepare)."""
        from genviz.core.protocol import Prepare

        self._check_alive()
        return await self._answer(self.engine.request(lambda i: Prepare(i, config, dict(frames or {}))),
                                  "the build check")

    async def take_state(self) -> bytes:
        """Await the running model's checkpoint (protocol.TakeState)."""
        from genviz.core.protocol import TakeState

        self._check_alive()
        return await self._answer(self.engine.request(TakeState), "the request for its state")

    def _check_alive(self) -> None:
        if self.engine is None:
            raise QueryFailed("the training engine is not running")
        if self.lost_reason is not None:
            raise QueryFailed(f"the training worker {self.lost_reason}")

    async def _answer(self, qid: int, what: str):
        """The Reply to request ``qid`` (replies go to the request that asked, by id)."""
        fut = asyncio.get_event_loop().create_future()
        self._futures[qid] = fut
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.ASK_TIMEOUT)
        except asyncio.TimeoutError:
            self._futures.pop(qid, None)
            raise QueryFailed(f"the training worker did not answer {what} within {self.ASK_TIMEOUT:.0f} s") from None

    def close(self, timeout: float = 1.0) -> bool:
        """Stop polling, stop and join the worker. Safe to call twice."""
        self._timer.stop()
        for fut in self._futures.values():
            if not fut.done():
                fut.cancel()
        self._futures.clear()
        if self.engine is None:
            return True
        engine, self.engine = self.engine, None
        return engine.close(timeout)
