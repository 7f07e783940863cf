"""`genviz bench flow`: the flow lab's figures on this machine.

- test NLL per flow type per dataset after a fixed budget, next to each dataset's entropy limit
- reverse KL(q || p) of planar flows with K = 2, 8, 32 layers on U1-U4 (log Z by quadrature)
- the live window: layer change -> mesh and 200x200 density redrawn, from the layer cache while
  paused (the goal: <= 50 ms) and by fetching from the worker while it trains
JSON lines, then the two tables.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np

from genviz.core.sweep import pool_map


DENSITY_DATA = ("moons", "checkerboard", "spiral", "ring8")
# planar and radial layers are cheap and weak: they get 32 layers, the others 8
LAYERS = {"planar": 32, "radial": 32, "realnvp": 8, "maf": 8, "iaf": 8, "spline": 8}


def run_one(job: dict) -> dict:
    import torch

    from genviz.core.engine import EngineConfig
    from genviz.core.headless import train

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    r = train(EngineConfig(lab="flow", settings=job["settings"], seed=job.get("seed", 0), torch_threads=1),
              job["steps"], None, progress=None)
    keep = ("test_nll", "entropy_limit", "gap_to_limit", "reverse_kl", "stopped")
    return {**{k: job[k] for k in ("kind", "flow", "target", "layers", "steps")},
            **{k: r[k] for k in keep if k in r}, "seconds": round(time.perf_counter() - t0, 1)}


def jobs(density_steps: int, energy_steps: int, flows=None) -> list[dict]:
    from genviz.labs.flow import _PLANAR_ENERGY, FLOWS

    out = []
    for data in DENSITY_DATA:
        for flow in flows or FLOWS:
            out.append({"kind": "density", "flow": flow, "target": data, "layers": LAYERS[flow],
                        "steps": density_steps,
                        "settings": {"fit": "density", "data": data, "flow": flow, "layers": LAYERS[flow]}})
    for energy in ("U1", "U2", "U3", "U4"):
        for K in (2, 8, 32):
            out.append({"kind": "energy", "flow": "planar", "target": energy, "layers": K, "steps": energy_steps,
                        "settings": {**_PLANAR_ENERGY, "energy": energy, "layers": K}})
    return out


def tables(results: list[dict]) -> str:
    from genviz.labs.flow import FLOWS
    from genviz.labs.flow.experiment import entropy_limit

    dens = {(r["flow"], r["target"]): r for r in results if r["kind"] == "density"}
    lines = []
    if dens:
        steps = next(iter(dens.values()))["steps"]
        head = f"{'test NLL (nats), ' + str(steps) + ' steps':30s}" + "".join(f"{d:>14s}" for d in DENSITY_DATA)
        lines += [head, "-" * len(head)]
        for flow in FLOWS:
            if not any((flow, d) in dens for d in DENSITY_DATA):
                continue
            cells = [dens.get((flow, d), {}).get("test_nll") for d in DENSITY_DATA]
            lines.append(f"{flow + f' (K={LAYERS[flow]})':30s}" +
                         "".join(f"{c:14.3f}" if c is not None else f"{'—':>14s}" for c in cells))
        limits = [entropy_limit(d) for d in DENSITY_DATA]
        lines.append(f"{'entropy limit':30s}" + "".join(f"{v:14.3f}" if v is not None else f"{'unknown':>14s}"
                                                      for v in limits))
    en = {(r["target"], r["layers"]): r for r in results if r["kind"] == "energy"}
    if en:
        steps = next(iter(en.values()))["steps"]
        lines.append("")
        head = f"{'planar, reverse KL, ' + str(steps) + ' steps':30s}" + "".join(f"{u:>10s}" for u in ("U1", "U2", "U3", "U4"))
        lines += [head, "-" * len(head)]
        for K in (2, 8, 32):
            cells = [en.get((u, K), {}).get("reverse_kl") for u in ("U1", "U2", "U3", "U4")]
            lines.append(f"{'K = ' + str(K):30s}" + "".join(f"{c:10.3f}" if c is not None else f"{'—':>10s}"
                                                             for c in cells))
    return "\n".join(lines)


def live_layer_change(overrides: dict, train_seconds: float = 6.0, sweeps: int = 5) -> dict:
    """Drive the real window: train, pause, let the cache fill, then sweep the slider across every
    layer (cache hits); then play and move the slider again (fetches from the training worker)."""
    import asyncio

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    import qasync
    from PySide6.QtWidgets import QApplication

    from genviz.ui import theme
    from genviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    theme.apply_theme("light")
    loop = qasync.QEventLoop(app, already_running=False)
    asyncio.set_event_loop(loop)

    def run_until(condition, timeout):
        async def wait():
            t_end = time.perf_counter() + timeout
            while not condition() and time.perf_counter() < t_end:
                await asyncio.sleep(0.005)
        loop.run_until_complete(wait())

    def pump(seconds):
        loop.run_until_complete(asyncio.sleep(seconds))

    w = MainWindow(engine_kind="process", lab="flow", overrides=overrides)
    w.resize(1560, 960)
    w.show()
    panel = w.panel()
    run_until(lambda: bool(panel.static), 60)
    w.training.play()
    pump(train_seconds)
    w.training.pause()
    K = panel.static["layers"]
    t0 = time.perf_counter()
    run_until(lambda: all(panel.fresh(j) for j in range(K + 1)) and not panel.running, 120)
    fill_s = time.perf_counter() - t0
    panel.layer_latency_ms.clear()
    for _ in range(sweeps):
        for k in list(range(K + 1)) + list(range(K, -1, -1)):
            panel.slider.setValue(k)
            pump(0.002)
    cached = np.array(panel.layer_latency_ms)

    w.training.play()
    pump(1.0)
    rng = np.random.default_rng(0)
    panel.layer_fetch_ms.clear()
    for _ in range(20):
        k = int(rng.integers(0, K + 1))
        while k == panel.slider.value():
            k = int(rng.integers(0, K + 1))
        n = len(panel.layer_fetch_ms)
        panel.slider.setValue(k)
        run_until(lambda: len(panel.layer_fetch_ms) > n, 10)
        pump(0.05)
    fetched = np.array(panel.layer_fetch_ms) if panel.layer_fetch_ms else np.full(1, np.nan)
    w.close()
    pump(0.2)
    loop.close()
    asyncio.set_event_loop(None)
    return {"bench": "flow-layer-change", "flow": overrides.get("flow"), "layers": K, "heat": panel.static["heat"],
            "cache_fill_s": round(fill_s, 2), "cached_redraw_ms_p50": round(float(np.percentile(cached, 50)), 2),
            "cached_redraw_ms_p95": round(float(np.percentile(cached, 95)), 2),
            "cached_redraw_ms_max": round(float(cached.max()), 2), "cached_n": int(len(cached)),
            "while_training_fetch_ms_p50": round(float(np.nanpercentile(fetched, 50)), 1),
            "while_training_fetch_ms_p95": round(float(np.nanpercentile(fetched, 95)), 1),
            "while_training_n": int(np.isfinite(fetched).sum())}


def main(density_steps: int = 3000, energy_steps: int = 5000, live_only: bool = False,
         workers: int | None = None, flows: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    for overrides in ({"flow": "spline", "layers": 8, "data": "moons"},
                      {"fit": "energy", "flow": "planar", "layers": 32, "energy": "U3", "lr": 1e-2, "lr_halflife": 1500}):
        print(json.dumps(live_layer_change(overrides)), flush=True)
    if live_only:
        return 0
    todo = jobs(density_steps, energy_steps, flows)
    # the slow ones first, so the pool's two workers finish together
    todo.sort(key=lambda j: -(j["steps"] * j["layers"] * (4 if j["flow"] in ("spline", "iaf") else 1)))
    results = pool_map(run_one, todo, workers)
    for r in results:
        print(json.dumps({"bench": "flow", **r}), flush=True)
    print(tables(results))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser

    p = bench_parser("flow", "Density NLL and energy reverse-KL tables, layer-change redraw (JSON lines).")
    p.add_argument("--energy-steps", type=int, default=5000, help="steps of each planar energy fit")
    p.add_argument("--flows", help="comma-separated flow types for the density table (default: all)")
    args = p.parse_args(argv)
    return main(density_steps=args.steps or 3000, energy_steps=args.energy_steps, live_only=args.live_only,
                flows=[x.strip() for x in args.flows.split(",")] if args.flows else None)
