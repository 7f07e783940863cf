"""The latent-arithmetic lab's panel: one slider per latent direction decoding into a large image
(with the GUI's own numpy copy of the decoder, so a slider move never waits for the worker),
attribute vectors, analogies, linear vs spherical walks, known factors, and a pick-from-data strip."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QLabel, QPushButton, QScrollArea,
                               QSlider, QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from genviz.labs.arithmetic import latent_ops as ops
from genviz.core.mosaic import tile
from genviz.core.numbers import estimate
from genviz.vae.decode import decode_numpy
from genviz.ui import theme
from genviz.ui.panel import LabPanel, column, row
from genviz.ui.plots import ClickableImage, add_colorbar, CurvePlot, ImagePlot, keyed, make_plot

SLIDER_RANGE = 3.0  # sliders span +-3 prior (or data) standard deviations, in steps of 0.01
STRIP_COLUMNS, STRIP_ROWS = 16, 2
ATTRIBUTE_STRENGTHS = np.linspace(-2.0, 2.0, 9)
ANIMATION_MS = 40  # 25 frames per second
TRAIN_NEW = "Train a new VAE here (Play)"


class SliderBank(QWidget):
    """One horizontal slider per latent direction, with its name and value."""

    moved = Signal(int, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(4, 4, 4, 4)
        self.grid.setVerticalSpacing(2)
        self.sliders: list[QSlider] = []
        self.values: list[QLabel] = []
        self.names: list[QLabel] = []

    def set_names(self, names: list[str]) -> None:
        if [n.text() for n in self.names] == names:
            return
        for widget in self.sliders + self.values + self.names:
            widget.deleteLater()
        self.sliders, self.values, self.names = [], [], []
        for i, name in enumerate(names):
            label, value = QLabel(name), QLabel("+0.00")
            value.setMinimumWidth(48)
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            slider = QSlider(Qt.Horizontal)
            slider.setRange(int(-SLIDER_RANGE * 100), int(SLIDER_RANGE * 100))
            slider.setPageStep(25)
            slider.setFocusPolicy(Qt.ClickFocus)
            slider.valueChanged.connect(lambda v, i=i: self._on_slider(i, v))
            self.grid.addWidget(label, i, 0)
            self.grid.addWidget(slider, i, 1)
            self.grid.addWidget(value, i, 2)
            self.names.append(label)
            self.sliders.append(slider)
            self.values.append(value)
        self.grid.setRowStretch(len(names), 1)

    def _on_slider(self, i: int, v: int) -> None:
        self.values[i].setText(f"{v / 100:+.2f}")
        self.moved.emit(i, v / 100)

    def set_values(self, values: np.ndarray) -> None:
        """Show coordinates without emitting ``moved`` (values past the range are clipped on the
        slider and shown in full in the label)."""
        for slider, label, v in zip(self.sliders, self.values, values):
            slider.blockSignals(True)
            slider.setValue(int(round(np.clip(v, -SLIDER_RANGE, SLIDER_RANGE) * 100)))
            slider.blockSignals(False)
            label.setText(f"{v:+.2f}")


class ArithmeticPanel(LabPanel):
    MAIN_VIEW = "walk-linear"  # the latent walk: what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        # views waiting for the worker to decode their z (a model of your own): the next z and the one in flight
        self.decode_next: dict[str, tuple] = {}
        self.decode_in_flight: dict[str, object] = {}
        self.static: dict = {}
        self.heavy: dict = {}
        self.z: np.ndarray | None = None  # the point the sliders show
        self.direction: np.ndarray | None = None  # an attribute or factor direction added to z
        self.direction_name = ""
        self.strength = 0.0
        self.basis = (np.zeros(0), np.zeros((0, 0)), np.zeros(0), [])  # center, basis, scale, names
        self.walk_start: np.ndarray | None = None
        self.walk_end: np.ndarray | None = None
        self.analogy_slots: dict[str, np.ndarray] = {}
        # points that came from a data example follow its encoding while the model trains:
        # "z", "a", "b", "c", "start", "end" -> example index
        self.anchors: dict[str, int] = {}
        self.direction_source: tuple = ()  # ("attribute",) or ("factor", name): recomputed as it trains
        self.strip_idx = np.zeros(0, int)
        self.picked: set[int] = set()
        self.kept_models: dict[str, tuple[str, int]] = {}
        self.rng = np.random.default_rng(0)
        self.slider_latency_ms: list[float] = []
        self._secondary_due = False
        self.animation = QTimer(self)
        self.animation.setInterval(ANIMATION_MS)
        self.animation.timeout.connect(self._animate)
        self.anim_path: np.ndarray | None = None
        self.anim_i, self.anim_step, self.anim_kind = 0, 1, ""

        # -- model source ---------------------------------------------------------------------------
        self.source_box = QComboBox()
        self.source_box.setFocusPolicy(Qt.NoFocus)
        self.source_box.activated.connect(self._on_source)
        self.source_label = QLabel()
        self.source_label.setWordWrap(True)

        # -- sliders ---------------------------------------------------------------------------------
        self.bank = SliderBank()
        self.bank.moved.connect(self.move_slider)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.bank)
        zero = QPushButton("z = 0")
        zero.setToolTip("the prior mean")
        zero.clicked.connect(lambda: self.set_z(np.zeros_like(self.z)) if self.z is not None else None)
        prior = QPushButton("z ~ p(z)")
        prior.setToolTip("a sample from the N(0, I) prior")
        prior.clicked.connect(self.sample_prior)
        self.random_walk_button = QPushButton("Random walk")
        self.random_walk_button.setCheckable(True)
        self.random_walk_button.setToolTip("wander from z with steps whose stationary law is the prior")
        self.random_walk_button.toggled.connect(self._toggle_random_walk)
        self.slider_title = QLabel("<b>Latent sliders</b>")
        sliders_box = column(QLabel("<b>Model</b>"), self.source_box, self.source_label, self.slider_title,
                             (scroll, 1), row(zero, prior, self.random_walk_button))

        # -- the large decoded image and the direction applied to it ---------------------------------
        self.image_view = ImagePlot("Decoded  E[x | z]", levels=(0.0, 1.0))
        self.direction_label = QLabel("No direction: pick one under Attributes or Factors")
        self.direction_label.setWordWrap(True)
        self.strength_slider = QSlider(Qt.Horizontal)
        self.strength_slider.setRange(-300, 300)
        self.strength_slider.setFocusPolicy(Qt.ClickFocus)
        self.strength_slider.valueChanged.connect(lambda v: self.set_strength(v / 100))
        self.strength_value = QLabel("+0.00")
        self.strength_value.setMinimumWidth(48)
        bake = QPushButton("Apply to z")
        bake.setToolTip("move z by the direction (strength x vector) and reset the strength")
        bake.clicked.connect(self.apply_direction)
        strength = row(QLabel("strength"), self.strength_slider, self.strength_value, stretch_end=False)
        strength.setStretch(1, 1)
        center = column((self.image_view, 1), self.direction_label, strength, row(bake))

        # -- tabs ---------------------------------------------------------------------------------
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_attributes(), "Attributes")
        self.tabs.addTab(self._build_analogy(), "Analogy")
        self.tabs.addTab(self._build_walks(), "Walks")
        self.tabs.addTab(self._build_factors(), "Factors")
        self.tabs.addTab(self._build_classes(), "Classes")

        top = QSplitter(Qt.Horizontal)
        for w in (sliders_box, center, self.tabs):
            top.addWidget(w)
        top.setSizes([230, 440, 420])

        # -- pick from data, and the training curve --------------------------------------------------
        self.strip = ClickableImage("Pick from data: click = start from its z · shift-click = add to the picked set")
        self.strip.clicked.connect(self._on_strip_click)
        self.picked_marks = pg.ScatterPlotItem(pxMode=False, symbol="s", brush=None)
        self.picked_marks.setZValue(10)
        self.strip.addItem(self.picked_marks)
        shuffle = QPushButton("Other examples")
        shuffle.clicked.connect(self.shuffle_strip)
        clear_picked = QPushButton("Clear picked")
        clear_picked.clicked.connect(self.clear_picked)
        strip_box = column((self.strip, 1), row(shuffle, clear_picked))
        self.curves = CurvePlot("Training curve", {"neg_elbo": "−ELBO (train)", "test_neg_elbo": "−ELBO (test)"})
        self.name_views({"decoded": self.image_view, "curves": self.curves, "examples": self.strip})
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(strip_box)
        bottom.addWidget(self.curves)
        bottom.setSizes([900, 480])
        self.arrange(top, bottom, (640, 260))
        self.set_kept_models({})
        self.restyle()

    # -- tab construction ------------------------------------------------------------------------
    def _build_attributes(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        self.attr_a, self.attr_b = QComboBox(), QComboBox()
        for combo in (self.attr_a, self.attr_b):
            combo.setFocusPolicy(Qt.NoFocus)
            combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
            combo.activated.connect(lambda _=0: self.use_attribute())
        use = QPushButton("Use A − B as the direction")
        use.clicked.connect(self.use_attribute)
        intro = QLabel("Attribute vector: the mean z of set A minus the mean z of set B "
                       "(classes, or examples shift-clicked in the strip below).")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        lay.addLayout(row(QLabel("A"), self.attr_a, QLabel("−  B"), self.attr_b))
        lay.addLayout(row(use))
        self.attr_info = QLabel()
        self.attr_info.setWordWrap(True)
        lay.addWidget(self.attr_info)
        self.attr_strip = ImagePlot("z + s·(A − B)   for s = −2 … +2", levels=(0.0, 1.0))
        self.attr_strip.setObjectName("attribute-strip")
        lay.addWidget(self.attr_strip, 1)
        return box

    def _build_analogy(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        intro = QLabel("a − b + c: “b is to a as c is to ?”. Set each term to the current z "
                       "(pick an example in the strip, or move the sliders).")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.analogy_views: dict[str, ImagePlot] = {}
        grid = QGridLayout()
        cells = [("a", "a"), ("−", None), ("b", "b"), ("+", None), ("c", "c"), ("=", None), ("a − b + c", "result")]
        for col, (text, key) in enumerate(cells):
            if key is None:
                op = QLabel(text)
                op.setAlignment(Qt.AlignCenter)
                op.setStyleSheet("font-size: 28pt; font-weight: 600;")
                grid.addWidget(op, 0, col)
                continue
            view = ImagePlot(text, levels=(0.0, 1.0))
            view.setObjectName(f"analogy-{key}")
            view.setMinimumSize(90, 110)
            self.analogy_views[key] = view
            grid.addWidget(view, 0, col)
            if key == "result":
                button = QPushButton("Go there")
                button.clicked.connect(lambda: self.set_z(self._analogy_result()) if self._analogy_result() is not None else None)
            else:
                button = QPushButton(f"{key} = z")
                button.clicked.connect(lambda _=False, k=key: self.set_analogy_slot(k, self.z))
            grid.addWidget(button, 1, col)
        for col in (1, 3, 5):
            grid.setColumnStretch(col, 0)
        for col in (0, 2, 4, 6):
            grid.setColumnStretch(col, 1)
        lay.addLayout(grid, 1)
        self.analogy_text = QLabel()
        self.analogy_text.setWordWrap(True)
        lay.addWidget(self.analogy_text)
        return box

    def _build_walks(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        start, end, end_prior = QPushButton("start = z"), QPushButton("end = z"), QPushButton("end ~ p(z)")
        start.clicked.connect(lambda: self.set_walk(start=self.z))
        end.clicked.connect(lambda: self.set_walk(end=self.z))
        end_prior.clicked.connect(lambda: self.set_walk(end=self._prior_sample()))
        self.walk_steps = QSpinBox()
        self.walk_steps.setRange(3, 16)
        self.walk_steps.setValue(10)
        self.walk_steps.setPrefix("steps ")
        self.walk_steps.valueChanged.connect(lambda _=0: self._draw_walks())
        self.walk_kind = QComboBox()
        self.walk_kind.addItems(["spherical", "linear"])
        self.walk_kind.setFocusPolicy(Qt.NoFocus)
        self.play_walk_button = QPushButton("▶ Play walk")
        self.play_walk_button.setCheckable(True)
        self.play_walk_button.toggled.connect(self._toggle_walk)
        lay.addLayout(row(start, end, end_prior, self.walk_steps))
        self.lerp_view = ImagePlot("Linear  (1−t)·a + t·b", levels=(0.0, 1.0))
        self.slerp_view = ImagePlot("Spherical  sin((1−t)Ω)/sin Ω·a + sin(tΩ)/sin Ω·b", levels=(0.0, 1.0))
        lay.addWidget(self.lerp_view, 1)
        lay.addWidget(self.slerp_view, 1)
        self.norm_plot = make_plot("‖z‖ along the walk", "t", "‖z‖")
        self.name_views({"walk-linear": self.lerp_view, "walk-spherical": self.slerp_view, "walk-norm": self.norm_plot})
        self.norm_plot.addLegend(offset=(-5, 5), labelTextSize="9pt")
        self.norm_lerp = self.norm_plot.plot([], [], pen=pg.mkPen(theme.CURVE_COLORS[0], width=2), name="linear")
        self.norm_slerp = self.norm_plot.plot([], [], pen=pg.mkPen(theme.CURVE_COLORS[1], width=2), name="spherical")
        self.norm_shell = pg.InfiniteLine(angle=0, pen=pg.mkPen(theme.colors()["muted"], style=Qt.DashLine),
                                          label="√d: where the prior's mass lies",
                                          labelOpts={"position": 0.5, "color": theme.colors()["muted"]})
        self.norm_plot.addItem(self.norm_shell)
        self.norm_plot.setMaximumHeight(170)
        lay.addWidget(self.norm_plot)
        lay.addLayout(row(QLabel("animate"), self.walk_kind, self.play_walk_button))
        return box

    def _build_classes(self) -> QWidget:
        """Labelled data (digits): each row an example (left), moved by the class vector z − z̄_own + z̄_t to every
        class t (columns), and how often the result reads as t."""
        box = QWidget()
        lay = QVBoxLayout(box)
        self.class_view = ImagePlot(keyed("Class analogies", "x, then z(x) − z̄(its class) + z̄(t) for t = 0 … 9"),
                                    levels=(0, 255))
        self.class_view.setObjectName("class-analogies")
        lay.addWidget(self.class_view, 1)
        self.class_text = QLabel("Class analogies appear for labelled data (the digits).")
        self.class_text.setWordWrap(True)
        self.class_text.setTextFormat(Qt.RichText)
        lay.addWidget(self.class_text)
        return box

    def _draw_classes(self) -> None:
        ct = self.heavy.get("class_transfer")
        if ct is None:
            self.class_view.clear_image()
            self.class_text.setText("Class analogies appear for labelled data (the digits).")
            return
        self.class_view.set_image(np.asarray(ct["grid"]))
        self.class_text.setText(
            f"Moved to class t, the decoded image reads as t (nearest class-mean classifier on pixels) "
            f"<b>{estimate(100 * ct['accuracy'], 100 * ct['accuracy_se'])} %</b> of {ct['n']:,} times "
            f"(chance {100 * ct['chance']:.0f} %; the classifier is right on {100 * ct['classifier_accuracy']:.0f} % "
            "of real held-out digits). Each example's offset from its class mean in latent space, its style, is carried "
            "over.")

    def _build_factors(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        self.factor_note = QLabel()
        self.factor_note.setWordWrap(True)
        lay.addWidget(self.factor_note)
        self.factor_plot = make_plot("|cos(true factor direction, slider direction)|")
        self.factor_plot.setObjectName("factors")
        self.factor_image = pg.ImageItem()
        self.factor_image.setColorMap(pg.colormap.get("viridis"))
        self.factor_plot.addItem(self.factor_image)
        add_colorbar(self.factor_plot, self.factor_image, "|cos|")
        vb = self.factor_plot.getPlotItem().getViewBox()
        vb.invertY(True)
        vb.setMouseEnabled(False, False)
        self.factor_plot.getAxis("left").setWidth(70)
        self.factor_labels: list[pg.TextItem] = []
        lay.addWidget(self.factor_plot, 1)
        self.factor_box = QComboBox()
        self.factor_box.setFocusPolicy(Qt.NoFocus)
        use = QPushButton("Use as the direction")
        use.clicked.connect(self.use_factor)
        self.factor_row = QWidget()
        self.factor_row.setLayout(row(QLabel("true factor"), self.factor_box, use))
        lay.addWidget(self.factor_row)
        self.factor_r2 = QLabel()
        self.factor_r2.setWordWrap(True)
        lay.addWidget(self.factor_r2)
        return box

    def restyle(self) -> None:
        self.style_warning()
        c = theme.colors()
        self.picked_marks.setPen(pg.mkPen(c["accent"], width=2))
        self.direction_label.setStyleSheet("font-size: 12pt;")
        self.norm_shell.setPen(pg.mkPen(c["muted"], style=Qt.DashLine))

    # -- model source -----------------------------------------------------------------------------
    def set_kept_models(self, kept: dict[str, tuple[str, int]]) -> None:
        """Models kept by the window from labs the user left (lab -> (file, step))."""
        self.kept_models = dict(kept)
        self.source_box.clear()
        self.source_box.addItem(TRAIN_NEW, "")
        for lab, (path, step) in self.kept_models.items():
            self.source_box.addItem(f"The {lab} lab's model (step {step:,})", path)
        self.source_box.addItem("Open a model file…", "?")
        self.source_box.setCurrentIndex(1 if self.kept_models else 0)

    def _on_source(self, index: int) -> None:
        path = self.source_box.itemData(index)
        if path == "?":
            path, _ = QFileDialog.getOpenFileName(self, "Open a VAE model", "", "Model (*.pt)")
            if not path:
                return
        self.requestSettings.emit({"model": path}, True)

    # -- engine output --------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.heavy = {}
        self.z = None
        self.direction, self.direction_name, self.strength = None, "", 0.0
        self.walk_start = self.walk_end = None
        self.analogy_slots = {}
        self.anchors, self.direction_source = {}, ()
        self.picked.clear()
        self.source_label.setText(f"{info.get('model_source', '')} · {info.get('dataset', '')}, "
                                  f"{info.get('latent', '?')}-D latent")
        names = list(info.get("class_names", ["data"]))
        for combo, default in ((self.attr_a, 1), (self.attr_b, 0)):
            combo.clear()
            combo.addItems([f"class “{n}”" for n in names] + ["picked examples", "all data"])
            combo.setCurrentIndex(min(default, len(names) - 1))
        factors = info.get("factors") or {}
        self.factor_box.clear()
        self.factor_box.addItems(list(factors))
        for w in (self.factor_plot, self.factor_row):  # empty without known factors: the note says why
            w.setVisible(bool(factors))
        self.factor_note.setText(
            "Ground truth: the shapes dataset draws position, size and rotation at random, so the latent move "
            "that changes one factor alone can be measured (least squares over the encoded data) and compared "
            "with the sliders' directions." if factors else
            "The known factors need the shapes dataset (File ▸ Use embedded shapes): its position, size and "
            "rotation are drawn at random, so the true directions can be measured.")
        self.strength_slider.blockSignals(True)
        self.strength_slider.setValue(0)
        self.strength_slider.blockSignals(False)
        self.strength_value.setText("+0.00")
        self.direction_label.setText("No direction: pick one under Attributes or Factors")
        self.strip_idx = np.zeros(0, int)

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows and "neg_elbo" in rows:
            self.curves.append("neg_elbo", rows["step"], rows["neg_elbo"])
        if frame is not None and "mu" in frame.data:
            self.curves.append("test_neg_elbo", [frame.step], [frame.data["test_neg_elbo"]])

    def show_frame(self, frame, live: bool) -> None:
        if "mu" not in frame.data:
            return
        first = not self.heavy
        self.heavy = frame.data
        self._update_basis()
        if first:
            self._start_views()
        else:
            self._follow_training()
        self.draw_in_turns([self.render, self._draw_factors, self._draw_classes])  # render() schedules the smaller views

    def clear(self) -> None:
        self.cancel_drawing()
        self.stop_animation()
        self.heavy = {}
        self.decode_next, self.decode_in_flight = {}, {}
        self.curves.clear_data()
        for view in (self.image_view, self.attr_strip, self.lerp_view, self.slerp_view, self.strip,
                     *self.analogy_views.values(), self.class_view):
            view.clear_image()
        self.factor_image.clear()
        self.norm_lerp.setData([], [])
        self.norm_slerp.setData([], [])
        self.picked_marks.setData([], [])
        self.warning.hide()

    def _update_basis(self) -> None:
        h = self.heavy
        names = list(h["slider_names"])
        self.basis = (h["slider_center"], h["slider_basis"], h["slider_scale"], names)
        self.bank.set_names(names)
        d = self.heavy["mu"].shape[1]
        self.slider_title.setText(f"<b>Latent sliders</b> ({d} dimensions)" if d <= ops.MAX_SLIDERS else
                                  f"<b>Sliders: the {len(names)} leading PCA directions</b> of {d} (in data std)")
        self.norm_shell.setValue(float(np.sqrt(d)))

    def _start_views(self) -> None:
        """First snapshot of a model: start from a data example and fill every slot with examples."""
        mu = self.heavy["mu"]
        self.shuffle_strip()
        n = len(mu)
        factors = self.static.get("factors") or {}
        labels = np.asarray(self.static.get("eval_labels", np.zeros(n, int)))
        a, b, c = self._default_analogy(labels, factors, n)
        self.anchors = {"z": int(self.strip_idx[0]), "a": a, "b": b, "c": c, "start": a, "end": c}
        self._follow_training()
        if self.attr_a.count() and self.direction is None:
            self.use_attribute()

    def _follow_training(self) -> None:
        """Re-read the points that stand for data examples, and the direction, from the newest model."""
        mu = self.heavy["mu"]
        for key, i in self.anchors.items():
            v = mu[i].astype(np.float64)
            if key == "z":
                self.z = v
                self.bank.set_values(ops.to_slider_values(v, *self.basis[:3]))
            elif key in ("a", "b", "c"):
                self.analogy_slots[key] = v
            elif key == "start":
                self.walk_start = v
            else:
                self.walk_end = v
        if self.direction_source == ("attribute",):
            self.use_attribute(quiet=True)
        elif self.direction_source:
            self.use_factor(self.direction_source[1], quiet=True)

    def _default_analogy(self, labels: np.ndarray, factors: dict, n: int) -> tuple[int, int, int]:
        """Shapes: big square - small square + small ellipse (the answer: a big ellipse). Else
        three examples of different classes."""
        if "scale" in factors:
            scale = factors["scale"]
            big, small = scale > np.quantile(scale, 0.8), scale < np.quantile(scale, 0.2)
            picks = [np.flatnonzero(big & (labels == 0)), np.flatnonzero(small & (labels == 0)),
                     np.flatnonzero(small & (labels == 1))]
            if all(len(p) for p in picks):
                return tuple(int(p[0]) for p in picks)
        firsts = [int(np.flatnonzero(labels == k)[0]) for k in np.unique(labels)[:3]]
        while len(firsts) < 3:
            firsts.append(min(n - 1, len(firsts)))
        return tuple(firsts)

    # -- decoding ---------------------------------------------------------------------------------
    def decode(self, z: np.ndarray) -> np.ndarray:
        """[B, d] (or [d]) -> [B, H, W] images with the GUI's own copy of the decoder."""
        s = self.static
        flat = decode_numpy(self.heavy["decoder"], np.atleast_2d(z), s["activation"], s["likelihood"])
        return flat.reshape(-1, *s["image_shape"]).astype(np.float32)

    def decode_to(self, tag: str, z: np.ndarray, show) -> None:
        """``show(images)`` with the decoded ``z`` [B, d]: at once with the GUI's copy of the decoder, or, for a
        model the window holds no copy of (your own, --model-code), when the worker has decoded it (one request
        per view in flight; the view's newest z next)."""
        if self.heavy.get("decoder") is not None:
            show(self.decode(z))
            return
        self.decode_next[tag] = (np.atleast_2d(np.asarray(z, np.float32)), show)
        if tag not in self.decode_in_flight:
            self._send_decode(tag)

    def _send_decode(self, tag: str) -> None:
        job = self.decode_next.pop(tag, None)
        if job is None:
            self.decode_in_flight.pop(tag, None)
            return
        self.decode_in_flight[tag] = job[1]
        self.requestQuery.emit("decode", {"z": job[0].ravel().tolist(), "tag": tag})

    def on_reply(self, name: str, value) -> None:
        if name == "decode" and isinstance(value, dict):
            show = self.decode_in_flight.get(value.get("tag"))
            if show is not None and self.static:
                show(np.asarray(value["images"], np.float32).reshape(-1, *self.static["image_shape"]))
            self._send_decode(value.get("tag"))

    def on_query_failed(self, name: str) -> None:
        if name == "decode":
            for tag in list(self.decode_in_flight):  # (which one failed is not said: each view asks again)
                self._send_decode(tag)

    def shown_z(self) -> np.ndarray:
        if self.direction is None or self.strength == 0.0:
            return self.z
        return self.z + self.strength * self.direction

    def render(self) -> None:
        """The large image; the smaller views follow within a few frames (coalesced)."""
        if not self.heavy or self.z is None:
            return
        self.decode_to("image", self.shown_z()[None], lambda images: self.image_view.set_image(images[0]))
        if not self._secondary_due:
            self._secondary_due = True
            QTimer.singleShot(30, self._refresh_secondary)

    def _refresh_secondary(self) -> None:
        self._secondary_due = False
        if self.heavy and self.z is not None:
            self._draw_attribute_strip()
            self._draw_analogy()
            self._draw_walks()

    # -- sliders and z ----------------------------------------------------------------------------------
    def move_slider(self, i: int, value: float) -> None:
        """A slider moved: decode the new z at once (timed for ``genviz bench arithmetic``)."""
        if self.z is None:
            return
        t0 = time.perf_counter()
        self.anchors.pop("z", None)
        self.z = ops.move_slider(self.z, i, value, *self.basis[:3])
        self.render()
        self.image_view.viewport().repaint()  # on screen now, not at the next event-loop turn
        self.slider_latency_ms.append((time.perf_counter() - t0) * 1e3)

    def set_z(self, z: np.ndarray, example: int | None = None) -> None:
        """Show z; ``example``: z is that example's encoding and follows it while the model trains."""
        if z is None or not self.heavy:
            return
        self._anchor("z", example)
        self.z = np.asarray(z, np.float64).copy()
        self.bank.set_values(ops.to_slider_values(self.z, *self.basis[:3]))
        self.render()

    def _prior_sample(self) -> np.ndarray | None:
        return None if self.z is None else self.rng.standard_normal(len(self.z))

    def sample_prior(self) -> None:
        self.set_z(self._prior_sample())

    # -- directions ---------------------------------------------------------------------------------------
    def _set_members(self, combo: QComboBox) -> tuple[np.ndarray, str]:
        labels = np.asarray(self.static["eval_labels"])
        n_classes = combo.count() - 2
        k = combo.currentIndex()
        if k < n_classes:
            return labels == k, combo.currentText()
        if k == n_classes:
            return np.array(sorted(self.picked), int), f"{len(self.picked)} picked examples"
        return np.ones(len(labels), bool), "all data"

    def _anchor(self, key: str, example: int | None) -> None:
        if example is None:
            self.anchors.pop(key, None)
        else:
            self.anchors[key] = int(example)

    def use_attribute(self, quiet: bool = False) -> None:
        if not self.heavy:
            return
        (members_a, name_a), (members_b, name_b) = self._set_members(self.attr_a), self._set_members(self.attr_b)
        try:
            v = ops.attribute_vector(self.heavy["mu"], members_a, members_b)
        except ValueError:
            self.attr_info.setText("Both sets need examples: shift-click examples in the strip to pick them.")
            return
        count = lambda m: int(m.sum()) if m.dtype == bool else len(m)  # noqa: E731
        self.attr_info.setText(f"A: {name_a} ({count(members_a)} examples) · B: {name_b} ({count(members_b)}) · "
                               f"‖A − B‖ = {np.linalg.norm(v):.2f}")
        self.set_direction(v, f"{name_a} − {name_b}", ("attribute",), quiet)

    def use_factor(self, name: str | None = None, quiet: bool = False) -> None:
        name = name or self.factor_box.currentText()
        names = self.heavy.get("factor_names", [])
        if name in names:
            v = np.asarray(self.heavy["factor_directions"][names.index(name)], np.float64)
            self.set_direction(v, f"true factor “{name}” (+1 std)", ("factor", name), quiet)

    def set_direction(self, v: np.ndarray, name: str, source: tuple = (), quiet: bool = False) -> None:
        """Add ``v`` (times the strength) to z. ``quiet``: a refresh while training, nothing redrawn."""
        self.direction, self.direction_name, self.direction_source = np.asarray(v, np.float64), name, source
        if quiet:
            return
        if self.strength == 0.0:
            self.strength_slider.setValue(100)  # show the direction's effect at once
        self.direction_label.setText(f"Direction: <b>{name}</b>")
        self.render()

    def set_strength(self, s: float) -> None:
        self.strength = float(s)
        self.strength_value.setText(f"{s:+.2f}")
        self.render()

    def apply_direction(self) -> None:
        if self.direction is not None and self.z is not None:
            z = self.shown_z()
            self.strength_slider.setValue(0)
            self.set_z(z)  # no longer a data example's encoding

    def _draw_attribute_strip(self) -> None:
        if self.direction is None:
            self.attr_strip.clear_image()
            return
        zs = self.z[None] + ATTRIBUTE_STRENGTHS[:, None] * self.direction[None]
        self.decode_to("attribute", zs, lambda images: self.attr_strip.set_image(self._strip_of(images, 1, len(zs))))
        self.attr_strip.setTitle(f"z + s·({self.direction_name})   for s = −2 … +2", size="11pt")

    def _strip_of(self, images: np.ndarray, rows: int, cols: int) -> np.ndarray:
        pad = 1 if images.shape[1] <= 16 else 2
        return tile(images, rows, cols, pad=pad, fill=0.5)

    # -- analogy ------------------------------------------------------------------------------------------
    def set_analogy_slot(self, key: str, z: np.ndarray | None) -> None:
        if z is not None:
            self._anchor(key, self.anchors.get("z"))  # an example's encoding stays one
            self.analogy_slots[key] = np.asarray(z, np.float64).copy()
            self._draw_analogy()

    def _analogy_result(self) -> np.ndarray | None:
        s = self.analogy_slots
        return ops.analogy(s["a"], s["b"], s["c"]) if all(k in s for k in "abc") else None

    def _draw_analogy(self) -> None:
        result = self._analogy_result()
        if result is None:
            return
        keys = ("a", "b", "c", "result")
        zs = np.stack([*(self.analogy_slots[k] for k in "abc"), result])

        def show(images):
            for key, image in zip(keys, images):
                self.analogy_views[key].set_image(image)

        self.decode_to("analogy", zs, show)
        self.analogy_text.setText(f"‖a − b‖ = {np.linalg.norm(self.analogy_slots['a'] - self.analogy_slots['b']):.2f}: "
                                  "the offset b → a is added to c.")

    # -- walks ----------------------------------------------------------------------------------------------
    def set_walk(self, start=None, end=None) -> None:
        """Walk endpoints; the current z keeps following its example, a prior sample does not."""
        current = self.anchors.get("z")
        if start is not None:
            self._anchor("start", current if start is self.z else None)
            self.walk_start = np.asarray(start, np.float64).copy()
        if end is not None:
            self._anchor("end", current if end is self.z else None)
            self.walk_end = np.asarray(end, np.float64).copy()
        self._draw_walks()

    def walk_paths(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.walk_start is None or self.walk_end is None:
            return None
        n = self.walk_steps.value()
        return ops.lerp(self.walk_start, self.walk_end, n), ops.slerp(self.walk_start, self.walk_end, n)

    def _draw_walks(self) -> None:
        paths = self.walk_paths()
        if paths is None or not self.heavy:
            return
        lin, sph = paths

        def show(images):
            self.lerp_view.set_image(self._strip_of(images[:len(lin)], 1, len(lin)))
            self.slerp_view.set_image(self._strip_of(images[len(lin):], 1, len(sph)))

        self.decode_to("walks", np.concatenate([lin, sph]), show)
        t = np.linspace(0, 1, len(lin))
        self.norm_lerp.setData(t, np.linalg.norm(lin, axis=1))
        self.norm_slerp.setData(t, np.linalg.norm(sph, axis=1))

    def _toggle_walk(self, on: bool) -> None:
        if not on:
            self.stop_animation()
            return
        paths = self.walk_paths()
        if paths is None:
            self.play_walk_button.setChecked(False)
            return
        # a smooth film: 60 frames along the chosen path, there and back
        n = 60
        path = (ops.slerp if self.walk_kind.currentText() == "spherical" else ops.lerp)(self.walk_start, self.walk_end, n)
        self._start_animation(path, "walk")

    def _toggle_random_walk(self, on: bool) -> None:
        if not on:
            self.stop_animation()
        elif self.z is not None:
            self._start_animation(self.z[None].copy(), "random")
        else:
            self.random_walk_button.setChecked(False)

    def _start_animation(self, path: np.ndarray, kind: str) -> None:
        self.stop_animation()
        button = self.play_walk_button if kind == "walk" else self.random_walk_button
        button.blockSignals(True)  # the button may be what started this
        button.setChecked(True)
        button.blockSignals(False)
        self.anim_path, self.anim_i, self.anim_step, self.anim_kind = path, 0, 1, kind
        self.animation.start()

    def stop_animation(self) -> None:
        self.animation.stop()
        self.anim_path, self.anim_kind = None, ""
        for button in (self.play_walk_button, self.random_walk_button):
            button.blockSignals(True)
            button.setChecked(False)
            button.blockSignals(False)

    def _animate(self) -> None:
        if self.anim_path is None or not self.heavy:
            return
        if self.anim_kind == "random":
            z = ops.prior_random_walk(self.z, 1, 0.08, self.rng)[-1]
        else:
            n = len(self.anim_path)
            if not 0 <= self.anim_i + self.anim_step < n:
                self.anim_step = -self.anim_step  # ping-pong
            self.anim_i += self.anim_step
            z = self.anim_path[self.anim_i]
        self.set_z(z)

    # -- pick from data ------------------------------------------------------------------------------------
    def shuffle_strip(self) -> None:
        if not self.static:
            return
        n = len(self.static["eval_images"])
        self.strip_idx = self.rng.choice(n, size=min(n, STRIP_COLUMNS * STRIP_ROWS), replace=False)
        self._draw_strip()

    def _draw_strip(self) -> None:
        if not len(self.strip_idx):
            return
        images = self.static["eval_images"][self.strip_idx].astype(np.float32) / 255.0
        self.strip.set_image(self._strip_of(images, STRIP_ROWS, STRIP_COLUMNS))
        self._draw_picked()

    def _cell(self) -> tuple[int, int, int]:
        h, w = self.static["image_shape"]
        pad = 1 if h <= 16 else 2
        return h, w, pad

    def strip_index_at(self, row: int, col: int) -> int | None:
        h, w, pad = self._cell()
        r, c = row // (h + pad), col // (w + pad)
        k = r * STRIP_COLUMNS + c
        return int(self.strip_idx[k]) if k < len(self.strip_idx) and c < STRIP_COLUMNS else None

    def _on_strip_click(self, row: int, col: int, modifiers) -> None:
        i = self.strip_index_at(row, col)
        if i is None:
            return
        if modifiers & Qt.ShiftModifier:
            self.toggle_picked(i)
        else:
            self.pick_example(i)

    def pick_example(self, i: int) -> None:
        """Start from the encoder's mean for example i."""
        if self.heavy:
            self.stop_animation()
            self.set_z(self.heavy["mu"][i], example=i)
            self.statusMessage.emit(f"z = E[z | example {i}]")

    def toggle_picked(self, i: int) -> None:
        self.picked.symmetric_difference_update({i})
        self._draw_picked()
        names = [self.attr_a.itemText(k) for k in range(self.attr_a.count())]
        if "picked examples" in names and self.picked:
            self.attr_a.setCurrentIndex(names.index("picked examples"))
        self.statusMessage.emit(f"{len(self.picked)} examples picked (set A of the attribute vector)")

    def clear_picked(self) -> None:
        self.picked.clear()
        self._draw_picked()

    def _draw_picked(self) -> None:
        h, w, pad = self._cell()
        xs, ys = [], []
        for k, i in enumerate(self.strip_idx):
            if int(i) in self.picked:
                r, c = divmod(k, STRIP_COLUMNS)
                xs.append(c * (w + pad) + w / 2)
                ys.append(r * (h + pad) + h / 2)
        self.picked_marks.setData(xs, ys, size=h + pad)

    # -- known factors ------------------------------------------------------------------------------------
    def _draw_factors(self) -> None:
        names = self.heavy.get("factor_names")
        if not names:
            self.factor_image.clear()
            self.factor_r2.setText("")
            return
        directions = np.asarray(self.heavy["factor_directions"], np.float64)
        _, basis, _, slider_names = self.basis
        align = np.abs(directions @ basis) / np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
        self.factor_image.setImage(align.astype(np.float32), levels=(0.0, 1.0))
        self.factor_plot.getAxis("left").setTicks([[(i + 0.5, n) for i, n in enumerate(names)]])
        step = max(1, -(-len(slider_names) // 16))
        self.factor_plot.getAxis("bottom").setTicks(
            [[(j + 0.5, slider_names[j]) for j in range(0, len(slider_names), step)]])
        for item in self.factor_labels:
            self.factor_plot.removeItem(item)
        self.factor_labels = []
        if align.size <= 160:  # the numbers themselves, while the cells are wide enough to hold them
            for (i, j), v in np.ndenumerate(align):
                text = pg.TextItem(f"{v:.2f}", color="#000000" if v > 0.6 else "#ffffff", anchor=(0.5, 0.5))
                text.setPos(j + 0.5, i + 0.5)
                self.factor_plot.addItem(text)
                self.factor_labels.append(text)
        self.factor_plot.setXRange(0, len(slider_names), padding=0)
        self.factor_plot.setYRange(0, len(names), padding=0)
        r2 = self.heavy["factor_r2"]
        best = [f"{n}: R² = {r:.2f}, best slider {slider_names[int(np.argmax(a))]} (|cos| {a.max():.2f})"
                for n, r, a in zip(names, r2, align)]
        self.factor_r2.setText("Linear read-out of each factor from z, and its best-aligned slider:<br>"
                               + "<br>".join(best)
                               + "<br><i>Rotation is circular and the shapes are symmetric, so no straight line "
                                 "can follow it: a low R² is the expected lesson.</i>")
