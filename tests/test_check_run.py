"""Check this run (genviz.core.checkrun, ``genviz check SESSION``, Training ▸ Check this run): the exact checks pass
on a fresh run of every lab (the contract's ``exact checks`` runs them for every lab and experiment page:
tests/test_conformance.py), and fail, naming the number, on a deliberately broken model."""
import pytest

from genviz.cli import main


def _session(tmp_path, lab: str, steps: int = 30, **settings):
    from genviz.core.headless import record_session
    from genviz.core.labs import get_lab
    from genviz.core.session import save_session
    from genviz.testing.checks import config

    session = record_session(config(get_lab(lab), settings=settings), steps, frame_every=10, checkpoint_every=steps)
    return str(save_session(session, tmp_path / f"{lab}.genviz"))


@pytest.mark.parametrize("lab", ["flow", "autoregressive", "manifold"])
def test_genviz_check_passes_on_a_fresh_run(lab, tmp_path, capsys):
    path = _session(tmp_path, lab)
    assert main(["check", path]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert lines and all(line.startswith("ok   ") for line in lines), out
    assert "checks passed" in err
    assert main(["check", path, "--json"]) == 0
    import json

    verdicts = [json.loads(line) for line in capsys.readouterr()[0].strip().splitlines()]
    assert {"number", "key", "check", "passed", "detail", "kind"} <= set(verdicts[0])


def test_run_check_from_python_leaves_training_alone():
    import genviz

    a, b = genviz.Run("flow", layers=2), genviz.Run("flow", layers=2)
    a.train(10, progress=False)
    b.train(10, progress=False)
    verdicts = a.check()
    assert verdicts and all(v["passed"] for v in verdicts)
    a.train(5, progress=False)
    b.train(5, progress=False)
    assert (a.metrics["loss"] == b.metrics["loss"]).all()


def test_a_flow_whose_density_does_not_integrate_to_one_fails(tmp_path, capsys, monkeypatch):
    from genviz.models.flows import Flow

    path = _session(tmp_path, "flow")
    real = Flow.log_prob
    monkeypatch.setattr(Flow, "log_prob", lambda self, x: real(self, x) + 0.1)  # a density 10 % too heavy
    assert main(["check", path]) == 1
    out = capsys.readouterr()[0]
    assert "FAIL model density q(x)" in out and "∫ q(x) dx = 1.10" in out


def test_an_autoregressive_model_that_peeks_ahead_fails_normalisation(tmp_path, capsys, monkeypatch):
    from genviz.core.runner import build_experiment  # noqa: F401  (the model class is the lab's default)
    from genviz.models import autoregressive as ar

    path = _session(tmp_path, "autoregressive")
    for cls in (ar.NADE, ar.MADE):
        real = cls.logits
        # each conditional also looks at the next pixel: no longer a chain rule, so p does not sum to 1
        monkeypatch.setattr(cls, "logits", lambda self, x, real=real: real(self, x) + 2.0 * x.roll(-1, 1))
    assert main(["check", path]) == 1
    out = capsys.readouterr()[0]
    assert "FAIL the likelihoods" in out


def test_a_vae_with_a_wrong_closed_form_kl_fails(tmp_path, capsys, monkeypatch):
    import genviz.models.vae as vae

    path = _session(tmp_path, "manifold")
    real = vae.kl_standard_normal
    monkeypatch.setattr(vae, "kl_standard_normal", lambda mu, logvar: real(mu, logvar) + 0.05)
    assert main(["check", path]) == 1
    assert "FAIL KL(q(z|x) ‖ p(z))" in capsys.readouterr()[0]


def test_sessions_that_cannot_be_checked_are_refused_in_one_line(tmp_path, capsys):
    from genviz.core.session import Session, save_session

    bare = save_session(Session(lab="flow", settings={}), tmp_path / "bare.genviz")
    assert main(["check", str(bare)]) == 2
    assert "no model state" in capsys.readouterr()[1]
    (tmp_path / "junk.genviz").write_bytes(b"not a zip")
    assert main(["check", str(tmp_path / "junk.genviz")]) == 2


def test_the_window_checks_the_run_and_marks_the_checked_numbers(qtbot, tmp_path):
    import asyncio

    from genviz.ui import theme
    from genviz.ui.cards import CardDialog, lab_cards
    from genviz.ui.main_window import MainWindow

    theme.apply_theme("light")
    w = MainWindow(engine_kind="thread", lab="flow", overrides={"layers": 2})
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.panel().static != {}, timeout=60000)
    w.training.do_step(30)
    qtbot.waitUntil(lambda: w.run.step == 30 and w.panel().shown is not None and w.panel().shown[1] == 30,
                    timeout=60000)
    task = asyncio.ensure_future(w.predictions.check_run())
    qtbot.waitUntil(task.done, timeout=60000)
    verdicts = task.result()
    assert verdicts and all(v["passed"] for v in verdicts) and w.run.checked_step == 30
    assert w.predictions.check_dialog.rows == len(verdicts) and "✓" in w.predictions.check_dialog.text.text()
    panel = w.panel()
    dlg = CardDialog(lab_cards(panel.lab)["model-density"], None, panel)
    qtbot.addWidget(dlg)
    dlg.live._apply()
    total = dlg.live.cells[0]
    assert total.term.key == "test_nll" and "checked ✓" in total.name.text()
    dlg.done(0)
    w.close()
