"""Shared controls: the training bar (play/pause, step, reset, speed, seed, device) and the
settings form built from a lab's Setting specs."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QToolBar, QWidget)

from genviz.core.settings import Setting

SPEEDS = [("max", 0.0), ("1000 steps/s", 1000.0), ("300 steps/s", 300.0), ("100 steps/s", 100.0),
          ("30 steps/s", 30.0), ("10 steps/s", 10.0), ("3 steps/s", 3.0), ("1 step/s", 1.0)]


class TrainingBar(QToolBar):
    playToggled = Signal(bool)
    stepRequested = Signal(int)
    resetRequested = Signal()
    speedChanged = Signal(float)

    def __init__(self, parent=None):
        super().__init__("Training", parent)
        self.setMovable(False)
        self.setObjectName("trainingBar")
        self.play_button = QPushButton("▶  Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause training (Space)")
        self.play_button.setMinimumWidth(110)
        self.play_button.toggled.connect(self._on_play)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One training step (Right arrow); Shift+Right: 10 steps")
        self.step_button.clicked.connect(lambda: self.stepRequested.emit(1))
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Rebuild the model with the current settings and seed (Ctrl+R)")
        self.reset_button.clicked.connect(self.resetRequested.emit)
        self.speed = QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setToolTip("Training speed: slow it down to watch learning step by step")
        self.speed.currentIndexChanged.connect(lambda _: self.speedChanged.emit(float(self.speed.currentData())))
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Random seed, used on Reset")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setToolTip("Where the model trains (applies on Reset); CUDA is offered when present")
        self.set_cuda("")
        for widget in (self.play_button, self.step_button, self.reset_button):
            widget.setFocusPolicy(Qt.NoFocus)  # Space and arrows belong to the window shortcuts
            self.addWidget(widget)
        self.addSeparator()
        for label, widget in (("Speed", self.speed), ("Seed", self.seed), ("Device", self.device)):
            box = QWidget()
            lay = QHBoxLayout(box)
            lay.setContentsMargins(8, 0, 8, 0)
            lay.addWidget(QLabel(label))
            lay.addWidget(widget)
            self.addWidget(box)

    def _on_play(self, checked: bool) -> None:
        self.play_button.setText("❚❚  Pause" if checked else "▶  Play")
        self.playToggled.emit(checked)

    def set_playing(self, playing: bool) -> None:
        """Reflect the worker's state without re-sending a command."""
        if self.play_button.isChecked() != playing:
            self.play_button.blockSignals(True)
            self.play_button.setChecked(playing)
            self.play_button.blockSignals(False)
            self.play_button.setText("❚❚  Pause" if playing else "▶  Play")

    def set_speed(self, steps_per_sec: float) -> None:
        """Pick the speed entry nearest ``steps_per_sec`` (0: max); the engine follows through speedChanged."""
        values = [v for _, v in SPEEDS]
        if steps_per_sec <= 0:
            index = 0
        else:
            index = min(range(1, len(values)), key=lambda i: abs(math.log(values[i] / steps_per_sec)))
        self.speed.setCurrentIndex(index)

    def set_cuda(self, name: str) -> None:
        """The CUDA device the worker found ("": none; the cuda choice is greyed out)."""
        item = self.device.model().item(2)
        item.setEnabled(bool(name))
        item.setToolTip(name or "no CUDA device")


