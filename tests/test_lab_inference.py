"""The variational-inference lab: each experiment trains with its objective never falling, headless
JSON carries the figures the issue names, checkpoints restore exactly, bad input gets a clear
message, and the panel draws every experiment (the guess answered, a dragged mode moves p)."""
import copy
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from genviz.core.labs import get_lab
from genviz.core.settings import SettingError, resolve
from genviz.data.images import DataError
from genviz.labs.inference.experiment import InferenceExperiment


def make(seed=0, **overrides):
    return InferenceExperiment(resolve(get_lab("inference").settings, overrides), seed=seed)


def test_kl_fits_seek_a_mode_and_cover_the_mass():
    exp = make(experiment="kl")
    for _ in range(300):
        exp.advance()
    snap = exp.snapshot(heavy=True)
    rev, fwd = snap["rev_fit"], snap["fwd_fit"]
    # each fit is best in its own direction, and the reverse fit sits on one mode (candidate A)
    assert rev["kl_qp"] < fwd["kl_qp"] and fwd["kl_pq"] < rev["kl_pq"]
    assert abs(rev["kl_qp"] - snap["candidates"]["A"]["kl_qp"]) < 0.01 and snap["rev_spread_ratio"] < 0.3
    assert abs(fwd["kl_pq"] - snap["candidates"]["B"]["kl_pq"]) < 0.01  # moment matching
    assert snap["guess_gap_reverse"] > 0 and snap["guess_gap_forward"] > 0
    assert abs(float(snap["p"].sum()) * exp.grid.area - 1) < 1e-4
    exp.set_setting("means", "-3,0;3,0")  # a dragged mode: p moves, the fits follow from where they are
    assert np.allclose(exp.snapshot(heavy=True)["means"], [[-3, 0], [3, 0]])


def _sample_q(q, n, g):
    """n draws from a GaussianMixtureQ."""
    with torch.no_grad():
        k = torch.multinomial(q.weights(), n, replacement=True, generator=g)
        eps = torch.randn(n, 2, 1, generator=g, dtype=torch.float64)
        return q.means[k] + (q.chol()[k] @ eps).squeeze(-1)


@pytest.mark.parametrize("target", ["two-modes", "three-modes", "banana"])
def test_every_kl_shown_matches_a_whole_plane_monte_carlo(target):
    """The candidates' and the fits' KLs in both directions against 10^6 exact draws over the whole plane, within
    3 standard errors (quadrature on the view's [-6, 6]^2 showed B's reverse KL as 1.152 for 1.263)."""
    from genviz.models.vi import gaussian_log_prob

    exp = make(experiment="kl", target=target, components=1)
    for _ in range(150):
        exp.advance()
    snap = exp.snapshot(heavy=True)
    g = torch.Generator().manual_seed(0)
    n = 10 ** 6
    zp = exp.sample_p(n, g)
    lp_at_p = exp.log_p_fn(zp)

    def check(shown, log_q, zq):
        with torch.no_grad():
            qp = log_q(zq) - exp.log_p_fn(zq)  # KL(q || p) = E_q[log q - log p]
            pq = lp_at_p - log_q(zp)  # KL(p || q) = E_p[log p - log q]
        for value, draws in ((shown["kl_qp"], qp), (shown["kl_pq"], pq)):
            mean, se = float(draws.mean()), float(draws.std() / math.sqrt(n))
            assert abs(value - mean) < 3 * se + 1e-4, (target, value, mean, se)

    for name, c in snap["candidates"].items():
        m, cov = torch.tensor(c["mean"], dtype=torch.float64), torch.tensor(c["cov"], dtype=torch.float64)
        chol = torch.linalg.cholesky(cov)
        zq = m + (chol @ torch.randn(n, 2, 1, generator=g, dtype=torch.float64)).squeeze(-1)
        check(c, lambda z, m=m, cov=cov: gaussian_log_prob(z, m, cov), zq)
    for key, q in (("rev_fit", exp.q_rev), ("fwd_fit", exp.q_fwd)):
        check(snap[key], q.log_prob, _sample_q(q, n, g))


