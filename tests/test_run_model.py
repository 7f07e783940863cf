"""The run model (pure: no Qt, no torch) and view-only choices: what a session keeps of a run, how
presets and sessions turn into the engine's config, and that a bad value changes nothing."""
import numpy as np
import pytest

from genviz.core.history import History
from genviz.core.labs import all_labs
from genviz.core.presets import get_preset
from genviz.core.run import RunModel
from genviz.core.session import Session, SessionError, load_session, save_session
from genviz.core.settings import SettingError


def test_settings_are_parsed_once_and_a_bad_change_keeps_the_old_values():
    run = RunModel(all_labs(), lab="manifold")
    values = run.values_of("manifold", {"hidden": "64"})
    assert values["hidden"] == 64 and run.values_of("manifold", {"hidden": "8"})["hidden"] == 64  # first wins
    with pytest.raises(SettingError, match="beta"):
        run.update("manifold", {"beta": "lots"})
    assert run.values["manifold"]["beta"] == 1.0
    assert run.update("manifold", {"beta": "0.5"})["beta"] == 0.5


def test_config_carries_view_and_continues_only_its_own_session():
    run = RunModel(all_labs(), lab="flow", seed=4)
    run.view_of("flow")["layer"] = 2
    config = run.config(snapshot_hz=10.0)
    assert (config.lab, config.seed, config.view, config.state, config.snapshot_hz) == ("flow", 4, {"layer": 2}, None, 10.0)
    history = History()
    history.add_frame(7, {"x": np.zeros(2)})
    session = Session(lab="gan", settings={"loss": "hinge"}, seed=9, state=b"state", history=history,
                      view={}, step=7)
    assert run.open_session(session)["loss"] == "hinge" and run.seed == 9
    assert run.config().state is None  # still the flow lab: the gan session waits for its lab
    run.lab = "gan"
    assert run.config().state == b"state"
    run.begin()
    assert run.history is history and run.step == 0


def test_a_session_round_trip_keeps_the_run(tmp_path):
    run = RunModel(all_labs(), lab="posterior", seed=2, data="shapes")
    run.update("posterior", {"k": 50})
    run.view_of("posterior")["example"] = 11
    run.step = 3
    back = load_session(save_session(run.to_session(None), tmp_path / "r.genviz"))
    other = RunModel(all_labs(), lab="manifold")
    values = other.open_session(back)
    assert values["k"] == 50 and other.view_of("posterior") == {"example": 11}
    assert (other.seed, other.data, other.preset) == (2, "shapes", None)


def test_a_hostile_view_state_is_refused(tmp_path):
    import json
    import zipfile

    path = save_session(Session(lab="flow", settings={}), tmp_path / "v.genviz")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["session.json"])
    manifest["view"] = {"layer": [1, 2, {"deep": 1}]}
    members["session.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(SessionError, match="not a valid session at view"):
        load_session(path)


def test_presets_set_settings_seed_and_data():
    preset = get_preset("manifold-posterior-collapse")
    run = RunModel(all_labs(), lab="gan")
    values = run.open_preset(preset)
    assert run.values[preset.lab] == values and run.seed == preset.seed and run.preset is preset
    assert run.data == preset.data


def test_view_choices_are_not_training_settings():
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    runner = Runner(EngineConfig(lab="flow", settings={"layers": 2, "hidden": 8}, view={"layer": 1}))
    assert runner.exp.view == {"layer": 1} and "layer" not in runner.exp.settings
    assert runner.snapshot(True)["density_layer"] == 1
    with pytest.raises(KeyError, match="not a view choice"):
        runner.exp.set_view("lr", 1.0)
    state = runner.exp.state_dict()
    assert "layer" not in state["settings"] and "view" not in state["attrs"]


def test_the_run_model_is_observable_and_a_trial_copy_is_not():
    """Widgets observe the run (the toolbar shows the seed a preset or session set); a trial copy, tried before
    the run takes a change, tells no one."""
    run = RunModel(all_labs(), lab="gan")
    seen = []
    run.observe("seed", seen.append)
    run.observe("speed", lambda v: seen.append(("speed", v)))
    run.seed = 3
    run.seed = 3  # the same value: no event
    trial = run.trial()
    trial.seed = 9
    run.speed = 20.0
    assert seen == [3, ("speed", 20.0)] and run.seed == 3 and trial.seed == 9
    with pytest.raises(AttributeError):
        run.observe("no_such_field", print)


def test_the_toolbar_shows_what_the_run_holds(qtbot):
    from genviz.core.presets import all_presets
    from tests.helpers import open_window

    w = open_window(qtbot, lab="gan", overrides={})
    # (a preset without questions: Play on one with questions stops to ask the class first)
    preset = next(p for p in all_presets() if p.lab == "gan" and p.seed != w.run.seed and not p.trained
                  and not p.predictions)
    w.lecture.apply(preset, play=False)
    assert w.bar.seed.value() == preset.seed == w.run.seed
    w.bar.seed.setValue(11)  # an edit in the toolbar goes to the run through the controller
    assert w.run.seed == 11
    w.controller.set_device("cpu")
    assert w.bar.device.currentText() == "cpu"
    # whether it trains: the controller's word (the worker's, then), the toolbar's button and the panel follow
    from tests.helpers import run_until

    w.training.play()
    assert w.run.running and w.bar.play_button.isChecked()
    run_until(None, lambda: w.run.step > 2, 60)
    w.bar.play_button.click()  # the button sends a pause; the run says so and the button shows it
    assert not w.run.running and not w.bar.play_button.isChecked()
    step = w.run.step
    w.training.do_step(3)
    run_until(None, lambda: w.run.step >= step + 3, 60)
    assert not w.run.running
    # the CUDA device the worker found is the run's; the toolbar greys out the cuda choice without one
    assert w.bar.device.model().item(2).isEnabled() == bool(w.run.cuda)
