"""Training history, checkpoints and session files: resuming from a checkpoint continues with the
same losses as an uninterrupted run; sessions round-trip bit-exact; hostile files are refused
without running anything; the history stays in its memory budget."""
import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

from genviz.core.checkpoint import CheckpointError, state_from_bytes
from genviz.core.engine import make_engine
from genviz.core.protocol import Checkpoint, EngineConfig, Snapshot
from genviz.core.runner import build_experiment, restore_state, state_bytes
from genviz.core.headless import record_session
from genviz.core.history import History, Thinned
from genviz.core.labs import all_labs
from genviz.core.session import Session, SessionError, load_session, save_session
from genviz.testing import same

LABS = list(all_labs())
SMALL = {"manifold": {"hidden": 32}, "posterior": {"hidden": 32}, "arithmetic": {"hidden": 32},
         "flow": {"layers": 4, "hidden": 16}, "gan": {}, "gibbs": {"hidden": 32}}


def losses(exp, n):
    out = []
    for _ in range(n):
        m = exp.advance()
        out.append(m)
    return out


@pytest.mark.parametrize("lab", LABS)
def test_resuming_from_a_checkpoint_continues_with_the_same_losses(lab):
    config = EngineConfig(lab=lab, seed=5, settings=SMALL.get(lab, {}))
    straight = build_experiment(config)
    losses(straight, 6)
    blob = state_bytes(straight)
    expected = losses(straight, 8)

    resumed = build_experiment(config)
    losses(resumed, 3)  # somewhere else entirely, then back to step 6
    restore_state(resumed, blob)
    assert resumed.step_count == 6
    assert losses(resumed, 8) == expected  # exact: every random generator came back too


def test_resume_through_the_engine_matches_an_uninterrupted_run():
    config = EngineConfig(lab="manifold", seed=2, settings={"hidden": 32}, checkpoint_steps=10, snapshot_hz=200)
    reference = build_experiment(config)
    expected = [m["loss"] for m in losses(reference, 30)]

    engine = make_engine("thread")
    engine.start(config)
    try:
        checkpoints, rows = {}, {}

        def gather(until):
            def pred(evts, snap):
                for e in evts:
                    if isinstance(e, Checkpoint):
                        checkpoints[e.step] = e.state
                if snap is not None and "step" in snap.metrics:
                    rows.update(zip(snap.metrics["step"].tolist(), snap.metrics["loss"].tolist()))
                return until(snap)
            engine.wait_for(pred, 60)

        engine.step(30)
        gather(lambda s: s is not None and s.step == 30 and not s.running)
        assert sorted(checkpoints) == [0, 10, 20, 30]
        # no snapshot between steps draws from the training's random numbers: same course
        assert [rows[i] for i in range(1, 31)] == expected
        engine.restore(checkpoints[10])
        rows.clear()
        engine.step(20)
        gather(lambda s: s is not None and s.step == 30 and not s.running)
        assert [rows[i] for i in range(11, 31)] == expected[10:]
    finally:
        engine.close()


def test_history_thins_evenly_and_keeps_the_newest():
    items = Thinned(4, 10**9, lambda x: 1)
    for i in range(10):
        items.append(i)
    assert items.items == [0, 4, 8, 9] and items.stride == 4
    h = History(max_frames=100, max_frame_bytes=10**9, max_checkpoints=8)
    for step in range(0, 5000, 5):
        h.record(Snapshot(0, step, True, 0.0, True, {"step": np.arange(step - 4, step + 1), "loss": np.ones(5)},
                          {"x": np.full(10, step, np.float32)}))
        h.add_checkpoint(step, b"x" * 10)
    assert len(h) <= 100 and h.frames[0].step == 0 and h.frames[-1].step == 4995
    gaps = np.diff(h.steps)
    assert gaps.min() > 0 and gaps[:-1].max() == gaps[:-1].min()  # evenly coarsened over the whole run
    assert len(h.checkpoints) <= 8 and h.checkpoints[-1][0] == 4995
    # the snapshot of a step is exactly what was recorded for it
    i = h.index_at(h.frames[7].step + 1)
    assert same(h.frame(i).data, {"x": np.full(10, h.frames[7].step, np.float32)})
    assert h.checkpoint_at_or_before(h.frames[7].step)[0] <= h.frames[7].step
    assert len(h.metrics()["step"]) == 5000

    small = History(max_frames=10**6, max_frame_bytes=50_000)
    for step in range(1000):
        small.add_frame(step, {"x": np.zeros(1000, np.float32)})
    assert small.frame_bytes <= 50_000 and small.frames[-1].step == 999

    h.truncate_after(2500)
    assert h.frames[-1].step <= 2500 and h.checkpoints[-1][0] <= 2500 and h.metrics()["step"].max() == 2500
    csv = h.metrics_csv().splitlines()
    assert csv[0] == "step,loss" and len(csv) == 1 + 2505  # header, steps -4..2500


