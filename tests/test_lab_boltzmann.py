"""The Boltzmann-machine lab: a general BM learns bars and stripes faster than the RBM of the same units, the DBN's
second layer starts exactly at the first RBM's likelihood and then improves on it, every exact check passes on
both experiments, checkpoints restore across the layer switch, and the panel draws both pages."""
import copy

import numpy as np
import pytest

from genviz.core.checkrun import Checks
from genviz.core.labs import get_lab
from genviz.core.settings import SettingError, resolve
from genviz.labs.boltzmann.checks import boltzmann_checks
from genviz.labs.boltzmann.experiment import BoltzmannExperiment


def make(seed=0, **overrides):
    return BoltzmannExperiment(resolve(get_lab("boltzmann").settings, overrides), seed=seed)


def run(exp, steps):
    return [exp.advance() for _ in range(steps)]


def test_a_general_bm_learns_the_patterns_sooner_than_the_rbm_of_its_units():
    full = run(make(gradient="exact"), 1500)[-1]["kl"]
    restricted = run(make(gradient="exact", connect="restricted"), 1500)[-1]["kl"]
    assert full < 0.6 < restricted, (full, restricted)


def test_the_dbn_starts_its_second_layer_at_the_first_rbms_likelihood_then_improves():
    exp = make(experiment="dbn", size=3, hidden=6, layer_steps=1500, lr2=1e-4)
    rows = run(exp, 1501)
    first = rows[-1]
    # one update with lr 1e-4 after the transposed start: the DBN is still the first RBM
    assert abs(first["kl_dbn"] - first["kl_rbm"]) < 5e-3 and first["kl_bound"] >= first["kl_dbn"] - 1e-12
    exp = make(experiment="dbn", size=3, hidden=6, layer_steps=1500)
    rows = run(exp, 3500)
    gains = [r["kl_rbm"] - r["kl_dbn"] for r in rows[-200:]]
    assert np.mean(gains) > 0.05
    assert all(r["kl_bound"] >= r["kl_dbn"] - 1e-9 for r in rows[1500:])
    snap = exp.snapshot(True)
    assert snap["stage"] == 2 and snap["dbn_gain"] == pytest.approx(snap["kl_rbm"] - snap["kl_dbn"])


@pytest.mark.parametrize("settings,steps", [({"experiment": "bm"}, 300), ({"experiment": "bm", "connect": "restricted",
                                                                            "size": 2}, 100),
                                            ({"experiment": "dbn", "layer_steps": 150}, 300),
                                            ({"experiment": "dbn", "top_init": "random", "layer_steps": 50}, 100)])
def test_every_exact_check_passes(settings, steps):
    exp = make(**settings)
    run(exp, steps)
    checks = Checks()
    boltzmann_checks(exp, checks)
    assert len(checks.verdicts) >= 3
    failed = [v for v in checks.verdicts if not v.passed]
    assert not failed, failed


def test_checkpoints_restore_across_the_layer_switch():
    for settings in ({"experiment": "bm"}, {"experiment": "dbn", "layer_steps": 10}):
        exp = make(**settings)
        run(exp, 7)
        state = copy.deepcopy(exp.state_dict())
        ahead = run(exp, 8)
        again = make(**settings)
        again.load_state_dict(state)
        assert run(again, 8) == ahead, settings


def test_the_frozen_first_rbms_kl_is_kept_and_recomputed_when_its_parameters_change():
    """Stage two reuses the first RBM's exact KL (it is frozen), bit for bit what dbn_metrics computes; a restored
    state with other parameters gets its own."""
    from genviz.labs.boltzmann.experiment import dbn_metrics

    exp = make(experiment="dbn", layer_steps=20)
    rows = run(exp, 40)
    fresh = dbn_metrics(exp.rbm1, exp.top, exp.x, True)
    assert rows[-1]["kl_rbm"] == fresh["kl_rbm"] == exp.frozen_kl() and len({r["kl_rbm"] for r in rows[20:]}) == 1
    early = make(experiment="dbn", layer_steps=20)
    run(early, 5)  # the first RBM after 5 steps: other parameters
    exp.load_state_dict(copy.deepcopy(early.state_dict()))
    assert exp.frozen_kl() == dbn_metrics(exp.rbm1, exp.top, exp.x, False)["kl_rbm"] != fresh["kl_rbm"]


def test_a_bm_too_large_to_enumerate_is_refused_in_one_line():
    with pytest.raises(SettingError, match="at most 20 units"):
        make(size=4, hidden=5)


@pytest.mark.parametrize("settings,steps", [({"experiment": "bm"}, 4), ({"experiment": "dbn", "layer_steps": 3}, 2),
                                            ({"experiment": "dbn", "layer_steps": 3}, 6)])
def test_the_panel_draws_each_experiment_and_stage(qtbot, settings, steps):
    from genviz.core.protocol import Frame
    from genviz.labs.boltzmann.panel import BoltzmannPanel
    from genviz.ui import theme

    theme.apply_theme("light")
    exp = make(seed=1, **settings)
    panel = BoltzmannPanel(get_lab("boltzmann"))
    qtbot.addWidget(panel)
    panel.show()
    panel.on_ready(exp.static_info())
    for _ in range(steps):
        rows = exp.advance()
        panel.extend_curves({"step": [exp.step_count], **{k: [v] for k, v in rows.items()}}, None)
    panel.show_frame(Frame(exp.step_count, exp.snapshot(heavy=True), True), True)
    panel.flush()
    assert panel.pages.currentIndex() == ("bm", "dbn").index(settings["experiment"])
    text = panel.readout.text()
    assert "KL" in text and "nats" in text
    if settings["experiment"] == "dbn":
        assert ("Layer 2 of 2" in text) == (steps > 3)
        shown = panel.dbn_bars.bars[1].opts["height"]
        assert (np.asarray(shown)[:-1] > 0).any() == (steps > 3)  # the DBN's bars only once it exists
