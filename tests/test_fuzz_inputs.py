"""Issue 15, the property: whatever a file holds, reading it ends in a clean refusal (the reader's
own error, one line naming the file) or a valid load; never another exception, never memory beyond
the stated bound, never a write outside the output folder; and a refused session leaves a running
experiment (its weights and random streams) exactly as it was.

Valid session, data, model and preset files are mutated by Hypothesis (bytes flipped, cut, inserted;
JSON values replaced by wrong types, huge numbers, deep nesting; zip members declaring huge sizes).
The examples are derandomized, so CI tries the same inputs every run; ``INPUTS`` counts them.
"""
import io
import json
import math
import tracemalloc
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genviz.core.checkpoint import CheckpointError, read_model_file
from genviz.core.engine import EngineConfig, Worker
from genviz.core.headless import record_session
from genviz.core.labs import all_labs
from genviz.core.presets import PresetError, read_preset
from genviz.core.runner import Runner
from genviz.core.session import SessionError, load_session, save_session
from genviz.data import DataError, load_dataset
from genviz.data.toy2d import make_toy

BUDGET_MB = 64  # GENVIZ_MEMORY_BUDGET_MB during these tests
PEAK_BOUND = 3 * BUDGET_MB * 2 ** 20  # traced peak per input: the budget plus the copies a load makes
INPUTS = Counter()
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("originals")
    session = record_session(EngineConfig(lab="manifold", settings={"hidden": 16}), 4, frame_every=2,
                             checkpoint_every=2)
    save_session(session, folder / "run.genviz")
    rng = np.random.default_rng(0)
    np.savez(folder / "images.npz", images=rng.integers(0, 255, (20, 8, 8), dtype=np.uint8),
             labels=np.arange(20) % 3)
    np.save(folder / "points.npy", rng.standard_normal((50, 2)))
    (folder / "points.csv").write_text("x,y\n" + "\n".join(f"{a:.3f},{b:.3f}" for a, b in rng.standard_normal((30, 2))))
    runner = Runner(EngineConfig(lab="manifold", settings={"hidden": 16}))
    runner.step()
    runner.exp.save(str(folder / "model.pt"))
    (folder / "preset.toml").write_text('title = "A preset"\nlab = "gan"\ncaption = "Watch the modes."\nseed = 3\n'
                                        '[settings]\nloss = "wgan-gp"\nlr_g = 0.0001\n')
    return folder


@pytest.fixture(autouse=True)
def _budget(monkeypatch):
    monkeypatch.setenv("GENVIZ_MEMORY_BUDGET_MB", str(BUDGET_MB))


def mutate_bytes(raw: bytes, data) -> bytes:
    """Flip, cut, insert or overwrite bytes (several times)."""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "overwrite", "tail"]), label="kind")
        pos = data.draw(st.integers(0, max(0, len(out) - 1)), label="pos")
        if kind == "flip" and out:
            out[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "cut":
            del out[pos: pos + data.draw(st.integers(1, 4096))]
        elif kind == "insert":
            out[pos:pos] = data.draw(st.binary(min_size=1, max_size=64))
        elif kind == "overwrite":
            chunk = data.draw(st.binary(min_size=1, max_size=16))
            out[pos: pos + len(chunk)] = chunk
        else:
            out = out[:pos]
    return bytes(out)


def hostile_value():
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False),
                       st.text(max_size=20), st.just(10 ** 400 // 10 ** 390), st.just("x" * 100_000),
                       st.just({"__array__": "missing"}), st.just({"__dict__": [[1]]}))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                        max_leaves=8)


def json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            yield from json_paths(v, prefix + (i,))


def set_path(value, path, new):
    if not path:
        return new
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


