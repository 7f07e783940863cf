"""Your training loop, watched: a lab's views computed from your own model, in your own process, while your
loop trains it, shown live in a window of its own (or one that listens elsewhere) and recorded as a session.

    import genviz
    with genviz.watch("manifold", model=vae, data=x_test, labels=y_test, record="runs/mine") as w:
        for step, x in enumerate(loader):
            loss = ...; opt.zero_grad(); loss.backward(); opt.step()
            w.step(loss=loss.item(), kl=kl.item())

``w.step(**metrics)`` counts a step and keeps its metrics (plain floats: the curves). At a capped rate, and
never more than a bounded share of the loop's time, the lab's own snapshot (the same code as the lab's views,
its exact metrics included) is taken of your model on ``data``: without gradients, in evaluation mode (each
module's mode is put back), drawing its random numbers from a stream of its own (your loop's random numbers
are untouched). The window (``window=True``) is a genviz process listening on a free local port
(``genviz.core.listen``); ``connect=HOST:PORT, token=...`` sends to one started with ``genviz --listen``
instead. ``record=DIR`` writes the run as a session, ``DIR/session.genviz``, when the block ends (and
every ``save_every`` seconds): ``genviz export``, the compare view and File ▸ Open session show it.

The labs that take a model of yours are those with a ``user_model`` family (``genviz labs``); the model
implements the family's protocol (``genviz.models.protocols``) and is checked on a few items of ``data``
first (one line says what is wrong). Pure core: no Qt.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from genviz.safeio import InputError

SNAPSHOT_HZ = 2.0  # at most this many snapshots a second
SHARE = 0.03  # and at most this share of the loop's time in them (the loop keeps >= 0.95 of its speed)
WATCHABLE = ("vae",)  # the families whose labs' experiments take a model as it is (``model=``)
ROWS_EVERY = 0.2  # seconds between messages of metric rows to a listening window (frames carry theirs too)


class WatchError(InputError):
    """A watch that cannot start: the lab, the model or the data (one line says which and why)."""


def _images(data, labels, lab: str):
    """The user's data (numpy or torch, [N, H, W] or [N, 1, H, W], values in [0, 1]) as a dataset."""
    from genviz.data.images import DataError, ImageDataset

    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    if labels is not None and hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    try:
        return ImageDataset(name="your data", images=arr, labels=None if labels is None else np.asarray(labels),
                            source="genviz.watch(data=…)")
    except DataError as exc:
        raise WatchError(f"genviz.watch({lab!r}): {exc}") from None


