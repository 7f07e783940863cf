"""A run exported as a plain PyTorch script (genviz export SESSION --format py|ipynb, File ▸ Export as script…):
the script imports no genviz and prints the session's metric rows bit for bit, live setting changes included."""
from __future__ import annotations

import ast

import nbformat
import numpy as np
import pytest

import genviz
from genviz.cli import main
from genviz.core.labs import get_lab
from genviz.core.session import load_session
from genviz.core.settings import SettingError
from genviz.testing.checks import rows_differ, script_rows

QUICK = {"manifold": {"hidden": 32}, "posterior": {"hidden": 32}, "arithmetic": {"hidden": 32},
         "gan": {"g_hidden": 32, "d_hidden": 32, "batch": 64},
         "flow": {"layers": 4, "hidden": 16, "batch": 128}, "diffusion": {"hidden": 32, "batch": 128},
         "inference": {}}
CHANGE = {"manifold": {"lr": 3e-4, "beta": 0.5}, "posterior": {"lr": 3e-4}, "arithmetic": {"lr": 3e-4},
          "gan": {"lr_g": 2e-4, "d_steps": 2}, "flow": {"lr": 2e-4, "batch": 64}, "diffusion": {"lr": 2e-4},
          "inference": {"lr": 0.02, "means": "-1,0;1,1.5"}}  # the target's modes dragged in the view


def exported(tmp_path, run, fmt="py"):
    path = run.save(tmp_path / f"{run.lab}.genviz")
    out = tmp_path / f"{run.lab}.{fmt}"
    assert main(["export", str(path), "--format", fmt, "--out", str(out)]) == 0
    return path, out.read_text()


