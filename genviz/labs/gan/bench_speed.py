"""``genviz bench gan --speed``: the GAN lab at GAN Lab's own ring configuration (G 1x10 ReLU, D 2x9
ReLU, batch 150, 3 D steps and 1 G step per iteration, Adam), against a bare torch loop of the same
model: bare it/s (default Adam, and fused Adam as the lab uses), the lab headless, the lab in the
window. Goals (issue 16): >= 250 it/s in the window (10x GAN Lab's 23-26), >= 0.8x the bare loop,
>= 0.8x headless. ``--repeat N`` measures it N times in turn and ends with the medians and ranges."""
from __future__ import annotations

import math
import time

GAN_LAB = {"g_hidden": 10, "g_layers": 1, "d_hidden": 9, "d_layers": 2, "batch": 150, "d_steps": 3,
           "noise_dim": 2, "data": "ring8", "loss": "nonsat"}


def bare_loop(seconds: float, fused: bool) -> float:
    """The same model and updates written as a plain torch loop (one thread)."""
    import torch
    from torch import nn

    torch.set_num_threads(1)
    g = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 2))
    d = nn.Sequential(nn.Linear(2, 9), nn.ReLU(), nn.Linear(9, 9), nn.ReLU(), nn.Linear(9, 1))
    kw = {"fused": True} if fused else {}
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-3, **kw), torch.optim.Adam(d.parameters(), 1e-3, **kw)
    means = torch.tensor([[math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)] for i in range(8)])
    ones, zeros = torch.ones(150, 1), torch.zeros(150, 1)
    bce = nn.functional.binary_cross_entropy_with_logits
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(3):
            opt_d.zero_grad()
            real = means[torch.randint(0, 8, (150,))] + 0.01 * torch.randn(150, 2)
            fake = g(torch.randn(150, 2)).detach()
            (bce(d(real), ones) + bce(d(fake), zeros)).backward()
            opt_d.step()
        opt_g.zero_grad()
        bce(d(g(torch.randn(150, 2))), ones).backward()
        opt_g.step()
        n += 1
    return n / (time.perf_counter() - t0)


RATIOS = ("live_to_bare_default", "live_to_bare_fused", "live_to_headless", "headless_to_bare_default",
          "headless_to_bare_fused")
GOALS = {"live_it_per_sec": ">= 250", "live_to_bare": ">= 0.8", "live_to_headless": ">= 0.8"}


def measure(seconds: float) -> dict:
    """One measurement: bare loops before and after the lab (their mean is the reference: a machine's speed drifts
    over a run), the lab headless, the lab in the window; emitted as JSON lines, returned as the summary row."""
    import os

    from genviz.bench.live import emit, headless_steps_per_sec, live_in_subprocess

    def bare_pair() -> dict:
        return {name: bare_loop(seconds / 2, fused) for name, fused in (("default_adam", False), ("fused_adam", True))}

    before = bare_pair()
    headless = headless_steps_per_sec("gan", seconds, max(1, (os.cpu_count() or 2) - 1), None, dict(GAN_LAB))
    live = live_in_subprocess("gan", "process", seconds, None, dict(GAN_LAB))
    after = bare_pair()
    bare = {k: (before[k] + after[k]) / 2 for k in before}
    emit({"bench": "gan-speed", "phase": "bare", "settings": GAN_LAB,
          **{f"{k}_it_per_sec": round(v, 1) for k, v in bare.items()},
          **{f"{k}_before_after": [round(before[k], 1), round(after[k], 1)] for k in bare}})
    emit({"bench": "gan-speed", "phase": "headless", "steps_per_sec": round(headless, 1)})
    emit({"bench": "gan-speed", "phase": "live", **live})
    row = summary_row(live, headless, bare)
    emit({"bench": "gan-speed", "phase": "summary", **row, "goals": GOALS})
    return row


def summary_row(live: dict, headless: float, bare: dict) -> dict:
    return {"live_it_per_sec": live["steps_per_sec"], "bare_fused_it_per_sec": round(bare["fused_adam"], 1),
            "timer_lateness_ms_p99": live.get("timer_lateness_ms_p99"),
            "live_to_bare_default": round(live["steps_per_sec"] / bare["default_adam"], 3),
            "live_to_bare_fused": round(live["steps_per_sec"] / bare["fused_adam"], 3),
            "live_to_headless": round(live["steps_per_sec"] / headless, 3),
            "headless_to_bare_default": round(headless / bare["default_adam"], 3),
            "headless_to_bare_fused": round(headless / bare["fused_adam"], 3)}


def medians(rows: list[dict]) -> dict:
    """The median of each figure over the repeats, and each ratio's range (one 8 s measurement moved by 0.2 from
    run to run on the 2-core machine: live ÷ fused bare loop 0.67, 0.73, 0.88 within minutes)."""
    import numpy as np

    out = {k: round(float(np.median([r[k] for r in rows if r.get(k) is not None])), 3)
           for k in rows[0] if any(r.get(k) is not None for r in rows)}
    out.update({f"{k}_range": [min(r[k] for r in rows), max(r[k] for r in rows)] for k in RATIOS})
    return out


def main(seconds: float = 8.0, repeat: int = 1) -> int:
    """``repeat`` measurements in turn; with more than one, a last line of their medians and ranges."""
    from genviz.bench.live import emit

    rows = [measure(seconds) for _ in range(repeat)]
    if repeat > 1:
        emit({"bench": "gan-speed", "phase": "median", "repeats": repeat, **medians(rows), "goals": GOALS})
    return 0
