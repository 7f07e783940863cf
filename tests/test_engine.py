"""The engine's lifecycle on both backends: play, pause, step, reset, live settings, queries,
NaN pauses and keeps the last good state, worker exceptions are reported, close joins."""
import threading
import time

import pytest

from genviz.core.engine import make_engine
from genviz.core.protocol import EngineConfig, Error, NonFinite, Ready, Reply, SettingApplied, Snapshot, State


def collect(engine, until, timeout=60.0):
    """Poll, gathering events and the latest snapshot, until ``until(events, snap)``."""
    events, last = [], None

    def pred(evts, snap):
        nonlocal last
        events.extend(evts)
        if snap is not None:
            last = snap
        return until(events, last)

    engine.wait_for(pred, timeout)
    return events, last


def kinds(events):
    return [type(e) for e in events]


def last(events, kind):
    return [e for e in events if isinstance(e, kind)][-1]


@pytest.fixture(params=["thread", "process"])
def engine_kind(request):
    return request.param


def test_lifecycle(engine_kind):
    engine = make_engine(engine_kind)
    engine.start(EngineConfig(lab="manifold", settings={"hidden": 32}, snapshot_hz=50))
    try:
        events, _ = collect(engine, lambda e, s: Ready in kinds(e))
        ready = last(events, Ready)
        assert ready.device == "cpu" and ready.static["image_shape"] == (8, 8)

        engine.step(7)
        _, snap = collect(engine, lambda e, s: s is not None and s.step == 7 and not s.running)
        assert isinstance(snap, Snapshot) and snap.heavy
        assert snap.data["manifold"].dtype.name == "uint8"  # a heavy snapshot once stepping ends
        time.sleep(0.2)
        _, snap2 = collect(engine, lambda e, s: True, timeout=1)
        assert snap2 is None or snap2.step == 7  # paused: nothing trains

        engine.play()
        _, snap = collect(engine, lambda e, s: s is not None and s.step > 50)
        assert snap.running and snap.metrics["step"][-1] <= snap.step
        engine.pause()
        events, snap = collect(engine, lambda e, s: any(isinstance(x, State) and not x.running for x in e))
        stopped_at = last(events, State).step
        time.sleep(0.3)
        qid = engine.query("metrics")
        events, _ = collect(engine, lambda e, s: Reply in kinds(e))
        reply = last(events, Reply)
        assert reply.id == qid and reply.ok and reply.value["steps"] == stopped_at

        engine.set_setting("beta", 0.5)
        events, _ = collect(engine, lambda e, s: SettingApplied in kinds(e))
        assert last(events, SettingApplied) == SettingApplied("beta", 0.5)

        engine.reset(EngineConfig(lab="manifold", settings={"hidden": 16, "latent": 3}))
        events, _ = collect(engine, lambda e, s: Ready in kinds(e))
        assert last(events, Ready).static["latent"] == 3
        engine.step(1)
        _, snap = collect(engine, lambda e, s: s is not None and s.step == 1)
        assert snap.data["basis"].shape == (3, 2)  # PCA projection for latent > 2
    finally:
        t0 = time.perf_counter()
        assert engine.close(1.0)
        assert time.perf_counter() - t0 < 1.5
    assert not engine.alive


def test_nan_pauses_and_keeps_last_good_state(engine_kind):
    engine = make_engine(engine_kind)
    engine.start(EngineConfig(lab="manifold", experiment_ref="tests.helpers:NanAt6"))
    try:
        engine.play()
        events, _ = collect(engine, lambda e, s: NonFinite in kinds(e))
        nan = last(events, NonFinite)
        assert nan.step == 6 and "loss" in nan.metrics
        engine.query("steps")
        engine.query("w")
        events, _ = collect(engine, lambda e, s: kinds(e).count(Reply) == 2)
        replies = [x.value for x in events if isinstance(x, Reply)]
        assert replies[0] == 5  # five good steps, the sixth refused
        assert replies[1] == pytest.approx([0.9 ** 5] * 3)  # w after exactly 5 SGD steps, no NaN
        states = [x for x in events if isinstance(x, State)]
        assert not states or not states[-1].running
    finally:
        engine.close()


def test_worker_exception_is_reported_not_swallowed(engine_kind):
    engine = make_engine(engine_kind)
    engine.start(EngineConfig(lab="manifold", experiment_ref="tests.helpers:FailAt3"))
    try:
        engine.play()
        events, _ = collect(engine, lambda e, s: Error in kinds(e))
        err = last(events, Error)
        assert "deliberate failure" in err.message and "Traceback" in err.traceback
        assert "training step 3" in err.where
        engine.query("steps")  # the worker is still alive and answering
        events, _ = collect(engine, lambda e, s: Reply in kinds(e))
        assert last(events, Reply).value == 2
    finally:
        engine.close()


def test_bad_build_is_reported():
    engine = make_engine("thread")
    engine.start(EngineConfig(lab="manifold", data="/no/such/file.npz"))
    try:
        events, _ = collect(engine, lambda e, s: Error in kinds(e))
        assert "no such file" in last(events, Error).message
    finally:
        engine.close()


def test_speed_cap_slows_training():
    engine = make_engine("thread")
    engine.start(EngineConfig(lab="manifold", experiment_ref="tests.helpers:QuadraticExperiment"))
    try:
        collect(engine, lambda e, s: Ready in kinds(e))
        engine.set_speed(20)
        engine.play()
        time.sleep(1.0)
        engine.pause()
        engine.query("steps")
        events, _ = collect(engine, lambda e, s: Reply in kinds(e))
        assert 8 <= last(events, Reply).value <= 30
    finally:
        engine.close()


