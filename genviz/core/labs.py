"""The lab registry: every lab is a package whose ``__init__`` defines ``LAB`` (a :class:`LabInfo`),
registered in the ``genviz.labs`` entry-point group of its distribution (genviz's own labs in
pyproject.toml), so a lab can live in any installed package. docs/adding-a-lab.md has the contract.

A lab's ``__init__`` must stay cheap (no torch, no Qt): the GUI lists labs before either loads.
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from dataclasses import dataclass
from typing import Any

from genviz.core.settings import Setting

# the version of the lab contract (docs/adding-a-lab.md) this genviz implements: a LabInfo says which one it
# was written for (``contract``), and a lab written for a newer one is refused by ``genviz labs --check``
CONTRACT_VERSION = 1


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
    # when an images lab reads --data (the window's image data), as a Setting's ``applies``: pairs of a setting and
    # the values under which it does (the estimators lab: only its vae and wake-sleep experiments). Elsewhere
    # --data is refused, never silently ignored (genviz.core.runner.data_for), and the window does not send it
    data_applies: tuple = ()
    # the window keeps this lab's trained model when the user leaves it, for labs that explore one
    shares_model: bool = False
    # labs whose kept model this lab opens (through its "model" setting) when it is opened after them
    model_from: tuple[str, ...] = ()
    # "module:function" of the lab's own benchmark: ``genviz bench LAB ARGS`` calls it with ARGS (a list
    # of strings) and exits with what it returns; without one, the live benchmark every lab has
    bench: str = ""
    # training steps per second when the window opens the lab (0: as fast as it goes), for labs whose
    # every step is a lesson (an EM half step, a CAVI update); the Speed control changes it
    speed: float = 0.0
    # "module:NAME" of the lab's info cards (genviz.core.cards.Card by view name): the ℹ on every view
    cards: str = ""
    # settings that make a run small and fast, as (name, value) pairs: what the contract checks
    # (genviz.testing, ``genviz labs --check``) train
    quick: tuple[tuple[str, Any], ...] = ()
    # options of ``genviz train LAB`` beyond the shared ones, as Settings: ``--NAME VALUE`` (a bool: ``--NAME``)
    # is passed to the experiment's ``final_metrics(NAME=value)`` (the VAE labs' --iwae K, the RBM's --ais)
    train_options: tuple[Setting, ...] = ()
    # the family protocol a user's own model implements to take the place of the lab's (``--model-code``; one of
    # genviz.models.protocols' families: "vae", "gan", "flow", "diffusion", "autoregressive"), or "" when the lab takes
    # none. The experiment's constructor then takes ``model_code`` (a genviz.core.model_code.ModelCode, or None), sets
    # ``self.model_code`` and names the settings the user's model makes irrelevant in ``NETWORK_SETTINGS``
    user_model: str = ""
    # "module:function" writing a run as a plain PyTorch script (``genviz export SESSION --format py``): it takes a
    # genviz.core.script.ScriptRun and returns a genviz.core.script.Script whose output equals the run's metric rows
    # (``genviz labs --check`` runs it); "" when the lab writes none
    script: str = ""
    # "module:function" of the lab's exact checks of the numbers its views show ("Check this run", ``genviz check
    # SESSION``): ``function(experiment, checks)`` adds genviz.core.checkrun verdicts to ``checks``
    exact_checks: str = ""
    # "one data set, every family" (genviz compare-families): the model family this lab trains on 2-D points
    # ("gan", "flow", "autoregressive", "diffusion", "vae") and the setting that names the 2-D data set; its
    # experiment answers ``family_view()``. "" for a lab that takes no part
    family: str = ""
    family_data: str = ""
    # a File-menu entry that opens this lab (e.g. "Compare families…"); a points lab opened from it takes over the
    # open lab's 2-D data set. "" for none
    menu: str = ""
    # the contract version the lab is written for (CONTRACT_VERSION)
    contract: int = 1

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


ENTRY_POINT_GROUP = "genviz.labs"


class LabError(RuntimeError):
    """A registered lab that cannot be loaded; the message names it and why."""


_cache: dict[str, LabInfo] | None = None
problems: list[str] = []  # registered labs that failed to load (shown by the GUI and `genviz labs`)


def all_labs() -> dict[str, LabInfo]:
    """Every lab registered in the ``genviz.labs`` entry-point group (the built-in ones included),
    in their ``order``. A lab that fails to load is left out and named in ``problems``."""
    global _cache
    if _cache is None:
        found: dict[str, LabInfo] = {}
        problems.clear()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                lab = ep.load()
            except Exception as exc:
                problems.append(f"lab '{ep.name}' ({ep.value}) could not be loaded: {type(exc).__name__}: {exc}")
                continue
            if not isinstance(lab, LabInfo):
                problems.append(f"lab '{ep.name}' ({ep.value}) is not a LabInfo")
            elif lab.name in found:
                problems.append(f"lab '{lab.name}' is registered twice ({ep.value})")
            else:
                found[lab.name] = lab
        _cache = dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))
    return dict(_cache)


def reload_labs() -> dict[str, LabInfo]:
    """Look the entry points up again (after installing a lab package in a running session, tests)."""
    global _cache
    _cache = None
    return all_labs()


def get_lab(name: str) -> LabInfo:
    labs = all_labs()
    if name not in labs:
        raise KeyError(f"unknown lab '{name}'; available: {', '.join(labs)}")
    return labs[name]
