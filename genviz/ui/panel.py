"""Base class of every lab's panel: it renders snapshots and never touches the model."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget


class LabPanel(QWidget):
    """Subclasses implement ``on_ready`` (static info after a (re)build), ``on_snapshot`` and
    ``clear``. ``redraws`` counts rendered snapshots (the status line turns it into fps)."""

    statusMessage = Signal(str)
    # ask the window to change settings (and Reset when some only apply then): presets, drawn data
    requestSettings = Signal(dict, bool)
    # ask the worker something between training steps: name, kwargs; the window answers via on_reply
    requestQuery = Signal(str, dict)

    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.lab = lab
        self.redraws = 0

    def on_ready(self, info: dict) -> None:
        raise NotImplementedError

    def on_snapshot(self, snap: dict) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def on_reply(self, name: str, value) -> None:
        """The worker's answer to a ``requestQuery``."""
