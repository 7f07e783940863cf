"""Base class of every lab's panel: it renders snapshots and never touches the model."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from genviz.ui import theme


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


def records(snap: dict) -> bool:
    """Whether a snapshot's data-derived curve points (test NLL, modes...) are new: a snapshot
    replayed from the history (``replay``) is drawn but not appended to the curves again."""
    return not snap.get("replay")


def draws(snap: dict) -> bool:
    """Whether a snapshot's views are drawn: while the timeline shows the past, live snapshots
    (``draw`` False) only extend the curves."""
    return snap.get("draw", True)


def view_name(title: str) -> str:
    """A plot title as a command-line name, up to its first formula or aside:
    'Decoded manifold  p(x|z), z = ...' -> 'decoded-manifold'."""
    import re

    text = re.sub(r"<[^>]+>", "", title).lower()
    words = re.split(r"[(:—·|,=\[]", text)[0].split()
    while len(words) > 1 and len(words[-1]) == 1:  # 'Decoded manifold p_θ(...)': the p goes too
        words.pop()
    text = " ".join(words)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "view"


class LabPanel(QWidget):
    """Subclasses implement ``on_ready`` (static info after a (re)build), ``on_snapshot`` and
    ``clear``. ``redraws`` counts rendered snapshots (the status line turns it into fps).

    ``on_snapshot`` honours two flags (see :func:`records`, :func:`draws`): the timeline replays
    recorded snapshots with ``replay`` and sends live ones with ``draw`` False while it is scrubbed."""

    statusMessage = Signal(str)
    # ask the window to change settings (and Reset when some only apply then): presets, drawn data
    requestSettings = Signal(dict, bool)
    # ask the worker something between training steps: name, kwargs; the window answers via on_reply
    requestQuery = Signal(str, dict)

    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.lab = lab
        self.redraws = 0
        self._pending_views: list = []
        # a banner for what the lecturer must notice (posterior collapse, lost modes), hidden until used
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.hide()
        self.style_warning()

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
        """Run view updates one per event-loop turn (2 ms apart), so each view repaints on its own
        and no single frame blocks the GUI for the sum of them all; a newer list replaces an older."""
        self._pending_views = list(draws)
        QTimer.singleShot(2, self._draw_next_view)

    def _draw_next_view(self) -> None:
        if self._pending_views:
            self._pending_views.pop(0)()
        if self._pending_views:
            QTimer.singleShot(2, self._draw_next_view)

    def curve_plots(self) -> list:
        from genviz.ui.plots import CurvePlot

        return self.findChildren(CurvePlot)

    def views(self) -> dict:
        """The panel's plots by title (what View ▸ Export and ``genviz export --view`` name)."""
        import pyqtgraph as pg

        out = {}
        for w in self.findChildren(pg.PlotWidget):
            title = w.getPlotItem().titleLabel.text or type(w).__name__
            name = view_name(title)
            while name in out:
                name += "-2"
            out[name] = w
        return out

    def show_recorded(self, snap: dict | None) -> None:
        """Draw a snapshot from the history (a ``replay`` one) and mark its step on the curves;
        ``None`` removes the markers (back to live)."""
        if snap is not None:
            self.on_snapshot(snap)
        for plot in self.curve_plots():
            plot.set_marker(None if snap is None else snap["step"])

    def rebuild(self, static: dict, history, until: int) -> None:
        """The panel as it was at step ``until``: cleared, then fed the recorded history (a resume,
        an opened session, a headless export)."""
        from genviz.ui.plots import deferred_redraws

        self.clear()
        self.on_ready(static)
        with deferred_redraws():
            for snap in history.replay_snapshots(until):
                self.on_snapshot(snap)
        self.show_recorded(None)

    def on_ready(self, info: dict) -> None:
        raise NotImplementedError

    def on_snapshot(self, snap: dict) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def on_state(self, running: bool) -> None:
        """Training started (True) or stopped (False): panels may use idle time to prefetch views."""

    def on_reply(self, name: str, value) -> None:
        """The worker's answer to a ``requestQuery``."""

    def on_query_failed(self, name: str) -> None:
        """A ``requestQuery`` got no answer (the window has shown why, or the model was replaced)."""
