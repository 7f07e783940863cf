"""Predict, then reveal: a lecture preset's questions to the class, asked at a step before the lesson shows,
scored against what the run then did.

A preset holds its predictions as ``[[predict]]`` tables::

    [[predict]]
    question = "How many of the 8 modes will the generator cover at step 1,500?"
    kind = "number"        # number: estimate a number; choice: pick one of ``choices``; lower: which of two
                           # curves will be lower; click: click where the samples will be (on the main view)
    at = 0                 # ask on reaching this step (0: before the run starts; the window pauses there)
    reveal = 1500          # score on reaching this step (the window pauses there and shows the answer)
    source = "snapshot"    # what happened: a value of the heavy snapshot at ``reveal`` (dotted path) or of
    key = "modes"          # the metric rows ("rows"), like a preset's [lesson]
    tolerance = 0          # number: an answer within this of the truth is right (``ratio``: within a factor)
    choices = ["…", "…"]   # choice: the answers; ``cuts`` (ascending) put the truth's value into one of them:
    cuts = [0.5]           # choice i when cuts[i-1] <= value < cuts[i]
    keys = ["a", "b"]      # lower: the two values compared (choices name them)
    radius = 0.25          # click: a click covers the samples (``key``: an N×2 array) within this distance
    explain = "…"          # said with the reveal: why it happened

Pure core: no Qt. The window asks and records (genviz.ui.predict); answers live in the run model and the
session, and export as CSV."""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

KINDS = ("number", "choice", "lower", "click")
MAX_PREDICTIONS = 12
MAX_CLICKS = 50


class PredictionError(ValueError):
    pass


@dataclass(frozen=True)
class Prediction:
    question: str
    kind: str
    reveal: int
    key: str = ""
    at: int = 0
    source: str = "snapshot"
    reduce: str = "mean"
    choices: tuple[str, ...] = ()
    cuts: tuple[float, ...] = ()
    keys: tuple[str, ...] = ()
    tolerance: float = 0.0
    ratio: float = 0.0
    radius: float = 0.0
    unit: str = ""
    explain: str = ""
    index: int = 0  # its place among the preset's predictions

    def options(self) -> tuple[str, ...]:
        """What the class picks from (choice and lower), lettered A, B, C …"""
        return tuple(f"{chr(65 + i)}: {c}" for i, c in enumerate(self.choices))


def _number(raw: dict, key: str, name: str, default=None, low=-math.inf, high=math.inf) -> float:
    v = raw.get(key, default)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or not low <= v <= high:
        raise PredictionError(f"preset {name}: predict.{key} must be a number in [{low}, {high}], got {str(v)[:40]!r}")
    return float(v)


def _text(raw: dict, key: str, name: str, limit: int, required: bool = False) -> str:
    v = raw.get(key, "")
    if not isinstance(v, str) or len(v) > limit or (required and not v.strip()):
        raise PredictionError(f"preset {name}: predict.{key} must be a text of at most {limit} characters")
    return " ".join(v.split())


