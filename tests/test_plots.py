"""Shared plot widgets: a class legend beside the view (off the data), count bars
start at 0 even when every count is 0, SVG text runs are joined."""
import time

import numpy as np
import pyqtgraph as pg
import pytest

from genviz.ui import theme
from genviz.ui.export import join_text_runs
from genviz.ui.plots import BarPlot, ClassScatter, make_plot


def test_the_class_legend_sits_beside_the_view_never_on_a_cluster(qtbot):
    """Issue 39: inside the view, wherever it went, the legend hid some cluster of a full latent plane."""
    theme.apply_theme("light")
    plot = make_plot("latent")
    qtbot.addWidget(plot)
    plot.resize(500, 400)
    plot.show()
    qtbot.waitExposed(plot)
    scatter = ClassScatter(plot, [str(i) for i in range(10)])
    rng = np.random.default_rng(0)
    everywhere = rng.uniform(-3, 3, (2000, 2))  # the whole plane taken
    scatter.set_points(everywhere, rng.integers(0, 10, len(everywhere)))
    qtbot.wait(50)
    vb = plot.getPlotItem().getViewBox()
    legend = scatter.legend.sceneBoundingRect()
    assert legend.width() > 20 and 100 < legend.height() < 0.8 * vb.sceneBoundingRect().height()  # its entries' room
    line = pg.PlotCurveItem([0, 1], [0, 1])
    scatter.legend.addItem(line, "prior, 2σ — an entry added later")  # as the manifold lab adds its prior
    qtbot.wait(50)
    legend = scatter.legend.sceneBoundingRect()
    widest = max(label.boundingRect().width() for _, label in scatter.legend.items)
    assert legend.width() >= widest  # no entry cut
    assert legend.left() >= vb.sceneBoundingRect().right() - 1, (legend, vb.sceneBoundingRect())
    assert legend.right() <= plot.width() + 1  # and within the view's widget
    assert plot.getPlotItem().legend is scatter.legend
    scatter.remove()
    assert plot.getPlotItem().legend is None


def test_all_zero_counts_keep_a_plain_axis_from_zero(qtbot):
    bars = BarPlot("per mode", "mode", "samples")
    qtbot.addWidget(bars)
    bars.set_values(np.zeros(8))
    (x0, x1), (y0, y1) = bars.getPlotItem().getViewBox().viewRange()
    assert -0.1 < y0 <= 0 and 0.9 < y1 < 1.2 and x0 < 0 < 7 < x1 < 8
    bars.set_values(np.array([0, 40, 3]))
    (_, _), (y0, y1) = bars.getPlotItem().getViewBox().viewRange()
    assert y0 <= 0 and 40 <= y1 < 45


def test_near_zero_bars_look_near_zero(qtbot):
    """A collapsed VAE's KLs (3e-5 nats) once filled the KL view under ticks of 2.5e-05: the axis reaches its floor."""
    bars = BarPlot("KL per latent dimension", "dimension", "nats", floor=0.5)
    qtbot.addWidget(bars)
    bars.set_values(np.array([2.7e-5, 2.9e-5]))
    (_, _), (y0, y1) = bars.getPlotItem().getViewBox().viewRange()
    assert y0 <= 0 and 0.5 <= y1 < 0.6
    bars.set_values(np.array([0.1, 2.0]))
    assert 2.0 <= bars.getPlotItem().getViewBox().viewRange()[1][1] < 2.2


def test_bars_that_grow_a_little_keep_their_axes_until_they_outgrow_them(qtbot):
    """Issue 37: a bar plot re-laid both axes at every frame (2 of its 3 ms a paint). The y axis holds
    while the tallest bar fills 70-100 % of it; the ticks wait for a new number of bars."""
    bars = BarPlot("KL per latent dimension", "dimension", "nats", floor=0.5)
    qtbot.addWidget(bars)
    vb, axis = bars.getPlotItem().getViewBox(), bars.getPlotItem().getAxis("bottom")
    bars.set_values(np.array([1.0, 2.0, 3.0]))
    y_range, ticks = vb.viewRange()[1], axis._tickLevels
    assert 3.0 <= y_range[1] < 3.3
    for top in (3.1, 3.2, 2.5):  # within the axis, filling most of it: nothing moves
        bars.set_values(np.array([1.0, 2.0, top]))
        assert vb.viewRange()[1] == y_range and axis._tickLevels is ticks
    bars.set_values(np.array([1.0, 2.0, 4.0]))  # past the top: refitted
    assert 4.0 <= vb.viewRange()[1][1] < 4.4
    bars.set_values(np.array([1.0, 2.0, 1.5]))  # a third of it left empty: refitted
    assert 2.0 <= vb.viewRange()[1][1] < 2.2
    bars.set_values(np.arange(20.0))  # more bars: new ticks and x range
    assert axis._tickLevels is not ticks and vb.viewRange()[0][1] > 19


