"""`genviz bench diffusion`: the lab's figures on this machine, JSON lines then a table.

- live against headless steps/s, redraws/s and GUI timer lateness (the shared live benchmark);
- the median time of 5 runs to sample 2,000 points with 100 steps by each sampler (goal <= 200 ms; the ODE's Heun steps
  evaluate the network twice), and to compute the probability-flow ODE likelihood of 1,000 points
  (100 Heun steps, exact divergence; goal <= 2 s), with all the machine's threads;
- the mode coverage of the diffusion model on the ring and the grid after --steps (default 20,000) steps,
  over --seeds seeds, beside the GAN lab's best preset measured by `genviz bench gan`.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np


from genviz.core.sweep import pool_map
from genviz.models.diffusion import SAMPLERS

# `genviz bench gan --steps 20000 --seeds 3` (README): "GAN + R1 + lr decay", mean over 3 seeds
GAN_BEST = {"ring8": {"modes": 8.0, "hq_percent": 92.0, "rev_kl": 0.00},
            "grid25": {"modes": 25.0, "hq_percent": 84.8, "rev_kl": 0.01}}


def _median_seconds(fn, repeats: int) -> tuple[float, float]:
    """The median and the fastest of ``repeats`` timed calls (a shared machine's timings vary between calls)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(min(times))


TRAIN_STEPS = 1000


def sampling_times(threads: int, repeats: int = 5) -> list[dict]:
    """On the lab's default network (its ``hidden`` and ``layers`` settings), trained TRAIN_STEPS steps on the ring."""
    import torch

    from genviz.labs.diffusion import LAB
    from genviz.models.diffusion import DiffusionModel, ode_log_prob, sample

    from genviz.data.toy2d import make_toy

    torch.set_num_threads(threads)
    size = {s.name: s.default for s in LAB.settings if s.name in ("hidden", "layers")}
    data = torch.from_numpy(make_toy("ring8").sample(4096, np.random.default_rng(0))).float()
    out = []
    for process in ("vp-linear", "flow"):
        torch.manual_seed(0)
        model = DiffusionModel(process, **size)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        for _ in range(TRAIN_STEPS):  # a trained model: an untrained one's samples run off to |x| ~ 500
            loss, _ = model.loss(data[torch.randint(0, len(data), (512,))])
            opt.zero_grad()
            loss.mean().backward()
            opt.step()
        for sampler in SAMPLERS:
            if process == "flow" and sampler == "ddpm":
                continue
            sample(model, 2000, sampler, 10)  # warm-up
            med, best = _median_seconds(lambda: sample(model, 2000, sampler, 100,
                                                       generator=torch.Generator().manual_seed(0)), repeats)
            out.append({"bench": "diffusion-sampling", "process": process, "sampler": sampler, "points": 2000,
                        "steps": 100, **size, "threads": threads, "ms": round(1000 * med, 1),
                        "ms_fastest": round(1000 * best, 1), "goal_ms": 200})
        x = torch.randn(1000, 2)
        med, best = _median_seconds(lambda: ode_log_prob(model, x, steps=100), repeats)
        out.append({"bench": "diffusion-likelihood", "process": process, "points": 1000, "steps": 100,
                    "threads": threads, "seconds": round(med, 2), "seconds_fastest": round(best, 2), "goal_s": 2.0})
    return out


def coverage_job(job: dict) -> dict:
    import torch

    from genviz.core.protocol import EngineConfig

    from genviz.core.runner import Runner
    from genviz.models.diffusion import ode_log_prob

    torch.set_num_threads(1)
    config = EngineConfig(lab="diffusion", settings={"data": job["data"]}, seed=job["seed"], torch_threads=1)
    runner = Runner(config)
    t0 = time.perf_counter()
    runner.train(job["steps"])
    exp = runner.exp
    r = exp.final_metrics()
    r["seconds"] = round(time.perf_counter() - t0, 1)
    # the live readout's and the final metrics' ODE step counts against a converged 1,000-step integration
    x = exp.x_test[:200]
    ref = ode_log_prob(exp.model, x, steps=1000).double()
    errors = {f"nll_error_{n}": round(float((ref - ode_log_prob(exp.model, x, steps=n).double()).mean()), 4)
              for n in (40, 100)}
    return {"bench": "diffusion-coverage", **job, **errors,
            **{k: r.get(k) for k in ("modes", "n_modes", "hq_percent", "rev_kl", "spread_ratio", "test_nll_nats",
                                     "score_error", "seconds")}}


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, emit, main as live_main, overrides

    p = bench_parser("diffusion", __doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=2, help="seeds per data set for the coverage table")
    args = p.parse_args(argv)
    live_main("diffusion", seconds=args.seconds, engines=args.engines.split(","), data=args.data,
              overrides=overrides(args))
    if args.live_only:
        return 0
    for r in sampling_times(os.cpu_count() or 1):
        emit(r)
    jobs = [{"data": d, "seed": s, "steps": args.steps or 20000} for d in ("ring8", "grid25") for s in range(args.seeds)]
    results = pool_map(coverage_job, jobs)
    for r in results:
        emit(r)
    for d in ("ring8", "grid25"):
        rs = [r for r in results if r["data"] == d]
        print(f"{d}: test NLL {np.mean([r['test_nll_nats'] for r in rs]):.3f} nats (100 ODE steps); its error against "
              f"1,000 steps {np.mean([r['nll_error_100'] for r in rs]):+.4f} (100), {np.mean([r['nll_error_40'] for r in rs]):+.4f}"
              f" (40, the live readout); spread within a mode {np.mean([r['spread_ratio'] for r in rs]):.2f}x the data's")
    print(f"\n{'model':34s} {'ring modes /8':>14s} {'ring % HQ':>10s} {'ring rev KL':>12s} {'grid /25':>9s} "
          f"{'grid % HQ':>10s} {'grid rev KL':>12s}")
    row = []
    for d in ("ring8", "grid25"):
        rs = [r for r in results if r["data"] == d]
        row += [np.mean([r["modes"] for r in rs]), np.mean([r["hq_percent"] for r in rs]),
                np.mean([r["rev_kl"] for r in rs])]
    print(f"{'diffusion (VP, ODE, 100 steps)':34s} {row[0]:14.1f} {row[1]:10.1f} {row[2]:12.2f} {row[3]:9.1f} "
          f"{row[4]:10.1f} {row[5]:12.2f}")
    g = GAN_BEST
    print(f"{'GAN + R1 + lr decay (GAN lab)':34s} {g['ring8']['modes']:14.1f} {g['ring8']['hq_percent']:10.1f} "
          f"{g['ring8']['rev_kl']:12.2f} {g['grid25']['modes']:9.1f} {g['grid25']['hq_percent']:10.1f} "
          f"{g['grid25']['rev_kl']:12.2f}")
    print(json.dumps({"steps": args.steps or 20000, "seeds": args.seeds}))
    return 0
