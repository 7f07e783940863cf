"""The flow lab's panel: the warped grid and samples after layer k (slider, animation), the model
density next to the target, the log|det J| field, and NLL or reverse-KL curves."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QSplitter, QTabWidget, QVBoxLayout, QWidget

from genviz.labs.flow import PRESETS
from genviz.ui import theme
from genviz.ui.panel import LabPanel
from genviz.core.numbers import estimate
from genviz.ui.plots import CurvePlot, heat_plot, lock_aspect, make_plot


CHORD = 8.0  # a warped segment this many times the line's median segment is a gap, not a straight chord


def mesh_polyline(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The warped grid lines ``[lines, points, 2]`` as one polyline: the points ``[N, 2]`` and for each
    whether it joins the next (pyqtgraph's ``connect`` array). Lines are not joined to each other, nor
    across a piece the flow stretched far beyond what the line's points can trace (a fold): drawn, that
    piece was a straight chord across the view that no grid line takes."""
    lines = np.asarray(lines, np.float64)
    seg = np.linalg.norm(np.diff(lines, axis=1), axis=2)  # [lines, points - 1]
    typical = np.median(seg, axis=1, keepdims=True)
    joins = np.isfinite(seg) & (seg <= CHORD * np.maximum(typical, 1e-9))
    connect = np.concatenate([joins, np.zeros((len(lines), 1), bool)], 1)
    return lines.reshape(-1, 2), connect.ravel()