def test_thread_engine_leaves_no_thread():
    before = set(threading.enumerate())
    engine = make_engine("thread")
    engine.start(EngineConfig(lab="manifold", experiment_ref="tests.helpers:QuadraticExperiment"))
    engine.play()
    time.sleep(0.2)
    assert engine.close(1.0)
    assert set(threading.enumerate()) <= before


def test_worker_process_exits_when_its_parent_dies(tmp_path):
    """A killed GUI must not leave an orphan worker training forever."""
    import os
    import signal
    import subprocess
    import sys

    pidfile = tmp_path / "worker.pid"
    code = (
        "import time, sys\n"
        "from genviz.core.engine import EngineConfig, make_engine\n"
        "if __name__ == '__main__':\n"
        "    e = make_engine('process')\n"
        "    e.start(EngineConfig(lab='manifold', experiment_ref='tests.helpers:QuadraticExperiment'))\n"
        "    e.play()\n"
        f"    open({str(pidfile)!r}, 'w').write(str(e.pid))\n"
        "    time.sleep(120)\n")
    script = tmp_path / "parent.py"
    script.write_text(code)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parent = subprocess.Popen([sys.executable, str(script)], cwd=root,
                              env={**os.environ, "PYTHONPATH": root})
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        worker = int(pidfile.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        # the worker leaves within ~0.1 s of noticing, even mid-import of torch; the bound is
        # generous so a loaded 2-core machine cannot fail it, the condition is the worker's exit
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            if open(f"/proc/{worker}/stat").read().split()[2] == "Z":
                break  # exited, waiting to be reaped
            time.sleep(0.1)
        else:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the worker outlived its parent")
    finally:
        parent.kill()


def test_partial_steps_are_counted_recorded_and_checkpointed():
    """The GAN's lone D and G updates go through the step path: the step count rises, the metric rows carry
    the part, a checkpoint follows each, and resuming from it continues exactly as the run itself did."""
    from genviz.core.protocol import Checkpoint
    from genviz.core.runner import Runner

    engine = make_engine("thread")
    config = EngineConfig(lab="gan", settings={"g_hidden": 16, "d_hidden": 16, "batch": 32}, snapshot_hz=50)
    engine.start(config)
    try:
        collect(engine, lambda e, s: Ready in kinds(e))
        engine.step(2)
        collect(engine, lambda e, s: s is not None and s.step == 2 and not s.running)
        engine.step(1, "d")
        engine.step(1, "g")
        rows = {}  # step -> its metric row (snapshots may bring steps 3 and 4 together or apart: their
        #            columns differ, so rows are kept by step, never as columns appended side by side)

        def done(events, snap):
            if snap is not None:
                for i, step in enumerate(snap.metrics.get("step", [])):
                    rows[int(step)] = {k: v[i] for k, v in snap.metrics.items()}
            return sum(isinstance(e, Checkpoint) and e.step == 4 for e in events) and snap is not None \
                and snap.step == 4
        events, _ = collect(engine, done)
        assert rows[3].get("part_d") == 1 and rows[4].get("part_g") == 1 and 3 in rows and 4 in rows
        blob = [e for e in events if isinstance(e, Checkpoint) and e.step == 3][-1].state
        engine.step(3)
        _, snap = collect(engine, lambda e, s: s is not None and s.step == 7 and not s.running)
        ahead = snap.metrics
    finally:
        engine.close(1.0)
    runner = Runner(EngineConfig(lab="gan", settings=config.settings, state=blob))
    assert runner.step_count == 3
    again = [runner.step("g"), runner.step(), runner.step(), runner.step()]
    assert again[-1]["d_loss"] == ahead["d_loss"][-1]  # the resumed run takes exactly the same steps


def test_engine_verbs_are_typed_and_replies_go_to_the_request_that_asked(engine_kind):
    """The engine's own verbs (Prepare, TakeState) are commands of their own, not query names a lab could
    shadow; the experiment answers only the queries it declares; each Reply carries its request's id."""
    from genviz.core.checkpoint import state_from_bytes
    from genviz.core.protocol import Prepare, TakeState

    engine = make_engine(engine_kind)
    engine.start(EngineConfig(lab="manifold", experiment_ref="tests.helpers:QuadraticExperiment"))
    try:
        ids = {engine.query("steps"): "steps", engine.request(TakeState): "state", engine.query("state"): "query state",
               engine.request(lambda i: Prepare(i, EngineConfig(lab="manifold", settings={"hidden": 16}))): "prepare",
               engine.query("nonsense"): "nonsense"}
        events, _ = collect(engine, lambda e, s: kinds(e).count(Reply) == len(ids))
        replies = {ids[r.id]: r for r in events if isinstance(r, Reply)}
        assert replies["steps"].ok and replies["steps"].value == 0
        assert replies["state"].ok and state_from_bytes(replies["state"].value)["step"] == 0
        assert replies["prepare"].ok and replies["prepare"].value["step"] == 0
        for name in ("query state", "nonsense"):  # not the engine's verb by another name, nor a lab's undeclared one
            assert not replies[name].ok and "declares no query" in replies[name].error, replies[name]
    finally:
        engine.close()
