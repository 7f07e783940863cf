"""Typed lab settings: parsed from the command line or the GUI, validated with clear messages."""
from __future__ import annotations

from dataclasses import dataclass, field
import math
import numbers
from typing import Any, Iterable, Mapping

from genviz.safeio import InputError

MAX_TEXT = 4096  # a path or a name; a longer text is a mistake or an attack, never a setting


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class SettingError(InputError):
    """A setting value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    kind: str  # "int", "float", "choice", "bool", "str"
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = field(default_factory=tuple)
    # live settings change a running experiment; the others take effect on Reset (e.g. layer sizes)
    live: bool = False
    log_scale: bool = False
    # for "str" settings: values offered in the GUI (the user may still type another, e.g. a path)
    suggestions: tuple = field(default_factory=tuple)
    # False: driven by a lab's own control (e.g. a slider), so the settings form leaves it out
    in_form: bool = True
    # when it means something: ((other setting, (its values...)), ...), all of them must hold; the form greys
    # the setting out otherwise, with the reason in its tooltip (spline bins for a planar flow)
    applies: tuple = ()

    def inapplicable(self, values: Mapping[str, Any]) -> str | None:
        """Why this setting does nothing under ``values`` (the other settings), or None when it applies."""
        for name, allowed in self.applies:
            if name in values and values[name] not in allowed:
                return (f"{self.name} applies only when {name} is {' or '.join(map(str, allowed))} "
                        f"(now {values[name]})")
        return None

    def parse(self, value: Any) -> Any:
        """Convert ``value`` (a string from the CLI or a typed value from the GUI) and validate it."""
        raw = value
        try:
            # only scalars: a list or a table from a hostile file is no setting, true/false no number
            if not isinstance(value, (str, numbers.Real)) or (isinstance(value, bool) and self.kind in ("int", "float")):
                raise TypeError
            if self.kind == "int":
                if isinstance(value, str):
                    value = float(value)
                if float(value) != int(float(value)):
                    raise ValueError
                parsed: Any = int(value)
            elif self.kind == "float":
                parsed = float(value)
                if not math.isfinite(parsed):  # inf and NaN are never a usable rate, size or weight
                    raise ValueError
            elif self.kind == "bool":
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                        raise ValueError
                    parsed = low in ("1", "true", "yes", "on")
                else:
                    parsed = bool(value)
            elif self.kind == "choice":
                parsed = str(value)
                if parsed not in self.choices:
                    raise SettingError(
                        f"setting '{self.name}': {value!r} is not one of {', '.join(map(str, self.choices))}")
            else:
                parsed = str(value)
                if len(parsed) > MAX_TEXT:
                    raise SettingError(f"setting '{self.name}': a text of {len(parsed):,} characters is too long "
                                       f"(at most {MAX_TEXT:,})")
        except SettingError:
            raise
        except (TypeError, ValueError, OverflowError):
            kind = "a finite float" if self.kind == "float" else self.kind
            raise SettingError(f"setting '{self.name}' expects {kind}, got {_short(raw)}") from None
        if self.kind in ("int", "float"):
            if self.minimum is not None and parsed < self.minimum:
                raise SettingError(f"setting '{self.name}' must be >= {self.minimum}, got {parsed}")
            if self.maximum is not None and parsed > self.maximum:
                raise SettingError(f"setting '{self.name}' must be <= {self.maximum}, got {parsed}")
        return parsed

    def describe(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "default": self.default,
               "live": self.live, "help": self.help}
        if self.minimum is not None:
            out["min"] = self.minimum
        if self.maximum is not None:
            out["max"] = self.maximum
        if self.choices:
            out["choices"] = list(self.choices)
        if self.suggestions:
            out["suggestions"] = list(self.suggestions)
        return out


def resolve(specs: Iterable[Setting], overrides: Mapping[str, Any] | None = None) -> dict:
    """Defaults of ``specs`` with ``overrides`` applied; unknown names raise :class:`SettingError`."""
    specs = list(specs)
    by_name = {s.name: s for s in specs}
    values = {s.name: s.default for s in specs}
    for key, value in (overrides or {}).items():
        if key not in by_name:
            raise SettingError(f"unknown setting '{key}'; known: {', '.join(sorted(by_name))}")
        values[key] = by_name[key].parse(value)
    return values


def parse_assignments(items: Iterable[str]) -> dict:
    """``["beta=2", "latent=4"]`` -> ``{"beta": "2", "latent": "4"}`` (typed later by :func:`resolve`)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise SettingError(f"expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out
