"""The installed application: every view of every lab explains itself (a card), the desktop files validate and
install, the Help menu and the welcome page work."""
import shutil
import subprocess
import sys

import pytest

from genviz.core.labs import all_labs, import_object


def test_every_card_of_genvizs_own_labs_says_enough():
    """Every view has a complete card (genviz.testing's views check, for every lab); genviz's own say enough."""
    from genviz.ui.cards import lab_cards
    from tests.helpers import own_labs

    for name, lab in own_labs().items():
        for view, card in lab_cards(lab).items():
            assert len(card.what) > 30 and len(card.watch) > 30, (name, view)


def test_the_info_button_opens_the_card_and_stays_out_of_exports(qtbot, tmp_path):
    from PySide6.QtWidgets import QToolButton

    from genviz.ui.cards import BUTTON_NAME
    from genviz.ui.export import render

    lab = all_labs()["gan"]
    panel = import_object(lab.panel)(lab)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitExposed(panel)
    view = panel.views()["samples"]
    button = view.findChild(QToolButton, BUTTON_NAME)
    assert button is not None and button.isVisible()
    assert button.x() > view.width() - 60  # the top right corner
    with qtbot.waitSignal(button.clicked, timeout=1000):
        button.click()
    from PySide6.QtWidgets import QApplication

    dialogs = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "CardDialog" and w.isVisible()]
    assert dialogs and "D(x)" in dialogs[0].label.text() and "Goodfellow" in dialogs[0].label.text()
    for d in dialogs:
        d.close()
    # an export renders the view without the button (and puts it back)
    image = render(view)
    assert image.width() == view.width() and button.isVisible()


