"""The main window: layout, menus, shortcuts and the status line. The run lives in one run model
(``genviz.core.run.RunModel``) whose only writer is the controller (``controller.py``: the run and the
worker); the toolbar and the open panel observe it. What the commands do lives in one module per part:
training and labs (``training_actions.py``), sessions (``sessions.py``), lecture mode (``lecture.py``), data
(``data_actions.py``), export (``export_actions.py``), comparisons (``compare_actions.py``), the timeline
(``timeline.py``) and help (``help.py``)."""
from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QDockWidget, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMainWindow, QScrollArea, QStackedWidget, QVBoxLayout, QWidget)

from genviz.core import labs as lab_registry
from genviz.core.run import RunModel
from genviz.ui import theme
from genviz.ui.compare_actions import CompareActions
from genviz.ui.controller import Controller
from genviz.ui.controls import SettingsForm, TrainingBar
from genviz.ui.data_actions import DataActions
from genviz.ui.export_actions import ExportActions
from genviz.ui.help import HelpActions
from genviz.ui.lecture import LectureActions
from genviz.ui.model_code_actions import ModelCodeActions
from genviz.ui.predict import PredictionFlow
from genviz.ui.prefs import Prefs
from genviz.ui.sessions import AUTOSAVE_SECONDS, SessionActions
from genviz.ui.timeline import Timeline, TimelineActions
from genviz.ui.training_actions import TrainingActions
from genviz.ui.widgets import Banner, CaptionBar, add_actions


