"""Parallel coordinates of a comparison's runs (a sweep's folder, or one the compare view saved), as plain data: one
axis per setting the runs vary (numbers, on a log scale when they span a factor of 8 or more and are all positive;
other values as categories), the seed when it varies, and one per final metric; brushing keeps the runs whose every
brushed axis lies in its range. Pure core: no Qt, no torch."""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

import numpy as np

MAX_METRIC_AXES = 10
SKIPPED_METRICS = ("steps", "seed")


@dataclass
class Axis:
    name: str
    kind: str  # "setting", "seed" or "metric"
    values: np.ndarray  # float per run (NaN: the run has none); for categories, the category's index
    labels: list[str] | None = None  # the categories' names (None: a numeric axis)
    log: bool = False
    raw: list = field(default_factory=list)  # each run's value as given (the CSV's)

    def scaled(self) -> np.ndarray:
        """The values mapped to [0, 1] on the axis (NaN stays NaN); a constant axis sits at ½."""
        v = np.log10(self.values) if self.log else self.values.astype(np.float64)
        if self.labels is not None:
            return (v + 0.5) / max(len(self.labels), 1)
        finite = v[np.isfinite(v)]
        if not len(finite):
            return np.full(len(v), np.nan)
        lo, hi = float(finite.min()), float(finite.max())
        if hi == lo:
            return np.where(np.isfinite(v), 0.5, np.nan)
        return (v - lo) / (hi - lo)

    def ticks(self, n: int = 5) -> list[tuple[float, str]]:
        """(position in [0, 1], label) along the axis."""
        if self.labels is not None:
            k = len(self.labels)
            return [((i + 0.5) / k, lab) for i, lab in enumerate(self.labels)]
        finite = self.values[np.isfinite(self.values)]
        if not len(finite):
            return []
        lo, hi = float(finite.min()), float(finite.max())
        if hi == lo:
            return [(0.5, f"{lo:.4g}")]
        distinct = np.unique(finite)
        if len(distinct) <= 10 and (self.log or np.all(distinct == np.round(distinct))):  # the values themselves
            span = (math.log10(hi) - math.log10(lo)) if self.log else hi - lo
            return [(((math.log10(v) - math.log10(lo)) if self.log else v - lo) / span, f"{v:.3g}") for v in distinct]
        out = []
        for t in np.linspace(0, 1, n):
            value = 10 ** (math.log10(lo) + t * (math.log10(hi) - math.log10(lo))) if self.log else lo + t * (hi - lo)
            out.append((float(t), f"{value:.3g}"))
        return out


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _axis(name: str, kind: str, raw: list) -> Axis:
    present = [v for v in raw if v is not None]
    if present and all(_numeric(v) for v in present):
        values = np.array([float(v) if v is not None else np.nan for v in raw])
        finite = values[np.isfinite(values)]
        log = bool(len(finite) and finite.min() > 0 and finite.max() / finite.min() >= 8 and kind != "seed")
        return Axis(name, kind, values, None, log, list(raw))
    labels = sorted({str(v) for v in present})
    values = np.array([labels.index(str(v)) if v is not None else np.nan for v in raw], dtype=np.float64)
    return Axis(name, kind, values, labels, False, list(raw))


def parallel_axes(manifest: dict) -> tuple[list[Axis], list[str]]:
    """The axes of a comparison's manifest (genviz.core.compare.load_manifest) and its runs' ids. Failed runs keep
    their settings and have no metrics (NaN)."""
    runs = manifest.get("runs", [])
    ids = [str(r.get("id", i)) for i, r in enumerate(runs)]
    axes = []
    keys = list(dict.fromkeys(k for r in runs for k in (r.get("varied") or {})))
    for key in keys:
        raw = [(r.get("varied") or {}).get(key) for r in runs]
        if len({str(v) for v in raw}) > 1:
            axes.append(_axis(key, "setting", raw))
    seeds = [r.get("seed") for r in runs]
    if len(set(map(str, seeds))) > 1:
        axes.append(_axis("seed", "seed", seeds))
    names = list(dict.fromkeys(k for r in runs for k, v in (r.get("metrics") or {}).items()
                               if _numeric(v) and k not in SKIPPED_METRICS and not k.endswith("_se")))
    metric_axes = []
    for key in names:
        raw = [(r.get("metrics") or {}).get(key) if r.get("status") != "failed" else None for r in runs]
        numbers = [float(v) for v in raw if _numeric(v)]
        if len(numbers) >= max(1, len(runs) // 2) and (len(runs) == 1 or max(numbers) > min(numbers)):
            metric_axes.append(_axis(key, "metric", [v if _numeric(v) else None for v in raw]))
    return axes + metric_axes[:MAX_METRIC_AXES], ids


def brushed(axes: list[Axis], brushes: dict[str, tuple[float, float]]) -> np.ndarray:
    """The runs inside every brush: {axis name: (low, high) on the axis's [0, 1] scale}. A run without a value on a
    brushed axis is outside it."""
    n = len(axes[0].values) if axes else 0
    keep = np.ones(n, dtype=bool)
    for axis in axes:
        if axis.name in brushes:
            lo, hi = sorted(brushes[axis.name])
            s = axis.scaled()
            keep &= np.isfinite(s) & (s >= lo - 1e-9) & (s <= hi + 1e-9)
    return keep


def csv_text(axes: list[Axis], ids: list[str], keep: np.ndarray | None = None) -> str:
    """The runs as CSV: id, each axis's value as the manifest gives it, and whether the brushes keep the run."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", *[a.name for a in axes], "selected"])
    for i, run_id in enumerate(ids):
        cells = ["" if a.raw[i] is None else a.raw[i] for a in axes]
        w.writerow([run_id, *cells, "" if keep is None else int(bool(keep[i]))])
    return buf.getvalue()
