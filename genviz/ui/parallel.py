"""Parallel coordinates of a comparison's runs: one vertical axis per varied setting and per final metric, one line
per run coloured by a chosen metric; drag a range on an axis (a brush) to keep only the runs inside it, as many axes
as you like. Exports PNG, SVG and the table as CSV (with the brushes' selection). The axes and the brushing are
genviz.core.parallel; here only drawing and the mouse."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QPushButton, QVBoxLayout,
                               QWidget)

from genviz.core.parallel import Axis, brushed, csv_text, parallel_axes
from genviz.ui import theme

FADED = (150, 150, 150, 45)


class ParallelPlot(pg.PlotWidget):
    """The axes at x = 0, 1, …; each run a polyline through its scaled values; a brush per axis."""

    selectionChanged = Signal()

    def __init__(self, axes: list[Axis], ids: list[str], parent=None):
        super().__init__(parent)
        self.axes, self.ids = axes, ids
        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideButtons()
        vb = item.getViewBox()
        vb.setMenuEnabled(False)
        vb.setMouseEnabled(False, False)
        theme.register_plot(self)
        self.setRange(xRange=(-0.75, len(axes) - 0.5), yRange=(-0.12, 1.08), padding=0)  # room for the first ticks
        bottom = item.getAxis("bottom")
        bottom.setTicks([[(i, a.name + (" (log)" if a.log else "")) for i, a in enumerate(axes)]])
        ink = theme.colors()["text"]
        self.brushes: dict[str, pg.LinearRegionItem] = {}
        for i, a in enumerate(axes):
            self.addItem(pg.PlotCurveItem([i, i], [0, 1], pen=pg.mkPen(ink, width=1.5)))
            for pos, text in a.ticks():
                label = pg.TextItem(text, color=ink, anchor=(1.05, 0.5))
                label.setPos(i, pos)
                self.addItem(label)
            kind = pg.TextItem("metric" if a.kind == "metric" else "setting", color=theme.colors()["muted"],
                               anchor=(0.5, 0))
            kind.setPos(i, -0.03)
            self.addItem(kind)
        self.lines: list[pg.PlotCurveItem] = []
        x = np.arange(len(axes), dtype=float)
        self.scaled = np.stack([a.scaled() for a in axes], 1) if axes else np.zeros((len(ids), 0))
        for row in self.scaled:
            line = pg.PlotCurveItem(x, np.nan_to_num(row, nan=-0.08), connect="finite")
            line.setZValue(1)
            self.addItem(line)
            self.lines.append(line)
        self.color_by: int | None = None
        self.keep = np.ones(len(ids), dtype=bool)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.recolor()

    # -- brushes -----------------------------------------------------------------------------------------------
    def _clicked(self, event) -> None:
        """A double click on an axis adds a brush there (its whole range, to narrow by its edges) or removes it."""
        if not event.double():
            return
        p = self.getPlotItem().getViewBox().mapSceneToView(event.scenePos())
        i = int(round(p.x()))
        if 0 <= i < len(self.axes) and abs(p.x() - i) < 0.3:
            name = self.axes[i].name
            if name in self.brushes:
                self.remove_brush(name)
            else:
                lo = max(0.0, min(1.0, p.y() - 0.15))
                self.set_brush(name, (lo, min(1.0, lo + 0.3)))

    def set_brush(self, name: str, span: tuple[float, float]) -> None:
        i = [a.name for a in self.axes].index(name)
        if name not in self.brushes:
            region = pg.LinearRegionItem(values=span, orientation="horizontal",
                                         brush=pg.mkBrush(31, 111, 235, 60), pen=pg.mkPen("#1f6feb", width=2))
            region.setZValue(5)
            region.sigRegionChanged.connect(lambda *_: self.apply())
            self.addItem(region)
            self._place(region, i)
            self.brushes[name] = region
        else:
            self.brushes[name].setRegion(span)
        self.apply()

    def _place(self, region: pg.LinearRegionItem, i: int) -> None:
        """The brush spans ±0.15 axis widths around axis i (setSpan takes fractions of the view's width, whose x
        range is −½ … n − ½)."""
        width = max(len(self.axes), 1) + 0.25  # the view's x range: −0.75 … n − ½
        region.setSpan(max(0.0, (i + 0.6) / width), min(1.0, (i + 0.9) / width))

    def remove_brush(self, name: str) -> None:
        region = self.brushes.pop(name, None)
        if region is not None:
            self.removeItem(region)
            self.apply()

    def clear_brushes(self) -> None:
        for name in list(self.brushes):
            self.removeItem(self.brushes.pop(name))
        self.apply()

    def spans(self) -> dict[str, tuple[float, float]]:
        return {name: tuple(float(v) for v in region.getRegion()) for name, region in self.brushes.items()}

    def apply(self) -> None:
        self.keep = brushed(self.axes, self.spans()) if self.axes else np.ones(len(self.ids), dtype=bool)
        self.recolor()
        self.selectionChanged.emit()

    # -- colours -----------------------------------------------------------------------------------------------
    def recolor(self) -> None:
        cmap = pg.colormap.get("viridis")
        values = self.scaled[:, self.color_by] if self.color_by is not None and len(self.axes) else None
        for j, line in enumerate(self.lines):
            if not self.keep[j]:
                line.setPen(pg.mkPen(FADED, width=1))
                line.setZValue(1)
                continue
            if values is not None and np.isfinite(values[j]):
                color = cmap.map(float(values[j]), mode="qcolor")
            else:
                color = pg.mkColor(theme.CURVE_COLORS[0])
            line.setPen(pg.mkPen(color, width=2.2))
            line.setZValue(2)


class ParallelWindow(QMainWindow):
    """Parallel coordinates of a comparison folder (or of a compare view's runs): the plot, what the brushes keep,
    and the exports."""

    def __init__(self, manifest: dict, title: str = "", parent=None):
        super().__init__(parent)
        self.manifest = manifest
        self.axes, self.ids = parallel_axes(manifest)
        self.setWindowTitle(f"Parallel coordinates: {title or manifest.get('title') or manifest.get('lab', '')}")
        self.plot = ParallelPlot(self.axes, self.ids)
        self.count = QLabel()
        self.color_key = QLabel()
        self.color_box = QComboBox()
        self.color_box.addItem("one colour")
        for a in self.axes:
            self.color_box.addItem(f"colour by {a.name}")
        metrics = [i for i, a in enumerate(self.axes) if a.kind == "metric"]
        self.color_box.currentIndexChanged.connect(self._color_by)
        if metrics:
            self.color_box.setCurrentIndex(metrics[0] + 1)
        clear = QPushButton("Clear brushes")
        clear.clicked.connect(self.plot.clear_brushes)
        buttons = QHBoxLayout()
        buttons.addWidget(self.color_box)
        buttons.addWidget(self.color_key)
        buttons.addWidget(clear)
        for text, fmt in (("PNG…", "png"), ("SVG…", "svg"), ("CSV…", "csv")):
            b = QPushButton(f"Export {text}")
            b.clicked.connect(lambda _=False, f=fmt: self.export_dialog(f))
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.count)
        hint = QLabel("Double-click an axis to brush it (drag the band's edges to narrow it; double-click again to "
                      "remove it); a run is kept when it lies inside every brush.")
        hint.setWordWrap(True)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addLayout(buttons)
        lay.addWidget(self.plot, 1)
        lay.addWidget(hint)
        self.setCentralWidget(body)
        self.plot.selectionChanged.connect(self._count)
        self.resize(1200, 640)
        self._count()

    def _color_by(self, index: int) -> None:
        self.plot.color_by = None if index <= 0 else index - 1
        self.plot.recolor()
        self.color_key.setText("" if index <= 0 else f"{self.axes[index - 1].name}: yellow high, purple low "
                               "(viridis)")

    def _count(self) -> None:
        kept = int(self.plot.keep.sum())
        self.count.setText(f"{kept} of {len(self.ids)} runs kept" + (" (no brush)" if not self.plot.brushes else ""))

    def kept_ids(self) -> list[str]:
        return [i for i, k in zip(self.ids, self.plot.keep) if k]

    def export_dialog(self, fmt: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export the parallel coordinates as {fmt.upper()}",
                                              f"parallel.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export(path, fmt)

    def export(self, path: str | Path, fmt: str | None = None) -> Path:
        """PNG (twice the screen's resolution), SVG, or CSV of every run with its axes' values and whether the
        brushes keep it."""
        path = Path(path)
        fmt = fmt or path.suffix.lstrip(".").lower()
        if fmt == "csv":
            path.write_text(csv_text(self.axes, self.ids, self.plot.keep), encoding="utf-8")
        else:  # the app's view exports (Qt's painters: pyqtgraph's SVG exporter fails on recent Qt's paths)
            from genviz.ui.export import view_png, view_svg

            (view_svg if fmt == "svg" else view_png)(self.plot, path)
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return path


def open_parallel(folder: str | Path, parent=None) -> ParallelWindow:
    """Parallel coordinates of a comparison folder's runs (all of them: no sessions are read). InputError for a bad
    folder."""
    from genviz.core.compare import load_manifest
    from genviz.core.labs import all_labs

    manifest = load_manifest(folder, tuple(all_labs()))
    return ParallelWindow(manifest, title=manifest.get("title") or Path(folder).name, parent=parent)
