"""Shared plot widgets: image views with fixed levels, growing curves, bars, class scatters."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from shiboken6 import isValid
from PySide6.QtCore import QSizeF, Qt, QTimer, Signal
from PySide6.QtWidgets import QSizePolicy, QToolButton

from genviz.ui import theme

# antialiased thick curves are slow in QPainter's raster engine (docs/references.md, "Figures behind design choices")
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
CURVE_POINTS = 4096  # envelope groups per curve at most: one per device pixel column of a wide view
MIN_CURVE_POINTS = 64
MAX_ZOOM_GROUPS = 16  # a view zoomed in by hand gets up to 16 times the groups (as many per column in view)

HISTOGRAM_ABOVE = 5000  # points; above this a scatter is drawn as a 2-D histogram image (docs/references.md)


_deferred: set | None = None


class deferred_redraws:
    """Within ``with``, curve redraws are collected and done once at the end: rebuilding a panel
    from a long history feeds it hundreds of snapshots, and only the last picture matters."""

    def __enter__(self):
        global _deferred
        self.outer = _deferred
        if _deferred is None:
            _deferred = set()
        return self

    def __exit__(self, *exc):
        global _deferred
        if self.outer is None:
            pending, _deferred = _deferred, None
            for plot in pending:
                plot.redraw()
        return False


def keyed(title: str, key: str) -> str:
    """A view title with its colour key on a second, smaller line: a key in the title is off the
    data (a legend covers it), and one long line was cut off in a narrow view."""
    return f"{title}<br><small>{key}</small>"


class _OutsideLegend(pg.LegendItem):
    """A legend that asks its plot's layout for the room its entries need, no more and no less (in a
    layout cell, pyqtgraph's legend stretched to the cell's height and was cut to its width)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)

    def sizeHint(self, which, constraint=QSizeF()):
        if which == Qt.MaximumSize:
            return QSizeF(1e6, 1e6)
        # a little spare width: a glyph from a fallback font (the σ of "prior, 2σ") is measured short
        return self.layout.effectiveSizeHint(which, constraint) + QSizeF(12, 0)

    def updateSize(self):  # an entry came or went: ask for the new room
        self.layout.invalidate()
        self.updateGeometry()


def span_title(plot) -> None:
    """The plot's title over its whole width (left axis, view, legend, colour bar). Over the view's column alone, a
    title wider than the view made that column's minimum width, and a plot in a narrow widget overflowed it: its
    legend or its colour bar's label was cut off at the right."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    item.layout.removeItem(item.titleLabel)
    item.layout.addItem(item.titleLabel, 0, 0, 1, 5)


def outside_legend(plot: pg.PlotWidget, where: str = "right", columns: int = 1) -> pg.LegendItem:
    """A legend in the plot's own layout, beside the view (``right``) or under its x axis
    (``below``): off the data, whatever the data does. Items added to the plot with a ``name`` are
    entered in it, as with pyqtgraph's ``addLegend``."""
    item = plot.getPlotItem()
    legend = _OutsideLegend(labelTextSize=f"{10 * theme.font_scale():.0f}pt", colCount=columns, verSpacing=-4)
    if where == "right":
        item.layout.addItem(legend, 2, 3, alignment=Qt.AlignTop)
    else:
        # under the whole plot (its axes and colour bar too): under the view alone, a wide legend set the view's
        # minimum width and the plot overflowed its widget (the colour bar's label cut off)
        item.layout.addItem(legend, 4, 0, 1, 5, alignment=Qt.AlignHCenter)
    item.legend = legend  # entered by addItem(name=...), and styled by the theme as any plot's legend
    return legend


class HandRange:
    """A pan or zoom by hand holds a view's range until its "A" button turns auto range on again:
    the steady ranges a plot keeps by itself then take over. ``moved()`` runs after each."""

    def __init__(self, view: pg.ViewBox, moved=None):
        self.view, self.on, self.moved = view, False, moved
        view.sigRangeChangedManually.connect(self._moved)

    def _moved(self, *_) -> None:
        self.on = True
        if self.moved is not None:
            self.moved()

    def holds(self) -> bool:
        if self.on and any(self.view.autoRangeEnabled()):
            self.on = False  # "A" was pressed
        return self.on


class SteadyViewBox(pg.ViewBox):
    """pyqtgraph's auto range, held still while the data stay inside the view and fill at least
    ``FILL`` of it on each axis; when they leave it or shrink below that, the view is fitted again,
    with ``MARGIN`` of the data's span to spare on a side they went past (a density's axis stays
    at 0). A view refitted to every snapshot jitters on a projector, and each new range re-lays its
    axes' ticks and labels (1.5-3 ms an axis, up to 30 times a second in one plot, measured)."""

    FILL, MARGIN = 0.6, 0.1
    _refit = True
    _last_fit: dict | None = None

    def enableAutoRange(self, *args, **kwargs) -> None:
        super().enableAutoRange(*args, **kwargs)
        self._refit = True  # the view's "A" button, or a lab asking for a fit: the next one is pyqtgraph's own

    def updateAutoRange(self) -> None:
        if (self._updatingRange or not any(self.state["autoRange"]) or self._refit
                or self.state["aspectLocked"]):  # an aspect-locked view widens one axis: pyqtgraph's own fit
            self._refit = False
            return super().updateAutoRange()
        fit = {}
        self.setRange = lambda **args: fit.update(args)  # pyqtgraph's fit (padding, visible-only), not applied
        try:
            super().updateAutoRange()
        finally:
            del self.setRange
        if fit == self._last_fit:
            return  # the same data as the last decision (a range change re-asked): never two ranges in turn
        self._last_fit = dict(fit)
        current = self.viewRange()
        steady = {}
        for ax, key in ((0, "xRange"), (1, "yRange")):
            if key not in fit:
                continue
            (c0, c1), (t0, t1) = current[ax], fit[key]
            if c0 <= t0 and t1 <= c1 and (t1 - t0) >= self.FILL * (c1 - c0):
                continue  # the data still fit the current range well: it stays
            m = self.MARGIN * (t1 - t0)  # room to spare on the side(s) the data went past, none where they stop
            steady[key] = (t0 - m if t0 < c0 else t0, t1 + m if t1 > c1 else t1)
        if steady:
            self._updatingRange = True
            try:
                self.setRange(**steady, padding=0.0, disableAutoRange=False)
            finally:
                self._updatingRange = False
            self._autoRangeNeedsUpdate = False


