"""genviz says it runs on Python >= 3.10: the pure core (presets, settings, the labs' descriptions, the families'
table, parallel coordinates, numbers) is exercised on Python 3.10 and 3.12 in fresh virtual environments, when those
interpreters are on this machine (pyenv's, or on PATH). Torch and Qt are not installed there: this is the part of
genviz that must import without them. Skipped where the interpreter is absent."""
import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import sys
from genviz.core.presets import all_presets
from genviz.core.labs import all_labs
from genviz.core.settings import resolve
from genviz.core.family_table import markdown, ranks, csv_text
from genviz.core.parallel import parallel_axes, brushed
from genviz.core.numbers import estimate

problems = []
presets = all_presets(problems)
assert not problems, problems
labs = all_labs()
for lab in labs.values():
    resolve(lab.settings, {})
rows = [{"family": "flow", "nll": -3.2, "nll_se": 0.06, "likelihood": "exact"},
        {"family": "gan", "nll": None, "likelihood": "none", "hq_percent": 94.6, "hq_percent_se": 0.45}]
assert "| flow |" in markdown(rows) and ranks(rows)["nll"] == [["flow"]] and csv_text(rows).startswith("family,")
axes, ids = parallel_axes({"runs": [{"id": "a", "varied": {"lr": 1e-3}, "metrics": {"m": 1.0}},
                                    {"id": "b", "varied": {"lr": 1e-2}, "metrics": {"m": 2.0}}]})
assert [a.name for a in axes] == ["lr", "m"] and brushed(axes, {"m": (0.5, 1)}).tolist() == [False, True]
assert estimate(1.23456, 0.01) == "1.235 ± 0.010"
print(len(presets), len(labs), sys.version_info[:2])
"""


def interpreter(version: str) -> str | None:
    """A working Python ``version``: pyenv's own build first (its shims on PATH may name versions not selected)."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))[::-1]
    candidates += [p for p in [shutil.which(f"python{version}")] if p]
    for python in candidates:
        try:
            ok = subprocess.run([python, "-c", "import sys, venv; print(sys.version_info[:2])"], capture_output=True,
                                text=True, timeout=60)
        except OSError:
            continue
        if ok.returncode == 0 and ok.stdout.strip() == str(tuple(int(v) for v in version.split("."))):
            return python
    return None


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_the_pure_core_runs_on_python(version, tmp_path):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    vpython = str(venv / "bin" / "python")
    needs = ["numpy", "setuptools>=64", "wheel"] + (["tomli"] if version == "3.10" else [])
    pip = subprocess.run([vpython, "-m", "pip", "install", "-q", *needs], capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"could not install numpy into a Python {version} environment: {pip.stderr.strip()[-300:]}")
    own = subprocess.run([vpython, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert own.returncode == 0, own.stderr[-2000:]
    r = subprocess.run([vpython, "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-3000:]
    from genviz.core.presets import all_presets

    n_presets, n_labs, _ = r.stdout.split(" ", 2)
    assert int(n_presets) == len(all_presets()) and int(n_labs) >= 14
