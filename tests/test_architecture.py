"""The architecture: import-linter contracts (pyproject.toml, [tool.importlinter]) keep the pure core
free of Qt, the labs independent of each other, shared code free of labs, and every package free of
import loops; the GUI's start path must not pay for torch."""
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _lint(cwd: pathlib.Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(pathlib.Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, "--config", str(cwd / "pyproject.toml"), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_import_contracts_are_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_ruff_finds_nothing():
    """The linter configured in pyproject.toml ([tool.ruff]) on the package and its tests."""
    exe = shutil.which("ruff") or str(pathlib.Path(sys.executable).with_name("ruff"))
    result = subprocess.run([exe, "check", "genviz", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


@pytest.mark.parametrize("path, line, contract", [
    ("genviz/labs/gan/experiment.py", "from genviz.labs.manifold import LAB as _X", "No lab imports another lab"),
    ("genviz/labs/flow/experiment.py", "import pyqtgraph", "The pure core"),
    ("genviz/core/history.py", "import genviz.ui.theme", "The pure core"),
    ("genviz/data/images.py", "from genviz.data import loaders", "No import loops"),
    ("genviz/labs/gan/panel.py", "import torch", "A lab's description and panel import no torch"),
    ("genviz/labs/gan/__init__.py", "import torch", "A lab's description and panel import no torch"),
    ("genviz/testing/checks.py", "import genviz.labs.gan", "Shared code does not depend on any lab"),
])
def test_a_broken_rule_is_caught(tmp_path, path, line, contract):
    """The contracts can fail: the same tree with one forbidden import breaks the named contract."""
    shutil.copytree(ROOT / "genviz", tmp_path / "genviz", ignore=shutil.ignore_patterns("__pycache__", "resources"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / path, "a") as f:
        f.write(f"\n{line}\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    broken = [ln for ln in result.stdout.replace("\n", " ").split("BROKEN")[:-1]]
    assert any(contract in b for b in broken), result.stdout


def test_gui_start_path_does_not_import_torch():
    """The window paints before torch loads: the GUI side of a lab needs numpy only."""
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "import genviz.ui.main_window, genviz.labs.manifold.panel, genviz.core.engine, genviz.core.protocol\n"
            "from genviz.core.labs import all_labs; all_labs()\n"
            "assert 'torch' not in sys.modules, 'torch imported on the GUI start path'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_controller_holds_no_widget():
    """The controller and the run model decide; widgets only show: neither imports a widget module."""
    import ast

    for rel in ("genviz/ui/controller.py", "genviz/ui/engine_bridge.py", "genviz/core/run.py"):
        tree = ast.parse((ROOT / rel).read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module] + \
                   [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        bad = [m for m in imported if m.startswith(("PySide6.QtWidgets", "PySide6.QtGui", "pyqtgraph"))
               or (m.startswith("genviz.ui") and m not in ("genviz.ui.engine_bridge",))]
        assert not bad, f"{rel} imports {bad}"


def _run_model_writes(source: str) -> list[str]:
    """Where ``source`` changes a RunModel: a field assigned (``run.step = …``, ``setattr(run, …)``) or one of
    its changing methods called on something named run or model."""
    import ast
    from dataclasses import fields

    from genviz.core.run import RunModel

    names = {f.name for f in fields(RunModel)}
    changing = {"open_preset", "open_session", "update", "begin", "continue_from", "continue_here",
                "take_restored", "take_newest_kept_model"}

    def is_run(node) -> bool:
        return (isinstance(node, ast.Name) and node.id in ("run", "model")) or \
            (isinstance(node, ast.Attribute) and node.attr in ("run", "model"))

    found = []
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            for el in (t.elts if isinstance(t, ast.Tuple) else [t]):
                if isinstance(el, ast.Attribute) and el.attr in names and is_run(el.value):
                    found.append(f"line {el.lineno}: .{el.attr} = …")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in changing and is_run(node.func.value):
                found.append(f"line {node.lineno}: .{node.func.attr}(…)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                and node.args and is_run(node.args[0]):
            found.append(f"line {node.lineno}: setattr")
    return found


def test_only_the_controller_writes_the_run_model():
    """One writer: the window, the compare view, the action modules and the panels read the run model and
    observe it; every change goes through the controller (genviz/ui/controller.py)."""
    offenders = {}
    for path in sorted((ROOT / "genviz").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("genviz/ui/controller.py", "genviz/core/run.py") or not rel.startswith(("genviz/ui", "genviz/labs")):
            continue
        if found := _run_model_writes(path.read_text()):
            offenders[rel] = found
    assert not offenders, offenders
    # the check itself finds a write (it is not blind)
    assert _run_model_writes("def f(w):\n    w.run.step = 3\n    run.open_preset(p)\n    setattr(model, 'data', 1)\n") \
        == ["line 2: .step = …", "line 3: .open_preset(…)", "line 4: setattr"]