class Watch:
    """A watched run (made by :func:`watch`): ``step(**metrics)`` once per training step, ``close()`` (or the
    end of the ``with`` block) at the end."""

    def __init__(self, lab: str, model, data, labels=None, *, window: bool = True, record: str | Path | None = None,
                 connect: str | None = None, token: str | None = None, settings: dict | None = None,
                 snapshot_hz: float = SNAPSHOT_HZ, share: float = SHARE, save_every: float = 30.0, seed: int = 0):
        from genviz.core.experiment import ViewRandomness
        from genviz.core.history import History
        from genviz.core.labs import all_labs, import_object

        labs = all_labs()
        info = labs.get(lab)
        if info is None or info.user_model not in WATCHABLE:
            takes = ", ".join(n for n, i in labs.items() if i.user_model in WATCHABLE)
            raise WatchError(f"genviz.watch: {'no lab ' + repr(lab) if info is None else 'the ' + lab + ' lab'} "
                             f"cannot watch a model of yours; these can: {takes}")
        self.window = None
        if window and connect is None:  # a window of its own: a genviz process that listens on a free local port
            connect, token, self.window = _open_window(info.name)
        if record is None and connect is None:
            raise WatchError("genviz.watch: say where the run goes: a window (window=True), record=DIR (a session, "
                             "DIR/session.genviz), or connect=HOST:PORT with the token of a window that listens")
        if connect is not None and not token:
            raise WatchError("genviz.watch: connect= needs the token the listening window printed (token=...)")
        if not (snapshot_hz > 0 and 0 < share < 1):
            raise WatchError("genviz.watch: snapshot_hz must be > 0 and share between 0 and 1")
        params = list(model.parameters()) if hasattr(model, "parameters") else []
        device = str(params[0].device) if params else "cpu"
        cls = import_object(info.experiment)
        import torch

        # the lab seeds torch as it builds its run: the user's random numbers are put back as they were
        with torch.random.fork_rng(devices=[params[0].device] if params and params[0].is_cuda else []):
            self.exp = cls(settings or {}, seed=seed, device=device, data=_images(data, labels, lab), model=model)
        self.info, self.module, self.seed = info, model, seed
        self.view_random = ViewRandomness(seed, self.exp.device)
        self.history = History()
        self.folder = Path(record) if record is not None else None
        self.path = self.folder / "session.genviz" if self.folder is not None else None
        self.snapshot_hz, self.share, self.save_every = float(snapshot_hz), float(share), float(save_every)
        self.steps = 0
        self.rows: list[tuple[int, dict]] = []
        self.started = time.perf_counter()
        self.snapshot_seconds = 0.0
        self.next_at = self.started  # the first snapshot at the first step
        self.saved_at = self.started
        self.closed = False
        self.static = self.exp.static_info()
        self.rows_sent_at = self.started
        self.sender = _Sender(connect, token, info.name, self.exp.settings, self.static) if connect else None

    # -- the loop's side --------------------------------------------------------------------------------
    def step(self, **metrics: float) -> None:
        """One training step done, with its metrics (numbers; tensors are read with ``float``)."""
        if self.closed:
            return
        self.steps += 1
        row = {}
        for name, value in metrics.items():
            try:
                row[str(name)] = float(value)
            except (TypeError, ValueError):
                raise WatchError(f"genviz.watch: metric {name!r} is not a number ({type(value).__name__})") from None
        self.rows.append((self.steps, row))
        now = time.perf_counter()
        if now >= self.next_at:
            self.snapshot()
        elif self.sender is not None and now - self.rows_sent_at >= ROWS_EVERY:
            self.sender.put(self._take_rows(), None, self.steps, self._rate())
            self.rows_sent_at = now
        if self.folder is not None and now - self.saved_at >= self.save_every:
            self.save()

    def _take_rows(self) -> dict:
        from genviz.core.runner import columns

        cols, self.rows = columns(self.rows), []
        self.history.add_rows(cols)
        return cols

    def _rate(self) -> float:
        return self.steps / max(1e-9, time.perf_counter() - self.started)

    def snapshot(self) -> None:
        """The lab's views of the model now, as a recorded frame (with the metric rows so far)."""
        import torch

        t0 = time.perf_counter()
        modes = [(m, m.training) for m in self.module.modules()]
        self.exp.step_count = self.steps
        try:
            with torch.no_grad(), self.view_random:
                data = self.exp.snapshot(heavy=True)
        finally:
            for m, training in modes:
                m.training = training
        cols = self._take_rows()
        self.history.add_frame(self.steps, data)
        if self.sender is not None:
            self.sender.put(cols, data, self.steps, self._rate())
            self.rows_sent_at = time.perf_counter()
        spent = time.perf_counter() - t0
        self.snapshot_seconds += spent
        # the next one after 1/snapshot_hz, and late enough that snapshots stay within their share of the time
        self.next_at = t0 + max(1.0 / self.snapshot_hz, spent / self.share)

    def session(self):
        from genviz.core.session import Session

        names = {s.name for s in self.info.settings}
        model = self.static.get("your_model", "your model")
        return Session(lab=self.info.name, settings={k: v for k, v in self.exp.settings.items() if k in names},
                       seed=self.seed, data=None, device="auto", step=self.steps, static=self.static, state=None,
                       history=self.history, title=f"Your training loop: {model}",
                       caption="Recorded by genviz.watch from the user's own loop (no training state: the run "
                               "continues only in its own script).")

    def save(self) -> Path | None:
        """Write the session so far (atomically: a reader never sees half a file); None without ``record``."""
        from genviz.core.session import save_session

        if self.rows or not len(self.history):
            self.snapshot()
        if self.folder is None:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        save_session(self.session(), self.path)
        self.saved_at = time.perf_counter()
        return self.path

    def close(self) -> Path | None:
        """The last frame, the session file and goodbye to the window; further steps do nothing."""
        if self.closed:
            return self.path
        path = self.save()
        if self.sender is not None:
            self.sender.close()
        self.closed = True
        return path

    @property
    def overhead(self) -> float:
        """The share of the loop's time spent in snapshots so far."""
        return self.snapshot_seconds / max(1e-9, time.perf_counter() - self.started)

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = [f"recording to {self.path}"] if self.path else []
        if self.sender is not None:
            where.append(f"{'sending to' if not self.sender.gone else 'was sending to'} {self.sender.address}")
        return (f"<genviz.watch {self.info.name}: step {self.steps:,}, {len(self.history)} frames, "
                f"{100 * self.overhead:.1f} % of the time in views, {' and '.join(where)}>")


