"""Training without a window: the same runner the GUI's worker uses, in a plain loop."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

from genviz.core.protocol import EngineConfig
from genviz.core.runner import Runner


def train(config: EngineConfig, steps: int, out_dir: str | Path | None = None,
          progress: TextIO | None = sys.stderr, extra_metrics: dict | None = None) -> dict:
    """Train ``steps`` steps, save the model into ``out_dir``, return the final metrics.

    A non-finite loss stops training (the last good state is what gets saved) and is reported in
    the returned metrics as ``stopped: "non-finite loss at step N (...)"``."""
    runner = Runner(config)
    last = [0.0]

    def report(step: int, seconds: float, metrics: dict) -> None:
        if progress is not None and (seconds - last[0] > 0.5 or step == steps):
            last[0] = seconds
            name = "loss" if "loss" in metrics else next(iter(metrics))  # an RBM has no tractable loss
            progress.write(f"\r{config.lab}: step {step}/{steps}  {step / max(1e-9, seconds):7.1f} steps/s  "
                           f"{name} {metrics[name]:.4f}   ")
            progress.flush()

    t0 = time.perf_counter()
    stopped = runner.train(steps, progress=report)
    elapsed = time.perf_counter() - t0
    exp = runner.exp
    if progress is not None:
        progress.write("\nfinal metrics…")
        progress.flush()

        def final_report(text: str) -> None:
            progress.write(f"\rfinal metrics: {text}   ")
            progress.flush()

        exp.report = final_report
    result = exp.final_metrics(**(extra_metrics or {}))
    if progress is not None:
        progress.write("\n")
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
    return record_run(config, steps, frame_every, checkpoint_every, title, caption, final=False)[0]


def record_run(config: EngineConfig, steps: int, frame_every: int = 10, checkpoint_every: int = 50,
               title: str = "", caption: str = "", final: bool = True):
    """:func:`record_session` and the run's final metrics (as :func:`train` reports them; ``{}`` without
    ``final``): what one run of a sweep keeps."""
    from genviz.core.history import History
    from genviz.core.labs import get_lab
    from genviz.core.session import Session

    runner = Runner(config)
    history = History()
    t0 = time.perf_counter()
    stopped = runner.train(steps, history=history, frame_every=frame_every, checkpoint_every=checkpoint_every)
    elapsed = time.perf_counter() - t0
    exp = runner.exp
    names = {spec.name for spec in get_lab(config.lab).settings}  # a lab may fix more of its own
    session = Session(lab=config.lab, settings={k: v for k, v in exp.settings.items() if k in names},
                      seed=config.seed, data=config.data, device=config.device, step=exp.step_count,
                      static=exp.static_info(), state=runner.state(), history=history, title=title, caption=caption,
                      model_code=config.model_code)
    result: dict = {}
    if final:
        result = exp.final_metrics()
        result.update({"seconds": round(elapsed, 3), "steps_per_sec": round(exp.step_count / max(elapsed, 1e-9), 2)})
        if stopped:
            result["stopped"] = stopped
    return session, result
