"""Your training loop, watched (genviz.watch): the lab's views of your model recorded as a session that genviz
export draws, without changing the course of your training (its random numbers, gradients and module modes)."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch


import genviz
from genviz.bench.watch import vae_step
from genviz.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]


def _example():
    spec = importlib.util.spec_from_file_location("conv_vae_example", ROOT / "docs" / "examples" / "conv_vae.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("digits")
    return torch.from_numpy(ds.images).unsqueeze(1), torch.from_numpy(ds.labels)


def _loop(vae, x, steps, w=None):
    opt = torch.optim.Adam(vae.parameters(), 1e-3)
    for _ in range(steps):
        loss, recon, kl = vae_step(vae, opt, x[torch.randint(0, len(x), (64,))])  # the benchmark's plain loop
        if w is not None:
            w.step(neg_elbo=loss.item(), recon_nll=recon.mean().item(), kl=torch.as_tensor(kl.mean().item()))
    return vae


def test_watching_leaves_the_training_exactly_as_it_was(digits, tmp_path):
    """Snapshots after every step (no rate cap): the watched loop ends on the very weights of the unwatched one."""
    x, y = digits
    make = _example().make
    torch.manual_seed(3)
    plain = _loop(make((1, 8, 8)), x, 12)
    torch.manual_seed(3)
    vae = make((1, 8, 8))
    vae.dropout = torch.nn.Dropout(0.5)  # a submodule in training mode stays in it
    with genviz.watch("manifold", model=vae, data=x[:300], labels=y[:300], record=tmp_path, window=False,
                      snapshot_hz=1e6, share=0.999) as w:
        _loop(vae, x, 12, w)
        assert vae.training and vae.dropout.training
    assert len(w.history) >= 12  # a frame (nearly) every step
    for p, q in zip(plain.parameters(), vae.parameters()):
        assert torch.equal(p, q)


def test_a_watched_run_is_a_session_that_export_draws(digits, tmp_path):
    x, y = digits
    torch.manual_seed(0)
    vae = _example().make((1, 8, 8))
    with genviz.watch("manifold", model=vae, data=x[:500], labels=y[:500], record=tmp_path / "rec", window=False,
                      snapshot_hz=50, share=0.5) as w:
        _loop(vae, x, 40, w)
    assert repr(w).startswith("<genviz.watch manifold: step 40")
    from genviz.core.session import load_session

    session = load_session(w.path)
    metrics = session.history.metrics()
    assert session.step == 40 and list(metrics["step"]) == list(range(1, 41)) and len(metrics["kl"]) == 40
    assert session.state is None and session.static["your_model"].startswith("ConvVAE")
    frame = session.history.frames[-1].data
    assert frame["decoder"] is None and frame["preview"].shape == (8, 8) and frame["test_neg_elbo"] > 0
    out = tmp_path / "lab.png"
    r = subprocess.run([sys.executable, "-m", "genviz", "export", str(w.path), "--view", "lab", "--format", "png",
                        "--out", str(out)], capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["step"] == 40 and out.stat().st_size > 20_000
    w.step(neg_elbo=1.0)  # after the block: nothing more is recorded
    assert w.steps == 40


def test_what_cannot_be_watched_is_said_in_one_line(digits, tmp_path):
    from genviz.core.model_code import ModelCodeError
    from genviz.watching import WatchError

    x, _ = digits
    vae = _example().make((1, 8, 8))
    for kwargs, said in [(dict(lab="gan"), "the gan lab cannot watch a model of yours; these can: manifold, posterior"),
                         (dict(lab="nope"), "no lab 'nope'"),
                         (dict(record=None), "record=DIR"),
                         (dict(data=torch.rand(10, 7)), "not square images"),
                         (dict(model=torch.nn.Linear(2, 2)), "no method encode")]:
        args = dict(lab="manifold", model=vae, data=x[:100], record=tmp_path, window=False) | kwargs
        with pytest.raises((WatchError, ModelCodeError), match=said) as info:
            genviz.watch(args.pop("lab"), **args)
        assert "\n" not in str(info.value)
    with genviz.watch("manifold", model=vae, data=x[:100], record=tmp_path, window=False) as w:
        with pytest.raises(WatchError, match="metric 'loss' is not a number"):
            w.step(loss="high")


def test_watch_opens_a_window_of_its_own_that_outlives_the_loop(digits):
    """window=True (the default): a genviz window in a process of its own, listening on a free local port with a
    new token; the loop sends to it, and the window stays open when the loop ends."""
    x, y = digits
    vae = _example().make((1, 8, 8))
    with genviz.watch("manifold", model=vae, data=x[:300], labels=y[:300], snapshot_hz=20, share=0.5) as w:
        try:
            _loop(vae, x, 30, w)
        finally:
            window = w.window
    try:
        assert window is not None and w.sender is not None and not w.sender.gone
        assert window.poll() is None  # still open after the loop's end
    finally:
        window.terminate()
        window.wait(30)
