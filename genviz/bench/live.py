"""The live benchmark every registered lab has (``genviz bench LAB``, or ``genviz bench live LAB``):

- headless steps/s: the runner in a bare loop, one torch thread per spare core (as the worker uses);
- live, in the real window (offscreen unless a display is set), for each engine: training steps/s
  and their ratio to headless (goal >= 0.8), redraws/s, lateness of a 10 ms GUI timer p50/p99/max
  (goal p99 <= 16 ms), peak memory of the GUI process and of the worker.

Each live phase runs in a fresh process, so its memory and timings are its own. A lab's own
benchmark adds its figures through ``extra(app, window, panel) -> dict`` (manifold: click latency).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def bench_parser(lab: str, description: str, engines: str = "process", seconds: float = 8.0) -> argparse.ArgumentParser:
    """The options every lab's ``genviz bench LAB`` takes; a lab's bench adds its own."""
    p = argparse.ArgumentParser(prog=f"genviz bench {lab}", description=description)
    p.add_argument("--seconds", type=float, default=seconds, help="length of each timed phase")
    p.add_argument("--engines", default=engines, help="process, thread, or both (comma-separated)")
    p.add_argument("--data", help="data to train on (default: the lab's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting of the lab")
    p.add_argument("--steps", type=int, help="training steps of each run the benchmark trains")
    p.add_argument("--live-only", action="store_true", help="only the window's figures")
    return p


def overrides(args) -> dict:
    from genviz.core.settings import parse_assignments

    return parse_assignments(args.set)


def run(lab: str, argv: list[str]) -> int:
    """``genviz bench LAB`` for a lab without a benchmark of its own: the live figures alone."""
    args = bench_parser(lab, "Live against headless steps/s and GUI timer lateness, as JSON lines.").parse_args(argv)
    main(lab, seconds=args.seconds, engines=args.engines.split(","), data=args.data, overrides=overrides(args))
    return 0


def median_ms(job, repeats: int = 100) -> float:
    """The median time of ``repeats`` calls of ``job()``, in ms (rounded to the µs): a lab's step and snapshot
    figures."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        job()
        times.append(time.perf_counter() - t0)
    return round(1000 * float(np.median(times)), 3)


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def headless_steps_per_sec(lab: str, seconds: float, threads: int, data: str | None = None,
                           overrides: dict | None = None) -> float:
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    runner = Runner(EngineConfig(lab=lab, device="cpu", data=data, settings=overrides or {}, torch_threads=threads))
    t_warm = time.perf_counter()
    while time.perf_counter() - t_warm < min(1.0, seconds / 4):  # warm-up: allocator, caches
        runner.step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        runner.step()
        n += 1
    return n / (time.perf_counter() - t0)


def peak_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def lateness_while(app, done, timeout: float = 600.0) -> np.ndarray:
    """Run the event loop until ``done()`` (or the timeout) with a 10 ms precise timer on the GUI
    thread; -> how late (ms) each of its ticks fired."""
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from genviz.bench.window import pump

    lateness: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    tick = QTimer()
    tick.setTimerType(Qt.PreciseTimer)
    tick.setInterval(10)

    def on_tick():
        now = clock.nsecsElapsed()
        lateness.append(max(0.0, (now - last[0]) / 1e6 - 10.0))
        last[0] = now

    tick.timeout.connect(on_tick)
    tick.start()
    pump(app, timeout, until=done)
    tick.stop()
    return np.array(lateness) if lateness else np.zeros(1)


def lateness_figures(lat: np.ndarray, prefix: str = "timer_lateness_ms") -> dict:
    return {f"{prefix}_p50": round(float(np.percentile(lat, 50)), 2),
            f"{prefix}_p99": round(float(np.percentile(lat, 99)), 2),
            f"{prefix}_max": round(float(lat.max()), 2)}


def live(lab: str, kind: str, seconds: float, data: str | None = None, overrides: dict | None = None,
         extra=None) -> dict:
    from genviz.bench.window import open_lab_window, pump
    from genviz.core.allocator import keep_freed_memory

    keep_freed_memory()  # as the ``genviz`` command that opens the window does
    app, w, panel = open_lab_window(lab, kind, data, overrides)
    w.training.play()
    pump(app, 2.0)  # warm up

    step0, redraw0, t0 = w.run.step, panel.redraws, time.perf_counter()
    lat = lateness_while(app, lambda: time.perf_counter() - t0 >= seconds)
    elapsed = time.perf_counter() - t0
    out = {"lab": lab, "engine": kind, "steps_per_sec": round((w.run.step - step0) / elapsed, 1),
           "redraws_per_sec": round((panel.redraws - redraw0) / elapsed, 1)}
    out.update(lateness_figures(lat))
    if extra is not None:
        out.update(extra(app, w, panel))
    out.update({"gui_peak_mb": peak_mb(os.getpid()),
                "worker_peak_mb": peak_mb(w.controller.bridge.engine.pid) if kind == "process" else None})
    w.close()
    app.processEvents()
    return out


def live_in_subprocess(lab: str, kind: str, seconds: float, data: str | None, overrides: dict,
                       module: str = "genviz.bench.live") -> dict:
    """``module`` is run as ``python -m module --live SPEC``: this one, or a lab's own bench that adds
    its figures through ``extra``."""
    spec = json.dumps({"lab": lab, "kind": kind, "seconds": seconds, "data": data, "overrides": overrides})
    r = subprocess.run([sys.executable, "-m", module, "--live", spec], capture_output=True, text=True,
                       timeout=seconds + 180)
    line = next((line for line in r.stdout.splitlines() if line.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"live benchmark of {lab} ({kind}) failed: {r.stderr[-2000:]}")
    return json.loads(line)


def main(lab: str, seconds: float = 8.0, engines=("process",), data: str | None = None,
         overrides: dict | None = None, module: str = "genviz.bench.live") -> float:
    """Print the headless and live figures of ``lab``; returns the headless steps/s."""
    overrides = overrides or {}
    threads = max(1, (os.cpu_count() or 2) - 1)
    bare = headless_steps_per_sec(lab, seconds, threads, data, overrides)
    emit({"bench": lab, "phase": "headless", "torch_threads": threads, "data": data, "settings": overrides,
          "steps_per_sec": round(bare, 1)})
    for kind in engines:
        rec = live_in_subprocess(lab, kind.strip(), seconds, data, overrides, module)
        rec["ratio_to_headless"] = round(rec["steps_per_sec"] / bare, 3)
        rec["goals"] = {"ratio_to_headless": ">= 0.8", "timer_lateness_ms_p99": "<= 16"}
        emit({"bench": lab, "phase": "live", **rec})
    return bare


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--live":
        spec = json.loads(sys.argv[2])
        print(json.dumps(live(spec["lab"], spec["kind"], spec["seconds"], spec["data"], spec["overrides"])), flush=True)
