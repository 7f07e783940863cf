"""The welcome page, on first start and from Help ▸ Welcome: every lab with its thumbnail and one sentence,
and the lecture presets in teaching order; one click opens either."""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QDialog, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

THUMB_W, THUMB_H = 190, 118
COLUMNS = 4  # ten labs in three rows: all of them in view in a 1600x1000 window


def thumbnail_path(lab) -> Path | None:
    """``thumbnail.png`` in the lab's own folder (beside its experiment module), if it has one."""
    package = lab.experiment.split(":")[0].rsplit(".", 1)[0]
    try:
        path = Path(str(resources.files(package) / "thumbnail.png"))
    except (ModuleNotFoundError, TypeError):
        return None
    return path if path.is_file() else None


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text


class WelcomeDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.setWindowTitle("Welcome to genviz")
        head = QLabel("<h2>Welcome to genviz</h2><p>Pick a lab to explore, or a lecture preset: it opens with its "
                      "caption and starts training. Every view has an ℹ button that says what it shows.</p>")
        head.setWordWrap(True)
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        grid.setSpacing(12)
        self.lab_buttons: dict[str, QPushButton] = {}
        labs = sorted(window.labs.values(), key=lambda lab: (lab.order, lab.name))
        for i, lab in enumerate(labs):
            card = QWidget()
            cl = QVBoxLayout(card)
            cl.setContentsMargins(4, 4, 4, 4)
            thumb = QLabel()
            thumb.setFixedSize(THUMB_W, THUMB_H)
            thumb.setAlignment(Qt.AlignCenter)
            path = thumbnail_path(lab)
            if path is not None:
                thumb.setPixmap(QPixmap(str(path)).scaled(THUMB_W, THUMB_H, Qt.KeepAspectRatio,
                                                          Qt.SmoothTransformation))
            else:
                thumb.setText(lab.title)
                thumb.setStyleSheet("border: 1px solid palette(mid);")
            button = QPushButton(lab.title)
            button.setToolTip(f"Open the {lab.title} lab")
            button.clicked.connect(lambda _=False, n=lab.name: self.open_lab(n))
            text = QLabel(first_sentence(lab.summary))
            text.setWordWrap(True)
            text.setFixedWidth(THUMB_W)
            text.setStyleSheet("font-size: 10pt;")
            text.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)  # never under its button
            cl.addWidget(thumb)
            cl.addWidget(button)
            cl.addWidget(text)
            cl.addStretch(1)
            grid.addWidget(card, i // COLUMNS, i % COLUMNS)
            self.lab_buttons[lab.name] = button
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        self.presets = QListWidget()
        self.presets.setToolTip("Double-click (or Enter) opens the preset and starts training")
        from genviz.core.presets import all_presets

        for preset in all_presets():
            missing = preset.missing()
            lab_title = window.labs[preset.lab].title if preset.lab in window.labs else preset.lab
            item = QListWidgetItem(f"{preset.title}  ·  {lab_title}" + (f" — {missing}" if missing else ""))
            item.setData(Qt.UserRole, preset.name)
            item.setToolTip(preset.caption)
            if missing:
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled)
            self.presets.addItem(item)
        # whole titles, wrapped: a horizontal scroll bar cut the longer ones and their labs off
        self.presets.setWordWrap(True)
        self.presets.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.presets.setSpacing(2)
        self.presets.itemActivated.connect(lambda item: self.open_preset(item.data(Qt.UserRole)))
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Lecture presets</b>, in teaching order"))
        right.addWidget(self.presets, 1)
        body = QHBoxLayout()
        body.addWidget(scroll, 2)
        body.addLayout(right, 1)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addLayout(body, 1)
        lay.addWidget(close, 0, Qt.AlignRight)
        screen = window.screen().availableGeometry() if window.screen() is not None else None
        self.resize(min(1420, screen.width() - 40) if screen else 1380, min(900, screen.height() - 40) if screen else 860)

    def open_lab(self, name: str) -> None:
        self.accept()
        self.w.training.open_lab(name)

    def open_preset(self, name: str) -> None:
        from genviz.core.presets import get_preset

        self.accept()
        self.w.lecture.apply(get_preset(name), play=True)
