"""Sweeps: one lab's runs over a grid of settings and a range of seeds, headless, on a process pool
or a Ray cluster; and the folder they leave, which the compare view opens (``genviz --compare DIR``).

A sweep's folder holds
- ``runs.jsonl``: one JSON line per finished run (its settings, seed, status, final metrics);
- ``runs/RUN.genviz``: each run's session (curves, snapshots, checkpoints), what the compare view shows;
- ``compare.json``: the manifest the compare view reads (also what a saved comparison writes);
- ``summary.md``: the table of final metrics, mean ± std over seeds per setting.

Every grid value is parsed by the lab's own settings before any run starts, so a typo or an
out-of-range value costs nothing. A run that fails is reported in the table; the others finish.
Runs never share a process with the caller's torch state: each is a worker process (or a Ray task)
with one torch thread. Pure core: no Qt."""
from __future__ import annotations

import itertools
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from genviz.core.compare import MANIFEST, save_manifest
from genviz.core.labs import LabInfo
from genviz.core.settings import SettingError

MAX_RUNS = 1000
# figures that describe the run, not its result: left out of the summary table
NOT_RESULTS = {"steps", "seconds", "seed", "n_modes", "lab"}


def _range_text(spec) -> str:
    if spec.kind == "choice" and getattr(spec, "choices", None):
        return f"one of {', '.join(map(str, spec.choices))}"
    lo, hi = spec.minimum, spec.maximum
    if lo is None and hi is None:
        return f"a {spec.kind}"
    return f"range {'-∞' if lo is None else lo} … {'∞' if hi is None else hi}"


def parse_grid(lab: LabInfo, items: Iterable[str]) -> dict[str, list]:
    """``["lr_g=1e-3,1e-4", "loss=nonsat,wgan-gp"]`` -> ``{"lr_g": [0.001, 0.0001], ...}``, each value parsed
    and range-checked by the lab's setting. Values are split at commas, or at ``|`` when the text has one
    (a data name such as ``mixture:0,0;1,1`` holds commas). Raises SettingError naming the setting and its
    range."""
    specs = {s.name: s for s in lab.settings}
    grid: dict[str, list] = {}
    for item in items:
        if "=" not in item:
            raise SettingError(f"--grid expects NAME=VALUE,VALUE..., got {item!r}")
        name, raw = (part.strip() for part in item.split("=", 1))
        if name not in specs:
            raise SettingError(f"--grid: the {lab.name} lab has no setting '{name}'; known: {', '.join(sorted(specs))}")
        if name in grid:
            raise SettingError(f"--grid: '{name}' is given twice")
        texts = [v.strip() for v in raw.split("|" if "|" in raw else ",")]
        if not texts or any(not t for t in texts):
            raise SettingError(f"--grid {name}: an empty value in {raw!r}")
        values = []
        for text in texts:
            try:
                values.append(specs[name].parse(text))
            except SettingError as exc:
                extra = "" if specs[name].kind == "choice" else f" ({_range_text(specs[name])})"
                raise SettingError(f"--grid {name}={text}: {exc}{extra}") from None
        if len(set(map(repr, values))) != len(values):
            raise SettingError(f"--grid {name}: a value is given twice in {raw!r}")
        grid[name] = values
    return grid


