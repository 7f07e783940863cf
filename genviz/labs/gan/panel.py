"""The GAN lab's panel: real and generated samples over D's landscape, G's gradient field and
manifold mesh, mode coverage live (protocol of docs/references.md), losses and D's outputs."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from genviz.core.numbers import estimate, reverse_kl_text
from genviz.labs.gan import PRESETS
from genviz.ui import theme
from genviz.ui.panel import LabPanel
from genviz.ui.drawing import PointDrawer
from genviz.ui.plots import (HISTOGRAM_ABOVE, BarPlot, CurvePlot, add_colorbar, lock_aspect, make_plot,
                              move_points)

FAKE_COLOR = "#d62728"
LOST_AFTER = 8  # consecutive coverage evaluations without a high-quality sample


def segments_with_heads(at: np.ndarray, vec: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray]:
    """Arrow shafts and two-stroke heads as NaN-separated polylines: one curve item draws them all.
    Lengths grow with the gradient's magnitude (relative to the largest), capped at ``length``."""
    mag = np.linalg.norm(vec, axis=1)
    scale = length * np.sqrt(mag / max(float(mag.max()), 1e-12))
    unit = vec / np.maximum(mag, 1e-12)[:, None]
    tip = at + unit * scale[:, None]
    ortho = np.stack([-unit[:, 1], unit[:, 0]], 1)
    head = 0.35 * scale[:, None]
    left = tip - unit * head + ortho * head * 0.6
    right = tip - unit * head - ortho * head * 0.6
    nan = np.full_like(at, np.nan)
    pts = np.stack([at, tip, nan, left, tip, right, nan], 1).reshape(-1, 2)
    return pts[:, 0], pts[:, 1]


