"""genviz's pytest plugin (registered in the ``pytest11`` entry-point group, so any pytest run where genviz is
installed has it): the ``genviz_lab_check`` fixture puts a lab through the contract checks, for a plugin's
own test suite (docs/adding-a-lab.md):

    def test_my_lab_keeps_the_contract(genviz_lab_check):
        genviz_lab_check("mylab")              # every check; only=("training", "checkpoint") for some

Each check runs directly, so a failure shows the lab's own traceback. Importing this module imports only
pytest: genviz, torch and Qt load when a test uses the fixture."""
from __future__ import annotations

import pytest


@pytest.fixture
def genviz_lab_check(tmp_path):
    def check(lab, only: tuple[str, ...] = (), qt: bool = True) -> list[str]:
        from genviz.core.labs import LabInfo, get_lab
        from genviz.testing.checks import CHECKS

        info = lab if isinstance(lab, LabInfo) else get_lab(lab)
        unknown = set(only) - {c.name for c in CHECKS}
        if unknown:
            raise ValueError(f"no such check: {sorted(unknown)}; the checks are {[c.name for c in CHECKS]}")
        done = []
        for c in CHECKS:
            if (only and c.name not in only) or (c.qt and not qt):
                continue
            done.append(f"{c.name}: {c.run(info, tmp_path)}")
        return done

    return check
