"""The window's preferences (theme, text size, last lab, window geometry, recent sessions) in a JSON file of
plain values: ``genviz.json`` in the user's config folder (``$XDG_CONFIG_HOME/genviz`` on Linux).

Not QSettings: PySide6 stores a Python object in ``genviz.conf`` as a pickle (``@Variant(...)``) and unpickles it
when the file is read, so a crafted value there ran a command at start-up. genviz never reads ``genviz.conf`` with
QSettings; the old file's plain text values (theme, text size, last lab) are carried over once, read as text.
A value of another type, or a file that is not JSON, is ignored with a one-line message, and the rest is kept."""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from PySide6.QtCore import QStandardPaths

FILE = "genviz.json"
MAX_BYTES = 1 << 20
# what each preference may hold: anything else is ignored with a message
KINDS = {"theme": str, "font_scale": float, "last_lab": str, "geometry": str, "recent_sessions": list, "welcomed": bool}


def prefs_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.GenericConfigLocation) or str(Path.home() / ".config")
    return Path(base) / "genviz" / FILE


def _plain(key: str, value):
    """``value`` if it is what ``key`` may hold (numbers finite, text without control characters), else None."""
    kind = KINDS.get(key)
    if kind is bool and isinstance(value, bool):
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if kind is str and isinstance(value, str) and len(value) < 100_000:
        return value
    if kind is list and isinstance(value, list) and all(isinstance(v, str) and len(v) < 4096 for v in value):
        return list(value[:32])
    return None


class Prefs:
    """``value(key, default)`` and ``setValue(key, value)``, as the window used QSettings, over plain values."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else prefs_path()
        self.problems: list[str] = []
        self.values: dict = {}
        if self.path.is_file():
            self._load()
        else:
            self._migrate(self.path.with_name("genviz.conf"))

    def _load(self) -> None:
        try:
            if self.path.stat().st_size > MAX_BYTES:
                raise ValueError(f"larger than {MAX_BYTES:,} bytes")
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.problems.append(f"{self.path}: ignored, not a preferences file ({str(exc).splitlines()[0][:120]})")
            return
        for key, value in data.items():
            plain = _plain(str(key), value)
            if plain is None:
                self.problems.append(f"{self.path}: ignored '{str(key)[:40]}' (not a plain value genviz stores there)")
            else:
                self.values[key] = plain

    def _migrate(self, old: Path) -> None:
        """The plain text values of an earlier genviz's QSettings file, read as text (never through QSettings)."""
        try:
            if not old.is_file() or old.stat().st_size > MAX_BYTES:
                return
            text = old.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        for key in ("theme", "last_lab", "font_scale"):
            m = re.search(rf"^{key}=(.*)$", text, re.M)
            if not m or m.group(1).startswith("@"):
                continue  # a serialized object or byte array: never decoded
            raw = m.group(1).strip()
            value = _plain(key, float(raw) if key == "font_scale" and re.fullmatch(r"[0-9.]+", raw) else raw)
            if value is not None:
                self.values[key] = value

    def value(self, key: str, default=None):
        return self.values.get(key, default)

    def setValue(self, key: str, value) -> None:  # noqa: N802 - QSettings' name, which the window used
        plain = _plain(key, value)
        if plain is None:
            raise ValueError(f"preference '{key}' takes {KINDS.get(key, 'nothing')!r}, not {type(value).__name__}")
        self.values[key] = plain
        if self.path.is_file():  # another window (or the app) may have written since: keep what it wrote
            others = Prefs.__new__(Prefs)
            others.path, others.problems, others.values = self.path, [], {}
            others._load()
            self.values = {**others.values, key: plain}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".part")
            tmp.write_text(json.dumps(self.values, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only config folder: the preference holds for this run only
