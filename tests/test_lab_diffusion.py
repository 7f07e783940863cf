"""The diffusion lab: it trains on the ring toward the exact score, reports the figures the issue names
(headless JSON included), restores checkpoints exactly, and its panel draws a snapshot."""
import copy
import json
import subprocess
import sys

import numpy as np

from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.labs.diffusion.experiment import DiffusionExperiment


def make(**overrides):
    return DiffusionExperiment(resolve(get_lab("diffusion").settings, {"hidden": 64, "batch": 256, **overrides}), seed=0)


def test_training_brings_the_learned_score_toward_the_exact_one():
    exp = make()
    before = np.nanmean(exp.score_error_by_t())
    for _ in range(300):
        exp.advance()
    after = np.nanmean(exp.score_error_by_t())
    assert after < 0.5 * before
    snap = exp.snapshot(heavy=True)
    for key in ("samples", "paths", "learned", "true", "density", "noised", "loss_bins", "score_error", "modes",
                "hq_percent", "reverse_kl", "test_nll", "test_nll_se", "path_ratio"):
        assert key in snap, key
    assert snap["paths"]["ode"].shape[1:] == (8, 2) and snap["path_ratio"] >= 1.0
    exp.set_view("t", 0.8)
    assert exp.snapshot(heavy=True)["t"] == 0.8


def test_every_sampler_runs_and_a_missing_one_falls_back_to_the_ode():
    for sampler in ("ddpm", "ddim", "sde", "ode", "langevin"):
        exp = make(sampler=sampler, sample_steps=10)
        assert exp.snapshot(heavy=True)["samples"].shape == (500, 2)
    exp = make(process="ve", sampler="ddpm", sample_steps=10)  # ancestral sampling needs VP
    assert exp.snapshot(heavy=True)["sampler_used"] == "ode"


def test_checkpoints_restore_exactly():
    exp = make()
    for _ in range(5):
        exp.advance()
    state = copy.deepcopy(exp.state_dict())
    ahead = [exp.advance() for _ in range(4)]
    again = make()
    again.load_state_dict(state)
    assert [again.advance() for _ in range(4)] == ahead


def test_headless_train_prints_the_named_figures():
    r = subprocess.run([sys.executable, "-m", "genviz", "train", "diffusion", "--set", "data=ring8", "--set",
                        "hidden=32", "--set", "sample_steps=20", "--steps", "30", "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("modes", "hq_percent", "rev_kl", "test_nll_nats", "score_error"):
        assert key in out and out[key] is not None, key


def test_the_panel_draws_a_snapshot(qtbot):
    from genviz.core.protocol import Frame
    from genviz.labs.diffusion.panel import DiffusionPanel
    from genviz.ui import theme

    theme.apply_theme("light")
    exp = make(sample_steps=10)
    panel = DiffusionPanel(get_lab("diffusion"))
    qtbot.addWidget(panel)
    panel.show()
    panel.on_ready(exp.static_info())
    exp.advance()
    panel.show_frame(Frame(1, exp.snapshot(heavy=True), True), True)
    panel.flush()
    assert "test NLL" in panel.readout.text() and "modes" in panel.readout.text()
    with qtbot.waitSignal(panel.requestView) as sig:
        panel.t_slider.setValue(70)
    assert sig.args == ["t", 0.7]


def test_points_drawn_on_the_samples_view_become_the_data(qtbot, tmp_path, monkeypatch):
    from genviz.labs.diffusion.panel import DiffusionPanel
    from genviz.ui import theme

    monkeypatch.setenv("GENVIZ_DATA_DIR", str(tmp_path))
    theme.apply_theme("light")
    panel = DiffusionPanel(get_lab("diffusion"))
    qtbot.addWidget(panel)
    panel.on_ready(make(sample_steps=5).static_info())
    panel.drawer.draw_button.setChecked(True)
    for x, y in np.random.default_rng(0).normal(size=(15, 2)):
        panel.drawer.add_point(float(x), float(y))
    with qtbot.waitSignal(panel.requestSettings) as sig:
        panel.drawer.use_button.click()
    exp = make(data=sig.args[0]["data"], sample_steps=5)
    assert exp.static_info()["exact"] is False and len(exp.x_train) == 20000
    out = exp.snapshot(heavy=True)
    assert "modes" not in out and "true" not in out and np.isnan(out["score_error"]).all()


def test_modes_placed_by_hand_make_a_mixture_with_its_exact_score(qtbot):
    from genviz.data.images import DataError
    from genviz.labs.diffusion.panel import DiffusionPanel
    from genviz.ui import theme

    theme.apply_theme("light")
    panel = DiffusionPanel(get_lab("diffusion"))
    qtbot.addWidget(panel)
    panel.on_ready(make(sample_steps=5).static_info())
    panel.placer.draw_button.setChecked(True)
    for x, y in ((0.0, 0.0), (2.0, 1.0), (-1.5, 2.0)):
        panel.placer.add_point(x, y)
    with qtbot.waitSignal(panel.requestSettings) as sig:
        panel.placer.use_button.click()
    data = sig.args[0]["data"]
    assert data == "mixture:0.00,0.00;2.00,1.00;-1.50,2.00"
    exp = make(data=data, sample_steps=5)
    assert exp.static_info()["exact"] and len(exp.static_info()["modes"]) == 3
    snap = exp.snapshot(heavy=True)
    assert "true" in snap and snap["n_modes"] == 3
    try:
        make(data="mixture:1,2,3")
    except DataError as exc:
        assert "1 to 25 means" in str(exc)
    else:
        raise AssertionError("a malformed mixture was accepted")


def test_the_spread_ratio_and_its_standard_error_match_repeated_sample_sets():
    from genviz.data.toy2d import make_toy, spread_ratio

    toy = make_toy("grid25")
    rng = np.random.default_rng(4)
    for scale, expect in ((1.0, 1.0), (0.7, 0.718)):  # the data's own spread reads 1; sharper samples below
        r, se = [], []
        for _ in range(300):
            x = toy.modes[rng.integers(0, 25, 500)] + rng.normal(0, scale * toy.std, (500, 2))
            a, b = spread_ratio(x, toy.modes, toy.std)
            r.append(a)
            se.append(b)
        assert abs(np.mean(r) - expect) < 0.01, (scale, np.mean(r))
        assert abs(np.std(r) / np.mean(se) - 1) < 0.15
