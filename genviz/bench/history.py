"""``genviz bench history``: the timeline's budget, per lab, in the real window.

For each lab the window trains for a while (process engine) and records its history as it always
does. From that run: snapshot, checkpoint and metric-row rates and sizes. A 30-minute history is
then built from them: the recorded snapshots are fed again, as many as 30 minutes at the measured
rate would bring, through the same thinning, and its bytes are reported (goal <= 500 MB). Scrub
time: with training paused, the time from a timeline move to the lab's views drawn and painted,
per scrub and per view (goal <= 16 ms per view).
"""
from __future__ import annotations

import json
import random
import time

import numpy as np

RUN_MINUTES = 30


def _scrub_times(app, w, panel, scrubs: int) -> list[float]:
    rng = random.Random(0)
    times = []
    n = len(w.run.history)
    for _ in range(scrubs):
        i = rng.randrange(n)
        t0 = time.perf_counter()
        w.timeline.scrub_to(i)
        # the views draw one per event-loop turn; run them all, then paint the panel
        while panel.drawing:
            app.processEvents()
        panel.repaint()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def bench_lab(lab: str, seconds: float, scrubs: int, data: str | None = None, overrides: dict | None = None) -> dict:
    from genviz.bench.window import open_lab_window, pump
    from genviz.core.history import History

    app, w, panel = open_lab_window(lab, "process", data=data, overrides=overrides)
    t0 = time.perf_counter()
    w.training.play()
    pump(app, seconds)
    w.training.pause()
    pump(app, 1.0)
    elapsed = time.perf_counter() - t0
    h = w.run.history
    frames = list(h.frames)
    frame_rate = (h._frames.count) / elapsed  # recorded, before any thinning
    rows = len(h.metrics().get("step", []))
    row_bytes = sum(v.nbytes for v in h.metrics().values()) / max(1, rows)
    ck_sizes = [len(b) for _, b in h.checkpoints]

    # a 30-minute history at these rates, through the same budget and thinning
    run_s = RUN_MINUTES * 60
    long = History()
    n_frames = int(frame_rate * run_s)
    n_ck = int(run_s / w.controller.checkpoint_seconds) + 1
    t_feed = time.perf_counter()
    for k in range(n_frames):
        long.add_frame(k + 1, frames[k % len(frames)].data)
    blob = bytes(int(np.mean(ck_sizes)))
    for k in range(n_ck):
        long.add_checkpoint(k + 1, blob)
    feed_s = time.perf_counter() - t_feed
    metric_bytes = int(min(long.max_metric_rows, rows / elapsed * run_s) * row_bytes)
    total = long.frame_bytes + long.checkpoint_bytes + metric_bytes

    # the same 30-minute history saved as a session file (curves of this run; snapshots compressed)
    import dataclasses
    import tempfile
    from pathlib import Path

    from genviz.core.session import save_session

    with tempfile.TemporaryDirectory() as tmp:
        session = dataclasses.replace(w.controller.run.to_session(None), history=long)
        file_mb = save_session(session, Path(tmp) / "30min.genviz").stat().st_size / 1e6

    times = _scrub_times(app, w, panel, scrubs)
    n_views = len(panel.views())
    w.close()
    pump(app, 0.5)
    return {
        "lab": lab, "trained_s": round(elapsed, 1), "steps": w.run.step,
        "snapshots_per_s": round(frame_rate, 2), "snapshot_kb": round(np.mean([f.nbytes for f in frames]) / 1e3, 1),
        "checkpoint_kb": round(np.mean(ck_sizes) / 1e3, 1), "metric_rows_per_s": round(rows / elapsed, 1),
        "30min_snapshots_recorded": n_frames, "30min_snapshots_kept": len(long),
        "30min_checkpoints_kept": len(long.checkpoints),
        "30min_history_mb": round(total / 1e6, 1),
        "30min_parts_mb": {"snapshots": round(long.frame_bytes / 1e6, 1), "checkpoints": round(long.checkpoint_bytes / 1e6, 1),
                           "curves": round(metric_bytes / 1e6, 1)},
        "30min_session_file_mb": round(file_mb, 1),
        "record_us_per_snapshot": round(feed_s / max(1, n_frames + n_ck) * 1e6, 1),
        "views": n_views, "scrub_ms_p50": round(float(np.percentile(times, 50)), 2),
        "scrub_ms_p95": round(float(np.percentile(times, 95)), 2),
        "scrub_ms_per_view_p95": round(float(np.percentile(times, 95)) / max(1, n_views), 2),
    }


def main(labs: list[str] | None = None, seconds: float = 20.0, scrubs: int = 60, data: str | None = None,
         overrides: dict | None = None) -> int:
    from genviz.core.labs import all_labs

    for lab in labs or list(all_labs()):
        print(json.dumps(bench_lab(lab, seconds, scrubs, data or ("shapes" if lab == "arithmetic" else None),
                                   overrides)), flush=True)
    return 0
