"""The Export menu: a view as PNG (2x) or SVG, the timeline of a view as GIF/MP4, the window as
PNG, the metric curves as CSV (the drawing itself is genviz.ui.export)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from genviz.ui import export


class ExportActions:
    def __init__(self, window):
        self.w = window

    @property
    def lab(self) -> str:
        return self.w.controller.run.lab

    def fill_view_menu(self, menu, kind: str) -> None:
        menu.clear()
        panel = self.w.panel()
        views = panel.views() if panel is not None else {}
        if kind == "animation":
            views = {"whole lab": panel, **views} if panel is not None else {}
        for name, widget in views.items():
            act = menu.addAction(name)
            act.triggered.connect(lambda _=False, n=name, v=widget: self.dialog(kind, n, v))

    def dialog(self, kind: str, name: str, widget) -> None:
        w, slug = self.w, name.replace(" ", "-")
        if kind == "animation":
            path, _ = QFileDialog.getSaveFileName(w, "Export the timeline", f"{self.lab}-{slug}.gif",
                                                  "Animated GIF (*.gif);;MP4 video (*.mp4)")
            if not path:
                return
            fps, ok = QInputDialog.getInt(w, "Frame rate", "Frames per second:", 10, 1, 60)
            if not ok:
                return
            width, ok = QInputDialog.getInt(w, "Size", "Width in pixels (height keeps the aspect):",
                                            max(200, widget.width()), 64, 4096)
            if ok:
                self.timeline(widget, path, fps=fps, width=width)
            return
        path, _ = QFileDialog.getSaveFileName(w, f"Export {name}", f"{self.lab}-{slug}.{kind}",
                                              "PNG image (*.png)" if kind == "png" else "SVG drawing (*.svg)")
        if path:
            self.run_export(lambda: export.view_png(widget, path, scale=2) if kind == "png"
                            else export.view_svg(widget, path), path)

    def timeline(self, widget, path: str, fps: int = 10, width: int | None = None, max_frames: int = 300) -> None:
        """The recorded history of ``widget`` as a GIF or MP4; the views come back to where they were."""
        w = self.w
        history = w.controller.run.history
        if not len(history):
            w.banner.show_message("Nothing to export yet: the timeline is empty (press Play first).")
            return
        was_live, index = w.timeline.live, w.timeline.index
        try:
            self.run_export(lambda: export.timeline_animation(w.panel(), widget, history, path, fps=fps,
                                                              width=width, max_frames=max_frames), path)
        finally:
            w.timeline_actions.show_live() if was_live else w.timeline_actions.show_frame(index)

    def window_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Export the window", f"{self.lab}-window.png", "PNG image (*.png)")
        if path:
            self.run_export(lambda: export.window_png(self.w, path), path)

    def csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Export the metric curves", f"{self.lab}-metrics.csv", "CSV (*.csv)")
        if path:
            self.run_export(lambda: Path(path).write_text(self.w.controller.run.history.metrics_csv()), path)

    def run_export(self, action, path: str) -> bool:
        try:
            action()
        except (export.ExportError, OSError) as exc:
            self.w.banner.show_message(f"Export failed: {exc}")
            return False
        self.w.statusBar().showMessage(f"Exported {path}", 5000)
        return True