@pytest.mark.parametrize("lab", LABS)
def test_session_round_trip_is_bit_exact(tmp_path, lab):
    session = record_session(EngineConfig(lab=lab, seed=1, settings=SMALL.get(lab, {})), 24, frame_every=8, checkpoint_every=12,
                             title="t", caption="c")
    path = save_session(session, tmp_path / "s.genviz")
    back = load_session(path, tuple(LABS))
    assert (back.lab, back.seed, back.step, back.title, back.caption) == (lab, 1, 24, "t", "c")
    assert same(back.settings, session.settings) and same(back.static, session.static)
    assert back.state == session.state
    assert [s for s, _ in back.history.checkpoints] == [0, 12, 24]
    assert back.history.checkpoints == session.history.checkpoints
    assert [f.step for f in back.history.frames] == [0, 8, 16, 24]
    for a, b in zip(session.history.frames, back.history.frames):
        assert same(a.data, b.data)
    assert same(back.history.metrics(), session.history.metrics())
    # and it trains on from where it was saved, exactly as the original would have
    original = build_experiment(EngineConfig(lab=lab, seed=1, settings=SMALL.get(lab, {})))
    restore_state(original, session.state)
    expected = losses(original, 3)  # (torch's global generator is shared: one run after the other)
    reopened = build_experiment(EngineConfig(lab=lab, seed=1, settings=back.settings, state=back.state))
    assert reopened.step_count == 24 and losses(reopened, 3) == expected


class _RunsCode:
    def __reduce__(self):
        return (open, ("genviz-was-pwned", "w"))


def _session_zip(path, manifest, extra=None):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", json.dumps(manifest))
        arrays = io.BytesIO()
        np.savez(arrays, a0=np.zeros(3))
        zf.writestr("arrays.npz", arrays.getvalue())
        for name, blob in (extra or {}).items():
            zf.writestr(name, blob)


def test_hostile_truncated_and_foreign_session_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = save_session(record_session(EngineConfig(lab="gan"), 4, frame_every=2, checkpoint_every=2), tmp_path / "good.genviz")
    manifest = json.loads(zipfile.ZipFile(good).read("session.json"))

    # a plain pickle that would run code when unpickled
    (tmp_path / "pickle.genviz").write_bytes(pickle.dumps(_RunsCode()))
    with pytest.raises(SessionError, match="not a genviz session"):
        load_session(tmp_path / "pickle.genviz")
    # a well-formed archive whose training state is such a pickle (torch.save of an object)
    evil = io.BytesIO()
    torch.save({"format": "genviz-state", "version": 1, "attrs": {}, "rng": {}, "x": _RunsCode()}, evil)
    _session_zip(tmp_path / "evil.genviz", manifest, {"state/current.pt": evil.getvalue()})
    with pytest.raises(SessionError, match="could run code"):
        load_session(tmp_path / "evil.genviz")
    # an object array in arrays.npz needs pickle: refused too
    with zipfile.ZipFile(tmp_path / "objects.genviz", "w") as zf:
        zf.writestr("session.json", json.dumps(manifest))
        arrays = io.BytesIO()
        np.savez(arrays, a0=np.array([_RunsCode()], dtype=object))
        zf.writestr("arrays.npz", arrays.getvalue())
    with pytest.raises(SessionError, match="refused"):
        load_session(tmp_path / "objects.genviz")
    assert not (tmp_path / "genviz-was-pwned").exists()

    raw = good.read_bytes()
    (tmp_path / "cut.genviz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SessionError, match="truncated"):
        load_session(tmp_path / "cut.genviz")
    _session_zip(tmp_path / "v99.genviz", {**manifest, "version": 99})
    with pytest.raises(SessionError, match="version 99"):
        load_session(tmp_path / "v99.genviz")
    _session_zip(tmp_path / "lab.genviz", {**manifest, "lab": "nope"})
    with pytest.raises(SessionError, match="unknown lab 'nope'"):
        load_session(tmp_path / "lab.genviz", tuple(LABS))
    with zipfile.ZipFile(tmp_path / "json.genviz", "w") as zf:
        zf.writestr("session.json", "{not json")
        zf.writestr("arrays.npz", b"")
    with pytest.raises(SessionError, match="not valid JSON"):
        load_session(tmp_path / "json.genviz")
    _session_zip(tmp_path / "missing.genviz", manifest)  # the state files are not there
    with pytest.raises(SessionError, match="missing"):
        load_session(tmp_path / "missing.genviz")
    with pytest.raises(CheckpointError, match="could not be read"):
        state_from_bytes(pickle.dumps(1))
    plain = io.BytesIO()
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="not a genviz training state"):
        state_from_bytes(plain.getvalue())
    assert not (tmp_path / "genviz-was-pwned").exists()


def test_a_session_keeps_what_it_cannot_store_out_with_a_message(tmp_path):
    with pytest.raises(SessionError, match="object"):
        save_session(Session(lab="gan", settings={}, static={"x": object()}), tmp_path / "x.genviz")
    assert not (tmp_path / "x.genviz").exists()


def test_a_gif_is_written_from_frames_streamed_one_at_a_time(tmp_path):
    """A 301-frame GIF export once held every frame as an RGB array and again as an image (3.5 GB peak for an
    ordinary session; 1.3 GB after): the writer takes a generator and keeps palette images only."""
    import tracemalloc

    from PIL import Image

    from genviz.ui.export import write_gif

    h, w, n = 300, 400, 60
    one = h * w * 3

    def frames():
        for i in range(n):
            f = np.zeros((h, w, 3), np.uint8)
            f[:, : (i + 1) * w // n] = (200, 40, 40)
            yield f

    tracemalloc.start()
    count = write_gif(frames(), tmp_path / "a.gif", fps=10)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == n and Image.open(tmp_path / "a.gif").n_frames == n
    assert peak < 6 * one, f"{peak / one:.1f} RGB frames held at once"
