"""A run's views drawn off screen, for the Python API (``genviz.Run.image``, ``.animate``, a notebook's live figure):
the lab's own panel, fed the run's history as the window feeds it, rendered with the exports' renderer."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

WHOLE = "lab"  # the whole panel, as ``genviz export --view lab``


def ensure_app():
    """The QApplication: the one running (a notebook with ``%gui qt``, the window), or a new one on Qt's offscreen
    platform (nothing appears on screen, no display needed) in the light theme."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        from PySide6.QtCore import qInstallMessageHandler

        def quiet(_mode, _context, message: str) -> None:  # the offscreen platform's notice on every window shown
            if "propagateSizeHints" not in message:
                sys.stderr.write(message + "\n")

        qInstallMessageHandler(quiet)
        app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "genviz", "-platform", "offscreen"])
        from genviz.ui import theme

        theme.apply_theme("light")
    return app


class Renderer:
    """One lab's panel, never on screen, showing a run's history (``follow``), drawn into RGB arrays."""

    def __init__(self, info, size: tuple[int, int] = (1400, 900)):
        from PySide6.QtCore import Qt

        from genviz.core.labs import import_object

        ensure_app()
        self.info = info
        self.panel = import_object(info.panel)(info)
        self.panel.setAttribute(Qt.WA_DontShowOnScreen, True)  # laid out and drawn, never shown
        self.panel.resize(*size)
        self.panel.show()
        self.history, self.settings = None, {}
        self.fed: tuple | None = None  # (history, its first frame, the last row's step, the last frame's step) drawn

    def follow(self, static: dict, history, step: int, settings: dict) -> None:
        """The panel as the window would show the run at ``step``: the rows and frames recorded since the last call
        added, as the window adds a live snapshot's, or (another history, an earlier step) rebuilt from it."""
        from genviz.ui.export import ExportError, flush_views
        from genviz.ui.plots import deferred_redraws

        self.settings = dict(settings)
        frames = history.frames
        first = frames[0] if frames else None
        if self.fed is not None and self.fed[0] is history and self.fed[1] is first and step >= self.fed[3]:
            rows = history.metrics()
            new = rows.get("step", np.zeros(0)) > self.fed[2]
            fresh = [f for f in frames if f.step > self.fed[3]]
            with deferred_redraws():
                self.panel.extend_curves({k: v[new] for k, v in rows.items()} if new.any() else {}, None)
                for frame in fresh:
                    self.panel.extend_curves({}, frame)
                self.panel.redraw_curves()
            if fresh:
                self.panel.show_frame(fresh[-1], live=True)
        else:
            self.panel.rebuild(static, history, step)
        rows_step = history.metrics().get("step")
        self.history = history
        self.fed = (history, first, int(rows_step[-1]) if rows_step is not None and len(rows_step) else -1,
                    frames[-1].step if frames else -1)
        flush_views(self.panel)
        if self.panel.failures:
            self.fed = None
            raise ExportError(f"the run's frames cannot be drawn: {self.panel.failures[0]}")

    def view_names(self) -> list[str]:
        main = self.panel.main_view(self.settings)
        names = list(self.panel.views())
        return [main, *[n for n in names if n != main], WHOLE] if main in names else [*names, WHOLE]

    def widget(self, view: str | None):
        from genviz.ui.export import ExportError

        view = view or self.panel.main_view(self.settings) or WHOLE
        views = {WHOLE: self.panel, **self.panel.views()}
        if view not in views:
            raise ExportError(f"no view '{view}' in the {self.info.name} lab; views: {', '.join(self.view_names())}")
        return views[view]

    def draw(self, view: str | None, step: int | None = None, width: int | None = None,
             stamp: int | None = None) -> np.ndarray:
        """The view now (the last recorded frame), or at the recorded frame at or before ``step``, as RGB;
        ``stamp``: a step to write in its corner (a live figure)."""
        from genviz.ui.export import ExportError, flush_views, image_rgb, render, stamp_step

        widget = self.widget(view)
        if step is not None:
            if not len(self.history):
                raise ExportError("nothing is recorded yet: train first")
            self.panel.show_recorded(self.history.frame(self.history.index_at(int(step))))
            flush_views(self.panel)
        try:
            image = render(widget, (width / widget.width()) if width else 2.0)
        finally:
            if step is not None:
                self.panel.show_recorded(None)
        if stamp is not None:
            stamp_step(image, stamp)
        return image_rgb(image)

    def gif(self, view: str | None, fps: int, max_frames: int, width: int | None) -> tuple[bytes, int]:
        """Every recorded frame of the view (evenly thinned to ``max_frames``) as a looping GIF: (bytes, frames)."""
        from genviz.ui.export import ExportError, timeline_frames, write_gif

        if not 1 <= int(fps) <= 60 or not 1 <= int(max_frames) <= 10000:
            raise ExportError(f"an animation takes 1-60 frames a second and 1-10,000 frames (got {fps}, {max_frames})")
        widget = self.widget(view)
        with tempfile.TemporaryDirectory(prefix="genviz-gif-") as tmp:
            path = Path(tmp) / "run.gif"
            frames = write_gif(timeline_frames(self.panel, widget, self.history, width, int(max_frames)), path, int(fps))
            return path.read_bytes(), frames