def test_svg_text_runs_on_one_baseline_are_joined():
    svg = ('<g><text fill="#000" x="4" y="15.1" font-size="9"\n >prior, 2</text>\n'
           '<text fill="#000" x="47.3" y="15.1" font-size="9"\n >σ</text>\n'
           '<text fill="#000" x="4" y="30" font-size="9"\n >next line</text></g>')
    out = join_text_runs(svg, width=lambda text, attrs: 43.3 if text == "prior, 2" else 5.0 * len(text))
    assert ">prior, 2σ</text>" in out and ">next line</text>" in out and out.count("<text") == 2


def test_svg_tick_labels_on_one_baseline_stay_apart():
    """Issue 39: an axis's tick labels share a baseline and a style but not a label ("05001k1.5k")."""
    ticks = "".join(f'<text fill="#000" x="{x}" y="13.1" font-size="9"\n >{t}</text>\n'
                    for x, t in ((14, "0"), (115.5, "500"), (220.8, "1k"), (329.9, "1.5k")))
    out = join_text_runs(f"<g>{ticks}</g>", width=lambda text, attrs: 5.0 * len(text))
    assert out.count("<text") == 4 and all(f">{t}</text>" in out for t in ("0", "500", "1k", "1.5k"))
    assert "\0" not in out


def test_a_class_scatter_keeps_its_range_until_points_leave_it_or_shrink_inside_it(qtbot):
    theme.apply_theme("light")
    plot = make_plot("latent")
    qtbot.addWidget(plot)
    plot.resize(400, 400)
    plot.show()
    scatter = ClassScatter(plot, ["a", "b"])
    scatter.keep_in_view = (-2.1, 2.1, -2.1, 2.1)
    vb = plot.getPlotItem().getViewBox()
    rng = np.random.default_rng(1)
    pts = rng.normal(0, 1, (300, 2))
    labels = rng.integers(0, 2, 300)
    scatter.set_points(pts, labels)
    first = vb.viewRange()
    assert first[0][0] <= -2.1 and first[0][1] >= 2.1  # the prior's circle is always in view
    scatter.set_points(pts * 1.02, labels)  # points move a little: the axes stay
    assert vb.viewRange() == first
    scatter.set_points(pts * 5, labels)  # they spread beyond the view: it grows to hold them
    grown = vb.viewRange()
    assert grown[0][1] - grown[0][0] > 2 * (first[0][1] - first[0][0])
    scatter.set_points(pts * 0.01, labels)  # collapse to a dot: back to the prior's scale, not the dot's
    back = vb.viewRange()
    assert 4.2 <= back[0][1] - back[0][0] < 6
    vb.sigRangeChangedManually.emit([True, True])  # a zoom by hand holds
    vb.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
    scatter.set_points(pts * 5, labels)
    assert vb.viewRange()[0] == [0.0, 1.0]