def read_predictions(raw, name: str) -> tuple[Prediction, ...]:
    """The ``[[predict]]`` tables of a preset file, checked (a bad one: one line naming the preset and why)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_PREDICTIONS or not all(isinstance(r, dict) for r in raw):
        raise PredictionError(f"preset {name}: [[predict]] must be at most {MAX_PREDICTIONS} tables")
    out = []
    for i, r in enumerate(raw):
        unknown = set(r) - {"question", "kind", "at", "reveal", "source", "key", "reduce", "choices", "cuts", "keys",
                            "tolerance", "ratio", "radius", "unit", "explain"}
        if unknown:
            raise PredictionError(f"preset {name}: predict has unknown fields {sorted(unknown)}")
        kind = r.get("kind")
        if kind not in KINDS:
            raise PredictionError(f"preset {name}: predict.kind must be one of {', '.join(KINDS)}, got {str(kind)[:20]!r}")
        at = int(_number(r, "at", name, 0, 0, 10 ** 9))
        reveal = int(_number(r, "reveal", name, None, 1, 10 ** 9))
        if reveal <= at:
            raise PredictionError(f"preset {name}: predict.reveal ({reveal}) must come after at ({at})")
        source = r.get("source", "snapshot")
        if source not in ("snapshot", "rows"):
            raise PredictionError(f"preset {name}: predict.source must be 'snapshot' or 'rows'")
        reduce = r.get("reduce", "mean")
        if reduce not in ("min", "max", "mean"):
            raise PredictionError(f"preset {name}: predict.reduce must be min, max or mean")
        choices = r.get("choices", [])
        if not isinstance(choices, list) or len(choices) > 6 or not all(isinstance(c, str) and 0 < len(c) <= 200
                                                                        for c in choices):
            raise PredictionError(f"preset {name}: predict.choices must be at most 6 texts")
        cuts = r.get("cuts", [])
        if not isinstance(cuts, list) or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cuts) \
                or list(cuts) != sorted(cuts):
            raise PredictionError(f"preset {name}: predict.cuts must be ascending numbers")
        keys = r.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) and 0 < len(k) <= 100 for k in keys):
            raise PredictionError(f"preset {name}: predict.keys must be texts")
        key = _text(r, "key", name, 100)
        if kind == "choice" and (len(choices) < 2 or len(cuts) != len(choices) - 1 or not key):
            raise PredictionError(f"preset {name}: a choice prediction needs a key, 2 to 6 choices and one cut fewer")
        if kind == "lower" and (len(keys) != 2 or len(choices) != 2):
            raise PredictionError(f"preset {name}: a lower prediction needs two keys and two choices naming them")
        if kind in ("number", "click") and not key:
            raise PredictionError(f"preset {name}: a {kind} prediction needs the key of what happened")
        radius = _number(r, "radius", name, 0.0, 0.0, 1e6)
        if kind == "click" and radius <= 0:
            raise PredictionError(f"preset {name}: a click prediction needs a radius > 0")
        out.append(Prediction(question=_text(r, "question", name, 500, required=True), kind=kind, reveal=reveal, key=key,
                              at=at, source=source, reduce=reduce, choices=tuple(choices),
                              cuts=tuple(float(c) for c in cuts), keys=tuple(keys),
                              tolerance=_number(r, "tolerance", name, 0.0, 0.0, 1e12),
                              ratio=_number(r, "ratio", name, 0.0, 0.0, 1e6), radius=radius,
                              unit=_text(r, "unit", name, 40), explain=_text(r, "explain", name, 1000), index=i))
    ats = [p.at for p in out]
    if ats != sorted(ats):
        raise PredictionError(f"preset {name}: predictions must be in the order they are asked (by at)")
    return tuple(out)


# -- what happened ----------------------------------------------------------------------------------------
def lookup(data, key: str):
    """A dotted path into a snapshot's data ('coverage.modes'); KeyError when it is not there."""
    value = data
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, dict) and part.lstrip("-").isdigit() and int(part) in value:
            value = value[int(part)]
        else:
            raise KeyError(key)
    return value


def _scalar(value, reduce: str) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return float("nan")
    return float({"min": np.min, "max": np.max, "mean": np.mean}[reduce](arr))


def _value(pred: Prediction, key: str, data: dict, rows: dict) -> float:
    if pred.source == "rows":
        col = rows.get(key)
        if col is None or len(col) == 0:
            raise KeyError(key)
        col = np.asarray(col, dtype=np.float64)
        finite = col[np.isfinite(col)]
        if finite.size == 0:
            raise KeyError(key)
        return float(finite[-1])
    return _scalar(lookup(data, key), pred.reduce)


@dataclass
class Outcome:
    """What happened, and the answer scored against it."""

    truth: object  # a number, a choice's index, or an N×2 array of points (click)
    truth_text: str
    correct: bool
    score: float  # 0..1
    detail: str = ""