class MainWindow(QMainWindow):
    def __init__(self, engine_kind: str = "process", lab: str | None = None, data: str | None = None,
                 seed: int = 0, device: str = "auto", overrides: dict | None = None,
                 autoplay: bool = False, snapshot_hz: float = 40.0, model_code: dict | None = None):
        super().__init__()
        self.setWindowTitle("genviz — deep generative models lab")
        self.resize(1560, 960)
        self.labs = lab_registry.all_labs()
        # the one run model: the controller writes it, the widgets observe it
        self.run = RunModel(self.labs, data=data, seed=seed, device=device, model_code=model_code)
        self.controller = c = Controller(self.labs, engine_kind, snapshot_hz, parent=self, run=self.run)
        self.panels: dict[str, QWidget] = {}
        self.forms: dict[str, SettingsForm] = {}
        self.frames_drawn, self.fps, self._fps_t = 0, 0.0, time.perf_counter()
        self.settings_store = Prefs()
        self.closed = False
        self.banner, self.caption, self.timeline = Banner(), CaptionBar(), Timeline()
        self.bar = TrainingBar(self)
        self.training = t = TrainingActions(self)
        t.autoplay, t.overrides = autoplay, dict(overrides or {})
        self.sessions, self.lecture = SessionActions(self), LectureActions(self)
        self.data_actions, self.exports = DataActions(self), ExportActions(self)
        self.comparisons, self.model_code = CompareActions(self), ModelCodeActions(self)
        self.predictions = PredictionFlow(self)

        c.problem.connect(lambda text, details: self.banner.show_message(text, details=details, run=True))
        c.offer.connect(lambda text, label, act: self.banner.show_message(text, action=(label, act), run=True))
        c.lost.connect(lambda text: self.banner.show_message(
            text, action=("Continue in a new worker", t.reset), run=True))
        c.note.connect(lambda text, ms: self.statusBar().showMessage(text, ms))

        self.bar.seed.setValue(seed)
        self.bar.device.setCurrentText(device)
        self.addToolBar(Qt.TopToolBarArea, self.bar)
        self.bar.playToggled.connect(lambda playing: t.play() if playing else t.pause())
        self.bar.stepRequested.connect(t.do_step)
        self.bar.resetRequested.connect(t.request_reset)
        # the run holds seed, device, speed and whether it trains: the toolbar sends its edits to the
        # controller and shows the run's values, whoever set them (a preset, a session, a lab's own speed)
        self.bar.speedChanged.connect(c.set_speed)
        self.bar.seed.valueChanged.connect(c.set_seed)
        self.bar.device.currentTextChanged.connect(c.set_device)
        self.run.observe("seed", self.bar.seed.setValue)
        self.run.observe("device", self.bar.device.setCurrentText)
        self.run.observe("speed", self.bar.set_speed)
        self.run.observe("cuda", self.bar.set_cuda)

        self.lab_list = QListWidget()
        self.lab_list.setFocusPolicy(Qt.NoFocus)
        for info in self.labs.values():
            item = QListWidgetItem(info.title)
            item.setData(Qt.UserRole, info.name)
            item.setToolTip(info.summary)
            self.lab_list.addItem(item)
        self.lab_list.setFixedWidth(230)
        self.lab_list.currentItemChanged.connect(lambda item, _prev: item and t.open_lab(item.data(Qt.UserRole)))

        self.timeline_actions = TimelineActions(self)
        self.stack = QStackedWidget()
        center = QWidget()
        lay = QHBoxLayout(center)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.lab_list)
        right = QVBoxLayout()
        for widget, stretch in ((self.banner, 0), (self.caption, 0), (self.stack, 1), (self.timeline, 0)):
            right.addWidget(widget, stretch)
        lay.addLayout(right, 1)
        self.setCentralWidget(center)

        self.settings_dock = QDockWidget("Settings", self)
        self.settings_dock.setObjectName("settingsDock")
        self.settings_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.settings_scroll = QScrollArea()
        self.settings_scroll.setWidgetResizable(True)
        self.settings_dock.setWidget(self.settings_scroll)
        self.addDockWidget(Qt.RightDockWidgetArea, self.settings_dock)

        self.status_label = QLabel()
        self.status_label.setMinimumWidth(900)  # a fixed width: changing text never relayouts the window
        self.status_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.statusBar().addPermanentWidget(self.status_label)
        self.help = HelpActions(self)
        self._build_menus()
        self._build_shortcuts()
        self._status_timer = self._timer(500, self._update_status)
        self._autosave_timer = self._timer(int(AUTOSAVE_SECONDS * 1000),
                                           lambda: asyncio.ensure_future(self.sessions.autosave()))

        geometry = self.settings_store.value("geometry")
        if geometry is not None:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii", "ignore")))
            self.fit_to_screen()
        if lab is None and not overrides:
            lab = self.settings_store.value("last_lab", None)  # where the user left off
            lab = lab if lab in self.labs else None
        first = lab if lab in self.labs else next(iter(self.labs))
        problems = list(lab_registry.problems)
        if lab and lab not in self.labs:
            problems.insert(0, f"Unknown lab '{lab}'; available: {', '.join(self.labs)}")
        if problems:
            self.banner.show_message(problems[0], details="\n".join(problems))
        self.select_in_list(first)
        QTimer.singleShot(0, self.sessions.offer_crash_restore)  # after the first reset, which hides the banner

    def _timer(self, ms: int, slot) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        return timer

    def panel(self):
        """The open lab's panel."""
        return self.panels.get(self.run.lab)

    # -- construction ------------------------------------------------------------------------------------
    def _menu(self, menu, entries) -> None:
        """(text, shortcut or None, slot) entries; None: a separator."""
        add_actions(self, menu, entries)

    def _build_menus(self) -> None:
        d, s, e, m = self.data_actions, self.sessions, self.exports, self.model_code
        file_menu = self.menuBar().addMenu("&File")
        self._menu(file_menu, [
            ("Open data file…", QKeySequence.Open, d.open_file_dialog), ("Open image folder…", None, d.open_folder_dialog),
            ("Use embedded digits", None, lambda: d.use(None)), ("Use embedded shapes", None, lambda: d.use("shapes")),
            None, ("Use my model code…", None, m.dialog), ("Use the lab's own model", None, m.use_own),
            None, ("Download MNIST", None, lambda: d.download("mnist")),
            ("Download Fashion-MNIST", None, lambda: d.download("fashion-mnist")),
            None, ("Open session…", "Ctrl+Shift+O", s.open_dialog), ("Save session…", "Ctrl+Shift+S", s.save_dialog),
            ("Export as script…", None, s.script_dialog),
            None, ("Compare runs…", "Ctrl+Shift+K", lambda: asyncio.ensure_future(self.comparisons.compare_runs())),
            ("Open comparison folder…", None, self.comparisons.open_dialog)])
        # labs that offer a File-menu entry of their own (LabInfo.menu), e.g. Compare families…
        self._menu(file_menu, [(info.menu, None, lambda _=False, n=name: self.training.open_from_menu(n))
                               for name, info in self.run.labs.items() if info.menu])
        self.recent_menu = file_menu.addMenu("Recent sessions")
        self.recent_menu.aboutToShow.connect(lambda: s.fill_recent_menu(self.recent_menu))
        self._menu(file_menu, [None, ("Save model…", QKeySequence.Save, d.save_model_dialog),
                               ("Quit", QKeySequence.Quit, self.close)])

        view = self.menuBar().addMenu("&View")
        group = QActionGroup(self)
        for name in ("light", "dark"):
            act = QAction(f"{name.title()} theme", self, checkable=True)
            act.setChecked(theme.current() == name)
            act.triggered.connect(lambda _=False, n=name: self.lecture.set_theme(n))
            group.addAction(act)
            view.addAction(act)
        view.addAction(self.settings_dock.toggleViewAction())
        self._menu(view, [None, ("Larger text", "Ctrl+=", lambda: self.lecture.set_font_scale(theme.font_scale() * 1.15)),
                          ("Smaller text", "Ctrl+-", lambda: self.lecture.set_font_scale(theme.font_scale() / 1.15)),
                          ("Presenter view", "F5", self.lecture.toggle_presenter)])

        export_menu = self.menuBar().addMenu("&Export")
        for title, kind in (("View as PNG (2×)", "png"), ("View as SVG", "svg"), ("Timeline as GIF / MP4", "animation")):
            sub = export_menu.addMenu(title)
            sub.aboutToShow.connect(lambda m=sub, k=kind: e.fill_view_menu(m, k))
        self._menu(export_menu, [("Window as PNG…", None, e.window_dialog),
                                 ("Metric curves as CSV…", None, e.csv_dialog)])
        self.lecture.fill_menu(self.menuBar().addMenu("&Lecture"))
        t = self.training
        self._menu(self.menuBar().addMenu("&Training"), [
            ("Play / Pause\tSpace", None, t.toggle_play), ("Step\tRight", None, lambda: t.do_step(1)),
            ("Step ×10\tShift+Right", None, lambda: t.do_step(10)), ("Reset\tCtrl+R", None, t.request_reset), None,
            ("Check this run…", None, lambda: asyncio.ensure_future(self.predictions.check_run()))])
        self.help.fill_menu(self.menuBar().addMenu("&Help"))

    def _build_shortcuts(self) -> None:
        t, tr = self.timeline, self.training
        # (keys, what they do, slot): the Help menu's shortcut sheet lists these with the menus' own
        self.key_shortcuts = (
            ("Space", "Play / pause training", tr.toggle_play), ("Right", "One training step", lambda: tr.do_step(1)),
            ("Shift+Right", "Ten training steps", lambda: tr.do_step(10)), ("Ctrl+R", "Reset", tr.request_reset),
            (",", "Timeline: one snapshot back", lambda: t.scrub_to(t.index - 1)),
            (".", "Timeline: one snapshot forward", lambda: t.scrub_to(t.index + 1)),
            ("Home", "Timeline: the first snapshot", lambda: t.scrub_to(0)), ("End", "Timeline: live", t.go_live),
            ("H", "Timeline: play the history back", lambda: t.play_history(not t.play_button.isChecked())),
            ("PgDown", "Lecture: next preset", lambda: self.lecture.step(1)),
            ("PgUp", "Lecture: previous preset", lambda: self.lecture.step(-1)),
            ("C", "Presenter view: show or hide the controls", self.lecture.toggle_controls),
            ("Escape", "Leave the presenter view", self.lecture.leave_presenter))
        for keys, _what, slot in self.key_shortcuts:
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.WindowShortcut)
            sc.activated.connect(slot)

    def select_in_list(self, name: str) -> None:
        for i in range(self.lab_list.count()):
            if self.lab_list.item(i).data(Qt.UserRole) == name:
                self.lab_list.setCurrentRow(i)
                return

    # -- the open lab's widgets (TrainingActions.open_lab builds them) ---------------------------------------
    def add_lab_widgets(self, name: str, panel: QWidget, form: SettingsForm) -> None:
        panel.run_model = self.run  # what its cards read Check this run's verdicts from
        self.panels[name], self.forms[name] = panel, form
        self.stack.addWidget(panel)

    def show_lab_widgets(self, name: str) -> None:
        self.stack.setCurrentWidget(self.panels[name])
        self.settings_scroll.takeWidget()
        self.settings_scroll.setWidget(self.forms[name])
        self.settings_dock.setWindowTitle(f"Settings — {self.labs[name].title}")

    def _update_status(self) -> None:
        now = time.perf_counter()
        self.fps = self.frames_drawn / max(1e-9, now - self._fps_t)
        self.frames_drawn, self._fps_t = 0, now
        run, engine = self.run, self.controller.engine
        data = run.static.get("dataset") or run.static.get("name") or run.data or "digits"
        model = f"   ·   your model {run.static['your_model']}" if run.static.get("your_model") else ""
        self.status_label.setText(
            f"step {run.step:,}   ·   {run.steps_per_sec:,.0f} steps/s   ·   device {run.device_name}   ·   "
            f"{self.fps:.0f} fps   ·   engine {engine.kind if engine else '-'}   ·   data {data}{model}")

    def fit_to_screen(self) -> None:
        """A remembered size larger than this screen (another monitor, a panel that once grew) shrinks
        to fit, and the window moves onto the screen."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None or self.isFullScreen() or self.isMaximized():
            return
        avail = screen.availableGeometry()
        w, h = min(self.width(), avail.width()), min(self.height(), avail.height())
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        x = min(max(self.x(), avail.left()), avail.right() - w + 1)
        y = min(max(self.y(), avail.top()), avail.bottom() - h + 1)
        if (x, y) != (self.x(), self.y()):
            self.move(x, y)

    def closeEvent(self, event) -> None:
        self.closed = True
        self._status_timer.stop()
        self._autosave_timer.stop()
        if self.lecture.opening is not None and not self.lecture.opening.done():
            self.lecture.opening.cancel()  # a preset's shipped state still opening
        if not self.lecture.presenting:
            self.settings_store.setValue("geometry", bytes(self.saveGeometry().toBase64()).decode("ascii"))
        lost = self.controller.is_lost
        self.controller.close(1.0)
        self.sessions.closed_normally(keep=lost)
        super().closeEvent(event)