def test_a_class_scatter_moves_its_points_in_place_and_keeps_their_classes(qtbot):
    """Issue 37: ten items, one per class, set again at every frame cost a 2,000-point latent plane 9 ms
    a frame; one item whose points keep their class's brush is moved in place. What it draws is what
    setting it afresh draws; a click on a legend entry hides that class; a theme switch recolours."""
    theme.apply_theme("light")
    plot = make_plot("latent")
    qtbot.addWidget(plot)
    plot.resize(400, 400)
    plot.show()
    qtbot.waitExposed(plot)
    scatter = ClassScatter(plot, list("abcdefghij"))
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 11, 500)  # class 10 is not listed: not drawn
    pts = rng.normal(size=(500, 2))
    scatter.set_points(pts, labels)
    records = scatter.points.data
    moved = pts * 2 + 1
    scatter.set_points(moved, labels)
    assert scatter.points.data is records  # moved, not rebuilt
    fresh = pg.ScatterPlotItem(size=6, pen=None)
    fresh.setData(moved[labels < 10, 0], moved[labels < 10, 1])
    assert np.array_equal(scatter.points.getData()[0], fresh.getData()[0])
    assert np.array_equal(scatter.points.getData()[1], fresh.getData()[1])
    for ax in (0, 1):
        assert scatter.points.dataBounds(ax) == fresh.dataBounds(ax)  # the view's auto range sees the move
    color = lambda b: b.color().name()  # noqa: E731
    assert [color(b) for b in scatter.points.data["brush"]] == [theme.class_color(i).lower() for i in labels[labels < 10]]
    scatter.items[1].setVisible(False)  # what a click on legend entry "b" does
    assert np.array_equal(scatter.points.data["visible"], labels[labels < 10] != 1)
    scatter.items[1].setVisible(True)
    assert scatter.points.data["visible"].all()
    scatter.set_points(pts[:100], labels[:100])  # other points: built afresh
    assert len(scatter.points.data) == (labels[:100] < 10).sum()
    theme.apply_theme("dark")
    try:
        assert theme.class_color(9) != "#000000"  # black points on a dark background: class 9 changes
        kept = labels[:100][labels[:100] < 10]
        assert [color(b) for b in scatter.points.data["brush"]] == [theme.class_color(i).lower() for i in kept]
    finally:
        theme.apply_theme("light")


def test_a_long_noisy_curve_keeps_one_noise_level_from_first_step_to_last():
    """Issue 39: a constant noise (an estimator's samples) looked as if it grew over training, old
    points averaged in pairs and new ones raw. Drawn as an envelope of equal bins it stays level."""
    from genviz.ui.plots import CURVE_POINTS, CurveBuffer

    rng = np.random.default_rng(0)
    buf = CurveBuffer(cap=5000)
    n, chunk = 300_000, 137  # rows arrive a few at a time, as snapshots bring them
    for start in range(0, n, chunk):
        steps = np.arange(start, min(n, start + chunk))
        buf.extend(steps, rng.normal(0.0, 1.0, len(steps)))
    assert len(buf._x) <= buf.cap and buf.stride > 1
    x, y = buf.drawn(CURVE_POINTS)
    assert len(x) <= 2 * CURVE_POINTS and x[0] < 1000 and x[-1] > n - 1000
    width = y[1::2] - y[0::2]  # each pixel column's spread: max minus min
    quarter = len(width) // 4
    first, last = width[:quarter].mean(), width[-quarter:].mean()
    assert abs(first / last - 1) < 0.1, (first, last)
    # 375 raw N(0, 1) points per column span about ±2.9 sd: the noise is drawn, not averaged away
    assert 4.5 < last < 7.0, last
    # the mean of every bin is still the mean of its points
    assert abs(buf.y.mean()) < 0.02


def test_a_short_curve_is_drawn_point_for_point():
    from genviz.ui.plots import CurveBuffer

    buf = CurveBuffer()
    buf.extend(np.arange(30), np.arange(30.0) ** 2)
    x, y = buf.drawn(800)
    assert np.array_equal(x, np.arange(30)) and np.array_equal(y, np.arange(30.0) ** 2)
    x, y = buf.drawn(800, keep=lambda v: v > 0)  # a log axis leaves out what it cannot draw
    assert x[0] == 1 and len(x) == 29


def test_log_axis_labels_only_the_ticks_there_is_room_for(qtbot):
    """Issue 39: a log axis labelled every minor tick, running together ("3·10¹4·10 5 6 7 8 9 10²")."""
    from PySide6.QtGui import QFontMetricsF

    from genviz.ui.plots import make_plot

    theme.apply_theme("light")
    plot = make_plot("variance", "samples n", "variance")
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    plot.plot([1, 2, 4, 8, 16, 32, 64, 128], [30, 15, 7, 4, 2, 1, 0.5, 0.2])
    plot.getPlotItem().setLogMode(True, True)
    qtbot.wait(50)
    axis = plot.getPlotItem().getAxis("bottom")
    lo, hi = axis.range
    labels = []
    for spacing, values in axis.tickValues(lo, hi, axis.width()):
        labels += [(v, t) for v, t in zip(values, axis.tickStrings(values, axis.scale, spacing or 1.0)) if t]
    texts = [t for _, t in labels]
    assert {"1", "10", "100"} <= set(texts) and not any("·" in t for t in texts), texts
    # neighbouring labels do not touch: the gap between their centres exceeds their half widths
    metrics = QFontMetricsF(axis.style["tickFont"] or plot.font())
    px = sorted((axis.width() * (v - lo) / (hi - lo), metrics.horizontalAdvance(t)) for v, t in labels)
    assert all(b[0] - a[0] > (a[1] + b[1]) / 2 + 2 for a, b in zip(px, px[1:])), px


