"""``genviz bench api``: what the Python API costs a lab's training. Steps per second of the bare runner (what
``genviz train`` runs), of ``genviz.Run.train`` (recording its frames for the timeline), and of ``train`` in a
notebook (the live figure drawn at most 5 times a second; a stand-in for Jupyter's display), each over the same
steps. Goal: ``train`` in a notebook at >= 0.9x the bare runner (the issue: a live figure without slowing training
by more than 10 %)."""
from __future__ import annotations

import argparse
import json
import statistics
import time


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz bench api", description=__doc__.split("\n\n")[0])
    p.add_argument("--lab", default="gan")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)

    import sys
    import types

    import torch

    import genviz
    from genviz import api
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    class Handle:
        def __init__(self):
            self.updates = 0

        def update(self, _obj):
            self.updates += 1

    handle = Handle()
    display = types.SimpleNamespace(display=lambda obj, display_id=False: handle,
                                    Image=lambda data, format: data)  # noqa: A006 - IPython's names
    torch.set_num_threads(1)

    def bare() -> float:
        runner = Runner(EngineConfig(lab=args.lab, seed=0, torch_threads=1))
        t0 = time.perf_counter()
        for _ in range(args.steps):
            runner.step()
        return args.steps / (time.perf_counter() - t0)

    def api_run(notebook: bool) -> float:
        run = genviz.Run(args.lab, seed=0, threads=1)
        run.image()  # the off-screen panel built once, as a notebook's first picture does
        saved = api._in_notebook, sys.modules.get("IPython.display")
        api._in_notebook = (lambda: True) if notebook else (lambda: False)
        sys.modules["IPython.display"] = display
        try:
            t0 = time.perf_counter()
            run.train(args.steps, progress=notebook)
            return args.steps / (time.perf_counter() - t0)
        finally:
            api._in_notebook = saved[0]
            if saved[1] is not None:
                sys.modules["IPython.display"] = saved[1]
            else:
                sys.modules.pop("IPython.display", None)

    results: dict[str, list[float]] = {"bare": [], "train": [], "notebook": []}
    for r in range(args.rounds):
        for name, fn in (("bare", bare), ("train", lambda: api_run(False)), ("notebook", lambda: api_run(True))):
            results[name].append(fn())
            print(json.dumps({"bench": "api", "lab": args.lab, "phase": name, "round": r,
                              "steps_per_sec": round(results[name][-1], 1)}), flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(json.dumps({"bench": "api", "lab": args.lab, "steps": args.steps, "bare_steps_per_sec": round(med["bare"], 1),
                      "train_steps_per_sec": round(med["train"], 1), "notebook_steps_per_sec": round(med["notebook"], 1),
                      "train_ratio": round(med["train"] / med["bare"], 3),
                      "notebook_ratio": round(med["notebook"] / med["bare"], 3),
                      "live_figure_updates": handle.updates, "goal": "notebook_ratio >= 0.9"}))
    return 0
