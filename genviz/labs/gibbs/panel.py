"""The Gibbs-chain lab's panel: the live grid of chains, a film strip of half-steps, clamping
(halves or painted pixels), the filters, hidden-unit probabilities, curves and chain diagnostics."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from genviz.core.mosaic import grid_shape, tile
from genviz.core.numbers import estimate
from genviz.ui import theme
from genviz.ui.panel import LabPanel
from genviz.ui.plots import CurvePlot, ImagePlot, make_plot

FILM_CELL_PAD = 1


def hidden_image(h: np.ndarray) -> np.ndarray:
    """Hidden units laid out as a near-square image (unused cells at 0.5 grey)."""
    rows, cols = grid_shape(len(h))
    out = np.full(rows * cols, 0.5, np.float32)
    out[: len(h)] = h
    return out.reshape(rows, cols)


def fit_cell(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize into a cell of the film strip."""
    ys = (np.arange(shape[0]) * img.shape[0] / shape[0]).astype(int)
    xs = (np.arange(shape[1]) * img.shape[1] / shape[1]).astype(int)
    return img[ys][:, xs]


class PaintImage(ImagePlot):
    """The chosen image with the clamp mask over it; with 'clamp = painted', drag with the left
    button to fix pixels, with the right button to free them."""

    def __init__(self, on_painted):
        super().__init__("Chosen image", levels=(0, 1))
        self.on_painted = on_painted
        self.enabled = False
        self.mask: np.ndarray | None = None
        self.base: np.ndarray | None = None
        self.overlay = pg.ImageItem()
        self.overlay.setZValue(5)
        self.addItem(self.overlay)
        self._painting = 0

    def set_content(self, image: np.ndarray, mask: np.ndarray | None, editable: bool) -> None:
        self.base, self.enabled = image, editable
        if mask is not None and not self._painting:
            self.mask = mask.reshape(image.shape).astype(bool)
        elif self.mask is None or self.mask.shape != image.shape:
            self.mask = np.zeros(image.shape, bool)
        self.set_image(image)
        self._draw_mask()

    def _draw_mask(self) -> None:
        rgba = np.zeros(self.mask.shape + (4,), np.ubyte)
        rgba[self.mask] = (230, 40, 40, 110)
        self.overlay.setImage(rgba, autoLevels=False)

    def _pixel(self, ev):
        p = self.item.mapFromScene(self.mapToScene(ev.position().toPoint()))
        r, c = int(p.y()), int(p.x())
        if self.mask is not None and 0 <= r < self.mask.shape[0] and 0 <= c < self.mask.shape[1]:
            return r, c
        return None

    def paint_at(self, r: int, c: int, value: bool) -> None:
        self.mask[r, c] = value
        self._draw_mask()

    def mousePressEvent(self, ev):
        if not self.enabled or self.mask is None:
            return super().mousePressEvent(ev)
        self._painting = 1 if ev.button() == Qt.LeftButton else -1
        self.mouseMoveEvent(ev)

    def mouseMoveEvent(self, ev):
        if self._painting and (px := self._pixel(ev)) is not None:
            self.paint_at(*px, self._painting > 0)
        elif not self._painting:
            super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev):
        if self._painting:
            self._painting = 0
            self.on_painted(self.mask.copy())
        else:
            super().mouseReleaseEvent(ev)


