"""Training without a window: the same experiment the GUI's worker runs, in a plain loop."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TextIO

from genviz.core.engine import EngineConfig, _build_experiment


def train(config: EngineConfig, steps: int, out_dir: str | Path | None = None,
          progress: TextIO | None = sys.stderr, extra_metrics: dict | None = None) -> dict:
    """Train ``steps`` steps, save the model into ``out_dir``, return the final metrics.

    A non-finite loss stops training (the last good state is what gets saved) and is reported in
    the returned metrics as ``stopped: "non-finite loss at step N"``."""
    import torch

    torch.set_num_threads(max(1, config.torch_threads))
    exp = _build_experiment(config)
    t0 = last = time.perf_counter()
    stopped = None
    for _ in range(steps):
        metrics = exp.train_step()
        if not all(math.isfinite(float(v)) for v in metrics.values()):
            stopped = f"non-finite loss at step {exp.step_count + 1}"
            break
        exp.step_count += 1
        now = time.perf_counter()
        if progress is not None and (now - last > 0.5 or exp.step_count == steps):
            last = now
            rate = exp.step_count / max(1e-9, now - t0)
            progress.write(f"\r{config.lab}: step {exp.step_count}/{steps}  {rate:7.1f} steps/s  "
                           f"loss {metrics['loss']:.4f}   ")
            progress.flush()
    elapsed = time.perf_counter() - t0
    if progress is not None:
        progress.write("\n")
    result = exp.final_metrics(**(extra_metrics or {}))
    result.update({"seconds": round(elapsed, 3), "steps_per_sec": round(exp.step_count / max(elapsed, 1e-9), 2),
                   "seed": config.seed, "settings": exp.settings})
    if stopped:
        result["stopped"] = stopped
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        exp.save(str(out / "model.pt"))
        (out / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
        result["model_path"] = str(out / "model.pt")
    return result


def record_session(config: EngineConfig, steps: int, frame_every: int = 10, checkpoint_every: int = 50,
                   title: str = "", caption: str = ""):
    """Train ``steps`` steps without a window, recording what the GUI records (a heavy snapshot
    every ``frame_every`` steps, a checkpoint every ``checkpoint_every``, every metric row), and
    return it as a Session (``genviz train --session``; exports and tests start from these)."""
    import torch

    from genviz.core.engine import _columns, state_bytes
    from genviz.core.experiment import ViewRandomness
    from genviz.core.history import History
    from genviz.core.session import Session

    torch.set_num_threads(max(1, config.torch_threads))
    exp = _build_experiment(config)
    view_random = ViewRandomness(config.seed, exp.device)
    history = History()
    rows: list = []

    def frame() -> None:
        nonlocal rows
        with view_random:
            data = exp.snapshot(heavy=True)
        history.record({"step": exp.step_count, "heavy": True, "metrics": _columns(rows), "data": data})
        rows = []

    frame()
    history.add_checkpoint(exp.step_count, state_bytes(exp))
    for _ in range(steps):
        metrics = exp.train_step()
        if not all(math.isfinite(float(v)) for v in metrics.values()):
            break
        exp.step_count += 1
        rows.append((exp.step_count, metrics))
        if exp.step_count % frame_every == 0:
            frame()
        if exp.step_count % checkpoint_every == 0:
            history.add_checkpoint(exp.step_count, state_bytes(exp))
    if rows:
        frame()
    from genviz.core.labs import get_lab

    names = {spec.name for spec in get_lab(config.lab).settings}  # a lab may add fixed ones of its own
    return Session(lab=config.lab, settings={k: v for k, v in exp.settings.items() if k in names}, seed=config.seed, data=config.data,
                   device=config.device, step=exp.step_count, static=exp.static_info(), state=state_bytes(exp),
                   history=history, title=title, caption=caption)
