"""Base class of every lab's panel: it renders snapshots and never touches the model."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from genviz.ui import theme
from genviz.ui.plots import settle

# views are drawn this far apart: more than the 5 ms by which Qt's platform window delays a repaint
# (QPlatformWindow::requestUpdate), so each view paints on its own instead of two or three views
# painting in one turn (measured under load: the late GUI timer ticks were such merged paints)
VIEW_GAP_MS = 7


def column(*items) -> QWidget:
    """A widget stacking ``items`` top to bottom without margins: widgets, layouts, or
    (widget, stretch) pairs."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    for item in items:
        item, stretch = item if isinstance(item, tuple) else (item, 0)
        lay.addWidget(item, stretch) if isinstance(item, QWidget) else lay.addLayout(item)
    return box


def row(*widgets, stretch_end: bool = True) -> QHBoxLayout:
    """Widgets side by side without margins, pushed to the left unless ``stretch_end`` is False."""
    lay = QHBoxLayout()
    lay.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        lay.addWidget(w) if isinstance(w, QWidget) else lay.addLayout(w)
    if stretch_end:
        lay.addStretch(1)
    return lay


def view_name(title: str) -> str:
    """A plot title as a command-line name, up to its first formula or aside:
    'Decoded manifold  p(x|z), z = ...' -> 'decoded-manifold'."""
    import re

    text = re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", " · ", title)).lower()
    words = re.split(r"[(:—·|,=\[]", text)[0].split()
    while len(words) > 1 and len(words[-1]) == 1:  # 'Decoded manifold p_θ(...)': the p goes too
        words.pop()
    text = " ".join(words)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "view"


