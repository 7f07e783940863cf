"""Light and dark themes with colours and sizes that stay readable on a lecture projector."""
from __future__ import annotations

import types
import weakref

import numpy as np

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette, QPen
from PySide6.QtWidgets import QApplication

THEMES = {
    "light": {"window": "#f4f5f7", "base": "#ffffff", "text": "#1b1f24", "plot_bg": "#ffffff",
              "plot_fg": "#2b2f36", "accent": "#1f6feb", "warn_bg": "#ffe3e3", "warn_fg": "#a4161a",
              "muted": "#5c6370", "groove": "#c9ced6", "disabled": "#a4aab4"},
    "dark": {"window": "#1e2127", "base": "#16181d", "text": "#e6e6e6", "plot_bg": "#111318",
             "plot_fg": "#d0d4dc", "accent": "#58a6ff", "warn_bg": "#5c1a1b", "warn_fg": "#ffd7d5",
             "muted": "#9aa3b2", "groove": "#3a3f4b", "disabled": "#5d6472"},
}
# colour-blind-safe categorical palette (Okabe-Ito, extended), one colour per class
CLASS_COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
                "#8c564b", "#7f7f7f", "#000000"]
CURVE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]

_current = {"name": "light", "font_scale": 1.0, "line_scale": 1.0}
_plots: "weakref.WeakSet[pg.PlotWidget]" = weakref.WeakSet()


def colors() -> dict:
    return THEMES[_current["name"]]


def current() -> str:
    return _current["name"]


def class_color(i: int) -> str:
    c = CLASS_COLORS[i % len(CLASS_COLORS)]
    if c == "#000000" and _current["name"] == "dark":
        return "#ffffff"
    return c


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _plain_number(v: float) -> str:
    """0.01, 1, 1000 as written; beyond that range 10⁵ or 2·10⁻⁵ (never "2e-05")."""
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:g}"
    exponent = int(np.floor(np.log10(abs(v))))
    mantissa = round(v / 10.0 ** exponent)
    return ("" if mantissa == 1 else f"{mantissa}·") + "10" + str(exponent).translate(_SUPERSCRIPT)


def _log_tick_strings(axis, values, scale, spacing):
    """A log axis labels only the ticks there is room for: decades, plus 2 and 5 (and 3) where a
    decade is long enough; pyqtgraph labelled every minor tick ("3·10¹4·10 5 6 7 8 9 10²")."""
    values = 10.0 ** np.asarray(values, float) * scale
    horizontal = axis.orientation in ("bottom", "top")
    length = axis.width() if horizontal else axis.height()
    decades = max(float(axis.range[1] - axis.range[0]), 1e-9)
    per_decade = length / decades
    room = (60, 150, 260) if horizontal else (40, 90, 160)
    mantissas = {1} if per_decade < room[0] else {1, 5} if per_decade < room[1] else {1, 2, 5} \
        if per_decade < room[2] else {1, 2, 3, 5}
    out = []
    for v in values:
        if not np.isfinite(v) or v <= 0:
            out.append("")
            continue
        m = v / 10.0 ** np.floor(np.log10(v) + 1e-9)
        out.append(_plain_number(v) if abs(m - round(m)) < 1e-6 and round(m) in mantissas else "")
    return out


def plain_units(axis) -> None:
    """Plain units on an axis: "z₁ (x0.001)" or "step (x0.001)" reads as a different quantity.
    pyqtgraph 0.14's ``enableAutoSIPrefix(False)`` still rescales by the current range when called (a
    restyle turned D's outputs 0.3-0.9 into ticks 300-900), so no range may enable a prefix either."""
    if hasattr(axis, "setSIPrefixEnableRanges"):
        axis.setSIPrefixEnableRanges(())
    axis.enableAutoSIPrefix(False)


def register_plot(widget: pg.PlotWidget) -> None:
    """Plots created before a theme switch are restyled when it happens."""
    _plots.add(widget)
    _style_plot(widget)