def mesh_lines(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A [n, n, 2] grid of points -> its rows and columns as NaN-separated polylines."""
    n = mesh.shape[0]
    nan = np.full((n, 1, 2), np.nan)
    rows = np.concatenate([mesh, nan], 1).reshape(-1, 2)
    cols = np.concatenate([mesh.transpose(1, 0, 2), nan], 1).reshape(-1, 2)
    pts = np.concatenate([rows, cols])
    return pts[:, 0], pts[:, 1]


class GanPanel(LabPanel):
    MAIN_VIEW = "samples"  # real and generated samples over D(x): what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.heavy: dict = {}
        self.best_modes: set[int] = set()
        self.lost_modes: list[int] = []
        self.zero_streak = np.zeros(0, dtype=int)

        # -- the data view ---------------------------------------------------------------------
        self.view = make_plot("Samples over D(x)", "x₁", "x₂")
        lock_aspect(self.view)
        self.heat = pg.ImageItem()
        self.heat.setZValue(-20)
        self.heat.setColorMap(self._heat_colormap())
        self.view.addItem(self.heat)
        add_colorbar(self.view, self.heat, "D(x)")
        self.mesh = pg.PlotCurveItem(pen=pg.mkPen((90, 90, 90, 160), width=1), connect="finite")
        self.field = pg.PlotCurveItem(pen=pg.mkPen("#2b2b2b", width=1.5), connect="finite")
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(40, 40, 40, 120))
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(FAKE_COLOR))
        self.fake_hist = pg.ImageItem()
        self.modes = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#1f77b4", width=2), brush=None, symbol="o")
        for z, item in enumerate((self.mesh, self.real, self.fake_hist, self.fake, self.field, self.modes)):
            item.setZValue(z)
            self.view.addItem(item)
        for item in (self.real, self.modes):
            # fixed for a run: kept as a pixmap (redrawn when they or the view's range change), so the view's
            # repaint as the generated points move costs 4.7 ms instead of 6.2-7.6 (2,000 translucent points)
            item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        legend = self.view.getPlotItem().addLegend(offset=(5, 5))
        legend.setBrush(pg.mkBrush(theme.colors()["plot_bg"]))
        legend.addItem(self.real, "real")
        legend.addItem(self.fake, "generated")
        # drawn data: the shared drawer (its points above the samples); training resets on the drawing
        self.drawer = PointDrawer(self.view, parent=self)
        self.drawer.use.connect(lambda path: self.requestSettings.emit({"data": path}, True))
        self.draw_button, self.use_drawn = self.drawer.draw_button, self.drawer.use_button

        self.show_heat = QCheckBox("D(x) heatmap")
        self.show_field = QCheckBox("G's gradient field")
        self.show_mesh = QCheckBox("G's manifold mesh")
        self.show_real = QCheckBox("real")
        for box in (self.show_heat, self.show_field, self.show_mesh, self.show_real):
            box.setChecked(True)
            box.toggled.connect(self._apply_visibility)
            box.setFocusPolicy(Qt.NoFocus)
        self.d_step_button = QPushButton("D step")
        self.d_step_button.setToolTip("One discriminator update alone, counted as a training step")
        self.d_step_button.clicked.connect(lambda: self._part_step("d"))
        self.g_step_button = QPushButton("G step")
        self.g_step_button.setToolTip("One generator update alone, counted as a training step")
        self.g_step_button.clicked.connect(lambda: self._part_step("g"))
        self.preset = self.preset_box(PRESETS, keep=("data",))
        for w in (self.d_step_button, self.g_step_button):
            w.setFocusPolicy(Qt.NoFocus)
        controls = QVBoxLayout()
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        for w in (self.show_heat, self.show_field, self.show_mesh, self.show_real):
            row1.addWidget(w)
        row1.addStretch(1)
        for w in (self.preset, self.d_step_button, self.g_step_button, self.draw_button, self.use_drawn):
            row2.addWidget(w)
        row2.addStretch(1)
        controls.addLayout(row1)
        controls.addLayout(row2)

        # -- mode coverage ---------------------------------------------------------------------
        self.coverage_text = QLabel("Mode coverage appears for the ring and the grid.")
        self.coverage_text.setWordWrap(True)
        self.coverage_text.setTextFormat(Qt.RichText)
        self.per_mode = BarPlot("High-quality samples per mode", "mode", "samples")
        self.modes_curve = CurvePlot("Modes captured", {"modes": "modes"}, y_label="modes")
        # one unit per plot: "reverse KL ×100" beside a percentage set the axis to 0-400 and its legend
        # covered the curves; the reverse KL is in the readout above, with its standard error
        self.quality_curve = CurvePlot("High-quality samples", {"hq": "% high quality"}, y_label="%")
        cov_box = QWidget()
        cov_box.setMinimumWidth(380)
        cov_lay = QVBoxLayout(cov_box)
        cov_lay.setContentsMargins(0, 0, 0, 0)
        cov_lay.addWidget(self.coverage_text)
        cov_lay.addWidget(self.per_mode, 3)
        cov_lay.addWidget(self.modes_curve, 2)
        cov_lay.addWidget(self.quality_curve, 2)
        for plot in (self.per_mode, self.modes_curve, self.quality_curve):
            plot.setMinimumHeight(110)  # readable when a caption and a banner take the window's height

        # -- the optimal discriminator (setting optimal_d) ----------------------------------------
        self.dstar_text = QLabel("Turn on the setting optimal_d (data of known density: the ring, the grid, a "
                                 "mixture) to see D* = p_data / (p_data + p_g) and the JS divergence.")
        self.dstar_text.setWordWrap(True)
        self.dstar_text.setTextFormat(Qt.RichText)
        self.dstar_view = make_plot("Optimal D*(x) = p_data / (p_data + p_g)", "x₁", "x₂")
        lock_aspect(self.dstar_view)
        self.dstar = pg.ImageItem()
        self.dstar.setZValue(-20)
        self.dstar.setColorMap(self._heat_colormap())
        self.dstar_view.addItem(self.dstar)
        add_colorbar(self.dstar_view, self.dstar, "D*(x)")
        # the data's modes; G's samples are left out: D*'s red already says where they are, and dots hid it
        self.dstar_modes = pg.ScatterPlotItem(size=12, pen=pg.mkPen("#1f77b4", width=1.5), brush=None, symbol="o")
        self.dstar_view.addItem(self.dstar_modes)
        self.js_curve = CurvePlot("Jensen–Shannon divergence", {"js": "JS (D*, KDE)", "js_bound": "learned D's bound"},
                                  y_label="nats")
        self.js_curve.reference_y = float(np.log(2.0))  # JS's maximum, disjoint supports
        dstar_box = QWidget()
        dstar_lay = QVBoxLayout(dstar_box)
        dstar_lay.setContentsMargins(0, 0, 0, 0)
        dstar_lay.addWidget(self.dstar_text)
        dstar_lay.addWidget(self.dstar_view, 3)
        dstar_lay.addWidget(self.js_curve, 2)
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(cov_box, "Mode coverage")
        self.right_tabs.addTab(dstar_box, "Optimal D* and JS")
        self._shown_optimal = False

        self.losses = CurvePlot("Losses", {"d_loss": "D loss", "g_loss": "G loss"}, y_label="loss")
        self.outputs = CurvePlot("D's mean output", {"d_real": "on real", "d_fake": "on generated"}, y_label="D(x)")
        # Goodfellow et al.'s figure: G's two losses against D(G(z)), the current fakes marked on the one in use
        self.g_curve = make_plot("G's loss against D(G(z))", "D(G(z))", "G's loss")
        self.name_views({"samples": self.view, "per-mode": self.per_mode, "modes": self.modes_curve,
                         "quality": self.quality_curve, "losses": self.losses, "d-output": self.outputs,
                         "g-loss-vs-d": self.g_curve, "optimal-d": self.dstar_view, "js": self.js_curve})
        d = np.linspace(1e-3, 1 - 1e-3, 400)
        # labelled on the curves themselves (a legend box covered them in a short plot)
        self.g_curve.plot(d, np.log1p(-d), pen=pg.mkPen("#d62728", width=2))
        self.g_curve.plot(d, -np.log(d), pen=pg.mkPen("#1f77b4", width=2))
        for text, color, x, y, anchor in (("non-saturating: −log D", "#1f77b4", 0.15, 0.3 - np.log(0.15), (0, 1)),
                                          ("minimax: log(1 − D)", "#d62728", 0.97, np.log1p(-0.97), (1, 0)),
                                          ("dots: current fakes", "#888888", 0.98, 6.8, (1, 0))):
            label = pg.TextItem(text, color=color, anchor=anchor)
            label.setPos(x, y)
            self.g_curve.addItem(label)
        self.g_marks = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(128, 128, 128, 170))  # both themes
        self.g_curve.addItem(self.g_marks)
        self.g_curve.setXRange(0, 1, padding=0.02)
        self.g_curve.setYRange(-7, 7, padding=0)
        self.g_curve_note = pg.TextItem("", anchor=(0.5, 0.5), color="#888888")
        self.g_curve.addItem(self.g_curve_note)
        self.g_curve_note.setPos(0.5, 0)

        top = QSplitter(Qt.Horizontal)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addLayout(controls)
        left_lay.addWidget(self.view, 1)
        top.addWidget(left)
        top.addWidget(self.right_tabs)
        top.setSizes([760, 460])
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.losses)
        bottom.addWidget(self.outputs)
        bottom.addWidget(self.g_curve)
        self.arrange(top, bottom, (640, 260))
        self.restyle()

    @staticmethod
    def _heat_colormap() -> pg.ColorMap:
        """Pale diverging colours (fake-looking -> neutral -> real-looking) so the points and
        arrows drawn on top stay readable."""
        if theme.current() == "dark":
            colors = ["#6b2a2a", "#1e2127", "#1f4a73"]
        else:
            colors = ["#f2b8b5", "#ffffff", "#b5d3ee"]
        return pg.ColorMap([0.0, 0.5, 1.0], colors)

    def restyle(self) -> None:
        for item, plot in ((self.heat, self.view), (self.dstar, self.dstar_view)):
            item.setColorMap(self._heat_colormap())
            plot.colorbar.setColorMap(self._heat_colormap())
        self.dstar_text.setStyleSheet("font-size: 12pt;")
        self.style_warning()
        self.coverage_text.setStyleSheet("font-size: 13pt;")
        dark = theme.current() == "dark"
        self.real.setBrush(pg.mkBrush(220, 220, 220, 120) if dark else pg.mkBrush(40, 40, 40, 120))
        self.field.setPen(pg.mkPen("#e6e6e6" if dark else "#2b2b2b", width=1.5))
        self.mesh.setPen(pg.mkPen((200, 200, 200, 150) if dark else (90, 90, 90, 160), width=1))

    # -- engine output -----------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.heavy = {}
        self.best_modes, self.lost_modes = set(), []
        self.zero_streak = np.zeros(0, dtype=int)
        real = info["real"]
        self.real.setData(real[:, 0], real[:, 1])
        modes = info.get("modes")
        self.modes.setData(*(modes.T if modes is not None else ([], [])))
        self.dstar_modes.setData(*(modes.T if modes is not None else ([], [])))
        x0, x1, y0, y1 = info.get("heat_extent", info["extent"])
        self.heat.setRect(x0, y0, x1 - x0, y1 - y0)
        self._shown_optimal = False
        x0, x1, y0, y1 = info["extent"]
        self.view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.dstar_view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        critic = info.get("critic")
        self.view.setTitle("Samples over " + ("the critic's score" if critic else "D(x)"), size=theme.title_size())
        self.outputs.setTitle("Critic's mean score" if critic else "D's mean output (probability real)", size=theme.title_size())
        self.outputs.setLabel("left", "critic's score" if critic else "D(x)")
        # mode coverage exists for mixtures with known modes: on drawn or loaded points its plots go
        for plot in (self.per_mode, self.modes_curve, self.quality_curve):
            plot.setVisible(modes is not None)
        # a critic's score is no probability: Goodfellow's figure of G's losses over D(G(z)) does not apply
        self.g_curve.setVisible(not critic)
        self.view.colorbar.axis.setLabel("critic's score" if critic else "D(x)")
        if modes is None:
            self.coverage_text.setText(f"<b>{info['dataset']}</b>: no modes to count (mode coverage is "
                                       "defined for mixtures with known modes: the ring and the grid).")
            self.per_mode.set_values(np.zeros(0))
        else:
            self.modes_curve.reference_y = float(len(modes))  # the count's axis spans 0 … all modes
            self.modes_curve.setYRange(0, len(modes), padding=0.05)
        self.g_marks.setData([], [])

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows:
            for plot, keys in ((self.losses, ("d_loss", "g_loss")), (self.outputs, ("d_real", "d_fake"))):
                for key in keys:
                    if key in rows:  # (rows of lone D or G steps carry only their own)
                        plot.append(key, rows["step"], rows[key])
        if frame is not None:
            self._record_coverage(frame.data, frame.step)
            opt = frame.data.get("optimal")
            if opt is not None:
                self.js_curve.append("js", [frame.step], [opt["js"]])
                if "js_bound" in opt:
                    self.js_curve.append("js_bound", [frame.step], [opt["js_bound"]])

    def show_frame(self, frame, live: bool) -> None:
        data, step = frame.data, frame.step
        self.heavy = data
        self.draw_in_turns([lambda: self._draw_samples(data), lambda: self._draw_landscape(data),
                            lambda: self._draw_coverage(data, step, live=live), lambda: self._draw_g_curve(data),
                            lambda: self._draw_optimal(data)])

    def _draw_optimal(self, data: dict) -> None:
        opt = data.get("optimal")
        if opt is None:
            self.dstar.clear()
            return
        if not self._shown_optimal:  # the first D* of a run brings its tab forward
            self._shown_optimal = True
            self.right_tabs.setCurrentIndex(1)
        # blank (NaN) where neither density is appreciable: drawn as ½, the colour of "either answer is optimal"
        self.dstar.setImage(np.nan_to_num(np.asarray(opt["d_star"], np.float32), nan=0.5), levels=(0.0, 1.0))
        x0, x1, y0, y1 = self.static["extent"]  # D* covers the data's extent (the experiment's grid)
        self.dstar.setRect(x0, y0, x1 - x0, y1 - y0)
        js = estimate(opt["js"], opt["js_se"])
        if "js_bound" in opt:
            bound = (f"the learned D proves JS ≥ log 2 − L_D/2 = <b>{estimate(opt['js_bound'], opt['js_bound_se'])}"
                     "</b> (equal when D = D*)")
        else:
            bound = "no bound from this D (its loss is not the cross-entropy, or it is packed)"
        self.dstar_text.setText(
            f"JS(p_data ‖ p_g) ≈ <b>{js} nats</b> (at most log 2 = 0.693)<br>{bound}<br>"
            f"<span style='font-size:10pt'>p_data exact; p_g a kernel density estimate of {opt['n_kde']:,} of G's "
            f"samples (bandwidth {opt['bandwidth']:.3g}, chosen on held-out samples); ± is the Monte Carlo SE, the "
            f"KDE's smoothing bias is not in it. At equilibrium p_g = p_data: D* = ½ everywhere, JS = 0.</span>")

    def _draw_g_curve(self, data: dict) -> None:
        d = data.get("d_of_fake")
        if d is None:  # a critic's score is no probability: the figure is about the classic losses
            self.g_marks.setData([], [])
            self.g_curve_note.setText("a critic (WGAN, hinge): no D(G(z)) probability" if self.static.get("critic") else "")
            return
        d = np.clip(np.asarray(d, dtype=np.float64), 1e-3, 1 - 1e-3)
        loss = self.static.get("loss")
        self.g_marks.setData(d, np.log1p(-d) if loss == "minimax" else -np.log(d))
        self.g_curve_note.setText("" if loss in ("minimax", "nonsat") else f"{loss}: G's loss is not drawn here")

    def _draw_samples(self, data: dict) -> None:
        fake = data["fake"]
        if len(fake) > HISTOGRAM_ABOVE:
            self.fake.setData([], [])
            x0, x1, y0, y1 = self.static["extent"]
            counts, _, _ = np.histogram2d(fake[:, 1], fake[:, 0], bins=160, range=[[y0, y1], [x0, x1]])
            img = np.log1p(counts).astype(np.float32)
            self.fake_hist.setImage(img, levels=(0, max(1e-6, float(img.max()))))
            self.fake_hist.setRect(x0, y0, x1 - x0, y1 - y0)
        else:
            self.fake_hist.clear()
            move_points(self.fake, fake[:, 0], fake[:, 1])
        self.mesh.setData(*mesh_lines(data["mesh"]))

    def _data_part(self, heat: np.ndarray) -> np.ndarray:
        """The part of the heat image over the data's extent (the image covers a wider square)."""
        x0, x1, y0, y1 = self.static["extent"]
        hx0, hx1, hy0, hy1 = self.static.get("heat_extent", self.static["extent"])
        ny, nx = heat.shape
        i0, i1 = int((y0 - hy0) / (hy1 - hy0) * ny), int(np.ceil((y1 - hy0) / (hy1 - hy0) * ny))
        j0, j1 = int((x0 - hx0) / (hx1 - hx0) * nx), int(np.ceil((x1 - hx0) / (hx1 - hx0) * nx))
        part = heat[max(0, i0):i1, max(0, j0):j1]
        return part if part.size else heat

    def _draw_landscape(self, data: dict) -> None:
        heat = data["heat"]
        if self.static.get("critic"):
            inner = self._data_part(heat)  # the colour scale follows the score where the data are
            lo, hi = float(np.percentile(inner, 1)), float(np.percentile(inner, 99))
            mid, half = (lo + hi) / 2, max((hi - lo) / 2, 1e-6)
            levels = (mid - half, mid + half)
        else:
            levels = (0.0, 1.0)
        self.heat.setImage(heat.astype(np.float32), levels=levels)
        x0, x1, y0, y1 = self.static.get("heat_extent", self.static["extent"])
        self.heat.setRect(x0, y0, x1 - x0, y1 - y0)
        x0, x1 = self.static["extent"][:2]
        spacing = (x1 - x0) / 20  # the field's grid spacing: 21 points over the data's extent
        self.field.setData(*segments_with_heads(data["field_at"], data["field"], 0.9 * spacing))

    def _record_coverage(self, data: dict, step: int) -> None:
        """The coverage curves and the lost-mode count: once per evaluation, in training order."""
        cov = data.get("coverage")
        if cov is None:
            return
        per_mode = np.asarray(cov["per_mode"])
        if len(self.zero_streak) != len(per_mode):
            self.zero_streak = np.zeros(len(per_mode), dtype=int)
        self.zero_streak = np.where(per_mode > 0, 0, self.zero_streak + 1)
        self.best_modes |= set(np.flatnonzero(per_mode > 0).tolist())
        # a mode counts as lost once it was captured and then stayed empty for several evaluations,
        # so the note marks a real collapse, not one noisy batch of 2500 samples
        self.lost_modes = sorted(m for m in self.best_modes if self.zero_streak[m] >= LOST_AFTER)
        self.modes_curve.append("modes", [step], [cov["modes"]])
        self.quality_curve.append("hq", [step], [cov["hq_percent"]])

    def _draw_coverage(self, data: dict, step: int, live: bool = True) -> None:
        cov = data.get("coverage")
        if cov is None:
            return
        per_mode = np.asarray(cov["per_mode"])
        c = theme.colors()
        brushes = [theme.CURVE_COLORS[0] if v > 0 else c["warn_fg"] for v in per_mode]
        self.per_mode.set_values(per_mode, brushes)
        rkl = cov["reverse_kl"]
        rkl_text = f"<b>{reverse_kl_text(cov)}</b>" if np.isfinite(rkl) else reverse_kl_text(cov)
        self.coverage_text.setText(
            f"modes captured <b>{cov['modes']} / {cov['n_modes']}</b> &nbsp; · &nbsp; high quality "
            f"<b>{estimate(cov['hq_percent'], cov.get('hq_percent_se'))}&nbsp;%</b> &nbsp; · &nbsp; reverse KL {rkl_text}<br>"
            f"<span style='font-size:10pt'>2500 samples; high quality = within 3 std of the nearest mode "
            f"(perfect: ≈ 98.9 %)</span>")
        if not live:
            return  # a step from the timeline: the warning keeps describing the training as it is now
        if self.lost_modes:
            self.warning.setText(f"⚠ Modes lost by step {step:,}: {', '.join(map(str, self.lost_modes))} — captured "
                                 f"earlier, now without a high-quality sample in the last {LOST_AFTER} evaluations: "
                                 "mode collapse in action.")
            self.warning.show()
        else:
            self.warning.hide()

    def clear(self) -> None:
        self.cancel_drawing()
        self.heavy = {}
        self.best_modes, self.lost_modes = set(), []
        self.zero_streak = np.zeros(0, dtype=int)
        for plot in (self.losses, self.outputs, self.modes_curve, self.quality_curve, self.js_curve):
            plot.clear_data()
        self.dstar.clear()
        self.fake.setData([], [])
        self.fake_hist.clear()
        self.heat.clear()
        self.field.setData([], [])
        self.mesh.setData([], [])
        self.per_mode.set_values(np.zeros(0))
        self.warning.hide()

    def _apply_visibility(self) -> None:
        self.heat.setVisible(self.show_heat.isChecked())
        self.field.setVisible(self.show_field.isChecked())
        self.mesh.setVisible(self.show_mesh.isChecked())
        self.real.setVisible(self.show_real.isChecked())

    # -- interaction ---------------------------------------------------------------------------
    def _part_step(self, part: str) -> None:
        self.requestStep.emit(1, part, {})
        self.statusMessage.emit(f"one {part.upper()} update alone: counted as a training step, in the history")

    def add_drawn_point(self, x: float, y: float) -> None:
        self.drawer.add_point(x, y)
