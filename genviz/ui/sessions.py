"""File ▸ Save/Open session, Recent sessions, the minute autosave and the offer to restore it after
a crash. Files are read and written off the GUI thread; a bad file gives a message and changes nothing."""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog

from genviz.core.session import SUFFIX, Session, SessionError, load_session, save_session
from genviz.core.settings import SettingError
from genviz.ui.engine_bridge import QueryFailed

AUTOSAVE_SECONDS = float(os.environ.get("GENVIZ_AUTOSAVE_SECONDS", "60"))
RECENT_MAX = 8


def state_dir() -> Path:
    """Where the autosave lives (``$GENVIZ_STATE_DIR``, else the platform's app config folder)."""
    env = os.environ.get("GENVIZ_STATE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation) or Path.home() / ".genviz")


def autosave_path() -> Path:
    return state_dir() / f"autosave{SUFFIX}"


class SessionActions:
    def __init__(self, window):
        self.w = window
        self.autosaved_step = -1
        self.autosaving = False

    @property
    def run(self):
        return self.w.controller.run

    # -- dialogs ---------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Open session", "", f"genviz session (*{SUFFIX});;All files (*)")
        if path:
            asyncio.ensure_future(self.open(path))

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Save session", f"{self.run.lab}{SUFFIX}",
                                              f"genviz session (*{SUFFIX})")
        if path:
            if not path.endswith(SUFFIX):
                path += SUFFIX
            asyncio.ensure_future(self.save(path))

    # -- saving and opening ------------------------------------------------------------------------------
    async def save(self, path: str | Path) -> bool:
        w = self.w
        try:
            session = self.run.to_session(await w.controller.state())
            await asyncio.get_event_loop().run_in_executor(None, save_session, session, path)
        except (QueryFailed, SessionError, OSError) as exc:
            w.banner.show_message(f"Could not save the session: {exc}")
            return False
        self.remember(str(path))
        w.statusBar().showMessage(f"Saved the session (step {session.step:,}) to {path}", 5000)
        return True

    async def open(self, path: str | Path) -> bool:
        """Read a session off the GUI thread; a bad file gives a message and changes nothing."""
        w = self.w
        w.statusBar().showMessage(f"Opening {path}…")
        try:
            session = await asyncio.get_event_loop().run_in_executor(None, load_session, path, tuple(w.labs))
        except SessionError as exc:
            w.banner.show_message(f"Could not open the session: {exc}")
            w.statusBar().clearMessage()
            return False
        self.remember(str(path))
        return self.start(session)

    def start(self, session: Session) -> bool:
        """Open the session's lab with its settings; its state and history continue at the build."""
        w = self.w
        try:
            values = self.run.open_session(session)
        except SettingError as exc:
            w.banner.show_message(f"Could not open the session: {exc}")
            return False
        w.bar.seed.setValue(session.seed)
        w.lecture.show_caption(session.title, session.caption)
        w.open_lab_with(session.lab, values)
        return True

    # -- recent files ------------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.w.settings_store.value("recent_sessions", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, path: str) -> None:
        if Path(path) == autosave_path():
            return
        recent = [p for p in self.recent() if p != path]
        self.w.settings_store.setValue("recent_sessions", [path, *recent][:RECENT_MAX])

    def fill_recent_menu(self, menu) -> None:
        menu.clear()
        recent = self.recent()
        if not recent:
            menu.addAction("(none yet)").setEnabled(False)
        for path in recent:
            act = menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: asyncio.ensure_future(self.open(p)))

    # -- autosave and crash restore ------------------------------------------------------------------------
    async def autosave(self) -> bool:
        """Save the running session to the autosave file when it has trained since the last time.
        The file goes when the window closes normally: found at start-up, it means a crash or kill."""
        run = self.run
        if self.autosaving or run.lab is None or run.step <= 0 or run.step == self.autosaved_step:
            return False
        self.autosaving = True
        try:
            autosave_path().parent.mkdir(parents=True, exist_ok=True)
            ok = await self.save(autosave_path())
            if ok:
                self.autosaved_step = run.step
            return ok
        finally:
            self.autosaving = False

    def offer_crash_restore(self) -> None:
        path = autosave_path()
        if not path.is_file():
            return
        self.w.banner.show_message(
            f"genviz did not close normally last time. An autosaved session from "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(path.stat().st_mtime))} is available.",
            level="info", action=("Restore it", lambda: asyncio.ensure_future(self.open(path))))

    def closed_normally(self) -> None:
        autosave_path().unlink(missing_ok=True)  # a normal exit: nothing to restore next time
