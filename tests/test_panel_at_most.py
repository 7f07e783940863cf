"""LabPanel.at_most (issue 37): what changes at every frame but is read at a glance is drawn at most so often,
the newest version last, and nothing held back is lost (flush, or its time comes) or drawn after a new run."""

import time
from types import SimpleNamespace

from genviz.ui.panel import LabPanel


def test_a_view_drawn_at_most_so_often_shows_the_newest_frame_last(qtbot):
    panel = LabPanel(SimpleNamespace(title="t", name="t"))
    qtbot.addWidget(panel)
    drawn = []
    panel.at_most("titles", 0.2, lambda: drawn.append(1))
    assert drawn == [1]  # the first at once
    for i in range(2, 6):  # four more within the interval: held back, the newest wins
        panel.at_most("titles", 0.2, lambda i=i: drawn.append(i))
    panel.at_most("other", 0.2, lambda: drawn.append("other"))  # another key has its own clock
    assert drawn == [1, "other"]
    qtbot.waitUntil(lambda: 5 in drawn, timeout=2000)
    assert drawn == [1, "other", 5]
    qtbot.wait(300)
    assert drawn == [1, "other", 5]  # drawn once, not again
    panel.at_most("titles", 10.0, lambda: drawn.append(6))  # held back ...
    panel.flush()  # ... but an export needs the finished picture
    assert drawn[-1] == 6
    panel.at_most("titles", 10.0, lambda: drawn.append(7))
    panel.cancel_drawing()  # a new run: the old frame's text is never drawn
    t0 = time.perf_counter()
    qtbot.wait(300)
    assert 7 not in drawn and time.perf_counter() - t0 < 5
