"""`genviz bench vae2d`: the lab's figures on this machine, JSON lines then a table.

- one training step (batch 256, k = 1) and one heavy snapshot (the density by the IWAE bound on the view's grid, the
  test bounds at k = 1 and 100, the test points' encodings, mode coverage), in ms;
- live in the real window: steps/s against headless, redraws per second and GUI timer lateness p99 (<= 16 ms).
"""
from __future__ import annotations


def step_ms(repeats: int = 100) -> dict:
    from genviz.bench.live import median_ms
    from genviz.core.labs import get_lab
    from genviz.core.settings import resolve
    from genviz.labs.vae2d.experiment import PointVAEExperiment

    exp = PointVAEExperiment(resolve(get_lab("vae2d").settings, {}))
    return {"bench": "vae2d-step", "step_ms": median_ms(exp.advance, repeats),
            "heavy_snapshot_ms": median_ms(lambda: exp.snapshot(True), max(5, repeats // 10))}


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, emit, main as live_main, overrides

    args = bench_parser("vae2d", __doc__.splitlines()[0]).parse_args(argv)
    if not args.live_only:
        emit(step_ms())
    live_main("vae2d", seconds=args.seconds, engines=args.engines.split(","), data=args.data,
              overrides=overrides(args))
    return 0
