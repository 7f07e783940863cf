"""The compare view: 2-4 runs of one lab side by side, one timeline for all, their curves overlaid.

Runs are the window's current run, saved sessions, runs of a sweep's folder, or new runs that differ in
settings or seed; each run is a run model and its controller, as the main window's (``compare_run.Run``), and
each new (or continued) run trains on a worker process of its own. Runs that share their settings and differ
only in the seed form a group: the shared plots draw the group's mean with a band of ± one standard deviation
over its seeds, and the table gives each group's final metrics as mean ± std (``compare_curves``). Panels show
one run of each group (at most four); every run of a group enters its curves.

Only rendering and commands here: the comparing itself (labels, groups, bands, the folder's manifest)
is ``genviz.core.compare``."""
from __future__ import annotations

import asyncio
import html
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QScrollArea, QSplitter, QVBoxLayout, QWidget)

from genviz.core.compare import (MAX_RUNS, MAX_SHOWN, differing, last_values, read_compare_folder, save_manifest,
                                 seed_groups)
from genviz.core.labs import LabInfo, all_labs, import_object
from genviz.core.session import save_session
from genviz.core.settings import SettingError, resolve
from genviz.ui import theme
from genviz.ui.compare_curves import CompareCurves
from genviz.ui.compare_folder import read_folder
from genviz.ui.compare_run import AddRunDialog, Run
from genviz.ui.engine_bridge import QueryFailed
from genviz.ui.timeline import Timeline
from genviz.ui.widgets import add_actions

SNAPSHOT_BUDGET_HZ = 26.0  # snapshots per second for all shown runs together (each its share, 6.5-15/s)
PANEL_CURVE_SECONDS = 0.5
WHOLE_PANEL = "the whole lab panel"


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
        self.folder: Path | None = None  # the comparison folder it was opened from (parallel coordinates read it)
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
        self.curves = CompareCurves(self)
        scroll = QScrollArea()  # lab panels have their minimum sizes: four may not fit a small screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(self.grid_host)
        split = QSplitter(Qt.Vertical)
        split.addWidget(scroll)
        split.addWidget(self.curves)
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
            "&View": [("Parallel coordinates…", "Ctrl+Shift+P", self.show_parallel)],
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
                          + (f" &nbsp;<span style='color:{theme.colors()['warn_fg']}'>"
                             f"{'failed: ' if run.status == 'failed' else ''}{html.escape(str(run.error))}</span>"
                             if run.status in ("failed", "recorded") else ""))
            if run.status == "recorded":
                title.setToolTip("This run trained a model of your own code: the comparison shows what it recorded "
                                 "and never runs code from a folder. Open its session in the main window to train it.")
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
                views[wanted].show()  # a view taken out of a QStackedWidget's page was hidden by it (autoregressive)
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
        if self.runs:  # the recorded frames are there to scrub before anything trains (a sweep's folder)
            self.timeline.set_steps(self.all_steps(), max(r.step for r in self.runs))
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
    def refresh(self) -> None:
        now = time.perf_counter()
        self.redraws_per_sec = self._redraws / max(1e-9, now - self._redraw_t)
        self._redraws, self._redraw_t = 0, now
        self.curves.refresh()
        parts = [f"{r.name}: step {r.step:,}" + (f", {r.steps_per_sec:,.0f} steps/s" if r.bridge is not None
                                                  else " (saved; Space trains on)" if r.trainable
                                                  else f" ({r.status})") for r in self.shown_runs()]
        self.status.setText("   ·   ".join(parts) + f"   ·   {self.redraws_per_sec:.0f} redraws/s")

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
            loaded = await read_folder(folder, self, self.statusBar().showMessage)
            other = open_compare(folder, loaded=loaded) if loaded is not None else None
        except Exception as exc:  # noqa: BLE001 - shown, nothing changes
            QMessageBox.warning(self, "genviz", f"Could not open the comparison: {exc}")
            return
        finally:
            self.statusBar().clearMessage()
        if other is not None:
            other.show()

    def parallel_manifest(self) -> dict:
        """The runs as a comparison manifest for parallel coordinates: a folder's own (all its runs, also those not
        shown here) when this view was opened from one, else these runs with their final metrics."""
        if self.folder is not None:
            from genviz.core.compare import load_manifest

            return load_manifest(self.folder, tuple(all_labs()))
        runs = [{"id": f"run{i:03d}", "varied": dict(r.settings), "seed": r.seed, "status": r.status,
                 "metrics": last_values(r.history.metrics())} for i, r in enumerate(self.runs)]
        return {"lab": self.lab.name, "title": self.windowTitle(), "runs": runs}

    def show_parallel(self):
        from genviz.safeio import InputError
        from genviz.ui.parallel import ParallelWindow

        try:
            window = ParallelWindow(self.parallel_manifest(), title=self.windowTitle().split(": ", 1)[-1], parent=self)
        except InputError as exc:
            self.statusBar().showMessage(f"Could not read the comparison: {exc}", 8000)
            return None
        window.setWindowFlag(Qt.Window)
        window.show()
        self.parallel_window = window
        return window

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
    window = CompareWindow(lab, runs, title=manifest["title"] or Path(manifest["folder"]).name, parent=parent)
    window.folder = Path(folder)
    return window
