"""The diffusion lab's views: samples over the data, the learned score field at time t beside the exact
one (over the exact noised density), reverse paths from the same noise under the SDE and the ODE, and
the training loss, the loss per time bin and the score error over t."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QSplitter

from genviz.core.numbers import estimate, reverse_kl_text
from genviz.ui import theme
from genviz.ui.drawing import PointDrawer
from genviz.ui.panel import LabPanel, column, row
from genviz.ui.plots import CurvePlot, add_colorbar, keyed, lock_aspect, make_plot, move_points

SDE, ODE, LEARNED, TRUE = "#ff7f0e", "#1f77b4", "#d62728", "#222222"


def arrows(points: np.ndarray, vectors: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray]:
    """Line segments (connect='pairs') from each point along its vector, scaled so the longest is ``length``."""
    v = np.asarray(vectors, np.float64)
    norm = np.linalg.norm(v, axis=1)
    top = np.percentile(norm, 95) if len(norm) else 1.0
    v = v / max(top, 1e-12) * length
    v = np.where(np.linalg.norm(v, axis=1, keepdims=True) > length * 1.5,
                 v / np.linalg.norm(v, axis=1, keepdims=True) * length * 1.5, v)
    ends = points + v
    xs = np.stack([points[:, 0], ends[:, 0]], 1).ravel()
    ys = np.stack([points[:, 1], ends[:, 1]], 1).ravel()
    return xs, ys


class DiffusionPanel(LabPanel):
    MAIN_VIEW = "samples"  # the samples: what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        ink = theme.colors()["text"]
        self.samples_view = make_plot(keyed("Samples", "blue: model · grey: data"), "x1", "x2")
        self.field_view = make_plot(keyed("Score at t", "red: learned · black: exact"), "x1", "x2")
        self.paths_view = make_plot(keyed("Paths from the same noise (○)", "orange: SDE (faint: t > ½) · blue: ODE"), "x1", "x2")
        for v in (self.samples_view, self.field_view, self.paths_view):
            lock_aspect(v)
        self.data_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(150, 150, 150, 120))
        self.sample_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(ODE))
        self.mode_item = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#2ca02c", width=2), brush=None)
        for it in (self.data_item, self.sample_item, self.mode_item):
            self.samples_view.addItem(it)
        self.heat = pg.ImageItem()
        self.heat.setColorMap(pg.colormap.get("CET-L17"))
        self.heat.setZValue(-10)
        self.field_view.addItem(self.heat)
        add_colorbar(self.field_view, self.heat, "exact p_t(x) / its max")
        self.noised_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(120, 120, 120, 110))
        self.true_field = pg.PlotCurveItem(pen=pg.mkPen(TRUE, width=3), connect="pairs")
        self.learned_field = pg.PlotCurveItem(pen=pg.mkPen(LEARNED, width=1.5), connect="pairs")
        for it in (self.noised_item, self.true_field, self.learned_field):
            self.field_view.addItem(it)
        # the SDE's first half (large noise) faint, its second half and the ODE strong: the paths read as
        # two families leaving the same noise, not as a scribble
        self.path_items = {"sde_early": pg.PlotCurveItem(pen=pg.mkPen((255, 127, 14, 45), width=1), connect="finite"),
                           "sde": pg.PlotCurveItem(pen=pg.mkPen((255, 127, 14, 200), width=1.5), connect="finite"),
                           "ode": pg.PlotCurveItem(pen=pg.mkPen(ODE, width=2.5), connect="finite")}
        self.path_starts = pg.ScatterPlotItem(size=8, pen=pg.mkPen(ink, width=1.5), brush=None)
        self.path_ends = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(ink))
        for it in (*self.path_items.values(), self.path_starts, self.path_ends):
            self.paths_view.addItem(it)
        self.t_slider = QSlider(Qt.Horizontal)
        self.t_slider.setRange(1, 100)
        self.t_slider.setValue(30)
        self.t_slider.setFocusPolicy(Qt.NoFocus)
        self.t_slider.setMinimumWidth(120)
        self.t_label = QLabel("t = 0.30")
        self.t_slider.valueChanged.connect(self._t_changed)
        # data drawn by hand on the samples view (the shared drawer): the lab resets on it
        self.drawer = PointDrawer(self.samples_view, parent=self)
        self.drawer.use.connect(lambda path: self.requestSettings.emit({"data": path}, True))
        # or the modes of a mixture placed by hand: its exact score and density come with it
        self.placer = PointDrawer(self.samples_view, color="#2ca02c", parent=self, modes=True)
        self.placer.use.connect(lambda data: self.requestSettings.emit({"data": data}, True))
        # one row of controls over the three views, which share the width equally: the buttons in the
        # samples column made it take two thirds, cropping the score field and the paths
        tools = row(self.drawer.draw_button, self.drawer.use_button, self.placer.draw_button,
                    self.placer.use_button, stretch_end=False)
        tools.addSpacing(16)
        tools.addWidget(QLabel("time of the score field"))
        tools.addWidget(self.t_slider, 1)
        tools.addWidget(self.t_label)
        views = QSplitter(Qt.Horizontal)
        for w in (self.samples_view, self.field_view, self.paths_view):
            w.setMinimumWidth(160)
            views.addWidget(w)
            views.setStretchFactor(views.count() - 1, 1)
        views.setSizes([1000, 1000, 1000])
        top = column(tools, (views, 1))
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)
        self.curves = CurvePlot("Training loss", {"loss": "loss"}, y_label="per example")
        self.bins_view = make_plot(keyed("Loss and score error per t", "blue: loss · red: b(t)²|s − ∇log p_t|²"),
                                   "t", "per example")
        self.bins_loss = self.bins_view.plot([], [], pen=pg.mkPen(ODE, width=2), symbol="o", symbolBrush=ODE,
                                             symbolPen=None)
        self.bins_err = self.bins_view.plot([], [], pen=pg.mkPen(LEARNED, width=2), symbol="s", symbolBrush=LEARNED,
                                            symbolPen=None)
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.curves)
        bottom.addWidget(self.bins_view)
        self.arrange(top, column(self.readout, (bottom, 1)), (560, 340))
        self.name_views({"samples": self.samples_view, "score-field": self.field_view, "paths": self.paths_view,
                         "curves": self.curves, "per-t": self.bins_view})

    def restyle(self) -> None:
        pass

    def _t_changed(self, v: int) -> None:
        t = v / 100
        self.t_label.setText(f"t = {t:.2f}")
        self.requestView.emit("t", t)

    def set_view_state(self, view: dict) -> None:
        if "t" in view:
            self.t_slider.blockSignals(True)
            self.t_slider.setValue(int(round(float(view["t"]) * 100)))
            self.t_label.setText(f"t = {float(view['t']):.2f}")
            self.t_slider.blockSignals(False)

    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()
        data = np.asarray(info["data"])
        self.data_item.setData(data[:, 0], data[:, 1])
        modes = info.get("modes")
        self.mode_item.setData([], []) if modes is None else self.mode_item.setData(modes[:, 0], modes[:, 1])
        x0, x1, y0, y1 = info["extent"]
        for v in (self.samples_view, self.field_view, self.paths_view):
            # both at once: with the aspect locked, the view widens whichever range it must to show
            # the whole extent (one range after the other cropped the first)
            v.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        self.field_view.setTitle(keyed("Score at t", "red: learned · black: exact") if info["exact"] else
                                 keyed("Score at t (learned)", "no exact score for this data"), size=theme.title_size())

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows and "loss" in rows:
            self.curves.append("loss", rows["step"], rows["loss"])

    def show_frame(self, frame, live: bool) -> None:
        if not frame.heavy or not frame.data or not self.static:
            return
        d = frame.data
        self.draw_in_turns([lambda: self._draw_samples(d), lambda: self._draw_field(d), lambda: self._draw_paths(d),
                            lambda: self._draw_bins(d)])

    def clear(self) -> None:
        self.cancel_drawing()
        self.curves.clear_data()
        self.readout.setText("")

    def _draw_samples(self, d: dict) -> None:
        x = np.asarray(d["samples"])
        move_points(self.sample_item, x[:, 0], x[:, 1])
        parts = [f"sampler {d.get('sampler_used', '')}", f"test NLL {estimate(d['test_nll'], d['test_nll_se'])} nats "
                 f"at step {d.get('test_nll_step', 0):,} (probability-flow ODE, exact divergence, 64 test points)",
                 f"ODE paths {estimate(d['path_ratio'], d.get('path_ratio_se'))}× longer than straight "
                 f"({len(d['paths']['ode'][0])} paths)"]
        if "modes" in d:
            parts.append(f"modes {d['modes']}/{d['n_modes']}, high quality "
                         f"{estimate(d['hq_percent'], d.get('hq_percent_se') or None)} % of {len(d['samples'])}, reverse KL "
                         f"{reverse_kl_text(d)} (the GAN lab's protocol)")
            if d.get("spread_ratio") is not None:
                parts.append(f"spread within a mode {estimate(d['spread_ratio'], d.get('spread_ratio_se'))}× the data's")
        self.readout.setText(" &nbsp;·&nbsp; ".join(parts))

    def _draw_field(self, d: dict) -> None:
        x0, x1, y0, y1 = self.static["extent"]
        pts = np.asarray(d["field_points"])
        length = 0.6 * (x1 - x0) / 17
        if "true" in d:
            xs, ys = arrows(pts, np.asarray(d["true"]), length)
            self.true_field.setData(xs, ys)
            dens = np.asarray(d["density"])
            self.heat.setImage(dens / (float(dens.max()) or 1.0), levels=(0, 1))  # relative: readable bar labels
            self.heat.setRect(x0, y0, x1 - x0, y1 - y0)
        else:
            self.true_field.setData([], [])
            self.heat.clear()
        xs, ys = arrows(pts, np.asarray(d["learned"]), length)
        self.learned_field.setData(xs, ys)
        n = np.asarray(d["noised"])
        move_points(self.noised_item, n[:, 0], n[:, 1])
        self.field_view.setTitle(keyed(f"Score at t = {d['t']:.2f}", "red: learned" + (" · black: exact" if "true" in d
                                                                                     else " (no exact score)")),
                                 size=theme.title_size())

    def _draw_paths(self, d: dict) -> None:
        def polyline(p: np.ndarray) -> np.ndarray:  # [points, paths, 2] -> one NaN-separated line
            sep = np.full((1, p.shape[1], 2), np.nan)
            return np.concatenate([p, sep], 0).transpose(1, 0, 2).reshape(-1, 2)

        sde, ode = np.asarray(d["paths"]["sde"]), np.asarray(d["paths"]["ode"])  # [steps + 1, paths, 2], t: 1 -> 0
        half = len(sde) // 2
        for name, p in (("sde_early", sde[: half + 1]), ("sde", sde[half:]), ("ode", ode)):
            seq = polyline(p)
            self.path_items[name].setData(seq[:, 0], seq[:, 1], connect="finite")
        self.path_starts.setData(ode[0, :, 0], ode[0, :, 1])  # the shared noise
        e = np.concatenate([sde[-1], ode[-1]])
        self.path_ends.setData(e[:, 0], e[:, 1])

    def _draw_bins(self, d: dict) -> None:
        n = len(d["loss_bins"])
        t = (np.arange(n) + 0.5) / n
        self.bins_loss.setData(t, np.asarray(d["loss_bins"]))
        err = np.asarray(d["score_error"], np.float64)
        ok = np.isfinite(err)
        self.bins_err.setData(t[ok], err[ok])