def _remap_colors(widget: pg.PlotWidget, old: dict, new: dict) -> None:
    """A theme switch mid-run: every curve, line and text that took a colour of the old theme (its
    ink, axis colour, accent...) takes the same role's colour of the new one. Items that pick their
    own colours (class colours, colour maps) are left alone; labs restyle those."""
    mapping = {QColor(old[k]).rgb() & 0xFFFFFF: QColor(new[k]) for k in old if old[k] != new.get(k, old[k])}

    def swapped(color: QColor) -> QColor | None:
        target = mapping.get(color.rgb() & 0xFFFFFF)
        if target is None:
            return None
        out = QColor(target)
        out.setAlphaF(color.alphaF())
        return out

    def repen(pen) -> QPen | None:
        if not isinstance(pen, QPen) or pen.style() == Qt.NoPen:
            return None
        color = swapped(pen.color())
        if color is None:
            return None
        pen = QPen(pen)
        pen.setColor(color)
        return pen

    scene = widget.scene()
    for graphic in scene.items() if scene is not None else []:
        if isinstance(graphic, (pg.PlotDataItem, pg.PlotCurveItem)):
            pen = repen(graphic.opts.get("pen"))
            if pen is not None:
                graphic.setPen(pen)
            symbol_pen = repen(graphic.opts.get("symbolPen")) if isinstance(graphic, pg.PlotDataItem) else None
            if symbol_pen is not None:  # a marker's outline in the theme's ink (the CAVI views' centres)
                graphic.setSymbolPen(symbol_pen)
        elif isinstance(graphic, pg.InfiniteLine):
            pen = repen(graphic.pen)
            if pen is not None:
                graphic.setPen(pen)
        elif isinstance(graphic, pg.TextItem):
            color = swapped(QColor(graphic.color))
            if color is not None:
                graphic.setColor(color)


def _style_plot(widget: pg.PlotWidget) -> None:
    c = colors()
    styled = getattr(widget, "_genviz_theme", None)
    if styled is not None and styled != _current["name"]:
        _remap_colors(widget, THEMES[styled], c)
    widget._genviz_theme = _current["name"]
    widget.setBackground(c["plot_bg"])
    item = widget.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(c["plot_fg"]))
        axis.setTextPen(pg.mkPen(c["plot_fg"]))
        plain_units(axis)
        axis.logTickStrings = types.MethodType(_log_tick_strings, axis)
    scale = _current["font_scale"]
    tick_font = QFont()
    tick_font.setPointSizeF(9.0 * scale)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setStyle(tickFont=tick_font)
        axis.label.setFont(tick_font)
    bar = getattr(widget, "colorbar", None)  # a heatmap's colour bar: its own axis, outside the plot item
    for axis in [bar.getAxis(n) for n in ("left", "bottom", "right", "top")] if bar is not None else []:
        axis.setPen(pg.mkPen(c["plot_fg"]))
        axis.setTextPen(pg.mkPen(c["plot_fg"]))
    item.titleLabel.setAttr("color", c["plot_fg"])
    if item.titleLabel.text:
        item.setTitle(item.titleLabel.text, color=c["plot_fg"], size=title_size())
    # curves (not scatters) get thicker in the presenter view: lines must read from the back row
    for data_item in item.listDataItems():
        pen = data_item.opts.get("pen") if hasattr(data_item, "opts") else None
        if isinstance(pen, QPen) and pen.style() != Qt.NoPen:
            base = getattr(data_item, "_genviz_width", None)
            if base is None:
                base = data_item._genviz_width = pen.widthF()
            if base > 0:
                pen = pg.mkPen(pen)
                pen.setWidthF(base * _current["line_scale"])
                data_item.setPen(pen)
    for hook in getattr(widget, "restyle_hooks", []):  # items that pick theme colours (class colours)
        hook()
    for legend in [item.legend] if item.legend is not None else []:
        legend.setLabelTextColor(c["plot_fg"])
        bg = QColor(c["plot_bg"])
        # translucent where a legend may lie over data (class scatters; it can be dragged, too);
        # opaque elsewhere: curve plots keep room for theirs, and alpha blending costs each repaint
        bg.setAlpha(getattr(widget, "legend_alpha", 255))
        legend.setBrush(pg.mkBrush(bg))
        legend.setPen(pg.mkPen(c["muted"]))
        legend.setLabelTextSize(f"{9 * scale:.0f}pt")
        # entries drawn before a theme or text-size switch take the new colour and size, and the box
        # shrinks to them again (it kept the presenter view's size, over the data); plots on a hidden page
        # too (setLabelTextColor alone does not redraw a label: the EM page's legend stayed in the old
        # theme's ink); a closed window's plots are left alone: their items may be gone
        if shiboken6.isValid(widget) and widget.window().isVisible():
            for _, label in legend.items:
                label.setText(label.text, color=c["plot_fg"], size=f"{9 * scale:.0f}pt")
            legend.layout.invalidate()
            legend.adjustSize()
            legend.updateSize()


