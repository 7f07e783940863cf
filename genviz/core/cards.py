"""Info cards: what each view of a lab draws, the formula behind it, where it comes from, what to watch for.

A lab lists its cards in its own folder (``LabInfo.cards = "genviz.labs.x.cards:CARDS"``), keyed by the
view names of its panel (``LabPanel.views()``); the window puts an ℹ button on every view that opens its
card. A test checks that every view of every registered lab has one. Formulas are rich text (HTML
entities and <sub>/<sup>), no math renderer needed. Pure data: no Qt."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    title: str
    what: str  # what is drawn, for a student
    formula: str  # the formula computed (rich text)
    source: str  # the paper or book it comes from
    watch: str  # what to watch for

    def html(self) -> str:
        return (f"<h3>{self.title}</h3><p><b>What is drawn.</b> {self.what}</p>"
                f"<p><b>Formula.</b> {self.formula}</p><p><b>What to watch for.</b> {self.watch}</p>"
                f"<p style='color:gray'><b>Source.</b> {self.source}</p>")

    def missing(self) -> list[str]:
        return [k for k in ("title", "what", "formula", "source", "watch") if not getattr(self, k).strip()]