def parse_seeds(text: str) -> list[int]:
    """``0-4`` -> 0..4; ``0,3,7``; ``5`` -> [5]."""
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = (int(p) for p in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                if hi - lo + 1 + len(seeds) > MAX_RUNS:  # checked before a range is expanded (0-100000000)
                    raise SettingError(f"--seeds {text!r}: more than {MAX_RUNS:,} seeds; a sweep has at most "
                                       f"{MAX_RUNS:,} runs")
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
            if len(seeds) > MAX_RUNS:
                raise SettingError(f"--seeds: more than {MAX_RUNS:,} seeds; a sweep has at most {MAX_RUNS:,} runs")
    except SettingError:
        raise
    except ValueError:
        raise SettingError(f"--seeds expects a range like 0-4 or a list like 0,3,7, got {text!r}") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise SettingError(f"--seeds: seeds must be distinct and >= 0, got {text!r}")
    return seeds


def plan(lab: LabInfo, grid: dict[str, list], seeds: list[int], steps: int, data: str | None = None,
         fixed: dict | None = None, frame_every: int = 0, model_code=None) -> list[dict]:
    """One job per (grid point, seed), in order; ``fixed``: settings every run shares; ``model_code``: a user's
    model every run trains (a ModelCode or its dict, named by the user on the command line)."""
    code = model_code.to_dict() if hasattr(model_code, "to_dict") else model_code
    if steps < 1:
        raise SettingError(f"--steps must be at least 1, got {steps}")
    names = list(grid)
    points = list(itertools.product(*(grid[n] for n in names))) or [()]
    if len(points) * len(seeds) > MAX_RUNS:
        raise SettingError(f"the sweep has {len(points) * len(seeds):,} runs; at most {MAX_RUNS:,}")
    every = frame_every or max(1, steps // 50)  # 50 frames a run: the compare view's timeline
    jobs = []
    from genviz.core.runner import data_for

    for i, point in enumerate(points):
        data_for(lab, {**(fixed or {}), **dict(zip(names, point))}, data)  # --data where nothing reads it: refused
        for seed in seeds:
            varied = dict(zip(names, point))
            jobs.append({"id": f"run{len(jobs):03d}", "point": i, "lab": lab.name, "varied": varied,
                         "settings": {**(fixed or {}), **varied}, "seed": seed, "steps": steps, "data": data,
                         "frame_every": every, "checkpoint_every": every * 10, "model_code": code})
    return jobs


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def run_one(job: dict) -> dict:
    """Train one job and return its record with its session file's bytes (so a Ray task on another machine
    sends them back). Never raises: a failure is the record's ``status`` and ``error``."""
    import torch

    from genviz.core.allocator import keep_freed_memory
    from genviz.core.headless import record_run
    from genviz.core.protocol import EngineConfig
    from genviz.core.session import save_session

    torch.set_num_threads(1)
    keep_freed_memory()  # a job's process is the sweep's own (allocator.py)
    record = {k: job[k] for k in ("id", "point", "varied", "seed", "steps")}
    t0 = time.perf_counter()
    try:
        config = EngineConfig(lab=job["lab"], settings=dict(job["settings"]), seed=int(job["seed"]),
                              data=job.get("data"), device="cpu", torch_threads=1, model_code=job.get("model_code"))
        session, metrics = record_run(config, int(job["steps"]), int(job["frame_every"]), int(job["checkpoint_every"]),
                                      title=job["id"])
        with tempfile.TemporaryDirectory(prefix="genviz-sweep-") as tmp:
            blob = save_session(session, Path(tmp) / "run.genviz").read_bytes()
        record.update(status="stopped" if "stopped" in metrics else "ok", metrics=_json_safe(metrics),
                      session_bytes=blob)
        if "stopped" in metrics:
            record["error"] = str(metrics["stopped"])
    except Exception as exc:  # noqa: BLE001 - a failed run is a row of the table, not the end of the sweep
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300], metrics={})
    record["seconds"] = round(time.perf_counter() - t0, 3)
    return record


def pool_map(fn, jobs: list, workers: int = 0) -> list:
    """``fn`` over ``jobs`` on spawned processes (as many as jobs, at most ``workers`` or one per core), results
    in the jobs' order: the benchmarks' tables of independent trainings."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, min(len(jobs), workers or os.cpu_count() or 1)), mp_context=ctx) as pool:
        return list(pool.map(fn, jobs))


def _failed(job: dict, error: str) -> dict:
    return {**{k: job[k] for k in ("id", "point", "varied", "seed", "steps")}, "status": "failed",
            "error": error[:300], "metrics": {}, "seconds": None}


def _pool_worker(conn) -> None:
    """A sweep's worker process: runs the jobs it is sent, one at a time, until told to stop (None). It ignores
    Ctrl-C (the sweep decides) and leaves at once when the sweep's process is gone (killed: no orphan trains on)."""
    import multiprocessing
    import signal
    import threading

    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()

    def watch_parent():
        while True:
            if parent is not None and not parent.is_alive():
                os._exit(0)
            time.sleep(0.2)

    threading.Thread(target=watch_parent, name="genviz-sweep-parent-watch", daemon=True).start()
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(run_one(job))


