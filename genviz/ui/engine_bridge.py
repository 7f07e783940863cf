"""Bridges the pure-core engine to Qt: polls it on a GUI timer and turns its output into signals.

The poll never blocks; it takes every pending event and at most the newest snapshot, so a slow
frame can never make work pile up. Worker queries become awaitable futures for qasync code.
"""
from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QObject, QTimer, Signal

from genviz.core.engine import Engine, EngineConfig, make_engine


class QueryFailed(RuntimeError):
    pass


class EngineBridge(QObject):
    snapshot = Signal(dict)
    ready = Signal(dict)
    state = Signal(dict)
    nonFinite = Signal(dict)
    error = Signal(dict)
    settingApplied = Signal(dict)
    checkpoint = Signal(dict)
    restored = Signal(dict)

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
        for kind, payload in events:
            if kind == "reply":
                fut = self._futures.pop(payload["id"], None)
                if fut is not None and not fut.done():
                    if payload["ok"]:
                        fut.set_result(payload["value"])
                    else:
                        fut.set_exception(QueryFailed(payload["error"]))
            elif kind == "ready":
                self.ready.emit(payload)
            elif kind == "state":
                self.state.emit(payload)
            elif kind == "nan":
                self.nonFinite.emit(payload)
            elif kind == "error":
                self.error.emit(payload)
            elif kind == "setting":
                self.settingApplied.emit(payload)
            elif kind == "checkpoint":
                self.checkpoint.emit(payload)
            elif kind == "restored":
                self.restored.emit(payload)
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
