"""The autoregressive lab's views: samples growing pixel by pixel with the next pixel's probability,
completions of a test image with its top half or a painted region hidden, each pixel's surprise, the
receptive field of a clicked pixel (from the model's gradients), MADE's masks and the NLL curves in
nats and bits/dim. With 2-D points: the model's exact density on its grid of bins beside the data's
histogram and the conditional p(x2 | x1)."""
from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QApplication, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter,
                               QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

from genviz.core.mosaic import grid_shape, tile
from genviz.core.numbers import estimate
from genviz.models.plain import blind_spot
from genviz.ui import theme
from genviz.ui.panel import LabPanel
from genviz.ui.plots import (ClickableImage, CurvePlot, ImagePlot, add_colorbar, add_second_unit, heat_plot, keyed,
                              make_plot)

ANIMATION_MS = 15  # one step of the animated sampling per tick
MODEL_NAMES = {"nade": "NADE", "made": "MADE", "pixelcnn": "PixelCNN", "gated": "Gated PixelCNN", "binned": "p(x1) p(x2 | x1)",
               "yours": "Your model"}


def heat_view(title: str, cmap: str, label: str, levels) -> tuple[ClickableImage, pg.ImageItem]:
    """An image of one value per pixel with its colour bar (clicks report the pixel)."""
    view = ClickableImage(title, levels=levels)
    view.item.setColorMap(pg.colormap.get(cmap))
    add_colorbar(view, view.item, label)
    return view, view.item


def sorted_mask(mask: np.ndarray) -> np.ndarray:
    """A MADE mask (out x in) with outputs sorted by how many inputs they see and inputs by how many
    outputs see them: the connectivity's staircase."""
    rows = np.argsort(mask.sum(1), kind="stable")
    cols = np.argsort(-mask.sum(0), kind="stable")
    return mask[rows][:, cols]