def run_local(jobs: list[dict], workers: int, on_done: Callable[[dict], None]) -> None:
    """Every job on ``workers`` spawned worker processes; ``on_done`` gets each record as it finishes. A worker
    that dies (killed, out of memory) fails its own job only and is replaced; Ctrl-C (KeyboardInterrupt) kills
    every worker at once and is raised again; the workers die with this process."""
    import multiprocessing
    from multiprocessing.connection import wait

    if not jobs:
        return
    ctx = multiprocessing.get_context("spawn")
    queue = list(jobs)
    running: dict = {}  # process -> (connection, job or None)

    def start_worker():
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_pool_worker, args=(theirs,), name="genviz-sweep-worker", daemon=True)
        proc.start()
        theirs.close()
        running[proc] = (ours, None)
        return proc

    def feed(proc):
        conn, _ = running[proc]
        if queue:
            job = queue.pop(0)
            conn.send(job)
            running[proc] = (conn, job)
        else:
            conn.send(None)
            running.pop(proc)
            proc.join(5)

    try:
        for _ in range(max(1, min(workers, len(jobs)))):
            feed(start_worker())
        while running:
            ready = wait([c for c, _ in running.values()] + [p.sentinel for p in running], timeout=1.0)
            for proc in list(running):
                conn, job = running[proc]
                if conn in ready:
                    try:
                        record = conn.recv()
                    except (EOFError, OSError):
                        record = None
                    if record is not None:
                        on_done(record)
                        feed(proc)
                        continue
                if proc.sentinel in ready or not proc.is_alive():
                    proc.join(1)
                    running.pop(proc)
                    conn.close()
                    if job is not None:
                        on_done(_failed(job, f"the worker process died (exit code {proc.exitcode})"))
                    if queue:
                        feed(start_worker())
    finally:
        for proc, (conn, _) in list(running.items()):  # Ctrl-C or an error: no worker outlives the sweep
            proc.kill()
        for proc, (conn, _) in list(running.items()):
            proc.join(2)
            conn.close()


