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

from genviz.bench.live import emit, live
from genviz.bench.live import main as live_main


def clicks(app, w, panel) -> dict:
    """Clicks on the latent plane while training continues: click to decoded preview."""
    rng = np.random.default_rng(0)
    panel.click_latency_ms.clear()
    for _ in range(200):
        x, y = rng.uniform(-2.5, 2.5, 2)
        panel.click_plane(float(x), float(y))
        app.processEvents()
    ms = np.array(panel.click_latency_ms)
    return {"click_to_preview_ms_p50": round(float(np.percentile(ms, 50)), 3),
            "click_to_preview_ms_p95": round(float(np.percentile(ms, 95)), 3)}


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
    live_main("manifold", seconds, engines, data, overrides, module=__name__)
    starts = startup_seconds()
    emit({"bench": "manifold", "phase": "startup", "start_to_painted_s": starts,
          "median_s": sorted(starts)[len(starts) // 2]})
    emit({"bench": "manifold", "phase": "done", "seconds": round(time.perf_counter() - t_all, 1)})
    return 0


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, overrides

    args = bench_parser("manifold", "The manifold lab's figures (live, click latency) as JSON lines.",
                        engines="process,thread").parse_args(argv)
    return main(seconds=args.seconds, engines=args.engines.split(","), data=args.data, overrides=overrides(args))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--live":
        spec = json.loads(sys.argv[2])
        print(json.dumps(live(spec["lab"], spec["kind"], spec["seconds"], spec["data"], spec["overrides"],
                              extra=clicks)), flush=True)