def test_em_and_cavi_and_meanfield_never_lower_their_objective():
    for kind, extra in (("em", {}), ("em", {"em_q": "restricted"}), ("cavi", {}), ("meanfield", {})):
        exp = make(experiment=kind, **extra)
        for _ in range(60):
            exp.advance()
        out = exp.final_metrics()
        assert exp.decreases == 0, (kind, extra)
    out = make(experiment="em").final_metrics()
    assert out["gap"] > 0  # before the first E step q is not the posterior
    exp = make(experiment="em")
    exp.advance()  # the E step: the bound touches
    assert abs(exp.final_metrics()["gap"]) < 1e-9
    exp = make(experiment="em", em_q="restricted")
    for _ in range(7):
        exp.advance()
    assert exp.final_metrics()["gap"] > 1e-3  # after an E step of the restricted family a gap stays


def test_cavi_finds_the_clusters_beside_gibbs_and_em():
    exp = make(seed=1, experiment="cavi")
    for _ in range(40):
        exp.advance()
    out = exp.final_metrics()
    assert out["elbo_decreases"] == 0 and out["purity"] > 0.95 and out["em_purity"] > 0.95
    assert np.isfinite(out["gibbs_log_joint"]) and out["gibbs_purity"] > 0.8


def test_checkpoints_restore_every_experiment_exactly():
    for kind in ("kl", "em", "cavi", "meanfield"):
        exp = make(experiment=kind)
        for _ in range(7):
            exp.advance()
        state = copy.deepcopy(exp.state_dict())  # (the window serializes it at once)
        ahead = [exp.advance() for _ in range(5)]
        again = make(experiment=kind)
        again.load_state_dict(state)
        assert [again.advance() for _ in range(5)] == ahead, kind


