"""A window that listens for a watched run (genviz --listen, genviz.core.listen) and the wire it reads
(genviz.core.wire): a good run arrives as the events and snapshots a worker sends; garbage, huge lengths, a
pickle, a wrong token, a wrong lab, an unknown dtype are each refused with one line, run no code, and the
window keeps listening."""
import pickle
import socket
import struct
import time

import numpy as np
import pytest

from genviz.core import wire
from genviz.core.listen import ListenEngine
from genviz.core.protocol import EngineConfig, Error, Ready, Snapshot

TOKEN = "right-token"


@pytest.fixture
def engine():
    eng = ListenEngine("127.0.0.1:0", TOKEN)
    eng.start(EngineConfig(lab="manifold"))
    yield eng
    eng.close()


def _send(engine, *chunks, wait_for=None):
    with socket.create_connection(("127.0.0.1", engine.port), timeout=5) as sock:
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (wait_for is None or not wait_for()):
            time.sleep(0.02)
            if wait_for is None:
                break


def _refused(engine, *chunks) -> str:
    """The one line that refused ``chunks`` (after a hello that passed: "connected", then the refusal)."""
    before = len(engine.messages)

    def said():
        new = engine.messages[before:]
        return new and (new[-1].startswith("Refused") or "connection ended" in new[-1])

    _send(engine, *chunks, wait_for=said)
    new = engine.messages[before:]
    assert said() and len(new) <= 2 and all("\n" not in line for line in new), new
    return new[-1]


class Hostile:
    def __reduce__(self):
        return (open, ("/tmp/genviz-listen-pwned", "w"))


def test_the_wire_carries_plain_values_and_arrays_exactly():
    payload = {"step": 3, "data": {"img": np.arange(12, dtype=np.uint8).reshape(3, 4), "x": np.float32(1.5),
                                   "pts": np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32),
                                   "nested": [np.zeros(0, np.int64), None, "text", (1, 2)]}}
    blob = wire.encode("frame", payload)
    pos = 0

    def read(n):
        nonlocal pos
        pos += n
        return blob[pos - n:pos]

    kind, got = wire.read_message(read)
    assert kind == "frame" and got["step"] == 3 and got["data"]["x"] == 1.5
    for key in ("img", "pts"):
        assert got["data"][key].dtype == payload["data"][key].dtype
        assert np.array_equal(got["data"][key], payload["data"][key])
    assert got["data"]["nested"][1:] == [None, "text", [1, 2]] and got["data"]["nested"][0].shape == (0,)
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.encode("frame", {"a": np.array([object()])})


def test_hostile_clients_are_refused_in_one_line_and_run_no_code(engine, tmp_path):
    import os

    good_hello = wire.hello(TOKEN, "manifold")
    assert "wrong magic" in _refused(engine, b"GET / HTTP/1.1\r\n\r\n" + b"x" * 64)
    assert "wrong magic" in _refused(engine, pickle.dumps(Hostile()))
    assert not os.path.exists("/tmp/genviz-listen-pwned")
    assert "header of 4,294,967,295 bytes" in _refused(engine, struct.pack(">4sIQ", b"GVZW", 2 ** 32 - 1, 0))
    assert "a wrong token" in _refused(engine, wire.hello("guess", "manifold"))
    assert "a gan run" in _refused(engine, wire.hello(TOKEN, "gan"))
    hello_with_body = wire.encode("hello", {"token": TOKEN, "version": 1, "lab": "manifold", "a": np.zeros(4)})
    assert "at most 0" in _refused(engine, hello_with_body)  # a hello carries no arrays
    huge = struct.pack(">4sIQ", b"GVZW", 10, 2 ** 60)
    assert "bytes of arrays" in _refused(engine, good_hello, huge)
    header = b'{"kind": "frame", "payload": {}, "arrays": [{"dtype": "object", "shape": [1], "offset": 0, "nbytes": 8}]}'
    assert "dtype 'object'" in _refused(engine, good_hello, struct.pack(">4sIQ", b"GVZW", len(header), 8) + header + b"\0" * 8)
    lying = b'{"kind": "frame", "payload": {}, "arrays": [{"dtype": "float64", "shape": [1000], "offset": 0, "nbytes": 8}]}'
    assert "does not match" in _refused(engine, good_hello, struct.pack(">4sIQ", b"GVZW", len(lying), 8) + lying + b"\0" * 8)
    not_json = b"{not json"
    assert "not JSON" in _refused(engine, good_hello, struct.pack(">4sIQ", b"GVZW", len(not_json), 0) + not_json)
    # every refusal reached the window as one problem line; the window still listens and takes a good run
    events, _ = engine.poll()
    assert sum(isinstance(e, Error) for e in events) >= 10
    frame = wire.encode("frame", {"step": 7, "rows": {"step": np.arange(1, 8), "kl": np.ones(7)},
                                  "data": {"manifold": np.zeros((4, 4), np.uint8)}, "steps_per_sec": 12.0})
    _send(engine, good_hello, wire.encode("static", {"static": {"dataset": "yours"}}), frame, wire.encode("bye", {}),
          wait_for=lambda: engine.messages[-1].startswith("The watched run ended"))
    events, snap = engine.poll()
    ready = [e for e in events if isinstance(e, Ready)]
    assert ready and ready[-1].static["dataset"] == "yours" and "lr" in ready[-1].static["unused_settings"]
    assert isinstance(snap, Snapshot) and snap.step == 7 and snap.heavy and snap.data["manifold"].shape == (4, 4)
    assert list(snap.metrics["kl"]) == [1.0] * 7


