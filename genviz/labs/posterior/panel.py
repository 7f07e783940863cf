"""The posterior lab's panel: the true p(z|x) (quadrature) with q(z|x), q* and HMC samples on top,
q_IW for k = 1, 10, 100, and the numbers of the inference-gap decomposition."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QSplitter

from genviz.core.mosaic import tile
from genviz.core.numbers import bound_text, estimate
from genviz.ui import theme
from genviz.ui.panel import LabPanel, column
from genviz.ui.plots import (ClassScatter, ClickableImage, CurvePlot, add_colorbar, contour_segments, ellipse_points,
                              lock_aspect, make_plot, move_points, outside_legend)

STRIP_ROWS, STRIP_COLS = 2, 6
FIT_COLORS = {"q": "#d62728", "qstar": "#ff7f0e", "qfull": "#2ca02c"}
FIT_NAMES = {"q": "encoder q(z|x)", "qstar": "optimal diagonal q*", "qfull": "optimal full-cov q*"}
PATH_COLOR = "#7b2fbe"  # the HMC paths: a purple no fit's ellipse uses
HMC_SHOWN = 3000  # newest HMC draws drawn as points
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
BARS = [("log_px", "log p(x)"), ("iwae_1000", "L₁₀₀₀"), ("iwae_100", "L₁₀₀"), ("iwae_10", "L₁₀"),
        ("elbo_qfull", "q* full"), ("elbo_qstar", "q*"), ("elbo_q", "q")]


class DensityPlot:
    """p(z|x) as an image with its 50/90/99 % highest-density contours, in latent coordinates."""

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.image = pg.ImageItem()
        # white where the posterior has no mass, so the fits and samples drawn on top stay readable
        self.image.setColorMap(pg.ColorMap([0.0, 0.35, 1.0], [(255, 255, 255), (252, 174, 145), (203, 24, 29)]))
        self.image.setZValue(-10)
        plot.addItem(self.image)
        add_colorbar(plot, self.image, "p(z|x)")
        self.contours = [pg.PlotCurveItem(pen=pg.mkPen("#222222", width=w), connect="pairs") for w in (2, 1.5, 1)]
        for c in self.contours:
            c.setParentItem(self.image)  # in the image's pixel coordinates

    def set(self, log_density: np.ndarray, extent, levels) -> None:
        dens = np.exp(log_density).astype(np.float32)
        self.image.setImage(dens, levels=(0.0, float(dens.max())))
        x0, x1, y0, y1 = extent
        self.image.setRect(x0, y0, x1 - x0, y1 - y0)
        for c, level in zip(self.contours, levels):
            c.setData(*contour_segments(dens, level), connect="pairs")

    def clear(self) -> None:
        self.image.clear()
        for c in self.contours:
            c.setData([], [])


class PosteriorPanel(LabPanel):
    MAIN_VIEW = "posterior"  # the true posterior beside q(z|x): what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.heavy: dict = {}
        self.scatter: ClassScatter | None = None
        self.strip_idx = np.zeros(0, int)
        self.rng = np.random.default_rng(0)

        # -- choosing x ---------------------------------------------------------------------------
        self.latent_plot = make_plot("Pick x: encoder means E[z|x]", "z₁", "z₂")
        lock_aspect(self.latent_plot)
        self.latent_plot.scene().sigMouseClicked.connect(self._on_latent_click)
        self.chosen_marker = pg.ScatterPlotItem(size=18, pen=pg.mkPen("#d62728", width=3), brush=None)
        self.chosen_marker.setZValue(20)
        self.latent_plot.addItem(self.chosen_marker)
        self.strip = ClickableImage("… or click an example")
        self.strip.clicked.connect(lambda r, c, _m: self._on_strip_click(r, c))
        other = QPushButton("Other examples")
        other.clicked.connect(self.shuffle_strip)
        left = column((self.latent_plot, 3), (self.strip, 1), other)

        # -- the posterior and its approximations ----------------------------------------------------
        self.post_plot = make_plot("True posterior p(z|x) (quadrature) and its approximations", "z₁", "z₂")
        lock_aspect(self.post_plot)
        self.density = DensityPlot(self.post_plot)
        outside_legend(self.post_plot, "below", columns=2)  # inside, it covered part of the 99 % contour
        self.hmc_points = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(30, 90, 200, 110), name="HMC samples")
        self.post_plot.addItem(self.hmc_points)
        # the walk itself: the last few HMC iterations' leapfrog paths of three chains, each from where its chain
        # stood (a dot) along the simulated Hamiltonian dynamics to the proposal (accepted: solid; rejected: dashed)
        self.hmc_paths = pg.PlotCurveItem(pen=pg.mkPen(PATH_COLOR, width=2), connect="finite",
                                          name="HMC leapfrog paths (accepted)")
        self.hmc_rejected = pg.PlotCurveItem(pen=pg.mkPen((120, 120, 120), width=2, style=Qt.DashLine),
                                             connect="finite", name="… (rejected)")
        self.hmc_starts = pg.ScatterPlotItem(size=8, pen=pg.mkPen("w"), brush=pg.mkBrush(PATH_COLOR))
        for z, item in enumerate((self.hmc_rejected, self.hmc_paths, self.hmc_starts)):
            item.setZValue(12 + z)
            self.post_plot.addItem(item)
        self.ellipses = {}
        for key in ("q", "qstar", "qfull"):
            style = Qt.DashLine if key == "qfull" else Qt.SolidLine
            curve = pg.PlotCurveItem(pen=pg.mkPen(FIT_COLORS[key], width=3, style=style), name=FIT_NAMES[key] + " (2σ)")
            curve.setZValue(15)
            self.post_plot.addItem(curve)
            self.ellipses[key] = curve
        self.contour_key = QLabel("black contours: the true posterior's 50 / 90 / 99 % regions")
        self.contour_key.setAlignment(Qt.AlignCenter)
        center = column((self.post_plot, 1), self.contour_key)

        # -- q_IW ------------------------------------------------------------------------------------
        self.iw_plots: dict[int, tuple] = {}
        for k in (1, 10, 100):
            plot = make_plot(f"q_IW, k = {k}" + ("  (= q)" if k == 1 else ""))
            plot.setObjectName(f"q-iw-k{k}")
            lock_aspect(plot)
            dens = DensityPlot(plot)
            points = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(30, 90, 200, 150))
            plot.addItem(points)
            self.iw_plots[k] = (plot, dens, points)
        right = column(*[(plot, 1) for plot, _, _ in self.iw_plots.values()])

        top = QSplitter(Qt.Horizontal)
        for w in (left, center, right):
            top.addWidget(w)
        top.setSizes([330, 600, 260])

        # -- numbers -------------------------------------------------------------------------------------
        self.bars_plot = make_plot("Bounds above L[q]", "", "nats")
        theme.plain_units(self.bars_plot.getAxis("left"))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.bars_plot.addItem(self.bars)
        self.error_bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0),
                                          beam=0.25, pen=pg.mkPen("#222222", width=1.5))
        self.bars_plot.addItem(self.error_bars)
        self.bars_plot.getAxis("bottom").setTicks([[(i, label) for i, (_, label) in enumerate(BARS)]])
        self.readout = QLabel()
        self.readout.setToolTip("Monte Carlo estimates: 2,000 draws, the same base draws for every q (so the gaps "
                                "carry less noise than the ELBOs); IWAE bounds from 20,000 draws in nested groups, "
                                "which keeps L₁ ≤ L₁₀ ≤ L₁₀₀ ≤ L₁₀₀₀. A bar stops at log p(x).")
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.readout.setWordWrap(True)
        self.curves = CurvePlot("Training curve", {"neg_bound": "−bound (train)", "test_neg_elbo": "−ELBO (test)"})
        self.name_views({"picker": self.latent_plot, "examples": self.strip, "posterior": self.post_plot,
                         "bounds": self.bars_plot, "curves": self.curves})
        # the numbers scroll rather than being cut when the panel is short (larger text, small screens)
        self.readout_scroll = QScrollArea()
        self.readout_scroll.setWidget(self.readout)
        self.readout_scroll.setWidgetResizable(True)
        self.readout_scroll.setFrameShape(QFrame.NoFrame)
        self.readout_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.readout_scroll.setMinimumWidth(370)
        bottom = QSplitter(Qt.Horizontal)
        for w in (self.bars_plot, self.readout_scroll, self.curves):
            bottom.addWidget(w)
        bottom.setSizes([470, 340, 420])
        self.arrange(top, bottom, (600, 300))
        self.restyle()

    def highlight_element(self, view: str, element: str, on: bool) -> bool:
        """A card term's fit: its 2σ ellipse drawn thick ("posterior#q", "#qstar", "#qfull")."""
        curve = self.ellipses.get(element) if view == "posterior" else None
        if curve is None:
            return False
        pen = pg.mkPen(curve.opts["pen"])
        pen.setWidthF(9 if on else 3)
        curve.setPen(pen)
        curve.setZValue(20 if on else 15)
        return True

    def restyle(self) -> None:
        self.style_warning()
        # smaller than the app's text, so the table fits; it grows with it (presenter view, Ctrl+=)
        self.readout.setStyleSheet(f"font-size: {10 * theme.font_scale():.1f}pt;")

    # -- engine output ---------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.heavy = {}
        if self.scatter is not None:
            self.scatter.remove()
        self.scatter = ClassScatter(self.latent_plot, info.get("class_names", ["data"]), size=5)
        self.shuffle_strip()

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows and "neg_bound" in rows:
            self.curves.append("neg_bound", rows["step"], rows["neg_bound"])
        if frame is not None and "posterior" in frame.data:
            self.curves.append("test_neg_elbo", [frame.step], [frame.data["test_neg_elbo"]])

    def show_frame(self, frame, live: bool) -> None:
        data = frame.data
        if "posterior" in data:
            self.heavy = data
            self.draw_in_turns([lambda: self._draw_posterior(data), lambda: self._draw_iw(data),
                                lambda: self._draw_scatter(data), lambda: self._draw_numbers(data)])
        elif "live" in data and self.heavy and data["live"]["example"] == self.heavy["example"]:
            self.heavy = {**self.heavy, **data["live"]}
            self._draw_fits(self.heavy)
            self._draw_numbers(self.heavy)

    def clear(self) -> None:
        self.cancel_drawing()
        self.heavy = {}
        self.curves.clear_data()
        self.density.clear()
        for _, dens, points in self.iw_plots.values():
            dens.clear()
            points.setData([], [])
        for curve in self.ellipses.values():
            curve.setData([], [])
        self.hmc_points.setData([], [])
        self._draw_paths(None)
        self.bars.setOpts(x=[], height=[])
        self.readout.setText("")
        self.chosen_marker.setData([], [])

    # -- drawing ------------------------------------------------------------------------------------------
    def _view_box(self, data: dict) -> tuple[float, float, float, float]:
        """Frame the posterior's mass and the 2-sigma ellipses of every fit."""
        m, cov = data["post_mean_cov"]
        sd = np.sqrt(np.diag(cov))
        lo, hi = m - 4 * sd, m + 4 * sd
        for key in ("q", "qstar", "qfull"):
            if key in data:
                s = 2.5 * np.sqrt(np.diag(data[key]["cov"]))
                lo, hi = np.minimum(lo, data[key]["mu"] - s), np.maximum(hi, data[key]["mu"] + s)
        x0, x1, y0, y1 = data["extent"]
        lo, hi = np.maximum(lo, [x0, y0]), np.minimum(hi, [x1, y1])
        return lo[0], hi[0], lo[1], hi[1]

    def _draw_posterior(self, data: dict) -> None:
        self.density.set(data["posterior"], data["extent"], data["levels"])
        x0, x1, y0, y1 = self._view_box(data)
        self.post_plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        self._draw_fits(data)

    def _draw_fits(self, data: dict) -> None:
        for key, curve in self.ellipses.items():
            if key in data:
                ring = ellipse_points(data[key]["mu"], data[key]["cov"], n_sigma=2.0)
                curve.setData(ring[:, 0], ring[:, 1])
            else:
                curve.setData([], [])
        hmc = data.get("hmc")
        if hmc is not None and len(hmc["samples"]):
            pts = hmc["samples"][-HMC_SHOWN:]
            move_points(self.hmc_points, pts[:, 0], pts[:, 1])
        else:
            self.hmc_points.setData([], [])
        self._draw_paths(hmc)

    def _draw_paths(self, hmc: dict | None) -> None:
        paths = None if hmc is None else hmc.get("paths")
        if paths is None or not len(paths):
            for item in (self.hmc_paths, self.hmc_rejected, self.hmc_starts):
                item.setData([], [])
            return
        accepted = np.asarray(hmc["accepted"], bool)
        for item, keep in ((self.hmc_paths, accepted), (self.hmc_rejected, ~accepted)):
            sel = paths[keep]
            if len(sel):  # NaN rows separate the paths (connect="finite")
                pts = np.concatenate([sel, np.full((len(sel), 1, 2), np.nan, np.float32)], 1).reshape(-1, 2)
                item.setData(pts[:, 0], pts[:, 1])
            else:
                item.setData([], [])
        self.hmc_starts.setData(paths[:, 0, 0], paths[:, 0, 1])

    def _draw_iw(self, data: dict) -> None:
        x0, x1, y0, y1 = self._view_box(data)
        for k, (plot, dens, points) in self.iw_plots.items():
            dens.set(data["posterior"], data["extent"], data["levels"])
            pts = data["iw"][k]
            move_points(points, pts[:, 0], pts[:, 1])
            plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def _draw_scatter(self, data: dict) -> None:
        if self.scatter is not None and self.static:
            self.scatter.set_points(data["points"], self.static["eval_labels"])
            p = data["points"][data["example"]]
            self.chosen_marker.setData([p[0]], [p[1]])

    def _draw_numbers(self, data: dict) -> None:
        n = data["numbers"]
        se = n.get("se", {})
        provisional = set(n.get("provisional", []))
        # a bound is never drawn above log p(x) because of Monte Carlo noise: its bar stops there,
        # and its error bar says how far the estimate may be off
        values = [n.get(key, np.nan) if key == "log_px" else min(n.get(key, np.nan), n["log_px"]) for key, _ in BARS]
        heights = [v - n["elbo_q"] for v in values]
        colors = ["#444444", "#1f77b4", "#1f77b4", "#1f77b4", FIT_COLORS["qfull"], FIT_COLORS["qstar"], FIT_COLORS["q"]]
        shown = [(i, h, c) for i, (h, c) in enumerate(zip(heights, colors)) if np.isfinite(h)]
        brushes = [pg.mkBrush(c) if BARS[i][0].removeprefix("elbo_") not in provisional else
                   pg.mkBrush(pg.mkColor(c).lighter(160)) for i, _, c in shown]
        self.bars.setOpts(x=[i for i, _, _ in shown], height=[h for _, h, _ in shown], width=0.7, brushes=brushes)
        errs = np.array([se.get(BARS[i][0], np.nan) for i, _, _ in shown], dtype=np.float64)
        ok = np.isfinite(errs)
        xs = np.array([i for i, _, _ in shown], dtype=np.float64)[ok]
        hs = np.array([h for _, h, _ in shown], dtype=np.float64)[ok]
        self.error_bars.setData(x=xs, y=hs, top=errs[ok], bottom=errs[ok])

        def show(key: str) -> str:
            text = bound_text(n[key], se.get(key), n["log_px"]) if key.startswith("elbo") else estimate(n[key], se.get(key))
            fit = key.removeprefix("elbo_")
            return text + (" (fitting)" if fit in provisional else "")

        rows = [("log p(x) by quadrature", estimate(n["log_px"]))]
        rows += [(f"IWAE bound L{str(k).translate(SUBSCRIPTS)}", bound_text(n[f"iwae_{k}"], se.get(f"iwae_{k}"), n["log_px"]))
                 for k in (1000, 100, 10, 1) if f"iwae_{k}" in n]
        rows += [(label, show(key)) for key, label in (
            ("elbo_q", "ELBO of q(z|x)"), ("elbo_qstar", "ELBO of q* (diagonal)"), ("elbo_qfull", "ELBO of q* (full)"),
            ("kl_q", "KL(q ‖ p(z|x))"), ("approximation_gap", "approximation gap"),
            ("amortization_gap", "amortization gap")) if key in n]
        head: list[str] = []  # the test-set table first (setting gap_table): the view's lesson, above the fold
        table = data.get("gap_table")
        if table is not None:
            head.append(f"<table cellspacing='2'><tr><td colspan='2'><i>averaged over {table['points']} test images "
                        f"(± SE over the images; q* {table['qstar_steps']} Adam steps per image)</i></td></tr>")
            for key, label in (("log_px", "log p(x) by quadrature"), ("elbo_qstar", "L[q*], best diagonal Gaussian"),
                               ("elbo_q", "L[q], the encoder"), ("approximation_gap", "approximation gap"),
                               ("amortization_gap", "amortization gap"), ("inference_gap", "inference gap")):
                head.append(f"<tr><td>{label}</td><td align='right'><b>{estimate(table[key], table[key + '_se'])}"
                            "</b></td></tr>")
            head.append("</table>")
        html = head + ["<table cellspacing='2'><tr><td colspan='2'><i>the chosen x: nats, ± one standard error</i>"
                       "</td></tr>"]
        html += [f"<tr><td>{label}</td><td align='right'><b>{value}</b></td></tr>" for label, value in rows]
        html.append("</table>")
        hmc = data.get("hmc")
        if hmc is not None:
            ess = ", ".join("–" if not np.isfinite(e) else f"{e:,.0f}" for e in hmc["ess"])
            accept = "–" if not np.isfinite(hmc["acceptance"]) else f"{hmc['acceptance']:.2f}"
            rhat = hmc.get("rhat", float("nan"))
            html.append(f"HMC: {len(hmc['samples']):,} draws from 16 chains, bulk ESS (z₁, z₂) {ess}, "
                        f"R̂ {'–' if not np.isfinite(rhat) else f'{rhat:.2f}'}, acceptance {accept}, "
                        f"step {hmc['step_size']:.3f}")
            if np.isfinite(hmc.get("travel", float("nan"))):
                html.append(f"<br>a chain moves <b>{hmc['travel']:.2f}</b> of the cloud's standard deviations per "
                            "iteration (independent draws: 1.77; a random walk's short steps: far less)")
            if np.isfinite(rhat) and rhat > 1.01:
                html.append(f"<br><b style='color:#b2182b'>⚠ the chains disagree (R̂ = {rhat:.2f} &gt; 1.01): the HMC "
                            "cloud does not represent p(z|x) yet</b>")
        if provisional:
            html.append("<br>pale bars: q* still fitting (Adam, 50 samples a step)")
        html.append(f"<br>quadrature: {self.heavy['posterior'].shape[0]}² grid in {self.heavy['grid_ms']:.0f} ms")
        self.readout.setText("".join(html))

    # -- choosing x --------------------------------------------------------------------------------------
    def choose(self, i: int) -> None:
        self.requestView.emit("example", int(i))
        self.statusMessage.emit(f"posterior of example {i}")

    def _on_latent_click(self, event) -> None:
        if event.button() != Qt.LeftButton or not self.heavy:
            return
        vb = self.latent_plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        pts = self.heavy["points"]
        self.choose(int(np.argmin((pts[:, 0] - p.x()) ** 2 + (pts[:, 1] - p.y()) ** 2)))

    def shuffle_strip(self) -> None:
        if not self.static:
            return
        n = len(self.static["eval_images"])
        self.strip_idx = self.rng.choice(n, size=min(n, STRIP_ROWS * STRIP_COLS), replace=False)
        images = self.static["eval_images"][self.strip_idx].astype(np.float32) / 255.0
        self.strip.set_image(tile(images, STRIP_ROWS, STRIP_COLS, pad=1, fill=0.5))

    def _on_strip_click(self, row: int, col: int) -> None:
        h, w = self.static["image_shape"]
        k = (row // (h + 1)) * STRIP_COLS + col // (w + 1)
        if k < len(self.strip_idx) and col // (w + 1) < STRIP_COLS:
            self.choose(int(self.strip_idx[k]))
