"""The families lab's views: one column of samples per family over the same data, the high-quality % and the test
NLL of each family over its own training time, and the table that ranks them (saved as CSV and Markdown)."""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QWidget

from genviz.core.family_table import LESSON_HQ, MEASURES, cell, csv_text, markdown, ranks
from genviz.core.numbers import estimate
from genviz.ui import theme
from genviz.ui.panel import LabPanel, column, row
from genviz.ui.plots import CurvePlot, keyed, lock_aspect, make_plot, move_points

COLORS = {"gan": "#D55E00", "flow": "#0072B2", "autoregressive": "#009E73", "vae": "#CC79A7",
          "diffusion": "#E69F00"}
LEGEND_NAMES = {"gan": "GAN", "vae": "VAE", "autoregressive": "AR"}  # short: legends under narrow plots
TITLE_SECONDS = 0.5  # each column's step count, read at a glance: a new title re-lays its plot (3-8 ms)
SHOWN_MEASURES = ("nll", "hq_percent", "modes", "lesson")  # the live table's (from the scorings); Score now: all


def family_color(f: str, i: int) -> str:
    return COLORS.get(f, theme.CURVE_COLORS[i % len(theme.CURVE_COLORS)])


def live_rows(families: list, snap: dict, unit: str, likelihood: dict | None = None) -> list[dict]:
    """The table's rows from a snapshot: each family's last scoring, its steps, training time and lesson time."""
    rows = []
    for f in families:
        last = {k: v for k, v in snap.get("scores", {}).get(f, {}).items() if k != "at"}
        took = snap.get("measured", {}).get(f, 0.0)
        steps = snap.get("steps", {}).get(f, 0)
        lesson = snap.get("lesson_at", {}).get(f, -1.0)
        r = {"family": f, "likelihood": (likelihood or {}).get(f, ""), "steps": steps, "steps_per_sec": steps / took if took > 0 else None,
             "lesson": lesson if lesson >= 0 else None, "lesson_unit": unit, **last}
        rows.append(r)
    return rows


