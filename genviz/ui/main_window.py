"""The main window: lab list, the lab's panel, one shared training bar, settings, status line."""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMessageBox, QPushButton, QScrollArea, QStackedWidget,
                               QVBoxLayout, QWidget)

from genviz.core.engine import EngineConfig, default_torch_threads
from genviz.core.labs import LabInfo, all_labs, import_object
from genviz.core.settings import SettingError, resolve
from genviz.ui import theme
from genviz.ui.controls import SettingsForm, TrainingBar
from genviz.ui.engine_bridge import EngineBridge, QueryFailed


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
        close = QPushButton("✕")
        close.setFixedWidth(32)
        close.clicked.connect(self.hide)
        for w in (self.details_button, close):
            w.setFocusPolicy(Qt.NoFocus)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.details_button)
        lay.addWidget(close)
        self.details = ""
        self.setAutoFillBackground(True)
        self.hide()

    def show_message(self, text: str, details: str = "", level: str = "error") -> None:
        c = theme.colors()
        bg, fg = (c["warn_bg"], c["warn_fg"]) if level == "error" else (c["base"], c["text"])
        self.setStyleSheet(f"Banner {{ background: {bg}; }} QLabel {{ color: {fg}; font-weight: 600; }}")
        self.label.setText(text)
        self.details = details
        self.details_button.setVisible(bool(details))
        self.show()

    def _show_details(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Details")
        box.setText(self.label.text())
        box.setDetailedText(self.details)
        box.open()


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

        self.bridge = EngineBridge(engine_kind, parent=self)
        self.bridge.snapshot.connect(self._on_snapshot)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.state.connect(self._on_state)
        self.bridge.nonFinite.connect(self._on_nonfinite)
        self.bridge.error.connect(self._on_error)
        self.bridge.settingApplied.connect(self._on_setting_applied)

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
        self.stack = QStackedWidget()
        center = QWidget()
        lay = QHBoxLayout(center)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.lab_list)
        right = QVBoxLayout()
        right.addWidget(self.banner)
        right.addWidget(self.stack, 1)
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

        first = lab if lab in self.labs else next(iter(self.labs))
        if lab and lab not in self.labs:
            self.banner.show_message(f"Unknown lab '{lab}'; available: {', '.join(self.labs)}")
        self._select_in_list(first)

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
                           ("Shift+Right", lambda: self.do_step(10)), ("Ctrl+R", self.reset)):
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
        self._offer_kept_model(name)
        self.current = name
        self.stack.setCurrentWidget(self.panels[name])
        self.settings_scroll.takeWidget()
        self.settings_scroll.setWidget(self.forms[name])
        self.settings_dock.setWindowTitle(f"Settings — {info.title}")
        if self.bridge.started:
            self.reset()
        else:
            # start the worker after the first paint: the window appears before torch is imported
            QTimer.singleShot(0, self.reset)

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
                            torch_threads=default_torch_threads())

    # -- commands ----------------------------------------------------------------------------
    def reset(self) -> None:
        if self.current is None:
            return
        self.banner.hide()
        self.step, self.steps_per_sec = 0, 0.0
        self.panel().clear()
        self.bar.set_playing(False)
        self.bridge.start(self.config())
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
        QSettings().setValue("theme", name)
        for panel in self.panels.values():
            if hasattr(panel, "restyle"):
                panel.restyle()

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

    # -- engine output -----------------------------------------------------------------------
    def _on_ready(self, info: dict) -> None:
        self.device_name = info.get("device", "?")
        self.cuda_available = info.get("cuda_available", False)
        static = info.get("static", {})
        self.data_label = static.get("dataset") or static.get("name") or self.data or "digits"
        self.bar.set_cuda_available(self.cuda_available, info.get("cuda_name"))
        panel = self.panel()
        if panel is not None:
            panel.on_ready(info.get("static", {}))

    def _on_state(self, state: dict) -> None:
        self.bar.set_playing(bool(state.get("running")))
        self.step = state.get("step", self.step)
        panel = self.panel()
        if panel is not None:
            panel.on_state(bool(state.get("running")))

    def _on_snapshot(self, snap: dict) -> None:
        self.step = snap["step"]
        self.steps_per_sec = snap.get("steps_per_sec", 0.0)
        panel = self.panel()
        if panel is not None:
            panel.on_snapshot(snap)
            self._fps_count += 1

    def _on_nonfinite(self, info: dict) -> None:
        self.bar.set_playing(False)
        bad = ", ".join(f"{k}={v:g}" for k, v in info.get("metrics", {}).items())
        self.banner.show_message(
            f"Training paused: the loss became non-finite at step {info['step']} ({bad}). The model is kept "
            f"at its last good state (step {info['step'] - 1}). Try a lower learning rate, or Reset.")

    def _on_error(self, info: dict) -> None:
        self.bar.set_playing(False)
        self.banner.show_message(f"Error while {info['where']}: {info['message']}", details=info.get("traceback", ""))

    def _on_setting_applied(self, info: dict) -> None:
        if "error" in info:
            self.banner.show_message(f"Setting '{info['name']}' was not applied: {info['error']}")

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
        self._status_timer.stop()
        self.bridge.close(1.0)
        super().closeEvent(event)
