"""The main window: layout, menus, shortcuts and the status line. What the commands do lives in the
controller (``controller.py``: the run and the worker) and in one module per menu: sessions
(``sessions.py``), lecture mode (``lecture.py``), data (``data_actions.py``), export
(``export_actions.py``)."""
from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMainWindow, QScrollArea, QStackedWidget, QVBoxLayout, QWidget)

from genviz.core import labs as lab_registry
from genviz.core.labs import import_object
from genviz.core.settings import SettingError
from genviz.safeio import InputError
from genviz.ui import theme
from genviz.ui.controller import Controller
from genviz.ui.controls import SettingsForm, TrainingBar
from genviz.ui.prefs import Prefs
from genviz.ui.data_actions import DataActions
from genviz.ui.engine_bridge import QueryFailed
from genviz.ui.export_actions import ExportActions
from genviz.ui.lecture import LectureActions
from genviz.ui.sessions import AUTOSAVE_SECONDS, SessionActions
from genviz.ui.timeline import Timeline, TimelineActions
from genviz.ui.widgets import Banner, CaptionBar, add_actions


class MainWindow(QMainWindow):
    def __init__(self, engine_kind: str = "process", lab: str | None = None, data: str | None = None,
                 seed: int = 0, device: str = "auto", overrides: dict | None = None,
                 autoplay: bool = False, snapshot_hz: float = 40.0):
        super().__init__()
        self.setWindowTitle("genviz — deep generative models lab")
        self.resize(1560, 960)
        self.labs = lab_registry.all_labs()
        self.controller = c = Controller(self.labs, engine_kind, snapshot_hz, parent=self)
        c.run.data, c.run.seed, c.run.device = data, seed, device
        self.autoplay = autoplay  # play once the next reset has built the model
        self.panels: dict[str, QWidget] = {}
        self.forms: dict[str, SettingsForm] = {}
        self._overrides = dict(overrides or {})  # command-line --set: for the lab opened first
        self._fps_count, self._fps, self._fps_t = 0, 0.0, time.perf_counter()
        self.data_label = "-"
        self.settings_store = Prefs()
        self._reset_scheduled = self._closed = False
        self.banner, self.caption, self.timeline = Banner(), CaptionBar(), Timeline()
        self.sessions, self.lecture = SessionActions(self), LectureActions(self)
        self.data_actions, self.exports = DataActions(self), ExportActions(self)

        c.ready.connect(self._on_ready)
        c.snapshot.connect(self._on_snapshot)
        c.running.connect(self._on_running)
        c.problem.connect(lambda text, details: self.banner.show_message(text, details=details, run=True))
        c.offer.connect(lambda text, label, act: self.banner.show_message(text, action=(label, act), run=True))
        c.lost.connect(lambda text: self.banner.show_message(
            text, action=("Continue in a new worker", self.reset), run=True))
        c.resetNeeded.connect(self.reset)
        c.note.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        c.valuesChanged.connect(lambda lab, values: lab in self.forms and self.forms[lab].set_values(values))

        self.bar = TrainingBar(self)
        self.bar.seed.setValue(seed)
        self.bar.device.setCurrentText(device)
        self.addToolBar(Qt.TopToolBarArea, self.bar)
        self.bar.playToggled.connect(lambda playing: c.play() if playing else c.pause())
        self.bar.stepRequested.connect(self.do_step)
        self.bar.resetRequested.connect(self.request_reset)
        # the run holds seed, device and speed: the toolbar sends its edits to the controller and shows the
        # run's values, whoever set them (a preset, a session, a lab's own speed)
        self.bar.speedChanged.connect(c.set_speed)
        self.bar.seed.valueChanged.connect(c.set_seed)
        self.bar.device.currentTextChanged.connect(c.set_device)
        c.run.observe("seed", self.bar.seed.setValue)
        c.run.observe("device", self.bar.device.setCurrentText)
        c.run.observe("speed", self.bar.set_speed)

        self.broken_labs: dict[str, str] = {}  # labs whose panel failed to build: why
        self.lab_list = QListWidget()
        self.lab_list.setFocusPolicy(Qt.NoFocus)
        for info in self.labs.values():
            item = QListWidgetItem(info.title)
            item.setData(Qt.UserRole, info.name)
            item.setToolTip(info.summary)
            self.lab_list.addItem(item)
        self.lab_list.setFixedWidth(230)
        self.lab_list.currentItemChanged.connect(lambda item, _prev: item and self.open_lab(item.data(Qt.UserRole)))

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
        from genviz.ui.help import HelpActions

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
        self._select_in_list(first)
        QTimer.singleShot(0, self.sessions.offer_crash_restore)  # after the first reset, which hides the banner

    def _timer(self, ms: int, slot) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        return timer

    # -- the run, as the tests and benchmarks read it ----------------------------------------------------
    @property
    def run(self):
        return self.controller.run

    @property
    def current(self) -> str | None:
        return self.run.lab

    @property
    def step(self) -> int:
        return self.run.step

    @property
    def history(self):
        return self.run.history

    @property
    def static(self) -> dict:
        return self.run.static

    @property
    def values(self) -> dict[str, dict]:
        return self.run.values

    @property
    def bridge(self):
        return self.controller.bridge

    def panel(self):
        return self.panels.get(self.current)

    # -- construction ------------------------------------------------------------------------------------
    def _menu(self, menu, entries) -> None:
        """(text, shortcut or None, slot) entries; None: a separator."""
        add_actions(self, menu, entries)

    def _build_menus(self) -> None:
        d, s, e = self.data_actions, self.sessions, self.exports
        file_menu = self.menuBar().addMenu("&File")
        self._menu(file_menu, [
            ("Open data file…", QKeySequence.Open, d.open_file_dialog), ("Open image folder…", None, d.open_folder_dialog),
            ("Use embedded digits", None, lambda: d.use(None)), ("Use embedded shapes", None, lambda: d.use("shapes")),
            None, ("Download MNIST", None, lambda: d.download("mnist")),
            ("Download Fashion-MNIST", None, lambda: d.download("fashion-mnist")),
            None, ("Open session…", "Ctrl+Shift+O", s.open_dialog), ("Save session…", "Ctrl+Shift+S", s.save_dialog),
            None, ("Compare runs…", "Ctrl+Shift+K", lambda: asyncio.ensure_future(self.compare_runs())),
            ("Open comparison folder…", None, self.open_comparison_dialog)])
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
        self._menu(self.menuBar().addMenu("&Training"), [
            ("Play / Pause\tSpace", None, self.toggle_play), ("Step\tRight", None, lambda: self.do_step(1)),
            ("Step ×10\tShift+Right", None, lambda: self.do_step(10)), ("Reset\tCtrl+R", None, self.request_reset)])
        self.help.fill_menu(self.menuBar().addMenu("&Help"))

    def _build_shortcuts(self) -> None:
        t = self.timeline
        # (keys, what they do, slot): the Help menu's shortcut sheet lists these with the menus' own
        self.key_shortcuts = (
            ("Space", "Play / pause training", self.toggle_play), ("Right", "One training step", lambda: self.do_step(1)),
            ("Shift+Right", "Ten training steps", lambda: self.do_step(10)), ("Ctrl+R", "Reset", self.request_reset),
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

    def _select_in_list(self, name: str) -> None:
        for i in range(self.lab_list.count()):
            if self.lab_list.item(i).data(Qt.UserRole) == name:
                self.lab_list.setCurrentRow(i)
                return

    # -- labs --------------------------------------------------------------------------------------------
    def open_lab(self, name: str) -> None:
        if name == self.current:
            return
        info, run = self.labs[name], self.run
        if name not in self.panels:
            try:
                panel = import_object(info.panel)(info)
            except Exception as exc:  # a lab whose panel cannot be built: said, and another lab stays open
                self._panel_failed(name, exc)
                return
        self.controller.keep_model()
        if name not in self.panels:
            panel.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 4000))
            panel.drawFailed.connect(lambda text, details: self.banner.show_message(text, details=details))
            panel.requestSettings.connect(self.controller.apply_settings)
            panel.requestView.connect(self.controller.set_view)
            panel.requestQuery.connect(lambda n, kw, p=panel: asyncio.ensure_future(self._panel_query(p, n, kw)))
            panel.requestStep.connect(self.controller.step)
            self.panels[name] = panel
            self.stack.addWidget(panel)
            overrides, self._overrides = self._overrides, {}
            try:
                run.values_of(name, overrides)
            except SettingError as exc:
                self.banner.show_message(str(exc))
                run.values_of(name)
            form = SettingsForm(info.settings, run.values_of(name))
            form.changed.connect(lambda n, value, live: self.controller.edit_setting(n, value, live))
            self.forms[name] = form
        self.panels[name].set_kept_models(run.kept_offers(name))
        kept = run.take_newest_kept_model(name)
        if kept is not None:
            self.statusBar().showMessage(f"Exploring the model trained in the {kept[0]} lab (step {kept[2]:,})", 6000)
        self.forms[name].set_values(run.values_of(name))
        self.controller.set_speed(info.speed)
        run.lab = name
        self.settings_store.setValue("last_lab", name)
        self.lecture.lab_opened(name)
        self.stack.setCurrentWidget(self.panels[name])
        self.settings_scroll.takeWidget()
        self.settings_scroll.setWidget(self.forms[name])
        self.settings_dock.setWindowTitle(f"Settings — {info.title}")
        if self.bridge.started:
            self.reset()
        elif not self._reset_scheduled:
            # start the worker after the first paint: the window appears before torch is imported
            self._reset_scheduled = True
            QTimer.singleShot(0, lambda: self._reset_scheduled and self.reset())

    def _panel_failed(self, name: str, exc: Exception) -> None:
        """The lab's panel raised while being built: the banner says so (the traceback under Details), the
        lab is greyed out in the list, and the lab that was open stays open (or the first that opens)."""
        import traceback

        info = self.labs[name]
        self.broken_labs[name] = f"{type(exc).__name__}: {exc}"
        self.banner.show_message(f"The {info.title} lab could not be opened: its panel failed to build "
                                 f"({type(exc).__name__}: {str(exc)[:200]})", details=traceback.format_exc())
        for i in range(self.lab_list.count()):
            item = self.lab_list.item(i)
            if item.data(Qt.UserRole) == name:
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled & ~Qt.ItemIsSelectable)
                item.setToolTip(f"{info.summary}\n(could not be opened: {self.broken_labs[name]})")
        fallback = self.current if self.current in self.panels else next(
            (n for n in self.labs if n not in self.broken_labs), None)
        if fallback is not None:
            QTimer.singleShot(0, lambda: self._select_in_list(fallback))

    def open_lab_with(self, name: str, values: dict) -> None:
        """Switch to lab ``name`` (the run holds its settings) and reset it once."""
        if name != self.current:
            self._select_in_list(name)  # opens the lab, which resets it
            return
        self.forms[name].set_values(values)
        self.reset()

    async def _panel_query(self, panel, name: str, kwargs: dict) -> None:
        try:
            value = await self.controller.ask(name, **kwargs)
        except QueryFailed as exc:
            self.banner.show_message(f"'{name}' failed: {exc}")
            panel.on_query_failed(name)
            return
        except asyncio.CancelledError:
            panel.on_query_failed(name)
            return
        panel.on_reply(name, value)

    # -- training commands ---------------------------------------------------------------------------------
    def request_reset(self) -> None:
        """Reset as the user asks for it (Ctrl+R): the settings' new run is first built next to
        the running one, which goes on when that fails. A lost worker's run continues at once."""
        if not self.bridge.healthy or self.controller.lost_config is not None:
            self.reset()
            return

        async def checked():
            if await self.controller.attempt(lambda run: None, "reset with these settings"):
                self.reset()

        asyncio.ensure_future(checked())

    def reset(self) -> None:
        self._reset_scheduled = False
        if self.current is None or self._closed:
            return  # (a reset scheduled before the window closed must not start a new worker)
        self.banner.hide_run_messages()
        self.panel().clear()
        self.bar.set_playing(False)
        self.controller.reset()
        self.panel().show_recorded(None)
        self.timeline.clear()
        self.timeline.set_steps(self.history.steps.tolist())
        if self.autoplay:
            self.autoplay = False
            self.play()

    def play(self) -> None:
        if self.controller.is_lost:  # continue the lost run in a new worker, then play
            self.autoplay = True
            self.reset()
            return
        self.controller.play()
        self.bar.set_playing(self.bridge.healthy)

    def pause(self) -> None:
        self.controller.pause()
        self.bar.set_playing(False)

    def toggle_play(self) -> None:
        self.pause() if self.bar.play_button.isChecked() else self.play()

    def do_step(self, n: int = 1) -> None:
        if self.bar.play_button.isChecked():
            self.pause()
        self.controller.step(n)

    # -- what the controller reports -------------------------------------------------------------------------
    def _on_ready(self, info, continued: bool) -> None:
        static = info.static
        self.data_label = static.get("dataset") or static.get("name") or self.run.data or "digits"
        self.bar.set_cuda_available(info.cuda_available, info.cuda_name)
        panel = self.panel()
        if panel is None:
            return
        panel.on_ready(static)
        panel.set_view_state(self.run.view_of(self.current))
        if continued:
            panel.rebuild(static, self.history, self.step)
            panel.set_view_state(self.run.view_of(self.current))
            self.timeline.set_steps(self.history.steps.tolist())
            self.statusBar().showMessage(f"Opened the session at step {self.step:,}: the timeline holds its history", 6000)

    def _on_running(self, running: bool) -> None:
        self.bar.set_playing(running)
        if self.panel() is not None:
            self.panel().on_state(running)

    def _on_snapshot(self, snap, new_frame: bool) -> None:
        if new_frame:
            self.timeline.set_steps(self.history.steps.tolist(), self.step)
        if self.panel() is not None:
            # while the timeline shows the past, live snapshots only extend the curves
            self.panel().take_live(snap, follow=self.timeline.live)
            self._fps_count += 1

    async def compare_runs(self):
        """The compare view with this run (copied at its current step) and the same settings with the next
        seed; more runs are added there. Both train in workers of their own when Play is pressed there."""
        from genviz.ui.compare import CompareWindow, Run

        if self.current is None:
            return None
        try:
            state = await self.controller.state()
        except QueryFailed as exc:
            self.banner.show_message(f"Could not compare: {exc}")
            return None
        session = self.run.to_session(state)
        lab = self.labs[session.lab]
        first = Run.from_session(session)
        second = Run(lab, session.settings, session.seed + 1, session.data)
        return self.show_comparison(CompareWindow(lab, [first, second], title=lab.title))

    def open_comparison_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a comparison folder (a sweep's --out, or a saved one)")
        if folder:
            asyncio.ensure_future(self.open_comparison(folder))

    async def open_comparison(self, folder: str):
        """Read and check the folder's runs off the GUI thread (each session's frames against its lab's), then
        show them; a bad folder or run gives a message and changes nothing."""
        from genviz.ui.compare import open_compare, pick_runs, read_compare_folder

        try:
            ids = pick_runs(folder, self)  # a large sweep: the user chooses the runs to compare
            if ids is None:
                return None
            self.statusBar().showMessage(f"Reading and checking {folder}…")
            loaded = await asyncio.get_event_loop().run_in_executor(None, read_compare_folder, folder, ids)
            window = open_compare(folder, loaded=loaded)
        except InputError as exc:
            self.banner.show_message(f"Could not open the comparison: {exc}")
            return None
        finally:
            self.statusBar().clearMessage()
        return self.show_comparison(window)

    def show_comparison(self, window):
        self._comparisons = [w for w in getattr(self, "_comparisons", []) if w.isVisible()] + [window]
        window.closed.connect(lambda: self._comparisons.remove(window) if window in self._comparisons else None)
        window.show()
        return window

    def _update_status(self) -> None:
        now = time.perf_counter()
        self._fps = self._fps_count / max(1e-9, now - self._fps_t)
        self._fps_count, self._fps_t = 0, now
        engine = self.bridge.engine
        self.status_label.setText(
            f"step {self.step:,}   ·   {self.run.steps_per_sec:,.0f} steps/s   ·   device "
            f"{self.run.device_name}   ·   {self._fps:.0f} fps   ·   engine {engine.kind if engine else '-'}"
            f"   ·   data {self.data_label}")

    @property
    def fps(self) -> float:
        return self._fps

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
        self._closed = True
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