class LabPanel(QWidget):
    """The template every lab's panel fills in. A lab implements four steps:

    - ``on_ready(static)``: a (re)built experiment's static info (data samples, shapes);
    - ``extend_curves(rows, frame)``: append metric rows (columns ``{"step": [...], name: [...]}``)
      and, when ``frame`` is given, the curve points derived from its data (a test NLL, modes
      covered) to the curves. Called for every live snapshot and for every recorded frame of a
      rebuild, in training order, so curves never depend on what was drawn;
    - ``show_frame(frame, live)``: draw the views from ``frame.data``. ``live`` is False for a
      recorded frame shown by the timeline (the model has moved on: fetch nothing from it);
    - ``clear()``: empty every view and curve.

    The window and the history call the template methods: :meth:`take_live` (a live snapshot;
    ``follow`` False while the timeline shows the past: only the curves grow), :meth:`show_recorded` (the
    timeline shows a recorded frame), :meth:`rebuild` (a resume, an opened session, a headless
    export) and :meth:`flush` (draw queued views now, e.g. before an export grabs the panel).
    ``redraws`` counts rendered snapshots (the status line turns it into fps).

    A view drawn at every frame asks :meth:`unchanged` first: at a fixed point (EM, coordinate ascent) or a paused
    run, frames repeat what is on screen, and drawing it again costs the GUI thread for nothing. What ``unchanged``
    remembers is forgotten whenever the lab's ``clear`` or ``on_ready`` runs (a new run, a reset, a rebuild), so
    the first frame after them is always drawn."""

    statusMessage = Signal(str)
    # ask the window to change settings (and Reset when some only apply then): presets, drawn data
    requestSettings = Signal(dict, bool)
    # ask the worker something between training steps: name, kwargs; the window answers via on_reply.
    # A query never changes training: what does is a partial step (Experiment.PARTS), asked with requestStep
    requestQuery = Signal(str, dict)
    # n of the lab's partial steps: part, args (the GAN's D step): counted, recorded and checkpointed
    requestStep = Signal(int, str, dict)
    # a view-only choice (Experiment.VIEW: name, value): snapshots show it, training ignores it
    requestView = Signal(str, object)
    # drawing failed (data a view cannot show, e.g. a session's frames of another version): message,
    # traceback; said once per kind of failure, not for every snapshot
    drawFailed = Signal(str, str)
    # a frame was drawn: its data, its step, and whether it is the live one (False: the timeline's step). Cards with
    # live numbers (genviz.ui.cards.LiveNumbers) take their values from it
    frameShown = Signal(object, int, bool)

    # the view that shows the lab's lesson at a glance (a name of ``views()``): the compare view shows it for
    # each run side by side
    MAIN_VIEW = ""

    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.lab = lab
        self.redraws = 0
        self._pending_views: list = []
        self._later: dict[str, tuple[float, object]] = {}  # at_most: key -> (seconds, the newest draw waiting)
        self._last_at: dict[str, float] = {}
        self._failures: set = set()
        self.failures: list[str] = []  # what drawing could not do, said once each (drawFailed)
        self.shown: tuple | None = None  # (data, step, live) of the frame on show (frameShown)
        self._live_shown: tuple | None = None
        self._drawn: dict = {}  # unchanged: key -> the values last drawn
        # a banner for what the lecturer must notice (posterior collapse, lost modes), hidden until used
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.hide()
        self.style_warning()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("clear", "on_ready"):  # a lab's own clear / on_ready forgets what was drawn, first
            if name in cls.__dict__:
                setattr(cls, name, _forgetting(cls.__dict__[name]))

    def unchanged(self, key, *values) -> bool:
        """Whether ``values`` (arrays, numbers, strings, None, tuples of them) equal those the last call with ``key``
        gave, i.e. the view they draw shows them already; if not, they are remembered (arrays copied) for the next
        call and False is returned: draw them. ``key`` names one view or one part of it (its colours)."""
        seen = self._drawn.get(key)
        if seen is not None and len(seen) == len(values) and all(map(_same_value, seen, values)):
            return True
        self._drawn[key] = tuple(_kept(v) for v in values)
        return False

    def forget_drawn(self) -> None:
        """Forget what :meth:`unchanged` remembers: every view is drawn at its next frame."""
        self._drawn = {}

    def restyle(self) -> None:
        """The theme changed (View ▸ Theme): set the colours the panel chose itself (pens, brushes, style
        sheets) from ``theme.colors()``. Plots made with ``genviz.ui.plots`` restyle on their own."""

    def set_kept_models(self, kept: dict[str, tuple[str, int]]) -> None:
        """Models the window kept from labs the user left (lab -> (model file, step)), for a lab that
        explores another lab's model (``LabInfo.model_from``)."""

    def style_warning(self) -> None:
        c = theme.colors()
        self.warning.setStyleSheet(f"background: {c['warn_bg']}; color: {c['warn_fg']}; padding: 8px;"
                                   "font-weight: 600; border-radius: 4px;")

    def arrange(self, top: QWidget, bottom: QWidget, heights: tuple[int, int] = (600, 300)) -> None:
        """The layout every lab shares: the warning banner, then views over curves in a splitter."""
        rows = QSplitter(Qt.Vertical)
        rows.addWidget(top)
        rows.addWidget(bottom)
        rows.setSizes(list(heights))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.warning)
        outer.addWidget(rows, 1)

    def preset_box(self, presets: dict[str, dict], keep: tuple[str, ...] = ()) -> QComboBox:
        """A 'Preset…' menu: picking one resets the lab with its settings over the defaults (the
        settings named in ``keep``, such as the current data, stay as they are)."""
        box = QComboBox()
        box.addItem("Preset…")
        box.addItems(list(presets))
        box.setFocusPolicy(Qt.NoFocus)

        def picked(index: int) -> None:
            name = box.itemText(index)
            if name in presets:
                defaults = {s.name: s.default for s in self.lab.settings if s.name not in keep}
                self.requestSettings.emit({**defaults, **presets[name]}, True)
                self.statusMessage.emit(f"preset: {name}")
            box.setCurrentIndex(0)

        box.activated.connect(picked)
        return box

    def draw_in_turns(self, draws: list) -> None:
        """Run view updates one per event-loop turn (``VIEW_GAP_MS`` apart), so each view repaints on its own
        and no single frame blocks the GUI for the sum of them all; a newer list replaces an older."""
        self._pending_views = list(draws)
        QTimer.singleShot(VIEW_GAP_MS, self._draw_next_view)

    def guarded(self, what: str, draw, *args) -> None:
        """Run ``draw(*args)``; a failure is reported once (``drawFailed``) and drawing goes on."""
        try:
            draw(*args)
            settle(self)
        except Exception as exc:
            import traceback

            key = (what, type(exc).__name__)
            if key not in self._failures:
                self._failures.add(key)
                text = f"The {self.lab.title} lab could not draw {what}: {type(exc).__name__}: {str(exc)[:200]}"
                self.failures.append(text)
                self.drawFailed.emit(text, traceback.format_exc())

    def _draw_next_view(self) -> None:
        if self._pending_views:
            self.guarded("a view", self._pending_views.pop(0))
        if self._pending_views:
            QTimer.singleShot(VIEW_GAP_MS, self._draw_next_view)

    def queue_view(self, draw) -> None:
        """One more view update after those queued (its own event-loop turn)."""
        self._pending_views.append(draw)
        if len(self._pending_views) == 1:
            QTimer.singleShot(VIEW_GAP_MS, self._draw_next_view)

    @property
    def drawing(self) -> bool:
        """Whether views queued by :meth:`draw_in_turns` are still to be drawn."""
        return bool(self._pending_views)

    def at_most(self, key: str, seconds: float, draw) -> None:
        """Run ``draw()`` now if the draw of ``key`` last ran ``seconds`` ago or more, else once that time
        has passed (the newest ``draw`` of the key wins). For what changes at every frame but is read
        at a glance (a step count in a plot's title re-lays the plot at each new text: 3-8 ms, 12 times a
        second in the families lab, measured)."""
        now = time.perf_counter()
        wait = self._last_at.get(key, -1e9) + seconds - now
        if wait <= 0:
            self._later.pop(key, None)
            self._last_at[key] = now
            self.guarded(key, draw)
            return
        if key not in self._later:
            QTimer.singleShot(int(wait * 1000) + 1, self._run_due)
        self._later[key] = (seconds, draw)

    def _run_due(self) -> None:
        now = time.perf_counter()
        waits = []
        for key, (seconds, draw) in list(self._later.items()):
            wait = self._last_at.get(key, -1e9) + seconds - now
            if wait <= 0.002:
                del self._later[key]
                self._last_at[key] = now
                self.guarded(key, draw)
            else:
                waits.append(wait)
        if waits:  # a coarse timer may fire early
            QTimer.singleShot(int(min(waits) * 1000) + 1, self._run_due)

    def flush(self) -> None:
        """Draw every queued view now, and what ``at_most`` holds back (exports and benchmarks need the
        finished picture)."""
        while self._pending_views:
            self.guarded("a view", self._pending_views.pop(0))
        later, self._later = self._later, {}
        for key, (_, draw) in later.items():
            self._last_at[key] = time.perf_counter()
            self.guarded(key, draw)

    def cancel_drawing(self) -> None:
        self._pending_views = []
        self._later = {}

    def curve_plots(self) -> list:
        """The panel's curve plots (looked up once: a panel builds its plots in ``__init__``)."""
        from genviz.ui.plots import CurvePlot

        if getattr(self, "_curve_plots", None) is None:
            self._curve_plots = self.findChildren(CurvePlot)
        return self._curve_plots

    @staticmethod
    def name_views(views: dict) -> None:
        """Give plots the stable names that export files and ``genviz export --view`` use (a title
        may hold a formula or the step; a name never changes)."""
        for name, widget in views.items():
            widget.setObjectName(name)

    def views(self, every: bool = False) -> dict:
        """The panel's plots by title (what View ▸ Export and ``genviz export --view`` name); a view the lab marked
        as not applying to the run's settings (:meth:`set_view_applies`: the flow beside the main one when there is
        none) is left out, unless ``every`` (the contract's check that every view has a card)."""
        import pyqtgraph as pg

        out = {}
        for w in self.findChildren(pg.PlotWidget):
            if not every and w.property("genviz_applies") is False:
                continue
            # a stable name set by the lab (``name_views``); else one made from the title
            name = w.objectName() or view_name(w.getPlotItem().titleLabel.text or type(w).__name__)
            while name in out:
                name += "-2"
            out[name] = w
        return out

    @staticmethod
    def set_view_applies(view, applies: bool) -> None:
        """Show a view only where it applies to the run's settings; one that does not is hidden and is no view to
        export (:meth:`views`)."""
        view.setProperty("genviz_applies", bool(applies))
        view.setVisible(bool(applies))

    # the experiments a paged panel shows one page each for (the ``experiment`` setting's values)
    PAGES: tuple[str, ...] = ()

    def main_view(self, settings: dict) -> str:
        """The name of the main view for a run of these ``settings`` (see MAIN_VIEW)."""
        return self.MAIN_VIEW

    def showEvent(self, event) -> None:
        if not getattr(self, "_cards_attached", False):  # the ℹ on every view, once the lab's views exist
            self._cards_attached = True
            from genviz.ui.cards import attach_cards

            attach_cards(self)
        super().showEvent(event)

    # -- the template: what the window calls ---------------------------------------------------------
    def take_live(self, snap, follow: bool = True) -> None:
        """A live :class:`~genviz.core.protocol.Snapshot`: its rows (and data-derived points) join
        the curves; its views are drawn unless the timeline shows the past (``follow`` False)."""
        self.guarded("a live snapshot", self._take_live, snap, follow)

    def _take_live(self, snap, follow: bool) -> None:
        frame = snap.frame
        self.extend_curves(snap.metrics or {}, frame)
        if follow and frame is not None:
            self.show_frame(frame, live=True)
        if frame is not None and frame.heavy and frame.data:
            self._live_shown = (frame.data, frame.step, True)
            if follow:
                self._note_shown(*self._live_shown)
        # the first changed curve plot now, the others one per event-loop turn after the views, so
        # no single turn pays for every plot (GUI timer lateness); a plot whose turn a newer
        # snapshot replaced is still marked changed and redrawn then
        changed = [p for p in self.curve_plots() if p.changed]
        if changed:
            changed[0].redraw_if_changed()
            for plot in changed[1:]:
                self.queue_view(plot.redraw_if_changed)
        self.redraws += 1

    def show_recorded(self, frame) -> None:
        """The timeline shows a recorded frame (its step marked on the curves); ``None``: back to
        live (the markers go)."""
        self.guarded(f"the recorded step {frame.step:,}" if frame is not None else "the live view",
                     self._show_recorded, frame)

    def _show_recorded(self, frame) -> None:
        if frame is not None:
            self.show_frame(frame, live=False)
            self._note_shown(frame.data, frame.step, False)
        elif self._live_shown is not None:
            self._note_shown(*self._live_shown)
        for plot in self.curve_plots():
            plot.set_marker(None if frame is None else frame.step)

    def rebuild(self, static: dict, history, until: int) -> None:
        """The panel as it was at step ``until``: cleared, then fed the recorded history (its metric
        rows, each frame's curve points), then the last frame drawn."""
        self._failures.clear()
        self.guarded("the recorded history", self._rebuild, static, history, until)

    def _rebuild(self, static: dict, history, until: int) -> None:
        from genviz.ui.plots import deferred_redraws

        self.clear()
        self.on_ready(static)
        frames = history.frames_until(until)
        with deferred_redraws():
            self.extend_curves(history.metrics(until), None)
            for frame in frames:
                self.extend_curves({}, frame)
            self.redraw_curves()
        if frames:
            self.show_frame(frames[-1], live=True)
            self._live_shown = (frames[-1].data, frames[-1].step, True)
        self.show_recorded(None)

    def _note_shown(self, data, step: int, live: bool) -> None:
        self.shown = (data, int(step), bool(live))
        self.frameShown.emit(data, int(step), bool(live))

    # -- highlights: a card's term shows what it draws ----------------------------------------------------
    def highlight(self, target: str, on: bool) -> None:
        """Highlight what ``target`` ("view" or "view#element", a card term's target) names, or take the highlight
        off. An element the lab knows (``highlight_element``) is drawn its way; a curve plot's series is drawn
        thicker; anything else outlines its view."""
        name, _, element = target.partition("#")
        view = self.views().get(name)
        if view is None:
            return
        if element and self.guarded_bool(self.highlight_element, name, element, on):
            return
        from genviz.ui.plots import BarPlot, CurvePlot

        if element and isinstance(view, CurvePlot) and element in view.curves:
            view.emphasize(element, on)
            return
        if element.isdigit() and isinstance(view, BarPlot):
            view.emphasize(int(element), on)
            return
        outline(view, on)

    def highlight_element(self, view: str, element: str, on: bool) -> bool:
        """Highlight ``element`` of the panel's ``view`` (a lab's own: a bar, a layer, a row); False when the lab
        has no such element (the view is outlined instead)."""
        return False

    def guarded_bool(self, fn, *args) -> bool:
        try:
            return bool(fn(*args))
        except Exception:
            return False

    def redraw_curves(self) -> None:
        for plot in self.curve_plots():
            plot.redraw_if_changed()

    # -- the steps a lab implements ----------------------------------------------------------------------
    def on_ready(self, info: dict) -> None:
        raise NotImplementedError

    def extend_curves(self, rows: dict, frame) -> None:
        raise NotImplementedError

    def show_frame(self, frame, live: bool) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def set_view_state(self, view: dict) -> None:
        """An opened session's view choices: put the controls that make them where they were."""

    def on_state(self, running: bool) -> None:
        """Training started (True) or stopped (False): panels may use idle time to prefetch views."""

    def on_reply(self, name: str, value) -> None:
        """The worker's answer to a ``requestQuery``."""

    def on_query_failed(self, name: str) -> None:
        """A ``requestQuery`` got no answer (the window has shown why, or the model was replaced)."""


