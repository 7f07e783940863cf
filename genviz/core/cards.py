"""Info cards: what each view of a lab draws, the formula behind it, where it comes from, what to watch for.

A lab lists its cards in its own folder (``LabInfo.cards = "genviz.labs.x.cards:CARDS"``), keyed by the
view names of its panel (``LabPanel.views()``); the window puts an ℹ button on every view that opens its
card. A test checks that every view of every registered lab has one. Formulas are rich text (HTML
entities and <sub>/<sup>). A card's ``live`` function gives the formula again with the numbers of the step
on show (:class:`Equation`, :class:`Term`): the window renders their symbols as math (matplotlib's mathtext)
and prints each term's value under it. Pure data: no Qt."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Card:
    title: str
    what: str  # what is drawn, for a student
    formula: str  # the formula computed (rich text)
    source: str  # the paper or book it comes from
    watch: str  # what to watch for
    # the formula with the shown step's numbers: data (a snapshot's, what the views draw) -> [Equation]
    live: Callable[[dict], list] | None = None

    def html(self) -> str:
        return (f"<h3>{self.title}</h3><p><b>What is drawn.</b> {self.what}</p>"
                f"<p><b>Formula.</b> {self.formula}</p><p><b>What to watch for.</b> {self.watch}</p>"
                f"<p style='color:gray'><b>Source.</b> {self.source}</p>")

    def missing(self) -> list[str]:
        return [k for k in ("title", "what", "formula", "source", "watch") if not getattr(self, k).strip()]


# -- live numbers: a card's formula with the shown step's values, term by term -----------------------------
@dataclass(frozen=True)
class Term:
    """One term of a formula with its value at the shown step.

    ``symbol`` is mathtext (LaTeX math without the dollars), ``name`` says it in words (rich text: <sub> may
    appear). ``se`` is the standard
    error of a Monte Carlo estimate (None: the value is exact, ``how`` may say how: "closed form", "quadrature",
    "mean over the 1,000 test images"). ``target`` names what the term draws: a view of the lab's panel
    (``LabPanel.views()``), and after a ``#`` an element of it (a curve's series key, a layer, a bar); hovering
    the term highlights it. ``sign`` is its sign in the sum of an :class:`Equation`; ``key`` the snapshot key the
    lab's exact checks (genviz.core.checkrun.Verdict.key) name it by."""

    symbol: str
    name: str
    value: float
    se: float | None = None
    target: str = ""
    sign: int = 1
    how: str = ""
    key: str = ""  # the snapshot key of the number: Check this run's verdict on that key marks it checked

    @property
    def kind(self) -> str:
        return "estimate" if self.se is not None else "exact"


@dataclass(frozen=True)
class Equation:
    """``total = Σ sign·term`` at one step (or a single readout: ``total`` and no terms). The values come from one
    snapshot, so the terms add up to the total up to float rounding (``residual``); the card prints them all
    with the same decimals (``decimals``), as many as the largest standard error allows."""

    total: Term
    terms: tuple[Term, ...] = ()
    title: str = ""

    def residual(self) -> float:
        if not self.terms:
            return 0.0
        return self.total.value - sum(t.sign * t.value for t in self.terms)

    def tolerance(self) -> float:
        """How far float rounding may move the sum: a few ulps of the largest term's size."""
        scale = max([abs(self.total.value)] + [abs(t.value) for t in self.terms] + [1.0])
        return 1e-5 * scale * (1 + len(self.terms))

    def decimals(self, exact_decimals: int = 3) -> int:
        from genviz.core.numbers import decimals_for

        everything = (self.total, *self.terms)
        ses = [t.se for t in everything if t.se is not None and math.isfinite(t.se) and t.se > 0]
        if ses:
            return decimals_for(max(ses))
        if all(t.se is None and math.isfinite(t.value) and float(t.value).is_integer() for t in everything):
            return 0  # counts
        return exact_decimals

    def mathtext(self) -> str:
        """The whole formula as one mathtext line: 'total = a + b - c'."""
        parts = [self.total.symbol]
        for i, t in enumerate(self.terms):
            op = ("-" if t.sign < 0 else "") if i == 0 else ("-" if t.sign < 0 else "+")
            parts.append(f"{op} {t.symbol}" if op else t.symbol)
        return parts[0] + (" = " + " ".join(parts[1:]) if self.terms else "")


def value_text(term: Term, decimals: int) -> str:
    """A term's value as the card prints it: '58.31 ± 0.04' for an estimate, '4.102' when exact."""
    from genviz.core.numbers import estimate

    if term.value is None or not math.isfinite(term.value):
        return "–"
    if term.se is None or not math.isfinite(term.se):
        return estimate(term.value, None, decimals)
    return f"{term.value:.{decimals}f} ± {term.se:.{decimals}f}".replace("-", "−")


def grouped(values, names: list[str], symbols: list[str], keep: int, target: str, rest: tuple[str, str],
            how: str = "") -> tuple[Term, ...]:
    """Exact terms for ``values``: the ``keep`` largest each as a term, the others summed as one (``rest``: its
    symbol and name), in their original order, so a sum over many dimensions stays readable."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    order = list(np.argsort(-np.abs(v), kind="stable")[:keep]) if len(v) > keep + 1 else list(range(len(v)))
    shown = sorted(order)
    out = [Term(symbols[i], names[i], float(v[i]), target=f"{target}#{i}" if target else "", how=how) for i in shown]
    others = [i for i in range(len(v)) if i not in shown]
    if others:
        out.append(Term(rest[0], rest[1].format(n=len(others)), float(v[others].sum()), target=target, how=how))
    return tuple(out)


def live_equations(card: Card, data: dict) -> list[Equation]:
    """A card's equations for one snapshot's ``data`` ([] when the card has none or the data lacks them)."""
    if card.live is None or not isinstance(data, dict):
        return []
    return [e for e in card.live(data) if e is not None]
