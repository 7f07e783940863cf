"""`genviz bench boltzmann`: the lab's figures on this machine, JSON lines then a table.

- the exact sums every step and snapshot does: a general BM's log Z and p(v) (3×3 bars and stripes, 6 hidden units:
  2^15 states) and its exact gradient, and a DBN's exact log p(v) and bound (4×4, 10 first-layer units);
- for each experiment, live in the real window: steps/s against headless, redraws per second and GUI timer
  lateness p99 (goal: <= 16 ms).
"""
from __future__ import annotations

from genviz.labs.boltzmann import EXPERIMENTS


def exact_ms(repeats: int = 200) -> dict:
    import torch

    from genviz.models.boltzmann import BoltzmannMachine, bars_and_stripes, dbn_bound, dbn_log_prob
    from genviz.models.rbm import RBM

    x3, x4 = bars_and_stripes(3), bars_and_stripes(4)
    bm = BoltzmannMachine(9, 6, generator=torch.Generator().manual_seed(0))
    rbm1, top = RBM(16, 10, init_std=0.1).double(), RBM(10, 16, init_std=0.1).double()
    jobs = {"bm_log_z_ms": lambda: bm.exact(), "bm_gradient_ms": lambda: bm.exact(x3),
            "dbn_log_p_ms": lambda: dbn_log_prob(rbm1, top, x4), "dbn_bound_ms": lambda: dbn_bound(rbm1, top, x4)}
    from genviz.bench.live import median_ms

    return {"bench": "boltzmann-exact", **{name: median_ms(job, repeats) for name, job in jobs.items()}}


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, emit, main as live_main, overrides

    args = bench_parser("boltzmann", __doc__.splitlines()[0]).parse_args(argv)
    if not args.live_only:
        emit(exact_ms())
    chosen = overrides(args)
    for kind in [chosen["experiment"]] if "experiment" in chosen else list(EXPERIMENTS):
        live_main("boltzmann", seconds=args.seconds, engines=args.engines.split(","), data=args.data,
                  overrides={**chosen, "experiment": kind})
    return 0