class FamiliesPanel(LabPanel):
    MAIN_VIEW = "hq"

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.full_table: dict | None = None  # the last "Score now" answer
        self.last_t: dict = {}
        self.columns = QWidget()
        self.columns_layout = QHBoxLayout(self.columns)
        self.columns_layout.setContentsMargins(0, 0, 0, 0)
        # a column for every installed family (each a view with its card); a run shows those it trains
        self.plots: dict = {}
        self.items: dict = {}
        self.data_items: dict = {}
        self.mode_items: dict = {}
        from genviz.core.family_table import family_labs

        for i, f in enumerate(family_labs()):
            plot = make_plot(f, "x1", "x2")
            plot.setObjectName(f"samples-{f}")
            lock_aspect(plot)
            plot.setMinimumWidth(120)
            self.data_items[f] = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(150, 150, 150, 110))
            self.items[f] = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(family_color(f, i)))
            self.mode_items[f] = pg.ScatterPlotItem(size=12, brush=None, pen=pg.mkPen("#888888", width=1))
            for item in (self.data_items[f], self.items[f], self.mode_items[f]):
                plot.addItem(item)
            self.columns_layout.addWidget(plot, 1)
            self.plots[f] = plot
        self.hq = CurvePlot(keyed("High-quality %", "dotted: 80 %"), {}, y_label="% of samples within 3 σ")
        self.nll = CurvePlot(keyed("Test NLL", "dashed: the data's entropy"), {},
                             y_label="nats per point")
        self.hq.setYRange(0, 100, padding=0.02)
        self.hq.getPlotItem().getViewBox().enableAutoRange(y=False)
        from genviz.ui.plots import outside_legend

        self.legends = {}
        for plot, columns in ((self.hq, 3), (self.nll, 2)):  # the NLL's names are longer ("vae (bound)")
            self.legends[id(plot)] = outside_legend(plot, "below", columns=columns)
            plot.getPlotItem().legend = None  # entered by add_curve; off the view, so no headroom is kept for it
        self.hq._robust_y_range = lambda drawn: None  # a share: always 0–100 %
        for plot in (self.hq, self.nll):
            plot.setLabel("bottom", "training seconds of each family")
        self.hq.addItem(pg.InfiniteLine(pos=LESSON_HQ, angle=0, pen=pg.mkPen("#888888", width=1, style=Qt.DotLine)))
        self.entropy_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(theme.colors()["text"], width=2, style=Qt.DashLine))
        self.entropy_line.hide()
        self.nll.addItem(self.entropy_line)
        self.table = QLabel()
        self.table.setTextFormat(Qt.RichText)
        self.table.setWordWrap(True)
        self.table.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.score_button = QPushButton("Score now")
        self.score_button.setToolTip("Score every family now on the same test points: NLL, coverage, reverse KL of "
                                     "the modes and sampling cost (a few seconds on the worker)")
        self.score_button.clicked.connect(lambda: self.requestQuery.emit("table", {}))
        self.save_button = QPushButton("Save table…")
        self.save_button.setToolTip("The table as CSV (every measure and its SE) and Markdown")
        self.save_button.clicked.connect(self.save_table)
        table_box = column(row(self.score_button, self.save_button), (self.table, 1))
        bottom = QSplitter(Qt.Horizontal)
        for w in (self.hq, self.nll, table_box):
            bottom.addWidget(w)
        bottom.setSizes([560, 560, 480])
        self.arrange(self.columns, bottom, (470, 430))
        self.name_views({"hq": self.hq, "nll": self.nll})  # and each column "samples-FAMILY" (on_ready)

    def restyle(self) -> None:
        self.entropy_line.setPen(pg.mkPen(theme.colors()["text"], width=2, style=Qt.DashLine))

    # -- building ---------------------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()
        pts = np.asarray(info["data_points"])
        x0, x1, y0, y1 = info["extent"]
        for f, plot in self.plots.items():
            self.set_view_applies(plot, f in info["families"])
            self.data_items[f].setData(pts[:, 0], pts[:, 1])
            m = np.asarray(info["modes"]) if info.get("modes") is not None else np.zeros((0, 2))
            self.mode_items[f].setData(m[:, 0], m[:, 1])
            plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        for curves in (self.hq, self.nll):
            curves.clear_data()
            for key in list(curves.curves):
                item = curves.curves.pop(key)
                self.legends[id(curves)].removeItem(item)
                curves.removeItem(item)
                curves.buffers.pop(key)
            for i, f in enumerate(info["families"]):
                if curves is self.nll and info["likelihood"].get(f) == "none":
                    continue
                label = LEGEND_NAMES.get(f, f) + (" (bound)" if curves is self.nll and
                                                   info["likelihood"].get(f) == "bound" else "")
                self.add_curve(curves, f, label, family_color(f, i))
                self.legends[id(curves)].addItem(curves.curves[f], label)
        self.hq.setVisible(info.get("modes") is not None)
        if "entropy" in info:
            self.entropy_line.setValue(info["entropy"])  # NLL >= H(p_data) on average
            self.entropy_line.show()
            self.nll.reference_y = info["entropy"] - 0.3
        unit = "training seconds (each family)" if info["budget"] == "time" else "training steps (each family)"
        for plot in (self.hq, self.nll):
            plot.setLabel("bottom", unit)

    @staticmethod
    def add_curve(curves: CurvePlot, key: str, label: str, color: str) -> None:
        from genviz.ui.plots import CurveBuffer

        curves.curves[key] = curves.plot([], [], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                                         symbolBrush=color, symbolPen=None)
        curves.buffers[key] = CurveBuffer()
        curves.labels[key] = label

    # -- live and recorded ------------------------------------------------------------------------------------
    def extend_curves(self, rows: dict, frame) -> None:
        """A scoring's point once: rows repeat each family's last scoring (with its time t_FAMILY) until the next."""
        if not self.static or "step" not in rows:
            return
        for f in self.static["families"]:
            t = rows.get(f"t_{f}")
            if t is None:
                continue
            prev = np.concatenate([[self.last_t.get(f, np.nan)], t[:-1]])
            new = ~np.isnan(t) & ~(t == prev)
            if new.any():
                self.last_t[f] = float(t[~np.isnan(t)][-1])
            for key, curves in (("hq", self.hq), ("nll", self.nll)):
                values = rows.get(f"{key}_{f}")
                if values is not None and f in curves.curves:
                    ok = new & ~np.isnan(values)
                    if ok.any():
                        curves.append(f, t[ok], values[ok])

    def show_frame(self, frame, live: bool) -> None:
        if not self.static or not frame.data:
            return
        data = frame.data
        views = [lambda: self.at_most("the titles", TITLE_SECONDS, lambda: self._draw_titles(data))]
        if "samples" in data:
            views.append(lambda: self._draw_samples(data))
        views.append(lambda: self._draw_table(data))
        self.draw_in_turns(views)

    def clear(self) -> None:
        self.cancel_drawing()
        self.full_table = None
        self.last_t = {}  # each family's last scoring time appended to the curves
        for curves in (self.hq, self.nll):
            curves.clear_data()
        for item in self.items.values():
            item.clear()
        self.table.setText("")

    def on_reply(self, name: str, value) -> None:
        if name == "table" and isinstance(value, dict):
            self.full_table = value
            self._draw_table(None)

    # -- drawing ----------------------------------------------------------------------------------------------
    def _draw_titles(self, data: dict) -> None:
        """Each column's family with its steps (and training seconds): short, for columns a fifth of the window wide
        (how its likelihood is computed is in the NLL legend and the table)."""
        for f, plot in self.plots.items():
            steps = data["steps"].get(f, 0)
            when = f" · {data['spent'].get(f, 0.0):.0f} s" if self.static["budget"] == "time" else ""
            title = keyed(f, f"{steps:,} steps{when}")
            if plot.getPlotItem().titleLabel.text != title:
                plot.setTitle(title, size=theme.title_size())

    def _draw_samples(self, data: dict) -> None:
        for f, pts in data["samples"].items():
            if f in self.items:
                pts = np.asarray(pts)
                move_points(self.items[f], pts[:, 0], pts[:, 1])

    def current_rows(self, data: dict | None) -> list[dict]:
        if data is None and self.full_table is not None:
            return self.full_table["rows"]
        if data is None:
            data = self.shown[0] if self.shown else {}
        return live_rows(self.static["families"], data or {}, "s" if self.static["budget"] == "time" else "steps",
                         self.static["likelihood"])

    def _draw_table(self, data: dict | None) -> None:
        rows = self.current_rows(data)
        if not rows:
            return
        full = data is None and self.full_table is not None
        measures = [m for m in MEASURES if full or m[0] in SHOWN_MEASURES]
        if self.static.get("modes") is None:
            measures = [m for m in measures if m[0] not in ("hq_percent", "modes", "reverse_kl", "lesson")]
        order = ranks(rows)
        best = {key: set(order[key][0]) if order.get(key) else set() for key, _h, _b in measures}
        head = "".join(f"<th>{html.escape(h)}</th>" for _k, h, _b in measures)
        body = []
        for r in rows:
            cells = []
            for key, _h, _b in measures:
                text = html.escape(cell(r, key))
                cells.append(f"<td><b>{text}</b></td>" if r["family"] in best[key] and len(rows) > 1 else
                             f"<td>{text}</td>")
            body.append(f"<tr><td><b>{html.escape(r['family'])}</b></td>{''.join(cells)}</tr>")
        note = ("scored now on the same test points (Score now)" if full else
                f"each family's last scoring (every {self.static['interval']:g} "
                f"{'s' if self.static['budget'] == 'time' else 'steps'} of its training)")
        ent = ""
        if "entropy" in self.static:
            ent = (f" The data's entropy: {estimate(self.static['entropy'], self.static['entropy_se'])} nats "
                   "(no NLL can be lower).")
        self.table.setText(
            f"<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>"
            f"<tr><th>family</th>{head}</tr>{''.join(body)}</table>"
            f"<p>Bold: the best tier (families within 2 SE share it). From {note}.{ent} "
            f"The lesson: every mode covered, ≥ {LESSON_HQ:.0f} % of samples within 3 σ of one.</p>")

    def save_table(self) -> None:
        rows = self.current_rows(None)
        if not rows:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the families' table", "families.csv", "CSV (*.csv)")
        if not path:
            return
        from pathlib import Path

        out = Path(path).with_suffix(".csv")
        try:
            out.write_text(csv_text(rows), encoding="utf-8")
            ent = None if "entropy" not in self.static else (self.static["entropy"], self.static["entropy_se"])
            out.with_suffix(".md").write_text(markdown(rows, ent, self.static["name"]), encoding="utf-8")
        except OSError as exc:
            self.statusMessage.emit(f"Could not save the table: {exc.strerror or exc}")
            return
        self.statusMessage.emit(f"Saved {out.name} and {out.with_suffix('.md').name}")