def truth_of(pred: Prediction, data: dict, rows: dict | None = None):
    """What happened at the reveal: from the heavy snapshot's ``data`` (or the metric ``rows`` up to the
    reveal step). Raises KeyError when the run's data lacks it."""
    rows = rows or {}
    if pred.kind == "lower":
        a, b = (_value(pred, k, data, rows) for k in pred.keys)
        return 0 if a <= b else 1, (a, b)
    if pred.kind == "click":
        pts = np.asarray(lookup(data, pred.key), dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise KeyError(pred.key)
        return pts, None
    value = _value(pred, pred.key, data, rows)
    if pred.kind == "choice":
        return int(np.searchsorted(np.asarray(pred.cuts), value, side="right")), value
    return value, value


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    if float(v).is_integer() and abs(v) < 1e9:
        return f"{int(v):,}"
    return f"{v:.3g}".replace("-", "−")


def score(pred: Prediction, answer, data: dict, rows: dict | None = None) -> Outcome:
    """The class's ``answer`` (a number; a choice's index; a list of (x, y) clicks) against what the run did."""
    truth, value = truth_of(pred, data, rows)
    unit = f" {pred.unit}" if pred.unit else ""
    if pred.kind == "number":
        a = float(answer)
        err = abs(a - truth)
        if pred.ratio > 0:
            ok = truth > 0 and a > 0 and max(a / truth, truth / a) <= pred.ratio
            band = f"within a factor {pred.ratio:g}"
        else:
            ok = err <= pred.tolerance + 1e-12
            band = "exactly" if pred.tolerance == 0 else f"within ±{_fmt(pred.tolerance)}"
        scale = max(abs(truth), pred.tolerance, 1e-12)
        return Outcome(truth, f"{_fmt(truth)}{unit}", ok, max(0.0, 1.0 - err / scale) if not ok else 1.0,
                       f"you said {_fmt(a)}{unit}; right means {band}")
    if pred.kind in ("choice", "lower"):
        i = int(answer)
        names = pred.options()
        detail = ""
        if pred.kind == "choice":
            detail = f"the value was {_fmt(value)}{unit}"
        else:
            detail = f"{pred.choices[0]}: {_fmt(value[0])}, {pred.choices[1]}: {_fmt(value[1])}"
        return Outcome(truth, names[truth], i == truth, 1.0 if i == truth else 0.0,
                       f"you said {names[i] if 0 <= i < len(names) else '?'}; {detail}")
    clicks = np.asarray(answer, dtype=np.float64).reshape(-1, 2)[:MAX_CLICKS]
    pts = truth[np.all(np.isfinite(truth), axis=1)]
    if len(clicks) == 0 or len(pts) == 0:
        return Outcome(truth, "no samples" if len(pts) == 0 else f"{len(pts):,} samples", False, 0.0, "no clicks")
    d = np.sqrt(((pts[:, None, :] - clicks[None, :, :]) ** 2).sum(-1))  # [samples, clicks]
    covered = float((d.min(1) <= pred.radius).mean())
    used = float((d.min(0) <= pred.radius).mean())  # clicks where samples went
    return Outcome(truth, f"{covered:.0%} of the samples lay within {pred.radius:g} of a click", covered >= 0.5,
                   covered, f"{len(clicks)} clicks, {used:.0%} of them where samples went")


# -- answers: kept in the run and the session, exported as CSV ----------------------------------------------
ANSWER_FIELDS = ("preset", "index", "question", "kind", "asked_at", "answer", "revealed_at", "truth", "correct",
                 "score", "detail", "time")


def raw_answer(pred: Prediction, answer):
    """An answer as plain data: a number, a choice's index, or at most MAX_CLICKS [x, y] clicks."""
    if pred.kind == "click":
        pts = np.asarray(answer, dtype=np.float64).reshape(-1, 2)[:MAX_CLICKS]
        return [[float(x), float(y)] for x, y in pts if math.isfinite(x) and math.isfinite(y)]
    if pred.kind in ("choice", "lower"):
        i = int(answer)
        if not 0 <= i < len(pred.choices):
            raise PredictionError(f"answer {i} is not one of the {len(pred.choices)} choices")
        return i
    a = float(answer)
    if not math.isfinite(a):
        raise PredictionError("the answer must be a finite number")
    return a


def answer_record(preset: str, pred: Prediction, answer, asked_at: int, outcome: Outcome | None, revealed_at: int,
                  when: float) -> dict:
    """One answer as plain data (the session's ``predictions``, the CSV's row)."""
    raw = raw_answer(pred, answer)
    if pred.kind == "click":
        shown = f"{len(raw)} clicks: " + "; ".join(f"({x:.2f}, {y:.2f})" for x, y in raw)
    elif pred.kind in ("choice", "lower"):
        shown = pred.options()[raw]
    else:
        shown = _fmt(raw) + (f" {pred.unit}" if pred.unit else "")
    return {"preset": preset, "index": int(pred.index), "question": pred.question, "kind": pred.kind,
            "asked_at": int(asked_at), "answer": shown, "raw": raw,
            "revealed_at": int(revealed_at) if outcome is not None else None,
            "truth": outcome.truth_text if outcome is not None else None,
            "correct": bool(outcome.correct) if outcome is not None else None,
            "score": round(float(outcome.score), 4) if outcome is not None else None,
            "detail": outcome.detail if outcome is not None else "", "time": float(when)}


ANSWER_SCHEMA = {
    "type": "array", "maxItems": 1000, "items": {
        "type": "object", "additionalProperties": False, "required": ["preset", "index", "question", "kind", "answer"],
        "properties": {
            "preset": {"type": "string", "maxLength": 200}, "index": {"type": "integer", "minimum": 0, "maximum": 100},
            "question": {"type": "string", "maxLength": 500}, "kind": {"enum": list(KINDS)},
            "asked_at": {"type": "integer", "minimum": 0}, "answer": {"type": "string", "maxLength": 2000},
            "revealed_at": {"type": ["integer", "null"], "minimum": 0},
            "truth": {"type": ["string", "null"], "maxLength": 500},
            "correct": {"type": ["boolean", "null"]}, "score": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "detail": {"type": "string", "maxLength": 1000}, "time": {"type": "number"},
            "raw": {"anyOf": [{"type": "number"}, {"type": "array", "maxItems": MAX_CLICKS, "items": {
                "type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}}}]}}}}


def answers_csv(answers: list[dict]) -> str:
    """A lecture's predictions as CSV: one row per answer, the columns of ``ANSWER_FIELDS``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ANSWER_FIELDS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for a in answers:
        writer.writerow({k: ("" if a.get(k) is None else a.get(k)) for k in ANSWER_FIELDS})
    return out.getvalue()


def progress(predictions: tuple[Prediction, ...], answers: list[dict], step: int) -> tuple[str, Prediction | None, int]:
    """Where a run at ``step`` stands with its preset's ``predictions``, given this round's ``answers``:
    ("reveal", p, step) — p was answered and its reveal step is reached; ("ask", p, step) — p is to be asked now;
    ("play", None, stop) — train on and pause at ``stop`` (the pending answer's reveal or the next question);
    ("free", None, 0) — nothing more to ask (a question whose reveal step has passed unasked is skipped)."""
    by_index = {a["index"]: a for a in answers}
    for p in predictions:
        a = by_index.get(p.index)
        if a is not None and a.get("revealed_at") is None:
            return ("reveal", p, step) if step >= p.reveal else ("play", None, p.reveal)
    for p in predictions:
        if p.index in by_index or step >= p.reveal:
            continue
        return ("ask", p, step) if step >= p.at else ("play", None, p.at)
    return "free", None, 0


def _centres(points: np.ndarray, k: int = 8, radius: float = 0.25) -> list[tuple[float, float]]:
    """Where ``points`` crowd: up to ``k`` centres, each the mean of the points within ``radius`` of the densest
    point left (a greedy mode finder for the click question's answer key)."""
    left = np.asarray(points, dtype=np.float64)
    left = left[np.all(np.isfinite(left), axis=1)]
    out = []
    while len(left) and len(out) < k:
        d = np.sqrt(((left[:, None, :] - left[None, ::max(1, len(left) // 400), :]) ** 2).sum(-1))
        i = int((d <= radius).sum(1).argmax())
        near = np.sqrt(((left - left[i]) ** 2).sum(1)) <= radius
        if near.sum() < max(5, 0.02 * len(points)):
            break
        out.append(tuple(left[near].mean(0)))
        left = left[~near]
    return out
