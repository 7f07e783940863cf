"""File ▸ Save/Open session, Recent sessions, the minute autosave and the offer to restore it after
a crash. Files are read and written off the GUI thread; a bad file gives a message and changes nothing:
it is read and checked, then its run is built by the worker next to the running one, and only then
does the window switch to it.

Autosave: each window has its own file, named by a random id (``autosave-ID.genviz``), and holds a
kernel lock on ``…genviz.lock`` (flock, or msvcrt on Windows, through ``filelock``): the operating
system drops it when its holder dies, whatever PID the next genviz gets (named after the PID, with
Qt's PID-based lock file, a genviz that got the crashed one's PID, as it always does in a container,
took the crashed run's file for its own, overwrote it and deleted it). A window never writes an
autosave whose lock it does not hold. At start-up a file whose lock nobody holds is the run of a
genviz that crashed or was killed: it is offered for restoring once (and locked while offered, so a
second window does not offer it too), then kept as ``kept-ID.genviz`` (File ▸ Open reads it). The
newest KEEP_AUTOSAVES kept files stay; older ones go after KEEP_DAYS, and past MAX_AUTOSAVES at once,
and the window says so (killed windows piled up 35 files, 311 MB, never deleted). A normal close
deletes this window's file only when the worker was healthy, i.e. the user could have saved; after a
lost worker it stays."""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

from filelock import FileLock, Timeout
from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog

from genviz.core.session import SUFFIX, Session, SessionError, load_session, save_session
from genviz.ui.engine_bridge import QueryFailed

AUTOSAVE_SECONDS = float(os.environ.get("GENVIZ_AUTOSAVE_SECONDS", "60"))
RECENT_MAX = 8
KEEP_AUTOSAVES = 3  # the newest autosaves of crashed or killed runs always kept
KEEP_DAYS = 7.0  # older ones than the newest few go after this many days ...
MAX_AUTOSAVES = 10  # ... and at once past this many
KEPT = "kept-"  # an orphaned autosave after its one offer


