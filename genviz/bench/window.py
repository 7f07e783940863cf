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
    theme.apply_theme("light")
    w = MainWindow(engine_kind=engine, lab=lab, data=data, overrides=overrides)
    w.resize(1560, 960)
    w.show()
    panel = w.panel()
    pump(app, ready_timeout, until=lambda: bool(panel.static))
    return app, w, panel


def pump(app, seconds: float, until=None) -> None:
    """Run the Qt event loop for a while (or until a condition holds)."""
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end and not (until and until()):
        app.processEvents()
        time.sleep(0.0005)
