"""`genviz bench autoregressive`: the autoregressive lab's figures on this machine, JSON lines then a table.

- training steps/s headless and live in the real window (goal: live >= 0.8x headless), GUI timer
  lateness p99 while training (the shared live benchmark) and while the window samples 16 images
  pixel by pixel and animates them (goal: p99 <= 16 ms), on 28x28 images (the shapes set, or --data);
- the time to sample 100 MNIST-size (28x28) images with each model at its default size, one torch
  thread (goal: <= 5 s with PixelCNN), with the incremental computations of each model;
- the test NLL of each model on the embedded digits after a fixed budget of steps (--steps, 3000),
  with its standard error and bits/dim, and one MADE ordering against an ensemble of eight.
"""
from __future__ import annotations


import json
import sys
import time

from genviz.core.sweep import pool_map

LIVE_DATA = "shapes"  # 28x28: the size the sampling figures are about
MODELS = ("nade", "made", "pixelcnn", "gated")


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def sampling_lateness(app, w, panel) -> dict:
    """Press "Sample pixel by pixel" while training runs and measure the GUI timer until the animation
    has finished: the worker samples, the window only animates."""
    from genviz.bench.live import lateness_figures, lateness_while

    state = {"t0": time.perf_counter(), "reply": None}

    def done() -> bool:
        if state["reply"] is None and panel.timer.isActive():
            state["reply"] = time.perf_counter() - state["t0"]
        return state["reply"] is not None and not panel.timer.isActive()

    panel.sample_button.click()
    lat = lateness_while(app, done, timeout=120.0)
    return {"sample_reply_s": None if state["reply"] is None else round(state["reply"], 2),
            "sample_and_animation_s": round(time.perf_counter() - state["t0"], 2),
            **lateness_figures(lat, "sampling_timer_lateness_ms")}


def sampling_seconds(model: str, n: int = 100, size: int = 28) -> dict:
    import torch

    from genviz.labs.autoregressive import LAB
    from genviz.labs.autoregressive.experiment import build_model

    torch.set_num_threads(1)
    settings = {s.name: s.default for s in LAB.settings} | {"model": model}
    net = build_model(settings, size, size, seed=0)
    t0 = time.perf_counter()
    with torch.no_grad():
        net.sample(n, generator=torch.Generator().manual_seed(0))
    return {"bench": "autoregressive-sampling", "model": model, "images": n, "shape": [size, size],
            "torch_threads": 1, "seconds": round(time.perf_counter() - t0, 2),
            "goal": "<= 5 s" if model == "pixelcnn" else None}


def train_job(job: dict) -> dict:
    import torch

    from genviz.core.headless import train
    from genviz.core.protocol import EngineConfig

    torch.set_num_threads(1)
    r = train(EngineConfig(lab="autoregressive", settings=job["settings"], seed=0, torch_threads=1, data=job["data"]),
              job["steps"], None, progress=None)
    return {"bench": "autoregressive-nll", "name": job["name"], "dataset": r["dataset"], "steps": r["steps"],
            "test_images": r["test_images"], "test_nll_nats": round(r["test_nll_nats"], 3),
            "test_nll_se": round(r["test_nll_se"], 3), "bits_per_dim": round(r["bits_per_dim"], 4),
            "steps_per_sec": r["steps_per_sec"], "seconds": r["seconds"]}


def nll_jobs(data: str | None, steps: int, overrides: dict) -> list[dict]:
    runs = [("NADE, 256 hidden", {"model": "nade"}),
            ("MADE, 2x256 hidden, raster order", {"model": "made"}),
            ("MADE, one random ordering", {"model": "made", "order": "random", "masks": 1}),
            ("MADE, 8 orderings, ensemble", {"model": "made", "order": "random", "masks": 8}),
            ("PixelCNN, 32 channels, 1+5 layers", {"model": "pixelcnn"}),
            ("Gated PixelCNN, 32 channels, 6 layers", {"model": "gated"})]
    return [{"name": name, "data": data, "steps": steps, "settings": {**overrides, **s}} for name, s in runs]


def main(seconds: float = 8.0, data: str | None = None, steps: int | None = None, overrides: dict | None = None,
         live_only: bool = False) -> int:
    from genviz.bench import live

    overrides = overrides or {}
    t_all = time.perf_counter()
    # live against headless on 28x28 images, with the sampling figures measured in the same window
    live.main("autoregressive", seconds=seconds, engines=("process",), data=data or LIVE_DATA, overrides=overrides,
              module=__name__)
    if live_only:
        return 0
    for model in MODELS:
        emit(sampling_seconds(model))
    steps = steps or 3000
    jobs = nll_jobs(None, steps, {k: v for k, v in overrides.items() if k not in ("model", "order", "masks")})
    results = pool_map(train_job, jobs)
    for r in results:
        emit(r)
    print(f"\n{'model (embedded digits, 8x8, ' + str(steps) + ' steps, batch 64)':52s} {'test NLL (nats)':>16s} "
          f"{'bits/dim':>9s} {'steps/s':>8s}")
    for r in results:
        print(f"{r['name']:52s} {r['test_nll_nats']:9.2f} ± {r['test_nll_se']:4.2f} {r['bits_per_dim']:9.4f} "
              f"{r['steps_per_sec']:8.0f}")
    print(f"test set: {results[0]['test_images']} held-out digits; one torch thread per run; "
          f"total {time.perf_counter() - t_all:.0f} s")
    return 0


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, overrides

    args = bench_parser("autoregressive", __doc__.splitlines()[0]).parse_args(argv)
    return main(seconds=args.seconds, data=args.data, steps=args.steps, overrides=overrides(args),
                live_only=args.live_only)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--live":
        from genviz.bench.live import live as live_phase

        spec = json.loads(sys.argv[2])
        emit(live_phase(spec["lab"], spec["kind"], spec["seconds"], spec["data"], spec["overrides"],
                        extra=sampling_lateness))