def state_dir() -> Path:
    """Where the autosave lives (``$GENVIZ_STATE_DIR``, else the platform's app config folder)."""
    env = os.environ.get("GENVIZ_STATE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation) or Path.home() / ".genviz")


def autosave_path(instance: str | None = None) -> Path:
    """An autosave file: ``autosave-ID.genviz``, ID random (a PID repeats across restarts in a container)."""
    return state_dir() / f"autosave-{instance or uuid.uuid4().hex[:12]}{SUFFIX}"


def _try_lock(path: Path) -> FileLock | None:
    """The kernel lock of an autosave, held by the caller from now on; None when someone alive holds it."""
    lock = FileLock(str(path) + ".lock", timeout=0, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return None
    return lock


def _unlock(lock: FileLock | None, remove: bool = False) -> None:
    if lock is None:
        return
    lock.release(force=True)
    if remove:
        Path(lock.lock_file).unlink(missing_ok=True)


def orphaned_autosaves(exclude: Path | None = None) -> list[tuple[Path, FileLock]]:
    """Autosaves whose genviz is gone, newest first, each with its lock now held by the caller."""
    folder = state_dir()
    found = []
    candidates = sorted(folder.glob(f"autosave*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True) \
        if folder.is_dir() else []
    for path in candidates:
        if path == exclude or not path.is_file():
            continue
        lock = _try_lock(path)
        if lock is not None:
            found.append((path, lock))
    return found


def tidy_autosaves(exclude: Path | None = None, now: float | None = None
                   ) -> tuple[tuple[Path, FileLock] | None, list[Path], int, int]:
    """Autosaves of crashed or killed runs, offered once: the newest orphan not offered before (its
    lock held by the caller, or None), each such orphan renamed ``kept-ID.genviz`` so no later start
    offers it again; then the kept files past the newest KEEP_AUTOSAVES deleted when older than
    KEEP_DAYS or beyond MAX_AUTOSAVES. Returns (offer, the kept files left, files deleted, bytes freed).
    One window tidies at a time (a folder lock); another gets nothing to do."""
    folder = state_dir()
    if not folder.is_dir():
        return None, [], 0, 0
    tidy = _try_lock(folder / "tidy")
    if tidy is None:
        return None, [], 0, 0
    try:
        offer = None
        for path, lock in orphaned_autosaves(exclude=exclude):
            kept = path.with_name(KEPT + path.name.removeprefix("autosave-"))
            try:
                path.replace(kept)
            except OSError:
                _unlock(lock)
                continue
            _unlock(lock, remove=True)
            if offer is None:  # the newest: held while offered
                held = _try_lock(kept)
                offer = (kept, held) if held is not None else None
        now = time.time() if now is None else now
        kept_files = sorted(folder.glob(f"{KEPT}*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        deleted = freed = 0
        for i, path in enumerate(kept_files):
            if i < KEEP_AUTOSAVES or (offer is not None and path == offer[0]):
                continue
            age_days = (now - path.stat().st_mtime) / 86400
            if age_days > KEEP_DAYS or i >= MAX_AUTOSAVES:
                lock = _try_lock(path)
                if lock is None:  # another window has it open for restoring
                    continue
                freed += path.stat().st_size
                path.unlink(missing_ok=True)
                _unlock(lock, remove=True)
                deleted += 1
        left = [p for p in kept_files if p.exists()]
        return offer, left, deleted, freed
    finally:
        _unlock(tidy, remove=False)


def own_autosave() -> tuple[Path, FileLock | None]:
    """A fresh autosave name whose lock this window holds (None if none could be had: then nothing is autosaved)."""
    state_dir().mkdir(parents=True, exist_ok=True)
    for _ in range(8):
        path = autosave_path()
        if path.exists():
            continue
        lock = _try_lock(path)
        if lock is not None:
            return path, lock
    return autosave_path(), None


class SessionActions:
    def __init__(self, window):
        self.w = window
        self.autosaved_step = -1
        self.autosaving = False
        try:
            self.autosave_file, self.autosave_lock = own_autosave()
        except OSError:  # a read-only state folder: no autosave, and no crash restore to offer
            self.autosave_file, self.autosave_lock = autosave_path(), None
        self.offered: list[tuple[Path, FileLock]] = []  # orphaned autosaves this window holds

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

    def script_dialog(self) -> None:
        """File ▸ Export as script…: the run as a plain PyTorch script (.py) or notebook (.ipynb)."""
        path, chosen = QFileDialog.getSaveFileName(self.w, "Export as script", f"{self.run.lab}.py",
                                                   "Python script (*.py);;Jupyter notebook (*.ipynb)")
        if path:
            if not path.endswith((".py", ".ipynb")):
                path += ".ipynb" if "ipynb" in chosen else ".py"
            asyncio.ensure_future(self.export_script(path))

    async def export_script(self, path: str | Path) -> bool:
        """Write the running session as a script: its output reproduces the run's metric rows (genviz.core.script)."""
        from genviz.core.script import ScriptError, export_script

        w = self.w
        fmt = "ipynb" if str(path).endswith(".ipynb") else "py"
        try:
            session = w.controller.lost_session() or self.run.to_session(await w.controller.state())
            text = await asyncio.get_event_loop().run_in_executor(None, export_script, session, fmt)
            await asyncio.get_event_loop().run_in_executor(None, Path(path).write_text, text)
        except (QueryFailed, ScriptError, OSError) as exc:
            w.banner.show_message(f"Could not export the run as a script: {exc}")
            return False
        w.statusBar().showMessage(f"Wrote the run (step {session.step:,}) as a script: {path} "
                                  f"(python {Path(path).name} prints its metric rows)", 8000)
        return True

    # -- saving and opening ------------------------------------------------------------------------------
    async def save(self, path: str | Path) -> bool:
        w = self.w
        try:
            # a lost worker cannot be asked for its state: its last checkpoint is saved instead
            session = w.controller.lost_session() or self.run.to_session(await w.controller.state())
            await asyncio.get_event_loop().run_in_executor(None, save_session, session, path)
        except (QueryFailed, SessionError, OSError) as exc:
            w.banner.show_message(f"Could not save the session: {exc}")
            return False
        self.remember(str(path))
        w.statusBar().showMessage(f"Saved the session (step {session.step:,}) to {path}", 5000)
        return True

    async def open(self, path: str | Path) -> bool:
        """Read and check a session off the GUI thread, have the worker build its run next to the
        running one, then switch to it. A bad file gives a message and changes nothing; a session
        joins Recent sessions only once it opened."""
        w = self.w
        w.statusBar().showMessage(f"Opening {path}…")
        try:
            session = await asyncio.get_event_loop().run_in_executor(None, load_session, path, tuple(w.labs))
        except SessionError as exc:
            w.banner.show_message(f"Could not open the session: {exc}")
            w.statusBar().clearMessage()
            return False
        ok = await self.start(session, Path(path).name)
        w.statusBar().clearMessage()
        if ok:
            self.remember(str(path))
        return ok

    async def start(self, session: Session, name: str = "the session") -> bool:
        """Open the session's lab with its settings; its state and history continue at the build."""
        w = self.w
        if not w.model_code.session_allowed(session, name) or not await w.controller.open_session(session, name):
            return False
        values = self.run.values_of(session.lab)
        w.lecture.show_caption(session.title, session.caption)
        w.training.open_lab_with(session.lab, values)
        return True

    # -- recent files ------------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.w.settings_store.value("recent_sessions", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, path: str) -> None:
        if Path(path).name.startswith("autosave") and Path(path).parent == state_dir():
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
        if self.autosave_lock is None or not self.autosave_lock.is_locked:
            return False  # never write over a file whose lock this window does not hold
        self.autosaving = True
        try:
            self.autosave_file.parent.mkdir(parents=True, exist_ok=True)
            ok = await self.save(self.autosave_file)
            if ok:
                self.autosaved_step = run.step
            return ok
        finally:
            self.autosaving = False

    def offer_crash_restore(self) -> None:
        """Offer, once, the newest autosave of a genviz that did not close normally (none running holds
        it); keep the newest few such files, delete the old rest, and say so."""
        try:
            offer, kept, deleted, freed = tidy_autosaves(exclude=self.autosave_file)
        except OSError as exc:  # a read-only or vanished state folder: nothing to offer
            self.w.statusBar().showMessage(f"Could not look for autosaves: {exc}", 6000)
            return
        self.offered = [offer] if offer is not None else []
        gone = (f" Deleted {deleted} older autosave{'s' if deleted != 1 else ''} ({freed / 1e6:.0f} MB) of such runs."
                if deleted else "")
        if offer is None:
            if deleted:
                self.w.statusBar().showMessage(gone.strip() + f" The newest {len(kept)} are kept in {state_dir()}.", 10000)
            return
        path = offer[0]
        others = len(kept) - 1
        more = (f" It is offered once; it and {others} more are kept in {state_dir()} (File ▸ Open)" if others
                else f" It is offered once, then kept in {state_dir()} (File ▸ Open)")
        self.w.banner.show_message(
            f"A genviz run did not close normally. Its autosaved session from "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(path.stat().st_mtime))} is available.{more}.{gone}",
            level="info", action=("Restore it", lambda: asyncio.ensure_future(self.restore(path))))

    async def restore(self, path: Path) -> bool:
        """Open an orphaned autosave; once it runs here (and autosaves to this window's file), it goes."""
        ok = await self.open(path)
        if ok:
            for i, (p, lock) in enumerate(self.offered):
                if p == path:
                    path.unlink(missing_ok=True)
                    _unlock(lock, remove=True)
                    del self.offered[i]
                    break
        return ok

    def closed_normally(self, keep: bool = False) -> None:
        """A normal exit: this window's autosave goes, unless ``keep`` (the worker was lost, so the
        user could not save: the autosave is all that is left of the run). Offered orphans stay."""
        if not keep and self.autosave_lock is not None and self.autosave_lock.is_locked:
            self.autosave_file.unlink(missing_ok=True)
        _unlock(self.autosave_lock, remove=not keep)
        for _, lock in self.offered:
            _unlock(lock)
