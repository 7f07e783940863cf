"""The manifold lab's panel: decoded manifold, latent scatter with q(z|x) ellipses, click-to-decode
preview, hover-nearest example, ELBO curves, KL per dimension and active units."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter

from genviz.vae.decode import decode_numpy
from genviz.ui import theme
from genviz.ui.panel import LabPanel, column
from genviz.core.numbers import estimate
from genviz.ui.plots import (BarPlot, ClassScatter, CurvePlot, ImagePlot, add_colorbar, ellipse_points, keyed, lock_aspect,
                             make_plot)


class ManifoldPanel(LabPanel):
    MAIN_VIEW = "manifold"  # the decoded latent manifold: what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.heavy: dict = {}
        self.selected: int | None = None
        self.preview_z: np.ndarray | None = None
        self.scatter: ClassScatter | None = None
        self.click_latency_ms: list[float] = []
        self.decode_next: list[float] | None = None  # a z for the worker to decode (a model of your own)
        self.decode_in_flight = False

        self.manifold_view = ImagePlot("Decoded manifold  p(x|z),  z = Φ⁻¹(u) grid")
        self.latent_plot = make_plot("Latent space: encoder means  E[z|x]", "z₁", "z₂")
        lock_aspect(self.latent_plot)
        self.ellipse = pg.PlotCurveItem(pen=pg.mkPen(theme.colors()["accent"], width=3))
        self.selected_marker = pg.ScatterPlotItem(size=16, pen=pg.mkPen("w", width=2), brush=None, symbol="o")
        self.click_marker = pg.ScatterPlotItem(size=18, pen=pg.mkPen("#d62728", width=3), brush=None, symbol="+")
        for item in (self.ellipse, self.selected_marker, self.click_marker):
            item.setZValue(20)
            self.latent_plot.addItem(item)
        # the prior's 2-sigma circle: it keeps the view at the prior's scale, so a collapsing
        # posterior is seen shrinking to a dot (auto-ranging alone would zoom in with it)
        t = np.linspace(0, 2 * np.pi, 97)
        self.prior_circle = pg.PlotCurveItem(2 * np.cos(t), 2 * np.sin(t),
                                             pen=pg.mkPen(theme.colors()["muted"], width=1.5, style=Qt.DashLine))
        self.prior_circle.setZValue(-5)
        self.latent_plot.addItem(self.prior_circle)
        # the aggregate posterior q(z) = mean of q(z|x) as a density under the means (setting aggregate)
        self.agg_img = pg.ImageItem()
        self.agg_img.setZValue(-20)
        self.agg_img.setColorMap(pg.ColorMap([0.0, 1.0], ["#ffffff", "#6a51a3"]))
        self.latent_plot.addItem(self.agg_img)
        self.agg_bar = None
        self.latent_plot.scene().sigMouseClicked.connect(self._on_latent_click)
        self.latent_plot.scene().sigMouseMoved.connect(self._on_latent_hover)

        self.preview_view = ImagePlot(keyed("Decoded", "at the clicked z"), levels=(0.0, 1.0))
        self.nearest_view = ImagePlot(keyed("Nearest", "training example"), levels=(0, 255))
        self.preview_text = QLabel("Click the latent plane to decode any z.\nHover to see the nearest example.")
        self.preview_text.setWordWrap(True)
        self.preview_text.setAlignment(Qt.AlignCenter)

        self.curves = CurvePlot("Training curves", {"neg_elbo": "−ELBO (train)", "test_neg_elbo": "−ELBO (test)",
                                                    "recon_nll": "reconstruction  −E log p(x|z)",
                                                    "kl": "KL(q(z|x) ‖ p(z))"})
        self.kl_bars = BarPlot("KL per latent dimension", "dimension", "nats", floor=0.5)  # 0 looks like 0
        self.name_views({"manifold": self.manifold_view, "latent-means": self.latent_plot,
                         "decoded-at-click": self.preview_view, "nearest-example": self.nearest_view,
                         "curves": self.curves, "kl-per-dimension": self.kl_bars})
        self.au_label = QLabel()
        self.au_label.setAlignment(Qt.AlignCenter)
        self.au_label.setWordWrap(True)  # the aggregate's line must not widen its column

        side = column((self.preview_view, 3), (self.nearest_view, 2), self.preview_text)
        kl_box = column((self.kl_bars, 1), self.au_label)
        kl_box.setMinimumWidth(340)  # the wrapped readout no longer holds the column open: the bar plot's title needs it

        top = QSplitter(Qt.Horizontal)
        for w in (self.manifold_view, self.latent_plot, side):
            top.addWidget(w)
        top.setSizes([520, 560, 300])
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.curves)
        bottom.addWidget(kl_box)
        bottom.setSizes([1080, 300])
        self.arrange(top, bottom, (600, 300))
        self.restyle()

    def restyle(self) -> None:
        self.style_warning()
        c = theme.colors()
        self.au_label.setStyleSheet("font-size: 13pt;")
        self.ellipse.setPen(pg.mkPen(c["accent"], width=3))
        self.selected_marker.setPen(pg.mkPen(c["plot_fg"], width=2))

    # -- engine output -----------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.heavy = {}
        if self.scatter is not None:
            self.scatter.remove()
        self.scatter = ClassScatter(self.latent_plot, info.get("class_names", ["data"]))
        self.scatter.legend.addItem(self.prior_circle, "prior, 2σ")
        self.scatter.keep_in_view = (-2.1, 2.1, -2.1, 2.1)  # the prior's 2σ circle: the scale to judge the scatter by
        d = info.get("latent", 2)
        axis = ("z₁", "z₂") if d <= 2 else ("PC 1 of E[z|x]", "PC 2 of E[z|x]")
        self.latent_plot.setLabel("bottom", axis[0])
        self.latent_plot.setLabel("left", axis[1])
        title = "Latent space: encoder means  E[z|x]" if d <= 2 else f"Latent space ({d}-D): PCA projection of E[z|x]"
        self.latent_plot.setTitle(title, size=theme.title_size())

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows:
            for key in ("neg_elbo", "recon_nll", "kl"):
                if key in rows:
                    self.curves.append(key, rows["step"], rows[key])
        if frame is not None:
            self.curves.append("test_neg_elbo", [frame.step], [frame.data["test_neg_elbo"]])

    def show_frame(self, frame, live: bool) -> None:
        data, step = frame.data, frame.step
        self.heavy = data
        # one view per event-loop turn: each repaints on its own, so no single frame blocks the GUI
        # for the sum of all of them (timer lateness stays low); each view draws the frame it was
        # queued with, even if a newer one arrives meanwhile
        self.draw_in_turns([lambda: self._draw_manifold(data), lambda: self._draw_scatter(data),
                            lambda: self._draw_side(data, step), lambda: self._draw_aggregate(data)])

    def _draw_aggregate(self, data: dict) -> None:
        agg = data.get("aggregate")
        if agg is None:
            if self.agg_img.image is not None:  # clearing an empty image still repaints the latent plot
                self.agg_img.clear()
            if self.agg_bar is not None:
                self.agg_bar.hide()
            return
        # three decades of log density: the holes between clusters show white, however peaked the clusters are
        dens = np.log10(np.maximum(np.asarray(agg["density"], np.float32), 1e-12))
        top = float(dens.max())
        self.agg_img.setImage(dens, levels=(top - 3.0, top))
        x0, x1, y0, y1 = agg["extent"]
        self.agg_img.setRect(x0, y0, x1 - x0, y1 - y0)
        if self.agg_bar is None:
            self.agg_bar = add_colorbar(self.latent_plot, self.agg_img, "log₁₀ q(z), aggregate posterior")
        self.agg_bar.show()
        se = agg["mutual_info_se"]
        self.au_label.setText(self.au_label.text() + "<br>" +
                              f"KL term {estimate(agg['mean_kl'], agg['mean_kl_se'])} = I[x; z] <b>{estimate(agg['mutual_info'], se)}</b> "
                              f"(≤ log {agg['points']} = {agg['mutual_info_max']:.2f}) + KL(q(z) ‖ p(z)) <b>"
                              f"{estimate(agg['marginal_kl'], agg['marginal_kl_se'])}</b> nats")

    def _draw_manifold(self, data: dict) -> None:
        self.manifold_view.set_image(data["manifold"])

    def _draw_scatter(self, data: dict) -> None:
        if self.scatter is not None and self.static and len(data["points"]) == len(self.static["eval_labels"]):
            self.scatter.set_points(data["points"], self.static["eval_labels"])
        self._update_selection()

    def _draw_side(self, data: dict, step: int) -> None:
        self.kl_bars.set_values(data["kl_dims"])
        d = len(data["kl_dims"])
        self.au_label.setText(f"active units: <b>{data['active_units']}</b> of {d}  "
                              f"(Cov<sub>x</sub> E<sub>q</sub>[z<sub>u</sub>] &gt; 0.01)")
        if self.preview_z is not None and len(self.preview_z) != len(data["center"]):
            self.preview_z = None
        if self.preview_z is None:
            self.preview_z = data["center"].copy()  # start at the prior mean, z = 0
            self.preview_text.setText("z = 0 (prior mean). Click the latent plane to decode any z;\n"
                                      "hover to see the nearest training example.")
        self._show_preview(self.preview_z)
        self._update_warning(data, step)

    def _update_warning(self, data: dict, step: int) -> None:
        if data.get("collapsed"):
            self.warning.setText(
                f"⚠ Posterior collapse at step {step:,}: KL(q(z|x) ‖ p(z)) = {float(np.sum(data['kl_dims'])):.3f} nats — "
                "the encoder ignores x and the decoder ignores z. Try a lower beta, a KL warm-up, or a weaker decoder.")
            self.warning.show()
        else:
            self.warning.hide()

    def clear(self) -> None:
        self.cancel_drawing()
        self.heavy = {}
        self.selected = None
        self.preview_z = None
        self.decode_next, self.decode_in_flight = None, False
        self.curves.clear_data()
        self.manifold_view.clear_image()
        self.preview_view.clear_image()
        self.nearest_view.clear_image()
        self.ellipse.setData([], [])
        self.selected_marker.setData([], [])
        self.click_marker.setData([], [])
        self.kl_bars.set_values(np.zeros(0))
        self.au_label.setText("")
        self.warning.hide()
        if self.scatter is not None:
            self.scatter.set_points(np.zeros((0, 2)), np.zeros(0, int))

    # -- interaction ---------------------------------------------------------------------------
    def plane_to_z(self, p: np.ndarray) -> np.ndarray:
        """A point of the latent view (the plane itself, or its PCA projection) -> latent z."""
        h = self.heavy
        return h["center"] + h["basis"] @ (np.asarray(p, np.float32) * 1.0)

    def decode(self, z: np.ndarray) -> np.ndarray:
        s = self.static
        flat = decode_numpy(self.heavy["decoder"], z[None], s["activation"], s["likelihood"])[0]
        return flat.reshape(s["image_shape"])

    def _show_preview(self, z: np.ndarray) -> None:
        if self.heavy.get("decoder") is None:
            if "preview" in self.heavy and np.allclose(z, self.heavy["center"]):
                self.preview_view.set_image(self.heavy["preview"].astype(np.float32) / 255.0)
                return
            # a model the GUI holds no copy of (your own, --model-code): the worker decodes it, one request
            # in flight, the latest z next (latest wins)
            self.decode_next = [float(v) for v in z]
            if not self.decode_in_flight:
                self._send_decode()
            return
        self.preview_view.set_image(self.decode(z).astype(np.float32))

    def on_reply(self, name: str, value) -> None:
        if name == "decode":
            if self.static:
                self.preview_view.set_image(np.asarray(value["images"], np.float32)[0].reshape(self.static["image_shape"]))
            self._send_decode()

    def on_query_failed(self, name: str) -> None:
        if name == "decode":
            self._send_decode()

    def _send_decode(self) -> None:
        z, self.decode_next = self.decode_next, None
        self.decode_in_flight = z is not None
        if z is not None:
            self.requestQuery.emit("decode", {"z": z})

    def click_plane(self, x: float, y: float) -> None:
        """Decode the view point (x, y) at once with the GUI's own copy of the decoder, and
        select the data point under it, if any (showing its q(z|x) 2-sigma ellipse)."""
        if not self.heavy:
            return
        t0 = time.perf_counter()
        z = self.plane_to_z(np.array([x, y]))
        self.preview_z = z
        self._show_preview(z)
        self.click_marker.setData([x], [y])
        self.selected = self._nearest(x, y, max_px=10)
        self._update_selection()
        self._show_nearest(self._nearest(x, y))
        z_text = ", ".join(f"{v:+.2f}" for v in z[:6]) + (" …" if len(z) > 6 else "")
        self.preview_text.setText(f"z = ({z_text})")
        self.preview_view.repaint()
        self.click_latency_ms.append((time.perf_counter() - t0) * 1e3)

    def _nearest(self, x: float, y: float, max_px: float | None = None) -> int | None:
        pts = self.heavy.get("points")
        if pts is None or not len(pts):
            return None
        d2 = (pts[:, 0] - x) ** 2 + (pts[:, 1] - y) ** 2
        i = int(np.argmin(d2))
        if max_px is not None:
            px = self.latent_plot.getPlotItem().getViewBox().viewPixelSize()
            if np.sqrt(d2[i]) > max_px * max(px):
                return None
        return i

    def _update_selection(self) -> None:
        i = self.selected
        if i is None or not self.heavy:
            self.ellipse.setData([], [])
            self.selected_marker.setData([], [])
            return
        c = self.heavy["points"][i]
        ring = ellipse_points(c, self.heavy["cov2"][i], n_sigma=2.0)
        self.ellipse.setData(ring[:, 0], ring[:, 1])
        self.selected_marker.setData([c[0]], [c[1]])

    def _on_latent_click(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        vb = self.latent_plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        self.click_plane(p.x(), p.y())

    def _on_latent_hover(self, pos) -> None:
        vb = self.latent_plot.getPlotItem().getViewBox()
        if not self.heavy or not self.static or not vb.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        self._show_nearest(self._nearest(p.x(), p.y()))

    def _show_nearest(self, i: int | None) -> None:
        if i is None or not self.static:
            return
        self.hover_index = i
        self.nearest_view.set_image(self.static["eval_images"][i])
        names = self.static.get("class_names", [])
        label = int(self.static["eval_labels"][i])
        name = names[label] if label < len(names) else str(label)
        self.nearest_view.setTitle(f"Nearest training example: “{name}”", size=theme.title_size())
