"""``genviz bench presets``: does each lecture preset show its lesson within a minute from a cold start?

For every preset with a ``[lesson]`` (genviz/resources/presets/*.toml), a fresh process builds the
preset's run (import and build time count: a cold start) and trains it as the window's worker does,
one torch thread; once a second of training it reads the lesson's figure: a metric row (the mean of
the rows since the last reading) or a value of a heavy snapshot. It prints one JSON line per preset:
the time and step at which the lesson first held (``when = "first"``) or whether it holds at the
end of its time (``when = "end"``), the figure's trace, and steps/s. The window trains at >= 0.8x
the headless speed (``genviz bench live``), so a lesson reached here in 48 s is on screen within a
minute.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

_CHILD = r"""
import json, sys, time
t_start = time.perf_counter()
import numpy as np
from genviz.bench.presets import measure
print(json.dumps(measure(sys.argv[1], t_start, scratch=sys.argv[2] == "scratch")))
"""


def _value(lesson: dict, rows: list[dict], snapshot: dict | None):
    import numpy as np

    if lesson["source"] == "rows":
        vals = [r[lesson["key"]] for r in rows if lesson["key"] in r and np.isfinite(r[lesson["key"]])]
        return float(np.mean(vals)) if vals else None
    value = snapshot
    for part in lesson["key"].split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return None
    return float({"min": arr.min, "max": arr.max, "mean": arr.mean}[lesson["reduce"]]()) if arr.ndim else float(arr)


def _holds(lesson: dict, value) -> bool:
    if value is None:
        return False
    return value >= lesson["at_least"] if "at_least" in lesson else value <= lesson["at_most"]


def measure(name: str, t_start: float | None = None, scratch: bool = False) -> dict:
    """Train preset ``name`` headless for its lesson's seconds and read its figure once a second.
    A preset with a shipped trained state starts from it (read and checked as the window does), unless
    ``scratch``; its figure is then read at once too."""
    t_start = time.perf_counter() if t_start is None else t_start
    import numpy as np

    from genviz.core.presets import get_preset
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    preset = get_preset(name)
    lesson = preset.lesson
    trained = preset.trained is not None and not scratch
    if trained:
        from genviz.core.presets import load_trained

        session = load_trained(preset)
        config = EngineConfig(lab=session.lab, settings=session.settings, seed=session.seed, data=session.data,
                              torch_threads=1, state=session.state)
    else:
        config = EngineConfig(lab=preset.lab, settings=preset.resolved_settings(), seed=preset.seed,
                              data=preset.data, torch_threads=1)
    runner = Runner(config)
    first_step = runner.step_count
    build_s = time.perf_counter() - t_start
    rows: list[dict] = []
    trace, reached = [], None
    t_train = time.perf_counter()
    next_read = t_train if trained else t_train + 1.0
    from genviz.core.labs import get_lab

    speed = preset.speed if preset.speed is not None else get_lab(preset.lab).speed
    taken = 0
    while True:
        due = t_train + taken / speed if speed > 0 else 0.0  # the preset's (or lab's) speed cap, as in the window
        if time.perf_counter() < due:
            time.sleep(max(0.0, min(due, next_read) - time.perf_counter()))
        if time.perf_counter() >= due:
            taken += 1
            try:
                rows.append(runner.step())
            except Exception as exc:  # a diverged preset is a failed lesson, said as such
                trace.append([round(time.perf_counter() - t_start, 1), runner.step_count, f"stopped: {exc}"])
                break
        now = time.perf_counter()
        if now < next_read:
            continue
        snap = runner.snapshot(heavy=True) if lesson["source"] == "snapshot" else None
        value = _value(lesson, rows, snap)
        rows = []
        elapsed = time.perf_counter() - t_start
        trace.append([round(elapsed, 1), runner.step_count, None if value is None else round(value, 4)])
        if reached is None and _holds(lesson, value) and lesson["when"] == "first":
            reached = (elapsed, runner.step_count, value)
            break
        if elapsed >= lesson["seconds"]:
            if lesson["when"] == "end" and lesson.get("window"):  # the mean of the last readings
                recent = [v for t, _, v in trace if isinstance(v, float) and t >= elapsed - lesson["window"]]
                value = float(np.mean(recent)) if recent else None
            if lesson["when"] == "end" and _holds(lesson, value):
                reached = (elapsed, runner.step_count, value)
            break
        next_read = time.perf_counter() + 1.0
    train_s = time.perf_counter() - t_train
    return {"bench": "presets", "preset": name, "lab": preset.lab, "lesson": lesson["what"],
            "start": f"trained state (step {first_step})" if trained else "scratch",
            "shown": reached is not None, "at_s": None if reached is None else round(reached[0], 1),
            "at_step": None if reached is None else reached[1],
            "value": (round(value, 4) if isinstance(value, float) else value) if lesson.get("window")
            else (trace[-1][2] if trace else None), "goal_s": lesson["seconds"], "build_s": round(build_s, 2),
            "steps_per_sec": round((runner.step_count - first_step) / max(train_s, 1e-9), 1), "trace": trace[-8:]}


def main(names: list[str] | None = None) -> int:
    from genviz.core.presets import all_presets

    presets = [p for p in all_presets() if p.lesson and (not names or p.name in names)]
    for preset in presets:  # a preset with a shipped state: from it, then from scratch
        if preset.missing():
            print(json.dumps({"bench": "presets", "preset": preset.name, "skipped": preset.missing()}), flush=True)
            continue
        for start in (("trained", "scratch") if preset.trained is not None else ("scratch",)):
            r = subprocess.run([sys.executable, "-c", _CHILD, preset.name, start], capture_output=True, text=True,
                               timeout=preset.lesson["seconds"] + 300)
            line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else json.dumps(
                {"bench": "presets", "preset": preset.name, "start": start, "error": r.stderr.strip().splitlines()[-1:]})
            print(line, flush=True)
    return 0
