"""The timeline under a lab's views: scrub back through the recorded snapshots, play them back as
an animation, return to live, or resume training from the nearest checkpoint."""
from __future__ import annotations

import bisect

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

PLAYBACK_FPS = (("5 fps", 5), ("10 fps", 10), ("20 fps", 20), ("40 fps", 40))


class Timeline(QWidget):
    scrubbed = Signal(int)  # a frame index of the history: show it
    liveRequested = Signal()  # follow training again
    resumeRequested = Signal(int)  # restart training from the checkpoint at or before this frame

    def __init__(self, parent=None):
        super().__init__(parent)
        self.steps: list[int] = []
        self.live = True
        self.play_button = QPushButton("▶ History")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the recorded history back as an animation (H)")
        self.play_button.toggled.connect(self._on_play)
        self.fps = QComboBox()
        for label, value in PLAYBACK_FPS:
            self.fps.addItem(label, value)
        self.fps.setCurrentIndex(1)
        self.fps.setToolTip("Playback speed: recorded snapshots per second")
        self.fps.currentIndexChanged.connect(lambda _: self._timer.setInterval(int(1000 / self.fps.currentData())))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub through training: every view goes back to that step (Home/End; , and .)")
        self.slider.valueChanged.connect(self._on_slider)
        self.label = QLabel("live")
        self.label.setMinimumWidth(230)
        self.live_button = QPushButton("● Live")
        self.live_button.setToolTip("Back to the training as it happens (End)")
        self.live_button.clicked.connect(self.go_live)
        self.resume_button = QPushButton("Resume from here")
        self.resume_button.setToolTip("Restart training from the nearest checkpoint at or before this step; "
                                      "the later history is replaced by the new course")
        self.resume_button.clicked.connect(lambda: self.resumeRequested.emit(self.slider.value()))
        for w in (self.play_button, self.fps, self.slider, self.live_button, self.resume_button):
            w.setFocusPolicy(Qt.NoFocus)  # the window's keys (Space, arrows) keep working
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(QLabel("Timeline"))
        lay.addWidget(self.play_button)
        lay.addWidget(self.fps)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        lay.addWidget(self.live_button)
        lay.addWidget(self.resume_button)
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / self.fps.currentData()))
        self._timer.timeout.connect(self._advance)
        self._updating = False
        self._refresh()

    # -- the model ----------------------------------------------------------------------------------
    def set_steps(self, steps: list[int], training_step: int | None = None) -> None:
        """The recorded frames' steps (the history grew, thinned or was replaced)."""
        at = self.steps[self.slider.value()] if (self.steps and not self.live) else None
        self.steps = list(steps)
        self._updating = True
        self.slider.setRange(0, max(0, len(self.steps) - 1))
        if self.live or at is None:
            self.slider.setValue(self.slider.maximum())
        else:  # stay on the same step when thinning moved the frames under the slider
            self.slider.setValue(max(0, bisect.bisect_right(self.steps, at) - 1))
        self._updating = False
        self._refresh(training_step)

    def clear(self) -> None:
        self.stop()
        self.live = True
        self.set_steps([])

    @property
    def index(self) -> int:
        return self.slider.value()

    def scrub_to(self, index: int) -> None:
        """Show frame ``index`` (what a drag, a key or playback does)."""
        if not self.steps:
            return
        self.slider.setValue(max(0, min(len(self.steps) - 1, index)))
        if self.live:  # already at the end: still a request to show that frame
            self._enter_past(self.slider.value())

    def go_live(self) -> None:
        self.stop()
        if not self.live:
            self.live = True
            self._updating = True
            self.slider.setValue(self.slider.maximum())
            self._updating = False
            self._refresh()
            self.liveRequested.emit()

    def play_history(self, on: bool = True) -> None:
        self.play_button.setChecked(on)

    def stop(self) -> None:
        self.play_button.setChecked(False)

    # -- internals ---------------------------------------------------------------------------------
    def _enter_past(self, index: int) -> None:
        self.live = False
        self._refresh()
        self.scrubbed.emit(index)

    def _on_slider(self, value: int) -> None:
        if self._updating or not self.steps:
            return
        self._enter_past(value)

    def _on_play(self, on: bool) -> None:
        self.play_button.setText("❚❚ History" if on else "▶ History")
        if on:
            if not self.steps:
                self.play_button.setChecked(False)
                return
            if self.live or self.slider.value() >= self.slider.maximum():
                self.scrub_to(0)  # from the start, like a film
            self._timer.start()
        else:
            self._timer.stop()

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.stop()
            return
        self.scrub_to(self.slider.value() + 1)

    def _refresh(self, training_step: int | None = None) -> None:
        has = bool(self.steps)
        self.resume_button.setEnabled(has and not self.live)
        self.live_button.setEnabled(not self.live)
        self.play_button.setEnabled(has)
        if not has:
            self.label.setText("no history yet")
        elif self.live:
            n = len(self.steps)
            self.label.setText(f"live · {n:,} snapshot{'' if n == 1 else 's'} recorded")
        else:
            i = self.slider.value()
            self.label.setText(f"step {self.steps[i]:,}  ({i + 1:,} / {len(self.steps):,})")


class TimelineActions:
    """What the timeline's moves do to the window's lab: show a recorded frame, follow training
    again, resume training from a checkpoint (the controller restores it; the panel is rebuilt)."""

    def __init__(self, window):
        self.w = window
        window.timeline.scrubbed.connect(self.show_frame)
        window.timeline.liveRequested.connect(self.show_live)
        window.timeline.resumeRequested.connect(self.resume_from)

    def show_frame(self, index: int) -> None:
        """Every view of the lab back at recorded frame ``index``; a marker on the curves."""
        panel, history = self.w.panel(), self.w.run.history
        if panel is not None and len(history):
            panel.show_recorded(history.frame(max(0, min(len(history) - 1, index))))

    def show_live(self) -> None:
        panel, history = self.w.panel(), self.w.run.history
        if panel is not None:
            panel.show_recorded(None)
            if len(history):
                panel.show_frame(history.frame(len(history) - 1), live=False)

    def resume_from(self, index: int) -> None:
        w = self.w
        ck_step = w.controller.resume_from(index)
        if ck_step is not None:
            w.panel().rebuild(w.run.static, w.run.history, ck_step)
            w.timeline.go_live()
            w.timeline.set_steps(w.run.history.steps.tolist(), ck_step)
