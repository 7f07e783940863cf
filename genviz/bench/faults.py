"""``genviz bench faults``: how fast a lost worker is noticed, how fast its run comes back, and what
refusing the hostile files of issue 15 costs (time, and peak memory of a fresh process).

JSON lines on stdout:

- ``kill`` / ``hang``: the time from SIGKILL / SIGSTOP of a training worker to ``Engine.health``
  reporting it (goal: under a second), over several trials;
- ``recover``: from starting a fresh worker on the last checkpoint to its first snapshot;
- ``refuse``: each hostile input refused in its own Python process: the message, the seconds and
  the process's peak resident memory (the baseline process, which only imports genviz, is given too).
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _print(obj) -> None:
    print(json.dumps(obj), flush=True)


def _ready_engine(config):
    from genviz.core.engine import ProcessEngine
    from genviz.core.protocol import Checkpoint, Ready

    engine = ProcessEngine()
    engine.start(config)
    seen = {"ready": False, "checkpoint": None}

    def ready(evts, snap):
        for e in evts:
            seen["ready"] |= isinstance(e, Ready)
            if isinstance(e, Checkpoint):
                seen["checkpoint"] = e
        return seen["ready"] and snap is not None

    engine.wait_for(ready, timeout=300)
    return engine, seen


def _detect(engine, sig: int, expect: str, timeout: float = 10.0) -> float:
    os.kill(engine.pid, sig)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        reason = engine.health()
        if reason is not None and expect in reason:
            return time.monotonic() - t0
        time.sleep(0.005)
    return float("inf")


def lost_worker(trials: int = 5) -> None:
    from genviz.core.protocol import Checkpoint, EngineConfig

    config = EngineConfig(lab="manifold", settings={"hidden": 64}, checkpoint_seconds=0.5)
    for kind, sig, expect in (("kill", signal.SIGKILL, "SIGKILL"), ("hang", signal.SIGSTOP, "hangs")):
        latencies, recover = [], []
        for _ in range(trials):
            engine, seen = _ready_engine(config)
            engine.play()
            last = [seen["checkpoint"]]

            def trained(evts, snap):
                last[0] = next((e for e in reversed(evts) if isinstance(e, Checkpoint)), last[0])
                return snap is not None and snap.step >= 50

            engine.wait_for(trained, timeout=120)
            latencies.append(_detect(engine, sig, expect))
            engine.close(0.2)
            # the run comes back from its last checkpoint in a fresh worker
            t0 = time.monotonic()
            fresh, _ = _ready_engine(replace(config, state=last[0].state))
            recover.append(time.monotonic() - t0)
            fresh.close(0.5)
        _print({"bench": "faults", "case": kind, "trials": trials,
                "detect_ms_median": round(1000 * statistics.median(latencies), 1),
                "detect_ms_max": round(1000 * max(latencies), 1),
                "recover_s_median": round(statistics.median(recover), 2), "goal_detect_ms": 1000})


_REFUSE = r"""
import resource, sys, time
t0 = time.perf_counter()
kind, path = sys.argv[1], sys.argv[2]
try:
    if kind == "session":
        from genviz.core.session import load_session
        load_session(path)
    elif kind == "points":
        from genviz.data.toy2d import make_toy
        make_toy(path)
    elif kind == "baseline-torch":
        import torch
    elif kind != "baseline":
        from genviz.data import load_dataset
        load_dataset(path)
    message = "loaded"
except Exception as exc:
    message = f"{type(exc).__name__}: {exc}"
print(repr((message, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))
"""


def _hostile_files(folder: Path) -> dict[str, tuple[str, Path]]:
    import struct
    import zipfile
    import zlib

    import numpy as np

    np.save(folder / "big.npy", np.zeros((2, 2), np.float32))
    raw = (folder / "big.npy").read_bytes().replace(b"(2, 2)", b"(500000000, 500)")
    (folder / "big.npy").write_bytes(raw)
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 3_000_000, 32, 32)
    comp = zlib.compressobj(9, wbits=31)
    head = comp.compress(header)
    body = b"".join(comp.compress(b"\0" * 2 ** 20) for _ in range(3000))
    (folder / "bomb-images-idx3-ubyte.gz").write_bytes(head + body + comp.flush())
    comp = zlib.compressobj(9, wbits=31)  # the same zeros without an IDX header
    body = b"".join(comp.compress(b"\0" * 2 ** 20) for _ in range(3000))
    (folder / "headless-images-idx3-ubyte.gz").write_bytes(body + comp.flush())
    np.savez(folder / "labels.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.array([0, 1, 2, 10 ** 12]))
    (folder / "pngs").mkdir()
    w = h = 30000

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(b"\0" * (w + 1)) for _ in range(h)) + comp.flush()
    (folder / "pngs" / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                                               + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    # a session whose arrays.npz claims 4 GiB: the declared size is what a zip bomb must state
    with zipfile.ZipFile(folder / "bomb.genviz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("session.json", json.dumps({"format": "genviz-session", "version": 1}))
        zf.writestr("arrays.npz", b"\0" * 4_000_000)
    raw = bytearray((folder / "bomb.genviz").read_bytes())
    i = raw.rfind(b"PK\x01\x02")
    raw[i + 24:i + 28] = (2 ** 32 - 1).to_bytes(4, "little")
    (folder / "bomb.genviz").write_bytes(bytes(raw))
    deep = b'{"format": "genviz-session", "version": 1, "static": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with zipfile.ZipFile(folder / "deep.genviz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("session.json", deep)
        zf.writestr("arrays.npz", b"")
    os.mkfifo(folder / "fifo.csv")
    (folder / "long.csv").write_text("x,y\n" + "1" * 200_000 + ",2\n")
    np.save(folder / "far.npy", np.array([[1e308, -1e308], [0, 0], [1, 1]]))
    return {"baseline": ("baseline", folder), "baseline with torch imported": ("baseline-torch", folder), "npy header of 931 GiB": ("data", folder / "big.npy"),
            "gzip IDX promising 2.9 GiB": ("data", folder / "bomb-images-idx3-ubyte.gz"),
            "gzip of 3 GiB zeros (no header)": ("data", folder / "headless-images-idx3-ubyte.gz"),
            "label 10^12 in .npz": ("data", folder / "labels.npz"),
            "PNG of 30000x30000 (857 kB)": ("data", folder / "pngs"),
            "session zip bomb (4 GiB declared)": ("session", folder / "bomb.genviz"),
            "session.json nested 200,000 deep": ("session", folder / "deep.genviz"),
            "FIFO named x.csv": ("points", folder / "fifo.csv"),
            "CSV with a 200 kB field": ("points", folder / "long.csv"),
            "points of ±1e308": ("points", folder / "far.npy")}


def refusals() -> None:
    import ast

    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, path) in _hostile_files(Path(tmp)).items():
            r = subprocess.run([sys.executable, "-c", _REFUSE, kind, str(path)], capture_output=True, text=True,
                               timeout=120)
            message, seconds, rss_kb = ast.literal_eval(r.stdout.strip().splitlines()[-1])
            _print({"bench": "faults", "case": "refuse", "input": name, "seconds": round(seconds, 3),
                    "peak_rss_mb": round(rss_kb / 1024, 1), "message": message[:160]})


def main(trials: int = 5) -> int:
    lost_worker(trials)
    refusals()
    return 0