def imports_of(text: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("lab", sorted(QUICK))
def test_a_session_runs_again_as_a_standalone_script(tmp_path, lab):
    run = genviz.Run(lab, seed=2, **QUICK[lab])
    run.train(12)
    run.set(**CHANGE[lab])  # a live change at step 12: the script has it as a schedule
    run.train(10)
    path, text = exported(tmp_path, run)
    assert imports_of(text) <= {"torch", "numpy", "json", "math", "gzip", "struct"}, imports_of(text)
    assert "SCHEDULE = {12: " in text and all(repr(name) in text for name in CHANGE[lab])
    compile(text, "script.py", "exec")
    rows = script_rows(text, tmp_path)  # run where `import genviz` fails
    session = load_session(path)
    assert len(rows) == 22 and rows_differ(session.history.metrics(), rows) is None


def test_a_run_writes_its_own_script_from_python(tmp_path):
    run = genviz.Run("gan", seed=7, **QUICK["gan"])
    run.train(5)
    run.set(lr_d=5e-4)
    run.train(5)
    text = run.script(tmp_path / "gan.py")
    assert (tmp_path / "gan.py").read_text() == text and "SCHEDULE = {5: {'lr_d': 0.0005}}" in text
    assert rows_differ(run.metrics, script_rows(text, tmp_path)) is None
    nb = nbformat.reads(run.script(format="ipynb"), as_version=4)
    nbformat.validate(nb)
    run.train(3)  # writing the script changed nothing: the run goes on as if it had not been written
    again = genviz.Run("gan", seed=7, **QUICK["gan"])
    again.train(5)
    again.set(lr_d=5e-4)
    again.train(8)
    a, b = run.metrics, again.metrics
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(SettingError):
        run.script(format="pdf")


def test_a_gan_run_of_the_real_length_with_lone_d_and_g_steps(tmp_path):
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner
    from genviz.core.script import export_script, script_run
    from genviz.core.history import History
    from genviz.core.session import Session

    runner = Runner(EngineConfig(lab="gan", seed=5, settings={"loss": "wgan-gp", "lr_halflife": 200}))
    history = History()
    runner.train(150, history=history)
    runner.step("d")
    runner.step("d")
    runner.step("g")
    runner.exp.set_setting("lr_d", 3e-4)
    runner.train(150, history=history)
    session = Session(lab="gan", settings=dict(runner.exp.settings), seed=5, data=None, device="cpu",
                      step=runner.exp.step_count, static={}, state=runner.state(), history=history)
    assert script_run(session).parts == {151: ("d", {}), 152: ("d", {}), 153: ("g", {})}
    rows = script_rows(export_script(session, "py"), tmp_path)
    assert len(rows) == 303 and rows[151]["part_d"] == 1.0 and "g_loss" not in rows[151]
    assert rows_differ(history.metrics(), rows) is None


def test_the_notebook_holds_the_same_code_one_cell_per_part(tmp_path):
    run = genviz.Run("flow", seed=1, **QUICK["flow"])
    run.train(5)
    _, text = exported(tmp_path, run, "py")
    _, nb_text = exported(tmp_path, run, "ipynb")
    nb = nbformat.reads(nb_text, as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    titles = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert titles[1:] == ["## genviz's own code, copied", "## The run", "## Settings", "## Model and optimiser",
                          "## The data", "## One training step", "## Training"]
    rows = script_rows("\n\n".join(code), tmp_path)
    assert rows == script_rows(text, tmp_path) and len(rows) == 5


def test_what_a_script_cannot_reproduce_is_refused_in_one_line(tmp_path, capsys):
    run = genviz.Run("flow", fit="energy", energy="0.5*(z1**2+z2**2)", **QUICK["flow"])
    run.train(2)
    path = run.save(tmp_path / "typed.genviz")
    assert main(["export", str(path), "--format", "py"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is an expression" in err
    import numpy as np

    np.save(tmp_path / "pts.npy", np.random.default_rng(0).normal(size=(40, 2)))
    run = genviz.Run("inference", experiment="cavi", data=str(tmp_path / "pts.npy"), k=2)
    run.train(2)
    path = run.save(tmp_path / "cavi.genviz")
    assert main(["export", str(path), "--format", "py"]) == 2
    assert "a script writes the lab's own blobs" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.genviz"), "--format", "py"]) == 2
    assert "no such session file" in capsys.readouterr().err


def test_a_user_model_session_is_refused(tmp_path, capsys):
    from genviz.core.model_code import ModelCode  # noqa: F401 (the reference a session keeps)

    example = __import__("pathlib").Path(genviz.__file__).parents[1] / "docs" / "examples" / "zuko_flow.py"
    if not example.exists():
        pytest.skip("the docs' examples are not beside this genviz")
    run = genviz.Run("flow", model_code=f"{example}:make", layers=2, hidden=8, batch=64)
    run.train(2)
    path = run.save(tmp_path / "mine.genviz")
    assert main(["export", str(path), "--format", "py"]) == 2
    assert "your own model" in capsys.readouterr().err


def test_the_window_exports_the_run_it_trained_with_its_live_change(qtbot, tmp_path):
    from tests.helpers import complete, open_window

    w = open_window(qtbot, "gan", overrides=QUICK["gan"])
    try:
        w.training.do_step(6)
        qtbot.waitUntil(lambda: w.run.step == 6, timeout=60000)
        w.forms["gan"].editors["lr_d"].setValue(4e-4)
        qtbot.waitUntil(lambda: w.controller.bridge.engine.config.settings.get("lr_d") == 4e-4, timeout=5000)
        w.training.do_step(6)
        qtbot.waitUntil(lambda: w.run.step == 12, timeout=60000)
        out = tmp_path / "window.py"
        assert complete(w.sessions.export_script(out))
        text = out.read_text()
        assert "SCHEDULE = {6: {'lr_d': 0.0004}}" in text
        metrics = w.run.history.metrics()
        rows = script_rows(text, tmp_path)
        assert len(rows) == 12 and rows_differ(metrics, rows) is None
    finally:
        w.close()


def test_gibbs_chains_restarted_painted_and_half_stepped_come_back_in_the_script(tmp_path):
    import numpy as np

    from genviz.core.history import History
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner
    from genviz.core.script import export_script
    from genviz.core.session import Session

    runner = Runner(EngineConfig(lab="gibbs", seed=4, settings={"hidden": 24, "chains": 10}))
    history = History()
    runner.train(5, history=history)
    runner.step("half")
    runner.step("restart", {"start": "data"})
    mask = np.zeros(64, bool)
    mask[10:30] = True
    runner.exp.set_setting("clamp", "painted")
    runner.step("paint", {"mask": mask})
    runner.exp.set_setting("lr", 0.02)
    runner.train(5, history=history)
    history.add_rows(runner.take_rows())
    session = Session(lab="gibbs", settings=dict(runner.exp.settings), seed=4, data=None, device="cpu",
                      step=runner.exp.step_count, static={}, state=runner.state(), history=history)
    text = export_script(session, "py")
    assert "'paint', {'mask': [False" in text and "(7, 'restart', " not in text
    rows = script_rows(text, tmp_path)
    assert len(rows) == 13 and rows[7]["part_paint"] == 1.0 and rows[7]["painted"] == 20.0
    assert rows_differ(history.metrics(), rows) is None


# every lab's other experiments and models: the contract's own check (8 steps, a live change after step 4)
VARIANTS = [("gan", {"loss": "wgan-gp", "unroll": 1, "pack": 2}), ("gan", {"loss": "wgan", "r1": 1.0}),
            ("flow", {"fit": "energy", "energy": "U2", "flow": "planar"}), ("flow", {"flow": "realnvp"}),
            ("flow", {"flow": "maf", "data": "checkerboard"}), ("flow", {"flow": "maf", "beside": 1}), ("diffusion", {"process": "flow", "guidance": 2.0}),
            ("diffusion", {"process": "ve", "data": "moons"}), ("autoregressive", {"model": "pixelcnn"}),
            ("autoregressive", {"model": "made", "masks": 2, "order": "random"}),
            ("autoregressive", {"points": "moons"}), ("autoregressive", {"model": "wavenet", "layers": 3}),
            ("autoregressive", {"model": "rowlstm", "channels": 4}), ("autoregressive", {"model": "diagonal", "channels": 3}), ("gibbs", {"method": "cd", "k": 2}), ("gibbs", {"mode": "sample"}),
            ("estimators", {"experiment": "discrete"}), ("estimators", {"experiment": "vae"}),
            ("estimators", {"experiment": "wake-sleep"}), ("estimators", {"f": "decoder"}),
            ("estimators", {"experiment": "iwae", "latent": 3}), ("estimators", {"experiment": "vamp", "pseudo": 7}),
            ("estimators", {"experiment": "ardecoder", "ar_hidden": 16}), ("boltzmann", {"experiment": "dbn", "layer_steps": 3}),
            ("boltzmann", {"connect": "restricted", "gradient": "exact"}), ("dcgan", {"latent": 4, "interpolation": "linear"}), ("vae2d", {"k": 4, "warmup": 3}),
            ("inference", {"experiment": "em", "em_q": "restricted"}), ("inference", {"experiment": "cavi"}),
            ("inference", {"experiment": "meanfield"}), ("inference", {"target": "banana"}),
            ("posterior", {"objective": "iwae", "k": 3}), ("manifold", {"likelihood": "gaussian", "binarize": "none"})]


@pytest.mark.parametrize("lab,settings", VARIANTS, ids=[f"{a}-{'-'.join(map(str, b.values()))}" for a, b in VARIANTS])
def test_every_lab_and_experiment_runs_again_as_a_script(lab, settings, tmp_path):
    from dataclasses import replace

    from genviz.testing.checks import check_script

    info = get_lab(lab)
    assert "bit for bit" in check_script(replace(info, quick=tuple({**dict(info.quick), **settings}.items())), tmp_path)


def test_every_paper_a_script_cites_is_in_the_references():
    """The scripts' comments cite the paper of each formula: every author-year named in a lab's script module (or the
    shared parts) is in docs/references.md."""
    import re
    from pathlib import Path

    root = Path(genviz.__file__).parent
    references = (root.parent / "docs" / "references.md").read_text()
    sources = [root / "core" / "script.py", root / "vae" / "script.py", *sorted((root / "labs").glob("*/script.py"))]
    cited = set()
    for path in sources:
        for name, year in re.findall(r"(?:van den )?([A-Z][a-z]+)(?: et al\.| & [A-Z][a-z]+)?,? \(?(19\d\d|20\d\d)", 
                                     path.read_text()):
            cited.add((name, year))
    assert len(cited) > 30
    missing = sorted(f"{n} {y}" for n, y in cited if not re.search(rf"{n}[^\n]*{y}|{y}[^\n]*{n}", references))
    assert not missing, missing
