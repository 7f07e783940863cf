"""The pure core never imports Qt (napari-style rule), checked on the import graph and the source."""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1] / "genviz"
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "shiboken6")


def is_qt_layer(path: pathlib.Path) -> bool:
    rel = path.relative_to(ROOT)
    # cli.py is the launcher: it imports the app lazily, only when asked to open a window
    return rel.parts[0] in ("ui", "bench") or path.name == "panel.py" or rel.as_posix() == "cli.py"


def test_core_sources_do_not_import_qt():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if is_qt_layer(path):
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in QT_MODULES or n.startswith("genviz.ui") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"core modules import Qt: {offenders}"


def test_importing_the_core_loads_no_qt():
    core = [p for p in ROOT.rglob("*.py") if not is_qt_layer(p) and p.name != "__main__.py"]
    modules = sorted("genviz." + ".".join(p.relative_to(ROOT).with_suffix("").parts).replace(".__init__", "")
                     for p in core)
    modules = [m[:-len(".__init__")] if m.endswith(".__init__") else m for m in modules]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
            "print(len(sys.modules)); assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_gui_start_path_does_not_import_torch():
    """The window paints before torch loads: the GUI side of a lab needs numpy only."""
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "import genviz.ui.main_window, genviz.labs.manifold.panel, genviz.core.engine\n"
            "assert 'torch' not in sys.modules, 'torch imported on the GUI start path'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
