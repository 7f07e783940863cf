"""Every registered lab (the genviz.labs entry points) keeps the plugin contract of
docs/adding-a-lab.md: a new lab is tested here the moment it is registered.

Per lab: build and train a few steps headless through the runner; every snapshot value is one of the
types the protocol allows; record a session, save and reopen it; open it in the lab's real panel
offscreen (rebuild from the history, a live snapshot, a scrub to a recorded frame, back to live);
export every view as a PNG; save a checkpoint and continue from it bit-exactly; write a model file in
the shared envelope."""
import numpy as np
import pytest
from PIL import Image

from genviz.core.checkpoint import CheckpointError, read_model_file
from genviz.core.headless import record_session
from genviz.core.labs import LabInfo, all_labs, import_object
from genviz.core.protocol import EngineConfig
from genviz.core.runner import Runner
from genviz.core.session import load_session, save_session

LABS = all_labs()
# smaller networks where a lab's defaults are slow on a 2-core machine; a new lab runs its defaults
FAST = {"manifold": {"hidden": 32}, "posterior": {"hidden": 32, "grid": 60, "hmc": False},
        "arithmetic": {"hidden": 32}, "flow": {"layers": 4, "hidden": 16}, "gibbs": {"hidden": 32}}
SCALARS = (bool, int, float, str, type(None), np.integer, np.floating, np.bool_)


