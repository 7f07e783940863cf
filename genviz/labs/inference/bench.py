"""`genviz bench inference`: the lab's figures on this machine, JSON lines then a table.

- one CAVI update (both blocks: q(c) then q(mu), and the exact ELBO) on 1000 points with K = 10
  (goal: <= 5 ms), and each block alone;
- for every experiment, live in the real window: steps/s against headless, redraws per second
  (goal: >= 30) and GUI timer lateness p99 (goal: <= 16 ms).
"""
from __future__ import annotations

import time

import numpy as np

from genviz.labs.inference import EXPERIMENTS


def cavi_update_ms(n: int = 1000, k: int = 10, repeats: int = 300) -> dict:
    from genviz.models.vi import BayesGMM

    rng = np.random.default_rng(0)
    x = rng.uniform(-7, 7, (k, 2))[rng.integers(0, k, n)] + rng.normal(size=(n, 2))
    model = BayesGMM(x, k, 25.0)
    times = {"phi": [], "mu": [], "elbo": [], "update": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.update_phi()
        t1 = time.perf_counter()
        model.update_mu()
        t2 = time.perf_counter()
        model.elbo()
        t3 = time.perf_counter()
        times["phi"].append(t1 - t0)
        times["mu"].append(t2 - t1)
        times["elbo"].append(t3 - t2)
        times["update"].append(t3 - t0)
    med = {name: round(1000 * float(np.median(v)), 3) for name, v in times.items()}
    return {"bench": "inference-cavi", "points": n, "k": k, "update_ms_median": med["update"],
            "update_ms_p95": round(1000 * float(np.percentile(times["update"], 95)), 3),
            "phi_ms": med["phi"], "mu_ms": med["mu"], "elbo_ms": med["elbo"], "goal": "update <= 5 ms"}


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, emit, main as live_main, overrides

    args = bench_parser("inference", __doc__.splitlines()[0]).parse_args(argv)
    if not args.live_only:
        emit(cavi_update_ms())
    chosen = overrides(args)
    for kind in [chosen["experiment"]] if "experiment" in chosen else list(EXPERIMENTS):
        live_main("inference", seconds=args.seconds, engines=args.engines.split(","), data=args.data,
                  overrides={**chosen, "experiment": kind})
    return 0
