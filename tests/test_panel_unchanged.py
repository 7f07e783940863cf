"""LabPanel.unchanged (issue 37): a view asks whether a frame brings anything new before drawing it. Equal values
(arrays by shape, kind and value; numbers; None; tuples) are unchanged, anything else is new; an array changed in
place after it was drawn is new; a lab's clear or on_ready forgets everything, so the first frame after a reset or
a rebuild is always drawn."""
from types import SimpleNamespace

import numpy as np

from genviz.ui.panel import LabPanel


class _Lab(LabPanel):
    def __init__(self):
        super().__init__(SimpleNamespace(title="t", name="t"))
        self.readied = self.cleared = 0

    def on_ready(self, info):
        self.readied += 1

    def clear(self):
        self.cleared += 1


def test_equal_values_are_unchanged_and_anything_else_is_new(qtbot):
    panel = _Lab()
    qtbot.addWidget(panel)
    m, curve = np.array([0.5, -1.0]), np.linspace(0, 1, 50)
    assert not panel.unchanged("view", m, curve, 0.25, None)  # the first time: draw
    assert panel.unchanged("view", m.copy(), curve.copy(), 0.25, None)  # the same values again: skip
    assert panel.unchanged("view", m, curve, 0.25, None)
    for new in [(m + 1e-12, curve, 0.25, None),  # one value differs a little
                (m, curve[:-1], 0.25, None),  # another shape
                (m, curve, 0.26, None),  # a number
                (m, curve, 0.25, np.zeros(2)),  # None -> an array
                (m.astype(np.int64), curve, 0.25, None),  # the same numbers, another kind of array ([0, -1])
                (m, curve, 0.25)]:  # fewer values
        assert not panel.unchanged("view", *new)
        assert panel.unchanged("view", *new)  # ... which are then what is drawn
    assert not panel.unchanged("other view", m)  # each key has its own memory
    assert not panel.unchanged("nan", np.array([np.nan]))
    assert not panel.unchanged("nan", np.array([np.nan]))  # NaN is never equal: drawn (never skipped wrongly)
    assert not panel.unchanged("tuple", (1, np.ones(3)))
    assert panel.unchanged("tuple", [1, np.ones(3)])
    assert not panel.unchanged("tuple", (1, np.ones(3), 2))


def test_an_array_changed_in_place_after_drawing_is_new(qtbot):
    panel = _Lab()
    qtbot.addWidget(panel)
    trail = np.zeros((4, 2))
    assert not panel.unchanged("trail", trail)
    trail[-1] = 1.0  # the caller moves its own buffer on
    assert not panel.unchanged("trail", trail)
    assert panel.unchanged("trail", trail)


def test_a_labs_clear_and_on_ready_forget_what_was_drawn(qtbot):
    panel = _Lab()
    qtbot.addWidget(panel)
    assert not panel.unchanged("view", 1.0)
    for forget in (panel.clear, lambda: panel.on_ready({}), panel.forget_drawn):
        assert panel.unchanged("view", 1.0)
        forget()
        assert not panel.unchanged("view", 1.0)  # drawn again after it
    assert (panel.cleared, panel.readied) == (1, 1)  # the lab's own methods still ran, once each
