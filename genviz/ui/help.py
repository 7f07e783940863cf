"""The Help menu: the welcome page, About (versions and the device), the keyboard shortcut sheet, the data
folder, and diagnostic information for a bug report (copied to the clipboard)."""
from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QMessageBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

import genviz


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """genviz, Python, torch (from its metadata: the GUI never imports torch), Qt, PySide6, pyqtgraph, numpy."""
    import PySide6
    from PySide6.QtCore import qVersion

    return {"genviz": genviz.__version__, "Python": platform.python_version(), "torch": _version("torch"),
            "Qt": qVersion(), "PySide6": PySide6.__version__, "pyqtgraph": _version("pyqtgraph"),
            "numpy": _version("numpy")}


class HelpActions:
    def __init__(self, window):
        self.w = window

    def fill_menu(self, menu) -> None:
        self.w._menu(menu, [("Welcome…", None, self.welcome), ("Keyboard shortcuts…", "F1", self.shortcuts), None,
                            ("Open the data folder", None, self.open_data_folder),
                            ("Copy diagnostic information", None, self.copy_diagnostics), None,
                            ("About genviz…", None, self.about)])

    # -- About ---------------------------------------------------------------------------------------------
    def device(self) -> str:
        run = self.w.run
        return f"{run.device_name} (CUDA: {run.cuda})" if run.cuda else f"{run.device_name} (no CUDA device found)"

    def about_text(self) -> str:
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in versions().items())
        return (f"<h3>genviz {genviz.__version__}</h3><p>A desktop lab for deep generative models: watch VAEs, "
                "flows, GANs, Boltzmann machines, autoregressive and diffusion models learn.</p>"
                f"<table>{rows}<tr><td>training device</td><td>&nbsp;&nbsp;{self.device()}</td></tr></table>"
                "<p>MIT licence.</p>")

    def about(self) -> QMessageBox:
        from PySide6.QtWidgets import QApplication

        box = QMessageBox(QMessageBox.Information, "About genviz", self.about_text(), parent=self.w)
        box.setIconPixmap(QApplication.windowIcon().pixmap(96, 96))
        box.show()
        return box

    # -- shortcuts -----------------------------------------------------------------------------------------
    def shortcut_rows(self) -> list[tuple[str, str]]:
        """Every key the window answers: its menus' shortcuts and its own keys, without repeats."""
        rows: list[tuple[str, str]] = []
        seen = set()

        def walk(menu, path: str) -> None:
            for act in menu.actions():
                if act.menu() is not None:
                    walk(act.menu(), f"{path} ▸ {act.menu().title().replace('&', '')}")
                    continue
                text = act.text().replace("&", "")
                keys = act.shortcut().toString() or (text.split("\t", 1)[1] if "\t" in text else "")
                if keys and keys not in seen:
                    seen.add(keys)
                    rows.append((keys, f"{path} ▸ {text.split(chr(9))[0]}"))

        for act in self.w.menuBar().actions():
            if act.menu() is not None:
                walk(act.menu(), act.menu().title().replace("&", ""))
        for keys, what, _slot in getattr(self.w, "key_shortcuts", ()):
            if keys not in seen:
                seen.add(keys)
                rows.append((keys, what))
        return rows

    def shortcuts(self) -> QDialog:
        dlg = QDialog(self.w)
        dlg.setWindowTitle("Keyboard shortcuts")
        rows = self.shortcut_rows()
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["keys", "what they do"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        for i, (keys, what) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(keys))
            table.setItem(i, 1, QTableWidgetItem(what))
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        table.resizeColumnToContents(0)
        lay = QVBoxLayout(dlg)
        lay.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(dlg.reject)
        lay.addWidget(buttons)
        dlg.resize(620, 640)
        dlg.show()
        return dlg

    # -- the data folder, diagnostics ------------------------------------------------------------------------
    def data_folder(self):
        from genviz.data.download import user_data_dir

        folder = user_data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def open_data_folder(self) -> None:
        folder = self.data_folder()
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.w.banner.show_message(f"The data folder is {folder} (no file manager could open it)")

    def diagnostics(self) -> str:
        """What a bug report needs, as plain text: versions, platform, device, the run, the folders."""
        from genviz.ui.sessions import state_dir

        run = self.w.run
        lines = [f"genviz diagnostic information ({genviz.__version__})"]
        lines += [f"{k}: {v}" for k, v in versions().items()]
        lines += [f"platform: {platform.platform()} ({platform.machine()})", f"cores: {os.cpu_count()}",
                  f"Qt platform: {QGuiApplication.platformName()}", f"executable: {sys.executable}",
                  f"training device: {self.device()}",
                  f"engine: {self.w.controller.bridge.engine.kind if self.w.controller.bridge.engine else '-'}",
                  f"lab: {run.lab}", f"settings: {run.values_of(run.lab) if run.lab else {}}",
                  f"seed: {run.seed}", f"data: {run.data or 'default'}", f"step: {run.step:,}",
                  f"preset: {run.preset.name if run.preset else '-'}",
                  f"data folder: {self.data_folder()}", f"state folder: {state_dir()}"]
        return "\n".join(lines)

    def copy_diagnostics(self) -> str:
        text = self.diagnostics()
        QGuiApplication.clipboard().setText(text)
        self.w.statusBar().showMessage("Copied the diagnostic information: paste it into your bug report", 5000)
        return text

    # -- welcome -------------------------------------------------------------------------------------------------
    def welcome(self):
        from genviz.ui.welcome import WelcomeDialog

        dlg = WelcomeDialog(self.w)
        dlg.show()
        return dlg