def rezip(members: dict[str, bytes], path: Path, declare: dict[str, int] | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    if declare:  # a zip bomb declares its real (huge) sizes; forge them in the central directory
        raw = bytearray(path.read_bytes())
        for name, size in declare.items():
            key = b"PK\x01\x02"
            start = 0
            while (i := raw.find(key, start)) >= 0:
                n = int.from_bytes(raw[i + 28:i + 30], "little")
                if raw[i + 46:i + 46 + n] == name.encode():
                    raw[i + 24:i + 28] = min(size, 2 ** 32 - 1).to_bytes(4, "little")
                start = i + 4
        path.write_bytes(bytes(raw))


def check(read, path: Path, allowed, folder: Path):
    """``read(path)``: a valid load or one of ``allowed``; within the memory bound; no new files."""
    before = {p for p in folder.rglob("*")}
    tracemalloc.start()
    try:
        result = read(path)
    except allowed as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        result = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < PEAK_BOUND, f"{path.name}: {peak / 2 ** 20:.0f} MiB traced"
    assert {p for p in folder.rglob("*")} == before
    INPUTS[read.__name__] += 1
    return result


# -- sessions -------------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_mutated_sessions_are_refused_cleanly_or_load(originals, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("s")
    members = {}
    with zipfile.ZipFile(originals / "run.genviz") as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    how = data.draw(st.sampled_from(["bytes", "json", "json", "member", "bomb", "deep"]), label="how")
    path = folder / "fuzzed.genviz"
    if how == "bytes":
        path.write_bytes(mutate_bytes((originals / "run.genviz").read_bytes(), data))
    elif how == "json":
        manifest = json.loads(members["session.json"])
        target = data.draw(st.sampled_from(list(json_paths(manifest))), label="path")
        members["session.json"] = json.dumps(set_path(manifest, target, data.draw(hostile_value()))).encode()
        rezip(members, path)
    elif how == "member":
        name = data.draw(st.sampled_from(sorted(members)), label="member")
        members[name] = mutate_bytes(members[name], data)
        rezip(members, path)
    elif how == "bomb":
        name = data.draw(st.sampled_from(sorted(members)), label="member")
        members[name] = members[name] + b"\0" * 2_000_000
        rezip(members, path, declare={name: data.draw(st.integers(BUDGET_MB * 2 ** 20 + 1, 2 ** 32 - 1))})
    else:
        members["session.json"] = b'{"format": "genviz-session", "version": 1, "static": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        rezip(members, path)

    def read_session(p):
        return load_session(p, tuple(all_labs()))

    result = check(read_session, path, SessionError, folder)
    if isinstance(result, SessionError):
        assert path.name in str(result)
        return
    # it loaded: building it in a worker next to a running experiment either works or is refused,
    # and the running experiment is untouched either way
    worker = Worker(EngineConfig(lab="manifold", settings={"hidden": 16}), None, None, None, None, None)
    worker.runner = Runner(EngineConfig(lab="manifold", settings={"hidden": 16}))
    state, rng = worker.runner.state(), torch.get_rng_state()
    try:
        worker.prepare(EngineConfig(lab=result.lab, settings=result.settings, seed=result.seed, state=result.state,
                                    view=result.view))
    except Exception:  # the worker turns any of these into a refusal message
        pass
    assert worker.runner.state() == state and torch.equal(torch.get_rng_state(), rng)


# -- data files -------------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_mutated_data_files_are_refused_cleanly_or_load(originals, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("d")
    source = data.draw(st.sampled_from(["images.npz", "points.npy", "points.csv", "idx", "idx.gz", "png"]))
    if source.startswith("idx"):
        from genviz.data.idx import write_idx

        write_idx(folder / "orig", np.arange(4 * 6 * 6, dtype=np.uint8).reshape(4, 6, 6), compress=source.endswith("gz"))
        raw, name = (folder / "orig").read_bytes(), "fuzz-images-idx3-ubyte" + (".gz" if source.endswith("gz") else "")
        (folder / "orig").unlink()
    elif source == "png":
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(buf, "PNG")
        raw, name = buf.getvalue(), "img/a.png"
        (folder / "img").mkdir()
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "img" / "b.png")
    else:
        raw, name = (originals / source).read_bytes(), source
    path = folder / name
    path.write_bytes(mutate_bytes(raw, data))
    if source.startswith("points"):
        check(make_toy, path, DataError, folder)
    else:
        check(load_dataset, path.parent if source == "png" else path, DataError, folder)