def make_plot(title: str = "", x_label: str = "", y_label: str = "") -> pg.PlotWidget:
    w = pg.PlotWidget(viewBox=SteadyViewBox())
    w.setTitle(title, size=theme.title_size())
    if x_label:
        w.setLabel("bottom", x_label)
    if y_label:
        w.setLabel("left", y_label)
    w.getPlotItem().getViewBox().setMenuEnabled(False)
    span_title(w)
    theme.register_plot(w)
    return w


def add_colorbar(plot: pg.PlotWidget, image: pg.ImageItem, label: str = "") -> pg.ColorBarItem:
    """A colour bar right of ``plot`` showing ``image``'s colour map and levels, following every
    ``setImage`` (a heatmap without one cannot be read)."""
    bar = pg.ColorBarItem(values=(0.0, 1.0), width=12, colorMap=image.getColorMap() or pg.colormap.get("viridis"),
                          interactive=False, colorMapMenu=False)
    if label:  # on the bar's own (right) axis: ColorBarItem's ``label`` goes to the left one, and a later
        bar.axis.setLabel(label)  # change of bar.axis's label (a critic's score) then showed both
    item = plot.getPlotItem()
    item.layout.addItem(bar, 2, 4)
    span_title(plot)  # over the plot and its bar: a long title over the view alone pushed the bar out of sight
    # room for labels such as "−0.05" and the rotated unit: pyqtgraph's fixed 45 px cut them to "0"
    theme.plain_units(bar.axis)
    bar.axis.setWidth(int((44 + (20 if label else 0)) * max(1.0, theme.font_scale())))

    def follow() -> None:
        levels = image.getLevels()
        if levels is not None and np.ndim(levels) == 1 and np.all(np.isfinite(levels)) and levels[1] > levels[0]:
            new = (float(levels[0]), float(levels[1]))
            if tuple(bar.levels()) != new:  # the same levels again re-laid the bar's axis (1.7 ms a paint)
                bar.setLevels(new)

    image.sigImageChanged.connect(follow)
    plot.colorbar = bar
    return bar


def heat_plot(title: str, cmap: str = "viridis", label: str = "") -> tuple[pg.PlotWidget, pg.ImageItem]:
    """A heat image in data coordinates (place it with ``ImageItem.setRect``), equal axes, colour bar."""
    plot = make_plot(title)
    lock_aspect(plot)
    img = pg.ImageItem()
    img.setColorMap(pg.colormap.get(cmap))
    plot.addItem(img)
    add_colorbar(plot, img, label)
    return plot, img


class ImagePlot(pg.PlotWidget):
    """A greyscale image with fixed levels (fast path in pyqtgraph), top row at the top."""

    def __init__(self, title: str = "", levels=(0, 255), axes: bool = False):
        super().__init__()
        self.setTitle(title, size=theme.title_size())
        self.levels = levels
        self.item = pg.ImageItem(levels=levels)
        self.addItem(self.item)
        vb = self.getPlotItem().getViewBox()
        vb.invertY(True)
        vb.setAspectLocked(True)
        vb.setMenuEnabled(False)
        vb.setMouseEnabled(False, False)
        for name in ("left", "bottom"):
            self.getPlotItem().showAxis(name, axes)
        self.getPlotItem().hideButtons()
        span_title(self)
        theme.register_plot(self)
        self._shape = None

    def set_image(self, image: np.ndarray) -> None:
        self.item.setImage(image, levels=self.levels, autoLevels=False)
        if image.shape != self._shape:
            self._shape = image.shape
            self.getPlotItem().getViewBox().autoRange(padding=0.01)

    def clear_image(self) -> None:
        self.item.clear()
        self._shape = None

    def resizeEvent(self, event) -> None:
        """The whole image stays in view when the layout reshapes the plot (an aspect-locked range
        fitted to the old shape cut the image's bottom rows off)."""
        super().resizeEvent(event)
        if getattr(self, "_shape", None) is not None:  # (also called while pyqtgraph builds the widget)
            self.getPlotItem().getViewBox().autoRange(padding=0.01)


class ClickableImage(ImagePlot):
    """An ImagePlot that reports left clicks in image pixel coordinates (row, col) and the modifiers."""

    clicked = Signal(int, int, object)

    def __init__(self, title: str = "", levels=(0, 1)):
        super().__init__(title, levels)
        self.scene().sigMouseClicked.connect(self._on_click)

    def _on_click(self, event) -> None:
        if event.button() != Qt.LeftButton or self.item.image is None:
            return
        p = self.item.mapFromScene(event.scenePos())
        h, w = self.item.image.shape[:2]
        if 0 <= p.x() < w and 0 <= p.y() < h:
            self.clicked.emit(int(p.y()), int(p.x()), event.modifiers())


