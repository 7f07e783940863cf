"""The variational-inference lab's views, one page per experiment: the target and both KL fits with
draggable modes and the deck's question; EM's log-likelihood and its lower bound; CAVI, Gibbs and EM on
the same mixture; mean-field on a correlated Gaussian."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from genviz.ui import theme
from genviz.ui.drawing import PointDrawer
from genviz.ui.panel import PagedPanel
from genviz.ui.plots import CurvePlot, ellipse_points, heat_plot, lock_aspect, make_plot, move_points

PAGES = ("kl", "em", "cavi", "meanfield")
# the unit circle as the CAVI views draw it (cos, sin at n angles: the first and last point meet)
CIRCLE_48 = np.stack([np.cos(np.linspace(0, 2 * np.pi, 48)), np.sin(np.linspace(0, 2 * np.pi, 48))])
CIRCLE_32 = np.stack([np.cos(np.linspace(0, 2 * np.pi, 32)), np.sin(np.linspace(0, 2 * np.pi, 32))])
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f"]
REV, FWD, CAND_A, CAND_B = "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c"


def fmt(v: float) -> str:
    """An exact (quadrature or closed-form) value: three decimals."""
    return f"{v:.3f}"


class InferencePanel(PagedPanel):
    # per experiment, what the compare view shows of each run
    MAIN_VIEWS = {"kl": "kl-fits", "em": "em-bound", "cavi": "cavi", "meanfield": "meanfield"}
    PAGES = PAGES

    def build_pages(self) -> None:
        self._build_kl()
        self._build_em()
        self._build_cavi()
        self._build_meanfield()

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.name_views({"kl-fits": self.kl_view, "kl-question": self.q_view, "em-bound": self.em_view,
                         "em-data": self.em_data_view, "cavi": self.cavi_views[0], "gibbs": self.cavi_views[1],
                         "map-em": self.cavi_views[2], "meanfield": self.mf_view, "kl-curves": self.kl_curves,
                         "em-curves": self.em_curves, "cavi-curves": self.cavi_curves, "meanfield-curves": self.mf_curves})

    # -- pages ---------------------------------------------------------------------------------------------
    def _build_kl(self) -> None:
        self.kl_view, self.kl_img = heat_plot("p (heat); reverse-KL fit (red), forward-KL fit (blue): 2σ", "viridis",
                                              "p(z)")
        self.q_view, self.q_img = heat_plot("Closer to p: A (orange) or B (green)?", "viridis", "p(z)")
        for v in (self.kl_view, self.q_view):
            v.setLabel("bottom", "z1")
            v.setLabel("left", "z2")
        self.cand_items = [self.q_view.plot([], [], pen=pg.mkPen(CAND_A, width=3)),
                           self.q_view.plot([], [], pen=pg.mkPen(CAND_B, width=3, style=Qt.DashLine))]
        self.handles: list = []
        self.answer = QLabel("Guess, then see the exact KLs.")
        self.answer.setTextFormat(Qt.RichText)
        self.answer.setWordWrap(True)
        self.guess_buttons = [QPushButton("A is closer"), QPushButton("B is closer")]
        for name, b in zip("AB", self.guess_buttons):
            b.setFocusPolicy(Qt.NoFocus)
            b.clicked.connect(lambda _c=False, n=name: self._guess(n))
        self.guessed: str | None = None
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.q_view, 1)
        row = QHBoxLayout()
        for b in self.guess_buttons:
            row.addWidget(b)
        row.addStretch(1)
        rl.addLayout(row)
        rl.addWidget(self.answer)
        page = QSplitter(Qt.Horizontal)
        page.addWidget(self.kl_view)
        page.addWidget(right)
        page.setSizes([600, 500])
        # the series' colours follow the views': forward fit blue, reverse fit red
        self.kl_curves = CurvePlot("KL of each fit (quadrature)", {"kl_forward_fit": "forward fit: KL(p‖q)",
                                                                   "kl_reverse_fit": "reverse fit: KL(q‖p)"})
        self.add_page(page, self.kl_curves)

    def _build_em(self) -> None:
        self.em_view = make_plot("log p(x; θ) (black) and the bound L(q; θ) (blue); the gap at θ_t (red)", "θ",
                                 "nats")
        self.em_logp = self.em_view.plot([], [], pen=pg.mkPen(theme.colors()["text"], width=3))
        self.em_bound = self.em_view.plot([], [], pen=pg.mkPen(FWD, width=2))
        self.em_gap = self.em_view.plot([], [], pen=pg.mkPen(REV, width=4))
        self.em_marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888888", width=1, style=Qt.DashLine))
        self.em_view.addItem(self.em_marker)
        self.em_trail = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(REV), pen=None)
        self.em_view.addItem(self.em_trail)
        self.em_data_view = make_plot("Data; p(x; θ_t) = ½N(θ_t, 1) + ½N(−θ_t, 1)", "x", "density")
        self.em_hist = pg.BarGraphItem(x=[], height=[], width=0.3, brush=pg.mkBrush("#9ecae1"), pen=None)
        self.em_data_view.addItem(self.em_hist)
        self.em_density = self.em_data_view.plot([], [], pen=pg.mkPen(FWD, width=3))
        page = QSplitter(Qt.Horizontal)
        page.addWidget(self.em_view)
        page.addWidget(self.em_data_view)
        page.setSizes([650, 450])
        self.em_curves = CurvePlot("EM, one half step per step: log p(x; θ_t) never falls",
                                   {"log_px": "log p(x; θ_t)", "bound": "L(q; θ_t)"})
        # the same colours as the view above: log p black, the bound blue
        self.em_curves.curves["log_px"].setPen(pg.mkPen(theme.colors()["text"], width=2))
        self.em_curves.curves["bound"].setPen(pg.mkPen(FWD, width=2))
        self.add_page(page, self.em_curves)
        self.theta_trail: list = []

    def _build_cavi(self) -> None:
        titles = ("CAVI: colours q(c); black q(μ_k), 2σ", "Gibbs: sampled c and μ", "MAP-EM: c by responsibility")
        self.cavi_views, self.cavi_scatter, self.cavi_marks = [], [], []
        page = QSplitter(Qt.Horizontal)
        for t in titles:
            v = make_plot(t, "x1", "x2")
            lock_aspect(v)
            sc = pg.ScatterPlotItem(size=5, pen=None)
            v.addItem(sc)
            self.cavi_views.append(v)
            self.cavi_scatter.append(sc)
            self.cavi_marks.append([])
            page.addWidget(v)
        # data drawn by hand on the CAVI view (the shared drawer): the lab resets on it
        self.drawer = PointDrawer(self.cavi_views[0], parent=self)
        self.drawer.use.connect(lambda path: self.requestSettings.emit({"data": path}, True))
        cavi_page = QWidget()
        cl = QVBoxLayout(cavi_page)
        cl.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.drawer.draw_button)
        buttons.addWidget(self.drawer.use_button)
        buttons.addStretch(1)
        cl.addLayout(buttons)
        cl.addWidget(page, 1)
        self.cavi_curves = CurvePlot("Objectives after every update (nats)", {
            "elbo": "CAVI: ELBO", "em_log_posterior": "MAP-EM: log p(x, μ)", "gibbs_log_joint": "Gibbs: log p(x, c, μ)"})
        self.add_page(cavi_page, self.cavi_curves)

    def _build_meanfield(self) -> None:
        self.mf_view = make_plot("p (black, 1σ and 2σ); mean-field q by reverse KL (red), by forward KL (blue)",
                                 "z1", "z2")
        lock_aspect(self.mf_view)
        ink = theme.colors()["text"]
        self.mf_p = [self.mf_view.plot([], [], pen=pg.mkPen(ink, width=2)) for _ in range(2)]
        self.mf_rev = [self.mf_view.plot([], [], pen=pg.mkPen(REV, width=3)) for _ in range(2)]
        self.mf_fwd = [self.mf_view.plot([], [], pen=pg.mkPen(FWD, width=3, style=Qt.DashLine)) for _ in range(2)]
        # the path as a line and its points as a scatter moved in place (its 200 points re-made at every frame
        # were half of this page's drawing: 2.2 ms a frame)
        self.mf_trail = self.mf_view.plot([], [], pen=pg.mkPen("#888888", width=1))
        self.mf_trail_points = pg.ScatterPlotItem(size=5, brush=pg.mkBrush("#888888"), pen=None)
        self.mf_view.addItem(self.mf_trail_points)
        self.mf_curves = CurvePlot("Coordinate ascent: KL(q‖p) after each factor's update", {"kl_reverse": "KL(q‖p)"})
        self.add_page(self.mf_view, self.mf_curves)

    def restyle(self) -> None:
        pass

    # -- engine output -------------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()
        self.select_page(info["experiment"])
        kind = info["experiment"]
        if kind == "kl":
            self.guessed = None
            self.answer.setText("Guess, then see the exact KLs.")
            for b in self.guess_buttons:
                b.setEnabled(True)
            self._fit_done = False
        elif kind == "em":
            x = np.asarray(info["x"], np.float64)
            counts, edges = np.histogram(x, bins=24, range=(-5, 5), density=True)
            self.em_hist.setOpts(x=(edges[:-1] + edges[1:]) / 2, height=counts, width=edges[1] - edges[0])
            self.em_logp.setData(np.asarray(info["thetas"]), np.asarray(info["log_px"]))
            top = float(np.max(info["log_px"]))
            self.em_view.setYRange(top - 40, top + 3, padding=0)
            self.em_view.setXRange(-4, 4, padding=0)
            self.theta_trail = []
        elif kind == "cavi":
            self._cavi_fitted = False
        else:
            mu, sigma = np.asarray(info["mu"]), np.asarray(info["sigma"])
            for line, n in zip(self.mf_p, (1, 2)):
                pts = ellipse_points(mu, sigma, n)
                line.setData(pts[:, 0], pts[:, 1])
            fwd = np.diag(info["forward_var"])
            for line, n in zip(self.mf_fwd, (1, 2)):
                pts = ellipse_points(mu, fwd, n)
                line.setData(pts[:, 0], pts[:, 1])
            self.mf_view.setXRange(-3.5, 3.5, padding=0)
            self.mf_view.setYRange(-3.5, 3.5, padding=0)

    def extend_curves(self, rows: dict, frame) -> None:
        self.extend_page_curves(rows)

    def show_frame(self, frame, live: bool) -> None:
        if not self.static or not frame.data:  # light snapshots carry the views too
            return
        data = frame.data
        kind = self.static["experiment"]
        if kind in ("cavi", "kl"):  # views drawn in turns
            getattr(self, f"_draw_{kind}")(data)
            return
        draw = getattr(self, f"_draw_{kind}")
        self.draw_in_turns([lambda: draw(data)])

    def clear(self) -> None:
        self.cancel_drawing()
        for plot in (self.kl_curves, self.em_curves, self.cavi_curves, self.mf_curves):
            plot.clear_data()
        self.readout.setText("")
        self.theta_trail = []

    # -- drawing -------------------------------------------------------------------------------------------
    def _place(self, img: pg.ImageItem, values: np.ndarray) -> None:
        x0, x1, y0, y1 = self.static["extent"]
        img.setImage(np.asarray(values, np.float32).T, levels=(0, float(np.max(values)) or 1.0))
        img.setRect(x0, y0, x1 - x0, y1 - y0)

    def _ellipses(self, plot, items: list, parts: dict, color: str, dashed: bool = False) -> None:
        """2σ ellipses of a mixture's components (line width by weight), reusing ``items``."""
        style = Qt.DashLine if dashed else Qt.SolidLine
        while len(items) < len(parts["weights"]):
            items.append(plot.plot([], [], pen=pg.mkPen(color, width=2, style=style)))
        for item, w, m, c in zip(items, parts["weights"], parts["means"], parts["covs"]):
            pts = ellipse_points(np.asarray(m), np.asarray(c), 2.0, n=64)
            item.setData(pts[:, 0], pts[:, 1])
            item.setPen(pg.mkPen(color, width=1 + 3 * float(w), style=style))
        for item in items[len(parts["weights"]):]:  # fewer components than before
            item.setData([], [])

    def set_view_state(self, view: dict) -> None:
        self.question = bool(view.get("question", False))
        self._show_answers()

    @property
    def asking(self) -> bool:
        """The question is open: the class has not guessed yet, so nothing on screen may answer it."""
        return getattr(self, "question", False) and self.guessed is None

    def _show_answers(self) -> None:
        """The fits (which are the answer: one on a mode, one moment-matched) and every KL hide while
        the class is asked; a guess shows them."""
        hide = self.asking
        for item in (*getattr(self, "_rev_items", []), *getattr(self, "_fwd_items", [])):
            item.setVisible(not hide)
        for curve in self.kl_curves.curves.values():  # the plot stays (no hole on the projector), empty
            curve.setVisible(not hide)
        legend = self.kl_curves.getPlotItem().legend
        if legend is not None:
            legend.setVisible(not hide)
        if getattr(self, "_titles_hide", None) != (hide, theme.title_size()):  # a title set again re-lays out
            self._titles_hide = (hide, theme.title_size())                      # and repaints its plot
            self.kl_curves.setTitle("KL of each fit: shown once the class has guessed" if hide else
                                    "KL of each fit (quadrature)", size=theme.title_size())
            self.kl_view.setTitle("p (heat): the fits show once the class has guessed" if hide else
                                  "p (heat); reverse-KL fit (red), forward-KL fit (blue): 2σ", size=theme.title_size())
        if hide:
            self.readout.setText("Which Gaussian is closer to p, A or B? Guess first: the fits, their KLs and the "
                                 "exact KLs of A and B show once the class has chosen.")

    def _draw_kl(self, data: dict) -> None:
        """The fits' view, the question's view and the readout, one per event-loop turn."""
        self._kl_data = data
        self.draw_in_turns([lambda: self._draw_kl_fits(data), lambda: self._draw_kl_question(data),
                            lambda: self._kl_readout(data)])

    def _draw_kl_fits(self, data: dict) -> None:
        p = np.asarray(data["p"])
        if not self.unchanged("kl-fits-p", p):  # p changes only when a mode is dragged
            self._place(self.kl_img, p)
        if not hasattr(self, "_rev_items"):
            self._rev_items, self._fwd_items = [], []
        self._ellipses(self.kl_view, self._rev_items, data["rev_parts"], REV)
        self._ellipses(self.kl_view, self._fwd_items, data["fwd_parts"], FWD, dashed=True)
        for item in (*self._rev_items, *self._fwd_items):
            item.setVisible(not self.asking)
        self._handles(np.asarray(data["means"]))
        if not self._fit_done:
            self._fit_done = True
            self.kl_view.getPlotItem().getViewBox().autoRange(padding=0.01)

    def _draw_kl_question(self, data: dict) -> None:
        p = np.asarray(data["p"])
        if not self.unchanged("kl-question-p", p):
            self._place(self.q_img, p)
            self.q_view.getPlotItem().getViewBox().autoRange(padding=0.01)
        for item, name in zip(self.cand_items, "AB"):
            c = data["candidates"][name]
            pts = ellipse_points(np.asarray(c["mean"]), np.asarray(c["cov"]), 2.0)
            item.setData(pts[:, 0], pts[:, 1])
        self._candidates = data["candidates"]
        if self.guessed:
            self._guess(self.guessed)

    def _kl_readout(self, data: dict) -> None:
        self._show_answers()
        if self.asking:
            return
        rev, fwd = data["rev_fit"], data["fwd_fit"]
        self.readout.setText(
            "Exact by quadrature over the box holding p and q (128×128), nats: reverse-KL fit (red) "
            f"<b>KL(q‖p) = {fmt(rev['kl_qp'])}</b>, KL(p‖q) = {fmt(rev['kl_pq'])}; forward-KL fit (blue) "
            f"KL(q‖p) = {fmt(fwd['kl_qp'])}, <b>KL(p‖q) = {fmt(fwd['kl_pq'])}</b>. The reverse fit's spread is "
            f"{data['rev_spread_ratio']:.2f} of p's (determinant of the covariances): it seeks a mode; the forward "
            "fit covers p's mass.")

    def _handles(self, means: np.ndarray) -> None:
        """Draggable modes of the target: dropping one sets the ``means`` setting (live)."""
        if not self.static.get("draggable"):
            for h in self.handles:
                self.kl_view.removeItem(h)
            self.handles = []
            return
        if len(self.handles) != len(means):
            for h in self.handles:
                self.kl_view.removeItem(h)
            self.handles = []
            for m in means:
                h = pg.TargetItem(pos=(float(m[0]), float(m[1])), size=14, pen=pg.mkPen("w", width=2),
                                  movable=True)
                h.setToolTip("Drag a mode of p; both fits follow")
                h.sigPositionChangeFinished.connect(self._moved)
                self.kl_view.addItem(h)
                self.handles.append(h)
        else:
            for h, m in zip(self.handles, means):
                if not getattr(h, "moving", False):  # not while the user drags it
                    h.setPos(float(m[0]), float(m[1]))

    def _moved(self, *_args) -> None:
        x0, x1, y0, y1 = self.static["extent"]
        pts = []
        for h in self.handles:
            p = h.pos()
            pts.append(f"{np.clip(p.x(), max(x0, -6), min(x1, 6)):.2f},{np.clip(p.y(), max(y0, -6), min(y1, 6)):.2f}")
        self.requestSettings.emit({"means": ";".join(pts)}, False)
        if getattr(self, "question", False) and self.guessed is not None:  # a new p: the class is asked again
            self.guessed = None
            self.answer.setText("Guess, then see the exact KLs.")
            self._show_answers()

    def _guess(self, name: str) -> None:
        revealed = self.guessed is None
        self.guessed = name
        if revealed:
            self._show_answers()
            if getattr(self, "_kl_data", None) is not None:  # the KLs now, even while paused
                self._kl_readout(self._kl_data)
        c = getattr(self, "_candidates", None)
        if not c:
            return
        a, b = c["A"], c["B"]
        rev_winner = "A" if a["kl_qp"] < b["kl_qp"] else "B"
        fwd_winner = "A" if a["kl_pq"] < b["kl_pq"] else "B"
        verdict = "Both KLs agree with you." if rev_winner == fwd_winner == name else (
            "It depends on the direction: " + ("reverse KL agrees with you, forward KL does not." if rev_winner == name
                                                else "forward KL agrees with you, reverse KL does not."))
        if rev_winner == fwd_winner != name:
            verdict = "Both KLs pick the other one."
        self.answer.setText(
            f"You chose <b>{name}</b>. KL(q‖p): A {fmt(a['kl_qp'])}, B {fmt(b['kl_qp'])}, so <b>{rev_winner}</b> is "
            f"closer (zero-forcing: q must avoid where p is small). KL(p‖q): A {fmt(a['kl_pq'])}, B {fmt(b['kl_pq'])}, "
            f"so <b>{fwd_winner}</b> is closer (mass-covering). {verdict}")

    def _draw_em(self, data: dict) -> None:
        thetas = np.asarray(self.static["thetas"])
        bound = np.asarray(data["bound_curve"], np.float64)
        t = float(data["theta"])
        if not self.unchanged("em", t, data["log_px"], data["bound"], bound):
            self._draw_em_plots(thetas, bound, t, data)
        # else settled: EM at its fixed point draws the same plots (at full speed 38 frames a second took the GUI
        # thread to half a core); the readout still says which half step comes next
        which = "restricted q (one q(c) per sign of x)" if self.static.get("restricted") else "exact posterior q"
        self.readout.setText(
            f"θ_t = {t:.4f} (data drawn with θ = {self.static['theta_true']}); log p(x; θ_t) = {data['log_px']:.3f}, "
            f"L(q; θ_t) = {data['bound']:.3f}: gap {data['gap']:.4f} nats = KL(q ‖ p(c | x; θ_t)) with the {which}. "
            f"Next: the <b>{data['next_half']} step</b> ("
            + ("q ← p(c | x; θ_t): the bound rises to touch" if data["next_half"] == "E" else
               "θ ← argmax L(q; θ): climb the current bound") + "). "
            + (f"The bound has fallen {data['decreases']} times (variational EM: log p itself may fall)."
               if self.static.get("restricted") else f"log p has fallen {data['decreases']} times."))

    def _draw_em_plots(self, thetas, bound, t: float, data: dict) -> None:
        self.em_bound.setData(thetas, bound)
        self.em_marker.setValue(t)
        self.em_gap.setData([t, t], [data["bound"], data["log_px"]])
        if not self.theta_trail or self.theta_trail[-1] != (t, data["log_px"]):
            self.theta_trail.append((t, data["log_px"]))
        trail = np.array(self.theta_trail[-40:])
        move_points(self.em_trail, trail[:, 0], trail[:, 1])
        xs = np.linspace(-5, 5, 200)
        dens = 0.5 * (np.exp(-0.5 * (xs - t) ** 2) + np.exp(-0.5 * (xs + t) ** 2)) / np.sqrt(2 * np.pi)
        self.em_density.setData(xs, dens)

    def _draw_cavi(self, data: dict) -> None:
        labels = [data["phi_labels"], data["gibbs_labels"], data["em_labels"]]
        centres = [data["m"], data["gibbs_mu"], data["em_mu"]]
        # one view per event-loop turn (each repaints on its own), then the readout
        self.draw_in_turns([lambda i=i: self._draw_cavi_view(i, labels[i], centres[i], data) for i in range(3)]
                           + [lambda: self._cavi_readout(data)])

    def _draw_cavi_view(self, i: int, labels, centres, data: dict) -> None:
        x = np.asarray(self.static["x"])
        k = self.static["k"]
        labels, centres = np.asarray(labels), np.asarray(centres, np.float64)
        s2 = np.asarray(data["s2"], np.float64) if i == 0 else None
        if self.unchanged(("cavi", i), labels, centres, s2):
            return  # settled: CAVI's fixed point draws nothing new (3 views at 3,000 steps/s cost the GUI 20 ms)
        if not hasattr(self, "_brushes") or len(self._brushes) != k:
            self._brushes = [pg.mkBrush(PALETTE[j % len(PALETTE)]) for j in range(k)]
        view, sc = self.cavi_views[i], self.cavi_scatter[i]
        if not self.unchanged(("cavi-colours", i), labels):
            # the points re-coloured only when an assignment changed: a scatter's per-point brushes are its
            # costliest update, and the labels settle long before the centres do
            sc.setData(x[:, 0], x[:, 1], brush=[self._brushes[int(j) % k] for j in labels])
        marks = self.cavi_marks[i]
        if len(marks) != k + 1:  # per component: its 2σ circle, q(μ_k)'s 2σ (CAVI); then every centre; made once
            for group in marks:
                for it in group:
                    view.removeItem(it)
            ink = theme.colors()["text"]
            marks = self.cavi_marks[i] = []
            for j in range(k):  # bare curves: a plot's data item costs twice as much per update
                color = PALETTE[j % len(PALETTE)]
                group = [pg.PlotCurveItem(pen=pg.mkPen(color, width=1, style=Qt.DashLine)),
                         pg.PlotCurveItem(pen=pg.mkPen(ink, width=3))]
                for it in group:
                    view.addItem(it)
                marks.append(group)
            marks.append([view.plot([], [], pen=None, symbol="+", symbolSize=14, symbolPen=pg.mkPen(ink, width=2))])
        for j, (m, group) in enumerate(zip(centres, marks)):  # circles: 2σ of N(m, I) and of q(μ_k) = N(m_k, s2_k I)
            group[0].setData(m[0] + 2.0 * CIRCLE_48[0], m[1] + 2.0 * CIRCLE_48[1])
            if s2 is not None:
                r = 2.0 * np.sqrt(max(float(s2[j]), 0.0))
                group[1].setData(m[0] + r * CIRCLE_32[0], m[1] + r * CIRCLE_32[1])
        marks[k][0].setData(centres[:, 0], centres[:, 1])  # the centres: one scatter, not one item each
        if not self._cavi_fitted:  # the data's extent, once the points are drawn (aspect kept)
            view.getPlotItem().getViewBox().autoRange(items=[sc], padding=0.05)
            if i == 2:
                self._cavi_fitted = True

    def _cavi_readout(self, data: dict) -> None:
        pur = "" if data.get("purity") is None else (
            f" Clusters recovered (purity): CAVI {data['purity']:.2f}, Gibbs {data['gibbs_purity']:.2f}, "
            f"EM {data['em_purity']:.2f}.")
        self.readout.setText(
            f"ELBO <b>{data['elbo']:.3f}</b> nats (exact); it has fallen {data['decreases']} times (it never should). "
            f"Next update: q({'c' if data['next_block'] == 'c' else 'μ'}) (and Gibbs / EM's matching half)." + pur)

    def _draw_meanfield(self, data: dict) -> None:
        m, trail = np.asarray(data["m"]), np.asarray(data["trail"])
        if self.unchanged("meanfield", m, trail, data["kl_reverse"]):
            return  # settled: at the fixed point a frame draws nothing new (38 a second cost the GUI 3 ms each)
        rev = np.diag(self.static["reverse_var"])
        for line, n in zip(self.mf_rev, (1, 2)):
            pts = ellipse_points(m, rev, n)
            line.setData(pts[:, 0], pts[:, 1])
        self.mf_trail.setData(trail[:, 0], trail[:, 1])
        move_points(self.mf_trail_points, trail[:, 0], trail[:, 1])
        rv, fv = self.static["reverse_var"], self.static["forward_var"]
        self.readout.setText(
            f"ρ = {self.static['correlation']}: reverse KL gives each factor the conditional variance 1/Λ_jj = "
            f"<b>{rv[0]:.3f}</b> (p's marginal variance is {fv[0]:.3f}: too small by 1 − ρ²); forward KL gives the "
            f"marginal {fv[0]:.3f}. KL(q‖p) now {data['kl_reverse']:.4f}; at the fixed points: reverse fit "
            f"KL(q‖p) = {data['rev_fit_kl_qp']:.3f}, KL(p‖q) = {data['rev_fit_kl_pq']:.3f}; forward fit "
            f"KL(q‖p) = {data['fwd_fit_kl_qp']:.3f}, KL(p‖q) = {data['fwd_fit_kl_pq']:.3f} (closed forms).")