def test_hostile_headers_are_refused_before_allocating(tmp_path, monkeypatch):
    """The issue's cases, each by its header: far below the memory they claim."""
    import struct
    import zlib

    np.save(tmp_path / "big.npy", np.zeros((2, 2), np.float32))
    raw = (tmp_path / "big.npy").read_bytes().replace(b"(2, 2)", b"(500000000, 500)")
    (tmp_path / "big.npy").write_bytes(raw)
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 3_000_000, 32, 32)
    comp = zlib.compressobj(9, wbits=31)
    (tmp_path / "bomb-images-idx3-ubyte.gz").write_bytes(
        comp.compress(header) + b"".join(comp.compress(b"\0" * 2 ** 20) for _ in range(200)) + comp.flush())
    np.savez(tmp_path / "labels.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.array([0, 1, 2, 10 ** 12]))
    import os

    os.mkfifo(tmp_path / "fifo.npy")
    (tmp_path / "x.csv").mkdir()
    (tmp_path / "long.csv").write_text("x,y\n" + "1" * 200_000 + ",2\n")
    np.save(tmp_path / "far.npy", np.array([[1e308, -1e308], [0, 0], [1, 1]]))
    for name, read, text in (("big.npy", load_dataset, "931.3 GiB"), ("bomb-images-idx3-ubyte.gz", load_dataset, "2.9 GiB"),
                             ("labels.npz", load_dataset, "class numbers"), ("fifo.npy", load_dataset, "not a regular file"),
                             ("fifo.npy", make_toy, "not a regular file"), ("x.csv", make_toy, "is a folder"),
                             ("long.csv", make_toy, "field larger"), ("far.npy", make_toy, "rescale")):
        result = check(read, tmp_path / name, DataError, tmp_path)
        assert isinstance(result, DataError) and text in str(result), (name, str(result))


# -- model files -----------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_mutated_model_files_are_refused_cleanly_or_load(originals, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("m")
    path = folder / "fuzzed.pt"
    if data.draw(st.booleans(), label="structured"):
        ckpt = torch.load(originals / "model.pt", weights_only=True)
        key = data.draw(st.sampled_from(sorted(ckpt)), label="key")
        value = data.draw(st.one_of(hostile_value(), st.just(torch.full((3,), math.nan)),
                                    st.just({k: v * math.nan for k, v in ckpt["model"].items()})))
        ckpt[key] = value
        torch.save(ckpt, path)
    else:
        path.write_bytes(mutate_bytes((originals / "model.pt").read_bytes(), data))

    def read_model(p):
        return read_model_file(p, ("manifold", "arithmetic"))

    result = check(read_model, path, CheckpointError, folder)
    if not isinstance(result, CheckpointError):
        # it reads: the arithmetic lab builds from it or refuses it with its own message
        from genviz.labs.arithmetic.experiment import ArithmeticExperiment
        from genviz.safeio import InputError

        try:
            ArithmeticExperiment({"model": str(path), "hidden": 16})
        except (InputError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            assert str(exc)


# -- presets ---------------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_mutated_presets_are_refused_cleanly_or_load(originals, tmp_path_factory, data):
    import tomllib

    folder = tmp_path_factory.mktemp("p")
    path = folder / "fuzzed.toml"
    if data.draw(st.booleans(), label="structured"):
        raw = tomllib.loads((originals / "preset.toml").read_text())
        key = data.draw(st.sampled_from(["title", "lab", "caption", "seed", "data", "settings"]))
        value = data.draw(st.one_of(st.text(max_size=30), st.integers(-2 ** 70, 2 ** 70), st.floats(),
                                    st.just("inf"), st.just({"latent": "inf"}), st.just({"loss": ["a"]}),
                                    st.just({"seed": "abc"})))
        raw[key] = value
        lines = []
        for k, v in raw.items():
            if not isinstance(v, dict):
                lines.append(f"{k} = {json.dumps(v) if not isinstance(v, float) or math.isfinite(v) else 'inf'}")
        table = raw.get("settings")
        if isinstance(table, dict):
            lines.append("[settings]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
        path.write_text("\n".join(lines))
    else:
        path.write_bytes(mutate_bytes((originals / "preset.toml").read_bytes(), data))
    check(read_preset, path, PresetError, folder)


def test_inputs_tried():
    """Runs last in this module: the count the reliability page (docs/reliability.md) reports."""
    assert sum(INPUTS.values()) >= 4 * 100, INPUTS
    print(f"\nfuzzed inputs: {dict(INPUTS)}, total {sum(INPUTS.values())}")
