"""Every registered lab (the genviz.labs entry points) keeps the plugin contract of docs/adding-a-lab.md: the
shipped checks (genviz.testing, what `genviz labs --check NAME` runs) on every lab, so a new lab is tested the
moment it is registered; and what genviz's own labs promise beyond the contract."""
import pytest

from genviz.core.labs import all_labs
from genviz.core.protocol import EngineConfig
from genviz.core.runner import Runner
from genviz.testing import CHECKS, config

LABS = all_labs()


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
@pytest.mark.parametrize("lab", list(LABS))
def test_lab_keeps_the_contract(lab, check, tmp_path, request):
    if check.qt:
        request.getfixturevalue("qtbot")  # pytest-qt's QApplication, and its checks on Qt errors
    print(check.run(LABS[lab], tmp_path))


@pytest.mark.parametrize("lab", list(LABS))
def test_only_declared_queries_are_answered(lab):
    """Training changes only through counted steps: the verbs that once changed it through queries are refused."""
    runner = Runner(config(LABS[lab]))
    for name in ("d_step", "g_step", "half_step", "paint", "restart_chains"):
        if name not in runner.exp.QUERIES:
            with pytest.raises(KeyError):
                runner.query(name)


def test_data_where_nothing_reads_it_is_refused():
    from genviz.core.settings import SettingError

    for lab, settings in (("estimators", {"experiment": "variance"}), ("inference", {"experiment": "kl"}),
                          ("autoregressive", {"points": "ring8"})):
        with pytest.raises(SettingError, match="--data does nothing here"):
            Runner(EngineConfig(lab=lab, settings=settings, data="digits", torch_threads=1))