class CurveBuffer:
    """A growing (x, y) series in bounded memory that keeps what a plot of every point shows.

    Each stored bin covers the same number of raw points (``stride``, doubled when ``cap`` bins are
    full) and keeps their mean x and y and their smallest and largest y. Drawn as a min/max envelope,
    a noisy curve looks as noisy at its first step as at its last: averaging only the old points in
    pairs made a constant noise look as if it grew over training (a funnel)."""

    def __init__(self, cap: int = 20000):
        self.cap = cap
        self.clear()

    def clear(self) -> None:
        self.stride = 1
        self._x, self._y, self._lo, self._hi = (np.empty(0) for _ in range(4))
        self._pending = np.empty((0, 2))  # raw (x, y) of the bin being filled (fewer than ``stride``)

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        new = np.column_stack([np.asarray(x, float).ravel(), np.asarray(y, float).ravel()])
        raw = np.concatenate([self._pending, new])
        k = len(raw) // self.stride * self.stride
        if k:
            bins = raw[:k].reshape(-1, self.stride, 2)
            self._append(bins[..., 0].mean(1), bins[..., 1].mean(1), bins[..., 1].min(1), bins[..., 1].max(1))
        self._pending = raw[k:]
        while len(self._x) > self.cap:
            self._coarsen()

    def _append(self, x, y, lo, hi) -> None:
        self._x, self._y = np.concatenate([self._x, x]), np.concatenate([self._y, y])
        self._lo, self._hi = np.concatenate([self._lo, lo]), np.concatenate([self._hi, hi])

    def _coarsen(self) -> None:
        """Twice the raw points per bin: pairs of bins merge (an odd last bin waits for its pair,
        its raw points stand in by its mean)."""
        n = len(self._x) // 2 * 2
        odd = (self._x[n:], self._y[n:])
        pair = lambda a: a[:n].reshape(-1, 2)  # noqa: E731
        self._x, self._y = pair(self._x).mean(1), pair(self._y).mean(1)
        self._lo, self._hi = pair(self._lo).min(1), pair(self._hi).max(1)
        self.stride *= 2
        if len(odd[0]):
            half = self.stride // 2
            self._pending = np.concatenate([np.repeat(np.column_stack(odd), half, axis=0), self._pending])

    def _with_pending(self, stored: np.ndarray, column: int, reduce) -> np.ndarray:
        """``stored`` and, last, the bin being filled (``reduce`` of its raw ``column``)."""
        if not len(self._pending):
            return stored
        return np.concatenate([stored, [reduce(self._pending[:, column])]])

    # each bin's mean step and mean, smallest and largest value (the bin being filled last)
    x = property(lambda self: self._with_pending(self._x, 0, np.mean))
    y = property(lambda self: self._with_pending(self._y, 1, np.mean))
    lo = property(lambda self: self._with_pending(self._lo, 1, np.min))
    hi = property(lambda self: self._with_pending(self._hi, 1, np.max))

    def groups(self, points: int, keep=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """At most about ``points`` groups of consecutive bins: each group's mean step and its smallest
        and largest value, and whether these are the raw points themselves (``lo`` is ``hi`` is y:
        every bin one raw point, and no more of them than ``points``). ``keep(y)``: which y count
        (finite; positive on a log axis) - a bin of none is left out."""
        x, lo, hi = self.x, self.lo, self.hi
        if keep is not None:  # a bin's mean lies between its smallest and largest value: kept with them
            ok = keep(lo) & keep(hi)
            if not ok.all():
                x, lo, hi = x[ok], lo[ok], hi[ok]
        if self.stride == 1 and len(x) <= points:
            return x, lo, lo, True  # every bin one raw point: its smallest value is its value
        groups = max(1, min(points, len(x)))
        edges = np.linspace(0, len(x), groups + 1).astype(int)
        counts = np.diff(edges)
        starts = edges[:-1][counts > 0]
        counts = counts[counts > 0]
        gx = np.add.reduceat(x, starts) / counts
        return gx, np.minimum.reduceat(lo, starts), np.maximum.reduceat(hi, starts), False

    def drawn(self, points: int, keep=None) -> tuple[np.ndarray, np.ndarray]:
        """At most about ``points`` x positions to draw: the series itself while it has no more
        bins of one raw point each, else each group's min and max in turn (pyqtgraph's "peak"
        downsampling), the envelope a plot of every raw point would fill."""
        x, lo, hi, raw = self.groups(points, keep)
        return (x, lo) if raw else (np.repeat(x, 2), np.column_stack([lo, hi]).ravel())


class EnvelopeCurve(pg.PlotDataItem):
    """A curve that, given about as many points as its view has pixel columns or more, is painted
    as a band of filled columns (one QPainter.drawRects of axis-aligned rectangles) instead of a
    2-pixel polyline. Each column reaches from the smallest to the largest value of its points and
    of its two neighbours', plus half the pen's width above and below: it looks like the polyline
    (a flat stretch as thick as the pen, a steep one two columns wide, noise as the envelope of
    every raw point) and costs a fraction to paint (a wide pen's segments are each stroked into a
    polygon: docs/references.md, "Figures behind design choices"). Its data (``getData``, the view's auto range) stay
    the envelope's min and max in turn; the band is a child item, so it is shown, hidden and
    stacked with the curve. While the band is drawn the polyline holds no points (laying out an
    envelope nobody paints cost more than the band): ``getData`` and ``dataBounds`` answer from the
    columns."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.band = pg.BarGraphItem(x0=np.empty(0), x1=np.empty(0), y0=np.empty(0), y1=np.empty(0), pen=None)
        self.band.setParentItem(self)
        self.band.hide()
        self._columns = None  # (x, lo, hi) in view coordinates while the band is drawn
        self._placed_pen = None

    def set_columns(self, x: np.ndarray | None, lo=None, hi=None) -> None:
        """Draw the band of groups at ``x`` from ``lo`` to ``hi`` (view coordinates: log10 on a log
        axis), or, with None, the curve as a polyline again."""
        self._columns = None if x is None or not len(x) else (np.asarray(x, float), np.asarray(lo, float),
                                                               np.asarray(hi, float))
        if self._columns is not None and self.xData is not None and len(self.xData):
            self.setData([], [])  # the band paints the envelope; the polyline's points would only cost
        self._place_band()
        self.informViewBoundsChanged()

    def getData(self):
        """The envelope's min and max in turn while the band is drawn (view coordinates, as
        pyqtgraph's ``getData``), else the polyline's points."""
        if getattr(self, "_columns", None) is None:
            return super().getData()
        x, lo, hi = self._columns
        return np.repeat(x, 2), np.column_stack([lo, hi]).ravel()

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        if getattr(self, "_columns", None) is None:
            return super().dataBounds(ax, frac, orthoRange)
        x, lo, hi = self._columns  # the view's auto range ("A") fits the band
        return (float(x[0]), float(x[-1])) if ax == 0 else (float(lo.min()), float(hi.max()))

    def updateItems(self, *args, **kwargs) -> None:
        super().updateItems(*args, **kwargs)
        if getattr(self, "_columns", None) is None:
            return
        if self.opts["pen"] != self._placed_pen:  # a new pen (emphasis, theme): the band takes it
            self._place_band()
        else:
            self.curve.hide()

    def _place_band(self) -> None:
        if self._columns is None:
            self.band.hide()
            self.curve.setVisible(self.opts["pen"] is not None)
            return
        x, lo, hi = self._columns
        vb = self.getViewBox()
        (y0, y1), height = (vb.viewRange()[1], vb.height()) if vb is not None else ((0.0, 1.0), 0.0)
        self._placed_pen = self.opts["pen"]
        pen = pg.mkPen(self.opts["pen"])
        pad = 0.5 * max(1.0, pen.widthF()) * (y1 - y0) / height if height > 0 else 0.0
        low, high = lo - pad, hi + pad  # each column reaches its neighbours' values too
        np.minimum(low[1:], lo[:-1] - pad, out=low[1:])
        np.minimum(low[:-1], lo[1:] - pad, out=low[:-1])
        np.maximum(high[1:], hi[:-1] + pad, out=high[1:])
        np.maximum(high[:-1], hi[1:] + pad, out=high[:-1])
        left, right = x - 0.5, x + 0.5
        if len(x) > 1:  # edge to edge, halfway between groups
            right[:-1] = left[1:] = 0.5 * (x[1:] + x[:-1])
            left[0], right[-1] = 2 * x[0] - right[0], 2 * x[-1] - left[-1]
        self.band.setOpts(x0=left, x1=right, y0=low, y1=high, brush=pg.mkBrush(pen.color()), pen=None)
        self.band.show()
        self.curve.hide()


def lock_aspect(plot: pg.PlotWidget) -> None:
    """Equal x and y scales. The axes get fixed sizes: otherwise a new range changes the tick
    labels' width, which resizes the view, which changes the range again - a repaint loop."""
    plot.setAspectLocked(True)
    plot.getAxis("left").setWidth(44)
    plot.getAxis("bottom").setHeight(36)


class StepAxis(pg.AxisItem):
    """Training steps as 0, 5k, 10k, 1.5M: short labels that never run together in a narrow plot."""

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            v = v * scale
            if abs(v) >= 1e6:
                out.append(f"{v / 1e6:g}M")
            elif abs(v) >= 1e3:
                out.append(f"{v / 1e3:g}k")
            else:
                out.append(f"{v:g}")
        return out


class ScaledAxis(pg.AxisItem):
    """A second y axis for the same curves in another unit (value x ``scale``): nats per image on the
    left, bits per dimension on the right. Its ticks are round numbers in its own unit."""

    def __init__(self, orientation: str = "right", scale: float = 1.0):
        super().__init__(orientation)
        self.unit_scale = scale
        theme.plain_units(self)

    def set_scale(self, scale: float) -> None:
        self.unit_scale = float(scale)
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):
        s = self.unit_scale
        lo, hi = sorted((minVal * s, maxVal * s))
        return [(spacing / s, [v / s for v in values]) for spacing, values in super().tickValues(lo, hi, size)]

    def tickStrings(self, values, scale, spacing):
        s = self.unit_scale
        step = abs(spacing * s) or 1.0
        digits = max(0, -int(np.floor(np.log10(step))) + (1 if step / 10 ** np.floor(np.log10(step)) < 2 else 0))
        return [f"{v * s:.{digits}f}" for v in values]


