"""A wheel (a non-editable install) is complete: its embedded digits, presets and lab entry points
come with it. Built from this tree, installed into a fresh virtual environment (genviz's own
dependencies, torch among them, are borrowed from this interpreter: not reinstalled), and run from
a folder outside the source tree."""
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(dist), str(ROOT)], capture_output=True, text=True, cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    wheel = next(dist.glob("genviz-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "genviz/resources/data/digits_8x8.npz" in names
    assert sum(n.startswith("genviz/resources/presets/") and n.endswith(".toml") for n in names) >= 11
    assert "genviz/resources/presets/gan-wgan-gp-ring.genviz" in names  # a preset's shipped trained state
    for lab in ("manifold", "gan", "diffusion", "estimators"):  # the welcome page's thumbnails
        assert f"genviz/labs/{lab}/thumbnail.png" in names
    for name in ("io.github.genviz.Genviz.desktop", "io.github.genviz.Genviz.metainfo.xml", "io.github.genviz.Genviz.svg",
                 "icons/256x256/io.github.genviz.Genviz.png"):
        assert f"genviz/resources/desktop/{name}" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), names[-8:]
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[genviz.labs]" in entry_points and "manifold = genviz.labs.manifold:LAB" in entry_points

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    # the dependencies, as a plain path: this interpreter's .pth files (an editable genviz) are not read
    (site / "genviz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run = tmp_path / "elsewhere"
    run.mkdir()

    def genviz(*args: str) -> str:
        r = subprocess.run([str(python), "-m", "genviz", *args], capture_output=True, text=True, cwd=run,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"},
                           timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    where = subprocess.run([str(python), "-c", "import genviz; print(genviz.__file__)"], capture_output=True,
                           text=True, cwd=run).stdout
    assert where.startswith(str(site)), where  # the wheel's genviz, not this source tree
    labs = genviz("labs")
    assert all(name in labs for name in ("manifold", "posterior", "flow", "gan", "gibbs", "arithmetic"))
    presets = genviz("presets")
    assert "Mode collapse" in presets and "WGAN-GP fixes it  [opens trained" in presets
    share = tmp_path / "share"
    installed = genviz("install-desktop", "--data-home", str(share))
    assert "installed 10 files" in installed
    entry = (share / "applications" / "io.github.genviz.Genviz.desktop").read_text()
    assert f"Exec={python} -m genviz" in entry  # no genviz script on this PATH: the menu runs the module
    out = genviz("train", "manifold", "--steps", "5", "--set", "hidden=16", "--out", str(tmp_path / "run"))
    assert (tmp_path / "run" / "model.pt").is_file() and '"steps": 5' in out.replace("\n", " ") + \
        (tmp_path / "run" / "metrics.json").read_text()


def test_the_sdist_carries_the_app_and_its_build_scripts(tmp_path):
    import tarfile

    r = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    names = tarfile.open(next(tmp_path.glob("genviz-*.tar.gz"))).getnames()
    for path in ("genviz/resources/desktop/io.github.genviz.Genviz.desktop",
                 "genviz/resources/desktop/io.github.genviz.Genviz.metainfo.xml",
                 "genviz/resources/desktop/icons/512x512/io.github.genviz.Genviz.png", "genviz/labs/gan/thumbnail.png",
                 "genviz/labs/gan/cards.py", "genviz/resources/data/digits_8x8.npz",
                 "genviz/resources/presets/gan-wgan-gp-ring.genviz", "packaging/pyinstaller/genviz.spec",
                 "packaging/pyinstaller/build.sh", "packaging/linux/make-icons.py", "docs/adding-a-lab.md"):
        assert f"genviz-{VERSION}/{path}" in names, path
    for path in ("LICENSE", "CHANGELOG.md"):  # what a distributor needs beside the code
        assert f"genviz-{VERSION}/{path}" in names, path
