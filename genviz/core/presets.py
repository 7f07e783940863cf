"""Lecture presets: readable TOML files in ``genviz/resources/presets`` (one per scene of a lecture), each
with a lab, its settings, a title and a caption saying what to watch for.

A preset file looks like::

    title = "Mode collapse on the ring"
    lab = "gan"
    caption = "What the class should watch for."
    seed = 1            # optional
    data = "shapes"     # optional: the data of an image lab (--data)
    [settings]
    loss = "nonsat"
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from genviz.core.settings import SettingError, resolve

PRESET_DIR = Path(__file__).resolve().parents[1] / "resources" / "presets"  # package data


class PresetError(ValueError):
    pass


@dataclass(frozen=True)
class Preset:
    name: str  # the file's stem: what ``genviz --preset NAME`` takes
    title: str
    lab: str
    caption: str
    settings: dict = field(default_factory=dict)
    seed: int = 0
    data: str | None = None

    def resolved_settings(self) -> dict:
        from genviz.core.labs import get_lab

        return resolve(get_lab(self.lab).settings, self.settings)


def preset_dirs() -> list[Path]:
    """The shipped presets, then a user's own (``$GENVIZ_PRESETS``, a folder of .toml files)."""
    dirs = [PRESET_DIR]
    extra = os.environ.get("GENVIZ_PRESETS")
    if extra:
        dirs.append(Path(extra).expanduser())
    return dirs


def read_preset(path: str | os.PathLike) -> Preset:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PresetError(f"preset {path.name} could not be read: {exc}") from None
    missing = [k for k in ("title", "lab", "caption") if not isinstance(raw.get(k), str)]
    if missing:
        raise PresetError(f"preset {path.name} lacks {', '.join(missing)}")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise PresetError(f"preset {path.name}: [settings] must be a table")
    preset = Preset(name=path.stem, title=raw["title"], lab=raw["lab"], caption=" ".join(raw["caption"].split()),
                    settings=settings, seed=int(raw.get("seed", 0)), data=raw.get("data"))
    try:
        preset.resolved_settings()
    except (KeyError, SettingError) as exc:
        raise PresetError(f"preset {path.name}: {exc}") from None
    return preset


def all_presets() -> list[Preset]:
    """Every preset, in lab order, then by file name."""
    from genviz.core.labs import all_labs

    order = {name: i for i, name in enumerate(all_labs())}
    found = {}
    for folder in preset_dirs():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            found[path.stem] = read_preset(path)
    return sorted(found.values(), key=lambda p: (order.get(p.lab, 99), p.name))


def get_preset(name: str) -> Preset:
    presets = {p.name: p for p in all_presets()}
    if name not in presets:
        raise PresetError(f"unknown preset '{name}'; available: {', '.join(presets)}")
    return presets[name]
