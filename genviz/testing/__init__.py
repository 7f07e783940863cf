"""The lab contract, shipped: put an installed lab through every check of docs/adding-a-lab.md.

    from genviz.testing import check_lab
    check_lab("mylab")          # raises ContractError naming the first broken rule

or, one line per check, ``genviz labs --check mylab``; in a plugin's own pytest suite the ``genviz_lab_check``
fixture (``genviz.testing.pytest_plugin``, registered as a pytest plugin when genviz is installed) does the
same. genviz's own tests run these checks on every registered lab."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from genviz.core.labs import LabInfo, get_lab
from genviz.testing.checks import CHECKS, Check, ContractError, allowed, config, same

__all__ = ["CHECKS", "Check", "ContractError", "Result", "allowed", "check_lab", "config", "run_checks", "same"]


@dataclass(frozen=True)
class Result:
    check: str
    passed: bool
    detail: str  # what was verified, or why it failed


def _lab(lab: LabInfo | str) -> LabInfo:
    return lab if isinstance(lab, LabInfo) else get_lab(lab)


def run_checks(lab: LabInfo | str, qt: bool = True, only: tuple[str, ...] = (),
               tmp: Path | None = None) -> Iterator[Result]:
    """Every check on ``lab`` in order (the panel checks only with ``qt``), each result as it comes. A
    check that fails does not stop the others, except when the lab cannot even be described."""
    lab = _lab(lab)
    with tempfile.TemporaryDirectory(prefix="genviz-check-") as scratch:
        folder = Path(tmp) if tmp is not None else Path(scratch)
        for check in CHECKS:
            if (check.qt and not qt) or (only and check.name not in only):
                continue
            try:
                detail = check.run(lab, folder)
            except ContractError as exc:
                yield Result(check.name, False, str(exc))
            except Exception as exc:  # the lab's own error: said, with where it came from
                yield Result(check.name, False, f"{type(exc).__name__}: {exc}")
            else:
                yield Result(check.name, True, detail)
                continue
            if check.name == "description":
                return


def check_lab(lab: LabInfo | str, qt: bool = True, only: tuple[str, ...] = (),
              report: Callable[[Result], None] | None = None) -> list[Result]:
    """Run the checks; raise :class:`ContractError` listing every failed one. ``report`` sees each result."""
    results = []
    for result in run_checks(lab, qt=qt, only=only):
        results.append(result)
        if report is not None:
            report(result)
    failed = [r for r in results if not r.passed]
    if failed:
        raise ContractError("; ".join(f"{r.check}: {r.detail}" for r in failed))
    return results
