"""The compare view: 2-4 runs of one lab side by side, one timeline for all, their curves overlaid.

Runs are the window's current run, saved sessions, runs of a sweep's folder, or new runs that differ in
settings or seed; each new (or continued) run trains on a worker process of its own. Runs that share
their settings and differ only in the seed form a group: the shared plots draw the group's mean with a
band of ± one standard deviation over its seeds, and the table gives each group's final metrics as mean ±
std. Panels show one run of each group (at most four); every run of a group enters its curves.

Only rendering and commands here: the comparing itself (labels, groups, bands, the folder's manifest)
is ``genviz.core.compare``."""
from __future__ import annotations

import asyncio
import html
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMainWindow, QMessageBox, QScrollArea, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from genviz.core.compare import (MAX_SHOWN, differing, final_stats, last_values, load_manifest, mean_band,
                                 save_manifest, seed_groups)
from genviz.core.history import History
from genviz.core.labs import LabInfo, all_labs, import_object
from genviz.core.numbers import decimals_for
from genviz.core.protocol import EngineConfig
from genviz.core.session import Session, load_session, save_session
from genviz.core.settings import SettingError, parse_assignments, resolve
from genviz.ui import theme
from genviz.ui.engine_bridge import QueryFailed
from genviz.ui.plots import StepAxis, make_plot
from genviz.ui.timeline import Timeline
from genviz.ui.widgets import add_actions

SNAPSHOT_BUDGET_HZ = 26.0  # snapshots per second for all shown runs together (each its share, 6.5-15/s)
WORKER_NICE = 10  # the runs' workers yield the cores to the GUI thread (four workers share two cores)
PANEL_CURVE_SECONDS = 0.5
WHOLE_PANEL = "the whole lab panel"
MAX_RUNS = 16  # runs a comparison holds (their curves and table rows); at most MAX_SHOWN train and show


class Run(QObject):
    """One run of the comparison: a run model and its controller, as the main window has (settings, seed, view
    choices, history; the worker, its recovery and its sessions), and a name and status in the comparison."""

    snapshot = Signal(object, bool)  # the Snapshot, whether the history got a frame from it
    readyChanged = Signal()
    problem = Signal(str)

    def __init__(self, lab: LabInfo, settings: dict, seed: int = 0, data: str | None = None,
                 history: History | None = None, static: dict | None = None, state: bytes | None = None,
                 step: int = 0, name: str = "", status: str = "ok", error: str | None = None,
                 view: dict | None = None, parent=None):
        from genviz.ui.controller import Controller

        super().__init__(parent)
        self.lab, self.name, self.status, self.error = lab, name, status, error
        self.controller = c = Controller({lab.name: lab}, "process", snapshot_hz=15.0, parent=self)
        c.engine_options = {"torch_threads": 1, "nice": WORKER_NICE}
        model = self.model = c.run
        model.lab = lab.name
        try:
            model.values[lab.name] = model.parse(lab.name, settings)
        except SettingError:  # a failed run of a sweep: shown as it was given, never trained
            model.values[lab.name] = dict(settings)
        model.views[lab.name] = dict(view or {})
        model.seed, model.data = int(seed), data
        model.history = history if history is not None else History()
        model.static, model.step = dict(static or {}), int(step)
        self.state = state  # what the worker continues from when it starts
        self.running = False
        c.ready.connect(lambda *_: self.readyChanged.emit())
        c.snapshot.connect(self.snapshot.emit)
        c.running.connect(lambda on: setattr(self, "running", bool(on)))
        c.problem.connect(lambda text, _details: self.problem.emit(f"{self.name}: {text}"))
        c.offer.connect(lambda text, _label, _act: self.problem.emit(f"{self.name}: {text}"))
        c.lost.connect(lambda text: self.problem.emit(f"{self.name}: {text}"))

    @classmethod
    def from_session(cls, session: Session, name: str = "", parent=None) -> "Run":
        return cls(all_labs()[session.lab], session.settings, session.seed, session.data, session.history,
                   session.static, session.state, session.step, name or session.title, view=session.view,
                   parent=parent)

    # the run model's fields, under the names the comparison uses
    settings = property(lambda self: self.model.values_of(self.lab.name))
    seed = property(lambda self: self.model.seed)
    data = property(lambda self: self.model.data)
    history = property(lambda self: self.model.history)
    static = property(lambda self: self.model.static)
    step = property(lambda self: self.model.step)
    steps_per_sec = property(lambda self: self.model.steps_per_sec)
    view = property(lambda self: self.model.view_of(self.lab.name))

    @property
    def snapshot_hz(self) -> float:
        return self.controller.snapshot_hz

    @snapshot_hz.setter
    def snapshot_hz(self, hz: float) -> None:
        self.controller.snapshot_hz = float(hz)

    @property
    def bridge(self):
        """The worker's bridge while the run has a worker, else None."""
        bridge = self.controller.bridge
        return bridge if bridge.engine is not None else None

    @property
    def trainable(self) -> bool:
        return self.status != "failed"

    def config(self) -> EngineConfig:
        return self.controller.engine_config()

    def start(self) -> None:
        """A worker of its own, building the run (continuing its saved state and history, if any)."""
        if self.bridge is not None or not self.trainable:
            return
        model = self.model
        if self.state is not None:  # continued as an opened session is
            model.session = Session(lab=self.lab.name, settings=dict(self.settings), seed=model.seed, data=model.data,
                                    step=model.step, static=model.static, state=self.state, history=model.history,
                                    view=dict(self.view))
        else:
            model.session = None
        self.controller.set_speed(self.lab.speed)
        self.controller.reset()

    @property
    def lost(self) -> bool:
        return self.bridge is not None and self.controller.is_lost

    def restart(self) -> bool:
        """A run whose worker died continues from its last checkpoint on a new worker (its history after that
        step goes: that future is gone). False without a checkpoint."""
        if not self.history.checkpoints:
            return False
        self.controller.reset()  # a lost worker's run: recovered from its last checkpoint
        return True

    def play(self, on: bool) -> None:
        if on and self.lost:
            self.restart()
        if on:
            self.start()
        if self.bridge is not None and self.bridge.healthy:
            self.controller.play() if on else self.controller.pause()

    async def session(self) -> Session:
        """The run as a Session (its settings, seed, data and view choices): its state now (asked of its worker),
        or, when the worker died or cannot answer, its last checkpoint with the history up to it (never the state
        it was opened with beside a later step: a dead worker's run once saved 'step 3,172' holding step 400's
        weights); an untrained run keeps the state it was opened with."""
        state, until = self.state, None
        if self.bridge is not None:
            try:
                if not self.bridge.healthy:
                    raise QueryFailed("the worker is gone")
                state = await self.controller.state()
            except QueryFailed:
                if self.history.checkpoints:
                    until, state = self.history.checkpoints[-1]
        session = self.model.to_session(state)
        if until is not None:
            session.step, session.history = until, self.history.copy_until(until)
        session.title, session.caption = self.name, ""
        return session

    def close(self) -> None:
        self.controller.close(0.5)