class AutoregressivePanel(LabPanel):
    MAIN_VIEW = "samples"  # the samples: what the compare view shows of each run

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.heavy: dict = {}
        self.picked: int | None = None  # the output pixel whose receptive field is shown
        self.anim: dict | None = None
        self.hidden: np.ndarray | None = None  # painted pixels of the test image (True = to complete)
        self.timer = QTimer(self)
        self.timer.setInterval(ANIMATION_MS)
        self.timer.timeout.connect(self._animate)

        self.samples_view = ImagePlot("Samples", levels=(0, 1))
        self.density_view, self.density_img = heat_plot("Model p(x1, x2), exact", "inferno", "probability per bin")
        self.next_view, self.next_img = heat_view(keyed("Next pixel", "p(x_i = 1 | x_&lt;i)"), "CET-L17", "probability", (0, 1))
        self.nll_view, self.nll_img = heat_view(keyed("Surprise", "−log p(x_i | x_&lt;i)"), "inferno", "nats", (0, 4))
        self.field_view, self.field_img = heat_view(keyed("Receptive field", "click a pixel"), "viridis", "relative",
                                                    (0, 1))
        self.image_view = ClickableImage("Test image", levels=(0, 1))
        self.paint_img = pg.ImageItem()  # the painted region, red over the test image
        self.paint_img.setZValue(10)
        self.image_view.addItem(self.paint_img)
        self.hist_view, self.hist_img = heat_plot("Data: training points per bin", "inferno", "fraction per bin")
        self.cond_view, self.cond_img = heat_plot("p(x2 | x1): each column sums to 1", "viridis", "p(x2 bin | x1 bin)")
        for view in (self.density_view, self.hist_view, self.cond_view):
            view.setLabel("bottom", "x1")
            view.setLabel("left", "x2")
        self.completions_view = ImagePlot("Completions: press “Complete”", levels=(0, 1))
        self.completions_view.setToolTip("Each hidden pixel is sampled given every pixel before it in the model's "
                                         "order (given or already sampled); given pixels after it cannot inform it")
        self.masks_view = make_plot("MADE's masks (blue: a weight; units by degree)")
        self.masks_view.setAspectLocked(True)
        self.masks_view.getPlotItem().hideAxis("left")
        self.masks_view.getPlotItem().hideAxis("bottom")
        self.masks_view.getPlotItem().getViewBox().invertY(True)
        self._mask_items: list = []
        self.curves = CurvePlot("Negative log-likelihood", {"train_nll": "train NLL (minibatch)", "test_nll": "test NLL"},
                                y_label="nats per image")
        self.bits_axis = add_second_unit(self.curves, "bits/dim", 1.0)
        self.name_views({"samples": self.samples_view, "density": self.density_view, "next-pixel": self.next_view,
                         "pixel-nll": self.nll_view, "receptive-field": self.field_view, "chosen-image": self.image_view,
                         "histogram": self.hist_view, "conditional": self.cond_view,
                         "completions": self.completions_view, "made-masks": self.masks_view, "curves": self.curves})
        for view in (self.next_view, self.nll_view):
            view.clicked.connect(lambda r, c, _m: self._pick(r, c))
        self.image_view.clicked.connect(self._image_clicked)
        self.image_view.scene().sigMouseMoved.connect(self._image_dragged)

        self.sample_button = QPushButton("Sample pixel by pixel")
        self.sample_button.setToolTip("Draw 16 images from the model in its ordering, one pixel at a time; the "
                                      "heat image shows p(x_i = 1 | x_<i) of the first as it grows")
        self.sample_button.clicked.connect(lambda: self.requestQuery.emit("sample", {"n": 16, "seed": self._seed()}))
        self.paint_button = QPushButton("Paint a region")
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip("Paint on the test image the pixels to hide and complete (drag; Shift erases). "
                                     "With nothing painted, the bottom half is completed")
        self.paint_button.toggled.connect(self._paint_mode)
        self.clear_paint_button = QPushButton("Clear")
        self.clear_paint_button.setToolTip("Forget the painted region")
        self.clear_paint_button.clicked.connect(lambda: self._set_hidden(None))
        self.complete_button = QPushButton("Complete the bottom half")
        self.complete_button.setToolTip("Keep the rest of the chosen test image and sample the hidden pixels "
                                        "8 times, each given the pixels before it in the model's order")
        self.complete_button.clicked.connect(self._complete)
        self.image_buttons = (self.sample_button, self.paint_button, self.clear_paint_button, self.complete_button)
        for b in self.image_buttons:
            b.setFocusPolicy(Qt.NoFocus)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)

        buttons = QHBoxLayout()
        for w in self.image_buttons:
            buttons.addWidget(w)
        buttons.addStretch(1)
        self.main_stack = QStackedWidget()  # images: the samples; points: the model's density
        self.main_stack.addWidget(self.samples_view)
        self.main_stack.addWidget(self.density_view)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(buttons)
        ll.addWidget(self.main_stack, 1)
        self.first_stack = QStackedWidget()  # images: the test image; points: the data's histogram
        self.first_stack.addWidget(self.image_view)
        self.first_stack.addWidget(self.hist_view)
        self.second_stack = QStackedWidget()  # images: p(x_i = 1 | ...); points: p(x2 | x1)
        self.second_stack.addWidget(self.next_view)
        self.second_stack.addWidget(self.cond_view)
        grid = QWidget()
        gl = QGridLayout(grid)
        gl.setContentsMargins(0, 0, 0, 0)
        for i, view in enumerate((self.first_stack, self.second_stack, self.nll_view, self.field_view)):
            gl.addWidget(view, i // 2, i % 2)
        # two rows of equal height, each view allowed to shrink: the receptive field (the blind spot,
        # this lab's lesson) was squeezed to a sliver under the larger images above it
        for i in range(2):
            gl.setRowStretch(i, 1)
            gl.setColumnStretch(i, 1)
        for view in (self.image_view, self.hist_view, self.next_view, self.cond_view, self.nll_view, self.field_view,
                     self.samples_view, self.density_view):
            view.setMinimumSize(120, 120)
        top = self.top_split = QSplitter(Qt.Horizontal)
        top.addWidget(left)
        top.addWidget(grid)
        top.setSizes([480, 620])

        self.mask_choice = QSpinBox()
        self.mask_choice.setPrefix("ordering ")
        self.mask_choice.setToolTip("Which of MADE's orderings / connectivities to show")
        self.mask_choice.valueChanged.connect(lambda _v: self._draw_masks())
        masks_page = QWidget()
        mp = QVBoxLayout(masks_page)
        mp.setContentsMargins(0, 0, 0, 0)
        mp.addWidget(self.mask_choice, 0, Qt.AlignLeft)
        mp.addWidget(self.masks_view, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.completions_view, "Completions")
        self.tabs.addTab(masks_page, "MADE masks")
        self.tabs.currentChanged.connect(lambda _i: QTimer.singleShot(0, self._fit_masks))
        lower = QWidget()
        lo = QVBoxLayout(lower)
        lo.setContentsMargins(0, 0, 0, 0)
        lo.addWidget(self.readout)
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.tabs)
        bottom.addWidget(self.curves)
        bottom.setSizes([500, 600])
        lo.addWidget(bottom, 1)
        self.arrange(top, lower, (480, 420))
        self._queries = 0

    def _seed(self) -> int:
        self._queries += 1
        return self._queries

    def restyle(self) -> None:
        pass

    @property
    def toy(self) -> bool:
        return bool(self.static.get("toy"))

    # -- engine output ---------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.picked = None
        self.clear()
        toy = self.toy
        for stack in (self.main_stack, self.first_stack, self.second_stack):
            stack.setCurrentIndex(1 if toy else 0)
        for w in (self.nll_view, self.field_view, self.tabs, *self.image_buttons):
            w.setVisible(not toy)
        total = sum(self.top_split.sizes()) or 1100
        # points: three density views of equal width; images: the samples get the larger share
        self.top_split.setSizes([total // 3, total - total // 3] if toy else [total * 48 // 110, total - total * 48 // 110])
        model = MODEL_NAMES.get(info["model"], info["model"])
        D = info["D"]
        self.bits_axis.set_scale(1.0 / (D * math.log(2)))
        self.curves.setLabel("left", "nats per point" if toy else "nats per image")
        self._density_fitted = False
        if toy:
            B = info["bins"]
            self.density_view.setTitle(f"Model {model} on {B}×{B} bins: exact", size=theme.title_size())
            hist = np.asarray(info["histogram"], np.float32)
            self._set_density(self.hist_img, hist, float(hist.max()) or 1.0)
            return
        h, w = info["image_shape"]
        self.samples_title = f"{model} samples ({h}×{w}, {info['dataset']})"
        self.samples_view.setTitle(self.samples_title, size=theme.title_size())
        masks = info.get("made_masks") or []
        self.tabs.setTabEnabled(1, bool(masks))
        self.mask_choice.blockSignals(True)
        self.mask_choice.setRange(0, max(0, len(masks) - 1))
        self.mask_choice.setValue(0)
        self.mask_choice.setVisible(len(masks) > 1)
        self.mask_choice.blockSignals(False)
        self._draw_masks()
        self._set_hidden(self.hidden if self.hidden is not None and self.hidden.size == h * w else None)

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows and "train_nll" in rows:
            self.curves.append("train_nll", rows["step"], rows["train_nll"])
        if frame is not None and frame.heavy and "test_nll" in frame.data:
            self.curves.append("test_nll", [frame.step], [frame.data["test_nll"]])

    def show_frame(self, frame, live: bool) -> None:
        if not frame.heavy or "test_nll" not in frame.data or not self.static:
            return
        data = self.heavy = frame.data
        if self.toy:
            self.draw_in_turns([lambda: self._draw_density(data), lambda: self._draw_readout(data)])
            return
        self.draw_in_turns([lambda: self._draw_image(data), lambda: self._draw_samples(data),
                            lambda: self._draw_readout(data), lambda: self._draw_live_completions(data)])
        if self.picked is None and "probe_field" in data:  # until a pixel is clicked: the snapshot's probe
            self.queue_view(lambda: self.on_reply("receptive", {"d": data["probe"], "field": data["probe_field"],
                                                                "blind_spot": data.get("blind_spot")}))
        elif live and self.picked is not None and not self.timer.isActive():
            self.requestQuery.emit("receptive", {"d": self.picked})

    def clear(self) -> None:
        self.cancel_drawing()
        self.timer.stop()
        self.anim = None
        for view in (self.samples_view, self.image_view, self.completions_view):
            view.clear_image()
        for img in (self.next_img, self.nll_img, self.field_img, self.density_img, self.cond_img):
            img.clear()
        self.curves.clear_data()
        self.readout.setText("")

    # -- drawing ---------------------------------------------------------------------------------------
    def _shape(self) -> tuple[int, int]:
        return tuple(self.static["image_shape"])

    def _mosaic(self, flat: np.ndarray, cols: int | None = None) -> np.ndarray:
        h, w = self._shape()
        imgs = np.asarray(flat, np.float32).reshape(-1, h, w)
        rows, c = grid_shape(len(imgs)) if cols is None else (-(-len(imgs) // cols), cols)
        return tile(imgs, rows, c, pad=1, fill=0.35)

    def _draw_density(self, data: dict) -> None:
        probs = np.asarray(data["probabilities"], np.float32)
        hist = np.asarray(self.static["histogram"], np.float32)
        top = float(max(probs.max(), hist.max())) or 1.0  # one scale for the model and the data
        self._set_density(self.density_img, probs, top)
        self._set_density(self.hist_img, hist, top)
        cond = np.asarray(data["conditional"], np.float32)
        self._set_density(self.cond_img, cond, float(cond.max()) or 1.0)
        if not getattr(self, "_density_fitted", False):  # the extent, once the images exist
            self._density_fitted = True
            for view in (self.density_view, self.hist_view, self.cond_view):
                view.getPlotItem().getViewBox().autoRange(padding=0.01)

    def _set_density(self, img: pg.ImageItem, values: np.ndarray, top: float) -> None:
        """values[i, j]: bin i of x1, bin j of x2, drawn over the data's extent (x1 across, x2 up)."""
        img.setImage(values.T, levels=(0, top))
        x0, x1, y0, y1 = self.static["extent"]
        img.setRect(x0, y0, x1 - x0, y1 - y0)  # after setImage: the rect scales the image's pixels

    def _draw_image(self, data: dict) -> None:
        h, w = self._shape()
        self.image_view.set_image(np.asarray(data["image"], np.float32).reshape(h, w))
        if not self.timer.isActive():
            self.next_img.setImage(np.asarray(data["conditionals"], np.float32).reshape(h, w), levels=(0, 1))
            self.next_view.setTitle(keyed("Next pixel", "p(x_i = 1 | x_&lt;i)"), size=theme.title_size())
        nll = np.asarray(data["pixel_nll"], np.float32).reshape(h, w)
        top = max(1.0, float(np.percentile(nll, 99)))
        self.nll_img.setImage(nll, levels=(0, top))
        for view in (self.next_view, self.nll_view):
            view.getPlotItem().getViewBox().autoRange(padding=0.01)
        self.image_view.setTitle(f"Test image {data['image_index']}", size=theme.title_size())

    def _draw_samples(self, data: dict) -> None:
        mix = data.get("mixture")
        if mix is not None and "samples" in mix and not self.timer.isActive():  # the counter-example's samples
            self.samples_view.set_image(self._mosaic(mix["samples"]))
            self.samples_view.setTitle(keyed(f"Samples of the mixture {1 - mix['w']:.3g} p + {mix['w']:.3g} noise",
                                             f"{mix['noise_samples']} of {mix['n_samples']} are noise"),
                                       size=theme.title_size())
        elif "samples" in data and not self.timer.isActive():
            self.samples_view.set_image(self._mosaic(data["samples"]))
            if getattr(self, "samples_title", None):
                self.samples_view.setTitle(self.samples_title, size=theme.title_size())

    def _draw_live_completions(self, data: dict) -> None:
        """Each snapshot completes the chosen image's bottom half (unless a painted region is shown)."""
        if "completions" not in data or self.hidden is not None:
            return
        h, w = self._shape()
        given = np.zeros(h * w, bool)
        given[: (h // 2) * w] = True
        self._show_completions(np.asarray(data["image"], np.float32), given, np.asarray(data["completions"]), False)

    def _show_completions(self, image: np.ndarray, given: np.ndarray, completions: np.ndarray, painted: bool) -> None:
        shown = image.reshape(1, -1).copy()
        shown[0, ~given] = 0.35  # the hidden pixels as the model was shown them: unknown
        imgs = np.concatenate([image.reshape(1, -1), shown, np.asarray(completions, np.float32)])
        self.completions_view.set_image(self._mosaic(imgs, cols=-(-len(imgs) // 2)))
        what = "painted region" if painted else "bottom half"
        order = np.asarray(self.static.get("order", []))
        title = f"Original · {what} hidden (grey) · {len(imgs) - 2} completions"
        if not np.array_equal(order, np.arange(len(order))):  # on a second line: one long line overflowed the view
            title = keyed(title, "random order: each pixel sees only those before it")
        self.completions_view.setTitle(title, size=theme.title_size())

    def _draw_readout(self, data: dict) -> None:
        s = self.static
        nll = estimate(data["test_nll"], data.get("test_nll_se"))
        sep = " &nbsp;·&nbsp; "
        if self.toy:
            text = (f"test NLL <b>{nll}</b> nats per point on {s['bins']}×{s['bins']} bins "
                    f"({data['bits_per_dim']:.3f} bits/dim, {s['n_test']} fresh points){sep}"
                    f"as a density over the plane: {estimate(data['density_nll'], data.get('test_nll_se'))} nats "
                    f"(the flow lab's test NLL on the same data)")
            if s.get("outside", 0) > 0:
                text += f"{sep}{100 * s['outside']:.1f} % of points lie past the grid and count in its edge bins"
            self.readout.setText(text)
            return
        parts = [f"test NLL <b>{nll}</b> nats per image ({data['bits_per_dim']:.4f} bits/dim; "
                 f"{min(500, s.get('n_test', 0))} of {html.escape(str(s.get('test_split', '')))}, {s['D']} pixels)"]
        if "test_nll_one_order" in data:
            parts.append(f"one ordering alone: {estimate(data['test_nll_one_order'], data.get('test_nll_one_order_se'))}"
                         f" (mean over the {s.get('n_masks', 'K')} orderings); the test NLL is their ensemble, which "
                         f"averages their p(x): <b>{estimate(data['ensemble_gain'], data.get('ensemble_gain_se'))}</b> "
                         "nats lower")
        mix = data.get("mixture")
        if mix is not None:
            parts.append(f"<b>the mixture with {100 * mix['w']:.4g} % noise: test NLL {estimate(mix['nll'], mix['nll_se'])}"
                         f"</b>, only {estimate(mix['cost'], mix['cost_se'])} nats ({mix['cost_bits_per_dim']:.3f} bits/dim) "
                         f"above the model's (at most log 1/(1 − w) = {mix['bound']:.2f}), yet "
                         + (f"{mix['noise_samples']} of its {mix['n_samples']} samples" if "n_samples" in mix else
                            f"{100 * mix['w']:.4g} % of its samples")
                         + " are noise: a good likelihood does not mean good samples (Theis et al. 2016)")
        parts.append(f"chosen image: {float(np.sum(data['pixel_nll'])):.2f} nats")
        if "completion_match" in data:
            gain = estimate(100 * data["completion_gain"], 100 * (data.get("completion_gain_se") or 0) or None)
            parts.append(f"completions of the bottom half get {100 * data['completion_match']:.0f} % of its pixels "
                         f"right, unconditional samples {100 * data['sample_match']:.0f} % (the top half adds {gain} "
                         "points)")
        if s.get("grey_levels"):
            how = "at 0.5" if s.get("binarize") == "threshold" else "by a fresh Bernoulli draw each step (test: at 0.5)"
            parts.append(f"grey levels binarized {how}")
        if s.get("published"):
            pub = s["published"]
            parts.append(f"published on binarized MNIST: NADE {pub['nade']}, PixelCNN {pub['pixelcnn']} nats. "
                         "Not the same protocol: those use Salakhutdinov & Murray's fixed stochastic binarization, "
                         "50k training images and days of training; here the images are thresholded at 0.5")
        self.readout.setText(sep.join(parts))

    def _draw_masks(self) -> None:
        """Each layer's mask of the chosen ordering (sorted: a staircase), then the input-to-output
        connectivity their product gives: output i sees input j only if j comes before i."""
        for item in self._mask_items:
            self.masks_view.removeItem(item)
        self._mask_items = []
        sets = self.static.get("made_masks") or []
        if not sets:
            return
        masks = [np.asarray(m, np.float32) for m in sets[min(self.mask_choice.value(), len(sets) - 1)]]
        path = masks[0]
        for m in masks[1:]:
            path = m @ path  # the number of paths from each input to each output
        order = np.asarray(self.static["order"]) if self.mask_choice.value() == 0 else None
        conn = (path > 0).astype(np.float32)
        if order is not None:  # in the model's order: strictly lower triangular
            conn = conn[order][:, order]
        names = ["in → h1"] + [f"h{i} → h{i + 1}" for i in range(1, len(masks) - 1)]
        names += [f"h{len(masks) - 1} → out", "in → out"]
        on, off = np.array([31, 119, 180, 255], np.uint8), np.array([225, 225, 225, 255], np.uint8)
        for i, (mat, name) in enumerate(zip([*(sorted_mask(m) for m in masks), conn], names)):
            img = pg.ImageItem(np.where(mat[..., None] > 0, on, off))  # blue: a weight exists
            img.setRect(i * 1.2, 0, 1, 1)
            self.masks_view.addItem(img)
            label = pg.TextItem(f"{name}\n{mat.shape[1]} → {mat.shape[0]}", anchor=(0.5, 0),
                                color=theme.colors()["text"])
            label.setPos(i * 1.2 + 0.5, 1.03)
            self.masks_view.addItem(label)
            self._mask_items += [img, label]
        self._mask_range = (len(names) * 1.2 - 0.2)
        self._fit_masks()

    def _fit_masks(self) -> None:
        if getattr(self, "_mask_range", None):
            self.masks_view.getPlotItem().getViewBox().setRange(xRange=(-0.05, self._mask_range + 0.05),
                                                                yRange=(-0.02, 1.3), padding=0)

    # -- interaction -----------------------------------------------------------------------------------
    def _pick(self, r: int, c: int) -> None:
        if not self.static or self.toy:
            return
        h, w = self._shape()
        self.picked = int(r) * w + int(c)
        self.requestQuery.emit("receptive", {"d": self.picked})

    def _paint_mode(self, on: bool) -> None:
        self.image_view.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)
        self.statusMessage.emit("paint the pixels to hide on the test image (Shift erases)" if on else "")

    def _image_clicked(self, r: int, c: int, modifiers) -> None:
        if self.paint_button.isChecked():
            self._paint(r, c, bool(modifiers & Qt.ShiftModifier))
        else:
            self._pick(r, c)

    def _image_dragged(self, pos) -> None:
        if not self.paint_button.isChecked() or not (QApplication.mouseButtons() & Qt.LeftButton) or not self.static:
            return
        p = self.image_view.item.mapFromScene(pos)
        h, w = self._shape()
        if 0 <= p.x() < w and 0 <= p.y() < h:
            self._paint(int(p.y()), int(p.x()), bool(QApplication.keyboardModifiers() & Qt.ShiftModifier))

    def _paint(self, r: int, c: int, erase: bool) -> None:
        if not self.static or self.toy:
            return
        h, w = self._shape()
        hidden = np.zeros((h, w), bool) if self.hidden is None else self.hidden.reshape(h, w).copy()
        b = max(0, round(min(h, w) / 14))  # the brush: one pixel on 8x8 digits, 5x5 on 28x28
        hidden[max(0, r - b): r + b + 1, max(0, c - b): c + b + 1] = not erase
        self._set_hidden(hidden.ravel())

    def _set_hidden(self, hidden: np.ndarray | None) -> None:
        self.hidden = None if hidden is None or not hidden.any() else hidden.astype(bool)
        if not self.static or self.toy:
            return
        h, w = self._shape()
        rgba = np.zeros((h, w, 4), np.uint8)
        if self.hidden is not None:
            rgba[self.hidden.reshape(h, w)] = (214, 39, 40, 170)
        self.paint_img.setImage(rgba, levels=None, autoLevels=False)
        self.paint_img.setRect(0, 0, w, h)
        self.complete_button.setText("Complete the painted region" if self.hidden is not None
                                     else "Complete the bottom half")

    def _complete(self) -> None:
        kwargs = {"n": 8, "seed": self._seed()}
        if self.hidden is not None:
            kwargs["hidden"] = np.flatnonzero(self.hidden).tolist()
        self.requestQuery.emit("complete", kwargs)

    def on_reply(self, name: str, value) -> None:
        if not self.static or self.toy:
            return
        h, w = self._shape()
        if name == "receptive":
            field = np.asarray(value["field"], np.float32).reshape(h, w)
            top = float(field.max())
            img = field / top if top > 0 else field
            r, c = divmod(int(value["d"]), w)
            # pixels the output never sees are left blank (NaN draws as the background), so the blind
            # spot stands apart from weak connections
            self.field_img.setImage(np.where(field > 0, img, np.nan).astype(np.float32), levels=(0, 1))
            self.field_view.getPlotItem().getViewBox().autoRange(padding=0.01)
            if not hasattr(self, "_field_mark"):
                self._field_mark = pg.ScatterPlotItem(size=10, symbol="s", pen=pg.mkPen("#d62728", width=2), brush=None)
                self.field_view.addItem(self._field_mark)
            self._field_mark.setData([c + 0.5], [r + 0.5])
            order = np.asarray(self.static["order"])
            if self.static.get("model") in ("rowlstm", "diagonal"):  # count what it misses before the pixel
                before = r * w + c
                seen = int((field[:before] > 0).sum())
                self.field_view.setTitle(keyed("Receptive field", f"({r}, {c}) sees {seen} of the {before} pixels "
                                               f"before it: {before - seen} unseen"), size=theme.title_size())
            elif self.static.get("model") == "wavenet":  # a 1-D receptive field: the previous 2^layers pixels
                seen = np.flatnonzero(field > 0)
                back = int(r * w + c - seen.min()) if len(seen) else 0
                self.field_view.setTitle(keyed("Receptive field", f"({r}, {c}) sees the {len(seen)} pixels before it, "
                                               f"{back} back in raster order"), size=theme.title_size())
            elif np.array_equal(order, np.arange(h * w)):  # raster order: the rows above should all be seen
                blind = value.get("blind_spot")
                if blind is None:
                    blind = blind_spot(field, (h, w), int(value["d"]))
                self.field_view.setTitle(keyed("Receptive field", f"({r}, {c}): {blind} blind above"),
                                         size=theme.title_size())
            else:
                before = int(np.flatnonzero(order == r * w + c)[0])
                self.field_view.setTitle(keyed("Receptive field", f"({r}, {c}) sees {int((field > 0).sum())} of "
                                               f"{before} before"), size=theme.title_size())
        elif name == "complete":
            self._show_completions(np.asarray(value["image"], np.float32), np.asarray(value["given"], bool),
                                   value["completions"], bool(value.get("painted")))
            self.tabs.setCurrentIndex(0)
        elif name == "sample":
            self.anim = {"samples": np.asarray(value["samples"], np.float32), "order": np.asarray(value["order"]),
                         "probs": np.asarray(value["probs"], np.float32), "i": 0}
            self.timer.start()

    def _animate(self) -> None:
        """Reveal the sampled pixels in the model's order, a few per tick; the heat image shows the
        first sample's p(x_i = 1 | x_<i) at each step."""
        a = self.anim
        if a is None or not self.static:
            self.timer.stop()
            return
        h, w = self._shape()
        D = h * w
        per_tick = max(1, D // 120)  # about two seconds whatever the image size
        a["i"] = min(len(a["order"]), a["i"] + per_tick)
        shown = np.full_like(a["samples"], 0.35)
        done = a["order"][: a["i"]]
        shown[:, done] = a["samples"][:, done]
        self.samples_view.set_image(self._mosaic(shown))
        probs = np.full(D, np.nan, np.float32)
        probs[done] = a["probs"][: a["i"], 0]
        self.next_img.setImage(np.nan_to_num(probs.reshape(h, w), nan=0.0), levels=(0, 1))
        self.next_view.setTitle(keyed("Next pixel", "p(x_i = 1 | x_&lt;i), sample 1"), size=theme.title_size())
        if a["i"] >= len(a["order"]):
            self.timer.stop()
            self.anim = None
