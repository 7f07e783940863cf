"""Comparing runs, as plain data: which settings differ between runs (what a legend names), runs grouped
over seeds, curves averaged over seeds with a band, and the manifest of a comparison's folder.

A comparison's folder (a sweep's output, or a comparison saved from the compare view) holds
``compare.json``::

    {"format": "genviz-compare", "version": 1, "lab": "gan", "title": "...",
     "runs": [{"id": "run000", "session": "runs/run000.genviz", "varied": {"lr_g": 0.001}, "seed": 0,
               "status": "ok", "metrics": {...}}, ...]}

Session paths are relative to the folder and must stay inside it; the sessions are read by
``genviz.core.session.load_session`` (JSON, arrays without pickle, weights-only checkpoints).
Pure core: no Qt, no torch (a folder's sessions are checked against their labs in a process of its own)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genviz.safeio import InputError

if TYPE_CHECKING:
    from genviz.core.session import Session

MANIFEST = "compare.json"
FORMAT = "genviz-compare"
VERSION = 1
MAX_MANIFEST_BYTES = 20_000_000
MAX_SHOWN = 4  # runs (or seed groups) side by side
MAX_RUNS = 16  # runs a comparison holds (their curves and table rows); at most MAX_SHOWN train and show


class CompareError(InputError):
    pass


def group_key(varied: dict) -> str:
    return json.dumps(varied, sort_keys=True, default=str)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "…"


def differing(runs: list[dict], with_seed: bool = True) -> list[str]:
    """A label per run naming only what differs between the runs: the settings whose values are not all
    the same (``runs[i]["settings"]``), the data, and the seed (``with_seed``). Identical runs: run 1, 2..."""
    keys = sorted({k for r in runs for k in r.get("settings", {})})
    varies = [k for k in keys if len({repr(r.get("settings", {}).get(k)) for r in runs}) > 1]
    labels = []
    for i, r in enumerate(runs):
        parts = [f"{k}={_short(r.get('settings', {}).get(k))}" for k in varies]
        if len({str(q.get("data")) for q in runs}) > 1:
            parts.insert(0, f"data={_short(r.get('data'))}")
        if with_seed and len({q.get("seed") for q in runs}) > 1:
            parts.append(f"seed={r.get('seed')}")
        labels.append(", ".join(parts) or f"run {i + 1}")
    return labels


def seed_groups(runs: list[dict]) -> list[list[int]]:
    """Indices of ``runs`` grouped by everything but the seed (settings and data), in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        key = json.dumps({"s": r.get("settings", {}), "d": r.get("data")}, sort_keys=True, default=str)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def mean_band(curves: list[tuple[np.ndarray, np.ndarray]], points: int = 200):
    """Curves (steps, values) of several seeds on one grid of steps over the range they all cover, and their
    mean and standard deviation (ddof 1; 0 for one curve) at each step: ``(steps, mean, std)``. Each curve is
    linearly interpolated between its recorded steps; non-finite values are left out."""
    clean = []
    for steps, values in curves:
        steps, values = np.asarray(steps, np.float64), np.asarray(values, np.float64)
        ok = np.isfinite(values) & np.isfinite(steps)
        if ok.sum() >= 1:
            order = np.argsort(steps[ok], kind="stable")
            clean.append((steps[ok][order], values[ok][order]))
    if not clean:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    lo, hi = max(s[0] for s, _ in clean), min(s[-1] for s, _ in clean)
    if hi < lo:  # the seeds cover disjoint ranges: nothing to average
        return np.zeros(0), np.zeros(0), np.zeros(0)
    grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
    stack = np.stack([np.interp(grid, s, v) for s, v in clean])
    std = stack.std(0, ddof=1) if len(stack) > 1 else np.zeros(len(grid))
    return grid, stack.mean(0), std


def final_stats(values: list[float]) -> tuple[float, float | None, int]:
    """Mean, standard deviation (ddof 1; None for one value) and count of the finite ``values``."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], np.float64)
    if not len(v):
        return math.nan, None, 0
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None), int(len(v))


def last_values(metrics: dict[str, np.ndarray], window: int = 20) -> dict[str, float]:
    """A run's final value of each metric: the mean of its last ``window`` finite recorded rows (one noisy
    minibatch is not the run's result)."""
    out = {}
    for name, col in metrics.items():
        if name == "step":
            continue
        col = np.asarray(col, np.float64)
        col = col[np.isfinite(col)]
        if len(col):
            out[name] = float(col[-window:].mean())
    return out


# -- the manifest -------------------------------------------------------------------------------------------
def save_manifest(folder: str | os.PathLike, lab: str, runs: list[dict], title: str = "") -> Path:
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps({"format": FORMAT, "version": VERSION, "lab": lab, "title": title, "runs": runs},
                              indent=1, default=str))
    os.replace(tmp, path)
    return path


