"""genviz on the Linux desktop: the menu entry, the AppStream metainfo and the icons, installed into the
user's data folders (``genviz install-desktop``; ``--uninstall`` removes exactly what it installed).

The files ship inside the package (``genviz/resources/desktop``), so a wheel installed by pipx carries
them. The menu entry's ``Exec`` is the ``genviz`` launcher found now (pipx's), by its absolute path, so
the menu works whatever PATH the desktop session has. No Qt here."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

APP_ID = "io.github.genviz.Genviz"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def resource_dir() -> Path:
    return Path(str(resources.files("genviz") / "resources" / "desktop"))


def data_home() -> Path:
    """$XDG_DATA_HOME when it is an absolute path (the XDG Base Directory spec: a relative one is ignored), else
    ~/.local/share."""
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if env and Path(env).is_absolute() else Path.home() / ".local" / "share"


def launcher_argv() -> list[str]:
    """The command the menu entry runs, as its arguments: the ``genviz`` script beside this Python (a pipx or venv
    install), or on PATH, or this Python with ``-m genviz``."""
    beside = Path(sys.executable).with_name("genviz")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("genviz")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "genviz"]


def launcher() -> str:
    return " ".join(launcher_argv())


# the Desktop Entry spec's reserved characters in Exec: an argument holding one is quoted
_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


def _escape_string(value: str) -> str:
    """A desktop-file string value: backslash, newline, tab and carriage return as escapes."""
    return (value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
            .replace("\r", "\\r"))


def exec_value(argv: list[str]) -> str:
    """``Exec=`` for ``argv`` by the Desktop Entry spec: an argument with a reserved character in double quotes,
    with ", `, $ and \\ escaped inside; % doubled (a lone % starts a field code); then the string escapes."""
    parts = []
    for arg in argv:
        if any(c in _RESERVED for c in arg) or not arg:
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        parts.append(arg.replace("%", "%%"))
    return _escape_string(" ".join(parts))


def desktop_entry(argv: list[str] | None = None) -> str:
    """The shipped .desktop file with ``Exec`` running ``argv`` (the launcher by default) and ``TryExec`` naming its
    program, whole (a desktop hides an entry whose TryExec is not an executable: cut at a space, it was)."""
    argv = list(argv or launcher_argv())
    lines = []
    for line in (resource_dir() / f"{APP_ID}.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_value(argv)}"
        elif line.startswith("TryExec="):
            line = f"TryExec={_escape_string(argv[0])}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def targets(home: Path | None = None) -> dict[Path, Path | str]:
    """Where each file goes: destination -> source file (or the text of the generated .desktop file)."""
    home = home or data_home()
    src = resource_dir()
    out: dict[Path, Path | str] = {
        home / "applications" / f"{APP_ID}.desktop": desktop_entry(),
        home / "metainfo" / f"{APP_ID}.metainfo.xml": src / f"{APP_ID}.metainfo.xml",
        home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": src / f"{APP_ID}.svg",
    }
    for size in ICON_SIZES:
        out[home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = \
            src / "icons" / f"{size}x{size}" / f"{APP_ID}.png"
    return out


def _refresh_caches(home: Path) -> None:
    """Tell the desktop (where its tools are installed; nothing happens without them)."""
    for cmd in (["update-desktop-database", str(home / "applications")],
                ["gtk-update-icon-cache", "-q", "-t", "-f", str(home / "icons" / "hicolor")]):
        if shutil.which(cmd[0]):
            try:
                subprocess.run(cmd, capture_output=True, timeout=30, check=False)
            except (OSError, subprocess.SubprocessError):
                pass


def install(home: Path | None = None) -> list[Path]:
    """Write the menu entry, metainfo and icons; returns what was written."""
    home = home or data_home()
    written = []
    for dest, source in targets(home).items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        if isinstance(source, str):
            tmp.write_text(source, encoding="utf-8")
        else:
            shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
        written.append(dest)
    _refresh_caches(home)
    return written


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what :func:`install` writes (nothing else); returns what was removed."""
    home = home or data_home()
    removed = []
    for dest in targets(home):
        if dest.is_file():
            dest.unlink()
            removed.append(dest)
    _refresh_caches(home)
    return removed
