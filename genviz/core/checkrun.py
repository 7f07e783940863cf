"""'Check this run': exact checks of the numbers a run shows, re-run on the user's own run and machine.

Each lab names its checks in ``LabInfo.exact_checks`` ("module:function"): a function of the experiment (at the
run's state) returning :class:`Verdict`s, one per on-screen number it checks, by the method that fits it:
normalisation (an autoregressive model's probabilities summed over every completion, a flow's and the diffusion
ODE's density integrated on a grid), quadrature against Monte Carlo, closed-form KLs against their Monte Carlo
estimates, the bounds' order (L_1 ≤ L_k ≤ log p), a standard error's coverage by repetition. ``genviz check
SESSION`` prints them (exit 1 when one fails); the window's Training ▸ Check this run shows them and marks the
checked numbers on the cards. Pure core: no Qt."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np


@dataclass
class Verdict:
    number: str  # the on-screen number, as the view or card names it
    key: str  # its snapshot key (a card term whose ``check`` is this key is marked checked)
    check: str  # what was done
    passed: bool
    detail: str  # the numbers that decided it
    kind: str = "exact"  # what the number is: "exact" or "estimate" (shown with its standard error)
    seconds: float = 0.0

    def line(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        return f"{mark} {self.number} [{self.kind}]: {self.check} — {self.detail}"

    def as_dict(self) -> dict:
        return asdict(self)


class Checks:
    """Collects verdicts, timing each; a check that raises fails with its error (one line)."""

    def __init__(self, report: Callable[[str], None] | None = None):
        self.verdicts: list[Verdict] = []
        self.report = report

    def add(self, number: str, key: str, check: str, fn: Callable[[], tuple[bool, str]], kind: str = "exact") -> None:
        t0 = time.perf_counter()
        try:
            passed, detail = fn()
        except Exception as exc:  # the check itself failed: that is a failed verdict, said in one line
            passed, detail = False, f"the check could not run: {type(exc).__name__}: {str(exc)[:200]}"
        v = Verdict(number, key, check, bool(passed), detail, kind, round(time.perf_counter() - t0, 3))
        self.verdicts.append(v)
        if self.report is not None:
            self.report(v.line())


# -- the shared judgements --------------------------------------------------------------------------------
def agree(a: float, b: float, se: float, z: float = 4.0, what: str = "") -> tuple[bool, str]:
    """Two numbers agree within ``z`` standard errors ``se`` of their difference."""
    gap = abs(a - b)
    ok = math.isfinite(gap) and gap <= z * se + 1e-12
    return ok, f"{what}{a:.5g} against {b:.5g}: {gap / se if se > 0 else float('inf'):.2f} SE apart (allowed {z:g})"


def close(a: float, b: float, tol: float, what: str = "") -> tuple[bool, str]:
    gap = abs(a - b)
    return math.isfinite(gap) and gap <= tol, f"{what}{a:.6g} against {b:.6g} (|difference| {gap:.2g} ≤ {tol:.2g})"


def coverage(estimates: np.ndarray, reported_se: np.ndarray, low: float = 0.6, high: float = 1.6) -> tuple[bool, str]:
    """A standard error checked by repetition: the spread of R independent repeats of the estimate against the
    standard error each repeat reported. Their ratio lies within [low, high] when the SE is right (for R = 20 its
    own sampling error is about 16 %)."""
    est = np.asarray(estimates, dtype=np.float64)
    se = float(np.mean(reported_se))
    spread = float(est.std(ddof=1))
    ratio = spread / se if se > 0 else float("inf")
    return (low <= ratio <= high, f"{len(est)} repeats spread {spread:.3g}; the SE they report {se:.3g} "
                                  f"(ratio {ratio:.2f}, allowed {low:g}–{high:g})")


def ordered(values: list[float], ses: list[float], names: list[str], z: float = 3.0) -> tuple[bool, str]:
    """values[0] ≤ values[1] ≤ … within ``z`` standard errors of each difference (bounds in their order)."""
    bad = []
    for i in range(len(values) - 1):
        se = math.hypot(ses[i] or 0.0, ses[i + 1] or 0.0)
        if values[i] - values[i + 1] > z * se + 1e-9:
            bad.append(f"{names[i]} > {names[i + 1]}")
    text = " ≤ ".join(f"{n} {v:.4f}" for n, v in zip(names, values))
    return not bad, text + (f"; out of order: {', '.join(bad)}" if bad else "")


def run_lab_checks(lab, exp, report=None) -> list[Verdict]:
    """The lab's exact checks on ``exp`` (at the run's state); [] when the lab names none."""
    if not getattr(lab, "exact_checks", ""):
        return []
    from genviz.core.labs import import_object

    checks = Checks(report)
    import torch

    with torch.random.fork_rng(devices=[]):  # the checks draw their own numbers: training's streams are left alone
        torch.manual_seed(12345)
        import_object(lab.exact_checks)(exp, checks)
    return checks.verdicts
