"""Drawing 2-D data by hand on a plot, shared by the labs that train on points: a "Draw data" toggle
(clicks and drags add points; the view stops panning meanwhile), the points shown as they are drawn,
and a "Train on N points" button that saves them (CSV in the data folder) and hands the file's path
to the lab, which resets on it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QPushButton

MIN_POINTS = 10


class PointDrawer(QObject):
    """Owns ``draw_button`` and ``use_button`` (put them in the panel's layout); ``use(path)`` is
    emitted with the saved file once the user asks to train on the drawing."""

    use = Signal(str)

    def __init__(self, plot: pg.PlotWidget, color: str = "#9467bd", parent=None, modes: bool = False):
        """``modes``: place the means of a Gaussian mixture instead (clicks only, 1 to 25 of them); the data
        handed over is then 'mixture:x,y;...' (genviz.data.toy2d), whose exact density every lab knows."""
        super().__init__(parent)
        self.plot, self.modes = plot, modes
        self.points: list[tuple[float, float]] = []
        self.item = pg.ScatterPlotItem(size=16 if modes else 7, pen=pg.mkPen(color, width=3) if modes else None,
                                       brush=None if modes else pg.mkBrush(color), symbol="+" if modes else "o")
        self.item.setZValue(20)
        plot.addItem(self.item)
        self.idle_text = "⊕ Place modes" if modes else "✎ Draw data"
        self.draw_button = QPushButton(self.idle_text)
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip("Click on the view to place the modes of a Gaussian mixture (up to 25); then "
                                    "'Train on N modes'" if modes else
                                    "Click or drag on the view to draw points; then 'Train on drawing'")
        self.draw_button.toggled.connect(self._on_mode)
        self.use_button = QPushButton("Train on modes" if modes else "Train on drawing")
        self.use_button.clicked.connect(self._use)
        self.use_button.setEnabled(False)
        for b in (self.draw_button, self.use_button):
            b.setFocusPolicy(Qt.NoFocus)
        plot.scene().sigMouseMoved.connect(self._on_drag)
        plot.scene().sigMouseClicked.connect(self._on_click)

    @property
    def drawing(self) -> bool:
        return self.draw_button.isChecked()

    def _on_mode(self, on: bool) -> None:
        self.plot.getPlotItem().getViewBox().setMouseEnabled(not on, not on)
        self.draw_button.setText(("⊕ Stop placing" if self.modes else "✎ Stop drawing") if on else self.idle_text)

    def add_point(self, x: float, y: float) -> None:
        if self.modes and len(self.points) >= 25:
            return
        self.points.append((x, y))
        pts = np.array(self.points)
        self.item.setData(pts[:, 0], pts[:, 1])
        self.use_button.setEnabled(len(self.points) >= (1 if self.modes else MIN_POINTS))
        self.use_button.setText(f"Train on {len(self.points)} {'modes' if self.modes else 'points'}")

    def _scene_to_view(self, pos):
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            return None
        p = vb.mapSceneToView(pos)
        return p.x(), p.y()

    def _on_click(self, event) -> None:
        if self.drawing and event.button() == Qt.LeftButton:
            p = self._scene_to_view(event.scenePos())
            if p is not None:
                self.add_point(*p)

    def _on_drag(self, pos) -> None:
        if self.drawing and not self.modes and QApplication.mouseButtons() & Qt.LeftButton:
            p = self._scene_to_view(pos)
            if p is not None and (not self.points or np.hypot(p[0] - self.points[-1][0], p[1] - self.points[-1][1]) > 0.02):
                self.add_point(*p)

    def _use(self) -> None:
        if self.modes:
            data = "mixture:" + ";".join(f"{np.clip(x, -10, 10):.2f},{np.clip(y, -10, 10):.2f}" for x, y in self.points)
        else:
            from genviz.data.download import user_data_dir
            from genviz.data.toy2d import save_drawn_points

            data = str(save_drawn_points(self.points, user_data_dir() / "drawn"))
        self.draw_button.setChecked(False)
        self.points = []
        self.item.setData([], [])
        self.use_button.setEnabled(False)
        self.use_button.setText("Train on modes" if self.modes else "Train on drawing")
        self.use.emit(data)