def test_a_watched_loop_reaches_a_listening_window_and_outlives_it(engine, capsys):
    import torch

    import genviz
    from genviz.data import load_dataset
    from tests.test_watch import _example, _loop

    ds = load_dataset("digits")
    x = torch.from_numpy(ds.images).unsqueeze(1)
    vae = _example().make((1, 8, 8))
    w = genviz.watch("manifold", model=vae, data=x[:300], connect=f"127.0.0.1:{engine.port}", token=TOKEN,
                     snapshot_hz=50, share=0.5)
    _loop(vae, x, 30, w)
    deadline = time.monotonic() + 20
    snaps, events = [], []
    while time.monotonic() < deadline and not any(s.heavy for s in snaps):
        evts, snap = engine.poll()
        events += evts
        if snap is not None:
            snaps.append(snap)
        time.sleep(0.05)
    assert any(isinstance(e, Ready) and e.static["your_model"].startswith("ConvVAE") for e in events)
    assert any(s.heavy and "manifold" in s.data for s in snaps)
    engine.close()  # the window goes away: the loop goes on, said once
    _loop(vae, x, 20, w)
    time.sleep(0.5)
    _loop(vae, x, 20, w)
    w.close()
    assert w.steps == 70 and w.sender.gone
    assert capsys.readouterr().err.count("went away") == 1
    with pytest.raises(genviz.watching.WatchError, match="needs the token"):
        genviz.watch("manifold", model=vae, data=x[:300], connect="127.0.0.1:1")
    with pytest.raises(genviz.watching.WatchError, match="no window listens at 127.0.0.1:1"):
        genviz.watch("manifold", model=vae, data=x[:300], connect="127.0.0.1:1", token="t")


def test_a_window_that_cannot_listen_says_so_in_one_line():
    import os
    import subprocess
    import sys

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "genviz", "--listen", f"127.0.0.1:{port}", "--lab", "manifold"],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "cannot listen there" in r.stderr
    r = subprocess.run([sys.executable, "-m", "genviz", "--listen", "127.0.0.1:8765", "--lab", "gan"],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 2 and "a lab that can watch a model of yours (manifold, posterior, arithmetic)" in r.stderr


def test_a_new_token_never_looks_like_an_option(monkeypatch):
    """A token that starts with "-" (1 in 64 from token_urlsafe) read as an option on the command line the window
    prints, and genviz.watch's own window once failed to start on one ("--token: expected one argument")."""
    import secrets

    from genviz.cli import _app_parser
    from genviz.core.listen import new_token

    drawn = iter(["-leading-dash", "--two", "fine-token"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    assert new_token() == "fine-token"
    assert _app_parser().parse_args(["--listen", "127.0.0.1:0", "--token=-given-by-a-user"]).token == "-given-by-a-user"
