"""The compare view's shared curves and table: two plots that overlay one metric of every run (a group of
seeds as its mean with a band of ± one standard deviation), a legend, and each group's final metrics."""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from genviz.core.compare import final_stats, last_values, mean_band
from genviz.core.numbers import decimals_for
from genviz.ui import theme
from genviz.ui.plots import StepAxis, make_plot


class CompareCurves(QWidget):
    """Draws what ``owner`` (the CompareWindow) holds: its runs, their seed groups, labels and colours."""

    def __init__(self, owner):
        super().__init__()
        self.owner = owner
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.RichText)
        self.legend.setWordWrap(True)
        self.plots, self.metric_boxes = [], []
        self._seen: dict[int, tuple] = {}  # per plot: the rows and metric it last drew
        self._items: dict[tuple, tuple] = {}  # per (plot, metric, group): its line, band edges and band
        self._table_seen = None
        plots_row = QHBoxLayout()
        for _ in range(2):
            box = QComboBox()
            box.setToolTip("The metric this plot overlays for every run")
            plot = make_plot("", "step", "")
            plot.getPlotItem().setAxisItems({"bottom": StepAxis("bottom")})
            plot.setLabel("bottom", "step")
            box.currentIndexChanged.connect(lambda _=0: self.refresh_curves(force=True))
            col = QVBoxLayout()
            col.addWidget(box)
            col.addWidget(plot, 1)
            plots_row.addLayout(col, 1)
            self.plots.append(plot)
            self.metric_boxes.append(box)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(90)  # the header and a few groups without scrolling
        self.table.setMaximumHeight(160)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.legend)
        lay.addLayout(plots_row, 3)
        lay.addWidget(self.table, 1)

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for run in self.owner.runs:
            for k in run.history.metrics():
                if k != "step" and k not in names:
                    names.append(k)
        return names

    def refresh(self) -> None:
        """The metric choices, then the plots and the table, one piece per event-loop turn (each a few ms;
        together a late frame)."""
        names = self.metric_names()
        # by default the series of the lab's own curve plots, in its order (a GAN's losses, a VAE's ELBO)
        preferred = [k for c in self.owner.columns[:1] for p in c["panel"].curve_plots() for k in p.buffers
                     if k in names]
        defaults = list(dict.fromkeys(preferred + names))
        for i, box in enumerate(self.metric_boxes):
            if [box.itemText(j) for j in range(box.count())] != names:
                current = box.currentText()
                box.blockSignals(True)
                box.clear()
                box.addItems(names)
                pick = current if current in names else (defaults[min(i, len(defaults) - 1)] if defaults else "")
                box.setCurrentText(pick)
                box.blockSignals(False)
        for i in range(len(self.plots)):
            QTimer.singleShot(4 * (i + 1), lambda i=i: self.refresh_plot(i))
        rows = (self._rows_seen(), tuple(names))
        if rows != self._table_seen:
            self._table_seen = rows
            QTimer.singleShot(4 * (len(self.plots) + 1), lambda: self.refresh_table(names))

    def _rows_seen(self) -> tuple:
        return tuple((id(r), len(r.history.metrics().get("step", ()))) for r in self.owner.runs)

    def refresh_curves(self, force: bool = False) -> None:
        for p in range(len(self.plots)):
            self.refresh_plot(p, force)

    def refresh_plot(self, p: int, force: bool = False) -> None:
        """Plot ``p``: each group's curve (one seed) or mean and band (several). The items are made once per
        metric and group and then only given new data; nothing is done when no run has new rows."""
        plot, box = self.plots[p], self.metric_boxes[p]
        metric = box.currentText()
        seen = (self._rows_seen(), metric)
        if not force and self._seen.get(p) == seen:
            return
        self._seen[p] = seen
        groups, colors, items = self.owner.groups(), self.owner.colors(), self._items
        keys = [(p, metric, tuple(id(r) for r in g)) for g in groups]
        if [k for k in items if k[0] == p] != keys:  # another metric or other groups: new items
            plot.clear()
            for k in [k for k in items if k[0] == p]:
                del items[k]
            plot.setTitle(metric, size=theme.title_size())
            for key, g in zip(keys, groups):
                color = colors[id(g[0])]
                shade = pg.mkColor(color)
                shade.setAlpha(60)
                lo, hi = pg.PlotDataItem([], [], pen=pg.mkPen(None)), pg.PlotDataItem([], [], pen=pg.mkPen(None))
                band = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(shade))
                plot.addItem(band)
                items[key] = (plot.plot([], [], pen=pg.mkPen(color, width=2)), lo, hi, band)
        if metric:
            for key, g in zip(keys, groups):
                line, lo, hi, band = items[key]
                curves = [(m["step"], m[metric]) for m in (r.history.metrics() for r in g)
                          if metric in m and "step" in m and len(m["step"])]
                if len(curves) == 1:
                    x, y = np.asarray(curves[0][0], np.float64), np.asarray(curves[0][1], np.float64)
                    if len(x) > 2000:  # a few thousand points draw a curve as finely as the screen shows it
                        k = len(x) // 2000 + 1
                        x, y = x[::k], y[::k]
                    line.setData(x, y)
                    band.setVisible(False)
                    continue
                x, mean, std = mean_band(curves, points=400) if curves else (np.zeros(0),) * 3
                line.setData(x, mean)
                lo.setData(x, mean - std)
                hi.setData(x, mean + std)
                band.setVisible(len(x) > 0)
        if p == 0:
            self.refresh_legend()

    def refresh_legend(self) -> None:
        groups, labels, colors = self.owner.groups(), self.owner.group_labels(), self.owner.colors()
        entries = [f"<span style='color:{colors[id(g[0])]}; font-size:14pt'>━</span>&nbsp;{html.escape(label)}"
                   for g, label in zip(groups, labels)]
        band = " &nbsp; (lines: the mean over seeds; bands: ± one standard deviation)" \
            if any(len(g) > 1 for g in groups) else ""
        self.legend.setText(" &nbsp;&nbsp; ".join(entries) + band)

    def refresh_table(self, names: list[str]) -> None:
        groups, labels = self.owner.groups(), self.owner.group_labels()
        self.table.setColumnCount(3 + len(names))
        self.table.setHorizontalHeaderLabels(["runs", "seeds", "step", *names])
        self.table.setRowCount(len(groups))
        for i, (g, label) in enumerate(zip(groups, labels)):
            finals = [last_values(r.history.metrics()) for r in g]
            cells = [label, ", ".join(str(r.seed) for r in g), f"{min(r.step for r in g):,}"]
            for name in names:
                mean, std, n = final_stats([f.get(name) for f in finals])
                if n == 0:
                    cells.append("–")
                elif std is None or std == 0:
                    cells.append(f"{mean:.4g}")
                else:
                    d = decimals_for(std)
                    cells.append(f"{mean:.{d}f} ± {std:.{d}f}")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 0:
                    item.setToolTip("final value: the mean of the last 20 recorded rows; ± the standard deviation "
                                    "over the group's seeds")
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