def font_scale() -> float:
    return _current["font_scale"]


def title_size() -> str:
    """Plot titles: 12 pt, times the text scale (the presenter view's large fonts)."""
    return f"{12 * _current['font_scale']:.0f}pt"


def apply_theme(name: str | None = None, font_scale: float | None = None, line_scale: float | None = None) -> None:
    """Colours, text size (``font_scale`` x 11 pt) and curve thickness, for every widget and plot."""
    name = name or _current["name"]
    if name not in THEMES:
        name = "light"
    _current["name"] = name
    if font_scale is not None:
        _current["font_scale"] = max(0.6, min(3.0, float(font_scale)))
    if line_scale is not None:
        _current["line_scale"] = float(line_scale)
    font_scale = _current["font_scale"]
    c = THEMES[name]
    app = QApplication.instance()
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.Window, QColor(c["window"]))
    pal.setColor(QPalette.WindowText, QColor(c["text"]))
    pal.setColor(QPalette.Base, QColor(c["base"]))
    pal.setColor(QPalette.AlternateBase, QColor(c["window"]))
    pal.setColor(QPalette.Text, QColor(c["text"]))
    pal.setColor(QPalette.Button, QColor(c["window"]))
    pal.setColor(QPalette.ButtonText, QColor(c["text"]))
    pal.setColor(QPalette.Highlight, QColor(c["accent"]))
    pal.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ToolTipBase, QColor(c["base"]))
    pal.setColor(QPalette.ToolTipText, QColor(c["text"]))
    pal.setColor(QPalette.PlaceholderText, QColor(c["muted"]))
    # a disabled widget must look disabled (a setting that does not apply, greyed out): setColor above set
    # every colour group, the disabled one too
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor(c["disabled"]))
    app.setPalette(pal)
    # Fusion draws a slider's groove in the window colour: invisible on our flat backgrounds
    app.setStyleSheet(
        f"QSlider::groove:horizontal {{ height: 6px; background: {c['groove']}; border-radius: 3px; }}"
        f"QSlider::sub-page:horizontal {{ background: {c['accent']}; border-radius: 3px; }}"
        f"QSlider::handle:horizontal {{ width: 16px; margin: -6px 0; background: {c['accent']}; "
        f"border: 2px solid {c['base']}; border-radius: 9px; }}")
    font = QFont(app.font())
    font.setPointSizeF(11.0 * font_scale)  # a size that reads from the back of a lecture room
    app.setFont(font)
    pg.setConfigOptions(background=c["plot_bg"], foreground=c["plot_fg"])
    for w in list(_plots):
        # a closed window's plots may be gone on the C++ side already, or closed (no plot item)
        if shiboken6.isValid(w) and w.getPlotItem() is not None:
            _style_plot(w)
        else:
            _plots.discard(w)
