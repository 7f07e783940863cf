"""`genviz bench arithmetic`: slider move -> new image on screen, in the real window, as JSON lines.

Moves arrive on a fixed 50 Hz schedule (a quick drag); each latency runs from the move's scheduled
time to the decoded image painted, so it includes any wait behind other GUI work (snapshots,
the smaller views that follow the large image). Measured paused, then while the model trains.
"""
from __future__ import annotations

import json
import time

import numpy as np

MOVE_EVERY_S = 0.02


def _moves(app, panel, n: int, rng) -> np.ndarray:
    from genviz.bench.window import pump

    out = []
    due = time.perf_counter() + MOVE_EVERY_S
    for _ in range(n):
        pump(app, max(0.0, due - time.perf_counter()))
        slider = panel.bank.sliders[int(rng.integers(len(panel.bank.sliders)))]
        value = slider.value() + int(rng.choice([-1, 1]) * rng.integers(5, 40))
        if abs(value) > slider.maximum():
            value = -value // 2
        slider.setValue(value)  # decodes and paints the image before returning
        out.append((time.perf_counter() - due) * 1e3)
        due += MOVE_EVERY_S
    return np.array(out)


def _figures(lat: np.ndarray) -> dict:
    return {"p50": round(float(np.percentile(lat, 50)), 2), "p95": round(float(np.percentile(lat, 95)), 2),
            "max": round(float(lat.max()), 2), "n": int(len(lat))}


def measure(data: str | None, overrides: dict, moves: int, engine: str) -> dict:
    from genviz.bench.window import open_lab_window, pump

    app, w, panel = open_lab_window("arithmetic", engine, data, overrides)
    w.training.do_step(200)  # a model that draws something
    pump(app, 60, until=lambda: w.run.step >= 200 and bool(panel.heavy))
    pump(app, 1.0)
    rng = np.random.default_rng(0)
    paused = _moves(app, panel, moves, rng)
    w.training.play()
    pump(app, 2.0)
    step0, t0 = w.run.step, time.perf_counter()
    training = _moves(app, panel, moves, rng)
    steps_per_sec = (w.run.step - step0) / (time.perf_counter() - t0)
    record = {"bench": "arithmetic", "data": panel.static.get("dataset"), "image": list(panel.static["image_shape"]),
              "latent": int(panel.static["latent"]), "sliders": len(panel.bank.sliders), "engine": engine,
              "slider_to_image_ms_paused": _figures(paused), "slider_to_image_ms_training": _figures(training),
              "training_steps_per_sec_meanwhile": round(steps_per_sec, 1), "goal_p95_ms": 16}
    w.close()
    app.processEvents()
    return record


def main(data: str | None = None, overrides: dict | None = None, moves: int = 400, engine: str = "process") -> int:
    overrides = overrides or {}
    configs = [overrides] if overrides else [{"latent": 8}, {"latent": 64}]
    for cfg in configs:
        print(json.dumps(measure(data, cfg, moves, engine)), flush=True)
    return 0


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, overrides

    args = bench_parser("arithmetic", "Slider-to-image latency in the real window (JSON lines).").parse_args(argv)
    return main(data=args.data, overrides=overrides(args), engine=args.engines.split(",")[0])
