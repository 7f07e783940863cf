"""The 2-D VAE lab's views: samples over the data, the density by the IWAE bound, the test points in latent space,
and the bounds during training against the data's entropy."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter

from genviz.ui import theme
from genviz.ui.panel import LabPanel, column
from genviz.ui.plots import CurvePlot, add_colorbar, keyed, lock_aspect, make_plot, move_points

SAMPLE = "#ff7f0e"


def circle(radius: float, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0, 2 * np.pi, n)
    return radius * np.cos(t), radius * np.sin(t)


class PointVAEPanel(LabPanel):
    MAIN_VIEW = "samples"

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.samples_view = make_plot(keyed("Samples", "orange: VAE · grey: data"), "x1", "x2")
        self.density_view = make_plot(keyed("Log density", "IWAE bound, k = 16; 12 nats below the peak: dark"),
                                      "x1", "x2")
        self.latent_view = make_plot(keyed("Test points in latent space", "colour: nearest mode"), "z1", "z2")
        for v in (self.samples_view, self.density_view, self.latent_view):
            lock_aspect(v)
        self.data_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(150, 150, 150, 120))
        self.sample_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(SAMPLE))
        self.samples_view.addItem(self.data_item)
        self.samples_view.addItem(self.sample_item)
        self.heat = pg.ImageItem()
        self.heat.setColorMap(pg.colormap.get("viridis"))
        self.density_view.addItem(self.heat)
        add_colorbar(self.density_view, self.heat, "log p(x) (nats)")
        self.rings = [pg.PlotCurveItem(*circle(r), pen=pg.mkPen("#888888", width=1, style=Qt.DotLine))
                      for r in (1, 2, 3)]
        for ring in self.rings:
            self.latent_view.addItem(ring)
        self.latent_item = pg.ScatterPlotItem(size=5, pen=None)
        self.latent_view.addItem(self.latent_item)
        self.latent_view.setRange(xRange=(-3.2, 3.2), yRange=(-3.2, 3.2))
        self.curves = CurvePlot("Bounds on log p(x) (nats per point)",
                                {"train_bound": "training batch", "test_elbo": "test ELBO",
                                 "test_iwae": "test IWAE k = 100", "entropy": "−H(data)"}, y_label="nats")
        self.curves.curves["entropy"].setPen(pg.mkPen(theme.colors()["text"], width=2, style=Qt.DashLine))
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)
        views = QSplitter(Qt.Horizontal)
        for w in (self.samples_view, self.density_view, self.latent_view):
            w.setMinimumWidth(160)
            views.addWidget(w)
        views.setSizes([1000, 1000, 1000])
        self.arrange(views, column(self.readout, (self.curves, 1)), (560, 340))
        self.name_views({"samples": self.samples_view, "density": self.density_view, "latent": self.latent_view,
                         "bounds": self.curves})

    def restyle(self) -> None:
        self.curves.curves["entropy"].setPen(pg.mkPen(theme.colors()["text"], width=2, style=Qt.DashLine))

    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()
        pts = np.asarray(info["data_points"])
        self.data_item.setData(pts[:, 0], pts[:, 1])
        x0, x1, y0, y1 = info["extent"]
        for v in (self.samples_view, self.density_view):
            v.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        modes = info.get("modes")
        n = len(modes) if modes is not None else 1
        self.brushes = [pg.mkBrush(pg.intColor(i, hues=max(n, 2), alpha=200)) if n > 1 else pg.mkBrush(SAMPLE)
                        for i in range(n)]
        if "entropy" in info:
            self.curves.reference_y = -info["entropy"] + 0.3  # room for the legend above the line

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows and "train_bound" in rows:
            self.curves.append("train_bound", rows["step"], rows["train_bound"])
        if frame is not None and frame.heavy and "test_iwae" in frame.data:
            for key in ("test_elbo", "test_iwae"):
                self.curves.append(key, [frame.step], [frame.data[key]])
            if "entropy" in self.static:
                self.curves.append("entropy", [frame.step], [-self.static["entropy"]])

    def show_frame(self, frame, live: bool) -> None:
        if not self.static or not frame.data:
            return
        data = frame.data
        views = [lambda: self._draw_samples(data)]
        if "density" in data:
            views += [lambda: self._draw_density(data), lambda: self._draw_latent(data),
                      lambda: self._draw_readout(data, frame.step)]
        self.draw_in_turns(views)

    def clear(self) -> None:
        self.cancel_drawing()
        self.curves.clear_data()
        self.sample_item.clear()
        self.latent_item.clear()
        self.heat.clear()
        self.readout.setText("")

    def _draw_samples(self, data: dict) -> None:
        s = np.asarray(data["samples"])
        move_points(self.sample_item, s[:, 0], s[:, 1])

    def _draw_density(self, data: dict) -> None:
        # on a log scale: ring8's modes (std 0.01) are spikes a linear map shows as a few pixels on black
        logd = np.log(np.maximum(np.asarray(data["density"], np.float64), 1e-300))
        top = float(logd.max())
        self.heat.setImage(np.maximum(logd, top - 12).T.astype(np.float32), levels=(top - 12, top))
        x0, x1, y0, y1 = self.static["extent"]
        self.heat.setRect(x0, y0, x1 - x0, y1 - y0)

    def _draw_latent(self, data: dict) -> None:
        z = np.asarray(data["latent"])
        modes = np.asarray(data["latent_mode"])
        if self.unchanged("latent-colours", modes):  # each point's nearest mode, as its colour
            move_points(self.latent_item, z[:, 0], z[:, 1])  # the same points, their colours kept
            return
        brushes = [self.brushes[int(m) % len(self.brushes)] for m in modes]
        self.latent_item.setData(z[:, 0], z[:, 1], brush=brushes)

    def _draw_readout(self, data: dict, step: int) -> None:
        from genviz.core.numbers import estimate

        text = (f"Step {step:,}. On {self.static['test_points']} test points: ELBO "
                f"<b>{estimate(data['test_elbo'], data['test_elbo_se'])}</b>, IWAE bound (k = 100) "
                f"<b>{estimate(data['test_iwae'], data['test_iwae_se'])}</b> nats per point")
        if "entropy" in self.static:
            text += (f"; no model's mean log p(x) exceeds the data's −H = "
                     f"{estimate(-self.static['entropy'], self.static['entropy_se'])}")
        cov = data.get("coverage")
        if cov:
            text += (f". Samples cover {cov['modes']} of {cov['n_modes']} modes, "
                     f"{estimate(cov['hq_percent'], cov['hq_percent_se'])} % within 3 σ of one")
        self.readout.setText(text + ".")
