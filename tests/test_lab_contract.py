"""The lab contract is shipped (genviz.testing, `genviz labs --check`, the pytest plugin) and holds for a lab
built from docs/adding-a-lab.md alone, installed as its own package outside any genviz checkout; a lab whose
trained weights are bare Parameters is refused, naming them."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def doc_lab(folder: Path, edit=None) -> Path:
    """The doc's smallest complete lab as an installed distribution in ``folder``: the ``mylab`` package from
    the doc's code blocks and a dist-info registering it in the genviz.labs entry points."""
    text = (ROOT / "docs" / "adding-a-lab.md").read_text()
    blocks = re.findall(r"```python\n# (mylab/\w+\.py)\n(.*?)```", text, re.S)
    assert {name for name, _ in blocks} == {"mylab/__init__.py", "mylab/experiment.py", "mylab/panel.py",
                                            "mylab/cards.py"}
    for name, code in blocks:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(edit(name, code) if edit else code)
    info = folder / "mylab-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mylab\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[genviz.labs]\ngauss = mylab:LAB\n")
    return folder


def check(folder: Path, *args) -> subprocess.CompletedProcess:
    """`genviz labs --check gauss` run from a folder that is not a genviz checkout, with the lab installed (and
    the genviz under test first on the path)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "genviz", "labs", "--check", "gauss", *args], cwd=folder,
                          capture_output=True, text=True, timeout=600, env=env)


def test_the_docs_lab_passes_every_check_outside_a_checkout(tmp_path):
    r = check(doc_lab(tmp_path))
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    from genviz.testing import CHECKS

    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok   {c.name}" for c in CHECKS]
    assert lines[-1] == "gauss: every check passed"


def test_a_lab_with_bare_parameters_is_refused_naming_them(tmp_path):
    def bare(name, code):
        if name != "mylab/experiment.py":
            return code
        code = code.replace("self.model = Gauss()", "self.model = Gauss()\n        self.mean = torch.nn.Parameter("
                            "torch.zeros(2))")
        return code.replace("torch.optim.Adam(self.model.parameters(),",
                            "torch.optim.Adam([*self.model.parameters(), self.mean],")

    r = check(doc_lab(tmp_path, bare), "--no-panel")
    assert r.returncode == 1, r.stdout + r.stderr[-3000:]
    failed = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    assert failed and failed[0].startswith("FAIL checkpoint:") and "'mean'" in failed[0], r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_an_unknown_lab_is_one_line_and_exit_2(tmp_path):
    r = check(tmp_path)
    assert r.returncode == 2 and "no lab 'gauss' is registered" in r.stderr and "Traceback" not in r.stderr


def test_state_dict_refuses_a_trained_tensor_no_part_holds():
    import torch

    from genviz.core.experiment import Experiment, UnsavedState

    class Bare(Experiment):
        def __init__(self):
            super().__init__({})
            self.net = torch.nn.Linear(2, 2)
            self.w = torch.nn.Parameter(torch.zeros(3))
            self.extra = [torch.zeros(2, requires_grad=True)]
            self.opt = torch.optim.SGD([*self.net.parameters(), self.w, self.extra[0], torch.ones(1, requires_grad=True)],
                                       lr=0.1)
            self.data = torch.randn(5, 2)  # constant data is not trained state

    exp = Bare()
    assert exp.unsaved_state() == ["'w'", "'extra[0]'", "a tensor optimiser 'opt' updates"]
    with pytest.raises(UnsavedState, match="trains 'w', 'extra\\[0\\]'"):
        exp.state_dict()
    exp.STATE_ATTRS = ("w", "extra")  # a restore replaces these objects: an optimiser's tensors must be in modules
    assert exp.unsaved_state() == ["'w'", "'extra[0]'", "a tensor optimiser 'opt' updates"]
    exp.opt = torch.optim.SGD(exp.net.parameters(), lr=0.1)
    assert exp.unsaved_state() == [] and set(exp.state_dict()["attrs"]) >= {"w", "extra", "net", "opt"}


def test_the_pytest_plugin_fixture_runs_the_checks(genviz_lab_check):
    done = genviz_lab_check("gan", only=("description", "checkpoint"))
    assert [d.split(":")[0] for d in done] == ["description", "checkpoint"]
    with pytest.raises(ValueError, match="no such check"):
        genviz_lab_check("gan", only=("nonsense",))


def test_a_panel_that_raises_while_built_is_said_and_another_lab_opens(qtbot, monkeypatch):
    import dataclasses

    from PySide6.QtCore import Qt

    from genviz.core import labs as registry
    from tests.helpers import open_window

    real = registry.all_labs()
    broken = {**real, "gan": dataclasses.replace(real["gan"], panel="tests.helpers:BrokenPanel")}
    monkeypatch.setattr(registry, "all_labs", lambda: dict(broken))
    w = open_window(qtbot, lab="gan")  # the window opens on another lab and trains it
    assert w.run.lab != "gan" and w.run.lab in w.panels and "gan" not in w.panels
    said = " ".join(m["text"] for m in w.banner.messages)
    assert "could not be opened" in said and "deliberate failure" in said, said
    item = next(w.lab_list.item(i) for i in range(w.lab_list.count()) if w.lab_list.item(i).data(Qt.UserRole) == "gan")
    assert not item.flags() & Qt.ItemIsEnabled
    w.training.open_lab("gan")  # asked again (a preset, the menu): said again, nothing else changes
    assert w.run.lab != "gan"