def load_manifest(folder: str | os.PathLike, labs: tuple[str, ...] | None = None) -> dict:
    """Read and check a comparison folder's manifest, or raise CompareError saying why it cannot be used.
    Each run's ``session`` becomes an absolute path inside the folder (None for a failed run)."""
    folder = Path(folder).expanduser()
    path = folder / MANIFEST if folder.is_dir() else folder
    if not path.is_file():
        raise CompareError(f"{folder}: no {MANIFEST} (a folder written by `genviz sweep` or saved by the compare view)")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise CompareError(f"{path}: {path.stat().st_size:,} bytes is too large for a comparison manifest")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise CompareError(f"{path}: not a comparison manifest (nested too deeply)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompareError(f"{path}: not a comparison manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CompareError(f"{path}: not a genviz comparison (format {data.get('format') if isinstance(data, dict) else '?'!r})")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise CompareError(f"{path}: version {data.get('version')!r} is newer than this genviz reads ({VERSION})")
    lab = data.get("lab")
    if not isinstance(lab, str) or (labs is not None and lab not in labs):
        raise CompareError(f"{path}: unknown lab {lab!r}")
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise CompareError(f"{path}: it lists no runs")
    root = path.parent.resolve()
    checked = []
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise CompareError(f"{path}: run {i + 1} is not an object")
        session = run.get("session")
        if session is not None:
            if not isinstance(session, str):
                raise CompareError(f"{path}: run {i + 1}'s session is not a path")
            full = (root / session).resolve()
            if root != full and root not in full.parents:
                raise CompareError(f"{path}: run {i + 1}'s session {session!r} lies outside the folder")
            session = str(full)
        varied = run.get("varied") if isinstance(run.get("varied"), dict) else {}
        seed = run.get("seed") if isinstance(run.get("seed"), int) else 0
        checked.append({"id": str(run.get("id", f"run{i:03d}")), "session": session, "varied": varied, "seed": seed,
                        "status": str(run.get("status", "ok")), "error": run.get("error"),
                        "metrics": run.get("metrics") if isinstance(run.get("metrics"), dict) else {}})
    return {"lab": lab, "title": str(data.get("title", "")), "runs": checked, "folder": str(root)}


def check_sessions(paths: list[str], labs: tuple[str, ...]) -> dict[str, str]:
    """{path: why} for the sessions whose frames their lab cannot draw (``genviz.core.runner.session_problem``),
    checked in a process of its own: building the runs needs torch, which the GUI never imports."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from genviz.core.runner import check_session_files

    if not paths:
        return {}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(check_session_files, list(paths), labs).result()


def read_compare_folder(folder: str | Path, ids: list[str] | None = None) -> tuple[dict, list[Session | None]]:
    """A comparison folder's manifest (its runs cut to ``ids`` when given, else to the first MAX_RUNS) and each
    run's session (None for a failed run), every session read and its frames checked against its lab's before
    any is drawn: CompareError says which run and why. No Qt: a window calls it off its GUI thread."""
    from genviz.core.labs import all_labs
    from genviz.core.session import load_session

    labs = all_labs()
    manifest = load_manifest(folder, tuple(labs))
    lab = labs[manifest["lab"]]
    if ids is not None:
        wanted = set(ids)
        manifest["runs"] = [e for e in manifest["runs"] if e.get("id") in wanted]
    manifest["runs"] = manifest["runs"][:MAX_RUNS]
    sessions: list[Session | None] = []
    for entry in manifest["runs"]:
        if entry["session"] is None or entry["status"] == "failed":
            sessions.append(None)
            continue
        session = load_session(entry["session"], tuple(labs))
        if session.lab != lab.name:
            raise CompareError(f"{entry['session']} is a {session.lab} session in a {lab.name} comparison")
        sessions.append(session)
    problems = check_sessions([e["session"] for e, s in zip(manifest["runs"], sessions) if s is not None], tuple(labs))
    if problems:
        path, why = next(iter(problems.items()))
        raise CompareError(f"{path}: {why}")
    return manifest, sessions


def run_label(entry: dict) -> str:
    """One line for a run of a manifest: id, the settings it varies, seed, status and a final figure or two."""
    varied = ", ".join(f"{k}={v}" for k, v in (entry.get("varied") or {}).items())
    metrics = entry.get("metrics") or {}
    figures = ", ".join(f"{k} {v:.4g}" for k, v in list(metrics.items())[:40]
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("steps", "seed"))[:80]
    return (f"{entry.get('id', '?')} · {varied or 'defaults'} · seed {entry.get('seed')} · {entry.get('status')}"
            + (f" · {figures}" if figures else ""))