def _count_paints(view):
    """Count ``view``'s paints (its viewport's Paint events)."""
    from PySide6.QtCore import QEvent, QObject

    class Counter(QObject):
        n = 0

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint:
                self.n += 1
            return False

    counter = Counter(view)
    counter.view = view
    view.viewport().installEventFilter(counter)
    return counter


def _paints_of(qtbot, counter, draw, painted: bool = True) -> int:
    """Paints that follow ``draw()``: waited for (however loaded the machine), then a while longer, so a
    second paint (which follows the first by one of Qt's 5 ms repaint delays) is counted too."""
    before = counter.n
    draw()
    if painted:
        qtbot.waitUntil(lambda: counter.n > before, timeout=10_000)
    qtbot.wait(200)
    return counter.n - before


def test_a_curve_plot_paints_once_per_update(qtbot):
    """Issue 37: pyqtgraph fits an auto-ranged view inside the paint, and the transform it changes there
    scheduled a second, identical paint of the whole plot (two paints per update, 6 ms each on a
    curve plot: the GUI's largest cost). ``settle`` fits the view before the paint."""
    from genviz.ui.plots import CurvePlot

    theme.apply_theme("light")
    plot = CurvePlot("curves", {"a": "a", "b": "b"})
    qtbot.addWidget(plot)
    plot.resize(800, 300)
    plot.show()
    qtbot.waitExposed(plot)
    counter = _count_paints(plot)
    rng = np.random.default_rng(0)
    paints = []
    for i in range(5):
        x = np.arange(50 * i, 50 * (i + 1))  # the x range grows each time, as in training
        plot.append("a", x, rng.normal(size=50))
        plot.append("b", x, 2 + rng.normal(size=50))
        paints.append(_paints_of(qtbot, counter, plot.redraw))
    assert paints[1:] == [1, 1, 1, 1], paints
    lo, hi = plot.getPlotItem().getViewBox().viewRange()[0]
    assert lo <= 0 and hi >= 249  # and the view did follow the data


def test_a_lab_view_paints_once_per_frame(qtbot):
    """Issue 37: the manifold lab cleared its (empty) aggregate-density image on every frame, which
    repainted the latent plot a second time; with ``settle`` in the panel's draws each view of a frame
    paints once."""
    from genviz.core.labs import get_lab
    from genviz.labs.manifold.panel import ManifoldPanel

    theme.apply_theme("light")
    panel = ManifoldPanel(get_lab("manifold"))
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    panel.show()
    qtbot.waitExposed(panel)
    counter = _count_paints(panel.latent_plot)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    panel.static = {"eval_labels": labels}
    from genviz.ui.plots import ClassScatter
    panel.scatter = ClassScatter(panel.latent_plot, [str(i) for i in range(10)])
    paints = []
    for i in range(4):
        data = {"points": rng.normal(size=(500, 2)) * (1 + i)}
        # the panel draws its views in turns: each may repaint on its own
        scatter = _paints_of(qtbot, counter, lambda: panel.guarded("the scatter", panel._draw_scatter, data))
        aggregate = _paints_of(qtbot, counter, lambda: panel.guarded("the aggregate", panel._draw_aggregate, data),
                               painted=False)
        paints.append(scatter + aggregate)
    assert paints[1:] == [1, 1, 1], paints


def _axis_layouts(plot) -> list[int]:
    """How many times each of ``plot``'s axes has laid out its ticks and labels so far."""
    counts = []
    for name in ("bottom", "left"):
        axis = plot.getPlotItem().getAxis(name)
        if not hasattr(axis, "_layouts"):
            axis._layouts = 0
            original = axis.generateDrawSpecs

            def counted(painter, axis=axis, original=original):
                axis._layouts += 1
                return original(painter)

            axis.generateDrawSpecs = counted
        counts.append(axis._layouts)
    return counts


