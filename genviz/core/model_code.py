"""A user's own model code (``--model-code SPEC``): where it is, what it hashes to, how it is imported.

SPEC is ``package.module:factory`` (an importable module) or ``path/to/file.py:factory``. The code is
Python and runs with the user's rights, so it is imported only when the user named it: on the command line,
or confirmed in the window ("this runs the Python code in FILE"). A session records the reference and the
SHA-256 of the file; opening the session never imports it without that confirmation, and a file that changed
since is said before anything runs.

Importing happens where the lab's model is built: the training worker (``genviz.core.runner``). The factory's
module is loaded once per worker; the check of what it returns is the family's (``genviz.models.user``).
Pure core: no Qt, no torch at import."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from genviz.safeio import InputError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class ModelCodeError(InputError):
    """A model-code reference that cannot be used: one line that says why."""


@dataclass(frozen=True)
class ModelCode:
    """A reference to a factory: ``spec`` as given (a file's path made absolute), the SHA-256 of its source
    file when it was named (None: not known yet), and the family protocol its model implements ("vae"...)."""

    spec: str
    sha256: str | None = None
    family: str = ""

    @property
    def target(self) -> str:
        return self.spec.rsplit(":", 1)[0]

    @property
    def factory(self) -> str:
        return self.spec.rsplit(":", 1)[1]

    @property
    def is_file(self) -> bool:
        return self.target.endswith(".py")

    def source(self) -> Path:
        """The file the factory lives in (a module's file, found without importing it)."""
        if self.is_file:
            return Path(self.target)
        # found on the path without importing anything (importlib.util.find_spec would run the parent
        # packages' __init__: code, before the user confirmed it)
        from importlib.machinery import PathFinder

        search, found = None, None
        for part in self.target.split("."):
            if found is not None:
                search = found.submodule_search_locations
                if not search:
                    found = None
                    break
            found = PathFinder.find_spec(part, search)
            if found is None:
                break
        if found is None or not found.origin or not found.has_location:
            raise ModelCodeError(f"model code {self.spec}: no module {self.target} on the Python path")
        return Path(found.origin)

    def to_dict(self) -> dict:
        return {"spec": self.spec, "sha256": self.sha256, "family": self.family}

    @property
    def shown(self) -> str:
        """The reference as a user reads it: the file's name (not its whole path) and the factory."""
        return f"{Path(self.target).name}:{self.factory}" if self.is_file else self.spec


def parse(spec: str, family: str = "") -> ModelCode:
    """``module:factory`` or ``file.py:factory`` -> a ModelCode with its file's hash. ModelCodeError says what
    is wrong (no colon, a missing file, a name that is not an identifier)."""
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise ModelCodeError(f"model code {spec!r}: give MODULE:FACTORY or FILE.py:FACTORY (e.g. mymodels.py:make)")
    target, factory = spec.rsplit(":", 1)
    if not _NAME.match(factory):
        raise ModelCodeError(f"model code {spec!r}: {factory!r} is not a Python name (the factory to call)")
    if target.endswith(".py"):
        path = Path(target).expanduser()
        if not path.is_file():
            raise ModelCodeError(f"model code {spec!r}: no file {path}")
        target = str(path.resolve())
    elif not _MODULE.match(target):
        raise ModelCodeError(f"model code {spec!r}: {target!r} is neither a FILE.py nor a module name")
    code = ModelCode(f"{target}:{factory}")
    return ModelCode(code.spec, file_hash(code.source()), family)


def file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelCodeError(f"model code: cannot read {path} ({exc.strerror or exc})") from None


def checked(code: ModelCode | dict) -> ModelCode:
    """``code`` (or its dict, from a config or session) with its file as named: a file that changed since
    (another SHA-256) is refused, saying so."""
    if isinstance(code, dict):
        if not isinstance(code.get("spec"), str):
            raise ModelCodeError("model code: the reference is not a MODULE:FACTORY string")
        code = ModelCode(code["spec"], code.get("sha256") if isinstance(code.get("sha256"), str) else None,
                         code.get("family") if isinstance(code.get("family"), str) else "")
    now = parse(code.spec, code.family)
    if code.sha256 is not None and now.sha256 != code.sha256:
        raise ModelCodeError(f"model code {code.spec}: {code.source()} changed since it was named "
                             f"(SHA-256 {now.sha256[:12]}…, was {code.sha256[:12]}…); name it again to use it")
    return now


def checked_for(lab, code: ModelCode | dict) -> ModelCode:
    """``code`` checked (:func:`checked`) for ``lab`` (a LabInfo), which must take a user's model of its family."""
    from genviz.core.labs import all_labs

    if not lab.user_model:
        takes = ", ".join(n for n, info in all_labs().items() if info.user_model) or "none"
        raise ModelCodeError(f"the {lab.name} lab takes no model code (--model-code); the labs that do: {takes}")
    family = code.get("family") if isinstance(code, dict) else None
    if family not in (None, lab.user_model):
        raise ModelCodeError(f"model code {code.get('spec')}: a {family} model; the {lab.name} lab takes a "
                             f"{lab.user_model} model")
    return checked(code)


def named(lab, spec: str) -> dict:
    """``SPEC`` as the user named it for ``lab`` (the command line, a dialog): its reference, hash and family,
    for an EngineConfig (ModelCodeError, one line, when the lab takes none or the file is missing). Nothing is
    imported here: the worker does it."""
    return checked_for(lab, parse(spec, lab.user_model)).to_dict()


_loaded: dict[str, object] = {}


def load_factory(code: ModelCode) -> Callable:
    """Import the module of ``code`` (once per process) and return its factory. Runs the user's code."""
    code = checked(code)
    key = f"{code.spec}@{code.sha256}"
    if key not in _loaded:
        try:
            if code.is_file:
                name = f"genviz_user_model_{code.sha256[:16]}"
                spec = importlib.util.spec_from_file_location(name, code.target)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module  # dataclasses and pickling-free torch helpers look modules up
                spec.loader.exec_module(module)
            else:
                module = importlib.import_module(code.target)
        except Exception as exc:  # noqa: BLE001 - the user's code: said in one line
            raise ModelCodeError(f"model code {code.spec}: importing it failed: {type(exc).__name__}: {exc}") from None
        _loaded[key] = module
    factory = getattr(_loaded[key], code.factory, None)
    if not callable(factory):
        raise ModelCodeError(f"model code {code.spec}: {code.target} has no function {code.factory}")
    return factory
