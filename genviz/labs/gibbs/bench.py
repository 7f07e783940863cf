"""`genviz bench gibbs`: the Gibbs lab's figures on this machine.

- sampler speed, 100 chains of 784 visible x 500 hidden units: the bare matrix products and
  Bernoulli draws (1 and all threads), the experiment's own step, and the live window (process
  engine, 'sample' mode) while the chain grid redraws
- AIS test log-likelihood of CD-1, CD-10 and PCD-1 after a fixed budget (digits by default), next
  to the published MNIST reference (CD25, 500 hidden units: -86.34 nats)
JSON lines, then a table.
"""
from __future__ import annotations


import json
import os
import time

from genviz.core.sweep import pool_map

PUBLISHED = ("MNIST, CD25, 500 hidden (Salakhutdinov & Murray 2008)", -86.34)


def bare_steps_per_sec(threads: int, seconds: float = 3.0, chains: int = 100, visible: int = 784,
                       hidden: int = 500) -> float:
    import torch

    torch.set_num_threads(threads)
    W, b, c = torch.randn(visible, hidden) * 0.01, torch.zeros(visible), torch.zeros(hidden)
    v = torch.bernoulli(torch.full((chains, visible), 0.5))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        h = torch.bernoulli(torch.sigmoid(v @ W + c))
        v = torch.bernoulli(torch.sigmoid(h @ W.T + b))
        n += 1
    return n / (time.perf_counter() - t0)


def experiment_steps_per_sec(data: str | None, seconds: float = 3.0) -> float:
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    runner = Runner(EngineConfig(lab="gibbs", device="cpu", data=data, torch_threads=1,
                                 settings={"hidden": 500, "chains": 100, "mode": "sample"}))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        runner.step()
        n += 1
    return n / (time.perf_counter() - t0)


def live(data: str | None, seconds: float = 8.0) -> dict:
    from genviz.bench.window import open_lab_window, pump

    app, w, panel = open_lab_window("gibbs", "process", data, {"hidden": 500, "chains": 100, "mode": "sample"})
    w.training.play()
    pump(app, 2.0)  # warm up
    step0, redraw0, t0 = w.run.step, panel.redraws, time.perf_counter()
    pump(app, seconds)
    elapsed = time.perf_counter() - t0
    out = {"bench": "gibbs-live", "gibbs_steps_per_sec": round((w.run.step - step0) / elapsed, 1),
           "grid_redraws_per_sec": round((panel.redraws - redraw0) / elapsed, 1),
           "image_shape": panel.static["image_shape"]}
    w.close()
    app.processEvents()
    return out


def train_and_ais(job: dict) -> dict:
    import torch

    from genviz.core.engine import EngineConfig
    from genviz.core.headless import train

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    r = train(EngineConfig(lab="gibbs", settings=job["settings"], seed=0, torch_threads=1, data=job["data"]),
              job["steps"], None, progress=None, extra_metrics={"ais": True})
    return {"bench": "gibbs-ais", "name": job["name"], "data": r["dataset"], "steps": job["steps"],
            **{k: r.get(k) for k in ("test_ll", "ll_low", "ll_high", "log_z", "per_run_std", "pseudo_ll",
                                      "recon_error", "runs", "temperatures")},
            "seconds": round(time.perf_counter() - t0, 1)}


def main(data: str | None = None, steps: int = 5000, live_only: bool = False, overrides: dict | None = None) -> int:
    from genviz.data.loaders import load_dataset

    t_all = time.perf_counter()
    mnist = data
    if mnist is None:
        for candidate in ("../shared/datasets/mnist/t10k-images-idx3-ubyte.gz", "mnist"):
            try:
                load_dataset(candidate)
                mnist = candidate
                break
            except Exception:
                continue
    speed = {"bench": "gibbs-speed", "data": mnist or "digits (no MNIST found: 64 visible units)",
             "bare_1_thread": round(bare_steps_per_sec(1), 1),
             "bare_all_threads": round(bare_steps_per_sec(os.cpu_count() or 1), 1),
             "experiment_1_thread": round(experiment_steps_per_sec(mnist), 1)}
    print(json.dumps(speed), flush=True)
    print(json.dumps(live(mnist)), flush=True)
    if live_only:
        return 0
    common = {"hidden": 100, "lr": 0.05, "momentum": 0.5, "batch": 64, "ais_runs": 100, "ais_scale": 1.0,
              **(overrides or {})}
    hidden = common["hidden"]
    jobs = [{"name": name, "data": data, "steps": steps, "settings": {**common, "method": m, "k": k}}
            for name, m, k in (("CD-1", "cd", 1), ("CD-10", "cd", 10), ("PCD-1", "pcd", 1))]
    results = pool_map(train_and_ais, jobs)
    for r in results:
        print(json.dumps(r), flush=True)
    print(f"\n{'model':58s} {'test LL (nats)':>15s} {'±3σ interval':>20s} {'pseudo-LL':>10s}")
    for r in results:
        name = f"{r['name']}, {r['data']}, {hidden} hidden, {r['steps']} updates"
        print(f"{name:58s} {r['test_ll']:15.2f} {r['ll_low']:9.2f} … {r['ll_high']:7.2f} {r['pseudo_ll']:10.2f}")
    print(f"{PUBLISHED[0]:58s} {PUBLISHED[1]:15.2f}   (published reference)")
    print(f"AIS: {results[0]['runs']} runs, {results[0]['temperatures']} temperatures, base-rate model from the "
          f"training pixels' means; total {time.perf_counter() - t_all:.0f} s")
    return 0


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, overrides

    args = bench_parser("gibbs", "Sampler speed and the CD-1 / CD-10 / PCD-1 AIS table (--steps, 5000).").parse_args(argv)
    return main(data=args.data, steps=args.steps or 5000, live_only=args.live_only, overrides=overrides(args))
