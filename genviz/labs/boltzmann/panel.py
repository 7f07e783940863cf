"""The Boltzmann-machine lab's views, one page per experiment: a general BM's weights (visible–visible,
visible–hidden and hidden–hidden blocks), its exact p(v) on each pattern and its fantasy particles; a DBN's
first-layer filters, p(v) of the first RBM beside the DBN's, and the DBN's samples."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter

from genviz.core.mosaic import grid_shape, tile
from genviz.ui import theme
from genviz.ui.panel import PagedPanel
from genviz.ui.plots import CurvePlot, ImagePlot, heat_plot, make_plot

PAGES = ("bm", "dbn")
RBM_COLOR, DBN_COLOR, OTHER_COLOR = "#1f77b4", "#ff7f0e", "#9e9e9e"


class PatternBars:
    """Bars of a probability per data pattern (one or two series side by side), a last bar for every other pattern,
    the data's own 1/P as a dashed line, and each pattern's picture under its bar."""

    def __init__(self, plot: pg.PlotWidget, series: int):
        self.plot = plot
        self.bars = [pg.BarGraphItem(x=[], height=[], width=0.4) for _ in range(series)]
        for b in self.bars:
            plot.addItem(b)
        self.line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(theme.colors()["text"], width=2,
                                                                          style=Qt.DashLine))
        plot.addItem(self.line)
        self.pictures = pg.ImageItem()
        plot.addItem(self.pictures)
        self.others = pg.TextItem("others", color=theme.colors()["text"], anchor=(0.5, 0.5))
        plot.addItem(self.others)
        self.picture_shape: tuple | None = None
        self.top: float | None = None  # the bars' axis reaches this high
        plot.getPlotItem().getAxis("bottom").setTicks([[]])  # the pictures name the bars
        plot.getPlotItem().getViewBox().setMouseEnabled(False, False)

    def set_patterns(self, patterns: np.ndarray) -> None:
        pics = tile(patterns.astype(np.float32), 1, len(patterns), pad=1, fill=0.5)
        # a frame of grey round each pattern, then the row of them
        self.pictures.setImage(np.pad(pics, 1, constant_values=0.5), levels=(0, 1))
        self.picture_shape = (len(patterns), patterns.shape[1])
        self.top = None

    def set_values(self, values: list[np.ndarray], other: list[float], colors: list[str]) -> None:
        n = len(values[0])
        width = 0.8 / len(values)
        top = 0.0
        for j, (bar, vals, rest, color) in enumerate(zip(self.bars, values, other, colors)):
            x = np.arange(n + 1) - 0.4 + width * (j + 0.5)
            heights = np.append(np.asarray(vals, float), rest)
            brushes = [pg.mkBrush(color)] * n + [pg.mkBrush(OTHER_COLOR if len(values) == 1 else color)]
            bar.setOpts(x=x, height=heights, width=width * 0.9, brushes=brushes, pens=[pg.mkPen(None)] * (n + 1))
            top = max(top, float(np.nanmax(heights)))
        self.line.setValue(1.0 / n)
        top = max(top, 1.5 / n)
        if self.top is not None and self.top / 1.25 <= top <= self.top:
            return  # the axes stay while the bars fit (a range set every frame re-lays the axes)
        top = self.top = top * 1.1
        if self.picture_shape is not None:
            # the pictures below the axis, one under each bar: a band 18 % of the bars' height
            self.pictures.setRect(-0.5, -0.2 * top, float(n), 0.18 * top)
        self.plot.setYRange(-0.21 * top, top, padding=0)
        self.plot.setXRange(-0.6, n + 0.9, padding=0)
        self.others.setPos(n, -0.11 * top)  # under the last bar, beside the pictures


def _mosaic(images: np.ndarray) -> np.ndarray:
    rows, cols = grid_shape(len(images))
    return tile(images.astype(np.float32), rows, cols, pad=1, fill=0.5)


class BoltzmannPanel(PagedPanel):
    MAIN_VIEWS = {"bm": "bm-distribution", "dbn": "dbn-distribution"}
    PAGES = PAGES

    def build_pages(self) -> None:
        self._build_bm()
        self._build_dbn()

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.name_views({"bm-weights": self.w_view, "bm-distribution": self.bm_dist, "bm-chains": self.bm_chains,
                         "bm-curves": self.bm_curves, "dbn-filters": self.filters, "dbn-distribution": self.dbn_dist,
                         "dbn-samples": self.dbn_samples, "dbn-curves": self.dbn_curves})

    # -- pages -----------------------------------------------------------------------------------------------
    def _build_bm(self) -> None:
        self.w_view, self.w_img = heat_plot("Weights W (visible | hidden)", "CET-D1", "weight")
        self.w_view.setLabel("bottom", "unit j")
        self.w_view.setLabel("left", "unit i")
        self.w_view.getPlotItem().getViewBox().invertY(True)
        pen = pg.mkPen(theme.colors()["text"], width=2)
        self.w_lines = [pg.InfiniteLine(angle=a, movable=False, pen=pen) for a in (0, 90)]
        for line in self.w_lines:
            self.w_view.addItem(line)
        self.bm_dist = make_plot("p(v) of each pattern, exact", "", "probability")
        self.bm_bars = PatternBars(self.bm_dist, 1)
        self.bm_chains = ImagePlot("Fantasy particles (v)", levels=(0, 1))
        page = QSplitter(Qt.Horizontal)
        for w in (self.w_view, self.bm_dist, self.bm_chains):
            page.addWidget(w)
        page.setSizes([380, 520, 300])
        self.bm_curves = CurvePlot("KL(p_data ‖ p_model), exact by enumeration", {"kl": "KL(p_data ‖ p_model)"})
        self.add_page(page, self.bm_curves)

    def _build_dbn(self) -> None:
        self.filters = ImagePlot("Layer-1 filters", levels=(0, 1))
        self.dbn_dist = make_plot("p(v), exact: first RBM (blue), DBN (orange)", "", "probability")
        self.dbn_bars = PatternBars(self.dbn_dist, 2)
        self.dbn_samples = ImagePlot("Samples", levels=(0, 1))
        page = QSplitter(Qt.Horizontal)
        for w in (self.filters, self.dbn_dist, self.dbn_samples):
            page.addWidget(w)
        page.setSizes([300, 600, 300])
        self.dbn_curves = CurvePlot("KL(p_data ‖ p), exact: the first RBM, the DBN and the DBN's bound",
                                    {"kl_rbm": "first RBM", "kl_dbn": "DBN", "kl_bound": "DBN's bound"})
        self.dbn_curves.curves["kl_rbm"].setPen(pg.mkPen(RBM_COLOR, width=2))
        self.dbn_curves.curves["kl_dbn"].setPen(pg.mkPen(DBN_COLOR, width=2))
        self.dbn_curves.curves["kl_bound"].setPen(pg.mkPen(DBN_COLOR, width=2, style=Qt.DashLine))
        self.add_page(page, self.dbn_curves)

    def restyle(self) -> None:
        pass

    # -- engine output ---------------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()
        self.select_page(info["experiment"])
        patterns = np.asarray(info["patterns"])
        if info["experiment"] == "bm":
            self.bm_bars.set_patterns(patterns)
            v = info["visible"]
            for line in self.w_lines:  # between the visible and the hidden units
                line.setValue(v)
        else:
            self.dbn_bars.set_patterns(patterns)

    def extend_curves(self, rows: dict, frame) -> None:
        self.extend_page_curves(rows)

    def show_frame(self, frame, live: bool) -> None:
        if not self.static or not frame.data:
            return
        data = frame.data
        # light frames carry the moving chains; the exact sums come with heavy ones
        if self.static["experiment"] == "bm":
            views = [lambda: self.bm_chains.set_image(_mosaic(np.asarray(data["chains"])))]
            if "kl" in data:
                views += [lambda: self._draw_weights(data), lambda: self._draw_bm_bars(data),
                          lambda: self._bm_readout(data)]
        else:
            views = [lambda: self._draw_samples(data)]
            if "kl_rbm" in data:
                views += [lambda: self._draw_filters(data), lambda: self._draw_dbn_bars(data),
                          lambda: self._dbn_readout(data)]
        self.draw_in_turns(views)

    def clear(self) -> None:
        self.cancel_drawing()
        self._w_size = None
        for plot in (self.bm_curves, self.dbn_curves):
            plot.clear_data()
        self.readout.setText("")

    # -- drawing ---------------------------------------------------------------------------------------------
    def _draw_weights(self, data: dict) -> None:
        w = np.asarray(data["weights"], np.float32)
        m = float(np.abs(w).max()) or 1.0
        self.w_img.setImage(w, levels=(-m, m))
        n = len(w)
        if getattr(self, "_w_size", None) != n:  # placed once per model: a range set every frame re-lays the axes
            self._w_size = n
            self.w_img.setRect(0, 0, n, n)
            self.w_view.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)

    def _draw_bm_bars(self, data: dict) -> None:
        self.bm_bars.set_values([data["p_patterns"]], [data["p_other"]], [RBM_COLOR])

    def _bm_readout(self, data: dict) -> None:
        se = data.get("chains_on_data_se")
        chains = f"{100 * data['chains_on_data']:.0f} %" + (f" ± {100 * se:.0f} %" if se is not None else "")
        which = "a general BM (every pair of units connected)" if self.static["connect"] == "full" else \
            "an RBM (visible–hidden weights only)"
        self.readout.setText(
            f"{self.static['visible']} visible and {self.static['hidden']} hidden units, {which}. Exact, by "
            f"enumerating all 2^{self.static['visible'] + self.static['hidden']} states: <b>KL(p_data ‖ p_model) = "
            f"{data['kl']:.3f} nats</b> (= −E log p_model(v) {data['cross_entropy']:.3f} − the data's entropy "
            f"log {len(data['p_patterns'])} = {data['entropy']:.3f}); the model puts {100 * data['data_mass']:.1f} % "
            f"of its mass on the {len(data['p_patterns'])} patterns (the bars; the grey bar: the other "
            f"{data['other_patterns']:,} images; dashed: 1/{len(data['p_patterns'])}); log Z = {data['log_z']:.3f}. "
            f"Fantasy particles on a pattern now: {chains} "
            f"(± SE over the chains).")

    def _draw_filters(self, data: dict) -> None:
        f = np.asarray(data["filters"], np.float32)
        lo, hi = f.min((1, 2), keepdims=True), f.max((1, 2), keepdims=True)
        self.filters.set_image(_mosaic((f - lo) / np.maximum(hi - lo, 1e-9)))  # each filter on its own scale

    def _draw_dbn_bars(self, data: dict) -> None:
        p_rbm = np.asarray(data["p_rbm"], float)
        values, other, colors = [p_rbm], [1 - p_rbm.sum()], [RBM_COLOR]
        if "p_dbn" in data:
            p_dbn = np.asarray(data["p_dbn"], float)
            values.append(p_dbn)
            other.append(1 - p_dbn.sum())
            colors.append(DBN_COLOR)
        else:
            values.append(np.zeros_like(p_rbm))
            other.append(0.0)
            colors.append(DBN_COLOR)
        self.dbn_bars.set_values(values, other, colors)

    def _draw_samples(self, data: dict) -> None:
        self.dbn_samples.set_image(_mosaic(np.asarray(data["fantasy"])))
        self.dbn_samples.setTitle("DBN samples: p(v | h1)" if data["stage"] == 2 else
                                  "Layer-1 chains (v)", size=theme.title_size())

    def _dbn_readout(self, data: dict) -> None:
        st = self.static
        if data["stage"] == 1:
            self.readout.setText(
                f"Layer 1 of 2: an RBM with {st['hidden']} hidden units learns the {len(data['p_rbm'])} patterns "
                f"(steps 0–{st['layer_steps']:,}). Exact <b>KL = {data['kl_rbm']:.3f} nats</b> (the data's entropy "
                f"{data['entropy']:.3f}). Then it is frozen and a second RBM learns its hidden activities.")
            return
        start = "as the first upside down (the DBN starts exactly at its likelihood)" if st["top_init"] == \
            "transpose" else "from small random weights"
        self.readout.setText(
            f"Layer 2 of 2: a second RBM on the first one's hidden activities, started {start}. Exact KL: first RBM "
            f"{data['kl_rbm']:.3f}, <b>DBN {data['kl_dbn']:.3f}</b> nats ({data['kl_rbm'] - data['kl_dbn']:+.3f} "
            f"gained); the variational bound's KL {data['kl_bound']:.3f} (the gap {data['gap']:.4f} = E KL(q(h1|v) ‖ "
            f"p(h1|v)), exact).")
