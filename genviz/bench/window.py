"""The real main window for the live benchmarks: opened offscreen (unless a display is set),
sized like a projector screen, with the lab's worker started and ready."""
from __future__ import annotations

import os
import time


def open_lab_window(lab: str, engine: str = "process", data: str | None = None, overrides: dict | None = None,
                    ready_timeout: float = 120.0):
    """-> (app, window, panel) once the worker has sent the lab's static info."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    from PySide6.QtWidgets import QApplication

    from genviz.ui import theme
    from genviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    event_loop(app)  # as in the app: the window's queries are coroutines on a qasync loop
    theme.apply_theme("light")
    w = MainWindow(engine_kind=engine, lab=lab, data=data, overrides=overrides)
    w.resize(1560, 960)
    w.show()
    w.bar.set_speed(0)  # unlimited: the benchmarks compare live training with headless at full speed
    panel = w.panel()
    pump(app, ready_timeout, until=lambda: bool(panel.static))
    return app, w, panel


def event_loop(app):
    """The qasync loop over ``app`` (made once, set as asyncio's loop): the real app runs on one, and
    a panel's queries only get answered while it runs."""
    import asyncio

    import qasync

    global _loop
    if _loop is None:
        _loop = qasync.QEventLoop(app, already_running=False)
        asyncio.set_event_loop(_loop)
    return _loop


_loop = None


def pump(app, seconds: float, until=None) -> None:
    """Run the event loop (Qt's, through qasync) for a while, or until a condition holds."""
    import asyncio

    async def wait():
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end and not (until and until()):
            await asyncio.sleep(0.01)

    event_loop(app).run_until_complete(wait())
