"""Issue 39, projector-ready: at the default window size every view's title is whole and clear of its
ℹ button; switching the theme mid-run leaves nothing in the old theme's ink (dark text on a dark
plot), no axis rescaled by an SI prefix (D's outputs 0.3-0.9 drawn as 300-900), and the banner and
colour bars in the new colours."""
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QToolButton

from genviz.ui import theme
from genviz.ui.cards import BUTTON_NAME
from tests.helpers import open_window, own_labs, train_until

LABS = sorted(own_labs())  # genviz's own labs' look; a plugin's is its author's
LIGHT_INKS = {QColor(theme.THEMES["light"][k]).rgb() & 0xFFFFFF for k in ("text", "plot_fg")}


def _colours(view: pg.PlotWidget):
    """(what, colour) of every pen and text the view draws that a theme may have chosen."""
    for graphic in view.scene().items():
        if isinstance(graphic, (pg.PlotDataItem, pg.PlotCurveItem)):
            pen = graphic.opts.get("pen")
            if hasattr(pen, "color"):
                yield f"curve {graphic.name()}", pen.color()
            marker = graphic.opts.get("symbolPen") if isinstance(graphic, pg.PlotDataItem) else None
            if graphic.opts.get("symbol") is not None and isinstance(marker, QPen):
                yield f"markers {graphic.name()}", marker.color()
        elif isinstance(graphic, pg.InfiniteLine):
            yield "line", graphic.pen.color()
        elif isinstance(graphic, pg.TextItem):
            yield f"text {graphic.textItem.toPlainText()[:20]!r}", QColor(graphic.color)
        elif isinstance(graphic, pg.AxisItem) and graphic.isVisible():
            yield f"axis {graphic.orientation}", graphic.textPen().color()


def _views_fit(w, lab: str) -> None:
    """Every shown view: its title whole and clear of its ℹ, its plot (axes, legend, colour bar) inside its widget."""
    for name, view in w.panel().views().items():
        if not view.isVisible() or not view.getPlotItem().titleLabel.text:
            continue
        label = view.getPlotItem().titleLabel
        text = view.mapFromScene(label.item.mapToScene(label.item.boundingRect()).boundingRect()).boundingRect()
        assert text.left() >= -1 and text.right() <= view.width() + 1, f"{lab} {name}: title cut off {text}"
        button = view.findChild(QToolButton, BUTTON_NAME)
        if button is not None and button.isVisible():
            assert not text.intersects(button.geometry()), f"{lab} {name}: the ℹ button covers the title"
        whole = view.getPlotItem().geometry()  # axes, legend and colour bar inside the widget
        assert whole.width() <= view.width() + 1 and whole.height() <= view.height() + 1, \
            f"{lab} {name}: the plot overflows its {view.width()}x{view.height()} widget ({whole})"
        legend = view.getPlotItem().legend
        if legend is not None and legend.isVisible() and legend.items:  # a legend beside or under the view
            box = view.mapFromScene(legend.mapToScene(legend.boundingRect()).boundingRect()).boundingRect()
            assert box.right() <= view.width() + 1 and box.bottom() <= view.height() + 1, \
                f"{lab} {name}: legend cut off {box} in a {view.width()}x{view.height()} view"


@pytest.mark.parametrize("lab, overrides", [pytest.param(lab, {"hidden": 32} if lab == "manifold" else {}, id=lab)
                                             for lab in LABS]
                         # the CAVI page's centres (markers) kept the light theme's ink once
                         + [pytest.param("inference", {"experiment": "cavi"}, id="inference-cavi")])
def test_dark_theme_mid_run_leaves_no_light_ink_and_no_rescaled_axis(qtbot, lab, overrides):
    w = open_window(qtbot, lab=lab, overrides=overrides)
    try:
        train_until(qtbot, w, frames=3, checkpoints=1)
        w.resize(1560, 960)  # the default window on a 1600x1000 screen
        qtbot.wait(200)
        _views_fit(w, lab)
        w.banner.show_message("a message", level="error")
        w.lecture.set_theme("dark")
        qtbot.wait(50)
        views = w.panel().views()
        assert views
        for name, view in views.items():
            if not view.isVisible():
                continue
            for what, colour in _colours(view):
                if colour.alpha() > 0:
                    assert colour.rgb() & 0xFFFFFF not in LIGHT_INKS, f"{lab} {name}: {what} keeps the light theme's ink"
            for axis in ("left", "bottom", "right"):
                item = view.getPlotItem().getAxis(axis)
                assert item.autoSIPrefixScale == 1.0, f"{lab} {name}: {axis} axis rescaled ×{1 / item.autoSIPrefixScale:g}"
            bar = getattr(view, "colorbar", None)
            if bar is not None:
                assert bar.axis.textPen().color().name() == theme.THEMES["dark"]["plot_fg"]
        assert theme.THEMES["dark"]["warn_bg"] in w.banner.styleSheet()
    finally:
        w.lecture.set_theme("light")
        w.close()


@pytest.mark.parametrize("lab, overrides", [
    ("autoregressive", {"model": "made", "order": "random", "masks": 8}),  # the completions' title once overflowed
    ("gan", {"loss": "wgan-gp", "d_steps": 5}),
    ("posterior", {"hidden": 32, "k": 50}),
    ("estimators", {"experiment": "discrete"}),  # the temperature view's title once ran under its ℹ
    ("estimators", {"experiment": "wake-sleep"}),
    ("inference", {"experiment": "em"}),
    ("inference", {"experiment": "cavi"}),
])
def test_views_fit_in_the_labs_other_configurations(qtbot, lab, overrides):
    w = open_window(qtbot, lab=lab, overrides=overrides)
    try:
        train_until(qtbot, w, frames=3, checkpoints=1)
        w.resize(1560, 960)
        qtbot.wait(200)
        _views_fit(w, lab)
    finally:
        w.close()


def test_a_theme_switch_restyles_the_legends_of_hidden_pages(qtbot):
    """The EM page's legend kept the old theme's ink when the theme changed while another page showed (pyqtgraph's
    setLabelTextColor does not redraw a label)."""
    w = open_window(qtbot, lab="inference", overrides={})
    try:
        panel = w.panel()
        hidden = panel.em_curves
        assert not hidden.isVisible()
        w.lecture.set_theme("dark")
        ink = theme.THEMES["dark"]["plot_fg"].lower()
        labels = [label for _, label in hidden.getPlotItem().legend.items]
        assert labels and all(ink in label.item.toHtml().lower() for label in labels), [label.item.toHtml() for label in labels]
    finally:
        w.lecture.set_theme("light")
        w.close()
