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

    @property
    def started(self) -> bool:
        return self.engine is not None

    def start(self, config: EngineConfig) -> None:
        if self.engine is None:
            self.engine = make_engine(self.kind)
            self.engine.start(config)
            self._timer.start()
        else:
            self.engine.reset(config)

    def poll(self) -> None:
        if self.engine is None:
            return
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
        """Await the worker's answer to a query (it runs between training steps)."""
        if self.engine is None:
            raise QueryFailed("the training engine is not running")
        fut = asyncio.get_event_loop().create_future()
        self._futures[self.engine.query(name, **kwargs)] = fut
        return await fut

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
