"""A comparison folder (a sweep's ``--out`` or a saved comparison) read for a compare view: a large sweep's
runs are picked first (``RunPicker``), then the sessions are read and checked off the GUI thread."""
from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout

from genviz.core.compare import MAX_RUNS, load_manifest, read_compare_folder, run_label
from genviz.core.labs import all_labs


class RunPicker(QDialog):
    """A sweep of more runs than a comparison holds: the user ticks up to MAX_RUNS of them (a filter narrows the
    list; the first MAX_RUNS, whole seed groups, are ticked to begin with)."""

    def __init__(self, entries: list[dict], parent=None):
        from PySide6.QtWidgets import QListWidget, QListWidgetItem

        super().__init__(parent)
        self.setWindowTitle(f"Choose up to {MAX_RUNS} of {len(entries):,} runs")
        self.entries = entries
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: a setting, a value, a seed, a status…")
        self.list = QListWidget()
        for i, entry in enumerate(entries):
            item = QListWidgetItem(run_label(entry))
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if i < MAX_RUNS else Qt.Unchecked)
            item.setData(Qt.UserRole, entry.get("id"))
            self.list.addItem(item)
        self.count = QLabel()
        self.count.setTextFormat(Qt.PlainText)
        heading = QLabel(f"This folder holds {len(entries):,} runs; a comparison shows up to {MAX_RUNS}. Tick the "
                         "runs to open (the first ones, whole seed groups, are ticked).")
        heading.setTextFormat(Qt.PlainText)
        heading.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (heading, self.filter, self.list, self.count, self.buttons):
            layout.addWidget(w)
        self.filter.textChanged.connect(self._filter)
        self.list.itemChanged.connect(lambda _: self._update())
        self.resize(900, 600)
        self._update()

    def _filter(self, text: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(text) and text.lower() not in item.text().lower())

    def chosen(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.Checked]

    def _update(self) -> None:
        n = len(self.chosen())
        self.count.setText(f"{n} chosen (at most {MAX_RUNS})")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(0 < n <= MAX_RUNS)


def pick_runs(folder: str | Path, parent=None) -> list[str] | None:
    """The runs to open from ``folder``: all of them when they fit, else the user's choice (None: cancelled)."""
    manifest = load_manifest(folder, tuple(all_labs()))
    if len(manifest["runs"]) <= MAX_RUNS:
        return [e.get("id") for e in manifest["runs"]]
    picker = RunPicker(manifest["runs"], parent)
    return picker.chosen() if picker.exec() == QDialog.Accepted else None


async def read_folder(folder: str | Path, parent=None, status=None) -> tuple | None:
    """The runs to compare from ``folder`` (picked by the user when they do not all fit), read and checked off
    the GUI thread: what ``read_compare_folder`` returns, or None when the user cancelled. ``status(text)``
    says what is going on meanwhile. A bad folder or run raises InputError (CompareError, SessionError)."""
    ids = pick_runs(folder, parent)
    if ids is None:
        return None
    if status is not None:
        status(f"Reading and checking {folder}…")
    return await asyncio.get_event_loop().run_in_executor(None, read_compare_folder, folder, ids)