def add_second_unit(plot: pg.PlotWidget, label: str, scale: float) -> ScaledAxis:
    """Show ``plot``'s y values in a second unit on its right (value x scale)."""
    axis = ScaledAxis("right", scale)
    item = plot.getPlotItem()
    item.setAxisItems({"right": axis})
    axis.linkToView(item.getViewBox())
    item.showAxis("right")
    item.setLabel("right", label)
    return axis


def settle(widget) -> None:
    """Let every plot in ``widget`` fit its view to new data now, not while it paints. pyqtgraph fits
    ranges and transforms in ``prepareForPaint``, from inside the paint; what that changes marks the
    scene dirty again and schedules a second, identical paint of the whole plot (measured: two
    paints per update of a curve or scatter plot). Done between paints, the next paint is the only
    one. Cheap when nothing changed: each view box checks two flags."""
    if isinstance(widget, pg.GraphicsView):
        views = [widget]
    else:  # looked up at most once a second (a view added since waits that long for this shortcut)
        now = time.perf_counter()
        found = getattr(widget, "_settle_views", None)
        if found is None or now - found[0] > 1.0:
            found = widget._settle_views = (now, widget.findChildren(pg.GraphicsView))
        views = found[1]
    for view in views:
        if not isValid(view) or not view.isVisible():  # deleted since it was looked up; a hidden page
            continue
        scene = view.scene()
        if scene is not None:
            scene.prepareForPaint()