class AddRunDialog(QDialog):
    """Settings (name=value, ...) over the first run's, and a seed."""

    def __init__(self, lab: LabInfo, base: dict, seed: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add a run")
        self.lab, self.base = lab, base
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("e.g. lr_g=1e-4, loss=wgan-gp (empty: the first run's settings)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        self.seed.setValue(seed)
        self.message = QLabel()
        self.message.setTextFormat(Qt.PlainText)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.colors()['warn_fg']}")
        form = QFormLayout(self)
        form.addRow("Settings", self.edit)
        form.addRow("Seed", self.seed)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.result_settings: dict | None = None

    def _check(self) -> None:
        try:
            items = [p.strip() for p in self.edit.text().split(",") if p.strip()]
            changes = parse_assignments(items)
            self.result_settings = resolve(self.lab.settings, {**self.base, **changes})
        except SettingError as exc:
            self.message.setText(str(exc))
            return
        self.accept()


def runs_per_row(n: int, width: float, height: float, whole: bool = False) -> int:
    """How many runs side by side: whole panels two to a row; one view each, the count that makes the
    cells closest to square (equal-axis views in wide, short cells were mostly empty margins)."""
    import math

    if n <= 1:
        return 1
    if whole:
        return 2 if n > 2 else n
    return min(range(1, n + 1), key=lambda c: abs(math.log((width / c) / (height / math.ceil(n / c)))))


class CompareWindow(QMainWindow):
    """Runs of one lab side by side. ``runs``: Run objects (their parent becomes this window)."""

    closed = Signal()

    def __init__(self, lab: LabInfo, runs: list[Run], title: str = "", parent=None):
        super().__init__(parent)
        self.lab = lab
        self.setWindowTitle(f"genviz — compare: {title or lab.title}")
        self.runs: list[Run] = []
        self.columns: list[dict] = []
        self.playing = False
        self._redraws = 0
        self._redraw_t = time.perf_counter()
        self.redraws_per_sec = 0.0
        self.view_choice = ""  # "": each lab panel's main view
        self.view_box = QComboBox()
        self.view_box.setToolTip("The view shown for every run (the lab's main view first chosen)")
        self.view_box.textActivated.connect(self.choose_view)
        self.timeline = Timeline()
        self.timeline.resume_button.hide()  # resuming is per run: the main window does it
        self.timeline.scrubbed.connect(self.show_index)
        self.timeline.liveRequested.connect(self.show_live)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.RichText)
        self.legend.setWordWrap(True)
        self.plots, self.metric_boxes = [], []
        plots_row = QHBoxLayout()
        for _ in range(2):
            box = QComboBox()
            box.setToolTip("The metric this plot overlays for every run")
            plot = make_plot("", "step", "")
            plot.getPlotItem().setAxisItems({"bottom": StepAxis("bottom")})
            plot.setLabel("bottom", "step")
            box.currentIndexChanged.connect(lambda _=0: self.refresh_curves(force=True))
            col = QVBoxLayout()
            col.addWidget(box)
            col.addWidget(plot, 1)
            plots_row.addLayout(col, 1)
            self.plots.append(plot)
            self.metric_boxes.append(box)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(90)  # the header and a few groups without scrolling
        self.table.setMaximumHeight(160)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.legend)
        bl.addLayout(plots_row, 3)
        bl.addWidget(self.table, 1)
        scroll = QScrollArea()  # lab panels have their minimum sizes: four may not fit a small screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(self.grid_host)
        split = QSplitter(Qt.Vertical)
        split.addWidget(scroll)
        split.addWidget(bottom)
        split.setSizes([580, 420])
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(QLabel("View of each run:"))
        top.addWidget(self.view_box)
        top.addStretch(1)
        cl.addLayout(top)
        cl.addWidget(split, 1)
        cl.addWidget(self.timeline)
        self.setCentralWidget(central)
        self._build_menu()
        self.status = QLabel()
        self.status.setTextFormat(Qt.PlainText)  # run names come from compare.json: text, never markup
        self.statusBar().addPermanentWidget(self.status, 1)
        self._pending: dict[int, tuple] = {}  # per run, its latest undrawn snapshot (latest wins)
        self._draw_timer = QTimer(self)
        self._draw_timer.setInterval(10)
        self._draw_timer.timeout.connect(self._draw_pending)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)  # the overlaid curves and the table: once a second is enough
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        for run in runs:
            self.add_run(run, layout=False)
        self.layout_columns()
        self.refresh()
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(min(1600, screen.width()) if screen else 1500, min(1000, screen.height()) if screen else 980)

    # -- menu ------------------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        bar = self.menuBar()
        entries = {
            "&Runs": [("Play / pause all", "Space", self.toggle_play), ("Add a run…", "Ctrl+N", self.add_run_dialog),
                      ("Add seeds of the first run…", None, self.add_seeds_dialog), None,
                      ("Close", QKeySequence.Close, self.close)],
            "&File": [("Open comparison folder…", QKeySequence.Open, self.open_dialog),
                      ("Save comparison…", QKeySequence.Save, self.save_dialog)],
            "&Export": [("Runs side by side as PNG…", None, lambda: self.export_dialog("png")),
                        ("Runs side by side as GIF…", None, lambda: self.export_dialog("gif"))],
        }
        for title, items in entries.items():
            add_actions(self, bar.addMenu(title), items)

    # -- runs ------------------------------------------------------------------------------------------
    def add_run(self, run: Run, layout: bool = True) -> Run:
        if len(self.runs) >= MAX_RUNS:
            raise SettingError(f"a comparison holds at most {MAX_RUNS} runs")
        run.setParent(self)
        run.snapshot.connect(lambda snap, new, r=run: self._on_snapshot(r, snap, new))
        run.readyChanged.connect(lambda r=run: self._on_ready(r))
        run.problem.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.runs.append(run)
        labels = differing([{"settings": r.settings, "seed": r.seed, "data": r.data} for r in self.runs])
        for r, label in zip(self.runs, labels):
            r.name = label
        if layout:
            self.layout_columns()
            if self.playing:
                run.play(True)
        return run

    def groups(self) -> list[list[Run]]:
        idx = seed_groups([{"settings": r.settings, "data": r.data} for r in self.runs])
        return [[self.runs[i] for i in g] for g in idx]

    def group_labels(self) -> list[str]:
        groups = self.groups()
        labels = differing([{"settings": g[0].settings, "data": g[0].data, "seed": g[0].seed} for g in groups],
                           with_seed=len(groups) > 1 and all(len(g) == 1 for g in groups))
        return [f"{label} ({len(g)} seeds)" if len(g) > 1 else label for label, g in zip(labels, groups)]

    def shown_runs(self) -> list[Run]:
        """Every run when they fit (at most MAX_SHOWN), else one run per group (its first seed), else the first runs."""
        if len(self.runs) <= MAX_SHOWN:
            return list(self.runs)
        groups = self.groups()
        if len(groups) > 1:
            return [g[0] for g in groups][:MAX_SHOWN]
        return self.runs[:MAX_SHOWN]

    def layout_columns(self) -> None:
        self._pending.clear()
        for col in self.columns:
            col["widget"].setParent(None)
            col["widget"].deleteLater()
        self.columns = []
        shown = self.shown_runs()
        host = self.grid_host.parentWidget() or self.grid_host
        width, height = (host.width(), host.height()) if host.width() > 200 and host.height() > 100 else (1500, 450)
        per_row = runs_per_row(len(shown), width, height, whole=self.view_choice == WHOLE_PANEL)
        color_of = self.colors()
        for i, run in enumerate(shown):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            title = QLabel()
            title.setTextFormat(Qt.RichText)
            title.setText(f"<span style='color:{color_of[id(run)]}; font-size:16pt'>■</span> "
                          f"<b style='font-size:12pt'>{html.escape(run.name)}</b>"
                          + (f" &nbsp;<span style='color:{theme.colors()['warn_fg']}'>failed: "
                             f"{html.escape(str(run.error))}</span>" if run.status == "failed" else ""))
            panel = import_object(self.lab.panel)(self.lab)
            for plot in panel.curve_plots():  # the shared plots below overlay the curves; each panel's own redraw
                plot.MIN_REDRAW_SECONDS = PANEL_CURVE_SECONDS  # less often (4 panels x 5 plots at 10/s: slow paints)
            panel.requestQuery.connect(lambda name, kw, r=run, p=panel: asyncio.ensure_future(self._query(r, p, name, kw)))
            panel.requestView.connect(run.controller.set_view)  # kept in the run (and its session), sent on
            panel.requestStep.connect(run.controller.step)
            lay.addWidget(title)
            views = panel.views()
            wanted = self.view_choice if self.view_choice in views or self.view_choice == WHOLE_PANEL \
                else panel.main_view(run.settings)
            from genviz.ui.cards import attach_cards

            attach_cards(panel)
            if wanted in views:
                # the one view, taken out of its panel (which stays, hidden, and keeps drawing into it)
                lay.addWidget(views[wanted], 1)
                panel.setParent(box)
                panel.hide()
            else:
                lay.addWidget(panel, 1)
            self.grid.addWidget(box, i // per_row, i % per_row)
            self.columns.append({"run": run, "panel": panel, "widget": box, "title": title, "view": wanted})
            if i == 0:
                self._fill_view_box(list(views), wanted)
            if len(run.history):
                panel.rebuild(run.static, run.history, run.step)
                panel.set_view_state(run.view)  # the run's own view choices (a layer, an example)
        self.refresh()

    def _fill_view_box(self, names: list[str], current: str) -> None:
        items = [*names, WHOLE_PANEL]
        self.view_box.blockSignals(True)
        if [self.view_box.itemText(j) for j in range(self.view_box.count())] != items:
            self.view_box.clear()
            self.view_box.addItems(items)
        self.view_box.setCurrentText(current)
        self.view_box.blockSignals(False)

    def choose_view(self, name: str) -> None:
        """Show the view ``name`` of every run (WHOLE_PANEL: each run's whole lab panel)."""
        if name and name != self.view_choice:
            self.view_choice = name
            self.layout_columns()
            if not self.timeline.live:
                self.show_index(self.timeline.index)

    def colors(self) -> dict[int, str]:
        """One colour per group; a run takes its group's."""
        out = {}
        for i, g in enumerate(self.groups()):
            for r in g:
                out[id(r)] = theme.CURVE_COLORS[i % len(theme.CURVE_COLORS)]
        return out

    def column_of(self, run: Run) -> dict | None:
        return next((c for c in self.columns if c["run"] is run), None)

    async def _query(self, run: Run, panel, name: str, kwargs: dict) -> None:
        if run.bridge is None:
            panel.on_query_failed(name)
            self.statusBar().showMessage("Press Play: this run's model is not loaded in a worker yet", 5000)
            return
        try:
            panel.on_reply(name, await run.bridge.ask(name, **kwargs))
        except QueryFailed as exc:
            panel.on_query_failed(name)
            self.statusBar().showMessage(str(exc), 6000)

    def toggle_play(self) -> None:
        self.play(not self.playing)

    def play(self, on: bool) -> None:
        """Every shown run trains (each on its worker) or pauses."""
        self.playing = bool(on)
        shown = self.shown_runs()
        for run in shown:
            run.snapshot_hz = min(15.0, SNAPSHOT_BUDGET_HZ / len(shown))
            run.play(self.playing)

    def _on_ready(self, run: Run) -> None:
        col = self.column_of(run)
        if col is not None:
            col["panel"].on_ready(run.static)
            if len(run.history):
                col["panel"].rebuild(run.static, run.history, run.step)

    def _on_snapshot(self, run: Run, snap, new_frame: bool) -> None:
        if self.column_of(run) is not None:
            # drawn by _draw_pending, one panel per turn of the event loop: four panels repainted in the
            # same turn would hold the GUI thread for one long paint (GUI timer lateness); rows are kept
            pending = self._pending.get(id(run))
            if pending is not None and pending[1].metrics:  # a replaced snapshot's rows still reach the curves
                self.column_of(run)["panel"].guarded("a live snapshot", self.column_of(run)["panel"].extend_curves,
                                                     pending[1].metrics, None)
            self._pending[id(run)] = (run, snap)
            if not self._draw_timer.isActive():
                self._draw_timer.start()
        if new_frame:
            self.timeline.set_steps(self.all_steps(), max(r.step for r in self.runs))

    def _draw_pending(self) -> None:
        if not self._pending:
            self._draw_timer.stop()
            return
        key = next(iter(self._pending))
        run, snap = self._pending.pop(key)
        col = self.column_of(run)
        if col is not None:
            col["panel"].take_live(snap, follow=self.timeline.live)
            self._redraws += 1

    def all_steps(self) -> list[int]:
        steps: set[int] = set()
        for run in self.shown_runs():
            steps.update(run.history.steps.tolist())
        return sorted(steps)

    # -- the shared timeline --------------------------------------------------------------------------
    def show_index(self, index: int) -> None:
        steps = self.all_steps()
        if not steps:
            return
        step = steps[max(0, min(index, len(steps) - 1))]
        for col in self.columns:
            hist = col["run"].history
            if len(hist):
                col["panel"].show_recorded(hist.frame(hist.index_at(step)))

    def show_live(self) -> None:
        for col in self.columns:
            hist = col["run"].history
            if len(hist) and (col["run"].bridge is None or not self.playing):
                col["panel"].guarded("the last step", col["panel"].show_frame, hist.frame(len(hist) - 1), True)
            col["panel"].show_recorded(None)

    # -- curves and table ------------------------------------------------------------------------------
    def metric_names(self) -> list[str]:
        names: list[str] = []
        for run in self.runs:
            for k in run.history.metrics():
                if k != "step" and k not in names:
                    names.append(k)
        return names

    def refresh(self) -> None:
        now = time.perf_counter()
        self.redraws_per_sec = self._redraws / max(1e-9, now - self._redraw_t)
        self._redraws, self._redraw_t = 0, now
        names = self.metric_names()
        # by default the series of the lab's own curve plots, in its order (a GAN's losses, a VAE's ELBO)
        preferred = [k for c in self.columns[:1] for p in c["panel"].curve_plots() for k in p.buffers if k in names]
        defaults = list(dict.fromkeys(preferred + names))
        for i, box in enumerate(self.metric_boxes):
            if [box.itemText(j) for j in range(box.count())] != names:
                current = box.currentText()
                box.blockSignals(True)
                box.clear()
                box.addItems(names)
                pick = current if current in names else (defaults[min(i, len(defaults) - 1)] if defaults else "")
                box.setCurrentText(pick)
                box.blockSignals(False)
        # one piece per event-loop turn: the plots and the table are each a few ms, together a late frame
        for i in range(len(self.plots)):
            QTimer.singleShot(4 * (i + 1), lambda i=i: self.refresh_plot(i))
        rows = (self._rows_seen(), tuple(names))
        if rows != getattr(self, "_table_seen", None):
            self._table_seen = rows
            QTimer.singleShot(4 * (len(self.plots) + 1), lambda: self.refresh_table(names))
        parts = [f"{r.name}: step {r.step:,}" + (f", {r.steps_per_sec:,.0f} steps/s" if r.bridge is not None
                                                  else " (saved; Space trains on)") for r in self.shown_runs()]
        self.status.setText("   ·   ".join(parts) + f"   ·   {self.redraws_per_sec:.0f} redraws/s")

    def _rows_seen(self) -> tuple:
        return tuple((id(r), len(r.history.metrics().get("step", ()))) for r in self.runs)

    def refresh_curves(self, force: bool = False) -> None:
        for p in range(len(self.plots)):
            self.refresh_plot(p, force)

    def refresh_plot(self, p: int, force: bool = False) -> None:
        """Plot ``p``: each group's curve (one seed) or mean and band (several). The items are made once per
        metric and group and then only given new data; nothing is done when no run has new rows."""
        plot, box = self.plots[p], self.metric_boxes[p]
        metric = box.currentText()
        seen = (self._rows_seen(), metric)
        self._seen = getattr(self, "_seen", {})
        if not force and self._seen.get(p) == seen:
            return
        self._seen[p] = seen
        groups, colors = self.groups(), self.colors()
        items = self._items = getattr(self, "_items", {})
        keys = [(p, metric, tuple(id(r) for r in g)) for g in groups]
        if [k for k in items if k[0] == p] != keys:  # another metric or other groups: new items
            plot.clear()
            for k in [k for k in items if k[0] == p]:
                del items[k]
            plot.setTitle(metric, size=theme.title_size())
            for key, g in zip(keys, groups):
                color = colors[id(g[0])]
                shade = pg.mkColor(color)
                shade.setAlpha(60)
                lo, hi = pg.PlotDataItem([], [], pen=pg.mkPen(None)), pg.PlotDataItem([], [], pen=pg.mkPen(None))
                band = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(shade))
                plot.addItem(band)
                items[key] = (plot.plot([], [], pen=pg.mkPen(color, width=2)), lo, hi, band)
        if metric:
            for key, g in zip(keys, groups):
                line, lo, hi, band = items[key]
                curves = [(m["step"], m[metric]) for m in (r.history.metrics() for r in g)
                          if metric in m and "step" in m and len(m["step"])]
                if len(curves) == 1:
                    x, y = np.asarray(curves[0][0], np.float64), np.asarray(curves[0][1], np.float64)
                    if len(x) > 2000:  # a few thousand points draw a curve as finely as the screen shows it
                        k = len(x) // 2000 + 1
                        x, y = x[::k], y[::k]
                    line.setData(x, y)
                    band.setVisible(False)
                    continue
                x, mean, std = mean_band(curves, points=400) if curves else (np.zeros(0),) * 3
                line.setData(x, mean)
                lo.setData(x, mean - std)
                hi.setData(x, mean + std)
                band.setVisible(len(x) > 0)
        if p == 0:
            self.refresh_legend()

    def refresh_legend(self) -> None:
        groups, labels, colors = self.groups(), self.group_labels(), self.colors()
        entries = [f"<span style='color:{colors[id(g[0])]}; font-size:14pt'>━</span>&nbsp;{html.escape(label)}"
                   for g, label in zip(groups, labels)]
        band = " &nbsp; (lines: the mean over seeds; bands: ± one standard deviation)" \
            if any(len(g) > 1 for g in groups) else ""
        self.legend.setText(" &nbsp;&nbsp; ".join(entries) + band)

    def refresh_table(self, names: list[str]) -> None:
        groups, labels = self.groups(), self.group_labels()
        self.table.setColumnCount(3 + len(names))
        self.table.setHorizontalHeaderLabels(["runs", "seeds", "step", *names])
        self.table.setRowCount(len(groups))
        for i, (g, label) in enumerate(zip(groups, labels)):
            finals = [last_values(r.history.metrics()) for r in g]
            cells = [label, ", ".join(str(r.seed) for r in g), f"{min(r.step for r in g):,}"]
            for name in names:
                mean, std, n = final_stats([f.get(name) for f in finals])
                if n == 0:
                    cells.append("–")
                elif std is None or std == 0:
                    cells.append(f"{mean:.4g}")
                else:
                    d = decimals_for(std)
                    cells.append(f"{mean:.{d}f} ± {std:.{d}f}")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 0:
                    item.setToolTip("final value: the mean of the last 20 recorded rows; ± the standard deviation "
                                    "over the group's seeds")
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    # -- dialogs ---------------------------------------------------------------------------------------
    def add_run_dialog(self) -> None:
        base = self.runs[0].settings if self.runs else {}
        dlg = AddRunDialog(self.lab, base, max((r.seed for r in self.runs), default=-1) + 1, self)
        if dlg.exec() and dlg.result_settings is not None:
            self.new_run(dlg.result_settings, dlg.seed.value())

    def new_run(self, settings: dict, seed: int) -> Run:
        data = self.runs[0].data if self.runs else None
        return self.add_run(Run(self.lab, settings, seed, data))

    def add_seeds_dialog(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        if not self.runs:
            return
        n, ok = QInputDialog.getInt(self, "Add seeds", "More seeds of the first run's settings:", 2, 1,
                                    MAX_RUNS - len(self.runs))
        if ok:
            self.add_seeds(n)

    def add_seeds(self, n: int) -> None:
        first = self.runs[0]
        used = {r.seed for r in self.runs}
        seed = 0
        for _ in range(n):
            while seed in used:
                seed += 1
            used.add(seed)
            self.add_run(Run(self.lab, first.settings, seed, first.data), layout=False)
        self.layout_columns()
        if self.playing:
            self.play(True)

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a comparison folder (a sweep's --out, or a saved one)")
        if folder:
            asyncio.ensure_future(self._open_folder(folder))

    async def _open_folder(self, folder: str) -> None:
        try:
            ids = pick_runs(folder, self)
        except Exception as exc:  # noqa: BLE001 - shown, nothing changes
            QMessageBox.warning(self, "genviz", f"Could not open the comparison: {exc}")
            return
        if ids is None:
            return
        self.statusBar().showMessage(f"Reading and checking {folder}…")
        try:
            loaded = await asyncio.get_event_loop().run_in_executor(None, read_compare_folder, folder, ids)
            other = open_compare(folder, loaded=loaded)
        except Exception as exc:  # noqa: BLE001 - shown, nothing changes
            self.statusBar().clearMessage()
            QMessageBox.warning(self, "genviz", f"Could not open the comparison: {exc}")
            return
        self.statusBar().clearMessage()
        other.show()

    def save_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the comparison into a folder")
        if folder:
            asyncio.ensure_future(self.save(folder))

    async def save(self, folder: str | Path) -> Path:
        """Every run's session into ``folder``/runs and the manifest that reopens them."""
        folder = Path(folder)
        (folder / "runs").mkdir(parents=True, exist_ok=True)
        entries = []
        loop = asyncio.get_event_loop()
        for i, run in enumerate(self.runs):
            name = f"runs/run{i:03d}.genviz"
            session = await run.session()
            await loop.run_in_executor(None, save_session, session, folder / name)
            entries.append({"id": f"run{i:03d}", "session": name, "varied": dict(run.settings), "seed": run.seed,
                            "data": run.data, "status": run.status, "error": run.error,
                            "metrics": last_values(run.history.metrics())})
        save_manifest(folder, self.lab.name, entries, title=self.windowTitle().split(": ", 1)[-1])
        self.statusBar().showMessage(f"Saved {len(entries)} runs to {folder}", 5000)
        return folder

    def export_dialog(self, fmt: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export the runs side by side as {fmt.upper()}",
                                              f"compare.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if path:
            try:
                self.export(path)
            except Exception as exc:  # noqa: BLE001 - shown
                QMessageBox.warning(self, "genviz", f"Could not export: {exc}")

    def export(self, path: str | Path, max_frames: int = 120, fps: int = 8) -> Path:
        """The runs side by side with their labels: a PNG of now, or a GIF over the shared timeline."""
        from genviz.ui.export import ExportError, flush_views, image_rgb, stamp_step, write_gif

        path = Path(path)
        for col in self.columns:
            flush_views(col["panel"])
        from genviz.ui.cards import hidden_buttons

        if path.suffix.lower() == ".png":
            with hidden_buttons(self.grid_host):
                image = self.grid_host.grab()
            if not image.save(str(path), "PNG"):
                raise ExportError(f"could not write {path}")
            return path
        if path.suffix.lower() != ".gif":
            raise ExportError(f"a comparison exports as .png or .gif, not '{path.suffix}'")
        steps = self.all_steps()
        if not steps:
            raise ExportError("no run has recorded snapshots yet")
        picks = sorted(set(np.linspace(0, len(steps) - 1, min(max_frames, len(steps))).round().astype(int).tolist()))

        def frames():  # one at a time, straight into the GIF writer's palette images
            for i in picks:
                self.show_index(i)
                for col in self.columns:
                    flush_views(col["panel"])
                with hidden_buttons(self.grid_host):
                    image = self.grid_host.grab().toImage()
                stamp_step(image, steps[i])
                yield image_rgb(image)

        try:
            write_gif(frames(), path, fps)
        finally:
            if self.timeline.live:
                self.show_live()
        return path

    def closeEvent(self, event) -> None:
        self._timer.stop()
        for run in self.runs:
            run.close()
        self.closed.emit()
        super().closeEvent(event)


def check_sessions(paths: list[str], labs: tuple[str, ...]) -> dict[str, str]:
    """{path: why} for the sessions whose frames their lab cannot draw (``genviz.core.runner.session_problem``),
    checked in a process of its own: building the runs needs torch, which the GUI never imports."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from genviz.core.runner import check_session_files

    if not paths:
        return {}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(check_session_files, list(paths), labs).result()


def read_compare_folder(folder: str | Path, ids: list[str] | None = None) -> tuple[dict, list[Session | None]]:
    """A comparison folder's manifest (its runs cut to ``ids`` when given, else to the first MAX_RUNS) and each
    run's session (None for a failed run), every session read and its frames checked against its lab's before
    any is drawn: CompareError says which run and why. No Qt: a window calls it off its GUI thread."""
    from genviz.core.compare import CompareError

    labs = all_labs()
    manifest = load_manifest(folder, tuple(labs))
    lab = labs[manifest["lab"]]
    if ids is not None:
        wanted = set(ids)
        manifest["runs"] = [e for e in manifest["runs"] if e.get("id") in wanted]
    manifest["runs"] = manifest["runs"][:MAX_RUNS]
    sessions: list[Session | None] = []
    for entry in manifest["runs"]:
        if entry["session"] is None or entry["status"] == "failed":
            sessions.append(None)
            continue
        session = load_session(entry["session"], tuple(labs))
        if session.lab != lab.name:
            raise CompareError(f"{entry['session']} is a {session.lab} session in a {lab.name} comparison")
        sessions.append(session)
    problems = check_sessions([e["session"] for e, s in zip(manifest["runs"], sessions) if s is not None], tuple(labs))
    if problems:
        path, why = next(iter(problems.items()))
        raise CompareError(f"{path}: {why}")
    return manifest, sessions


def run_label(entry: dict) -> str:
    """One line for a run of a manifest: id, the settings it varies, seed, status and a final figure or two."""
    varied = ", ".join(f"{k}={v}" for k, v in (entry.get("varied") or {}).items())
    metrics = entry.get("metrics") or {}
    figures = ", ".join(f"{k} {v:.4g}" for k, v in list(metrics.items())[:40]
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("steps", "seed"))[:80]
    return (f"{entry.get('id', '?')} · {varied or 'defaults'} · seed {entry.get('seed')} · {entry.get('status')}"
            + (f" · {figures}" if figures else ""))


class RunPicker(QDialog):
    """A sweep of more runs than a comparison holds: the user ticks up to MAX_RUNS of them (a filter narrows the
    list; the first MAX_RUNS, whole seed groups, are ticked to begin with)."""

    def __init__(self, entries: list[dict], parent=None):
        from PySide6.QtWidgets import QListWidget, QListWidgetItem

        super().__init__(parent)
        self.setWindowTitle(f"Choose up to {MAX_RUNS} of {len(entries):,} runs")
        self.entries = entries
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: a setting, a value, a seed, a status…")
        self.list = QListWidget()
        for i, entry in enumerate(entries):
            item = QListWidgetItem(run_label(entry))
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if i < MAX_RUNS else Qt.Unchecked)
            item.setData(Qt.UserRole, entry.get("id"))
            self.list.addItem(item)
        self.count = QLabel()
        self.count.setTextFormat(Qt.PlainText)
        heading = QLabel(f"This folder holds {len(entries):,} runs; a comparison shows up to {MAX_RUNS}. Tick the "
                         "runs to open (the first ones, whole seed groups, are ticked).")
        heading.setTextFormat(Qt.PlainText)
        heading.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (heading, self.filter, self.list, self.count, self.buttons):
            layout.addWidget(w)
        self.filter.textChanged.connect(self._filter)
        self.list.itemChanged.connect(lambda _: self._update())
        self.resize(900, 600)
        self._update()

    def _filter(self, text: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(text) and text.lower() not in item.text().lower())

    def chosen(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.Checked]

    def _update(self) -> None:
        n = len(self.chosen())
        self.count.setText(f"{n} chosen (at most {MAX_RUNS})")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(0 < n <= MAX_RUNS)


def pick_runs(folder: str | Path, parent=None) -> list[str] | None:
    """The runs to open from ``folder``: all of them when they fit, else the user's choice (None: cancelled)."""
    manifest = load_manifest(folder, tuple(all_labs()))
    if len(manifest["runs"]) <= MAX_RUNS:
        return [e.get("id") for e in manifest["runs"]]
    picker = RunPicker(manifest["runs"], parent)
    return picker.chosen() if picker.exec() == QDialog.Accepted else None


def open_compare(folder: str | Path, parent=None, loaded: tuple | None = None) -> CompareWindow:
    """A comparison folder (a sweep's output or a saved comparison) in a compare window. Runs that failed
    are listed with their error; their sessions are not read. ``loaded``: what ``read_compare_folder`` returned
    (a window reads the folder off its GUI thread first)."""
    manifest, sessions = loaded or read_compare_folder(folder)
    lab = all_labs()[manifest["lab"]]
    runs = []
    for entry, session in zip(manifest["runs"], sessions):
        if session is None:
            try:
                settings = resolve(lab.settings, entry["varied"])
            except SettingError:
                settings = dict(entry["varied"])
            runs.append(Run(lab, settings, entry["seed"], status="failed", error=entry.get("error") or "failed"))
            continue
        runs.append(Run.from_session(session))
    return CompareWindow(lab, runs, title=manifest["title"] or Path(manifest["folder"]).name, parent=parent)
