"""File ▸ Compare runs… and Open comparison folder… of the main window: the window's run against the next
seed, or a comparison folder, in a compare view of its own."""
from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QFileDialog

from genviz.safeio import InputError
from genviz.ui.compare import CompareWindow, open_compare
from genviz.ui.compare_folder import read_folder
from genviz.ui.compare_run import Run
from genviz.ui.engine_bridge import QueryFailed


class CompareActions:
    """File ▸ Compare runs… and Open comparison folder… of the main window; the comparisons it keeps open."""

    def __init__(self, window):
        self.w = window
        self.open_windows: list[CompareWindow] = []

    async def compare_runs(self):
        """The compare view with this run (copied at its current step) and the same settings with the next
        seed; more runs are added there. Both train in workers of their own when Play is pressed there."""
        w = self.w
        if w.run.lab is None:
            return None
        try:
            state = await w.controller.state()
        except QueryFailed as exc:
            w.banner.show_message(f"Could not compare: {exc}")
            return None
        session = w.run.to_session(state)
        lab = w.labs[session.lab]
        first = Run.from_session(session, trusted=True)  # (its model code, if any, the user confirmed)
        second = Run(lab, session.settings, session.seed + 1, session.data, model_code=session.model_code)
        return self.show(CompareWindow(lab, [first, second], title=lab.title))

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.w, "Open a comparison folder (a sweep's --out, or a saved one)")
        if folder:
            asyncio.ensure_future(self.open(folder))

    async def open(self, folder: str):
        """Read and check the folder's runs off the GUI thread (each session's frames against its lab's), then
        show them; a bad folder or run gives a message and changes nothing."""
        w = self.w
        try:
            loaded = await read_folder(folder, w, w.statusBar().showMessage)
            if loaded is None:
                return None
            window = open_compare(folder, loaded=loaded)
        except InputError as exc:
            w.banner.show_message(f"Could not open the comparison: {exc}")
            return None
        finally:
            w.statusBar().clearMessage()
        return self.show(window)

    def show(self, window):
        self.open_windows = [x for x in self.open_windows if x.isVisible()] + [window]
        window.closed.connect(lambda: self.open_windows.remove(window) if window in self.open_windows else None)
        window.show()
        return window