class FlowPanel(LabPanel):
    MAIN_VIEW = "model-density"  # the flow's density: what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.heavy: dict = {}
        # layer change -> mesh and density on screen: from the cache (layer_latency_ms) or after
        # fetching the density from the worker (layer_fetch_ms, while it trains)
        self.layer_latency_ms: list[float] = []
        self.density_top = 1.0
        self.layer_fetch_ms: list[float] = []
        # densities per layer for one model state (step); filled by snapshots, by the slider's
        # fetches and, while training is paused, by prefetching every layer in the background
        self.layer_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.cache_step = -1
        self.running = False
        self._fetching: int | None = None  # the layer asked for (one query in flight at a time)
        self._wanted: int | None = None  # the layer the slider shows but the cache lacks
        self._wanted_since = 0.0

        self.warp = make_plot("Warp after layer k: base grid and samples", "x₁", "x₂")
        lock_aspect(self.warp)
        self.mesh = pg.PlotCurveItem(pen=pg.mkPen(theme.CURVE_COLORS[0], width=1.2), connect="finite")
        self.cloud = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush("#d62728"))
        self.warp.addItem(self.mesh)
        self.warp.addItem(self.cloud)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 8)
        self.slider.setFocusPolicy(Qt.NoFocus)
        self.slider.valueChanged.connect(self.show_layer)
        self.slider_label = QLabel("layer 0")
        self.slider_label.setMinimumWidth(190)
        self.animate = QPushButton("▶ Animate layers")
        self.animate.setCheckable(True)
        self.animate.setFocusPolicy(Qt.NoFocus)
        self.animate.toggled.connect(self._on_animate)
        self._anim = QTimer(self)
        self._anim.setInterval(350)
        self._anim.timeout.connect(self._advance)

        self.model_plot, self.model_img = heat_plot("Model density q_k(x)", label="density")
        self.target_plot, self.target_img = heat_plot("Target", label="density")
        # the flow trained beside the main one (setting beside): the MAF paper's 1 MADE against a stack
        self.beside_plot, self.beside_img = heat_plot("Flow beside it", label="density")
        self.set_view_applies(self.beside_plot, False)
        self.logdet_plot, self.logdet_img = heat_plot("log|det J| of layer k", "CET-D1", label="nats")
        self.name_views({"warp": self.warp, "model-density": self.model_plot, "target": self.target_plot,
                         "beside-density": self.beside_plot,
                         "log-det-jacobian": self.logdet_plot})
        self.limit_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#2ca02c", width=2, style=Qt.DashLine),
                                          label="entropy limit {value:.3f}", labelOpts={"position": 0.75, "color": "#2ca02c"})
        self.curves = CurvePlot("Training", {"train_nll": "train NLL", "test_nll": "test NLL",
                                             "reverse_kl": "reverse KL(q ‖ p)"}, y_label="nats")
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)  # a long readout wraps; it never widens its column

        slider_row = QHBoxLayout()
        slider_row.addWidget(self.slider_label)
        slider_row.addWidget(self.slider, 1)
        button_row = QHBoxLayout()
        button_row.addWidget(self.animate)
        button_row.addWidget(self.preset_box(PRESETS))
        button_row.addStretch(1)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(self.warp, 1)
        left_lay.addLayout(slider_row)
        left_lay.addLayout(button_row)
        # the two densities stacked beside the warp; log|det J| beside the curves below
        self.pair = pair = QSplitter(Qt.Vertical)
        pair.addWidget(self.target_plot)
        pair.addWidget(self.beside_plot)
        pair.addWidget(self.model_plot)
        top = QSplitter(Qt.Horizontal)
        top.addWidget(left)
        top.addWidget(pair)
        top.setSizes([600, 400])
        curves = QWidget()
        c_lay = QVBoxLayout(curves)
        c_lay.setContentsMargins(0, 0, 0, 0)
        c_lay.addWidget(self.readout)
        c_lay.addWidget(self.curves, 1)
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(curves)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.logdet_plot, "log|det J|")
        self.side_tabs.addTab(self._change_of_variables_view(), "1-D change of variables")
        bottom.addWidget(self.side_tabs)
        bottom.setSizes([600, 400])
        self.arrange(top, bottom, (600, 300))

    def _change_of_variables_view(self) -> QWidget:
        """The 1-D case beside the 2-D flow: z ~ N(0, 1) along the bottom, the map x = f(z), and the
        density of x along the left, p_x(x) = p_z(z) |dz/dx|; equal-probability bands of z mapped to
        x show where f stretches (density thins) and squeezes (density piles up)."""
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.cov_plot = make_plot("x = f(z) = z + a·tanh(2z),  p_x(x) = p_z(z) |dz/dx|", "z", "x")
        self.cov_plot.setObjectName("change-of-variables-1d")
        self.cov_map = pg.PlotCurveItem(pen=pg.mkPen("#222222", width=2.5))
        self.cov_pz = pg.PlotCurveItem(pen=pg.mkPen("#1f77b4", width=2), brush=pg.mkBrush(31, 119, 180, 70))
        self.cov_px = pg.PlotCurveItem(pen=pg.mkPen("#d62728", width=2), brush=pg.mkBrush(214, 39, 40, 70))
        self.cov_bands = pg.PlotCurveItem(pen=pg.mkPen((120, 120, 120), width=1, style=Qt.DashLine), connect="pairs")
        for item in (self.cov_bands, self.cov_pz, self.cov_px, self.cov_map):
            self.cov_plot.addItem(item)
        legend = self.cov_plot.addLegend(offset=(-5, -45), labelTextSize="9pt")  # lower right: empty there
        legend.addItem(self.cov_pz, "p_z(z) = N(0, 1)")
        legend.addItem(self.cov_px, "p_x(x)")
        legend.addItem(self.cov_map, "f")
        self.cov_slider = QSlider(Qt.Horizontal)
        self.cov_slider.setRange(-45, 300)  # a = slider / 100; f is invertible for a > -1/2
        self.cov_slider.setValue(150)
        self.cov_slider.setFocusPolicy(Qt.NoFocus)
        self.cov_label = QLabel()
        self.cov_slider.valueChanged.connect(self._draw_change_of_variables)
        row = QHBoxLayout()
        row.addWidget(self.cov_label)
        row.addWidget(self.cov_slider, 1)
        lay.addWidget(self.cov_plot, 1)
        lay.addLayout(row)
        self._draw_change_of_variables()
        return box

    def _draw_change_of_variables(self) -> None:
        from genviz.models.plain import change_of_variables_1d

        a = self.cov_slider.value() / 100
        z = np.linspace(-3.5, 3.5, 701)
        c = change_of_variables_1d(a, z)
        x0, z0 = float(c["x"].min()), float(z.min())
        scale = 1.2 / max(float(c["p_z"].max()), float(c["p_x"].max()))  # densities share one scale
        self.cov_map.setData(z, c["x"])
        self.cov_pz.setData(z, x0 + scale * c["p_z"], fillLevel=x0)
        self.cov_px.setData(z0 + scale * c["p_x"], c["x"])
        self.cov_px.setFillLevel(None)
        # the 10 %, 30 %, 50 %, 70 %, 90 % quantiles of z and where f sends them
        qz = np.array([-1.2816, -0.5244, 0.0, 0.5244, 1.2816])
        qx = change_of_variables_1d(a, qz)["x"]
        segs = np.column_stack([qz, np.full(5, x0), qz, qx, qz, qx, np.full(5, z0), qx]).reshape(-1, 2)
        self.cov_bands.setData(segs[:, 0], segs[:, 1])
        self.cov_label.setText(f"a = {a:.2f}")

    def restyle(self) -> None:
        pass

    # -- engine output -----------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.heavy = {}
        self.layer_cache, self.cache_step = {}, -1
        self._fetching = self._wanted = None
        K = info["layers"]
        self.slider.blockSignals(True)
        self.slider.setRange(0, K)
        self.slider.setValue(K)
        self.slider.blockSignals(False)
        self.slider_label.setText(f"layer {K} of {K}")
        x0, x1, y0, y1 = info["extent"]
        for plot in (self.model_plot, self.target_plot, self.logdet_plot, self.beside_plot):
            plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        beside = int(info.get("beside", 0))
        self.set_view_applies(self.beside_plot, beside > 0)
        self.pair.setSizes([300, 300 if beside else 0, 300])  # equal heights: the three densities compared
        self.beside_img.clear()
        if beside:
            self.beside_plot.setTitle(f"{beside} {info['flow'].upper()} layer{'s' if beside > 1 else ''} "
                                      "(same batches)", size=theme.title_size())
        target = info["target"]
        # model and target share one colour scale, computed once per model rather than per redraw
        self.density_top = float(np.percentile(target, 99.5)) or 1.0
        self.target_img.setImage(target, levels=(0, self.density_top))
        self._place(self.target_img)
        what = "exp(−U)/Z" if info["fit"] == "energy" else "data histogram"
        self.target_plot.setTitle(f"Target: {what}", size=theme.title_size())
        self.warp.enableAutoRange()  # samples may leave the target's box while the flow learns
        self.curves.show_series(("train_nll", "test_nll") if info["fit"] == "density" else ("reverse_kl",))
        self.warning.setText(info.get("warning", ""))
        self.warning.setVisible("warning" in info)
        self.curves.removeItem(self.limit_line)
        self.curves.reference_y = info.get("limit")
        if info.get("limit") is not None:
            self.limit_line.setValue(info["limit"])
            self.curves.addItem(self.limit_line)

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows:
            for key in ("train_nll", "reverse_kl"):
                if key in rows:
                    self.curves.append(key, rows["step"], rows[key])
            self.last_rows = rows
        if frame is not None and "test_nll" in frame.data:
            self.curves.append("test_nll", [frame.step], [frame.data["test_nll"]])

    def show_frame(self, frame, live: bool) -> None:
        data, step = frame.data, frame.step
        self.heavy = data
        self._cache(step, data["density_layer"], data["density"], data["layer_logdet"])
        rows = getattr(self, "last_rows", {}) if live else {}
        self.draw_in_turns([lambda: self.show_layer(self.slider.value(), from_user=False),
                            lambda: self._draw_readout(data, rows), lambda: self._draw_beside(data)])
        if not self.running and live:  # other layers come from the live model only
            self._fetch_next()

    def _place(self, img: pg.ImageItem) -> None:
        """Map the image's pixels onto the view's extent (after setImage: the rect needs the size)."""
        x0, x1, y0, y1 = self.static["extent"]
        img.setRect(x0, y0, x1 - x0, y1 - y0)

    # -- the per-layer density cache --------------------------------------------------------
    def _cache(self, step: int, k: int, density: np.ndarray, logdet: np.ndarray) -> bool:
        """Keep a layer's density unless a newer one is held; False if it arrived stale. Older
        entries stay (drawn with their step) until a fresh one replaces them."""
        if k in self.layer_cache and self.layer_cache[k][0] > step:
            return False
        self.cache_step = max(self.cache_step, step)
        self.layer_cache[k] = (step, density, logdet)
        return True

    def fresh(self, k: int) -> bool:
        return k in self.layer_cache and self.layer_cache[k][0] == self.cache_step

    def on_state(self, running: bool) -> None:
        self.running = running
        if not running:
            self._fetch_next()

    def _fetch_next(self) -> None:
        """One query in flight: the layer the slider waits for first, then (while paused) the
        uncached layer nearest the slider, so scrubbing a paused flow is all cache hits."""
        if self._fetching is not None or not self.static:
            return
        k = self._wanted
        if k is None and not self.running:
            here, K = self.slider.value(), self.static["layers"]
            missing = [j for j in range(K + 1) if not self.fresh(j)]
            k = min(missing, key=lambda j: abs(j - here)) if missing else None
        if k is not None:
            self._fetching = k
            self.requestQuery.emit("layer_density", {"k": k})

    def on_reply(self, name: str, value) -> None:
        if name != "layer_density":
            return
        self._fetching = None
        k = value["k"]
        kept = self._cache(value["step"], k, value["density"], value["layer_logdet"])
        if kept and k == self.slider.value():
            self._draw_density(k)
            if self._wanted == k:
                self.model_plot.repaint()
                self.logdet_plot.repaint()
                self.layer_fetch_ms.append((time.perf_counter() - self._wanted_since) * 1e3)
        if self._wanted == k or self._wanted not in (None, self.slider.value()):
            self._wanted = None
        self._fetch_next()

    def on_query_failed(self, name: str) -> None:
        if name == "layer_density":
            self._fetching = self._wanted = None

    def _draw_density(self, k: int) -> None:
        if k not in self.layer_cache:
            return
        step, dens, ld = self.layer_cache[k]
        self.model_img.setImage(dens, levels=(0, self.density_top))
        self._place(self.model_img)
        old = "" if step == self.cache_step else f" (step {step}, updating…)"
        self.model_plot.setTitle(f"Model q after layer {k}{old}", size=theme.title_size())
        span = max(float(np.abs(ld).max()), 1e-6)
        self.logdet_img.setImage(ld, levels=(-span, span))
        self._place(self.logdet_img)
        self.logdet_plot.setTitle(f"log|det J|, layer {k} (red expands)", size=theme.title_size())

    def _draw_beside(self, data: dict) -> None:
        if "beside_density" in data:
            self.beside_img.setImage(np.asarray(data["beside_density"], np.float32), levels=(0, self.density_top))
            self._place(self.beside_img)
            x0, x1, y0, y1 = self.static["extent"]
            self.beside_plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def _draw_readout(self, data: dict, m: dict) -> None:
        if "test_nll" in data:
            limit = self.static.get("limit")
            gap = f" &nbsp;·&nbsp; entropy limit {limit:.3f} (gap {data['test_nll'] - limit:.3f})" if limit is not None else ""
            text = f"test NLL <b>{data['test_nll']:.3f}</b> nats{gap}"
            if "beside_test_nll" in data:
                K, b = self.static["layers"], self.static.get("beside", 0)
                text += (f"<br>{b} layer{'s' if b > 1 else ''} beside it: test NLL <b>"
                         f"{estimate(data['beside_test_nll'], data['beside_test_nll_se'])}</b>; {K} layers lead by "
                         f"<b>{estimate(data['beside_lead'], data['beside_lead_se'])} nats</b> (paired, 5,000 test points)")
            self.readout.setText(text)
        elif "reverse_kl" in data:
            kl, se = data["reverse_kl"], data.get("reverse_kl_se")
            zero = " (0 within its error)" if se is not None and kl < 2 * se else ""
            self.readout.setText(f"reverse KL(q ‖ p) <b>{estimate(kl, se)}</b> nats{zero}, "
                                 f"{data.get('reverse_kl_draws', 0):,} draws of q &nbsp;·&nbsp; log Z = "
                                 f"{self.static.get('log_z', float('nan')):.3f} by quadrature")
        elif "reverse_kl" in m and len(m["reverse_kl"]):  # a session saved before snapshots carried it
            self.readout.setText(f"reverse KL(q ‖ p) of the last batch <b>{m['reverse_kl'][-1]:.2f}</b> nats")

    def set_view_state(self, view: dict) -> None:
        if not self.static:
            return
        K = self.static["layers"]
        k = int(view.get("layer", -1))
        self.slider.blockSignals(True)
        self.slider.setValue(K if k < 0 or k > K else k)
        self.slider.blockSignals(False)

    def show_layer(self, k: int, from_user: bool = True) -> None:
        """Redraw the mesh, samples and density for layer k at once from the latest snapshot and
        the layer cache; a layer the cache lacks is fetched from the worker and drawn on arrival."""
        if not self.heavy or not self.static:
            return
        t0 = time.perf_counter()
        K = self.static["layers"]
        k = max(0, min(K, int(k)))
        lines = self.heavy["lines"][k]
        n, p = self.static["lines"], self.static["line_points"]
        points, connect = mesh_polyline(lines.reshape(2 * n, p, 2))
        self.mesh.setData(points[:, 0], points[:, 1], connect=connect)
        cloud = self.heavy["cloud"][k]
        self.cloud.setData(cloud[:, 0], cloud[:, 1])
        self.slider_label.setText(f"layer {k} of {K}" + (" (base N(0, I))" if k == 0 else ""))
        cached = self.fresh(k)
        self._draw_density(k)  # a stale density is better than the previous layer's while fetching
        if from_user and not cached and self._wanted != k:  # while training, snapshots bring it anyway
            self._wanted, self._wanted_since = k, t0
            self._fetch_next()
        if from_user:
            self.requestView.emit("layer", k)  # later snapshots bring this layer
            if cached:
                for plot in (self.warp, self.model_plot, self.logdet_plot):
                    plot.repaint()
                self.layer_latency_ms.append((time.perf_counter() - t0) * 1e3)

    def _on_animate(self, on: bool) -> None:
        self.animate.setText("❚❚ Stop" if on else "▶ Animate layers")
        (self._anim.start if on else self._anim.stop)()

    def _advance(self) -> None:
        self.slider.setValue((self.slider.value() + 1) % (self.slider.maximum() + 1))

    def clear(self) -> None:
        self.cancel_drawing()
        self.last_rows = {}
        self.heavy = {}
        self.layer_cache, self.cache_step = {}, -1
        self._fetching = self._wanted = None
        self.curves.clear_data()
        self.mesh.setData([], [])
        self.cloud.setData([], [])
        self.model_img.clear()
        self.logdet_img.clear()
        self.beside_img.clear()
        self.readout.setText("")
