"""Strips the window shows above the views: the message banner and the lecture caption."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from genviz.ui import theme


class Banner(QWidget):
    """A dismissable message strip for things the user must notice (NaN, errors, bad files).

    Messages stack: a new one shows on top, closing it shows the one before. A message about the
    run (``run=True``: a NaN, a worker error) goes when the run is reset; any other (a refused
    file or setting) stays until the user closes it, so a message given at start-up is never
    hidden by the first Reset. Text is shown as plain text: a file's caption cannot inject markup."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel()
        self.label.setTextFormat(Qt.PlainText)
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
        close.clicked.connect(self.dismiss)
        for w in (self.details_button, self.action_button, close):
            w.setFocusPolicy(Qt.NoFocus)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.action_button)
        lay.addWidget(self.details_button)
        lay.addWidget(close)
        self.details = ""
        self.messages: list[dict] = []
        self.setAutoFillBackground(True)
        self.hide()

    def show_message(self, text: str, details: str = "", level: str = "error", action=None, run: bool = False) -> None:
        """``action``: (label, callable) for a button that acts on the message (Restore...);
        ``run``: the message is about the current run and goes when it is reset."""
        message = {"text": str(text), "details": details, "level": level, "action": action, "run": run}
        self.messages = [m for m in self.messages if m["text"] != message["text"]][-20:] + [message]
        self._show(message)

    def dismiss(self) -> None:
        """Close the message shown; the one before it (if any) shows again."""
        if self.messages:
            self.messages.pop()
        self._show(self.messages[-1]) if self.messages else self.hide()

    def hide_run_messages(self) -> None:
        self.messages = [m for m in self.messages if not m["run"]]
        self._show(self.messages[-1]) if self.messages else self.hide()

    def _show(self, message: dict) -> None:
        text, details, level, action = message["text"], message["details"], message["level"], message["action"]
        if len(self.messages) > 1:
            text += f"   ({len(self.messages) - 1} more: ✕ shows the previous)"
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

    def restyle(self) -> None:
        """A theme switch: the message shown takes the new theme's colours."""
        if self.messages and self.isVisible():
            self._show(self.messages[-1])

    def _run_action(self) -> None:
        action, self._action = self._action, None
        self.dismiss()
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
        self.setTextFormat(Qt.RichText)  # the title in bold; both texts are escaped (they come from files)
        self.hide()

    def show_caption(self, title: str, caption: str) -> None:
        c = theme.colors()
        size = 13 * theme.font_scale()
        self.setStyleSheet(f"background: {c['base']}; color: {c['text']}; padding: 8px 12px; border-left: 5px solid "
                           f"{c['accent']}; font-size: {size:.0f}pt;")
        self.setText(f"<b>{html.escape(title)}</b> — {html.escape(caption)}")
        self.show()


def add_actions(owner, menu, entries) -> None:
    """Fill ``menu`` with (text, shortcut or None, slot) entries (None: a separator); the actions belong to
    ``owner`` (a window: its shortcuts work while it is active)."""
    for entry in entries:
        if entry is None:
            menu.addSeparator()
            continue
        text, key, slot = entry
        act = QAction(text, owner)
        if key:
            act.setShortcut(QKeySequence(key))
        act.triggered.connect(slot)
        menu.addAction(act)