def test_headless_train_prints_the_elbo_and_its_decreases():
    r = subprocess.run([sys.executable, "-m", "genviz", "train", "inference", "--set", "experiment=cavi", "--steps",
                        "50", "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["elbo_decreases"] == 0 and np.isfinite(out["elbo"])


def test_bad_input_gets_a_clear_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError):
        make(experiment="cavi", data=str(bad))
    few = tmp_path / "few.csv"
    few.write_text("0,0\n1,1\n2,2\n")
    with pytest.raises(DataError, match="K = 4 components need at least 4 points"):
        make(experiment="cavi", data=str(few))
    with pytest.raises(SettingError, match="give 2 points"):
        make(experiment="kl", means="1,2")
    with pytest.raises(SettingError, match="within ±6"):
        make(experiment="kl", means="1,2;100,0")


@pytest.mark.parametrize("kind", ["kl", "em", "cavi", "meanfield"])
def test_the_panel_draws_each_experiment(qtbot, kind):
    from genviz.core.protocol import Frame
    from genviz.labs.inference.panel import InferencePanel
    from genviz.ui import theme

    theme.apply_theme("light")
    exp = make(seed=1, experiment=kind)
    panel = InferencePanel(get_lab("inference"))
    qtbot.addWidget(panel)
    panel.show()
    panel.on_ready(exp.static_info())
    for _ in range(4):
        rows = exp.advance()
        panel.extend_curves({"step": [exp.step_count], **{k: [v] for k, v in rows.items()}}, None)
    panel.show_frame(Frame(exp.step_count, exp.snapshot(heavy=True), True), True)
    panel.flush()
    assert panel.pages.currentIndex() == ("kl", "em", "cavi", "meanfield").index(kind)
    assert "nats" in panel.readout.text() or "KL" in panel.readout.text()
    if kind == "kl":
        panel._guess("B")
        assert "KL(q‖p)" in panel.answer.text() and "<b>A</b> is closer" in panel.answer.text()
        assert len(panel.handles) == 2
        with qtbot.waitSignal(panel.requestSettings) as sig:
            panel.handles[0].setPos(-3.0, 0.5)
            panel._moved()
        assert sig.args[0]["means"].startswith("-3.00,0.50;")


def _panel_recording(qtbot, exp, item: str, arg: int):
    """An inference panel ready for ``exp``, recording the ``arg``-th array of each ``setData`` on its ``item``, and a
    function that shows ``exp``'s heavy snapshot as a live frame (returning it)."""
    from genviz.core.protocol import Frame
    from genviz.labs.inference.panel import InferencePanel

    panel = InferencePanel(get_lab("inference"))
    qtbot.addWidget(panel)
    panel.show()
    panel.on_ready(exp.static_info())
    calls = []
    target = getattr(panel, item)
    set_data = target.setData
    target.setData = lambda *a, **k: (calls.append(np.asarray(a[arg]).copy()), set_data(*a, **k))

    def show(source=exp):
        snap = source.snapshot(heavy=True)
        panel.show_frame(Frame(source.step_count, snap, True), True)
        panel.flush()
        return snap
    return panel, calls, show


def test_the_mean_field_view_draws_each_new_mean_and_nothing_at_the_fixed_point(qtbot):
    """Once coordinate ascent sits at its fixed point a frame draws nothing (38 a second cost the GUI 3 ms each),
    yet every frame that moved the mean or trail is drawn, and a reset draws its first frame again."""
    exp = make(seed=1, experiment="meanfield", correlation=0.9)
    panel, calls, show = _panel_recording(qtbot, exp, "mf_trail", 0)

    for n in range(3):  # moving: each frame drawn, the trail's last point the latest mean
        exp.advance()
        show()
        assert len(calls) == n + 1
        assert calls[-1][-1] == np.float32(exp.mf.m[0])
    while not (len(exp.trail) == 200 and np.all(np.array(exp.trail) == exp.mf.m)):  # the fixed point, trail full of it
        exp.advance()
    assert exp.step_count < 20_000
    show()
    drawn = len(calls)
    for _ in range(3):  # settled: frames of the same state draw nothing
        exp.advance()
        show()
    assert len(calls) == drawn
    first = make(seed=1, experiment="meanfield", correlation=0.9)
    panel.on_ready(first.static_info())  # a reset: the first frame is drawn even if it matched
    show(first)
    assert len(calls) == drawn + 1 and calls[-1][0] == np.float32(-2.5)


def test_the_em_page_draws_each_new_theta_and_no_plot_at_the_fixed_point(qtbot):
    """At EM's fixed point a frame redraws no plot (38 a second took the GUI thread to half a core) but the readout
    still names the next half step; every frame that moved θ or the bound is drawn, and a reset draws again."""
    exp = make(seed=1, experiment="em")
    panel, calls, show = _panel_recording(qtbot, exp, "em_bound", 1)

    for n in range(4):  # moving: E and M half steps each change the bound's curve or θ
        exp.advance()
        snap = show()
        assert len(calls) == n + 1 and np.array_equal(calls[-1], snap["bound_curve"])
    previous = None
    while previous is None or previous != (exp.theta, exp.snapshot(heavy=True)["bound_curve"].tobytes()):
        previous = (exp.theta, exp.snapshot(heavy=True)["bound_curve"].tobytes())
        for _ in range(2):
            exp.advance()
        assert exp.step_count < 20_000
    show()
    drawn = len(calls)
    for half in range(2):  # settled: no plot drawn, yet the readout follows the half step
        exp.advance()
        snap = show()
        assert f"the <b>{snap['next_half']} step</b>" in panel.readout.text()
    assert len(calls) == drawn
    first = make(seed=1, experiment="em")
    panel.on_ready(first.static_info())  # a reset: its first frame drawn
    show(first)
    assert len(calls) == drawn + 1


def test_the_cavi_views_draw_each_centres_2_sigma_circles_and_colour_every_point(qtbot):
    """The circles (bare curves from a unit circle: the views' costliest part at every frame was their plot items)
    are the exact 2σ circles of N(m_k, I) and, on the CAVI view, of q(μ_k) = N(m_k, s2_k I); each view colours its
    points by its own assignments."""
    from genviz.ui.plots import ellipse_points

    exp = make(seed=3, experiment="cavi")
    for _ in range(7):
        exp.advance()
    panel, _, show = _panel_recording(qtbot, exp, "mf_trail", 0)  # (records nothing this test looks at)
    snap = show()
    k = exp.settings["k"]
    for i, (centres, labels) in enumerate([(snap["m"], snap["phi_labels"]), (snap["gibbs_mu"], snap["gibbs_labels"]),
                                           (snap["em_mu"], snap["em_labels"])]):
        marks = panel.cavi_marks[i]
        for j in range(k):
            x, y = marks[j][0].getData()
            assert np.allclose(np.stack([x, y], 1), ellipse_points(np.asarray(centres[j]), np.eye(2), 2.0, n=48))
            x, y = marks[j][1].getData()
            if i == 0:
                q = ellipse_points(np.asarray(centres[j]), np.eye(2) * float(snap["s2"][j]), 2.0, n=32)
                assert np.allclose(np.stack([x, y], 1), q)
            else:
                assert x is None or len(x) == 0  # q(μ) is CAVI's alone
        x, y = marks[k][0].getData()
        assert np.allclose(np.stack([x, y], 1), np.asarray(centres))
        brushes = [p.brush().color().name() for p in panel.cavi_scatter[i].points()]
        want = [panel._brushes[int(c) % k].color().name() for c in labels]
        assert brushes == want


def test_points_drawn_on_the_cavi_view_become_the_data(qtbot, tmp_path, monkeypatch):
    from genviz.labs.inference.panel import InferencePanel
    from genviz.ui import theme

    monkeypatch.setenv("GENVIZ_DATA_DIR", str(tmp_path))
    theme.apply_theme("light")
    panel = InferencePanel(get_lab("inference"))
    qtbot.addWidget(panel)
    panel.on_ready(make(experiment="cavi").static_info())
    panel.drawer.draw_button.setChecked(True)
    rng = np.random.default_rng(0)
    for x, y in rng.normal(size=(12, 2)):
        panel.drawer.add_point(float(x), float(y))
    with qtbot.waitSignal(panel.requestSettings) as sig:
        panel.drawer.use_button.click()
    path = sig.args[0]["data"]
    exp = make(experiment="cavi", data=path, k=3)
    assert exp.x.shape == (12, 2) and exp.truth is None and exp.final_metrics()["purity"] is None


def test_the_question_hides_every_answer_until_the_class_has_guessed(qtbot):
    """Issue 39: "Which Gaussian is closer?" showed the fits (one on a mode, one moment-matched) and
    their KLs before anyone could guess. Asked (the preset's view), nothing on screen answers it."""
    from genviz.core.presets import get_preset
    from genviz.core.protocol import Frame
    from genviz.labs.inference.panel import InferencePanel
    from genviz.ui import theme

    preset = get_preset("inference-which-closer")
    assert preset.view == {"question": True}
    theme.apply_theme("light")
    exp = make(seed=1, experiment="kl")
    exp.set_view("question", True)  # the worker takes it as a view choice
    panel = InferencePanel(get_lab("inference"))
    qtbot.addWidget(panel)
    panel.show()
    panel.on_ready(exp.static_info())
    panel.set_view_state(dict(preset.view))
    for _ in range(3):
        rows = exp.advance()
        panel.extend_curves({"step": [exp.step_count], **{k: [v] for k, v in rows.items()}}, None)
    panel.show_frame(Frame(exp.step_count, exp.snapshot(heavy=True), True), True)
    panel.flush()
    assert "KL(q‖p) =" not in panel.readout.text() and "Guess first" in panel.readout.text()
    assert not any(c.isVisible() for c in panel.kl_curves.curves.values())
    assert panel._rev_items and not any(item.isVisible() for item in panel._rev_items + panel._fwd_items)
    panel._guess("A")  # the class chose: everything shows, at once (even while paused)
    assert "KL(q‖p) =" in panel.readout.text() and all(c.isVisible() for c in panel.kl_curves.curves.values())
    assert all(item.isVisible() for item in panel._rev_items[:1] + panel._fwd_items[:1])
    panel.handles[0].setPos(-3.0, 0.5)
    panel._moved()  # a new p: asked again
    assert panel.guessed is None and not any(c.isVisible() for c in panel.kl_curves.curves.values())
    # without the question (the reverse-KL preset) the fits show from the start
    panel.set_view_state({})
    assert all(c.isVisible() for c in panel.kl_curves.curves.values())


@pytest.mark.parametrize("experiment", ["kl", "em", "cavi", "meanfield"])
def test_snapshots_take_no_random_numbers_from_training(experiment, tmp_path):
    from dataclasses import replace

    from genviz.core.labs import get_lab
    from genviz.testing.checks import check_training

    lab = get_lab("inference")
    assert "snapshots leave" in check_training(replace(lab, quick=(*lab.quick, ("experiment", experiment))), tmp_path)
