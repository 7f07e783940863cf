"""`genviz bench all`: every lab's live benchmark — and each experiment of the paged labs — in one table, dated with
the commit and the machine that measured it.

For each lab (or experiment): headless steps/s (the runner in a bare loop, one torch thread per spare core), then the
real window on a worker process for the same time: live steps/s and its ratio to headless (goal >= 0.8), redraws per
second, lateness of a 10 ms GUI timer p50/p99 (goal p99 <= 16 ms), peak memory of the GUI and of the worker. Printed
as JSON lines while it runs, then as a Markdown table. ``--hog`` measures with one CPU-heavy process beside it.
``--repeat N`` measures each case N times in turn (headless, live, headless, live...): the row gives the medians
and the range of the ratios, since one 8 s pair moved by 0.1-0.3 from run to run on the 2-core machine (manifold
0.63 then 0.96, quiet, minutes apart).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

GOAL_RATIO, GOAL_P99 = 0.8, 16.0


def commit() -> str:
    """The commit of the source tree genviz runs from (and whether it has uncommitted changes), or its version."""
    import genviz

    root = Path(genviz.__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return f"genviz {genviz.__version__} (installed)"


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gib = None
    try:
        gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        pass
    return (f"{model}, {os.cpu_count()} cores" + (f", {gib:.0f} GiB" if gib else "") +
            f", Python {platform.python_version()}, torch {torch.__version__}")


def cases(labs: dict, chosen: list[str] | None) -> list[tuple[str, dict]]:
    """(lab, settings) for every lab, and for a paged lab (an ``experiment`` setting) each of its experiments."""
    out = []
    for name, lab in labs.items():
        if chosen and name not in chosen:
            continue
        experiment = next((s for s in lab.settings if s.name == "experiment" and s.kind == "choice"), None)
        if experiment is None:
            out.append((name, {}))
        else:
            out += [(name, {"experiment": e}) for e in experiment.choices]
    return out


def markdown(rows: list[dict], header: dict) -> str:
    lines = [f"`genviz bench all`, {header['date']}, commit {header['commit']}, {header['machine']}"
             + (", **with one CPU-heavy process beside it**" if header.get("hog") else ", no load added by the benchmark") +
             f"; {header['seconds']:g} s per phase"
             + (f", each case {header['repeat']} times in turn (medians; the range in brackets)"
                if header.get("repeat", 1) > 1 else "") +
             f". Goals: live ≥ {GOAL_RATIO:g}× headless, timer lateness p99 ≤ "
             f"{GOAL_P99:g} ms.", "",
             "| lab | headless steps/s | live steps/s | × headless | redraws/s | lateness p50 / p99 (ms) | peak MB "
             "(GUI / worker) | goals |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = r["lab"] + (f" ({r['settings']['experiment']})" if r["settings"].get("experiment") else "")
        if "error" in r:
            lines.append(f"| {name} | – | – | – | – | – | – | failed: {r['error'][:80]} |")
            continue
        ok = r["ratio_to_headless"] >= GOAL_RATIO and r["timer_lateness_ms_p99"] <= GOAL_P99
        ratio, p99 = f"{r['ratio_to_headless']:.2f}", f"{r['timer_lateness_ms_p99']:.1f}"
        if len(r.get("ratios", ())) > 1:  # the medians of repeats, with the range they spanned
            ratio += f" ({min(r['ratios']):.2f}–{max(r['ratios']):.2f})"
            p99 += f" ({min(r['p99s']):.1f}–{max(r['p99s']):.1f})"
        lines.append(f"| {name} | {r['headless_steps_per_sec']:,.1f} | {r['steps_per_sec']:,.1f} | "
                     f"{ratio} | {r['redraws_per_sec']:.1f} | {r['timer_lateness_ms_p50']:.1f} / "
                     f"{p99} | {r['gui_peak_mb'] or '–'} / {r['worker_peak_mb'] or '–'} | "
                     f"{'met' if ok else '**missed**'} |")
    met = sum(1 for r in rows if "error" not in r and r["ratio_to_headless"] >= GOAL_RATIO
              and r["timer_lateness_ms_p99"] <= GOAL_P99)
    lines += ["", f"{met} of {len(rows)} met both goals."]
    return "\n".join(lines) + "\n"


def measure(lab: str, settings: dict, seconds: float, repeats: int, threads: int) -> dict:
    """Headless then live, ``repeats`` times in turn: the live figures' medians (peak memory: the largest),
    the ratio's median, and each repeat's ratio and lateness p99."""
    import numpy as np

    from genviz.bench.live import headless_steps_per_sec, live_in_subprocess

    bares, lives = [], []
    for _ in range(repeats):
        bares.append(headless_steps_per_sec(lab, seconds, threads, None, settings))
        lives.append(live_in_subprocess(lab, "process", seconds, None, settings))
    ratios = [live["steps_per_sec"] / bare for live, bare in zip(lives, bares)]
    row = {k: v for k, v in lives[0].items() if k not in ("lab", "engine")}
    for key, value in row.items():
        values = [live[key] for live in lives if live.get(key) is not None]
        if isinstance(value, (int, float)) and values:
            row[key] = round(float(max(values) if key.endswith("_mb") else np.median(values)), 2)
    row.update(headless_steps_per_sec=round(float(np.median(bares)), 1), ratio_to_headless=round(float(np.median(ratios)), 3))
    if repeats > 1:
        row.update(ratios=[round(r, 3) for r in ratios], p99s=[live["timer_lateness_ms_p99"] for live in lives])
    return row


def main(argv: list[str]) -> int:
    from genviz.bench.live import emit
    from genviz.core.labs import all_labs

    p = argparse.ArgumentParser(prog="genviz bench all", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0, help="length of each timed phase (default 8)")
    p.add_argument("--labs", help="comma-separated labs (default: every installed lab)")
    p.add_argument("--hog", action="store_true", help="measure with one CPU-heavy process beside it")
    p.add_argument("--repeat", type=int, default=1, help="measure each case this many times in turn; the row "
                   "gives the medians and the range of the ratios")
    p.add_argument("--out", help="also write the Markdown table to this file")
    args = p.parse_args(argv)
    labs = all_labs()
    chosen = [x.strip() for x in args.labs.split(",")] if args.labs else None
    unknown = [x for x in chosen or () if x not in labs]
    if unknown:
        print(f"genviz bench all: no lab {', '.join(unknown)} (installed: {', '.join(labs)})", file=sys.stderr)
        return 2
    header = {"bench": "all", "date": datetime.date.today().isoformat(), "commit": commit(), "machine": machine(),
              "seconds": args.seconds, "hog": args.hog, "repeat": max(1, args.repeat)}
    emit(header)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.hog else None
    rows = []
    threads = max(1, (os.cpu_count() or 2) - 1)
    try:
        for lab, settings in cases(labs, chosen):
            row = {"bench": "all", "lab": lab, "settings": settings}
            try:
                row.update(measure(lab, settings, args.seconds, max(1, args.repeat), threads))
            except Exception as exc:  # one lab's failure is a row of the table; the others are measured
                row["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
            emit(row)
            rows.append(row)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    table = markdown(rows, header)
    print(table)
    if args.out:
        Path(args.out).write_text(table, encoding="utf-8")
    return 0 if rows and all("error" not in r for r in rows) else 1
