"""Your training loop, watched: a lab's views computed from your own model, in your own process, while your
loop trains it.

    import genviz
    with genviz.watch("manifold", model=vae, data=x_test, labels=y_test, record="runs/mine") as w:
        for step, x in enumerate(loader):
            loss = ...; opt.zero_grad(); loss.backward(); opt.step()
            w.step(loss=loss.item(), kl=kl.item())

``w.step(**metrics)`` counts a step and keeps its metrics (plain floats: the curves). At a capped rate, and
never more than a bounded share of the loop's time, the lab's own snapshot (the same code as the lab's views,
its exact metrics included) is taken of your model on ``data``: without gradients, in evaluation mode (each
module's mode is put back), drawing its random numbers from a stream of its own (your loop's random numbers
are untouched). ``record=DIR`` writes the run as a session, ``DIR/session.genviz``, when the block ends (and
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

    def __init__(self, lab: str, model, data, labels=None, *, record: str | Path | None = None,
                 settings: dict | None = None, snapshot_hz: float = SNAPSHOT_HZ, share: float = SHARE,
                 save_every: float = 30.0, seed: int = 0):
        from genviz.core.experiment import ViewRandomness
        from genviz.core.history import History
        from genviz.core.labs import all_labs, import_object

        labs = all_labs()
        info = labs.get(lab)
        if info is None or info.user_model not in WATCHABLE:
            takes = ", ".join(n for n, i in labs.items() if i.user_model in WATCHABLE)
            raise WatchError(f"genviz.watch: {'no lab ' + repr(lab) if info is None else 'the ' + lab + ' lab'} "
                             f"cannot watch a model of yours; these can: {takes}")
        if record is None:
            raise WatchError("genviz.watch: say where the run goes: record=DIR (the session is DIR/session.genviz)")
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
        self.folder = Path(record)
        self.path = self.folder / "session.genviz"
        self.snapshot_hz, self.share, self.save_every = float(snapshot_hz), float(share), float(save_every)
        self.steps = 0
        self.rows: list[tuple[int, dict]] = []
        self.started = time.perf_counter()
        self.snapshot_seconds = 0.0
        self.next_at = self.started  # the first snapshot at the first step
        self.saved_at = self.started
        self.closed = False
        self.static = self.exp.static_info()

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
        if now - self.saved_at >= self.save_every:
            self.save()

    def snapshot(self) -> None:
        """The lab's views of the model now, as a recorded frame (with the metric rows so far)."""
        import torch

        from genviz.core.runner import columns

        t0 = time.perf_counter()
        modes = [(m, m.training) for m in self.module.modules()]
        self.exp.step_count = self.steps
        try:
            with torch.no_grad(), self.view_random:
                data = self.exp.snapshot(heavy=True)
        finally:
            for m, training in modes:
                m.training = training
        self.history.add_rows(columns(self.rows))
        self.rows = []
        self.history.add_frame(self.steps, data)
        spent = time.perf_counter() - t0
        self.snapshot_seconds += spent
        # the next one after 1/snapshot_hz, and late enough that snapshots stay within their share of the time
        self.next_at = t0 + max(1.0 / self.snapshot_hz, spent / self.share)

    def session(self):
        from genviz.core.session import Session

        names = {s.name for s in self.info.settings}
        model = self.static.get("model", "your model")
        return Session(lab=self.info.name, settings={k: v for k, v in self.exp.settings.items() if k in names},
                       seed=self.seed, data=None, device="auto", step=self.steps, static=self.static, state=None,
                       history=self.history, title=f"Your training loop: {model}",
                       caption="Recorded by genviz.watch from the user's own loop (no training state: the run "
                               "continues only in its own script).")

    def save(self) -> Path:
        """Write the session so far (atomically: a reader never sees half a file)."""
        from genviz.core.session import save_session

        if self.rows or not len(self.history):
            self.snapshot()
        self.folder.mkdir(parents=True, exist_ok=True)
        save_session(self.session(), self.path)
        self.saved_at = time.perf_counter()
        return self.path

    def close(self) -> Path:
        """The last frame and the session file; further steps do nothing."""
        if self.closed:
            return self.path
        path = self.save()
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
        return (f"<genviz.watch {self.info.name}: step {self.steps:,}, {len(self.history)} frames, "
                f"{100 * self.overhead:.1f} % of the time in views, recording to {self.path}>")


def watch(lab: str, model, data, labels=None, *, record: str | Path, settings: dict | None = None,
          snapshot_hz: float = SNAPSHOT_HZ, share: float = SHARE, save_every: float = 30.0, seed: int = 0) -> Watch:
    """Watch ``model`` in your own training loop with lab ``lab``'s views (see the module's documentation).

    ``data`` [N, H, W] or [N, 1, H, W] in [0, 1] (numpy or torch) is what the views encode and decode, with
    optional ``labels`` [N]; ``record``: the folder of the session; ``settings``: the lab's settings that
    apply (``likelihood``, ``grid``...); ``snapshot_hz`` and ``share`` cap the views' cost."""
    if not math.isfinite(float(snapshot_hz)):
        raise WatchError("genviz.watch: snapshot_hz must be a finite number")
    return Watch(lab, model, data, labels, record=record, settings=settings, snapshot_hz=snapshot_hz, share=share,
                 save_every=save_every, seed=seed)
