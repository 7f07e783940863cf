import pytest

from genviz.core.labs import all_labs, get_lab
from genviz.core.settings import Setting, SettingError, parse_assignments, resolve


def test_parse_and_validate():
    s = Setting("n", 2, "int", minimum=1, maximum=32)
    assert s.parse("4") == 4 and s.parse(5.0) == 5
    with pytest.raises(SettingError, match="<= 32"):
        s.parse("40")
    with pytest.raises(SettingError, match="expects int"):
        s.parse("2.5")
    c = Setting("act", "relu", "choice", choices=("relu", "tanh"))
    with pytest.raises(SettingError, match="not one of"):
        c.parse("gelu")
    b = Setting("flag", False, "bool")
    assert b.parse("yes") is True and b.parse("off") is False
    with pytest.raises(SettingError):
        Setting("x", 1.0, "float").parse("nan")


def test_resolve_and_assignments():
    lab = get_lab("manifold")
    values = resolve(lab.settings, parse_assignments(["beta=2", "latent = 8"]))
    assert values["beta"] == 2.0 and values["latent"] == 8 and values["hidden"] == 256
    with pytest.raises(SettingError, match="unknown setting"):
        resolve(lab.settings, {"nope": 1})
    with pytest.raises(SettingError, match="key=value"):
        parse_assignments(["beta"])


def test_registry_lists_the_manifold_lab():
    labs = all_labs()
    assert "manifold" in labs
    assert {s.name for s in labs["manifold"].settings if s.live} >= {"lr", "beta", "warmup"}
    with pytest.raises(KeyError, match="unknown lab"):
        get_lab("nope")