def allowed(value, where="data") -> list[str]:
    """Where a snapshot holds a value of a type the protocol does not allow (docs/adding-a-lab.md)."""
    if isinstance(value, np.ndarray):
        return [] if value.dtype != object else [f"{where}: object array"]
    if isinstance(value, SCALARS):
        return []
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in allowed(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        bad = [f"{where}: key {k!r} is not a string or an int" for k in value if not isinstance(k, (str, int))]
        return bad + [p for k, v in value.items() for p in allowed(v, f"{where}.{k}")]
    return [f"{where}: {type(value).__name__}"]


@pytest.fixture(params=list(LABS), ids=list(LABS))
def lab(request) -> LabInfo:
    return LABS[request.param]


def config(lab: LabInfo, **kw) -> EngineConfig:
    return EngineConfig(lab=lab.name, seed=3, settings=FAST.get(lab.name, {}), torch_threads=1, **kw)


def test_lab_describes_itself(lab):
    assert lab.name and lab.title and lab.summary
    names = [s.name for s in lab.settings]
    assert len(names) == len(set(names)), "a setting is listed twice"
    for s in lab.settings:
        assert s.parse(s.default) == s.default, f"the default of '{s.name}' does not parse as itself"
    import_object(lab.experiment)  # both halves can be found
    assert LABS[lab.name] is lab


def test_headless_run_snapshots_and_exact_resume(lab):
    runner = Runner(config(lab))
    assert not allowed(runner.static_info(), "static"), allowed(runner.static_info(), "static")
    for _ in range(4):
        metrics = runner.step()
        assert metrics and all(np.isfinite(float(v)) for v in metrics.values())
    assert runner.step_count == 4
    rows = runner.take_rows()
    assert rows["step"].tolist() == [1, 2, 3, 4]
    for heavy in (False, True):
        problems = allowed(runner.snapshot(heavy))
        assert not problems, problems
    blob = runner.state()
    expected = [runner.step() for _ in range(3)]
    again = Runner(config(lab, state=blob))
    assert again.step_count == 4
    assert [again.step() for _ in range(3)] == expected  # every random generator came back too


def test_model_file_has_the_shared_envelope(lab, tmp_path):
    runner = Runner(config(lab))
    runner.step()
    path = tmp_path / "model.pt"
    assert runner.exp.query("save", path=str(path)) == str(path)
    ckpt = None
    try:
        ckpt = read_model_file(path, labs=(lab.name,))
    except CheckpointError as exc:  # a lab whose state has no "model" entry: the envelope must still hold
        assert "incomplete" in str(exc)
        import torch

        ckpt = torch.load(path, weights_only=True)
    assert (ckpt["format"], ckpt["version"], ckpt["lab"], ckpt["step"]) == ("genviz-model", 1, lab.name, 1)
    assert ckpt["settings"] == runner.exp.settings
    assert runner.exp.query("metrics")["steps"] == 1


def test_session_opens_in_the_real_panel_and_exports_every_view(lab, qtbot, tmp_path):
    from genviz.ui import export, theme

    theme.apply_theme("light")
    session = record_session(config(lab), 12, frame_every=4, checkpoint_every=6)
    assert session.step == 12 and len(session.history) >= 3 and session.history.checkpoints
    back = load_session(save_session(session, tmp_path / "s.genviz"), tuple(LABS))
    panel = export.session_panel(back, size=(1300, 850))
    qtbot.addWidget(panel)
    views = panel.views()
    assert views, "the panel names no views"

    # live: a snapshot of the running model extends the curves and draws
    runner = Runner(config(lab, state=back.state))
    runner.step()
    from genviz.core.protocol import Snapshot

    snap = Snapshot(0, runner.step_count, True, 1.0, True, runner.take_rows(), runner.snapshot(True))
    redraws = panel.redraws
    panel.take_live(snap)
    export.flush_views(panel)
    assert panel.redraws == redraws + 1
    # scrub to the first recorded frame, then back to live, then a rebuild in the middle
    panel.show_recorded(back.history.frame(0))
    export.flush_views(panel)
    panel.show_recorded(None)
    panel.rebuild(back.static, back.history, back.history.frames[1].step)
    export.flush_views(panel)
    for name, widget in views.items():
        path = export.view_png(widget, tmp_path / f"{name}.png", scale=1)
        img = np.asarray(Image.open(path).convert("L"))
        assert img.shape[0] > 20 and img.shape[1] > 20, name
        assert img.std() > 0, f"view '{name}' exported a blank image"
    panel.close()


def test_queries_never_change_training_state(lab, tmp_path):
    """Every query a lab declares (Experiment.QUERIES), and the base's metrics and save, leave state_dict exactly
    as it was: what changes training is a counted step (Experiment.PARTS) through advance, never a query (the GAN's
    D and G steps once trained through queries, uncounted and missing from the history)."""
    import io

    import torch

    from genviz.core.experiment import Experiment

    runner = Runner(config(lab))
    exp = runner.exp
    for _ in range(3):
        runner.step()

    def blob() -> bytes:
        buf = io.BytesIO()
        torch.save(exp.state_dict(), buf)
        return buf.getvalue()

    queries = {"metrics": {}, "save": {"path": str(tmp_path / "m.pt")}, **exp.QUERIES}
    for name, kwargs in queries.items():
        before = blob()
        runner.query(name, **kwargs)
        if hasattr(exp, "wait_for_ais"):
            exp.wait_for_ais(600)  # work a query started in the background must not touch training either
        assert blob() == before, f"the query '{name}' changed the training state"
    unknown = {n for n in ("d_step", "g_step", "half_step", "paint", "restart_chains") if n not in queries}
    for name in unknown:
        with pytest.raises(KeyError):
            runner.query(name)
    for part in exp.PARTS:  # the partial steps are counted
        assert type(exp).train_part is not Experiment.train_part, f"PARTS names '{part}' but no train_part"


def test_data_is_read_or_refused_never_ignored(lab, tmp_path):
    """`--data` (a missing file here) reaches every lab's data under its default settings, or is refused naming
    why: diffusion and inference once trained on their built-in data and exited 0."""
    from genviz.safeio import InputError

    missing = str(tmp_path / "no-such-data.npy")
    with pytest.raises(InputError) as info:
        Runner(config(lab, data=missing))
    assert "no-such-data" in str(info.value) or "--data does nothing here" in str(info.value)


def test_data_where_nothing_reads_it_is_refused():
    from genviz.core.settings import SettingError

    for lab, settings in (("estimators", {"experiment": "variance"}), ("inference", {"experiment": "kl"}),
                          ("autoregressive", {"points": "ring8"})):
        with pytest.raises(SettingError, match="--data does nothing here"):
            Runner(EngineConfig(lab=lab, settings=settings, data="digits", torch_threads=1))
