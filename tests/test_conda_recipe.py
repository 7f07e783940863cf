"""The conda recipe (packaging/conda/meta.yaml) stays in step with pyproject.toml: its version, its run requirements
(conda names for the same packages and bounds), its license file, its entry point; and its test commands are
genviz's own smoke tests. No conda tool runs offline here: this renders the recipe's Jinja the simple way it uses."""
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pyside6-essentials": "pyside6", "torch": "pytorch", "matplotlib": "matplotlib-base"}

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def rendered() -> dict:
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "packaging" / "conda" / "meta.yaml").read_text()
    values = dict(re.findall(r'{%\s*set\s+(\w+)\s*=\s*"([^"]*)"\s*%}', text))
    text = re.sub(r"{%.*?%}", "", text)
    text = re.sub(r"{{\s*name\[0\]\s*}}", values["name"][0], text)
    text = re.sub(r"{{\s*name\|lower\s*}}", values["name"].lower(), text)
    text = re.sub(r"{{\s*(\w+)\s*}}", lambda m: values.get(m.group(1), m.group(1)), text)
    return yaml.safe_load(text)


def requirement(line: str) -> tuple[str, str]:
    line = line.split(";")[0].strip()
    name = re.match(r"[A-Za-z0-9_.\-]+", line).group(0).lower()
    return name, line[len(name):].replace(" ", "")


def test_the_recipe_matches_the_project():
    recipe = rendered()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert recipe["package"]["version"] == project["version"]
    assert recipe["about"]["license"] == "MIT" and (ROOT / recipe["about"]["license_file"]).is_file()
    script, target = next(iter(project["scripts"].items()))
    assert recipe["build"]["entry_points"] == [f"{script} = {target}"]
    assert recipe["build"]["noarch"] == "python"
    run = dict(requirement(r.split("#")[0]) for r in recipe["requirements"]["run"] if not r.startswith("python "))
    for dep in project["dependencies"]:
        name, bounds = requirement(dep)
        conda = CONDA_NAMES.get(name, name)
        assert conda in run, f"{dep} is not in the recipe's run requirements"
        assert run[conda] == bounds, f"{conda}: recipe {run[conda]!r}, pyproject {bounds!r}"
    assert set(run) == {CONDA_NAMES.get(requirement(d)[0], requirement(d)[0]) for d in project["dependencies"]}


def test_the_recipes_tests_are_genvizs_own_smoke_tests():
    commands = rendered()["test"]["commands"]
    assert "pip check" in commands
    smoke = [c for c in commands if "genviz" in c]
    assert any(c.startswith("genviz labs --check") for c in smoke) and any("--quit-after" in c for c in smoke)
    assert any(c.startswith("genviz train") for c in smoke) and "genviz presets" in smoke