def test_an_auto_ranged_plot_holds_its_axes_while_the_data_fit_them(qtbot):
    """Issue 37: a histogram refitted to every snapshot re-laid both axes 28 times a second (2-3 ms each)
    and jittered on a projector. The range now holds while the data stay inside and fill most of it,
    grows with room to spare when they leave it, shrinks when they fill little of it, and the "A"
    button (or a lab's enableAutoRange) fits it tightly again."""
    from genviz.ui.plots import SteadyViewBox

    theme.apply_theme("light")
    plot = make_plot("estimates", "value", "density")
    qtbot.addWidget(plot)
    plot.resize(500, 350)
    plot.show()
    qtbot.waitExposed(plot)
    vb = plot.getPlotItem().getViewBox()
    assert isinstance(vb, SteadyViewBox)
    plot.addItem(pg.InfiniteLine(0.3))  # an item that follows the view: it once made two ranges alternate forever
    curve = plot.plot([], [])
    rng = np.random.default_rng(0)
    base = rng.normal(size=200)

    def show(x, y):
        curve.setData(x, y)
        plot.getPlotItem().scene().prepareForPaint()
        return vb.viewRange()

    show(np.arange(200) / 100, base)  # the first fit is pyqtgraph's (tight)
    first = show(np.arange(200) / 100 * 1.01, base * 1.01)  # they grow past it: room to spare
    assert first[1][1] - first[1][0] > 1.15 * 1.01 * (base.max() - base.min())
    for i in range(20):  # the data wobble by a few per cent: the range holds
        assert show(np.arange(200) / 100 * (1 - 0.002 * i), base * (1 - 0.004 * i)) == first
    grown = show(np.arange(200) / 100, base * 3)  # they leave it: a new range with room to spare
    span = base.max() * 3 - base.min() * 3
    assert grown[1][1] - grown[1][0] > 1.15 * span and grown[1][0] < 3 * base.min() < 3 * base.max() < grown[1][1]
    assert show(np.arange(200) / 100, base * 3.1) == grown
    shrunk = show(np.arange(200) / 100, base * 0.5)  # they fill a small part of it: it shrinks
    assert shrunk[1][1] - shrunk[1][0] < 0.5 * (grown[1][1] - grown[1][0])
    show(np.arange(200) / 100, base * 0.5 * 1.01)  # grown past the shrunk fit: room to spare
    plot.viewport().repaint()
    layouts = _axis_layouts(plot)
    for i in range(10):
        show(np.arange(200) / 100, base * 0.5 * (1 - 0.002 * i))
        plot.viewport().repaint()
    assert _axis_layouts(plot) == layouts  # ten repaints, no new layout of the axes
    # a zoom by hand turns auto range off; "A" fits the data tightly again (pyqtgraph's own fit)
    vb.setRange(xRange=(-10, 10), yRange=(-10, 10), padding=0)
    assert not any(vb.autoRangeEnabled())
    assert show(np.arange(200) / 100, base)[1] == [-10.0, 10.0]
    vb.enableAutoRange()
    fitted = show(np.arange(200) / 100, base)
    assert fitted[1][1] - fitted[1][0] < 1.15 * (base.max() - base.min())  # padding only, no room to spare


def test_a_curve_plot_holds_its_step_axis_until_the_curves_reach_its_edge(qtbot):
    """Issue 37: the step axis followed every redraw, so its labels slid under the class's eyes and it was
    laid out again each time (2.5 of 6 ms a paint). It now reaches a quarter past the newest step and
    moves again only when the curves get there; a zoom by hand holds until "A"."""
    from genviz.ui.plots import CurvePlot

    theme.apply_theme("light")
    plot = CurvePlot("curves", {"a": "a"})
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    qtbot.waitExposed(plot)
    vb = plot.getPlotItem().getViewBox()
    rng = np.random.default_rng(0)
    plot.append("a", np.arange(1000), rng.normal(size=1000))
    plot.redraw()
    x0, x1 = vb.viewRange()[0]
    assert x0 <= 0 and 1240 <= x1 <= 1260
    ranges = set()
    for i in range(1000, 1240, 20):  # training goes on inside the headroom: the axis holds
        plot.append("a", np.arange(i, i + 20), rng.normal(size=20))
        plot.redraw()
        ranges.add(tuple(vb.viewRange()[0]))
    assert ranges == {(x0, x1)}
    plot.append("a", np.arange(1240, 1300), rng.normal(size=60))  # past the edge: a quarter again
    plot.redraw()
    assert vb.viewRange()[0][1] >= 1.25 * 1299 - 5
    plot.clear_data()  # a new run starts at step 0: the axis fits it, not the old run's steps
    plot.append("a", np.arange(100), rng.normal(size=100))
    plot.redraw()
    assert vb.viewRange()[0][1] < 200
    vb.sigRangeChangedManually.emit([True, False])  # a zoom by hand holds
    vb.setXRange(10, 20, padding=0)
    plot.append("a", np.arange(100, 400), rng.normal(size=300))
    plot.redraw()
    assert vb.viewRange()[0] == [10.0, 20.0]
    vb.enableAutoRange()  # "A"
    plot.redraw()
    assert vb.viewRange()[0][1] >= 399