def _forgetting(method):
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self._drawn = {}
        return method(self, *args, **kwargs)

    return wrapper


def _arraylike(value) -> bool:
    import numpy as np

    return isinstance(value, np.ndarray) or hasattr(value, "__array__") and not isinstance(value, (int, float, str))


def _kept(value):
    """A value as :meth:`LabPanel.unchanged` keeps it: arrays (also in tuples) copied, so a caller that later
    changes its array in place cannot make it look unchanged."""
    import numpy as np

    if isinstance(value, (tuple, list)):
        return tuple(_kept(v) for v in value)
    return np.array(value, copy=True) if _arraylike(value) else value


def _same_value(kept, new) -> bool:
    import numpy as np

    if isinstance(kept, tuple):
        return isinstance(new, (tuple, list)) and len(kept) == len(new) and all(map(_same_value, kept, new))
    if _arraylike(kept) or _arraylike(new):
        if not (_arraylike(kept) and _arraylike(new)):
            return False
        new = np.asarray(new)
        return kept.shape == new.shape and kept.dtype.kind == new.dtype.kind and bool(np.array_equal(kept, new))
    numbers = isinstance(kept, (int, float)) and isinstance(new, (int, float))
    return (numbers or type(kept) is type(new)) and bool(kept == new)


def outline(view: QWidget, on: bool) -> None:
    """A frame in the theme's accent colour around ``view`` (mouse events pass through it), or none."""
    from PySide6.QtWidgets import QFrame

    frame = view.findChild(QFrame, "genviz-highlight")
    if frame is None:
        if not on:
            return
        frame = QFrame(view)
        frame.setObjectName("genviz-highlight")
        frame.setAttribute(Qt.WA_TransparentForMouseEvents)
    frame.setStyleSheet(f"QFrame#genviz-highlight {{ border: 4px solid {theme.colors()['accent']}; "
                        "background: transparent; border-radius: 4px; }")
    frame.setGeometry(view.rect())
    frame.setVisible(on)
    frame.raise_()


