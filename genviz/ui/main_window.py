"""The main window: lab list, the lab's panel, one shared training bar, settings, status line."""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import os
from dataclasses import replace

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QListWidget,
                               QListWidgetItem, QMainWindow, QMessageBox, QPushButton, QScrollArea,
                               QStackedWidget, QVBoxLayout, QWidget)

from genviz.core.engine import EngineConfig, default_torch_threads
from genviz.core.history import History
from genviz.core.labs import LabInfo, all_labs, import_object
from genviz.core.presets import Preset, PresetError, all_presets
from genviz.core.session import SUFFIX, Session, SessionError, load_session, save_session
from genviz.core.settings import SettingError, resolve
from genviz.ui import export, theme
from genviz.ui.controls import SettingsForm, TrainingBar
from genviz.ui.engine_bridge import EngineBridge, QueryFailed
from genviz.ui.timeline import Timeline

AUTOSAVE_SECONDS = float(os.environ.get("GENVIZ_AUTOSAVE_SECONDS", "60"))
RECENT_MAX = 8


def state_dir() -> Path:
    """Where the autosave lives (``$GENVIZ_STATE_DIR``, else the platform's app config folder)."""
    env = os.environ.get("GENVIZ_STATE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation) or Path.home() / ".genviz")


def autosave_path() -> Path:
    return state_dir() / f"autosave{SUFFIX}"


class Banner(QWidget):
    """A dismissable message strip for things the user must notice (NaN, errors, bad files)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(self._show_details)
        self.action_button = QPushButton()
        self.action_button.clicked.connect(self._run_action)
        self.action_button.hide()
        self._action = None
        close = QPushButton("✕")
        close.setFixedWidth(32)
        close.clicked.connect(self.hide)
        for w in (self.details_button, self.action_button, close):
            w.setFocusPolicy(Qt.NoFocus)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.action_button)
        lay.addWidget(self.details_button)
        lay.addWidget(close)
        self.details = ""
        self.setAutoFillBackground(True)
        self.hide()

    def show_message(self, text: str, details: str = "", level: str = "error", action=None) -> None:
        """``action``: (label, callable) for a button that acts on the message (Restore...)."""
        self._action = action
        self.action_button.setVisible(action is not None)
        if action is not None:
            self.action_button.setText(action[0])
        c = theme.colors()
        bg, fg = (c["warn_bg"], c["warn_fg"]) if level == "error" else (c["base"], c["text"])
        self.setStyleSheet(f"Banner {{ background: {bg}; }} QLabel {{ color: {fg}; font-weight: 600; }}")
        self.label.setText(text)
        self.details = details
        self.details_button.setVisible(bool(details))
        self.show()

    def _run_action(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action[1]()

    def _show_details(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Details")
        box.setText(self.label.text())
        box.setDetailedText(self.details)
        box.open()


class CaptionBar(QLabel):
    """The lecture preset's title and what to watch for, above the views."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.hide()

    def show_caption(self, title: str, caption: str) -> None:
        c = theme.colors()
        size = 13 * theme.font_scale()
        self.setStyleSheet(f"background: {c['base']}; color: {c['text']}; padding: 8px 12px; border-left: 5px solid "
                           f"{c['accent']}; font-size: {size:.0f}pt;")
        self.setText(f"<b>{title}</b> — {caption}")
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, engine_kind: str = "process", lab: str | None = None, data: str | None = None,
                 seed: int = 0, device: str = "auto", overrides: dict | None = None,
                 autoplay: bool = False, snapshot_hz: float = 40.0):
        super().__init__()
        self.setWindowTitle("genviz — deep generative models lab")
        self.resize(1560, 960)
        self.labs: dict[str, LabInfo] = all_labs()
        self.data = data
        self.snapshot_hz = snapshot_hz
        self.autoplay = autoplay
        self.values: dict[str, dict] = {}  # per lab, the settings the next Reset uses
        self.panels: dict[str, QWidget] = {}
        self.forms: dict[str, SettingsForm] = {}
        self.current: str | None = None
        self.step = 0
        self.steps_per_sec = 0.0
        self.device_name = "starting…"
        self.data_label = "-"
        self.cuda_available = False
        self._fps_count, self._fps, self._fps_t = 0, 0.0, time.perf_counter()
        self._pending_overrides = dict(overrides or {})
        # models kept from labs the user left (lab -> (file, step)), for labs that explore them
        self._kept_tmp = tempfile.TemporaryDirectory(prefix="genviz-models-")
        self.kept_dir = Path(self._kept_tmp.name)
        self.kept_models: dict[str, tuple[str, int]] = {}
        self._kept_used: dict[str, tuple[str, int]] = {}
        # the run's history (snapshots, curves, checkpoints) behind the timeline
        self.history = History()
        self.static: dict = {}
        self._session_to_replay: Session | None = None  # an opened session, replayed once its lab is ready
        self.preset: Preset | None = None
        self.presets = self._load_presets()
        self.presenting = False
        self._autosaved_step = -1
        self._autosaving = False
        self.settings_store = QSettings()
        self._reset_scheduled = False
        self._closed = False
        self.checkpoint_seconds = 10.0  # of training between checkpoints for "Resume from here"
        self._next_values: tuple[str, dict] | None = None  # settings the next opened lab starts with

        self.bridge = EngineBridge(engine_kind, parent=self)
        self.bridge.snapshot.connect(self._on_snapshot)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.state.connect(self._on_state)
        self.bridge.nonFinite.connect(self._on_nonfinite)
        self.bridge.error.connect(self._on_error)
        self.bridge.settingApplied.connect(self._on_setting_applied)
        self.bridge.checkpoint.connect(self._on_checkpoint)
        self.bridge.restored.connect(self._on_restored)

        self.bar = TrainingBar(self)
        self.bar.seed.setValue(seed)
        self.bar.device.setCurrentText(device)
        self.addToolBar(Qt.TopToolBarArea, self.bar)
        self.bar.playToggled.connect(self._on_play_toggled)
        self.bar.stepRequested.connect(self.do_step)
        self.bar.resetRequested.connect(self.reset)
        self.bar.speedChanged.connect(lambda v: self.bridge.engine and self.bridge.engine.set_speed(v))

        self.lab_list = QListWidget()
        self.lab_list.setFocusPolicy(Qt.NoFocus)
        for info in self.labs.values():
            item = QListWidgetItem(info.title)
            item.setData(Qt.UserRole, info.name)
            item.setToolTip(info.summary)
            self.lab_list.addItem(item)
        self.lab_list.setFixedWidth(230)
        self.lab_list.currentItemChanged.connect(
            lambda item, _prev: item and self.open_lab(item.data(Qt.UserRole)))

        self.banner = Banner()
        self.caption = CaptionBar()
        self.timeline = Timeline()
        self.timeline.scrubbed.connect(self.show_frame)
        self.timeline.liveRequested.connect(self.show_live)
        self.timeline.resumeRequested.connect(self.resume_from)
        self.stack = QStackedWidget()
        center = QWidget()
        lay = QHBoxLayout(center)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.lab_list)
        right = QVBoxLayout()
        right.addWidget(self.banner)
        right.addWidget(self.caption)
        right.addWidget(self.stack, 1)
        right.addWidget(self.timeline)
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
        self._build_menus()
        self._build_shortcuts()
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(500)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start()

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(int(AUTOSAVE_SECONDS * 1000))
        self._autosave_timer.timeout.connect(lambda: asyncio.ensure_future(self.autosave()))
        self._autosave_timer.start()

        geometry = self.settings_store.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if lab is None and not overrides:
            lab = self.settings_store.value("last_lab", None)  # where the user left off
            lab = lab if lab in self.labs else None
        first = lab if lab in self.labs else next(iter(self.labs))
        if lab and lab not in self.labs:
            self.banner.show_message(f"Unknown lab '{lab}'; available: {', '.join(self.labs)}")
        self._select_in_list(first)
        QTimer.singleShot(0, self._offer_crash_restore)  # after the first reset, which hides the banner

    # -- construction --------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, key, slot in (("Open data file…", QKeySequence.Open, self.open_data_file),
                                ("Open image folder…", None, self.open_data_folder),
                                ("Use embedded digits", None, lambda: self.use_data(None)),
                                ("Use embedded shapes", None, lambda: self.use_data("shapes"))):
            act = QAction(text, self)
            if key is not None:
                act.setShortcut(key)
            act.triggered.connect(slot)
            file_menu.addAction(act)
        file_menu.addSeparator()
        for name in ("mnist", "fashion-mnist"):
            act = QAction(f"Download {'MNIST' if name == 'mnist' else 'Fashion-MNIST'}", self)
            act.triggered.connect(lambda _=False, n=name: self.download_data(n))
            file_menu.addAction(act)
        file_menu.addSeparator()
        for text, key, slot in (("Open session…", "Ctrl+Shift+O", self.open_session_dialog),
                                ("Save session…", "Ctrl+Shift+S", self.save_session_dialog)):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(key))
            act.triggered.connect(slot)
            file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Recent sessions")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        save = QAction("Save model…", self)
        save.setShortcut(QKeySequence.Save)
        save.triggered.connect(self.save_model)
        file_menu.addAction(save)
        quit_act = QAction("Quit", self)
        quit_act.setShortcut(QKeySequence.Quit)
        quit_act.triggered.connect(self.close)
        file_menu.addAction(quit_act)

        view = self.menuBar().addMenu("&View")
        group = QActionGroup(self)
        for name in ("light", "dark"):
            act = QAction(f"{name.title()} theme", self, checkable=True)
            act.setChecked(theme.current() == name)
            act.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            group.addAction(act)
            view.addAction(act)
        view.addAction(self.settings_dock.toggleViewAction())
        view.addSeparator()
        for text, key, slot in (("Larger text", "Ctrl+=", lambda: self.set_font_scale(theme.font_scale() * 1.15)),
                                ("Smaller text", "Ctrl+-", lambda: self.set_font_scale(theme.font_scale() / 1.15)),
                                ("Presenter view", "F5", self.toggle_presenter)):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(key))
            act.triggered.connect(slot)
            view.addAction(act)

        export_menu = self.menuBar().addMenu("&Export")
        self.view_export_menu = export_menu.addMenu("View as PNG (2×)")
        self.view_export_menu.aboutToShow.connect(lambda: self._fill_view_menu(self.view_export_menu, "png"))
        self.svg_export_menu = export_menu.addMenu("View as SVG")
        self.svg_export_menu.aboutToShow.connect(lambda: self._fill_view_menu(self.svg_export_menu, "svg"))
        self.anim_export_menu = export_menu.addMenu("Timeline as GIF / MP4")
        self.anim_export_menu.aboutToShow.connect(lambda: self._fill_view_menu(self.anim_export_menu, "animation"))
        for text, slot in (("Window as PNG…", self.export_window_dialog), ("Metric curves as CSV…", self.export_csv_dialog)):
            act = QAction(text, self)
            act.triggered.connect(slot)
            export_menu.addAction(act)

        lecture = self.menuBar().addMenu("&Lecture")
        current_lab = None
        for preset in self.presets:
            if preset.lab != current_lab:
                current_lab = preset.lab
                lecture.addSection(self.labs[preset.lab].title if preset.lab in self.labs else preset.lab)
            act = QAction(preset.title, self)
            act.setToolTip(preset.caption)
            act.triggered.connect(lambda _=False, p=preset: self.apply_preset(p))
            lecture.addAction(act)
        lecture.addSeparator()
        for text, key, slot in (("Next preset", "PgDown", lambda: self.step_preset(1)),
                                ("Previous preset", "PgUp", lambda: self.step_preset(-1))):
            act = QAction(f"{text}\t{key}", self)
            act.triggered.connect(slot)
            lecture.addAction(act)

        train = self.menuBar().addMenu("&Training")
        for text, keys, slot in (("Play / Pause", "Space", self.toggle_play),
                                 ("Step", "Right", lambda: self.do_step(1)),
                                 ("Step ×10", "Shift+Right", lambda: self.do_step(10)),
                                 ("Reset", "Ctrl+R", self.reset)):
            act = QAction(f"{text}\t{keys}", self)
            act.triggered.connect(slot)
            train.addAction(act)

    def _build_shortcuts(self) -> None:
        for keys, slot in (("Space", self.toggle_play), ("Right", lambda: self.do_step(1)),
                           ("Shift+Right", lambda: self.do_step(10)), ("Ctrl+R", self.reset),
                           # the timeline: back, forward, start, live, play the history
                           (",", lambda: self.timeline.scrub_to(self.timeline.index - 1)),
                           (".", lambda: self.timeline.scrub_to(self.timeline.index + 1)),
                           ("Home", lambda: self.timeline.scrub_to(0)), ("End", self.timeline.go_live),
                           ("H", lambda: self.timeline.play_history(not self.timeline.play_button.isChecked())),
                           # lecture mode
                           ("PgDown", lambda: self.step_preset(1)), ("PgUp", lambda: self.step_preset(-1)),
                           ("C", self.toggle_presenter_controls), ("Escape", self.leave_presenter)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.WindowShortcut)
            sc.activated.connect(slot)

    def _select_in_list(self, name: str) -> None:
        for i in range(self.lab_list.count()):
            if self.lab_list.item(i).data(Qt.UserRole) == name:
                self.lab_list.setCurrentRow(i)
                return

    # -- labs --------------------------------------------------------------------------------
    def open_lab(self, name: str) -> None:
        if name == self.current:
            return
        self._keep_model_of_current_lab()
        info = self.labs[name]
        if name not in self.panels:
            panel = import_object(info.panel)(info)
            panel.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 4000))
            panel.requestSettings.connect(self.apply_settings)
            panel.requestQuery.connect(lambda name, kwargs, p=panel: asyncio.ensure_future(self._panel_query(p, name, kwargs)))
            self.panels[name] = panel
            self.stack.addWidget(panel)
            try:
                # command-line --set overrides belong to the lab opened first
                overrides, self._pending_overrides = self._pending_overrides, {}
                self.values[name] = resolve(info.settings, overrides)
            except SettingError as exc:
                self.banner.show_message(str(exc))
                self.values[name] = resolve(info.settings, {})
            form = SettingsForm(info.settings, self.values[name])
            form.changed.connect(self._on_setting_edited)
            self.forms[name] = form
        if self._next_values is not None and self._next_values[0] == name:
            self.values[name] = self._next_values[1]
            self.forms[name].set_values(self.values[name])
        self._next_values = None
        self._offer_kept_model(name)
        self.current = name
        self.settings_store.setValue("last_lab", name)
        if self.preset is not None and self.preset.lab != name:
            self.preset = None
            self.caption.hide()
        self.stack.setCurrentWidget(self.panels[name])
        self.settings_scroll.takeWidget()
        self.settings_scroll.setWidget(self.forms[name])
        self.settings_dock.setWindowTitle(f"Settings — {info.title}")
        if self.bridge.started:
            self.reset()
        else:
            # start the worker after the first paint: the window appears before torch is imported
            self._schedule_reset()

    def _schedule_reset(self) -> None:
        if not self._reset_scheduled:
            self._reset_scheduled = True
            QTimer.singleShot(0, lambda: self._reset_scheduled and self.reset())

    def _keep_model_of_current_lab(self) -> None:
        """Leaving a lab that shares its model: the worker saves it (before it builds the next lab,
        as commands run in order) so labs that explore a trained model can open it."""
        lab = self.labs.get(self.current) if self.current else None
        if lab is None or not lab.shares_model or self.bridge.engine is None or self.step <= 0:
            return
        path = self.kept_dir / f"{lab.name}.pt"
        path.unlink(missing_ok=True)
        self.bridge.engine.query("save", path=str(path))
        self.kept_models[lab.name] = (str(path), self.step)

    def _offer_kept_model(self, name: str) -> None:
        """Opening a lab that explores a trained model: use the newest one kept from its source labs."""
        info = self.labs[name]
        offers = {src: self.kept_models[src] for src in info.model_from if src in self.kept_models}
        panel = self.panels[name]
        if hasattr(panel, "set_kept_models"):
            panel.set_kept_models(offers)
        if offers:
            src, (path, step) = next(iter(offers.items()))
            if self._kept_used.get(name) != (path, step):  # a model newer than the one last opened
                self.values[name]["model"] = path
                self.forms[name].set_values(self.values[name])
                self._kept_used[name] = (path, step)
                self.statusBar().showMessage(f"Exploring the model trained in the {src} lab (step {step:,})", 6000)

    def panel(self):
        return self.panels.get(self.current)

    def config(self) -> EngineConfig:
        return EngineConfig(lab=self.current, settings=dict(self.values[self.current]),
                            seed=self.bar.seed.value(), device=self.bar.device.currentText(),
                            data=self.data, snapshot_hz=self.snapshot_hz,
                            torch_threads=default_torch_threads(), checkpoint_seconds=self.checkpoint_seconds)

    # -- commands ----------------------------------------------------------------------------
    def reset(self) -> None:
        self._reset_scheduled = False
        if self.current is None or self._closed:
            return  # (a reset scheduled before the window closed must not start a new worker)
        self.banner.hide()
        self.step, self.steps_per_sec = 0, 0.0
        self.panel().clear()
        self.bar.set_playing(False)
        config = self.config()
        session = self._session_to_replay
        if session is not None and session.lab == self.current:
            config = replace(config, state=session.state)
            self.history = session.history
        else:
            self._session_to_replay = None
            self.history = History()
        self.panel().show_recorded(None)
        self.timeline.clear()
        self.timeline.set_steps(self.history.steps.tolist())
        self.bridge.start(config)
        self.bridge.engine.set_speed(float(self.bar.speed.currentData()))
        if self.autoplay:
            self.autoplay = False
            self.play()

    def play(self) -> None:
        if self.bridge.engine:
            self.bridge.engine.play()
            self.bar.set_playing(True)

    def pause(self) -> None:
        if self.bridge.engine:
            self.bridge.engine.pause()
            self.bar.set_playing(False)

    def toggle_play(self) -> None:
        self.pause() if self.bar.play_button.isChecked() else self.play()

    def _on_play_toggled(self, playing: bool) -> None:
        if self.bridge.engine:
            (self.bridge.engine.play if playing else self.bridge.engine.pause)()

    def do_step(self, n: int = 1) -> None:
        if self.bridge.engine:
            if self.bar.play_button.isChecked():
                self.pause()
            self.bridge.engine.step(n)

    def _on_setting_edited(self, name: str, value, live: bool) -> None:
        self.values[self.current][name] = value
        if live and self.bridge.engine:
            self.bridge.engine.set_setting(name, value)
        elif not live:
            self.statusBar().showMessage(f"'{name}' = {value} applies on Reset (Ctrl+R)", 5000)

    def apply_settings(self, changes: dict, reset: bool) -> None:
        """Settings asked for by a panel (a preset, drawn data): validated, shown in the form,
        sent live where possible, and a Reset when asked for."""
        info = self.labs[self.current]
        try:
            values = resolve(info.settings, {**self.values[self.current], **changes})
        except SettingError as exc:
            self.banner.show_message(str(exc))
            return
        self.values[self.current] = values
        self.forms[self.current].set_values(values)
        if reset:
            self.reset()
        elif self.bridge.engine:
            for name in changes:
                self.bridge.engine.set_setting(name, values[name])

    async def _panel_query(self, panel, name: str, kwargs: dict) -> None:
        try:
            value = await self.bridge.ask(name, **kwargs)
        except QueryFailed as exc:
            self.banner.show_message(f"'{name}' failed: {exc}")
            panel.on_query_failed(name)
            return
        except asyncio.CancelledError:
            panel.on_query_failed(name)
            return
        panel.on_reply(name, value)

    def set_theme(self, name: str) -> None:
        theme.apply_theme(name)
        self.settings_store.setValue("theme", name)
        self._restyle_panels()

    # -- data (async: dialogs and file checks never freeze the window) ------------------------------
    def open_data_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open data", "",
                                              "Data (*.gz *-ubyte *.idx* *.npz *.npy *.csv);;All files (*)")
        if path:
            asyncio.ensure_future(self.load_data(path))

    def open_data_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images (one sub-folder per class)")
        if path:
            asyncio.ensure_future(self.load_data(path))

    def use_data(self, ref) -> None:
        self.data = ref
        self.reset()

    async def load_data(self, ref: str) -> bool:
        """Check the data off the GUI thread; on success reset the lab with it, else say why.
        A bad file changes nothing: the current data and model stay as they were."""
        from genviz.data import DataError, load_dataset

        self.statusBar().showMessage(f"Checking {ref}…")
        if self.labs[self.current].data_kind == "points":
            from genviz.data.toy2d import make_toy

            try:
                toy = await asyncio.get_event_loop().run_in_executor(None, make_toy, ref)
            except DataError as exc:
                self.banner.show_message(f"Could not use these points: {exc}")
                self.statusBar().clearMessage()
                return False
            self.statusBar().showMessage(f"Loaded 2-D data '{toy.name}'", 5000)
            self.apply_settings({"data": ref}, reset=True)
            return True
        try:
            ds = await asyncio.get_event_loop().run_in_executor(None, load_dataset, ref)
        except DataError as exc:
            self.banner.show_message(f"Could not use this data: {exc}")
            self.statusBar().clearMessage()
            return False
        except Exception as exc:  # an unexpected failure still must not kill the app
            self.banner.show_message(f"Could not read {ref}: {type(exc).__name__}: {exc}")
            return False
        self.statusBar().showMessage(f"Loaded {ds.name}: {len(ds)} images of {ds.shape[0]}x{ds.shape[1]}", 5000)
        self.data = ref
        self.reset()
        return True

    def download_data(self, name: str) -> None:
        asyncio.ensure_future(self._download(name))

    async def _download(self, name: str) -> None:
        from genviz.data import DataError
        from genviz.data.download import download

        loop = asyncio.get_event_loop()

        def progress(fname, done, total):
            msg = f"Downloading {fname}: {done / 1e6:.1f} / {total / 1e6:.1f} MB"
            loop.call_soon_threadsafe(self.statusBar().showMessage, msg)

        try:
            await loop.run_in_executor(None, lambda: download(name, progress=progress))
        except DataError as exc:
            self.banner.show_message(str(exc).splitlines()[0], details=str(exc))
            return
        await self.load_data(name)

    def save_model(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save model", f"{self.current}.pt", "Model (*.pt)")
        if path:
            asyncio.ensure_future(self._save(path))

    async def _save(self, path: str) -> None:
        try:
            await self.bridge.ask("save", path=path)
            self.statusBar().showMessage(f"Saved {path}", 5000)
        except QueryFailed as exc:
            self.banner.show_message(f"Could not save the model: {exc}")

    # -- timeline ----------------------------------------------------------------------------------
    def show_frame(self, index: int) -> None:
        """Every view of the lab back at recorded frame ``index``; a marker on the curves."""
        panel = self.panel()
        if panel is None or not len(self.history):
            return
        panel.show_recorded(self.history.frame(max(0, min(len(self.history) - 1, index))))

    def show_live(self) -> None:
        panel = self.panel()
        if panel is None:
            return
        panel.show_recorded(None)
        if len(self.history):
            panel.show_frame(self.history.frame(len(self.history) - 1), live=False)

    def resume_from(self, index: int) -> None:
        """Restart training from the checkpoint at or before frame ``index``; the later history goes."""
        if not len(self.history) or self.bridge.engine is None:
            return
        step = self.history.frames[max(0, min(index, len(self.history) - 1))].step
        found = self.history.checkpoint_at_or_before(step)
        if found is None:
            self.banner.show_message(f"No checkpoint at or before step {step:,} to resume from.")
            return
        ck_step, blob = found
        self.pause()
        self.bridge.engine.restore(blob)
        self.history.truncate_after(ck_step)
        self.step = ck_step
        self.panel().rebuild(self.static, self.history, ck_step)
        self.timeline.go_live()
        self.timeline.set_steps(self.history.steps.tolist(), ck_step)
        note = "" if ck_step == step else f" (the nearest checkpoint to step {step:,})"
        self.statusBar().showMessage(f"Resumed from the checkpoint at step {ck_step:,}{note}: press Play", 8000)

    def _on_checkpoint(self, info) -> None:
        self.history.add_checkpoint(info.step, info.state)

    def _on_restored(self, info) -> None:
        self.step = info.step
        names = {s.name for s in self.labs[self.current].settings}
        restored = {k: v for k, v in info.settings.items() if k in names}
        self.values[self.current].update(restored)
        self.forms[self.current].set_values(self.values[self.current])

    # -- sessions ------------------------------------------------------------------------------------
    def current_session(self, state: bytes | None) -> Session:
        """The run as a Session (the history is copied: training may go on while it is written)."""
        return Session(lab=self.current, settings=dict(self.values[self.current]), seed=self.bar.seed.value(),
                       data=self.data, device=self.bar.device.currentText(), step=self.step, static=self.static,
                       state=state, history=History.from_payload(self.history.to_payload()),
                       title=self.preset.title if self.preset else "", caption=self.preset.caption if self.preset else "")

    async def save_session(self, path: str | Path) -> bool:
        try:
            state = await self.bridge.ask("state")
            session = self.current_session(state)
            await asyncio.get_event_loop().run_in_executor(None, save_session, session, path)
        except (QueryFailed, SessionError, OSError) as exc:
            self.banner.show_message(f"Could not save the session: {exc}")
            return False
        self._remember_recent(str(path))
        self.statusBar().showMessage(f"Saved the session (step {session.step:,}) to {path}", 5000)
        return True

    async def open_session(self, path: str | Path) -> bool:
        """Read a session off the GUI thread; a bad file gives a message and changes nothing."""
        self.statusBar().showMessage(f"Opening {path}…")
        try:
            session = await asyncio.get_event_loop().run_in_executor(None, load_session, path, tuple(self.labs))
        except SessionError as exc:
            self.banner.show_message(f"Could not open the session: {exc}")
            self.statusBar().clearMessage()
            return False
        self._remember_recent(str(path))
        self.start_session(session)
        return True

    def start_session(self, session: Session) -> None:
        info = self.labs[session.lab]
        try:
            values = resolve(info.settings, session.settings)
        except SettingError as exc:
            self.banner.show_message(f"Could not open the session: {exc}")
            return
        self.data = session.data
        self.bar.seed.setValue(session.seed)
        self.preset = None
        if session.title:
            self.caption.show_caption(session.title, session.caption)
        else:
            self.caption.hide()
        self._session_to_replay = session
        if session.lab != self.current:
            self._pending_overrides = {}
            self.open_lab_with(session.lab, values)
        else:
            self.values[session.lab] = values
            self.forms[session.lab].set_values(values)
            self.reset()

    def open_lab_with(self, name: str, values: dict) -> None:
        """Switch to lab ``name`` with these settings (its form shows them) and reset it once."""
        if name != self.current:
            self._next_values = (name, values)
            self._select_in_list(name)  # opens the lab with them, which resets it
            return
        self.values[name] = values
        self.forms[name].set_values(values)
        self.reset()

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", f"genviz session (*{SUFFIX});;All files (*)")
        if path:
            asyncio.ensure_future(self.open_session(path))

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", f"{self.current}{SUFFIX}", f"genviz session (*{SUFFIX})")
        if path:
            if not path.endswith(SUFFIX):
                path += SUFFIX
            asyncio.ensure_future(self.save_session(path))

    def recent_sessions(self) -> list[str]:
        value = self.settings_store.value("recent_sessions", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_recent(self, path: str) -> None:
        if Path(path) == autosave_path():
            return
        recent = [p for p in self.recent_sessions() if p != path]
        self.settings_store.setValue("recent_sessions", [path, *recent][:RECENT_MAX])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_sessions()
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for path in recent:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: asyncio.ensure_future(self.open_session(p)))

    async def autosave(self) -> bool:
        """Save the running session to the autosave file when it has trained since the last time.
        The file goes when the window closes normally: found at start-up, it means a crash or kill."""
        if self._autosaving or self.current is None or self.step <= 0 or self.step == self._autosaved_step:
            return False
        self._autosaving = True
        try:
            autosave_path().parent.mkdir(parents=True, exist_ok=True)
            ok = await self.save_session(autosave_path())
            if ok:
                self._autosaved_step = self.step
            return ok
        finally:
            self._autosaving = False

    def _offer_crash_restore(self) -> None:
        path = autosave_path()
        if not path.is_file():
            return
        self.banner.show_message(
            f"genviz did not close normally last time. An autosaved session from "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(path.stat().st_mtime))} is available.",
            level="info", action=("Restore it", lambda: asyncio.ensure_future(self.open_session(path))))

    # -- lecture mode ----------------------------------------------------------------------------------
    def _load_presets(self) -> list[Preset]:
        try:
            return all_presets()
        except PresetError as exc:
            message = f"Lecture presets: {exc}"
            QTimer.singleShot(0, lambda: self.banner.show_message(message))
            return []

    def apply_preset(self, preset: Preset, play: bool = True) -> None:
        """Open the preset's lab with its settings, seed and data; show its caption; play."""
        info = self.labs.get(preset.lab)
        if info is None:
            self.banner.show_message(f"Preset '{preset.name}' is for an unknown lab '{preset.lab}'")
            return
        self._session_to_replay = None
        self.preset = preset
        self.caption.show_caption(preset.title, preset.caption)
        if info.data_kind == "images":
            self.data = preset.data
        self.bar.seed.setValue(preset.seed)
        self.autoplay = play
        self.open_lab_with(preset.lab, preset.resolved_settings())
        self.preset = preset  # opening the lab keeps the caption of the preset that opened it
        self.caption.show_caption(preset.title, preset.caption)
        self.statusBar().showMessage(f"Preset: {preset.title}", 5000)

    def step_preset(self, delta: int) -> None:
        if not self.presets:
            return
        names = [p.name for p in self.presets]
        i = names.index(self.preset.name) if self.preset and self.preset.name in names else (-1 if delta > 0 else 0)
        self.apply_preset(self.presets[(i + delta) % len(self.presets)])

    def toggle_presenter(self) -> None:
        self.leave_presenter() if self.presenting else self.enter_presenter()

    def enter_presenter(self) -> None:
        """Full screen, large text and thick lines, controls hidden (C shows them), the caption on."""
        if self.presenting:
            return
        self.presenting = True
        self._normal_scale = theme.font_scale()
        theme.apply_theme(font_scale=max(1.5, self._normal_scale * 1.5), line_scale=2.5)
        self._restyle_panels()
        self.set_presenter_controls(False)
        self.showFullScreen()
        if self.preset is not None:
            self.caption.show_caption(self.preset.title, self.preset.caption)
        self.statusBar().showMessage("Presenter view: C shows the controls, PgUp/PgDown step presets, Esc leaves", 6000)

    def leave_presenter(self) -> None:
        if not self.presenting:
            return
        self.presenting = False
        theme.apply_theme(font_scale=self._normal_scale, line_scale=1.0)
        self._restyle_panels()
        self.set_presenter_controls(True)
        self.showNormal()

    def set_presenter_controls(self, visible: bool) -> None:
        for w in (self.lab_list, self.settings_dock, self.bar, self.timeline, self.menuBar(), self.statusBar()):
            w.setVisible(visible)

    def toggle_presenter_controls(self) -> None:
        if self.presenting:
            self.set_presenter_controls(not self.bar.isVisible())

    def set_font_scale(self, scale: float) -> None:
        theme.apply_theme(font_scale=scale)
        self.settings_store.setValue("font_scale", theme.font_scale())
        self._restyle_panels()

    def _restyle_panels(self) -> None:
        for panel in self.panels.values():
            if hasattr(panel, "restyle"):
                panel.restyle()
        if self.preset is not None and self.caption.isVisible():
            self.caption.show_caption(self.preset.title, self.preset.caption)

    # -- export ------------------------------------------------------------------------------------
    def _fill_view_menu(self, menu, kind: str) -> None:
        menu.clear()
        panel = self.panel()
        views = panel.views() if panel is not None else {}
        if kind == "animation":
            views = {"whole lab": panel, **views} if panel is not None else {}
        for name, widget in views.items():
            act = menu.addAction(name)
            act.triggered.connect(lambda _=False, n=name, w=widget: self._export_dialog(kind, n, w))

    def _export_dialog(self, kind: str, name: str, widget) -> None:
        slug = name.replace(" ", "-")
        if kind == "animation":
            path, _ = QFileDialog.getSaveFileName(self, "Export the timeline", f"{self.current}-{slug}.gif",
                                                  "Animated GIF (*.gif);;MP4 video (*.mp4)")
            if not path:
                return
            fps, ok = QInputDialog.getInt(self, "Frame rate", "Frames per second:", 10, 1, 60)
            if not ok:
                return
            width, ok = QInputDialog.getInt(self, "Size", "Width in pixels (height keeps the aspect):",
                                            max(200, widget.width()), 64, 4096)
            if ok:
                self.export_timeline(widget, path, fps=fps, width=width)
            return
        path, _ = QFileDialog.getSaveFileName(self, f"Export {name}", f"{self.current}-{slug}.{kind}",
                                              "PNG image (*.png)" if kind == "png" else "SVG drawing (*.svg)")
        if path:
            self._run_export(lambda: export.view_png(widget, path, scale=2) if kind == "png"
                             else export.view_svg(widget, path), path)

    def export_timeline(self, widget, path: str, fps: int = 10, width: int | None = None,
                        max_frames: int = 300) -> None:
        """The recorded history of ``widget`` as a GIF or MP4; the views come back to where they were."""
        panel = self.panel()
        if not len(self.history):
            self.banner.show_message("Nothing to export yet: the timeline is empty (press Play first).")
            return
        was_live, index = self.timeline.live, self.timeline.index
        try:
            self._run_export(lambda: export.timeline_animation(panel, widget, self.history, path, fps=fps,
                                                               width=width, max_frames=max_frames), path)
        finally:
            if was_live:
                self.show_live()
            else:
                self.show_frame(index)

    def export_window_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the window", f"{self.current}-window.png", "PNG image (*.png)")
        if path:
            self._run_export(lambda: export.window_png(self, path), path)

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the metric curves", f"{self.current}-metrics.csv", "CSV (*.csv)")
        if path:
            self._run_export(lambda: Path(path).write_text(self.history.metrics_csv()), path)

    def _run_export(self, action, path: str) -> bool:
        try:
            action()
        except (export.ExportError, OSError) as exc:
            self.banner.show_message(f"Export failed: {exc}")
            return False
        self.statusBar().showMessage(f"Exported {path}", 5000)
        return True

    # -- engine output -----------------------------------------------------------------------
    def _on_ready(self, info) -> None:
        self.device_name = info.device
        self.cuda_available = info.cuda_available
        static = info.static
        self.data_label = static.get("dataset") or static.get("name") or self.data or "digits"
        self.bar.set_cuda_available(self.cuda_available, info.cuda_name)
        self.static = info.static
        panel = self.panel()
        if panel is not None:
            panel.on_ready(self.static)
        session, self._session_to_replay = self._session_to_replay, None
        if session is not None and panel is not None:
            self.step = info.step
            panel.rebuild(self.static, self.history, self.step)
            self.timeline.set_steps(self.history.steps.tolist())
            self.statusBar().showMessage(f"Opened the session at step {self.step:,}: the timeline holds its history", 6000)

    def _on_state(self, state) -> None:
        self.bar.set_playing(state.running)
        self.step = state.step
        panel = self.panel()
        if panel is not None:
            panel.on_state(state.running)

    def _on_snapshot(self, snap) -> None:
        self.step = snap.step
        self.steps_per_sec = snap.steps_per_sec
        if self.history.record(snap):
            self.timeline.set_steps(self.history.steps.tolist(), self.step)
        panel = self.panel()
        if panel is not None:
            # while the timeline shows the past, live snapshots only extend the curves
            panel.take_live(snap, follow=self.timeline.live)
            self._fps_count += 1

    def _on_nonfinite(self, info) -> None:
        self.bar.set_playing(False)
        bad = ", ".join(f"{k}={v:g}" for k, v in info.metrics.items())
        self.banner.show_message(
            f"Training paused: the loss became non-finite at step {info.step} ({bad}). The model is kept "
            f"at its last good state (step {info.step - 1}). Try a lower learning rate, or Reset.")

    def _on_error(self, info) -> None:
        self.bar.set_playing(False)
        self.banner.show_message(f"Error while {info.where}: {info.message}", details=info.traceback)

    def _on_setting_applied(self, info) -> None:
        if info.error is not None:
            self.banner.show_message(f"Setting '{info.name}' was not applied: {info.error}")

    def _update_status(self) -> None:
        now = time.perf_counter()
        self._fps = self._fps_count / max(1e-9, now - self._fps_t)
        self._fps_count, self._fps_t = 0, now
        engine = self.bridge.engine
        self.status_label.setText(
            f"step {self.step:,}   ·   {self.steps_per_sec:,.0f} steps/s   ·   device {self.device_name}"
            f"   ·   {self._fps:.0f} fps   ·   engine {engine.kind if engine else '-'}   ·   data {self.data_label}")

    @property
    def fps(self) -> float:
        return self._fps

    def closeEvent(self, event) -> None:
        self._closed = True
        self._status_timer.stop()
        self._autosave_timer.stop()
        if not self.presenting:
            self.settings_store.setValue("geometry", self.saveGeometry())
        self.bridge.close(1.0)
        autosave_path().unlink(missing_ok=True)  # a normal exit: nothing to restore next time
        super().closeEvent(event)