def _curve_plot(qtbot, series, width=600, height=300):
    from genviz.ui.plots import CurvePlot

    theme.apply_theme("light")
    plot = CurvePlot("curves", series)
    qtbot.addWidget(plot)
    plot.resize(width, height)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


def _ink_rows(plot, key) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel column of the view: the first and last row painted in ``key``'s colour, and
    whether any was (the plot grabbed as an image)."""
    vb = plot.getPlotItem().getViewBox()
    image = plot.grab().toImage().convertToFormat(pg.QtGui.QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine() // 4, 4)[:, :w, :3]
    color = plot.curves[key].opts["pen"].color()
    ink = np.all(rgb == [color.blue(), color.green(), color.red()], axis=2)  # BGRA in memory
    rect = vb.mapRectToScene(vb.boundingRect()).toRect()
    dpr = plot.devicePixelRatioF()
    ink = ink[int(rect.top() * dpr):int(rect.bottom() * dpr), int(rect.left() * dpr):int(rect.right() * dpr)]
    any_ = ink.any(0)
    return np.argmax(ink, 0), ink.shape[0] - 1 - np.argmax(ink[::-1], 0), any_


def test_a_dense_curve_is_painted_as_a_band_of_columns_that_looks_like_its_polyline(qtbot):
    """Issue 37: a noisy curve across a wide plot took 7-9 ms to paint as a 2-pixel polyline (the
    raster engine strokes each segment of a wide pen into a polygon). Once it has about as many
    points as the view has pixel columns it is painted as filled columns: every column of the run
    inked from the smallest to the largest value drawn there, a flat curve as thick as the pen, a
    steep one unbroken; a short curve stays a polyline."""
    from genviz.ui.plots import EnvelopeCurve

    plot = _curve_plot(qtbot, {"noise": "noise", "flat": "flat", "steep": "steep"})
    rng = np.random.default_rng(0)
    n = 50_000
    steps = np.arange(n)
    noise = rng.normal(size=n)
    plot.append("noise", steps, noise)
    plot.append("flat", steps, np.full(n, 2.0))
    plot.append("steep", steps, 8 - 16 * (steps / n) ** 3)
    plot.redraw()
    vb = plot.getPlotItem().getViewBox()
    columns = vb.width() * plot.devicePixelRatioF()
    for key in ("noise", "flat", "steep"):
        curve = plot.curves[key]
        assert isinstance(curve, EnvelopeCurve) and curve.band.isVisible() and not curve.curve.isVisible()
        x0, x1 = curve.band.opts["x0"], curve.band.opts["x1"]
        assert np.array_equal(x0[1:], x1[:-1])  # edge to edge: no column left out
        assert x0[0] <= 0 and x1[-1] >= n - n / columns and 0.75 * columns <= len(x0) <= columns + 1
        x, y = curve.getData()  # the envelope's min and max stay the curve's data (auto range, export)
        assert len(x) == 2 * len(x0) and y.min() <= curve.band.opts["y0"].min() + 1
        # the hidden polyline holds no points (laying them out cost more than the band); "A" fits the band
        assert curve.xData is None or len(curve.xData) == 0
        assert curve.dataBounds(0) == (x[0], x[-1]) and curve.dataBounds(1) == (y.min(), y.max())
    # in each pixel column the noise is inked from the smallest to the largest of its raw points
    top, bottom, inked = _ink_rows(plot, "noise")
    (xr0, xr1), (yr0, yr1) = vb.viewRange()
    rows = int(vb.height() * plot.devicePixelRatioF())
    cols = np.floor((steps - xr0) / (xr1 - xr0) * len(inked)).astype(int)
    to_row = lambda v: (yr1 - v) / (yr1 - yr0) * rows  # noqa: E731
    hi = np.full(len(inked), -np.inf)
    lo = np.full(len(inked), np.inf)
    np.maximum.at(hi, cols, noise)
    np.minimum.at(lo, cols, noise)
    full = np.isfinite(hi) & (to_row(hi) > 2) & (to_row(lo) < rows - 2)  # the column's points all in view
    full[cols.min():cols.min() + 3] = full[cols.max() - 2:] = False  # the ends: a column partly covered
    assert full.sum() > 0.6 * len(inked) and inked[full].all()
    # as far as the column's own points at least, and no further than its neighbours' (a 2-pixel pen
    # reaches into the next column too); the other curves paint over the noise in places
    hi3 = np.maximum(hi, np.maximum(np.r_[hi[1:], -np.inf], np.r_[-np.inf, hi[:-1]]))
    lo3 = np.minimum(lo, np.minimum(np.r_[lo[1:], np.inf], np.r_[np.inf, lo[:-1]]))
    reach_top = (top[full] <= to_row(hi[full]) + 1.5) & (top[full] >= to_row(hi3[full]) - 1.5)
    reach_bottom = (bottom[full] >= to_row(lo[full]) - 1.5) & (bottom[full] <= to_row(lo3[full]) + 1.5)
    assert reach_top.mean() > 0.9 and reach_bottom.mean() > 0.9, (reach_top.mean(), reach_bottom.mean())
    # the flat curve: as thick as its 2-pixel pen
    plot.show_series(["flat"])
    plot.redraw()
    top, bottom, inked = _ink_rows(plot, "flat")
    thick = (bottom - top + 1)[inked]
    assert inked[cols.min() + 2:cols.max() - 2].all() and np.median(thick) in (2, 3)
    # the steep curve: one unbroken line, no column missing, each touching the next
    plot.show_series(["steep"])
    plot.redraw()
    top, bottom, inked = _ink_rows(plot, "steep")
    span = slice(cols.min() + 1, cols.max() - 1)
    assert inked[span].all()
    assert (top[span][1:] <= bottom[span][:-1] + 1).all()  # falling: each column reaches the next one's top
    # hidden with its curve; a short curve is a polyline of its own points
    plot.curves["steep"].setVisible(False)
    assert not plot.curves["steep"].band.isVisible()
    plot.clear_data()  # a new run: no band of the old one stays
    assert not any(c.band.isVisible() for c in plot.curves.values())
    plot.show_series(["noise"])
    plot.append("noise", np.arange(50), rng.normal(size=50))
    plot.redraw()
    curve = plot.curves["noise"]
    assert not curve.band.isVisible() and curve.curve.isVisible() and len(curve.getData()[0]) == 50


def test_the_y_fit_takes_the_same_quantiles_as_numpy():
    """The curve plot's y range quantiles come from one partition: the same numbers as np.percentile."""
    from genviz.ui.plots import _quantile

    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 10, 201, 1400):
        values = rng.standard_cauchy(n)
        for q in (0.005, 0.5, 0.995):
            assert _quantile(values, q) == pytest.approx(np.percentile(values, 100 * q), abs=1e-12)


