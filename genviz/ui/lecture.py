"""Lecture mode: the presets (Lecture menu, PgUp/PgDown), their caption above the views, the
presenter view (F5: full screen, large text, thick lines, controls hidden) and the text size."""
from __future__ import annotations

import asyncio
import html

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QWidget

from genviz.core.presets import Preset, all_presets
from genviz.ui import theme


class LectureActions:
    def __init__(self, window):
        self.w = window
        self.presenting = False
        self.normal_scale = theme.font_scale()
        self.presets = self._load()
        self.trained_step: int | None = None  # the step of the shipped state the current preset opened at
        self.request = 0  # counts preset picks: a slow opening that a newer pick overtook is dropped
        self.opening: asyncio.Future | None = None

    @property
    def run(self):
        return self.w.controller.run

    def _load(self) -> list[Preset]:
        problems: list[str] = []
        presets = all_presets(problems)
        if problems:  # one bad user file: the others load, and the banner says which was left out
            message = f"Lecture presets: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            QTimer.singleShot(0, lambda: self.w.banner.show_message(message, details="\n".join(problems)))
        return presets

    def fill_menu(self, menu) -> None:
        current_lab = None
        for preset in self.presets:
            if preset.lab != current_lab:
                current_lab = preset.lab
                menu.addSection(self.w.labs[preset.lab].title if preset.lab in self.w.labs else preset.lab)
            act = QAction(preset.title, self.w)
            act.setToolTip(html.escape(preset.caption))
            act.triggered.connect(lambda _=False, p=preset: self.apply(p))
            menu.addAction(act)
            missing = preset.missing()
            if missing:  # listed, so the lecturer knows it exists, and says what it needs
                act.setEnabled(False)
                act.setText(f"{preset.title} ({missing.split(':')[0]})")
                act.setToolTip(html.escape(missing))
                continue
            if preset.trained is not None:  # it opens trained; this one trains it live from step 0
                act = QAction(f"{preset.title}: from scratch", self.w)
                act.setToolTip("Train this preset live from step 0 (the entry above opens a shipped trained state)")
                act.triggered.connect(lambda _=False, p=preset: self.apply(p, scratch=True))
                menu.addAction(act)
        menu.addSeparator()
        act = QAction("Predictions of this lecture…", self.w)
        act.setToolTip("The class's answers to the presets' questions, beside what happened (the presenter's notes)")
        act.triggered.connect(lambda: self.w.predictions.notes())
        menu.addAction(act)
        act = QAction("Export predictions as CSV…", self.w)
        act.triggered.connect(lambda: self.w.predictions.export_csv())
        menu.addAction(act)
        menu.addSeparator()
        for text, key, delta in (("Next preset", "PgDown", 1), ("Previous preset", "PgUp", -1)):
            act = QAction(f"{text}\t{key}", self.w)
            act.triggered.connect(lambda _=False, d=delta: self.step(d))
            menu.addAction(act)

    # -- presets -------------------------------------------------------------------------------------
    def apply(self, preset: Preset, play: bool = True, scratch: bool = False) -> None:
        """Open the preset's lab with its settings, seed and data; show its caption; play. A preset
        with a shipped trained state opens at that state, unless ``scratch``."""
        w = self.w
        if preset.lab not in w.labs:
            w.banner.show_message(f"Preset '{preset.name}' is for an unknown lab '{preset.lab}'")
            return
        if (missing := preset.missing()) is not None:
            w.banner.show_message(f"Preset “{preset.title}” {missing}")
            return
        # the newest pick wins: a shipped state still opening is abandoned (nothing of it is applied)
        self.request += 1
        if self.opening is not None and not self.opening.done():
            self.opening.cancel()
        if preset.trained is not None and not scratch:
            # once the event loop runs (a preset given on the command line is applied before it starts)
            request = self.request
            QTimer.singleShot(0, lambda: self._start_opening(preset, play, request))
            return
        values = w.controller.open_preset(preset)
        self.trained_step = None
        w.training.autoplay = play
        self.show_caption(preset.title, self.caption_of(preset))
        w.training.open_lab_with(preset.lab, values)
        if preset.speed is not None:  # after the lab opened (which sets the lab's own speed)
            w.controller.set_speed(preset.speed)
        w.statusBar().showMessage(f"Preset: {preset.title}", 5000)

    def _start_opening(self, preset: Preset, play: bool, request: int) -> None:
        if request == self.request:
            self.opening = asyncio.ensure_future(self.open_trained(preset, play))

    async def open_trained(self, preset: Preset, play: bool = True) -> bool:
        """Open the preset's shipped session (checked like any session file), then keep the preset's
        title and caption; Reset continues from that state, the menu's "from scratch" starts over."""
        from genviz.core.presets import load_trained
        from genviz.core.session import SessionError

        w = self.w
        try:
            session = await asyncio.get_event_loop().run_in_executor(None, load_trained, preset, tuple(w.labs))
        except SessionError as exc:
            w.banner.show_message(f"The preset's trained state could not be opened ({exc}); it trains from scratch")
            self.apply(preset, play, scratch=True)
            return False
        # played once the preset is the run's (its questions stop the run), not by the session's opening
        w.training.autoplay = False
        if not await w.sessions.start(session, preset.trained.name):
            return False
        self.trained_step = session.step
        w.controller.set_preset(preset)
        self.show_caption(preset.title, self.caption_of(preset))
        if play:
            w.training.play()
        w.statusBar().showMessage(f"Preset: {preset.title} (trained to step {session.step:,})", 5000)
        return True

    def caption_of(self, preset: Preset) -> str:
        text = preset.caption
        if self.trained_step is not None:
            text = (f"{text} [Opened trained to step {self.trained_step:,}, a shipped state; "
                    f"Lecture ▸ “{preset.title}: from scratch” trains it live from step 0.]")
        if preset.predictions:
            answers = [a for a in self.run.round_answers() if a.get("correct") is not None]
            right = sum(1 for a in answers if a["correct"])
            text += (f" [Predictions: {len(answers)} of {len(preset.predictions)} revealed, {right} right.]" if answers
                     else f" [{len(preset.predictions)} question{'s' if len(preset.predictions) > 1 else ''} to the "
                          "class: Play stops to ask.]")
        return text

    def show_progress(self) -> None:
        """The caption again, with the predictions' progress."""
        preset = self.run.preset
        if preset is not None and self.w.caption.isVisible():
            self.show_caption(preset.title, self.caption_of(preset))

    def step(self, delta: int) -> None:
        if not self.presets:
            return
        names = [p.name for p in self.presets]
        preset = self.run.preset
        i = names.index(preset.name) if preset and preset.name in names else (-1 if delta > 0 else 0)
        for _ in range(len(self.presets)):  # presets whose data is missing are passed over
            i = (i + delta) % len(self.presets)
            if self.presets[i].missing() is None:
                self.apply(self.presets[i])
                return

    def show_caption(self, title: str, caption: str) -> None:
        if title:
            self.w.caption.show_caption(title, caption)
        else:
            self.w.caption.hide()

    def lab_opened(self, name: str) -> None:
        """A lab other than the preset's: its caption goes."""
        if self.run.preset is not None and self.run.preset.lab != name:
            self.trained_step = None
            self.w.controller.set_preset(None)
            self.w.caption.hide()

    # -- presenter view and text size --------------------------------------------------------------------
    def toggle_presenter(self) -> None:
        self.leave_presenter() if self.presenting else self.enter_presenter()

    def enter_presenter(self) -> None:
        """Full screen, large text and thick lines, controls hidden (C shows them), the caption on."""
        if self.presenting:
            return
        self.presenting = True
        self.normal_scale = theme.font_scale()
        # what Esc puts back: the window's place and size, and its docks' sizes (hidden in full screen,
        # the settings dock came back as a sliver)
        self._normal_layout = (self.w.geometry(), self.w.saveState(), self.w.settings_dock.width())
        theme.apply_theme(font_scale=max(1.5, self.normal_scale * 1.5), line_scale=2.5)
        self.restyle()
        self.set_controls(False)
        self.w.showFullScreen()
        self.w.statusBar().showMessage("Presenter view: C shows the controls, PgUp/PgDown step presets, Esc leaves",
                                       6000)

    def leave_presenter(self) -> None:
        if not self.presenting:
            return
        self.presenting = False
        # the controls are shown before the text size changes back: hidden widgets would keep the
        # presenter's 1.5x text (Qt defers font changes of hidden widgets)
        self.set_controls(True)
        theme.apply_theme(font_scale=self.normal_scale, line_scale=1.0)
        # every widget (controls, the labs' buttons, readouts and sliders, shown or not) inherits the
        # application's font again: Qt left some at the presenter's 1.5x text
        for child in [self.w, *self.w.findChildren(QWidget)]:
            child.setFont(QFont())
        self.restyle()
        self.w.statusBar().clearMessage()
        self.w.showNormal()
        layout, self._normal_layout = getattr(self, "_normal_layout", None), None
        if layout is not None:
            def docks() -> None:  # again once the window system has the window back at its normal size
                if not self.presenting:
                    if self.w.geometry() != layout[0]:
                        self.w.setGeometry(layout[0])
                    self.w.restoreState(layout[1])
                    self.w.resizeDocks([self.w.settings_dock], [layout[2]], Qt.Horizontal)

            docks()
            for ms in (0, 100, 300):  # the window system may apply the normal state after our first turn
                QTimer.singleShot(ms, docks)
            QTimer.singleShot(150, docks)

    def controls(self) -> tuple:
        w = self.w
        return (w.lab_list, w.settings_dock, w.bar, w.timeline, w.menuBar(), w.statusBar())

    def set_controls(self, visible: bool) -> None:
        for widget in self.controls():
            widget.setVisible(visible)

    def toggle_controls(self) -> None:
        if self.presenting:
            self.set_controls(not self.w.bar.isVisible())

    def set_font_scale(self, scale: float) -> None:
        theme.apply_theme(font_scale=scale)
        self.w.settings_store.setValue("font_scale", theme.font_scale())
        self.restyle()

    def set_theme(self, name: str) -> None:
        theme.apply_theme(name)
        self.w.settings_store.setValue("theme", name)
        self.restyle()

    def restyle(self) -> None:
        self.w.banner.restyle()
        for panel in self.w.panels.values():
            panel.style_warning()
            panel.restyle()
        preset = self.run.preset
        if preset is not None and self.w.caption.isVisible():
            self.w.caption.show_caption(preset.title, self.caption_of(preset))
