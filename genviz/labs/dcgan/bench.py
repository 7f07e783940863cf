"""`genviz bench dcgan`: the lab's figures on this machine, JSON lines then a table.

- one training step (a D and a G update, batch 64) and one heavy snapshot (the digit score of 1,000 samples and the
  interpolation rows), in ms;
- live in the real window: steps/s against headless, redraws per second and GUI timer lateness p99 (<= 16 ms).
"""
from __future__ import annotations


def step_ms(repeats: int = 100) -> dict:
    from genviz.core.labs import get_lab
    from genviz.core.settings import resolve
    from genviz.labs.dcgan.experiment import DCGANExperiment

    exp = DCGANExperiment(resolve(get_lab("dcgan").settings, {}))
    from genviz.bench.live import median_ms

    return {"bench": "dcgan-step", "step_ms": median_ms(exp.advance, repeats),
            "heavy_snapshot_ms": median_ms(lambda: exp.snapshot(True), repeats)}


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, emit, main as live_main, overrides

    args = bench_parser("dcgan", __doc__.splitlines()[0]).parse_args(argv)
    if not args.live_only:
        emit(step_ms())
    live_main("dcgan", seconds=args.seconds, engines=args.engines.split(","), data=args.data,
              overrides=overrides(args))
    return 0
