"""`genviz bench compare`: the compare view and sweeps on this machine.

- Four GAN runs on the ring training together in the compare view, against one run alone in it: each
  run's steps/s and its ratio to the lone run (on 2 cores expect about half or less: four workers share
  two cores), GUI timer lateness p99 (goal <= 16 ms) and redraws per second (goal >= 20, all runs).
- A sweep of 8 GAN runs on the local process pool against the same 8 runs one after another in one
  process (goal: >= 1.7x faster on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np


def _window(runs: int, lab: str, overrides: dict):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    from PySide6.QtWidgets import QApplication

    from genviz.bench.window import event_loop
    from genviz.core.labs import get_lab
    from genviz.core.settings import resolve
    from genviz.ui import theme
    from genviz.ui.compare import CompareWindow
    from genviz.ui.compare_run import Run

    app = QApplication.instance() or QApplication([])
    event_loop(app)
    theme.apply_theme("light")
    info = get_lab(lab)
    settings = resolve(info.settings, overrides)
    w = CompareWindow(info, [Run(info, settings, seed) for seed in range(runs)])
    w.resize(1560, 960)
    w.show()
    return app, w


def live_compare(runs: int, seconds: float, lab: str = "gan", overrides: dict | None = None) -> dict:
    from genviz.bench.live import lateness_figures, lateness_while
    from genviz.bench.window import pump

    app, w = _window(runs, lab, overrides or {})
    w.play(True)
    pump(app, 120.0, until=lambda: all(r.step > 0 for r in w.runs))  # every worker built and training
    pump(app, 2.0)
    start = [r.step for r in w.runs]
    redraws0 = sum(c["panel"].redraws for c in w.columns)
    t0 = time.perf_counter()
    lat = lateness_while(app, lambda: time.perf_counter() - t0 >= seconds)
    elapsed = time.perf_counter() - t0
    rates = [(r.step - s) / elapsed for r, s in zip(w.runs, start)]
    redraws = (sum(c["panel"].redraws for c in w.columns) - redraws0) / elapsed
    w.close()
    pump(app, 0.5)
    return {"runs": runs, "steps_per_sec": [round(x, 1) for x in rates], "redraws_per_sec": round(redraws, 1),
            **lateness_figures(lat)}


def sweep_speed(runs: int, steps: int, lab: str = "gan") -> dict:
    from genviz.core.labs import get_lab
    from genviz.core.sweep import sweep

    info = get_lab(lab)
    out = {}
    for name, workers in (("pool", os.cpu_count() or 1), ("serial", 1)):
        with tempfile.TemporaryDirectory(prefix="genviz-bench-sweep-") as tmp:
            t0 = time.perf_counter()
            r = sweep(info, {}, list(range(runs)), steps, os.path.join(tmp, "out"), workers=workers, progress=None)
            out[name] = {"seconds": round(time.perf_counter() - t0, 2), "workers": workers,
                         "ok": sum(1 for x in r["records"] if x["status"] == "ok")}
    return {"bench": "compare-sweep", "lab": lab, "runs": runs, "steps": steps, **out,
            "speedup": round(out["serial"]["seconds"] / out["pool"]["seconds"], 2), "goal_speedup": 1.7}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz bench compare", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0, help="seconds measured in the compare view")
    p.add_argument("--runs", type=int, default=4, help="runs side by side (2-4)")
    p.add_argument("--sweep-runs", type=int, default=8)
    p.add_argument("--sweep-steps", type=int, default=1500)
    p.add_argument("--skip-sweep", action="store_true")
    args = p.parse_args(argv)
    alone = live_compare(1, args.seconds)
    together = live_compare(max(2, min(4, args.runs)), args.seconds)
    base = alone["steps_per_sec"][0]
    print(json.dumps({"bench": "compare-live", "lab": "gan", "alone_steps_per_sec": base,
                      "together": together, "ratio_each": [round(x / max(base, 1e-9), 2) for x in together["steps_per_sec"]],
                      "ratio_mean": round(float(np.mean(together["steps_per_sec"])) / max(base, 1e-9), 2),
                      "goals": {"timer_lateness_ms_p99": "<= 16", "redraws_per_sec": ">= 20"}}))
    if not args.skip_sweep:
        print(json.dumps(sweep_speed(args.sweep_runs, args.sweep_steps)))
    return 0