def test_the_desktop_entry_and_metainfo_validate():
    from genviz.desktop import APP_ID, resource_dir

    src = resource_dir()
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(src / f"{APP_ID}.desktop")], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    if not shutil.which("appstreamcli"):
        pytest.skip("appstreamcli (Debian's appstream package) is not installed")
    r = subprocess.run(["appstreamcli", "validate", "--no-net", "--pedantic", str(src / f"{APP_ID}.metainfo.xml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_install_desktop_puts_the_entry_and_icons_in_place_and_uninstall_removes_them(tmp_path):
    home = tmp_path / "share"
    r = subprocess.run([sys.executable, "-m", "genviz", "install-desktop", "--data-home", str(home)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    entry = (home / "applications" / "io.github.genviz.Genviz.desktop").read_text()
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert "genviz" in exec_line and exec_line != "Exec=genviz"  # an absolute launcher
    for size in (16, 48, 256, 512):
        assert (home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "io.github.genviz.Genviz.png").is_file()
    assert (home / "icons" / "hicolor" / "scalable" / "apps" / "io.github.genviz.Genviz.svg").is_file()
    assert (home / "metainfo" / "io.github.genviz.Genviz.metainfo.xml").is_file()
    (home / "applications" / "other.desktop").write_text("[Desktop Entry]\n")  # not ours: stays
    r = subprocess.run([sys.executable, "-m", "genviz", "install-desktop", "--data-home", str(home), "--uninstall"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    # the desktop's own caches (update-desktop-database, gtk-update-icon-cache) may stay; nothing of ours does
    left = sorted(p.name for p in home.rglob("*") if p.is_file() and not p.name.endswith(".cache"))
    assert left == ["other.desktop"]


def test_help_about_shortcuts_diagnostics_and_welcome(qtbot):
    from tests.helpers import open_window

    w = open_window(qtbot, "gan", overrides={"batch": 64})
    text = w.help.about_text()
    for word in ("genviz", "torch", "Qt", "PySide6", "training device"):
        assert word in text
    rows = dict(w.help.shortcut_rows())
    assert rows["Space"] == "Training ▸ Play / Pause" and rows["Home"] == "Timeline: the first snapshot" and "Ctrl+Shift+K" in rows and "F1" in rows
    diag = w.help.copy_diagnostics()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == diag and "lab: gan" in diag and "torch:" in diag
    dlg = w.help.welcome()
    qtbot.addWidget(dlg)
    assert set(dlg.lab_buttons) == set(w.labs) and dlg.presets.count() >= 30
    from genviz.ui.welcome import thumbnail_path

    assert all(thumbnail_path(lab) is not None for lab in w.labs.values())
    dlg.lab_buttons["diffusion"].click()
    qtbot.waitUntil(lambda: w.run.lab == "diffusion", timeout=30_000)
    assert not dlg.isVisible()


def test_settings_that_do_not_apply_are_greyed_out_with_the_reason(qtbot):
    from genviz.ui.controls import SettingsForm

    lab = all_labs()["gan"]
    form = SettingsForm(lab.settings)
    qtbot.addWidget(form)
    assert not form.editors["gp_weight"].isEnabled() and "loss is wgan-gp" in form.editors["gp_weight"].toolTip()
    assert form.editors["lr_g"].isEnabled()
    form.editors["loss"].setCurrentText("wgan-gp")
    assert form.editors["gp_weight"].isEnabled() and not form.editors["clip"].isEnabled()
    flow = SettingsForm(all_labs()["flow"].settings)
    qtbot.addWidget(flow)
    assert flow.editors["bins"].isEnabled() and not flow.editors["energy"].isEnabled()
    flow.set_values({"flow": "planar", "fit": "energy"})
    assert not flow.editors["bins"].isEnabled() and "flow is spline" in flow.editors["bins"].toolTip()
    assert not flow.editors["data"].isEnabled() and flow.editors["energy"].isEnabled()


def test_the_app_starts_trains_and_quits_on_its_own(tmp_path):
    """What the PyInstaller check runs against the built app: the window opens offscreen, trains, closes."""
    import json
    import os

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "GENVIZ_STATE_DIR": str(tmp_path / "state")}
    r = subprocess.run([sys.executable, "-m", "genviz", "--lab", "gan", "--play", "--quit-after", "6"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["lab"] == "gan" and out["step"] > 0 and out["device"] == "cpu"


def _parse_exec(value: str) -> list[str]:
    """An Exec value back to its arguments, by the Desktop Entry spec (string escapes first, then the quoting)."""
    text = value.replace("\\\\", "\0").replace("\\s", " ").replace("\\n", "\n").replace("\\t", "\t") \
        .replace("\\r", "\r").replace("\0", "\\")
    args, cur, quoted, i, started = [], "", False, 0, False
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
            cur += text[i + 1]
            i += 2
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if cur or started:
                args.append(cur)
            cur, started = "", False
        else:
            cur += c
        i += 1
    if cur or started:
        args.append(cur)
    return [a.replace("%%", "%") for a in args]


@pytest.mark.parametrize("argv", [["/opt/my apps/bin/genviz"], ["/home/u/100% py/bin/python3", "-m", "genviz"],
                                  ['/odd/"quote"$dollar\\back`tick/genviz']])
def test_the_entry_runs_a_launcher_whose_path_has_spaces_percent_and_quotes(argv, tmp_path):
    """TryExec was cut at a space (desktops then hide the entry) and % was not escaped: the entry's Exec parses
    back to the launcher's arguments, its TryExec names the whole program, and it validates."""
    from genviz.desktop import desktop_entry

    entry = desktop_entry(argv)
    lines = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line and not line.startswith("#"))
    assert _parse_exec(lines["Exec"]) == argv
    assert lines["TryExec"].replace("\\\\", "\\") == argv[0]
    if shutil.which("desktop-file-validate"):
        path = tmp_path / "io.github.genviz.Genviz.desktop"
        path.write_text(entry)
        r = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert r.returncode == 0 and "error" not in r.stdout.lower(), r.stdout + r.stderr


def test_a_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path):
    from pathlib import Path

    from genviz.desktop import data_home

    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    assert data_home() == Path.home() / ".local" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert data_home() == tmp_path