class PagedPanel(LabPanel):
    """A lab whose setting ``experiment`` picks one of several experiments, each with its own views
    (a page above) and its own curves (a page below), and one rich-text readout between them. A subclass
    builds its pages in ``build_pages`` with ``add_page(views, curves)``, in the order of ``PAGES``."""

    MAIN_VIEWS: dict[str, str] = {}  # per experiment, its main view (LabPanel.MAIN_VIEW)

    def __init__(self, lab, parent=None):
        super().__init__(lab, parent)
        from PySide6.QtWidgets import QStackedWidget

        self.static: dict = {}
        self.pages = QStackedWidget()
        self.curve_pages = QStackedWidget()
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)
        self.build_pages()
        self.arrange(self.pages, column(self.readout, (self.curve_pages, 1)), (560, 340))

    def main_view(self, settings: dict) -> str:
        return self.MAIN_VIEWS.get(settings.get("experiment", self.PAGES[0] if self.PAGES else ""), "")

    def build_pages(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def add_page(self, views: QWidget, curves: QWidget) -> None:
        self.pages.addWidget(views)
        self.curve_pages.addWidget(curves)

    def select_page(self, experiment: str) -> None:
        i = self.PAGES.index(experiment)
        self.pages.setCurrentIndex(i)
        self.curve_pages.setCurrentIndex(i)

    def extend_page_curves(self, rows: dict) -> None:
        """The metric rows into the curves of the page on show (each plot takes the series it names)."""
        if "step" not in rows:
            return
        plot = self.curve_pages.currentWidget()
        for key in plot.buffers:
            if key in rows:
                plot.append(key, rows["step"], rows[key])