def _quantile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, 100 q) (linear between the two order statistics around it) from one
    partition: a tenth of np.percentile's time on a plot's thousand groups."""
    pos = q * (len(values) - 1)
    k0 = int(np.floor(pos))
    k1 = min(k0 + 1, len(values) - 1)
    part = np.partition(values, (k0, k1))
    return float(part[k0] + (pos - k0) * (part[k1] - part[k0]))


class CurvePlot(pg.PlotWidget):
    """Named metric curves over training steps, appended to as snapshots arrive."""

    def __init__(self, title: str, series: dict[str, str], y_label: str = "nats"):
        super().__init__(axisItems={"bottom": StepAxis("bottom")})
        self.setTitle(title, size=theme.title_size())
        self.setLabel("bottom", "step")
        self.setLabel("left", y_label)
        item = self.getPlotItem()
        theme.plain_units(item.getAxis("left"))  # "D(x) (x0.001)" confuses more than it helps
        # one row across the top: an opaque legend must not hide the curves it explains
        if len(series) > 1:  # a single curve is named by the plot's title
            legend = item.addLegend(offset=(-10, 2), colCount=len(series))
            legend.setBrush(pg.mkBrush(theme.colors()["plot_bg"]))  # opaque: no alpha blending each frame
        item.getViewBox().setMenuEnabled(False)
        self.buffers: dict[str, CurveBuffer] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.labels = dict(series)
        self.reference_y: float | None = None  # a line the y range must keep in view (a known limit)
        for i, (key, label) in enumerate(series.items()):
            color = theme.CURVE_COLORS[i % len(theme.CURVE_COLORS)]
            curve = EnvelopeCurve([], [], name=label, pen=pg.mkPen(color, width=2))
            self.addItem(curve)
            self.curves[key], self.buffers[key] = curve, CurveBuffer()
        # a pan or zoom by hand holds; the envelope is grouped again for the steps now in view
        self.hand = HandRange(item.getViewBox(), moved=self._regroup)
        # a log-scale toggle in the corner: losses that fall by orders of magnitude read better
        self.log_y = False
        self.log_button = QToolButton(self)
        self.log_button.setText("log y")
        self.log_button.setCheckable(True)
        self.log_button.setFocusPolicy(Qt.NoFocus)
        self.log_button.setToolTip("Logarithmic y axis (only positive values are drawn)")
        self.log_button.toggled.connect(self.set_log)
        self.log_button.move(4, 4)
        self.log_button.hide()  # shown while the pointer is over the plot (or while it is on)
        span_title(self)
        theme.register_plot(self)

    def enterEvent(self, event) -> None:
        self.log_button.show()
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self.log_button.setVisible(self.log_y)
        super().leaveEvent(event)

    def set_log(self, on: bool) -> None:
        self.log_y = bool(on)
        self.log_button.setChecked(self.log_y)
        self.getPlotItem().setLogMode(False, self.log_y)
        self.redraw()

    def show_series(self, keys) -> None:
        """Show only these curves (and legend entries): a lab whose mode decides what is measured."""
        legend = self.getPlotItem().legend
        if legend is not None:
            legend.clear()
        for key, curve in self.curves.items():
            curve.setVisible(key in keys)
            if key in keys and legend is not None:
                legend.addItem(curve, self.labels[key])

    def emphasize(self, key: str, on: bool) -> None:
        """Draw the series ``key`` thick (a card term that it plots is hovered), or back to normal."""
        curve = self.curves[key]
        kept = getattr(self, "_plain_pens", {})
        self._plain_pens = kept
        if on and key not in kept:
            pen = pg.mkPen(curve.opts["pen"])
            kept[key] = pg.mkPen(pen)
            pen.setWidthF(max(2.0, pen.widthF()) * 3)
            curve.setPen(pen)
            curve.setZValue(10)
        elif not on and key in kept:
            curve.setPen(kept.pop(key))
            curve.setZValue(0)

    def append(self, key: str, x, y) -> None:
        if key in self.buffers and len(x):
            self.buffers[key].extend(x, y)
            self.changed = True

    changed = False  # data appended since the last redraw
    MIN_REDRAW_SECONDS = 0.1  # curves need no more than 10 redraws/s; each costs a repaint of plot and axes
    _last_redraw = 0.0

    def redraw_if_changed(self) -> None:
        if not self.changed:
            return
        wait = self._last_redraw + self.MIN_REDRAW_SECONDS - time.perf_counter()
        if wait <= 0 or _deferred is not None:
            self.redraw()
        elif not getattr(self, "_flush_pending", False):
            # drawn a little later, so the newest rows show even if no further snapshot comes
            self._flush_pending = True
            QTimer.singleShot(int(wait * 1000) + 1, self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if self.changed:
            self.redraw()

    def set_marker(self, step: int | None) -> None:
        """A vertical line at ``step`` (the timeline's position), or none."""
        marker = getattr(self, "_marker", None)
        if step is None:
            if marker is not None:
                marker.hide()
            return
        if marker is None:
            marker = self._marker = pg.InfiniteLine(angle=90, movable=False,
                                                    pen=pg.mkPen(theme.colors()["text"], width=2, style=Qt.DashLine))
            self.addItem(marker, ignoreBounds=True)
        marker.setValue(step)
        marker.show()

    def redraw(self) -> None:
        if _deferred is not None:
            _deferred.add(self)
            return
        self.changed = False
        self._last_redraw = time.perf_counter()
        drawn, bands = [], {}
        columns = self.curve_points()
        keep = (lambda v: np.isfinite(v) & (v > 0)) if self.log_y else np.isfinite
        view = np.log10 if self.log_y else (lambda v: v)
        for key, buf in self.buffers.items():
            curve = self.curves[key]
            x, lo, hi, raw = buf.groups(columns * self._zoom(buf), keep)
            # a band once there are at least half as many groups as pixel columns; a polyline before
            # (and for a curve with markers, whose points are few)
            band = isinstance(curve, EnvelopeCurve) and curve.opts["symbol"] is None and len(x) * 2 > columns
            vlo, vhi = view(lo), (view(hi) if hi is not lo else None)
            if band:
                bands[key] = (x, vlo, vhi if vhi is not None else vlo)
            else:
                if isinstance(curve, EnvelopeCurve):
                    curve.set_columns(None)
                if raw:
                    curve.setData(x, lo, connect="all")
                else:
                    curve.setData(np.repeat(x, 2), np.column_stack([lo, hi]).ravel(), connect="all")
            if len(x) and curve.isVisible():
                drawn.append((x, vlo, vhi if vhi is not None else vlo))
        if not self.hand.holds():
            self._robust_y_range(drawn)
            self._steady_x_range(drawn)
        for key, columns_ in bands.items():  # after the ranges: the pen's half width above and below is in pixels
            self.curves[key].set_columns(*columns_)
        settle(self)

    def curve_points(self) -> int:
        """Groups of an envelope across the view: one per device pixel column (a band of filled
        columns then leaves none out), at least ``MIN_CURVE_POINTS``, at most ``CURVE_POINTS``."""
        width = self.getPlotItem().getViewBox().width() * self.devicePixelRatioF()
        return int(min(CURVE_POINTS, max(MIN_CURVE_POINTS, width))) if width > 0 else MIN_CURVE_POINTS

    def _zoom(self, buf: CurveBuffer) -> int:
        """How many times the steps in view fit into the whole series (1 unless zoomed in by hand):
        the envelope then has as many groups per pixel column in view as it has unzoomed."""
        if not self.hand.holds() or not len(buf.x):
            return 1
        v0, v1 = self.getPlotItem().getViewBox().viewRange()[0]
        span = float(buf.x[-1] - buf.x[0])
        return int(np.clip(span / max(v1 - v0, 1e-9), 1, MAX_ZOOM_GROUPS))

    X_HEADROOM = 1.25  # the step axis reaches a quarter past the newest step; it moves again only once that is used

    def _regroup(self) -> None:
        self.changed = True  # at the curves' redraw rate
        self.redraw_if_changed()

    def _steady_x_range(self, drawn: list) -> None:
        """Steps from the first to a quarter past the newest, extended by a quarter again only once
        the curves reach the right edge. A range that follows every snapshot slides the tick labels
        along under the class's eyes and re-lays the step axis at every redraw (2.5 of a curve plot's
        6 ms a paint, measured); this one holds still for seconds at a time."""
        vb = self.getPlotItem().getViewBox()
        if not drawn:
            return
        x0 = min(float(x[0]) for x, *_ in drawn)
        x1 = max(float(x[-1]) for x, *_ in drawn)
        (v0, v1), auto = vb.viewRange()[0], vb.autoRangeEnabled()[0]
        span = max(x1 - x0, 1.0)
        pad = 0.02 * span
        holds = (not auto and v0 <= x0 - pad * 0.5 and x1 <= v1
                 and x1 - x0 >= 0.5 * (v1 - v0) / self.X_HEADROOM and v0 >= x0 - 2 * pad - 1)
        if not holds:
            self.setXRange(x0 - pad, x0 + span * self.X_HEADROOM, padding=0)

    def _robust_y_range(self, drawn: list) -> None:
        """Fit y to the later 90 % of training, so the first steps' huge losses do not flatten
        everything after them (the early part is still drawn, clipped at the top). ``drawn``: the
        (x, smallest, largest) drawn per visible curve (a group per pixel column at most)."""
        if not drawn:
            return
        # a lone spike does not rescale the plot (it is drawn, clipped); the newest value always shows
        lo = min(min(_quantile(y, 0.005), float(y[-1])) for _, y, _ in drawn)
        late = [y[x >= x[0] + 0.1 * (x[-1] - x[0])] for x, _, y in drawn]
        late = [y for y in late if len(y)]
        hi = max(max(_quantile(y, 0.995), float(y[-1])) for y in late) if late else lo + 1
        if self.reference_y is not None:
            ref = np.log10(self.reference_y) if self.log_y and self.reference_y > 0 else self.reference_y
            if not self.log_y or self.reference_y > 0:
                lo, hi = min(lo, ref), max(hi, ref)
        pad = 0.08 * max(hi - lo, 1e-6)
        # room at the top for the legend: as much of the range as the legend takes of the plot's
        # height, so no curve runs under it however short the plot is
        frac = 0.15
        legend = self.getPlotItem().legend
        height = self.getPlotItem().getViewBox().height()
        if legend is not None and legend.isVisible() and height > 0:
            frac = min(0.5, (legend.boundingRect().height() + 10) / height)
        span = hi - lo + 2 * pad
        target = (lo - pad, hi + pad + span * frac / (1 - frac))
        # hysteresis: a range that moved by less than 3 % keeps the axes' cached drawing
        current = self.getPlotItem().getViewBox().viewRange()[1]
        tol = 0.03 * (target[1] - target[0])
        if abs(current[0] - target[0]) > tol or abs(current[1] - target[1]) > tol:
            self.setYRange(*target, padding=0)

    def clear_data(self) -> None:
        for key, buf in self.buffers.items():
            buf.clear()
            self.curves[key].setData([], [])
            if isinstance(self.curves[key], EnvelopeCurve):
                self.curves[key].set_columns(None)


class BarPlot(pg.PlotWidget):
    """Bars from 0; the y axis reaches at least ``floor`` (in the bars' units), so bars near zero look near zero
    (KLs of 0.00003 nats once filled the view, under ticks of 2.5e-05)."""

    def __init__(self, title: str, x_label: str = "", y_label: str = "", floor: float = 1.0):
        super().__init__()
        self.floor = float(floor)
        self.setTitle(title, size=theme.title_size())
        self.setLabel("bottom", x_label)
        self.setLabel("left", y_label)
        self.getPlotItem().getViewBox().setMenuEnabled(False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=theme.CURVE_COLORS[0])
        self.addItem(self.bars)
        self.lit: int | None = None  # the bar a card's term highlights (emphasize)
        self._last: tuple | None = None
        span_title(self)
        theme.register_plot(self)

    def emphasize(self, index: int, on: bool) -> None:
        """Draw bar ``index`` in the highlight colour with a thick outline (a card's term is hovered), or not."""
        self.lit = int(index) if on else None
        if self._last is not None:
            self.set_values(*self._last)

    def set_values(self, values: np.ndarray, brushes=None) -> None:
        self._last = (values, brushes)
        brushes = list(brushes or [theme.CURVE_COLORS[0]] * len(values))
        pens = None
        if self.lit is not None and 0 <= self.lit < len(values):
            brushes[self.lit] = "#ff7f0e"  # the bars' own colours are blues and class colours
            pens = [pg.mkPen(None)] * len(values)
            pens[self.lit] = pg.mkPen(theme.colors()["text"], width=3)
        x = np.arange(len(values))
        if len(values) != self._count:  # ticks and x range only when the number of bars changes
            self._count = len(values)
            step = max(1, -(-len(values) // 13))  # at most ~13 labels, so they never run together
            self.getPlotItem().getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, len(values), step)]])
            self.setXRange(-0.6, max(len(values), 1) - 0.4, padding=0)
        heights = np.asarray(values, float)
        self.bars.setOpts(x=x, height=heights, width=0.7, brushes=brushes, pens=pens)
        # counts start at 0; all-zero bars keep a 0..floor axis rather than pyqtgraph's -10..10 default
        finite = heights[np.isfinite(heights)]
        top = float(finite.max()) if finite.size else 0.0
        low = min(0.0, float(finite.min())) if finite.size else 0.0
        need = max(top, low + self.floor)
        # the y axis holds while the tallest bar fills 70-100 % of it: re-laying both axes at every
        # frame was most of a bar plot's paint (2 of 3 ms, measured); refitted with 8 % to spare
        held = self._y_top is not None and low == self._y_low and low + 0.7 * (self._y_top - low) <= need <= self._y_top
        if not held:
            self._y_low, self._y_top = low, low + 1.08 * (need - low)
            self.setYRange(low - 0.02 * (self._y_top - low), self._y_top, padding=0)

    _count = -1  # bars drawn (their ticks laid out)
    _y_low: float | None = None
    _y_top: float | None = None


