"""`genviz bench manifold`: the foundation's figures on this machine, as JSON lines.

- headless steps/s (bare loop, one torch thread, as the worker uses on 2 cores)
- live GUI (offscreen unless a display is set) for each engine: steps/s and its ratio to headless,
  redraws/s, GUI timer lateness p50/p99/max, click-to-decoded-preview p50/p95
- process start to painted main window, peak memory of the GUI process and of the worker
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def headless_steps_per_sec(seconds: float, threads: int, data: str | None = None,
                           overrides: dict | None = None) -> float:
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    runner = Runner(EngineConfig(lab="manifold", device="cpu", data=data, settings=overrides or {},
                                 torch_threads=threads))
    for _ in range(50):
        runner.step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        runner.step()
        n += 1
    return n / (time.perf_counter() - t0)


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def live(kind: str, seconds: float, data: str | None = None, overrides: dict | None = None) -> dict:
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from genviz.bench.window import open_lab_window, pump

    app, w, panel = open_lab_window("manifold", kind, data, overrides)
    w.play()
    pump(app, 2.0)  # warm up

    # a 10 ms precise timer on the GUI thread: how late does it fire while training runs?
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
    step0, redraw0, t0 = w.step, panel.redraws, time.perf_counter()
    tick.start()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.0005)
    tick.stop()
    elapsed = time.perf_counter() - t0
    steps = (w.step - step0) / elapsed
    redraws = (panel.redraws - redraw0) / elapsed

    # clicks on the latent plane while training continues
    rng = np.random.default_rng(0)
    panel.click_latency_ms.clear()
    for _ in range(200):
        x, y = rng.uniform(-2.5, 2.5, 2)
        panel.click_plane(float(x), float(y))
        app.processEvents()
    clicks = np.array(panel.click_latency_ms)
    worker_mb = _vm_hwm_mb(w.bridge.engine.pid) if kind == "process" else None
    gui_mb = _vm_hwm_mb(os.getpid())
    w.close()
    app.processEvents()
    lat = np.array(lateness) if lateness else np.zeros(1)
    return {"engine": kind, "steps_per_sec": round(steps, 1), "redraws_per_sec": round(redraws, 1),
            "timer_lateness_ms_p50": round(float(np.percentile(lat, 50)), 2),
            "timer_lateness_ms_p99": round(float(np.percentile(lat, 99)), 2),
            "timer_lateness_ms_max": round(float(lat.max()), 2),
            "click_to_preview_ms_p50": round(float(np.percentile(clicks, 50)), 3),
            "click_to_preview_ms_p95": round(float(np.percentile(clicks, 95)), 3),
            "gui_peak_mb": round(gui_mb, 1) if gui_mb else None,
            "worker_peak_mb": round(worker_mb, 1) if worker_mb else None}


def live_in_subprocess(kind: str, seconds: float, data: str | None, overrides: dict) -> dict:
    """Each live phase in a fresh process, so its memory and timings are its own."""
    spec = json.dumps({"kind": kind, "seconds": seconds, "data": data, "overrides": overrides})
    r = subprocess.run([sys.executable, "-m", "genviz.bench.manifold", "--live", spec],
                       capture_output=True, text=True, timeout=seconds + 120)
    line = next((line for line in r.stdout.splitlines() if line.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"live benchmark ({kind}) failed: {r.stderr[-2000:]}")
    return json.loads(line)


def startup_seconds(runs: int = 3) -> list[float]:
    out = []
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    for _ in range(runs):
        t0 = time.time()
        r = subprocess.run([sys.executable, "-m", "genviz.bench.startup"], capture_output=True, text=True,
                           env=env, timeout=60)
        line = next((line for line in r.stdout.splitlines() if line.startswith("painted")), None)
        if line is None:
            raise RuntimeError(f"start-up child failed: {r.stderr[-2000:]}")
        out.append(round(float(line.split()[1]) - t0, 3))
    return out


def main(seconds: float = 8.0, engines=("process", "thread"), data: str | None = None,
         overrides: dict | None = None) -> int:
    t_all = time.perf_counter()
    overrides = overrides or {}
    threads = max(1, (os.cpu_count() or 2) - 1)
    bare = headless_steps_per_sec(seconds, threads, data, overrides)
    _emit({"bench": "manifold", "phase": "headless", "torch_threads": threads, "data": data or "digits",
           "settings": overrides, "steps_per_sec": round(bare, 1)})
    for kind in engines:
        rec = live_in_subprocess(kind.strip(), seconds, data, overrides)
        rec["ratio_to_headless"] = round(rec["steps_per_sec"] / bare, 3)
        _emit({"bench": "manifold", "phase": "live", **rec})
    starts = startup_seconds()
    _emit({"bench": "manifold", "phase": "startup", "start_to_painted_s": starts,
           "median_s": sorted(starts)[len(starts) // 2]})
    _emit({"bench": "manifold", "phase": "done", "seconds": round(time.perf_counter() - t_all, 1)})
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--live":
        spec = json.loads(sys.argv[2])
        print(json.dumps(live(spec["kind"], spec["seconds"], spec["data"], spec["overrides"])), flush=True)