def run_ray(jobs: list[dict], address: str | None, on_done: Callable[[dict], None]) -> dict:
    """Every job as a Ray task (one CPU each) on the cluster at ``address`` (a local Ray instance when None);
    returns what the cluster offered."""
    try:
        import ray
    except ImportError:
        raise SettingError("--backend ray needs Ray: pip install 'genviz[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        resources = ray.cluster_resources()
        task = ray.remote(num_cpus=1, max_retries=0)(run_one)
        pending = {task.remote(job): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            try:
                record = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - the task's worker died
                record = _failed(job, f"the Ray task failed: {exc}".splitlines()[0])
            on_done(record)
        return {"cpus": resources.get("CPU"), "nodes": len(ray.nodes())}
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()


def summarize(records: list[dict]) -> list[dict]:
    """One row per grid point: its settings, how many runs succeeded or failed, and for every numeric final
    metric the mean and standard deviation (ddof 1) over its successful seeds."""
    rows = []
    by_point: dict[int, list[dict]] = {}
    for r in records:
        by_point.setdefault(r["point"], []).append(r)
    for point in sorted(by_point):
        rs = sorted(by_point[point], key=lambda r: r["seed"])
        ok = [r for r in rs if r["status"] != "failed"]
        stats = {}
        names = [k for k, v in (ok[0]["metrics"] if ok else {}).items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in NOT_RESULTS]
        for name in names:
            vals = np.array([r["metrics"].get(name) for r in ok if isinstance(r["metrics"].get(name), (int, float))],
                            dtype=np.float64)
            vals = vals[np.isfinite(vals)]
            if len(vals):
                stats[name] = {"mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if len(vals) > 1 else None,
                               "n": int(len(vals))}
        rows.append({"point": point, "varied": rs[0]["varied"], "runs": len(rs), "ok": len(ok),
                     "failed": [{"id": r["id"], "seed": r["seed"], "error": r.get("error", "")} for r in rs
                                if r["status"] == "failed"],
                     "stopped": [r["id"] for r in rs if r["status"] == "stopped"], "metrics": stats})
    return rows


def _cell(stat: dict | None) -> str:
    if stat is None:
        return "–"
    from genviz.core.numbers import decimals_for

    mean, std = stat["mean"], stat["std"]
    if std is None or std == 0:
        return f"{mean:.4g}" + ("" if std is None else " ± 0")
    d = decimals_for(std) if std > 0 else 4
    return f"{mean:.{d}f} ± {std:.{d}f}"


def summary_table(rows: list[dict], metrics: list[str] | None = None) -> str:
    """A Markdown table: the varied settings, runs that succeeded out of all, and each metric's mean ± std."""
    names = metrics or sorted({m for r in rows for m in r["metrics"]})
    varied = list(rows[0]["varied"]) if rows else []
    head = [*varied, "runs ok", *(f"{m} (mean ± std)" for m in names)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["varied"][v]) for v in varied] + [f"{r['ok']}/{r['runs']}"]
        for m in names:  # a metric some runs could not give (an infinite KL): how many runs the cell averages
            stat = r["metrics"].get(m)
            cells.append(_cell(stat) + (f" (n={stat['n']})" if stat and stat["n"] < r["ok"] else ""))
        lines.append("| " + " | ".join(cells) + " |")
    failed = [f for r in rows for f in r["failed"]]
    for f in failed:
        lines.append(f"\nfailed: {f['id']} (seed {f['seed']}): {f['error']}")
    return "\n".join(lines)


PLAN_FILE = "sweep.json"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_results(out: Path, lab: LabInfo, records: list[dict], title: str, steps: int, total: int) -> list[dict]:
    """compare.json, summary.md and runs.jsonl for the runs finished so far, each written atomically: an
    interrupted or killed sweep leaves a folder the compare view opens and ``--resume`` continues."""
    records = sorted(records, key=lambda r: r["id"])
    rows = summarize(records)
    save_manifest(out, lab.name, [{"id": r["id"], "session": r.get("session"), "varied": r["varied"],
                                   "seed": r["seed"], "status": r["status"], "error": r.get("error"),
                                   "metrics": _json_safe(r["metrics"])} for r in records], title=title)
    _write_atomic(out / "runs.jsonl", "".join(json.dumps(_json_safe(r)) + "\n" for r in records).encode())
    done = f"{len(records)} of {total} runs" if len(records) < total else f"{len(records)} runs"
    _write_atomic(out / "summary.md", (f"# {lab.name}: {done}, {steps} steps each\n\n" + summary_table(rows)
                                       + "\n").encode())
    return rows


def read_plan(out: str | os.PathLike) -> dict:
    """The plan a sweep folder was started with (``sweep.json``), for ``--resume``."""
    path = Path(out).expanduser() / PLAN_FILE
    try:
        plan_ = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(plan_, dict) or not isinstance(plan_.get("lab"), str):
            raise ValueError("not a sweep plan")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SettingError(f"{out}: not a sweep folder that can be resumed ({PLAN_FILE}: {exc})") from None
    return plan_


def sweep(lab: LabInfo, grid: dict[str, list], seeds: list[int], steps: int, out: str | os.PathLike,
          backend: str = "local", workers: int = 0, address: str | None = None, data: str | None = None,
          fixed: dict | None = None, progress=sys.stderr, resume: bool = False, model_code=None) -> dict:
    """Run the sweep into the folder ``out`` (created; refused when it already holds a sweep, unless ``resume``:
    then only the runs without a finished record run) and return ``{"rows": summary rows, "records": ...,
    "seconds": ..., "backend": ..., "interrupted": bool}``. Each finished run's session, row and the manifest are
    written as it completes; Ctrl-C stops the workers at once and keeps what finished."""
    out = Path(out).expanduser()
    jobs = plan(lab, grid, seeds, steps, data=data, fixed=fixed, model_code=model_code)
    code = jobs[0]["model_code"] if jobs else None
    records: list[dict] = []
    if resume:
        kept = {}
        if (out / "runs.jsonl").is_file():
            for line in (out / "runs.jsonl").read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a kill
                if isinstance(r, dict) and r.get("status") in ("ok", "stopped") and r.get("session") \
                        and (out / str(r["session"])).is_file():
                    kept[r.get("id")] = r
        ids = {j["id"] for j in jobs}
        records = [r for i, r in kept.items() if i in ids]
        jobs = [j for j in jobs if j["id"] not in kept]
    elif (out / MANIFEST).exists() or (out / "runs.jsonl").exists():
        raise SettingError(f"{out} already holds a sweep; give a new --out folder (or --resume {out})")
    (out / "runs").mkdir(parents=True, exist_ok=True)
    _write_atomic(out / PLAN_FILE, json.dumps(_json_safe({"lab": lab.name, "grid": grid, "seeds": seeds,
                                                          "steps": steps, "data": data, "fixed": fixed or {},
                                                          "model_code": code}),
                                              indent=1).encode())
    total = len(records) + len(jobs)
    title = f"sweep of {lab.name}: {', '.join(grid) or 'seeds'}"
    t0 = time.perf_counter()

    def done(record: dict) -> None:
        blob = record.pop("session_bytes", None)
        if blob is not None:
            _write_atomic(out / "runs" / f"{record['id']}.genviz", blob)
            record["session"] = f"runs/{record['id']}.genviz"
        records.append(record)
        _write_results(out, lab, records, title, steps, total)
        if progress is not None:
            secs = record.get("seconds")
            progress.write(f"\r{len(records)}/{total} runs done ({record['id']} {record['status']}"
                           + (f", {secs:.1f} s" if isinstance(secs, (int, float)) else "") + ")   ")
            progress.flush()

    info: dict = {}
    interrupted = False
    try:
        if backend == "local":
            run_local(jobs, workers or os.cpu_count() or 1, done)
        elif backend == "ray":
            info = run_ray(jobs, address, done)
        else:
            raise SettingError(f"unknown backend '{backend}' (local, ray)")
    except KeyboardInterrupt:
        interrupted = True
    if progress is not None:
        progress.write("\n")
    elapsed = time.perf_counter() - t0
    rows = _write_results(out, lab, records, title, steps, total)
    return {"rows": rows, "records": sorted(records, key=lambda r: r["id"]), "seconds": round(elapsed, 2),
            "backend": backend, "interrupted": interrupted, "total": total, **info}