def test_an_emphasized_band_is_as_thick_as_its_pen_and_a_zoom_by_hand_regroups_it(qtbot):
    """A card hovered draws its curve three times as thick, band or polyline; zoomed in by hand, the
    band is grouped again for the steps in view (not wide blocks of the whole run's columns), and
    the y axis holds as well until "A"."""
    plot = _curve_plot(qtbot, {"flat": "flat"})
    n = 50_000
    plot.append("flat", np.arange(n), np.full(n, 2.0))
    plot.redraw()
    band = plot.curves["flat"].band
    vb = plot.getPlotItem().getViewBox()
    pixel = (vb.viewRange()[1][1] - vb.viewRange()[1][0]) / vb.height()
    thin = np.median(band.opts["y1"] - band.opts["y0"]) / pixel
    plot.emphasize("flat", True)
    thick = np.median(band.opts["y1"] - band.opts["y0"]) / pixel
    assert abs(thin - 2) < 0.05 and abs(thick - 6) < 0.1 and band.isVisible()
    plot.emphasize("flat", False)
    assert abs(np.median(band.opts["y1"] - band.opts["y0"]) / pixel - 2) < 0.05
    groups = len(band.opts["x0"])
    y_range = vb.viewRange()[1]
    vb.setRange(xRange=(20_000, 25_000), yRange=(1.9, 2.1), padding=0)
    vb.sigRangeChangedManually.emit([True, True])
    plot.redraw()
    assert vb.viewRange()[1] == [1.9, 2.1] and vb.viewRange()[1] != y_range  # held
    x0 = band.opts["x0"]
    in_view = ((x0 >= 20_000) & (x0 <= 25_000)).sum()
    assert in_view >= 0.8 * groups
    vb.enableAutoRange()  # "A": the plot's own ranges again
    plot.redraw()
    assert vb.viewRange()[0][1] >= n and abs(len(band.opts["x0"]) - groups) <= 1


