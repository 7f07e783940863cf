"""The autoregressive lab's views: samples growing pixel by pixel with the next pixel's probability,
completions of a half-hidden test image, each pixel's surprise, the receptive field of a clicked
pixel (from the model's gradients) and the NLL curves."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from genviz.core.mosaic import grid_shape, tile
from genviz.core.numbers import estimate
from genviz.ui import theme
from genviz.ui.panel import LabPanel
from genviz.ui.plots import ClickableImage, CurvePlot, ImagePlot, add_colorbar

ANIMATION_MS = 15  # one pixel of the animated sampling per tick


def heat_view(title: str, cmap: str, label: str, levels) -> tuple[ClickableImage, pg.ImageItem]:
    """An image of one value per pixel with its colour bar (clicks report the pixel)."""
    view = ClickableImage(title, levels=levels)
    view.item.setColorMap(pg.colormap.get(cmap))
    add_colorbar(view, view.item, label)
    return view, view.item


class AutoregressivePanel(LabPanel):
    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.heavy: dict = {}
        self.picked: int | None = None  # the output pixel whose receptive field is shown
        self.anim: dict | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(ANIMATION_MS)
        self.timer.timeout.connect(self._animate)

        self.samples_view = ImagePlot("Samples", levels=(0, 1))
        self.next_view, self.next_img = heat_view("p(x_i = 1 | …)", "CET-L17", "p(x_i = 1 | x_<i)", (0, 1))
        self.nll_view, self.nll_img = heat_view("Surprise", "inferno", "−log p(x_i | x_<i), nats", (0, 4))
        self.field_view, self.field_img = heat_view("Receptive field: click a pixel", "viridis", "|∂ logit / ∂ x|, rel.",
                                                    (0, 1))
        self.image_view = ClickableImage("Test image", levels=(0, 1))
        self.completions_view = ImagePlot("Completions: press “Complete the top half”", levels=(0, 1))
        self.curves = CurvePlot("Negative log-likelihood", {"train_nll": "train NLL", "test_nll": "test NLL"})
        self.name_views({"samples": self.samples_view, "next-pixel": self.next_view, "pixel-nll": self.nll_view,
                         "receptive-field": self.field_view, "chosen-image": self.image_view,
                         "completions": self.completions_view, "curves": self.curves})
        for view in (self.image_view, self.next_view, self.nll_view):
            view.clicked.connect(lambda r, c, _m: self._pick(r, c))

        self.sample_button = QPushButton("Sample pixel by pixel")
        self.sample_button.setToolTip("Draw 16 images from the model in its ordering, one pixel at a time; the "
                                      "heat image shows p(x_i = 1 | x_<i) of the first as it grows")
        self.sample_button.clicked.connect(lambda: self.requestQuery.emit("sample", {"n": 16, "seed": self._seed()}))
        self.complete_button = QPushButton("Complete the top half")
        self.complete_button.setToolTip("Keep the top half of the chosen test image and sample the rest (8 times)")
        self.complete_button.clicked.connect(lambda: self.requestQuery.emit("complete", {"n": 8, "seed": self._seed()}))
        for b in (self.sample_button, self.complete_button):
            b.setFocusPolicy(Qt.NoFocus)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)

        buttons = QHBoxLayout()
        for w in (self.sample_button, self.complete_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(buttons)
        ll.addWidget(self.samples_view, 1)
        grid = QWidget()
        gl = QGridLayout(grid)
        gl.setContentsMargins(0, 0, 0, 0)
        for i, view in enumerate((self.image_view, self.next_view, self.nll_view, self.field_view)):
            gl.addWidget(view, i // 2, i % 2)
        top = QSplitter(Qt.Horizontal)
        top.addWidget(left)
        top.addWidget(grid)
        top.setSizes([480, 620])
        lower = QWidget()
        lo = QVBoxLayout(lower)
        lo.setContentsMargins(0, 0, 0, 0)
        lo.addWidget(self.readout)
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.completions_view)
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

    # -- engine output ---------------------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        self.static = info
        self.picked = None
        self.clear()
        h, w = info["image_shape"]
        model = {"nade": "NADE", "made": "MADE", "pixelcnn": "PixelCNN", "gated": "Gated PixelCNN"}.get(info["model"],
                                                                                                       info["model"])
        self.samples_view.setTitle(f"{model} samples ({h}×{w}, {info['dataset']})", size=theme.title_size())

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows and "train_nll" in rows:
            self.curves.append("train_nll", rows["step"], rows["train_nll"])
        if frame is not None and frame.heavy and "test_nll" in frame.data:
            self.curves.append("test_nll", [frame.step], [frame.data["test_nll"]])

    def show_frame(self, frame, live: bool) -> None:
        if not frame.heavy or "test_nll" not in frame.data:
            return
        data = self.heavy = frame.data
        self.draw_in_turns([lambda: self._draw_image(data), lambda: self._draw_samples(data),
                            lambda: self._draw_readout(data)])
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
        for img in (self.next_img, self.nll_img, self.field_img):
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

    def _draw_image(self, data: dict) -> None:
        h, w = self._shape()
        self.image_view.set_image(np.asarray(data["image"], np.float32).reshape(h, w))
        if not self.timer.isActive():
            self.next_img.setImage(np.asarray(data["conditionals"], np.float32).reshape(h, w), levels=(0, 1))
            self.next_view.setTitle("p(x_i = 1 | …)", size=theme.title_size())
        nll = np.asarray(data["pixel_nll"], np.float32).reshape(h, w)
        top = max(1.0, float(np.percentile(nll, 99)))
        self.nll_img.setImage(nll, levels=(0, top))
        for view in (self.next_view, self.nll_view):
            view.getPlotItem().getViewBox().autoRange(padding=0.01)
        self.image_view.setTitle(f"Test image {data['image_index']}", size=theme.title_size())

    def _draw_samples(self, data: dict) -> None:
        if "samples" in data and not self.timer.isActive():
            self.samples_view.set_image(self._mosaic(data["samples"]))

    def _draw_readout(self, data: dict) -> None:
        D = self.static.get("D", 1)
        nll = estimate(data["test_nll"], data.get("test_nll_se"))
        self.readout.setText(f"test NLL <b>{nll}</b> nats per image ({data['bits_per_dim']:.4f} bits/dim, "
                             f"{min(500, self.static.get('n_test', 0))} test images, {D} pixels) &nbsp;·&nbsp; "
                             f"chosen image: {float(np.sum(data['pixel_nll'])):.2f} nats")

    # -- interaction -----------------------------------------------------------------------------------
    def _pick(self, r: int, c: int) -> None:
        if not self.static:
            return
        h, w = self._shape()
        self.picked = int(r) * w + int(c)
        self.requestQuery.emit("receptive", {"d": self.picked})

    def on_reply(self, name: str, value) -> None:
        h, w = self._shape() if self.static else (0, 0)
        if name == "receptive" and self.static:
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
            blind = value.get("blind_spot")
            if blind is None:
                blind = int((field[:r] == 0).sum())
            self.field_view.setTitle(f"Sees: ({r}, {c}), {blind} blind above", size=theme.title_size())
        elif name == "complete" and self.static:
            imgs = np.concatenate([np.asarray(value["image"], np.float32).reshape(1, -1),
                                   np.asarray(value["completions"], np.float32)])
            self.completions_view.set_image(self._mosaic(imgs, cols=len(imgs)))
            self.completions_view.setTitle("Completions: test image (left), top half given", size=theme.title_size())
        elif name == "sample" and self.static:
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
        self.next_view.setTitle("p(x_i = 1 | …), sample 1", size=theme.title_size())
        if a["i"] >= len(a["order"]):
            self.timer.stop()
            self.anim = None
