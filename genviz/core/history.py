"""A run's history: its heavy snapshots (what every view shows at a step), its metric curves and
its checkpoints, in a memory budget.

The timeline scrubs through the recorded snapshots, "Resume from here" restarts from the nearest
checkpoint at or before the scrubbed step, sessions save all three. When a list outgrows its
budget every other entry is dropped (the first and the newest stay): a long run keeps its whole
course at evenly coarsening resolution, and the recent past is always the densest part.
Pure numpy: no Qt, no torch.
"""
from __future__ import annotations

import csv
import io
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np

from genviz.core.protocol import Frame as ProtocolFrame

# the budget bounds memory and the session file alike: 150 MB of snapshots (stored compactly by the
# labs: binary images as uint8, drawn-only floats as float16), 75 MB of checkpoints, then the curves
DEFAULT_FRAME_BYTES = 150_000_000
DEFAULT_FRAMES = 2000
DEFAULT_CHECKPOINT_BYTES = 75_000_000
DEFAULT_CHECKPOINTS = 64
DEFAULT_METRIC_ROWS = 1_000_000


def payload_nbytes(value: Any) -> int:
    """Bytes held by a snapshot's arrays (plus a small charge per scalar or string)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, dict):
        return sum(payload_nbytes(v) for v in value.values()) + 64
    if isinstance(value, (list, tuple)):
        return sum(payload_nbytes(v) for v in value) + 56
    if isinstance(value, (bytes, str)):
        return len(value) + 49
    return 32


class Thinned:
    """A list in a budget of entries and bytes that coarsens evenly: entry n (in arrival order) is
    kept while n is a multiple of the stride, plus always the newest; over budget the stride
    doubles, dropping every other kept entry. Spacing stays uniform over the whole run."""

    def __init__(self, max_items: int, max_bytes: int, size):
        self.max_items, self.max_bytes, self.size = max_items, max_bytes, size
        self.items: list = []
        self.seqs: list[int] = []
        self.stride, self.count, self.nbytes = 1, 0, 0

    def __len__(self) -> int:
        return len(self.items)

    def append(self, item) -> None:
        if self.items and self.seqs[-1] % self.stride:
            self.pop()  # the previous newest was only kept for being the newest
        self.items.append(item)
        self.seqs.append(self.count)
        self.count += 1
        self.nbytes += self.size(item)
        while (len(self.items) > self.max_items or self.nbytes > self.max_bytes) and len(self.items) > 2:
            self.stride *= 2
            last = len(self.items) - 1
            self.keep([i for i, s in enumerate(self.seqs) if s % self.stride == 0 or i == last])

    def pop(self):
        self.seqs.pop()
        item = self.items.pop()
        self.nbytes -= self.size(item)
        return item

    def keep(self, indices: list[int]) -> None:
        self.items = [self.items[i] for i in indices]
        self.seqs = [self.seqs[i] for i in indices]
        self.nbytes = sum(self.size(x) for x in self.items)


@dataclass(frozen=True)
class Frame(ProtocolFrame):
    """A recorded frame: a heavy snapshot's view data at its step, and its size in the budget."""

    nbytes: int = 0


