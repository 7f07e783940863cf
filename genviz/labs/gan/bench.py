"""`genviz bench gan`: train loss/option presets on the ring and the grid for a fixed budget and
seeds, score them with the PacGAN protocol, and print a table shaped like VEEGAN's Table 1 next to
the published rows (docs/references.md). The published nets and budgets differ: see the protocol lines."""
from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

# docs/references.md: VEEGAN Table 1 (GDPP paper for WGAN-GP/GDPP) and PacGAN Table 1 (mean of 10 trials)
PUBLISHED = [
    ("GAN (VEEGAN T1)", 1, 99.3, None, 3.3, 0.5, None),
    ("ALI (VEEGAN T1)", 2.8, 0.13, None, 15.8, 1.6, None),
    ("Unrolled GAN 5 steps (VEEGAN T1)", 7.6, 35.6, None, 23.6, 16, None),
    ("VEEGAN (VEEGAN T1)", 8, 52.9, None, 24.6, 40, None),
    ("WGAN-GP (GDPP paper)", 6.8, 59.6, None, 24.2, 28.7, None),
    ("GDPP", 8.0, 71.7, None, 24.8, 68.5, None),
    ("GAN (PacGAN T1)", 6.3, 98.2, 0.45, 17.3, 94.8, 0.70),
    ("PacGAN2 (PacGAN T1)", 7.9, 95.6, 0.07, 23.8, 91.3, 0.13),
    ("PacGAN4 (PacGAN T1)", None, None, None, 24.8, 93.6, 0.04),
]


def run_one(args) -> dict:
    preset, overrides, data, seed, steps = args
    import torch

    from genviz.core.engine import EngineConfig
    from genviz.core.headless import train

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    r = train(EngineConfig(lab="gan", settings={**overrides, "data": data}, seed=seed, torch_threads=1),
              steps, None, progress=None)
    return {"preset": preset, "data": data, "seed": seed, "modes": r["modes"], "hq_percent": r["hq_percent"],
            "reverse_kl": r["reverse_kl"], "seconds": round(time.perf_counter() - t0, 1),
            "stopped": r.get("stopped")}


def _fmt(values, digits=1) -> str:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return "—"
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def main(steps: int = 6000, seeds: int = 3, presets: list[str] | None = None, workers: int | None = None) -> int:
    from genviz.labs.gan import PRESETS

    names = presets or list(PRESETS)
    jobs = [(name, PRESETS[name], data, seed, steps) for name in names for data in ("ring8", "grid25")
            for seed in range(seeds)]
    t0 = time.perf_counter()
    workers = workers or max(1, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(run_one, jobs))
    elapsed = time.perf_counter() - t0
    for r in results:
        print(json.dumps({"bench": "gan", **r}), flush=True)

    header = (f"{'model':36s} | {'ring modes /8':>13s} | {'ring % HQ':>12s} | {'ring rev KL':>12s} | "
              f"{'grid modes /25':>14s} | {'grid % HQ':>12s} | {'grid rev KL':>12s}")
    lines = [header, "-" * len(header)]
    for name in names:
        row = [name]
        for data in ("ring8", "grid25"):
            rs = [r for r in results if r["preset"] == name and r["data"] == data]
            row += [_fmt([r["modes"] for r in rs]), _fmt([r["hq_percent"] for r in rs]),
                    _fmt([r["reverse_kl"] for r in rs], 2)]
        lines.append(f"{row[0]:36s} | {row[1]:>13s} | {row[2]:>12s} | {row[3]:>12s} | {row[4]:>14s} | "
                     f"{row[5]:>12s} | {row[6]:>12s}")
    lines.append("-" * len(header))
    for name, rm, rhq, rkl, gm, ghq, gkl in PUBLISHED:
        cells = ["—" if v is None else f"{v:g}" for v in (rm, rhq, rkl, gm, ghq, gkl)]
        lines.append(f"{name:36s} | {cells[0]:>13s} | {cells[1]:>12s} | {cells[2]:>12s} | {cells[3]:>14s} | "
                     f"{cells[4]:>12s} | {cells[5]:>12s}")
    print("\n".join(lines))
    print(f"\ngenviz rows: mean ± std over {seeds} seeds, {steps} iterations each (1 iteration = d_steps D "
          f"updates + 1 G update), 2500 samples, 3-std high-quality threshold, default nets "
          f"(MLP 2x128 ReLU, z 2-D Gaussian, batch 256) unless the preset says otherwise.")
    print("Published rows use their own nets and budgets (docs/references.md): compare protocols, not only numbers.")
    per_seed = {f"{r['preset']} / {r['data']}": [] for r in results}
    for r in results:
        per_seed[f"{r['preset']} / {r['data']}"].append(r["modes"])
    print("modes per seed: " + "; ".join(f"{k}: {v}" for k, v in per_seed.items()))
    print(json.dumps({"bench": "gan", "phase": "done", "seconds": round(elapsed, 1), "runs": len(jobs),
                      "workers": workers}))
    return 0


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, main as live_main, overrides

    p = bench_parser("gan", "The VEEGAN / PacGAN mode-coverage table over presets and seeds (JSON lines, table).")
    p.add_argument("--seeds", type=int, default=3, help="seeds per preset and data set")
    p.add_argument("--presets", help="comma-separated preset names (default: all)")
    p.add_argument("--speed", action="store_true", help="GAN Lab's ring configuration: bare, headless and live speed")
    p.add_argument("--repeat", type=int, default=1, help="with --speed: measure it this many times in turn (medians)")
    args = p.parse_args(argv)
    if args.speed:
        from genviz.labs.gan.bench_speed import main as speed_main

        return speed_main(seconds=args.seconds, repeat=max(1, args.repeat))
    if args.live_only:
        live_main("gan", seconds=args.seconds, engines=args.engines.split(","), data=args.data,
                  overrides=overrides(args))
        return 0
    return main(steps=args.steps or 6000, seeds=args.seeds,
                presets=[x.strip() for x in args.presets.split(",")] if args.presets else None)
