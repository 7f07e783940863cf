"""The ℹ button on every view: it opens the view's card (genviz.core.cards), what is drawn, the formula, the
paper, what to watch for, and, for a card with live numbers, the formula rendered as math with the values of
the step on show under each term (the live step, or the step the timeline is scrubbed to). Hovering a term
highlights what it draws in the view, and hovering the view lights its terms. The buttons sit in each view's
top right corner; exports leave them out."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QGridLayout, QLabel, QToolButton,
                               QVBoxLayout, QWidget)

BUTTON_NAME = "genviz-info-card"


def lab_cards(lab) -> dict:
    if not getattr(lab, "cards", ""):
        return {}
    from genviz.core.labs import import_object

    return dict(import_object(lab.cards))


class TermCell(QFrame):
    """One term of a live formula: its symbol (rendered math), its value, its name, and whether the value is
    exact or an estimate. Hovering it highlights what it draws (``hover(target, on)``)."""

    def __init__(self, term, hover, parent=None):
        super().__init__(parent)
        from genviz.ui import mathtext, theme

        self.term, self.hover = term, hover
        self.checked: dict = {}  # snapshot key -> passed (Check this run), for the number's mark
        c = theme.colors()
        self.symbol = QLabel()
        pm = mathtext.pixmap(term.symbol, c["text"], 15.0, self.devicePixelRatioF())
        if pm.isNull():
            self.symbol.setText(term.symbol)
        else:
            self.symbol.setPixmap(pm)
        self.value = QLabel()
        self.value.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.name = QLabel()
        self.name.setStyleSheet(f"color: {c['muted']};")
        self.name.setWordWrap(True)
        self.name.setMaximumWidth(180)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(2)
        for w in (self.symbol, self.value, self.name):
            w.setAlignment(Qt.AlignHCenter)
            lay.addWidget(w)
        self.setObjectName("genviz-term")
        self.lit = False
        self.set_lit(False)

    def set_term(self, term, decimals: int) -> None:
        from genviz.core.cards import value_text

        from genviz.core.numbers import decimals_for

        self.term = term
        # an estimate with its own standard error's digits; an exact value with the equation's
        decimals = decimals_for(term.se) if term.se is not None and term.se > 0 else decimals
        self.value.setText(value_text(term, decimals))
        mark = "estimate ± SE" if term.se is not None else ("exact: " + term.how if term.how else "exact")
        verdict = self.checked.get(term.key) if term.key else None
        if verdict is not None:  # Check this run named this number
            mark += " · checked ✓" if verdict else " · check failed ✗"
        self.name.setText(f"{term.name}<br><i>{mark}</i>")
        self.setToolTip(f"{term.name}: {value_text(term, decimals)} ({mark})"
                        + ("\nHover to see it in the view" if term.target else ""))

    def set_lit(self, on: bool) -> None:
        from genviz.ui import theme

        self.lit = bool(on)
        c = theme.colors()
        self.setStyleSheet(f"QFrame#genviz-term {{ border-radius: 6px; border: 2px solid "
                           f"{c['accent'] if on else 'transparent'}; }}")

    def enterEvent(self, event) -> None:
        self.set_lit(True)
        if self.term.target:
            self.hover(self.term.target, True)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self.set_lit(False)
        if self.term.target:
            self.hover(self.term.target, False)
        super().leaveEvent(event)


def _operator(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-size: 18pt;")
    label.setAlignment(Qt.AlignCenter)
    return label


class LiveNumbers(QWidget):
    """A card's formulas with the numbers of the step the panel shows (``LabPanel.frameShown``), redrawn at most
    four times a second; one row of term cells per :class:`~genviz.core.cards.Equation`."""

    def __init__(self, card, panel, parent=None):
        super().__init__(parent)
        self.card, self.panel = card, panel
        self.header = QLabel()
        self.header.setStyleSheet("font-weight: 600;")
        self.body = QVBoxLayout()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.header)
        lay.addLayout(self.body)
        self.cells: list[TermCell] = []
        self._shape: tuple = ()
        self._pending = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._apply)
        self._watched: list = []
        self.shown_equations: list = []
        self.header.setText("The numbers appear with the lab's next snapshot.")
        if panel is not None:
            panel.frameShown.connect(self.take)
            if panel.shown is not None:
                self.take(*panel.shown)
                self._apply()
            for view in panel.views().values():
                view.installEventFilter(self)
                self._watched.append(view)
        else:
            self.header.setText("Live numbers appear once the lab has shown a step.")

    def take(self, data, step: int, live: bool) -> None:
        self._pending = (data, step, live)
        if not self._timer.isActive():
            self._timer.start(250)

    def _apply(self) -> None:
        if self._pending is None:
            return
        data, step, live = self._pending
        self._pending = None
        from genviz.core.cards import live_equations

        try:
            equations = live_equations(self.card, data)
        except Exception as exc:  # a frame of another version: say so, never break the card
            equations = []
            self.header.setText(f"No numbers at step {step:,}: {type(exc).__name__}: {str(exc)[:120]}")
            return
        where = "live" if live else "the step the timeline shows"
        if not equations:
            self.header.setText(f"Step {step:,} ({where}): this step's snapshot holds no numbers for this formula.")
        else:
            self.header.setText(f"With the numbers of step {step:,} ({where}):")
        shape = tuple((e.title, e.total.symbol, tuple(t.symbol for t in e.terms)) for e in equations)
        if shape != self._shape:
            self._build(equations)
            self._shape = shape
            QTimer.singleShot(0, self._fit)
        checked = self.checked_keys(step)
        cells = iter(self.cells)
        for cell in self.cells:
            cell.checked = checked
        for e in equations:
            d = e.decimals()
            for term in (e.total, *e.terms):
                next(cells).set_term(term, d)
        self.shown_equations = equations

    def checked_keys(self, step: int) -> dict:
        """Snapshot keys that Check this run checked on the model of the step on show: key -> passed."""
        run = getattr(self.panel, "run_model", None) if self.panel is not None else None
        if run is None or not run.checked or run.checked_step != step:
            return {}
        out: dict = {}
        for v in run.checked:
            out[v["key"]] = out.get(v["key"], True) and bool(v["passed"])
        return out

    def _fit(self) -> None:
        """The dialog grows to hold new term cells (it was sized before the first numbers came)."""
        import shiboken6

        if not shiboken6.isValid(self):  # closed before this turn came
            return
        top = self.window()
        if top is not self and top.isVisible():
            top.resize(top.width(), max(top.height(), top.sizeHint().height()))

    def _build(self, equations) -> None:
        while self.body.count():
            item = self.body.takeAt(0)
            w = item.widget()
            if w is not None:
                w.deleteLater()
        self.cells = []
        hover = self.panel.highlight if self.panel is not None else (lambda *_: None)
        for e in equations:
            box = QWidget()
            grid = QGridLayout(box)
            grid.setContentsMargins(0, 4, 0, 4)
            col = 0
            if e.title:
                title = QLabel(e.title)
                title.setStyleSheet("font-style: italic;")
                grid.addWidget(title, 0, 0, 1, 2 * len(e.terms) + 1)
            for i, term in enumerate((e.total, *e.terms)):
                ops = ["=", "−"] if i == 1 and term.sign < 0 else ["="] if i == 1 else \
                    [("−" if term.sign < 0 else "+")] if i > 1 else []
                for op in ops:
                    grid.addWidget(_operator(op), 1, col)
                    col += 1
                cell = TermCell(term, hover)
                grid.addWidget(cell, 1, col)
                self.cells.append(cell)
                col += 1
            grid.setColumnStretch(col, 1)
            self.body.addWidget(box)

    def eventFilter(self, obj, event) -> bool:
        """The pointer over a view lights the terms that draw in it (and off again when it leaves)."""
        if event.type() in (QEvent.Enter, QEvent.Leave):
            names = [n for n, v in self.panel.views().items() if v is obj]
            for cell in self.cells:
                if cell.term.target and cell.term.target.partition("#")[0] in names:
                    cell.set_lit(event.type() == QEvent.Enter)
        return False

    def lit_terms(self) -> list[str]:
        return [c.term.name for c in self.cells if c.lit]

    def detach(self) -> None:
        for view in self._watched:
            try:
                view.removeEventFilter(self)
            except RuntimeError:
                pass
        self._watched = []


class CardDialog(QDialog):
    def __init__(self, card, parent=None, panel=None):
        super().__init__(parent)
        self.setWindowTitle(f"About this view: {card.title.replace('<sub>', '').replace('</sub>', '')}")
        self.label = QLabel(card.html())
        self.label.setTextFormat(Qt.RichText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setMinimumWidth(600)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        self.live = None
        if getattr(card, "live", None) is not None:
            self.live = LiveNumbers(card, panel)
            line = QFrame()
            line.setFrameShape(QFrame.HLine)
            lay.addWidget(line)
            lay.addWidget(self.live)
        lay.addWidget(buttons)

    def done(self, result) -> None:
        if self.live is not None:
            self.live.detach()
        super().done(result)


class _Corner(QObject):
    """Keeps a button in its view's top right corner as the view resizes."""

    def __init__(self, view: QWidget, button: QToolButton):
        super().__init__(view)
        self.view, self.button = view, button

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.Resize, QEvent.Show):
            self.place()
        return False

    def place(self) -> None:
        self.button.move(max(0, self.view.width() - self.button.width() - 4), 4)
        self.button.raise_()


