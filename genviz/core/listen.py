"""A window's engine for a run it does not train: ``genviz --listen HOST:PORT`` waits for a training loop watched
with ``genviz.watch(..., connect="HOST:PORT", token=...)`` (on this machine, or a GPU server through an SSH
tunnel) and turns what it sends (``genviz.core.wire``) into the events and snapshots a worker would send, so
the window's views, timeline, curves, sessions and export work on it unchanged.

The loop drives: Play, Pause, Step and settings do nothing here; queries are answered "no" (the model is in the
user's process), and a session saved from the window holds the frames and curves without a training state.
A connection whose first message is not a hello with the right token is closed after one line, having read
at most ``wire.MAX_HELLO`` bytes; a malformed or oversized message ends that connection with one line; the
window keeps everything it received, and the next run may connect. Pure core: no Qt."""
from __future__ import annotations

import queue
import secrets
import socket
import threading

from genviz.core import wire
from genviz.core.engine import Engine
from genviz.core.protocol import EngineConfig, Error, Prepare, Query, Ready, Reply, Reset, Snapshot, State, TakeState

NOT_HERE = "the watched run's model is in its own script: a window that listens asks it nothing"


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = str(text).rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:  # (0: a free port the system picks)
        raise wire.WireError(f"--listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:8765")
    return host, int(port)


def new_token() -> str:
    """A new secret for a listening window. It never starts with "-": a command line (``--token TOKEN``, as the
    window prints it for a user to copy) would take such a token for an option (1 in 64 of them did)."""
    while True:
        token = secrets.token_urlsafe(18)
        if not token.startswith("-"):
            return token


class ListenEngine(Engine):
    """One listening socket; one watched run at a time. ``log``: where each refused connection is said."""

    kind = "listen"

    def __init__(self, address: str, token: str, log=None, max_body: int = wire.MAX_BODY):
        super().__init__()
        self.host, self.port = parse_address(address)
        self.token, self.max_body = token, max_body
        self.log = log or (lambda text: None)
        self.messages: list[str] = []  # every refusal and disconnection, said once each
        self.connected = False
        self.lab_settings: dict = {}
        self.static: dict | None = None
        self.step_now = 0

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self, config: EngineConfig) -> None:
        self.config = config
        self._events, self._snapshots = queue.Queue(), queue.Queue()
        self._credit = threading.Event()
        self._stop = threading.Event()
        self._server = socket.create_server((self.host, self.port), reuse_port=False)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]  # (port 0: the system's choice)
        self._thread = threading.Thread(target=self._serve, name="genviz-listen", daemon=True)
        self._thread.start()
        self.heard = True

    @property
    def alive(self) -> bool:
        return hasattr(self, "_thread") and self._thread.is_alive()

    def health(self) -> str | None:
        return None if self.alive else "stopped listening"

    def close(self, timeout: float = 1.0) -> bool:
        if not hasattr(self, "_thread"):
            return True
        self._stop.set()
        self._thread.join(timeout)
        try:
            self._server.close()
        except OSError:
            pass
        return not self._thread.is_alive()

    # -- the window's commands -------------------------------------------------------------------------
    def send(self, cmd) -> None:
        if isinstance(cmd, Reset):  # a Reset in the window: the run's latest static info again
            if self.static is not None:
                self._ready()
        elif isinstance(cmd, (Prepare, TakeState)):  # nothing to build; no training state to keep
            self._events.put(Reply(cmd.id, True, {} if isinstance(cmd, Prepare) else None))
        elif isinstance(cmd, Query):
            self._events.put(Reply(cmd.id, False, error=NOT_HERE))

    # -- the socket's side -----------------------------------------------------------------------------
    def _say(self, text: str, problem: bool = True) -> None:
        """One line for the window (its banner: a refusal, a lost connection) and the log."""
        self.messages.append(text)
        self.log(text)
        if problem:
            self._events.put(Error("listening", text))

    def _ready(self) -> None:
        self._events.put(Ready(self.config.generation, "your script", dict(self.lab_settings), self.config.seed,
                               dict(self.static or {}), self.step_now))

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._server.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                self._connection(conn, f"{peer[0]}:{peer[1]}")

    def _connection(self, conn: socket.socket, peer: str) -> None:
        def read(n: int) -> bytes:
            while not self._stop.is_set():
                try:
                    return conn.recv(n)
                except (socket.timeout, TimeoutError):
                    continue
            return b""

        try:
            kind, payload = wire.read_message(read, max_header=wire.MAX_HELLO, max_body=0)
            hello = wire.check_hello(kind, payload, self.token)
            if hello["lab"] != self.config.lab:
                raise wire.WireError(f"a {hello['lab']} run; this window shows the {self.config.lab} lab "
                                     f"(genviz --listen … --lab {hello['lab']})")
        except (wire.WireError, OSError, ValueError) as exc:
            if str(exc) != "the connection closed":  # (one that sent nothing: a check that the window listens)
                self._say(f"Refused a connection from {peer}: {exc}")
            return
        self.connected, self.lab_settings = True, dict(hello.get("settings") or {})
        self._say(f"A watched run connected from {peer}", problem=False)
        self._events.put(State(True, self.step_now))
        try:
            while not self._stop.is_set():
                kind, payload = wire.read_message(read, max_body=self.max_body)
                if kind == "bye":
                    self._say("The watched run ended; everything it sent is kept", problem=False)
                    break
                self._take(kind, payload)
        except (wire.WireError, OSError, ValueError, TypeError, KeyError) as exc:
            self._say(f"The watched run's connection ended: {exc}; everything it sent is kept")
        finally:
            self.connected = False
            self._events.put(State(False, self.step_now))

    def _take(self, kind: str, payload) -> None:
        if not isinstance(payload, dict):
            raise wire.WireError(f"a {kind} message without its fields")
        if kind == "static":
            if not isinstance(payload.get("static"), dict):
                raise wire.WireError("a static message without the lab's static info")
            self.static = dict(payload["static"])
            # the form's settings do nothing here: the watched script decides them
            self.static["unused_settings"] = {name: "a watched run's script decides it" for name in self._setting_names()}
            self._ready()
            return
        step = payload.get("step")
        rows = payload.get("rows") or {}
        if not isinstance(step, int) or isinstance(step, bool) or step < 0 or not isinstance(rows, dict):
            raise wire.WireError(f"a {kind} message without its step and rows")
        data = payload.get("data") if kind == "frame" else {}
        if not isinstance(data, dict):
            raise wire.WireError("a frame without its views")
        self.step_now = step
        rate = payload.get("steps_per_sec")
        self._snapshots.put(Snapshot(self.config.generation, step, True,
                                     float(rate) if isinstance(rate, (int, float)) else 0.0,
                                     kind == "frame", rows, data, device="your script"))

    def _setting_names(self) -> list[str]:
        from genviz.core.labs import all_labs

        lab = all_labs().get(self.config.lab)
        return [spec.name for spec in lab.settings] if lab is not None else []


def make_listen_engine(kind: str) -> ListenEngine:
    """``listen:HOST:PORT:TOKEN`` (the window's engine kind when it listens)."""
    _, rest = kind.split(":", 1)
    address, _, token = rest.rpartition(":")
    return ListenEngine(address, token)
