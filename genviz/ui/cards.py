"""The ℹ button on every view: it opens the view's card (genviz.core.cards), what is drawn, the formula, the
paper, what to watch for. The buttons sit in each view's top right corner; exports leave them out."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QToolButton, QVBoxLayout, QWidget

BUTTON_NAME = "genviz-info-card"


def lab_cards(lab) -> dict:
    if not getattr(lab, "cards", ""):
        return {}
    from genviz.core.labs import import_object

    return dict(import_object(lab.cards))


class CardDialog(QDialog):
    def __init__(self, card, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"About this view: {card.title.replace('<sub>', '').replace('</sub>', '')}")
        self.label = QLabel(card.html())
        self.label.setTextFormat(Qt.RichText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setMinimumWidth(520)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(buttons)


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
        button.clicked.connect(lambda _=False, c=card, v=view: open_card(c, v))
        button.adjustSize()
        corner = _Corner(view, button)
        view.installEventFilter(corner)
        keep_title_clear(view, button)
        button.show()  # a child made after its view was shown stays hidden without this
        corner.place()
        buttons[name] = button
    return buttons


def open_card(card, parent=None) -> CardDialog:
    dlg = CardDialog(card, parent.window() if parent is not None else None)
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