def watch(lab: str, model, data, labels=None, *, window: bool = True, record: str | Path | None = None,
          connect: str | None = None,
          token: str | None = None, settings: dict | None = None, snapshot_hz: float = SNAPSHOT_HZ,
          share: float = SHARE, save_every: float = 30.0, seed: int = 0) -> Watch:
    """Watch ``model`` in your own training loop with lab ``lab``'s views (see the module's documentation).

    ``data`` [N, H, W] or [N, 1, H, W] in [0, 1] (numpy or torch) is what the views encode and decode, with
    optional ``labels`` [N]; ``window``: open a window that shows the run live (a genviz process of its own; it
    stays open when the loop ends); ``record``: the folder of the session; ``connect``/``token``: a window that listens
    (``genviz --listen HOST:PORT`` prints the token); ``settings``: the lab's settings that apply
    (``likelihood``, ``grid``...); ``snapshot_hz`` and ``share`` cap the views' cost."""
    if not math.isfinite(float(snapshot_hz)):
        raise WatchError("genviz.watch: snapshot_hz must be a finite number")
    return Watch(lab, model, data, labels, window=window and connect is None, record=record, connect=connect,
                 token=token, settings=settings,
                 snapshot_hz=snapshot_hz, share=share, save_every=save_every, seed=seed)


def _open_window(lab: str, timeout: float = 60.0):
    """A genviz window listening on a free port of 127.0.0.1 with a new token (its own process, which outlives
    the loop); returns (address, token, process) once it accepts connections."""
    import os
    import socket
    import subprocess
    import sys

    from genviz.core.listen import new_token

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token, address = new_token(), f"127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "genviz", "--listen", address, f"--token={token}", "--lab", lab],
                               stdout=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise WatchError(f"genviz.watch: the window did not start (exit status {process.returncode}); "
                             "window=False records without one")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return address, token, process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise WatchError(f"genviz.watch: the window did not listen within {timeout:.0f} s; window=False records without one")


class _Sender:
    """What goes to a listening window, sent by a thread of its own: the loop only hands over rows and the newest
    frame (latest wins; rows are never dropped) and never waits. A window that goes away is said once; the
    loop goes on (and keeps recording, if it does)."""

    def __init__(self, address: str, token: str, lab: str, settings: dict, static: dict):
        import socket
        import threading

        from genviz.core import wire
        from genviz.core.listen import parse_address

        self.address, self.gone = address, False
        try:
            host, port = parse_address(address)
            self.sock = socket.create_connection((host, port), timeout=10)
            self.sock.sendall(wire.hello(token, lab, {k: v for k, v in settings.items()
                                                      if v is None or isinstance(v, (str, bool, int, float))}))
            self.sock.sendall(wire.encode("static", {"static": static}))
        except (OSError, wire.WireError) as exc:
            raise WatchError(f"genviz.watch: no window listens at {address} ({exc}); start one with "
                             f"genviz --listen {address} --lab {lab}") from None
        self.cond = threading.Condition()
        self.rows: list[dict] = []
        self.frame: tuple | None = None
        self.latest: tuple = (0, 0.0)
        self.closing = False
        self.thread = threading.Thread(target=self._run, name="genviz-watch-sender", daemon=True)
        self.thread.start()

    def put(self, rows: dict, data: dict | None, step: int, rate: float) -> None:
        """Metric rows (columns) to send, and the views of ``step`` (None: rows only)."""
        if self.gone:
            return
        with self.cond:
            if rows.get("step") is not None and len(rows["step"]):
                self.rows.append(rows)
            if data is not None:
                self.frame = (step, data)  # a newer frame replaces one not sent yet
            self.latest = (step, rate)
            self.cond.notify()

    @staticmethod
    def _merged(chunks: list[dict]) -> dict:
        """Column chunks as one, a metric missing from a chunk NaN there (rows stay aligned with their steps)."""
        import numpy as np

        names = list(dict.fromkeys(k for c in chunks for k in c))
        return {k: np.concatenate([np.asarray(c[k]) if k in c else np.full(len(c["step"]), np.nan)
                                   for c in chunks]) for k in names}

    def _run(self) -> None:
        import sys

        from genviz.core import wire

        while True:
            with self.cond:
                while not (self.rows or self.frame or self.closing):
                    self.cond.wait()
                rows, self.rows = self.rows, []
                frame, self.frame = self.frame, None
                latest, closing = self.latest, self.closing
            try:
                if frame is not None or rows:
                    step = frame[0] if frame is not None else latest[0]
                    payload = {"step": int(step), "rows": self._merged(rows) if rows else {},
                               "steps_per_sec": float(latest[1])}
                    if frame is not None:
                        payload["data"] = frame[1]
                    self.sock.sendall(wire.encode("frame" if frame is not None else "rows", payload))
                if closing:
                    self.sock.sendall(wire.encode("bye", {}))
                    break
            except (OSError, wire.WireError) as exc:
                self.gone = True
                print(f"genviz.watch: the window at {self.address} went away ({exc}); your training goes on "
                      "without it", file=sys.stderr)
                break
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self, timeout: float = 10.0) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify()
        self.thread.join(timeout)