def move_points(item: pg.ScatterPlotItem, x: np.ndarray, y: np.ndarray) -> None:
    """``item.setData(x, y)``, in place when the number of points is unchanged (the same test set
    encoded again at every frame): setData builds every point's record and looks its symbol up in
    the atlas one by one in Python (docs/references.md, "Figures behind design choices"); the points
    keep their style, only x and y are new."""
    data = item.data
    if len(data) != len(x) or not len(x):
        item.setData(x, y)
        return
    data["x"], data["y"] = x, y
    item.prepareGeometryChange()  # what ScatterPlotItem.addPoints does once the records are set
    item.informViewBoundsChanged()
    item.bounds = [None, None]
    item.invalidate()
    item.sigPlotChanged.emit(item)


class ClassScatter:
    """Points coloured by class: one ScatterPlotItem whose points keep their class's brush while
    only their positions change from frame to frame (:func:`move_points`; one item per class cost
    four times as much a frame: docs/references.md, "Figures behind design choices"). Above
    HISTOGRAM_ABOVE points a 2-D histogram image instead. The legend's entries are one empty item
    per class; a click on one hides that class's points (pyqtgraph's legend toggles its item)."""

    def __init__(self, plot: pg.PlotWidget, class_names: list[str], size: float = 6):
        self.plot = plot
        self.items = []  # the legend's samples, one per class, never drawn in the view
        # beside the view, in the plot's own layout: wherever inside the view it went, some cluster
        # of a 2-D latent lay under it (a whole class hidden on a projector)
        self.legend = outside_legend(plot, "right")
        for i, name in enumerate(class_names):
            item = pg.ScatterPlotItem(size=size, pen=None, brush=pg.mkBrush(theme.class_color(i)))
            self.legend.addItem(item, name)
            item.visibleChanged.connect(self._show_classes)
            self.items.append(item)
        self.points = pg.ScatterPlotItem(size=size, pen=None)
        plot.addItem(self.points)
        self.labels: np.ndarray | None = None  # the class of each point drawn
        plot.restyle_hooks = [*getattr(plot, "restyle_hooks", []), self.restyle]
        theme.register_plot(plot)
        self.hist = pg.ImageItem()
        self.hist.setZValue(-10)
        plot.addItem(self.hist)
        # the view's range changes only when points leave it or fill a small part of it: a range that
        # follows every frame re-lays the axes and repaints the plot ~10 times a second
        self.keep_in_view: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1 always shown
        self.hand = HandRange(plot.getPlotItem().getViewBox())
        self.steady = True

    def steady_range(self, points: np.ndarray) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        if self.hand.holds():
            return
        points = np.asarray(points, dtype=np.float64)  # float32 ranges overflow in pyqtgraph's limit checks
        finite = points[np.isfinite(points).all(1)] if len(points) else points
        if not len(finite) and self.keep_in_view is None:
            return
        lo = finite.min(0) if len(finite) else np.array([np.inf, np.inf])
        hi = finite.max(0) if len(finite) else np.array([-np.inf, -np.inf])
        if self.keep_in_view is not None:
            x0, x1, y0, y1 = self.keep_in_view
            lo, hi = np.minimum(lo, [x0, y0]), np.maximum(hi, [x1, y1])
        span = np.maximum(hi - lo, 1e-6)
        (vx0, vx1), (vy0, vy1) = vb.viewRange()
        inside = lo[0] >= vx0 and hi[0] <= vx1 and lo[1] >= vy0 and hi[1] <= vy1
        tight = span[0] > 0.55 * (vx1 - vx0) or span[1] > 0.55 * (vy1 - vy0)
        if any(vb.autoRangeEnabled()):
            vb.disableAutoRange()
        elif inside and tight:
            return
        pad = 0.06 * span
        vb.setRange(xRange=(float(lo[0] - pad[0]), float(hi[0] + pad[0])),
                    yRange=(float(lo[1] - pad[1]), float(hi[1] + pad[1])), padding=0)

    def restyle(self) -> None:
        """After a theme switch: class colours of the new theme (class 9 is white on dark)."""
        for i, item in enumerate(self.items):
            item.setBrush(pg.mkBrush(theme.class_color(i)))
        if self.labels is not None:
            self.points.setBrush(self._brushes())

    def _brushes(self) -> list:
        brushes = [item.opts["brush"] for item in self.items]
        return [brushes[i] for i in self.labels]

    def _show_classes(self) -> None:
        """Only the points of the classes whose legend entry is on."""
        if self.labels is not None and len(self.labels):
            shown = np.array([item.isVisible() for item in self.items])
            self.points.setPointsVisible(shown[self.labels])

    def set_points(self, points: np.ndarray, labels: np.ndarray) -> None:
        if len(points) > HISTOGRAM_ABOVE:
            self.points.setData([], [])
            self.labels = None
            lo, hi = points.min(0), points.max(0)
            counts, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=128,
                                          range=[[lo[1], hi[1]], [lo[0], hi[0]]])
            img = np.log1p(counts).astype(np.float32)
            self.hist.setImage(img, levels=(0, max(1e-6, float(img.max()))))
            self.hist.setRect(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
            if self.steady:
                self.steady_range(np.array([lo, hi]))
            return
        self.hist.clear()
        labels = np.asarray(labels)
        known = (labels >= 0) & (labels < len(self.items))  # a point of no listed class is not drawn
        if not known.all():
            points, labels = points[known], labels[known]
        if self.labels is not None and np.array_equal(labels, self.labels):
            move_points(self.points, points[:, 0], points[:, 1])  # the same points, moved
        else:
            self.labels = labels.astype(int)
            self.points.setData(points[:, 0], points[:, 1], brush=self._brushes())
            self._show_classes()
        if self.steady:
            self.steady_range(points)

    def remove(self) -> None:
        self.plot.removeItem(self.points)
        self.plot.removeItem(self.hist)
        self.plot.getPlotItem().layout.removeItem(self.legend)
        self.legend.scene() and self.legend.scene().removeItem(self.legend)
        self.plot.getPlotItem().legend = None
        self.plot.restyle_hooks = [h for h in getattr(self.plot, "restyle_hooks", []) if h != self.restyle]


def ellipse_points(center: np.ndarray, cov: np.ndarray, n_sigma: float = 2.0, n: int = 96) -> np.ndarray:
    """Boundary of the n-sigma ellipse of a 2-D Gaussian: center + n_sigma * L [cos, sin]."""
    t = np.linspace(0, 2 * np.pi, n)
    vals, vecs = np.linalg.eigh(np.asarray(cov, float))
    radii = n_sigma * np.sqrt(np.clip(vals, 0, None))
    circle = np.stack([np.cos(t), np.sin(t)], 1) * radii
    return center + circle @ vecs.T


def no_focus(widget) -> None:
    widget.setFocusPolicy(Qt.NoFocus)


# marching squares: for each cell case (corners above the level: 1 top-left, 2 top-right,
# 4 bottom-right, 8 bottom-left), the pairs of cell edges (0 top, 1 right, 2 bottom, 3 left) joined
_CONTOUR_CASES = {1: [(0, 3)], 2: [(0, 1)], 3: [(1, 3)], 4: [(1, 2)], 5: [(0, 3), (1, 2)], 6: [(0, 2)],
                  7: [(2, 3)], 8: [(2, 3)], 9: [(0, 2)], 10: [(0, 1), (2, 3)], 11: [(1, 2)], 12: [(1, 3)],
                  13: [(0, 1)], 14: [(0, 3)]}


def contour_segments(z: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``level`` contour of a grid ``z`` (rows, cols) as line segments, vectorised marching
    squares: x, y arrays of segment end points in pairs (draw with connect="pairs"), in pixel
    units of an image of ``z`` (sample (r, c) at the centre of pixel c, r). pyqtgraph's own
    isocurve is pure Python and far slower (docs/references.md, "Figures behind design choices")."""
    z = np.asarray(z, dtype=np.float64)
    above = z > level
    a, b, c, d = above[:-1, :-1], above[:-1, 1:], above[1:, 1:], above[1:, :-1]
    case = a * 1 + b * 2 + c * 4 + d * 8
    # only the cells the contour crosses (a few hundred of a 200 x 200 grid) get their crossings
    rr, cc = np.nonzero((case > 0) & (case < 15))
    if not len(rr):
        return np.zeros(0), np.zeros(0)
    case = case[rr, cc]
    zt, zr, zb, zl = z[rr, cc], z[rr, cc + 1], z[rr + 1, cc + 1], z[rr + 1, cc]
    rows, cols = rr.astype(np.float64), cc.astype(np.float64)

    def frac(z0, z1):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (level - z0) / (z1 - z0)
        return np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)

    edges = [(rows, cols + frac(zt, zr)), (rows + frac(zr, zb), cols + 1), (rows + 1, cols + frac(zl, zb)),
             (rows + frac(zt, zl), cols)]
    xs, ys = [], []
    for k, pairs in _CONTOUR_CASES.items():
        sel = case == k
        if not sel.any():
            continue
        for e0, e1 in pairs:
            r0, c0 = edges[e0][0][sel], edges[e0][1][sel]
            r1, c1 = edges[e1][0][sel], edges[e1][1][sel]
            xs.append(np.stack([c0, c1], 1).ravel())
            ys.append(np.stack([r0, r1], 1).ravel())
    return np.concatenate(xs) + 0.5, np.concatenate(ys) + 0.5