class GibbsPanel(LabPanel):
    MAIN_VIEW = "chains"  # the Gibbs chains: what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.chains_view = ImagePlot("Gibbs chains (current visible state)", levels=(0, 1))
        self.film_view = ImagePlot("Chain 1 by half-steps: v, h, v, h, … (newest right)", levels=(0, 1))
        self.filters_view = ImagePlot("Filters: columns of W", levels=(0, 1))
        self.hidden_view = ImagePlot("P(h = 1 | v), chain 1", levels=(0, 1))
        self.paint_view = PaintImage(self._paint)
        self.paint_view.setToolTip("Red pixels are clamped. With clamp = painted: drag with the left button to "
                                   "clamp pixels, with the right button to free them")

        self.curves = CurvePlot("Training", {"recon_error": "reconstruction error"}, y_label="mean squared error")
        self.free = CurvePlot("Free energy", {"free_energy_data": "test data", "free_energy_chains": "chains"},
                              y_label="F(v)")
        self.ll = CurvePlot("Log-likelihood", {"pseudo_ll": "pseudo-LL",
                                                         "ais_ll": "AIS test LL"}, y_label="nats")
        self.ll.curves["ais_ll"].setSymbol("o")
        self.ll.curves["ais_ll"].setSymbolSize(8)
        # each AIS estimate keeps its ±3σ interval on the plot and in the readout, not only as a dot
        self.ais_bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0),
                                        beam=0.0, pen=pg.mkPen("#d62728", width=2))
        self.ll.addItem(self.ais_bars)
        self.ais_results: list[tuple[int, float, float, float]] = []  # step, LL, low, high
        self.ais_text = ""
        self.acf = make_plot("Autocorrelation of F(v)", "lag (Gibbs steps)", "ACF")
        self.name_views({"chains": self.chains_view, "film": self.film_view, "filters": self.filters_view,
                         "hidden-probabilities": self.hidden_view, "chosen-image": self.paint_view,
                         "training": self.curves, "free-energy": self.free, "log-likelihood": self.ll,
                         "autocorrelation": self.acf})
        self.acf_curve = self.acf.plot([], [], pen=pg.mkPen("#1f77b4", width=2))
        self.acf.setYRange(-0.2, 1.0)
        self.acf.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#888", style=Qt.DashLine)))

        self.half_button = QPushButton("½ step")
        self.half_button.setToolTip("One half-step of every chain: sample h from v, or v from h")
        self.half_button.clicked.connect(lambda: self.requestStep.emit(1, "half", {}))
        self.restart_button = QPushButton("Restart chains")
        self.restart_button.setToolTip("Restart the chains from noise, data or the chosen image (setting 'start')")
        self.restart_button.clicked.connect(lambda: self.requestStep.emit(1, "restart", {}))
        self.ais_button = QPushButton("Estimate log-likelihood (AIS)")
        self.ais_button.setToolTip("Annealed importance sampling on a copy of the model, in the background")
        self.ais_button.clicked.connect(lambda: self.requestQuery.emit("ais", {}))
        self.ais_progress = QProgressBar()
        self.ais_progress.setRange(0, 1000)
        self.ais_progress.setMaximumWidth(180)
        self.ais_progress.hide()
        for b in (self.half_button, self.restart_button, self.ais_button):
            b.setFocusPolicy(Qt.NoFocus)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)

        buttons = QHBoxLayout()
        for w in (self.half_button, self.restart_button, self.ais_button, self.ais_progress):
            buttons.addWidget(w)
        buttons.addStretch(1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(buttons)
        ll.addWidget(self.chains_view, 3)
        ll.addWidget(self.film_view, 1)
        side = QWidget()
        grid = QGridLayout(side)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.filters_view, 0, 0, 1, 2)
        grid.addWidget(self.paint_view, 1, 0)
        grid.addWidget(self.hidden_view, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        top = QSplitter(Qt.Horizontal)
        top.addWidget(left)
        top.addWidget(side)
        top.setSizes([560, 440])
        bottom = QSplitter(Qt.Horizontal)
        for w in (self.curves, self.free, self.ll, self.acf):
            bottom.addWidget(w)
        lower = QWidget()
        lo = QVBoxLayout(lower)
        lo.setContentsMargins(0, 0, 0, 0)
        lo.addWidget(self.readout)
        lo.addWidget(bottom, 1)
        self.arrange(top, lower, (620, 300))
        self._last_ais = None

    def restyle(self) -> None:
        pass

    # -- engine output -------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows and "recon_error" in rows:
            self.curves.append("recon_error", rows["step"], rows["recon_error"])
        if frame is not None and frame.heavy and "filters" in frame.data:
            for key in ("free_energy_data", "free_energy_chains"):
                self.free.append(key, [frame.step], [frame.data[key]])
            self.ll.append("pseudo_ll", [frame.step], [frame.data["pseudo_ll"]])

    def show_frame(self, frame, live: bool) -> None:
        if not self.static:
            return
        data, step = frame.data, frame.step
        views = [lambda: self._draw_chains(data), lambda: self._draw_film(data)]
        if frame.heavy and "filters" in data:
            views += [lambda: self._draw_filters(data), lambda: self._draw_side(data),
                      lambda: self._draw_readout(data, step)]
        self._ais(data.get("ais") or {})
        self.draw_in_turns(views)

    def _draw_chains(self, data: dict) -> None:
        h, w = self.static["image_shape"]
        chains = data["chains"].reshape(-1, h, w).astype(np.float32)
        rows, cols = grid_shape(len(chains))
        self.chains_view.set_image(tile(chains, rows, cols, pad=1, fill=0.35))
        title = f"{len(chains)} Gibbs chains after {data['chain_steps']:,} Gibbs steps (next: sample {data['next_half']})"
        # a new count re-lays the plot at every frame (35 a second); read at a glance, it changes twice a second
        self.at_most("the chains' title", 0.5, lambda: self.chains_view.setTitle(title, size=theme.title_size()))

    def _draw_film(self, data: dict) -> None:
        h, w = self.static["image_shape"]
        cells = []
        for kind, img in data["film"]:
            img = img.astype(np.float32)
            cell = img.reshape(h, w) if kind == "v" else fit_cell(hidden_image(img), (h, w))
            cells.append(cell)
        self.film_view.set_image(tile(np.stack(cells), 1, 12, pad=FILM_CELL_PAD, fill=0.35))
        self.hidden_view.set_image(hidden_image(data["hidden_p"]))

    def _draw_filters(self, data: dict) -> None:
        h, w = self.static["image_shape"]
        f = data["filters"].astype(np.float32)
        lo, hi = f.min(1, keepdims=True), f.max(1, keepdims=True)
        f = (f - lo) / np.maximum(hi - lo, 1e-9)  # each filter on its own scale
        rows, cols = grid_shape(len(f))
        self.filters_view.set_image(tile(f.reshape(-1, h, w), rows, cols, pad=1, fill=0.5))

    def _draw_side(self, data: dict) -> None:
        h, w = self.static["image_shape"]
        editable = data.get("clamp") == "painted"
        self.paint_view.set_content(data["reference"].reshape(h, w), data.get("mask"), editable)
        acf = data.get("autocorrelation")
        if acf is not None and len(acf):
            self.acf_curve.setData(np.arange(len(acf)), acf)

    def _draw_readout(self, data: dict, step: int) -> None:
        pll = estimate(data["pseudo_ll"], data.get("pseudo_ll_se"), 2)
        f_data = estimate(data["free_energy_data"], data.get("free_energy_data_se"), 2)
        f_chains = estimate(data["free_energy_chains"], data.get("free_energy_chains_se"), 2)
        parts = [f"pseudo-likelihood <b>{pll}</b> nats", f"mean free energy: test data <b>{f_data}</b>, chains <b>{f_chains}</b>"]
        if "class_switch_rate" in data:
            se = data.get("class_switch_rate_se")
            rate = estimate(100 * data["class_switch_rate"], None if se is None else 100 * se, 1)
            parts.append(f"chains change class on <b>{rate} %</b> of steps (nearest class mean)")
        acf = data.get("autocorrelation")
        if acf is not None and len(acf) > 1:
            lag = data.get("decorrelation_steps")
            parts.append(f"F(v) decorrelates (ACF &lt; 0.1) after <b>{lag}</b> Gibbs steps" if lag is not None
                         else f"F(v) still correlated after {len(acf) - 1} steps")
        if self.ais_text:
            parts.append(self.ais_text)
        self.readout.setText(" &nbsp;·&nbsp; ".join(parts))

    def _ais(self, ais: dict) -> None:
        running = bool(ais.get("running"))
        self.ais_progress.setVisible(running)
        self.ais_button.setEnabled(not running)
        if running:
            self.ais_progress.setValue(int(1000 * ais.get("progress", 0)))
        if "error" in ais:
            self.statusMessage.emit(f"AIS failed: {ais['error']}")
        if "test_ll" in ais:
            key = (ais["step"], ais["test_ll"])
            if self._last_ais != key:
                self._last_ais = key
                self.ll.append("ais_ll", [ais["step"]], [ais["test_ll"]])
                self.ll.redraw()
                self.ais_results.append((ais["step"], ais["test_ll"], ais["ll_low"], ais["ll_high"]))
                r = np.array(self.ais_results, dtype=np.float64)
                self.ais_bars.setData(x=r[:, 0], y=r[:, 1], top=r[:, 3] - r[:, 1], bottom=r[:, 1] - r[:, 2])
                self.ais_text = (f"AIS at step {ais['step']:,}: test LL <b>{ais['test_ll']:.2f}</b> nats "
                                 f"(±3σ: {ais['ll_low']:.2f} … {ais['ll_high']:.2f})")
                self.statusMessage.emit(
                    f"AIS at step {ais['step']}: test log-likelihood {ais['test_ll']:.2f} nats "
                    f"(±3σ interval {ais['ll_low']:.2f} … {ais['ll_high']:.2f}; {ais['runs']} runs, "
                    f"{ais['temperatures']} temperatures, log Z = {ais['log_z']:.2f}, {ais['seconds']:.1f} s)")

    def _paint(self, mask) -> None:
        self.requestStep.emit(1, "paint", {"mask": mask})
        self.statusMessage.emit(f"{int(np.asarray(mask, bool).sum())} pixels clamped (a counted step)")

    def clear(self) -> None:
        self.cancel_drawing()
        for c in (self.curves, self.free, self.ll):
            c.clear_data()
        for v in (self.chains_view, self.film_view, self.filters_view, self.hidden_view):
            v.clear_image()
        self.acf_curve.setData([], [])
        self.readout.setText("")
        self._last_ais = None
        self.ais_results, self.ais_text = [], ""
        self.ais_bars.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0))