def keep_title_clear(view: QWidget, button: QToolButton) -> None:
    """A centred title that would run under the ℹ button moves left, into the empty row above the y
    axis, as far as it must (pyqtgraph centres it, whatever its length, over the plot)."""
    item = getattr(view, "getPlotItem", lambda: None)()
    label = getattr(item, "titleLabel", None)
    if label is None:
        return
    centred = label.resizeEvent

    def resize_event(event, label=label) -> None:
        centred(event)  # also called by setText, so a title set every frame stays clear too
        if not button.isVisible() and not view.isVisible():
            return
        limit = label.mapFromScene(view.mapToScene(button.geometry().topLeft())).x() - 6
        right = label.item.mapToParent(label.item.boundingRect().topRight()).x()
        if right > limit:
            left = label.item.mapToParent(label.item.boundingRect().topLeft()).x()
            room = left - label.mapFromScene(view.mapToScene(0, 0)).x() - 2  # up to the view's left edge
            label.item.moveBy(-min(right - limit, max(0.0, room)), 0)

    label.resizeEvent = resize_event
    label.resizeEvent(None)


def attach_cards(panel, cards: dict | None = None) -> dict[str, QToolButton]:
    """An ℹ button on each of ``panel``'s views that has a card; returns them by view name."""
    cards = lab_cards(panel.lab) if cards is None else cards
    buttons = {}
    for name, view in panel.views().items():
        card = cards.get(name)
        if card is None or view.findChild(QToolButton, BUTTON_NAME) is not None:
            continue
        button = QToolButton(view)
        button.setObjectName(BUTTON_NAME)
        button.setText("ℹ")
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.NoFocus)
        button.setToolTip(f"What this view shows, its formula and its source: {card.title}")
        button.setStyleSheet("QToolButton { font-weight: bold; color: #1f77b4; border: 1px solid #9ab;"
                             " border-radius: 9px; min-width: 18px; min-height: 18px; }")
        button.clicked.connect(lambda _=False, c=card, v=view: open_card(c, v, panel))
        button.adjustSize()
        corner = _Corner(view, button)
        view.installEventFilter(corner)
        keep_title_clear(view, button)
        button.show()  # a child made after its view was shown stays hidden without this
        corner.place()
        buttons[name] = button
    return buttons


def open_card(card, parent=None, panel=None) -> CardDialog:
    dlg = CardDialog(card, parent.window() if parent is not None else None, panel)
    dlg.setAttribute(Qt.WA_DeleteOnClose)
    dlg.show()
    return dlg


class hidden_buttons:
    """Hide the ℹ buttons under ``widget`` while it is rendered for an export."""

    def __init__(self, widget: QWidget):
        self.buttons = [b for b in widget.findChildren(QToolButton, BUTTON_NAME) if b.isVisible()]

    def __enter__(self):
        for b in self.buttons:
            b.hide()

    def __exit__(self, *exc):
        for b in self.buttons:
            b.show()
