"""Formulas rendered as math: matplotlib's mathtext (a maintained TeX-subset layout engine that ships its own
Computer Modern fonts, works offline and needs no web engine), drawn once per formula and colour into a
QPixmap and cached. The numbers under a card's formula change every snapshot and are plain labels, so no
formula is laid out again while a run trains."""
from __future__ import annotations

from functools import lru_cache
from io import BytesIO

from PySide6.QtGui import QPixmap


@lru_cache(maxsize=512)
def png(tex: str, color: str = "#1b1f24", size: float = 15.0, dpi: int = 100) -> bytes:
    """The mathtext ``tex`` (LaTeX math without the dollars) as a transparent PNG. Raises ValueError for
    what mathtext cannot parse."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # no GUI backend: the image is drawn off screen
    from matplotlib import mathtext, rc_context
    from matplotlib.font_manager import FontProperties

    out = BytesIO()
    with rc_context({"mathtext.fontset": "cm"}):
        mathtext.math_to_image(f"${tex}$", out, prop=FontProperties(size=size), dpi=dpi, format="png", color=color)
    return out.getvalue()


def pixmap(tex: str, color: str = "#1b1f24", size: float = 15.0, ratio: float = 1.0) -> QPixmap:
    """``tex`` as a pixmap sharp on a screen of device pixel ratio ``ratio``; a formula mathtext cannot parse
    comes back empty (the card then shows its text)."""
    pm = QPixmap()
    try:
        pm.loadFromData(png(tex, color, size, int(round(100 * max(1.0, ratio)))), "PNG")
    except ValueError:
        return QPixmap()
    pm.setDevicePixelRatio(max(1.0, ratio))
    return pm