class History:
    def __init__(self, max_frames: int = DEFAULT_FRAMES, max_frame_bytes: int = DEFAULT_FRAME_BYTES,
                 max_checkpoints: int = DEFAULT_CHECKPOINTS, max_checkpoint_bytes: int = DEFAULT_CHECKPOINT_BYTES,
                 max_metric_rows: int = DEFAULT_METRIC_ROWS):
        self.max_frames, self.max_frame_bytes = max_frames, max_frame_bytes
        self.max_checkpoints, self.max_checkpoint_bytes = max_checkpoints, max_checkpoint_bytes
        self.max_metric_rows = max_metric_rows
        self._frames = Thinned(max_frames, max_frame_bytes, lambda f: f.nbytes)
        self._checkpoints = Thinned(max_checkpoints, max_checkpoint_bytes, lambda c: len(c[1]))
        self._chunks: list[dict[str, np.ndarray]] = []
        self._merged: dict[str, np.ndarray] | None = {}
        self._rows = 0

    def _set_metrics(self, columns: dict[str, np.ndarray]) -> None:
        self._chunks = [columns] if columns and len(columns.get("step", [])) else []
        self._rows = len(columns.get("step", [])) if columns else 0
        self._merged = None

    @property
    def frames(self) -> list[Frame]:
        return self._frames.items

    @property
    def checkpoints(self) -> list[tuple[int, bytes]]:
        return self._checkpoints.items

    @property
    def frame_bytes(self) -> int:
        return self._frames.nbytes

    @property
    def checkpoint_bytes(self) -> int:
        return self._checkpoints.nbytes

    # -- recording -----------------------------------------------------------------------------------
    def record(self, snap) -> bool:
        """Take in a :class:`~genviz.core.protocol.Snapshot` as the engine sent it: its metric rows
        always, its data when it is a heavy one (light snapshots carry partial views). True when a
        frame was added."""
        self.add_rows(snap.metrics)
        if not (snap.heavy and snap.data):
            return False
        self.add_frame(int(snap.step), snap.data)
        return True

    def add_rows(self, cols: dict) -> None:
        """Metric rows as columns (``{"step": [...], name: [...]}``)."""
        cols = cols or {}
        if "step" in cols and len(cols["step"]):
            self._chunks.append({k: np.asarray(v) for k, v in cols.items()})
            self._rows += len(cols["step"])
            self._merged = None
            # this runs on the GUI thread per snapshot: a running count, and chunks merged now and
            # then, keep it O(1) however long the run
            if self._rows > self.max_metric_rows:
                self._set_metrics({k: v[::2] for k, v in self.metrics().items()})
            elif len(self._chunks) > 512:
                self._set_metrics(self.metrics())

    def add_frame(self, step: int, data: dict) -> None:
        # a newer view of the same step (a setting changed while paused): latest wins; anything
        # later belongs to a future that a restore replaced
        while self.frames and self.frames[-1].step >= step:
            self._frames.pop()
        self._frames.append(Frame(step, data, True, payload_nbytes(data)))

    def add_checkpoint(self, step: int, blob: bytes) -> None:
        while self.checkpoints and self.checkpoints[-1][0] >= step:
            self._checkpoints.pop()
        self._checkpoints.append((int(step), bytes(blob)))

    def copy_until(self, step: int | None = None) -> "History":
        """A copy of this history (up to ``step``, when given): what a session saves of a run."""
        other = History.from_payload(self.to_payload())
        if step is not None:
            other.truncate_after(step)
        return other

    def truncate_after(self, step: int) -> None:
        """Forget everything after ``step``: training resumed from there, on a new course."""
        self._frames.keep([i for i, f in enumerate(self.frames) if f.step <= step])
        self._checkpoints.keep([i for i, c in enumerate(self.checkpoints) if c[0] <= step])
        merged = self.metrics()
        if "step" in merged:
            keep = merged["step"] <= step
            self._set_metrics({k: v[keep] for k, v in merged.items()})

    # -- reading ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frames)

    @property
    def steps(self) -> np.ndarray:
        return np.array([f.step for f in self.frames], dtype=np.int64)

    @property
    def nbytes(self) -> int:
        rows = sum(v.nbytes for c in self._chunks for v in c.values())
        return self.frame_bytes + self.checkpoint_bytes + rows

    def index_at(self, step: int) -> int:
        """The last frame at or before ``step`` (the first frame when ``step`` precedes them all)."""
        i = bisect_right([f.step for f in self.frames], step) - 1
        return max(0, i)

    def frame(self, index: int) -> Frame:
        """Recorded frame ``index`` (what every view showed at its step)."""
        return self.frames[index]

    def frames_until(self, step: int) -> list[Frame]:
        return [f for f in self.frames if f.step <= step]

    def checkpoint_at_or_before(self, step: int) -> tuple[int, bytes] | None:
        best = None
        for s, blob in self.checkpoints:
            if s <= step:
                best = (s, blob)
        return best

    def metrics(self, until: int | None = None) -> dict[str, np.ndarray]:
        """All metric rows as columns (NaN where a metric was not reported), up to step ``until``."""
        if self._merged is None:
            names = sorted({k for c in self._chunks for k in c} - {"step"})
            merged = {"step": np.concatenate([c["step"] for c in self._chunks]).astype(np.int64)} if self._chunks else {}
            for k in names:
                merged[k] = np.concatenate([c[k] if k in c else np.full(len(c["step"]), np.nan) for c in self._chunks])
            self._merged = merged
        if until is None or "step" not in self._merged:
            return dict(self._merged)
        keep = self._merged["step"] <= until
        return {k: v[keep] for k, v in self._merged.items()}

    def metrics_csv(self) -> str:
        cols = self.metrics()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        names = ["step"] + [k for k in cols if k != "step"]
        writer.writerow(names)
        if cols:
            for row in zip(*(cols[k] for k in names)):
                writer.writerow([int(row[0])] + [repr(float(v)) for v in row[1:]])
        return out.getvalue()

    # -- sessions ---------------------------------------------------------------------------------------
    def to_payload(self) -> dict:
        return {"frames": [{"step": f.step, "data": f.data} for f in self.frames],
                "checkpoints": [{"step": s, "blob": b} for s, b in self.checkpoints],
                "metrics": self.metrics()}

    @classmethod
    def from_payload(cls, payload: dict, **budget) -> "History":
        h = cls(**budget)
        for f in payload.get("frames", []):
            h.add_frame(int(f["step"]), f["data"])
        for c in payload.get("checkpoints", []):
            h.add_checkpoint(int(c["step"]), c["blob"])
        h._set_metrics({k: np.asarray(v) for k, v in (payload.get("metrics") or {}).items()})
        return h