def test_an_aspect_locked_plot_of_a_narrow_cloud_paints_once_and_rests(qtbot):
    """Issue 37: in an aspect-locked plane, a cloud far taller than wide filled too little of the widened
    x axis, so each fit asked for another and the plot repainted without end (the VampPrior page hung
    the window). Such a view keeps pyqtgraph's own fit, and the same data never get two ranges in turn."""
    theme.apply_theme("light")
    plot = make_plot("p(z)", "z₁", "z₂")
    plot.setAspectLocked(True)
    qtbot.addWidget(plot)
    plot.resize(500, 400)
    plot.show()
    qtbot.waitExposed(plot)
    img = pg.ImageItem(np.random.default_rng(0).random((32, 32)))
    img.setRect(-3, -3, 6, 6)
    plot.addItem(img)
    dots = pg.ScatterPlotItem(size=4, pen=None)
    plot.addItem(dots)
    counter = _count_paints(plot)
    rng = np.random.default_rng(1)
    paints = []
    for i in range(4):
        pts = rng.normal(size=(300, 2)) * [0.05, 2.0 + 0.1 * i]  # a narrow, tall cloud
        paints.append(_paints_of(qtbot, counter, lambda: dots.setData(pts[:, 0], pts[:, 1])))
    assert max(paints[1:]) <= 2, paints
    before = counter.n
    qtbot.wait(500)
    assert counter.n - before == 0  # nothing changed: nothing painted


def _cases():
    from genviz.bench.all import cases
    from genviz.core.labs import all_labs

    return [(lab, overrides) for lab, overrides in cases(all_labs(), None)]


@pytest.mark.parametrize("lab, overrides", _cases(), ids=lambda v: v if isinstance(v, str) else v.get("experiment", ""))
def test_no_view_repaints_without_end_once_paused(qtbot, lab, overrides):
    """Issue 37: a view whose fit asked for another range at every paint repainted without end and hung
    the window (the VampPrior page: 43-50 paints in 200 ms, found by ``genviz bench all``). Every lab and
    experiment trains a few frames and pauses; then no view paints faster than the 40 frames a second
    nothing in the app asks for. (Some panels still refresh a view a few times a second while paused:
    the arithmetic lab's attribute strip, the Gibbs chains; that is not a loop.)"""
    import faulthandler

    from tests.helpers import open_window

    # a repaint loop starves Qt's timers, so qtbot's own timeouts never fire: end the run with its stack instead
    faulthandler.dump_traceback_later(240, exit=True)
    try:
        w = open_window(qtbot, lab, overrides=overrides)
        panel = w.panel()
        w.training.play()
        qtbot.waitUntil(lambda: panel.redraws >= 3, timeout=90_000)
        w.training.pause()
        qtbot.waitUntil(lambda: not w.bar.play_button.isChecked(), timeout=10_000)
        qtbot.waitUntil(lambda: not panel.drawing, timeout=10_000)
        qtbot.wait(500)  # the last frame's views and their paints
        counters = [_count_paints(view) for view in w.findChildren(pg.GraphicsView) if view.isVisible()]
        t0 = time.perf_counter()
        qtbot.wait(600)
        seconds = time.perf_counter() - t0
        rates = {c.view.getPlotItem().titleLabel.text if hasattr(c.view, "getPlotItem") else type(c.view).__name__:
                 round(c.n / seconds) for c in counters}
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert max(rates.values(), default=0) <= 40, rates
