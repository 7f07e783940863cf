"""The lab registry. Each lab is a folder under ``genviz/labs`` whose ``__init__`` defines ``LAB``.

A lab's ``__init__`` must stay cheap (no torch, no Qt): the GUI lists labs before either loads.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from genviz.core.settings import Setting


@dataclass(frozen=True)
class LabInfo:
    name: str
    title: str
    summary: str
    experiment: str  # "module:Class" of the pure-core experiment
    panel: str  # "module:Class" of the Qt panel
    settings: tuple[Setting, ...]
    order: int = 100  # position in the lab list (the foundation's labs first)
    data_kind: str = "images"  # what File > Open expects: "images" (--data) or "points" (the data setting)
    # the window keeps this lab's trained model when the user leaves it, for labs that explore one
    shares_model: bool = False
    # labs whose kept model this lab opens (through its "model" setting) when it is opened after them
    model_from: tuple[str, ...] = ()

    def setting(self, name: str) -> Setting:
        for s in self.settings:
            if s.name == name:
                return s
        raise KeyError(name)

    def describe(self) -> dict:
        return {"name": self.name, "title": self.title, "summary": self.summary,
                "settings": [s.describe() for s in self.settings]}


def import_object(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def all_labs() -> dict[str, LabInfo]:
    import genviz.labs as labs_pkg

    found = {}
    for mod in sorted(pkgutil.iter_modules(labs_pkg.__path__), key=lambda m: m.name):
        if not mod.ispkg:
            continue
        lab = getattr(importlib.import_module(f"genviz.labs.{mod.name}"), "LAB", None)
        if isinstance(lab, LabInfo):
            found[lab.name] = lab
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def get_lab(name: str) -> LabInfo:
    labs = all_labs()
    if name not in labs:
        raise KeyError(f"unknown lab '{name}'; available: {', '.join(labs)}")
    return labs[name]
