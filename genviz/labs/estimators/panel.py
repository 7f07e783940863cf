"""The gradient-estimator lab's views, one page per experiment: histograms of single-sample estimates
around the exact gradient and their variance against the number of samples; the Gumbel-softmax
relaxation's bias and variance against its temperature; a VAE trained with each estimator; wake-sleep's
exact log p(x), fantasies and q(h | x) against the exact posterior."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter

from genviz.core.mosaic import grid_shape, tile
from genviz.core.numbers import estimate
from genviz.ui import theme
from genviz.ui.panel import PagedPanel
from genviz.ui.plots import CurvePlot, ImagePlot, add_colorbar, keyed, make_plot, outside_legend

PAGES = ("variance", "discrete", "vae", "wake-sleep", "iwae", "vamp", "ardecoder")
COLORS = {"sf": "#d62728", "sf-baseline": "#ff7f0e", "reparam": "#1f77b4", "gumbel": "#2ca02c",
          "wake-sleep": "#d62728", "rws": "#1f77b4", "sf-elbo": "#ff7f0e",
          "k1": "#d62728", "k5": "#ff7f0e", "k50": "#1f77b4", "standard": "#d62728", "vamp": "#1f77b4",
          "factorized": "#1f77b4", "autoregressive": "#d62728"}
IWAE = ("k1", "k5", "k50")
NAMES = {"sf": "score function", "sf-baseline": "score function + baseline", "reparam": "reparameterization",
         "gumbel": "Gumbel-softmax", "wake-sleep": "wake-sleep", "rws": "reweighted wake-sleep",
         "sf-elbo": "score-function ELBO + baseline", "k1": "VAE (k = 1)", "k5": "IWAE k = 5", "k50": "IWAE k = 50",
         "standard": "standard normal prior", "vamp": "VampPrior", "factorized": "factorized decoder",
         "autoregressive": "autoregressive decoder (MADE)"}
ESTIMATES_EVERY = 0.33  # seconds: the variance and discrete experiments' histograms and table are drawn at most this often


def pm(mean: float, se) -> str:
    return estimate(mean, se) if se else f"{mean:.3g}"


class EstimatorsPanel(PagedPanel):
    # per experiment, what the compare view shows of each run
    MAIN_VIEWS = {"variance": "estimates", "discrete": "discrete-estimates", "vae": "test-elbo",
                  "wake-sleep": "posterior-wake-sleep", "iwae": "iwae-nll", "vamp": "prior-vamp",
                  "ardecoder": "ar-kl"}
    PAGES = PAGES

    def build_pages(self) -> None:
        self._build_continuous()
        self._build_discrete()
        self._build_vae()
        self._build_ws()
        self._build_iwae()
        self._build_vamp()
        self._build_ar()

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.name_views({"estimates": self.hist_view, "variance-vs-samples": self.var_view,
                         "discrete-estimates": self.dhist_view, "temperature": self.tau_view,
                         "vae-curves": self.vae_curves, "ws-curves": self.ws_curves,
                         "iwae-nll": self.iwae_nll, "iwae-active": self.iwae_active, "iwae-units": self.iwae_units,
                         "iwae-curves": self.iwae_curves, "prior-standard": self.prior_views["standard"],
                         "prior-vamp": self.prior_views["vamp"], "vamp-kl": self.vamp_kl, "vamp-curves": self.vamp_curves,
                         "ar-kl": self.ar_kl, "ar-nll": self.ar_nll, "ar-curves": self.ar_curves,
                         **{f"ar-samples-{m}": v for m, v in self.ar_samples.items()},
                         **{f"fantasies-{m}": v for m, v in self.fantasy_views.items()},
                         **{f"posterior-{m}": v for m, v in self.post_views.items()}})

    # -- pages ---------------------------------------------------------------------------------------------
    def _hist_items(self, plot, names) -> dict:
        items = {}
        for name in names:
            items[name] = plot.plot([], [], stepMode="center", pen=pg.mkPen(COLORS[name], width=2),
                                    name=NAMES[name])
        return items

    def _build_continuous(self) -> None:
        self.hist_view = make_plot("Estimates of d/dμ E_q[f]; exact (black)", "single-sample estimate",
                                   "density")
        outside_legend(self.hist_view, "below", columns=2)  # inside, it covered the tallest bars
        self.hists = self._hist_items(self.hist_view, ("sf", "sf-baseline", "reparam"))
        self.exact_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.colors()["text"], width=2))
        self.hist_view.addItem(self.exact_line)
        self.var_view = make_plot("Variance of n-sample averages; closed form / n (dashed)",
                                  "samples n", "variance")
        self.var_view.getPlotItem().setLogMode(True, True)
        self.var_dots = {n: self.var_view.plot([], [], pen=None, symbol="o", symbolSize=8, symbolPen=None,
                                               symbolBrush=COLORS[n]) for n in ("sf", "sf-baseline", "reparam", "gumbel")}
        self.var_lines = {n: self.var_view.plot([], [], pen=pg.mkPen(COLORS[n], width=1, style=Qt.DashLine))
                          for n in ("sf", "sf-baseline", "reparam")}
        page = QSplitter(Qt.Horizontal)
        page.addWidget(self.hist_view)
        page.addWidget(self.var_view)
        self.var_curves = CurvePlot("Mean of the last 8,192 estimates of each estimator (the target: the exact gradient)",
                                    {"mean_sf": "score function", "mean_sf-baseline": "with baseline",
                                     "mean_reparam": "reparameterization"}, y_label="gradient")
        self.var_curves.setObjectName("variance-means")
        for key, name in (("mean_sf", "sf"), ("mean_sf-baseline", "sf-baseline"), ("mean_reparam", "reparam")):
            self.var_curves.curves[key].setPen(pg.mkPen(COLORS[name], width=2))
        self.add_page(page, self.var_curves)

    def _build_discrete(self) -> None:
        self.dhist_view = make_plot("Estimates of ∂E[f]/∂logit₁; exact (black)", "single-sample estimate",
                                    "density")
        outside_legend(self.dhist_view, "below", columns=2)  # inside, it covered the score-function spikes
        self.dhists = self._hist_items(self.dhist_view, ("sf", "sf-baseline", "gumbel"))
        self.dexact_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.colors()["text"], width=2))
        self.dhist_view.addItem(self.dexact_line)
        self.tau_view = make_plot(keyed("Gumbel-softmax over the temperature",
                                        "|bias| (green; hollow: within 2 SE), variance (grey)"), "temperature τ",
                                  "per estimate")
        self.tau_view.getPlotItem().setLogMode(True, True)
        self.tau_bias = self.tau_view.plot([], [], pen=pg.mkPen(COLORS["gumbel"], width=3), symbol="o",
                                           symbolBrush=COLORS["gumbel"], symbolPen=None)
        self.tau_var = self.tau_view.plot([], [], pen=pg.mkPen("#7f7f7f", width=2, style=Qt.DashLine), symbol="s",
                                          symbolBrush="#7f7f7f", symbolPen=None)
        self.tau_now = pg.InfiniteLine(angle=90, pen=pg.mkPen(COLORS["gumbel"], width=1, style=Qt.DotLine))
        self.tau_view.addItem(self.tau_now)
        page = QSplitter(Qt.Horizontal)
        page.addWidget(self.dhist_view)
        page.addWidget(self.tau_view)
        self.disc_curves = CurvePlot("Mean of the last 8,192 estimates of each estimator", {
            "mean_sf": "score function", "mean_sf-baseline": "with baseline", "mean_gumbel": "Gumbel-softmax"},
            y_label="gradient")
        self.disc_curves.setObjectName("discrete-means")
        for key, name in (("mean_sf", "sf"), ("mean_sf-baseline", "sf-baseline"), ("mean_gumbel", "gumbel")):
            self.disc_curves.curves[key].setPen(pg.mkPen(COLORS[name], width=2))
        self.add_page(page, self.disc_curves)

    def _build_vae(self) -> None:
        self.vae_curves = CurvePlot("One VAE, three gradient estimators, same start and minibatches: train ELBO",
                                    {"elbo_reparam": "reparameterization", "elbo_sf": "score function",
                                     "elbo_sf-baseline": "score function + baseline"}, y_label="nats per image")
        for key, name in (("elbo_reparam", "reparam"), ("elbo_sf", "sf"), ("elbo_sf-baseline", "sf-baseline")):
            self.vae_curves.curves[key].setPen(pg.mkPen(COLORS[name], width=2))
        self.vae_test = CurvePlot("Test ELBO (10 draws per image)", {m: NAMES[m] for m in ("reparam", "sf", "sf-baseline")},
                                  y_label="nats per image")
        for m in ("reparam", "sf", "sf-baseline"):
            self.vae_test.curves[m].setPen(pg.mkPen(COLORS[m], width=3))
        self.add_page(self.vae_test, self.vae_curves)

    def _build_ws(self) -> None:
        self.ws_curves = CurvePlot("Exact test log p(x) (sum over every latent state)",
                                   {m: NAMES[m] for m in ("wake-sleep", "rws", "sf-elbo")}, y_label="nats per image")
        for m in ("wake-sleep", "rws", "sf-elbo"):
            self.ws_curves.curves[m].setPen(pg.mkPen(COLORS[m], width=3))
        grid = QSplitter(Qt.Horizontal)
        self.fantasy_views, self.post_views, self.post_bars = {}, {}, {}
        for m in ("wake-sleep", "rws", "sf-elbo"):
            col = QSplitter(Qt.Vertical)
            fv = ImagePlot(f"{m}: fantasies x ~ p", levels=(0, 1))
            pv = make_plot("p(h_j=1|x) exact (grey), q (colour)", "latent j", "probability")
            pv.setYRange(0, 1, padding=0.02)
            bars = (pg.BarGraphItem(x=[], height=[], width=0.4, brush=pg.mkBrush("#9e9e9e"), pen=None),
                    pg.BarGraphItem(x=[], height=[], width=0.4, brush=pg.mkBrush(COLORS[m]), pen=None))
            for b in bars:
                pv.addItem(b)
            col.addWidget(fv)
            col.addWidget(pv)
            grid.addWidget(col)
            self.fantasy_views[m], self.post_views[m], self.post_bars[m] = fv, pv, bars
        self.add_page(grid, self.ws_curves)

    def _build_iwae(self) -> None:
        self.iwae_nll = CurvePlot("Test −log p(x), estimated by L₅₀₀ (lower is better)",
                                  {m: NAMES[m] for m in IWAE}, y_label="nats per image")
        self.iwae_active = CurvePlot("Active latent units (Cov_x E_q[z_j|x] > 0.01)", {m: NAMES[m] for m in IWAE},
                                     y_label="units")
        for m in IWAE:
            self.iwae_nll.curves[m].setPen(pg.mkPen(COLORS[m], width=3))
            self.iwae_active.curves[m].setPen(pg.mkPen(COLORS[m], width=3))
        # each unit's activity, side by side per model (log scale: the 0.01 threshold is a line)
        self.iwae_units = make_plot("Activity of each latent unit, log₁₀ Cov_x E_q[z_j|x] (dashed: active above)",
                                    "latent unit j", "log₁₀ activity")
        self.iwae_bars = {}
        for i, m in enumerate(IWAE):
            bar = pg.BarGraphItem(x=[], height=[], width=0.27, brush=pg.mkBrush(COLORS[m]), pen=None, name=NAMES[m])
            self.iwae_units.addItem(bar)
            self.iwae_bars[m] = bar
        self.iwae_units.addLine(y=np.log10(0.01), pen=pg.mkPen("#555555", width=1.5, style=Qt.DashLine))
        self.iwae_curves = CurvePlot("Three copies of one VAE, same start and minibatches: the training bound L_k",
                                     {f"bound_{m}": NAMES[m] for m in IWAE}, y_label="nats per image")
        for m in IWAE:
            self.iwae_curves.curves[f"bound_{m}"].setPen(pg.mkPen(COLORS[m], width=2))
        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.iwae_nll)
        top.addWidget(self.iwae_active)
        views = QSplitter(Qt.Vertical)
        views.addWidget(top)
        views.addWidget(self.iwae_units)
        self.add_page(views, self.iwae_curves)

    def _build_vamp(self) -> None:
        self.prior_views, self.prior_imgs, self.prior_points = {}, {}, {}
        row = QSplitter(Qt.Horizontal)
        for m in ("standard", "vamp"):
            plot = make_plot(keyed(f"{NAMES[m][0].upper()}{NAMES[m][1:]} p(z)", "shading; dots: encoder means of training images"),
                             "z₁", "z₂")
            plot.setAspectLocked(True)
            img = pg.ImageItem()
            img.setZValue(-20)
            img.setColorMap(pg.ColorMap([0.0, 1.0], ["#ffffff", "#6a51a3"]))
            plot.addItem(img)
            add_colorbar(plot, img, "p(z)")
            pts = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(COLORS[m]))
            plot.addItem(pts)
            row.addWidget(plot)
            self.prior_views[m], self.prior_imgs[m], self.prior_points[m] = plot, img, pts
        self.vamp_kl = CurvePlot("KL(q(z) ‖ p(z)): the prior against the aggregate posterior (500 training images)",
                                 {m: NAMES[m] for m in ("standard", "vamp")}, y_label="nats")
        for m in ("standard", "vamp"):
            self.vamp_kl.curves[m].setPen(pg.mkPen(COLORS[m], width=3))
        views = QSplitter(Qt.Vertical)
        views.addWidget(row)
        views.addWidget(self.vamp_kl)
        self.vamp_curves = CurvePlot("Two copies of one VAE, same start and minibatches: train ELBO",
                                     {f"elbo_{m}": NAMES[m] for m in ("standard", "vamp")}, y_label="nats per image")
        for m in ("standard", "vamp"):
            self.vamp_curves.curves[f"elbo_{m}"].setPen(pg.mkPen(COLORS[m], width=2))
        self.add_page(views, self.vamp_curves)

    def _draw_vamp(self, data: dict) -> None:
        for m in ("standard", "vamp"):
            dens = data.get("prior_density", {}).get(m)
            if dens is None:
                self.prior_imgs[m].clear()
                self.prior_points[m].setData([], [])
                continue
            dens = np.asarray(dens, np.float32)
            self.prior_imgs[m].setImage(dens, levels=(0.0, float(np.percentile(dens, 99.5)) or 1.0))
            x0, x1, y0, y1 = data["extent"][m]
            self.prior_imgs[m].setRect(x0, y0, x1 - x0, y1 - y0)
            pts = np.asarray(data["means"][m])
            self.prior_points[m].setData(pts[:, 0], pts[:, 1])
        mk, se = data["marginal_kl"], data["marginal_kl_se"]
        parts = [f"<b style='color:{COLORS[m]}'>{NAMES[m]}</b>: KL(q(z) ‖ p(z)) {pm(mk[m], se[m])}, I[x; z] "
                 f"{pm(data['mutual_info'][m], data['mutual_info_se'][m])}, test −log p(x) "
                 f"{pm(data['nll'][m], data['nll_se'][m])}" for m in ("standard", "vamp")]
        self.readout.setText(" · ".join(parts) + f"<br>The VampPrior is <b>{pm(data['prior_gain'], data['prior_gain_se'])} "
                             "nats</b> closer to the aggregate posterior (it is a mixture of the encoder's own posteriors); "
                             f"its test −log p(x) leads by {pm(data['nll_lead'], data['nll_lead_se'])} nats (paired). "
                             "Tomczak &amp; Welling 2018; ELBO surgery: Hoffman &amp; Johnson 2016.")

    def _build_ar(self) -> None:
        ms = ("factorized", "autoregressive")
        self.ar_kl = CurvePlot("The KL term: how many nats z carries about x (held-out images)", {m: NAMES[m] for m in ms},
                               y_label="nats")
        self.ar_nll = CurvePlot("Test −log p(x), estimated by L₅₀₀", {m: NAMES[m] for m in ms}, y_label="nats per image")
        for plot in (self.ar_kl, self.ar_nll):
            for m in ms:
                plot.curves[m].setPen(pg.mkPen(COLORS[m], width=3))
        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.ar_kl)
        top.addWidget(self.ar_nll)
        self.ar_samples = {}
        row = QSplitter(Qt.Horizontal)
        for m in ms:
            view = ImagePlot(keyed(f"Samples, {NAMES[m]}", "z ~ N(0, I), the same 16 for both"), levels=(0, 1))
            row.addWidget(view)
            self.ar_samples[m] = view
        views = QSplitter(Qt.Vertical)
        views.addWidget(top)
        views.addWidget(row)
        self.ar_curves = CurvePlot("Two copies of one VAE, same start and minibatches: train ELBO",
                                   {f"elbo_{m}": NAMES[m] for m in ms}, y_label="nats per image")
        for m in ms:
            self.ar_curves.curves[f"elbo_{m}"].setPen(pg.mkPen(COLORS[m], width=2))
        self.add_page(views, self.ar_curves)

    def _draw_ar(self, data: dict) -> None:
        h, w = self.static["image_shape"]
        for m, view in self.ar_samples.items():
            imgs = np.asarray(data["samples"][m], np.float32).reshape(-1, h, w)
            rows, cols = grid_shape(len(imgs))
            view.set_image(tile(imgs, rows, cols, pad=1, fill=0.35))
        kl, se = data["kl"], data["kl_se"]
        parts = [f"<b style='color:{COLORS[m]}'>{NAMES[m]}</b>: KL {pm(kl[m], se[m])} nats, {data['active'][m]} active "
                 f"units, test −log p(x) {pm(data['nll'][m], data['nll_se'][m])}" for m in kl]
        self.readout.setText(" · ".join(parts) + f"<br>With an autoregressive decoder z carries <b>{100 * data['kl_ratio']:.0f} %"
                             "</b> of the information it carries with a factorized one: a decoder that can model x "
                             "without z pays less KL by ignoring it (Bowman et al. 2016; Chen et al. 2017). (On 1,600 "
                             "digits the MADE decoder also overfits: watch its test −log p(x).)")

    def restyle(self) -> None:
        pass

    # -- engine output -------------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()
        self.select_page(info["experiment"])
        self.dexact_line.setValue(float(info["exact"][0]) if "exact" in info else 0.0)

    def extend_curves(self, rows: dict, frame) -> None:
        self.extend_page_curves(rows)
        if frame is not None and frame.heavy and frame.data:
            if "test_elbo" in frame.data:
                for m, v in frame.data["test_elbo"].items():
                    self.vae_test.append(m, [frame.step], [v])
            if "log_px" in frame.data:
                for m, v in frame.data["log_px"].items():
                    self.ws_curves.append(m, [frame.step], [v])
            if "nll" in frame.data and "active" in frame.data:
                for m, v in frame.data["nll"].items():
                    self.iwae_nll.append(m, [frame.step], [v])
                    self.iwae_active.append(m, [frame.step], [frame.data["active"][m]])
            if "kl_ratio" in frame.data:
                for m, v in frame.data["kl"].items():
                    self.ar_kl.append(m, [frame.step], [v])
                    self.ar_nll.append(m, [frame.step], [frame.data["nll"][m]])
            if "marginal_kl" in frame.data:
                for m, v in frame.data["marginal_kl"].items():
                    self.vamp_kl.append(m, [frame.step], [v])

    def show_frame(self, frame, live: bool) -> None:
        if not frame.heavy or not frame.data or not self.static:
            return
        data = frame.data
        kind = self.static["experiment"]
        if kind in ("variance", "discrete") and data.get("estimators"):
            # the histograms, the variance (or temperature) plot and the readout, one per event-loop turn
            # about three times a second: their snapshots cost the worker 3 ms, so they come ten times a second,
            # and drawing each (8 ms) took a third of a core from the GUI thread (discrete, measured)
            hists, exact_line = (self.hists, self.exact_line) if kind == "variance" else (self.dhists, self.dexact_line)
            exact = float(np.asarray(data["exact"]).reshape(-1)[0])
            self.at_most("estimates", ESTIMATES_EVERY, lambda: self.draw_in_turns([
                lambda: (self._draw_hists(hists, data["estimators"]), exact_line.setValue(exact)),
                lambda: (self._draw_variance if kind == "variance" else self._draw_discrete)(data)]))
            return
        draw = {"variance": self._draw_variance, "discrete": self._draw_discrete, "vae": self._draw_vae,
                "wake-sleep": self._draw_ws, "iwae": self._draw_iwae, "vamp": self._draw_vamp,
                "ardecoder": self._draw_ar}[kind]
        self.draw_in_turns([lambda: draw(data)])

    def clear(self) -> None:
        self.cancel_drawing()
        for plot in (self.var_curves, self.disc_curves, self.vae_curves, self.vae_test, self.ws_curves, self.iwae_nll,
                     self.iwae_active, self.iwae_curves, self.vamp_kl, self.vamp_curves,
                     self.ar_kl, self.ar_nll, self.ar_curves):
            plot.clear_data()
        for bar in getattr(self, "iwae_bars", {}).values():
            bar.setOpts(x=[], height=[])
        for view in getattr(self, "ar_samples", {}).values():
            view.clear_image()
        for m in getattr(self, "prior_imgs", {}):
            self.prior_imgs[m].clear()
            self.prior_points[m].setData([], [])
        self.readout.setText("")

    # -- drawing -------------------------------------------------------------------------------------------
    def _draw_hists(self, items: dict, estimators: dict) -> None:
        for name, item in items.items():
            e = estimators.get(name)
            if e is None:
                item.setData([], [])
                continue
            item.setData(np.asarray(e["edges"]), np.asarray(e["hist"]))

    def _table(self, estimators: dict, exact: float) -> str:
        def minus(x: float) -> str:  # a true minus sign, as the estimates have
            return f"{x:.4g}".replace("-", "−")

        if not estimators:
            return "No estimates yet: press Play or Step."
        rows = []
        for name, e in estimators.items():
            rows.append(f"<b style='color:{COLORS[name]}'>{NAMES[name]}</b>: mean {pm(e['mean'], e['se'])} "
                        f"(exact {minus(exact)}), variance {e['var']:.3g}, SNR {e['snr']:.2f}" if e["snr"] is not None
                        else f"<b>{NAMES[name]}</b>: mean {e['mean']:.4g}, variance 0")
        return " &nbsp;·&nbsp; ".join(rows) + f" &nbsp;·&nbsp; {next(iter(estimators.values()))['n']:,} estimates each"

    def _draw_variance(self, data: dict) -> None:
        est = data["estimators"]
        if not est:
            self.readout.setText(self._table(est, 0.0))
            return
        blocks = np.asarray(self.static["blocks"], np.float64)
        for name, dots in self.var_dots.items():
            e = est.get(name)
            if e is None:
                dots.setData([], [])
                continue
            bv = np.array([np.nan if v is None else v for v in e["block_var"]], np.float64)
            ok = np.isfinite(bv) & (bv > 0)
            dots.setData(blocks[ok], bv[ok])
        closed = data.get("closed_var") or {}
        for name, line in self.var_lines.items():
            if name in closed and closed[name] > 0:
                line.setData(blocks, closed[name] / blocks)
            else:
                line.setData([], [])
        extra = ""
        if "variance_ratio" in data:
            extra = (f"<br>The score function's variance is <b>{data['variance_ratio']:.1f}×</b> "
                     f"reparameterization's; the baseline (running mean of f = {data['baseline']:.3g}) cuts it "
                     f"{data['baseline_ratio']:.2f}×.")
        if closed:
            extra += (f" Closed forms: {closed['sf']:.3g} (score function), {closed['sf-baseline']:.3g} (with this "
                      f"baseline), {closed['reparam']:.3g} (reparameterization).")
        if est.get("reparam") and est["reparam"]["var"] == 0:
            extra += (" <b>Reparameterization returns 0</b>: the pathwise derivative of a step is zero almost "
                      "everywhere, so it is biased by the whole gradient.")
        self.readout.setText(self._table(est, float(data["exact"])) + extra)

    def _draw_discrete(self, data: dict) -> None:
        est = data["estimators"]
        if not est:
            self.readout.setText(self._table(est, 0.0))
            return
        exact = float(np.asarray(data["exact"])[0])
        taus = np.asarray(self.static["temperatures"])
        bias = np.abs(np.asarray(data["tau_bias"]))
        se = np.asarray(data["tau_bias_se"])
        ok = bias > 0
        # filled: a bias beyond 2 standard errors; hollow: within the noise of 20,000 draws
        brushes = [pg.mkBrush(COLORS["gumbel"]) if b > 2 * e else pg.mkBrush(None) for b, e in zip(bias[ok], se[ok])]
        self.tau_bias.setData(taus[ok], bias[ok], symbolBrush=brushes, symbolPen=pg.mkPen(COLORS["gumbel"], width=2))
        self.tau_var.setData(taus, np.asarray(data["tau_var"]))
        g = est.get("gumbel")
        self.tau_now.setValue(float(np.log10(data["temperature"])))  # the view's x axis is log10
        self.readout.setText(self._table(est, exact) +
                             f"<br>Gumbel-softmax bias at this temperature: {pm(data['gumbel_bias'], g['se'] if g else None)}"
                             " (score-function estimators are unbiased; the relaxation trades bias for variance).")

    def _draw_vae(self, data: dict) -> None:
        t, se = data["test_elbo"], data["test_elbo_se"]
        parts = [f"<b style='color:{COLORS[m]}'>{NAMES[m]}</b> {pm(t[m], se[m])}" for m in t]
        lead = pm(data["lead_reparam_over_sf"], data["lead_reparam_over_sf_se"])
        base = pm(data["lead_sf-baseline_over_sf"], data["lead_sf-baseline_over_sf_se"])
        self.readout.setText("Test ELBO, nats per image: " + " · ".join(parts) +
                             f"<br>Paired over the same test images: reparameterization leads the score function by "
                             f"<b>{lead}</b>, the baseline adds {base} nats.")

    def _draw_ws(self, data: dict) -> None:
        h, w = self.static["image_shape"]
        for m, view in self.fantasy_views.items():
            imgs = np.asarray(data["fantasies"][m], np.float32).reshape(-1, h, w)
            rows, cols = grid_shape(len(imgs))
            view.set_image(tile(imgs, rows, cols, pad=1, fill=0.35))
            post, q = np.asarray(data["posterior"][m]), np.asarray(data["q"][m])
            j = np.arange(len(post))
            grey, colour = self.post_bars[m]
            grey.setOpts(x=j - 0.2, height=post, width=0.4)
            colour.setOpts(x=j + 0.2, height=q, width=0.4)
        lp, se = data["log_px"], data["log_px_se"]
        parts = [f"<b style='color:{COLORS[m]}'>{NAMES[m]}</b> {pm(lp[m], se[m])} (mean KL(q‖p(h|x)) {data['kl'][m]:.3f})"
                 for m in lp]
        self.readout.setText("Exact test log p(x), nats per image: " + " · ".join(parts) +
                             f"<br>Reweighted wake-sleep over wake-sleep, paired: {pm(data['rws_lead'], data['rws_lead_se'])}"
                             " nats. Bars: the exact posterior's marginals p(h_j = 1 | x) for the first test image "
                             "(grey) against q(h_j = 1 | x).")

    def _draw_iwae(self, data: dict) -> None:
        for i, m in enumerate(IWAE):
            act = np.asarray(data["activity"][m], np.float64)
            self.iwae_bars[m].setOpts(x=np.arange(len(act)) + (i - 1) * 0.28,
                                      height=np.log10(np.maximum(act, 1e-6)) + 6.0, y0=-6.0, width=0.27)
        nll, se = data["nll"], data["nll_se"]
        parts = [f"<b style='color:{COLORS[m]}'>{NAMES[m]}</b> {pm(nll[m], se[m])} nats, "
                 f"{data['active'][m]} active" for m in IWAE]
        self.readout.setText("Test −log p(x) and active units: " + " · ".join(parts) +
                             f"<br>k = 50 over k = 1, paired over the same {self.static.get('nll_images', 200)} images: "
                             f"<b>{pm(data['nll_lead'], data['nll_lead_se'])} nats</b> better; the tighter bound trains "
                             "a better generative model and keeps more latent units in use (Burda et al. 2016, "
                             "Table 1). −log p(x) is estimated by L₅₀₀, itself a bound: true values lie a little below.")
