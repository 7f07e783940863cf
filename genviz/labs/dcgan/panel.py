"""The DCGAN lab's views: samples of fixed latent points, latent interpolation rows, the GAN's losses and D's
outputs, and the digit score of the samples against the real digits'."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from genviz.core.mosaic import grid_shape, tile
from genviz.ui import theme
from genviz.ui.panel import LabPanel
from genviz.ui.plots import CurvePlot, ImagePlot


class DCGANPanel(LabPanel):
    MAIN_VIEW = "samples"

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        self.static: dict = {}
        self.samples = ImagePlot("Samples of 64 fixed latent points", levels=(0, 1))
        self.interp = ImagePlot("Latent interpolation: each row walks from one z to another", levels=(0, 1))
        self.losses = CurvePlot("Losses (dotted: equilibrium)", {"d_loss": "D loss", "g_loss": "G loss"},
                                y_label="nats")
        self.d_out = CurvePlot("D's mean output", {"d_real": "D(x)", "d_fake": "D(G(z))"}, y_label="probability")
        self.score = CurvePlot("Digit score (log)", {"log_score": "samples", "real": "real digits"},
                               y_label="log score (nats)")
        # the game's equilibrium, D = ½ everywhere: L_D = 2 log 2, L_G = log 2; headroom keeps the legends off the data
        dotted = pg.mkPen("#888888", width=1, style=Qt.DotLine)
        for plot, values in ((self.losses, (2 * np.log(2), np.log(2))), (self.d_out, (0.5,))):
            for v in values:
                plot.addItem(pg.InfiniteLine(pos=float(v), angle=0, pen=dotted))
        self.losses.reference_y = 2.2
        self.d_out.reference_y = 0.8
        self.score.curves["real"].setPen(pg.mkPen(theme.colors()["text"], width=2, style=Qt.DashLine))
        self.name_views({"samples": self.samples, "interpolation": self.interp, "losses": self.losses,
                         "d-output": self.d_out, "score": self.score})
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)
        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.samples)
        top.addWidget(self.interp)
        top.setSizes([480, 620])
        bottom = QSplitter(Qt.Horizontal)
        for w in (self.losses, self.d_out, self.score):
            bottom.addWidget(w)
        lower = QWidget()
        lo = QVBoxLayout(lower)
        lo.setContentsMargins(0, 0, 0, 0)
        lo.addWidget(self.readout)
        lo.addWidget(bottom, 1)
        self.arrange(top, lower, (600, 320))

    def restyle(self) -> None:
        self.score.curves["real"].setPen(pg.mkPen(theme.colors()["text"], width=2, style=Qt.DashLine))

    def on_ready(self, info: dict) -> None:
        self.static = info
        self.clear()
        self.score.setVisible(bool(info.get("has_classes")))
        if info.get("real_score"):
            self.score.reference_y = info["real_score"]["log_score"] + 0.5  # room for the legend above the line

    def extend_curves(self, rows: dict, frame) -> None:
        if "step" in rows:
            for plot in (self.losses, self.d_out):
                for key in plot.buffers:
                    if key in rows:
                        plot.append(key, rows["step"], rows[key])
        if frame is not None and frame.heavy and "score" in frame.data:
            self.score.append("log_score", [frame.step], [frame.data["score"]["log_score"]])
            self.score.append("real", [frame.step], [frame.data["real_score"]["log_score"]])

    def show_frame(self, frame, live: bool) -> None:
        if not self.static or not frame.data:
            return
        data = frame.data
        views = [lambda: self._draw_samples(data)]
        if "interpolation" in data:
            views += [lambda: self._draw_interpolation(data), lambda: self._draw_readout(data, frame.step)]
        self.draw_in_turns(views)

    def clear(self) -> None:
        self.cancel_drawing()
        for plot in (self.losses, self.d_out, self.score):
            plot.clear_data()
        self.readout.setText("")

    def _draw_samples(self, data: dict) -> None:
        imgs = np.asarray(data["samples"], np.float32)
        rows, cols = grid_shape(len(imgs))
        self.samples.set_image(tile(imgs, rows, cols, pad=1, fill=0.5))

    def _draw_interpolation(self, data: dict) -> None:
        imgs = np.asarray(data["interpolation"], np.float32)
        self.interp.set_image(tile(imgs, self.static["pairs"], self.static["steps"], pad=1, fill=0.5))
        norms = np.asarray(data["interpolation_norms"])
        how = "slerp" if np.ptp(norms, axis=1).max() < 0.35 * norms.mean() else "linear"
        self.interp.setTitle(f"Latent interpolation ({how}): |z| from {norms.min():.1f} to {norms.max():.1f} along "
                             "the rows", size=theme.title_size())

    def _draw_readout(self, data: dict, step: int) -> None:
        if "score" not in data:
            self.readout.setText(f"Step {step:,}. The data have no labels: no digit score.")
            return
        s, r = data["score"], data["real_score"]
        share = np.asarray(data["class_share"])
        covered = int((share >= 0.02).sum())
        self.readout.setText(
            f"Digit score of {s['images']:,} samples <b>{s['score']:.2f}</b> (log {s['log_score']:.3f} ± "
            f"{s['log_score_se']:.3f}); the real test digits score {r['score']:.2f}, noise about 1.6, a single "
            f"image 1. {covered} of {len(share)} classes hold ≥ 2 % of the samples; the classifier is sure "
            f"(p ≥ 0.9) of {100 * s['confident']:.0f} % of them (of {100 * r['confident']:.0f} % of real digits; "
            f"it reads {100 * self.static['classifier_accuracy']:.0f} % of the test digits right).")