class SettingsForm(QWidget):
    """One editor per setting. Live settings apply at once; the others are marked 'on Reset'."""

    changed = Signal(str, object, bool)  # name, value, live

    def __init__(self, settings: tuple[Setting, ...], values: dict | None = None, parent=None):
        super().__init__(parent)
        self.not_used: dict[str, str] = {}
        self.specs = {s.name: s for s in settings}
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.tips: dict[str, str] = {}
        layout = QFormLayout(self)
        layout.setLabelAlignment(Qt.AlignRight)
        for s in settings:
            if not s.in_form:
                continue
            editor = self._make_editor(s)
            self.editors[s.name] = editor
            label = QLabel(s.name if s.live else f"{s.name} ⟳")
            tip = s.help + ("" if s.live else "  (applies on Reset)")
            label.setToolTip(tip)
            editor.setToolTip(tip)
            self.labels[s.name], self.tips[s.name] = label, tip
            layout.addRow(label, editor)
        note = QLabel("⟳ applies on Reset")
        note.setEnabled(False)
        layout.addRow("", note)
        self.set_values(values or {s.name: s.default for s in settings})

    def _make_editor(self, s: Setting) -> QWidget:
        if s.kind == "int":
            w = QSpinBox()
            w.setRange(int(s.minimum if s.minimum is not None else -1e9), int(s.maximum if s.maximum is not None else 1e9))
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda v, n=s.name: self._emit(n, int(v)))
        elif s.kind == "float":
            w = QDoubleSpinBox()
            lo = s.minimum if s.minimum is not None else -1e9
            hi = s.maximum if s.maximum is not None else 1e9
            w.setRange(lo, hi)
            if s.log_scale:
                w.setDecimals(max(4, int(-math.floor(math.log10(max(lo, 1e-9)))) + 1))
                w.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
            elif s.default and abs(s.default) < 0.01:  # e.g. weight decay 1e-4: show its digits
                w.setDecimals(int(-math.floor(math.log10(abs(s.default)))) + 2)
                w.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
            else:
                w.setDecimals(3)
                w.setSingleStep(0.1 if hi - lo <= 20 else 1.0)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda v, n=s.name: self._emit(n, float(v)))
        elif s.kind == "choice":
            w = QComboBox()
            w.addItems([str(c) for c in s.choices])
            w.currentTextChanged.connect(lambda v, n=s.name: self._emit(n, v))
        elif s.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(lambda v, n=s.name: self._emit(n, bool(v)))
        elif s.suggestions:
            w = QComboBox()
            w.setEditable(True)  # the suggestions, or anything typed (e.g. a file path)
            w.addItems([str(c) for c in s.suggestions])
            w.activated.connect(lambda _i, n=s.name, e=w: self._emit(n, e.currentText()))
            w.lineEdit().editingFinished.connect(lambda n=s.name, e=w: self._emit(n, e.currentText()))
        else:
            from PySide6.QtWidgets import QLineEdit

            w = QLineEdit()
            w.editingFinished.connect(lambda n=s.name, e=w: self._emit(n, e.text()))
        w.setFocusPolicy(Qt.ClickFocus)
        return w

    def _emit(self, name: str, value) -> None:
        self.update_applicability()
        if not self.signalsBlocked():
            self.changed.emit(name, value, self.specs[name].live)

    def update_applicability(self) -> None:
        """Grey out the settings that do nothing under the others' current values (Setting.applies), the
        reason in their tooltips."""
        values = self.values()
        for name, editor in self.editors.items():
            reason = self.specs[name].inapplicable(values) or self.not_used.get(name)
            for w in (editor, self.labels[name]):
                w.setEnabled(reason is None)
                w.setToolTip(self.tips[name] if reason is None else f"Greyed out: {reason}.\n\n{self.tips[name]}")

    def set_not_used(self, reasons: dict) -> None:
        """Settings the built run does not use, greyed out with why (a model of your own ignores the lab's
        network settings): the run's static ``unused_settings``."""
        self.not_used = {str(k): str(v) for k, v in dict(reasons or {}).items()}
        self.update_applicability()

    def set_values(self, values: dict) -> None:
        self.blockSignals(True)
        try:
            for name, value in values.items():
                w = self.editors.get(name)
                if w is None:
                    continue
                if isinstance(w, (QSpinBox, QDoubleSpinBox)):
                    w.blockSignals(True)
                    w.setValue(value)
                    w.blockSignals(False)
                elif isinstance(w, QComboBox):
                    w.blockSignals(True)
                    if w.isEditable():
                        w.lineEdit().blockSignals(True)
                    w.setCurrentText(str(value))
                    if w.isEditable():
                        w.lineEdit().blockSignals(False)
                    w.blockSignals(False)
                elif isinstance(w, QCheckBox):
                    w.blockSignals(True)
                    w.setChecked(bool(value))
                    w.blockSignals(False)
                else:
                    w.setText(str(value))
        finally:
            self.blockSignals(False)
        self.update_applicability()

    def values(self) -> dict:
        out = {}
        for name, w in self.editors.items():
            if isinstance(w, (QSpinBox, QDoubleSpinBox)):
                out[name] = w.value()
            elif isinstance(w, QComboBox):
                out[name] = w.currentText()
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            else:
                out[name] = w.text()
        return out
