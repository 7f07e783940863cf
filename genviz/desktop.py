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
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share").expanduser()


def launcher() -> str:
    """The command the menu entry runs: the ``genviz`` script beside this Python (a pipx or venv install), or
    on PATH, or this Python with ``-m genviz``."""
    beside = Path(sys.executable).with_name("genviz")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("genviz")
    if found:
        return str(Path(found).resolve())
    return f"{sys.executable} -m genviz"


def desktop_entry(command: str | None = None) -> str:
    """The shipped .desktop file with ``Exec``/``TryExec`` pointing at ``command`` (the launcher by default)."""
    command = command or launcher()
    lines = []
    for line in (resource_dir() / f"{APP_ID}.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={_quote(command)}"
        elif line.startswith("TryExec="):
            line = f"TryExec={command.split(' ')[0]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _quote(command: str) -> str:
    # the Desktop Entry spec: an argument with a space is quoted (a path in a folder with a space)
    parts = command.split(" -m ") if " -m " in command else [command]
    out = [f'"{parts[0]}"' if " " in parts[0] else parts[0]]
    return " -m ".join(out + parts[1:])


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
