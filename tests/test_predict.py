"""Predict, then reveal (genviz.core.predict, genviz.ui.predict): presets' questions are read and checked, every
shipped question scores against what its preset's run does (the answer key a lecturer rehearses with, and the
lesson it was written from), the window pauses at the question's step exactly, keeps the answer in the run and
the session, scores it at the reveal step, and exports the lecture's answers as CSV."""
import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest

from genviz.core.predict import (Prediction, PredictionError, answer_record, answers_csv, progress, read_predictions,
                                 score)


def pred(**kw):
    base = {"question": "q?", "kind": "number", "reveal": 10, "key": "x"}
    return read_predictions([{**base, **kw}], "t.toml")[0]


def test_predictions_are_read_and_bad_ones_refused_in_one_line():
    p = pred(kind="choice", choices=["a", "b", "c"], cuts=[1, 2], at=3)
    assert p.options() == ("A: a", "B: b", "C: c") and p.at == 3
    for bad, why in ((dict(kind="guess"), "kind"), (dict(reveal=0), "reveal"), (dict(at=20), "after at"),
                     (dict(kind="choice", choices=["a", "b"]), "one cut fewer"),
                     (dict(kind="lower", choices=["a", "b"], keys=["k"]), "two keys"),
                     (dict(kind="click"), "radius"), (dict(source="disk"), "source"),
                     (dict(kind="choice", choices=["a", "b"], cuts=["x"]), "cuts"), (dict(wat=1), "unknown"),
                     (dict(question=""), "question"), (dict(tolerance=float("nan")), "tolerance")):
        with pytest.raises(PredictionError, match=why):
            pred(**bad)
    with pytest.raises(PredictionError, match="order"):
        read_predictions([{"question": "a", "kind": "number", "reveal": 9, "key": "x", "at": 5},
                          {"question": "b", "kind": "number", "reveal": 9, "key": "x", "at": 1}], "t.toml")
    with pytest.raises(PredictionError, match="at most"):
        read_predictions([{"question": "a", "kind": "number", "reveal": 9, "key": "x"}] * 13, "t.toml")


def test_answers_score_against_what_happened():
    data = {"x": 3.0, "c": {"d": np.array([0.2, 0.4])}, "pts": np.array([[0.0, 0.0]] * 90 + [[5.0, 5.0]] * 10)}
    assert score(pred(tolerance=1), 4, data).correct and not score(pred(tolerance=1), 4.5, data).correct
    assert score(pred(ratio=2), 5.9, data).correct and not score(pred(ratio=2), 6.1, data).correct
    assert score(pred(), 3, data).correct and score(pred(), 3, data).truth_text == "3"
    ch = pred(kind="choice", choices=["low", "high"], cuts=[0.5], key="c.d", reduce="max")
    assert score(ch, 0, data).correct and score(ch, 0, data).truth_text == "A: low"
    assert not score(ch, 1, data).correct
    lower = pred(kind="lower", choices=["x", "d"], keys=["x", "c.d"], key="")
    assert score(lower, 1, data).correct  # mean of c.d (0.3) is below x (3)
    click = pred(kind="click", key="pts", radius=1.0)
    out = score(click, [[0.1, 0.1]], data)
    assert out.correct and math.isclose(out.score, 0.9) and "90%" in out.truth_text
    assert not score(click, [[5, 5]], data).correct
    rows = {"step": np.array([1, 2, 3]), "loss": np.array([3.0, np.nan, 2.0])}
    assert score(pred(source="rows", key="loss"), 2, {}, rows).correct  # the last reported value
    with pytest.raises(KeyError):
        score(pred(key="nope"), 1, data)


def test_progress_asks_waits_and_reveals_in_order():
    a, b = (pred(at=0, reveal=10), pred(at=20, reveal=30))
    b = Prediction(**{**b.__dict__, "index": 1})
    ps = (a, b)
    assert progress(ps, [], 0) == ("ask", a, 0)
    rec = answer_record("p", a, 5, 0, None, 0, 0.0)
    assert rec["revealed_at"] is None and rec["raw"] == 5.0
    assert progress(ps, [rec], 3) == ("play", None, 10)
    assert progress(ps, [rec], 10) == ("reveal", a, 10)
    done = {**rec, "revealed_at": 10}
    assert progress(ps, [done], 10) == ("play", None, 20)
    assert progress(ps, [done], 25) == ("ask", b, 25)
    assert progress(ps, [done], 31) == ("free", None, 0)  # b's reveal passed unasked: skipped


def test_the_answers_csv_has_a_row_per_answer():
    p = pred(kind="choice", choices=["a", "b"], cuts=[1])
    outcome = score(p, 1, {"x": 2.0})
    rec = answer_record("preset-1", p, 1, 0, outcome, 10, 1.0)
    rows = list(csv.DictReader(io.StringIO(answers_csv([rec, {**rec, "question": 'with "quotes", and commas'}]))))
    assert len(rows) == 2 and rows[0]["answer"] == "B: b" and rows[0]["correct"] == "True"
    assert rows[1]["question"] == 'with "quotes", and commas' and rows[0]["truth"] == "B: b"


# the lessons the shipped questions were written from: (preset, what its answer key must say)
SHIPPED = {
    "inference-reverse-kl": lambda r: r["answer"] == 0,  # the reverse fit hugs one mode
    "estimators-baseline": lambda r: 3 <= r["value"] <= 8,
    "estimators-sf-vs-reparam": lambda r: r["answer"] == 1,  # reparameterization scatters less
    "autoregressive-pixelcnn-blind-spot": lambda r: r["value"] >= 1,
    "gan-mode-collapse-ring": lambda r: len(r["points"]) == 2500,
    "manifold-posterior-collapse": lambda r: r["answer"] == 0,  # no active unit
    "diffusion-ode-vs-sde": lambda r: r["value"] >= 7,
    "gibbs-cd1-chains": lambda r: r["answer"] == 1,  # slow chains
    "gibbs-pcd-chains": lambda r: r["answer"] == 0,  # fast chains
    "posterior-iwae-k50": lambda r: 0 < r["value"] < 5,
}


def test_eight_presets_of_five_labs_ask():
    from genviz.core.presets import all_presets

    asking = [p for p in all_presets() if p.predictions]
    assert {p.name for p in asking} >= set(SHIPPED)
    assert len(asking) >= 8 and len({p.lab for p in asking}) >= 5
    assert {p.predictions[0].kind for p in asking} == {"number", "choice", "lower", "click"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_shipped_question_scores_against_its_presets_run(name):
    from genviz.core.presets import get_preset, rehearse

    preset = get_preset(name)
    (key,) = rehearse(preset)
    assert SHIPPED[name](key), key
    p = preset.predictions[0]
    # the answer the key gives is scored right
    right = key["points"][:50] if p.kind == "click" else key["answer"]
    if p.kind == "click":
        from genviz.core.predict import _centres

        right = _centres(key["points"])
    assert score(p, right, {p.key: key["points"]} if p.kind == "click" else _as_data(p, key)).correct


def _as_data(p, key) -> dict:
    """A snapshot holding only what the key read (to score the key's own answer)."""
    def put(d, path, value):
        *head, last = path.split(".")
        for h in head:
            d = d.setdefault(h, {})
        d[last] = value

    data = {}
    if p.kind == "lower":
        for k, v in zip(p.keys, key["value"]):
            put(data, k, v)
    else:
        put(data, p.key, key["value"])
    return data


def test_the_window_asks_at_the_step_keeps_the_answer_and_reveals_it(qtbot, tmp_path, monkeypatch):
    from genviz.core.presets import get_preset
    from genviz.core.session import load_session
    from genviz.ui import theme
    from genviz.ui.main_window import MainWindow

    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "quiz.toml").write_text('''title = "Quiz"
lab = "inference"
caption = "Two questions."
speed = 0
[settings]
experiment = "kl"
target = "two-modes"

[[predict]]
question = "Which fit hugs one mode?"
kind = "choice"
choices = ["reverse", "forward"]
at = 0
reveal = 12
key = "rev_spread_ratio"
cuts = [0.5]

[[predict]]
question = "Estimate KL(q_rev || p) in nats"
kind = "number"
at = 15
reveal = 25
key = "rev_fit.kl_qp"
ratio = 1000
''')
    monkeypatch.setenv("GENVIZ_PRESETS", str(folder))
    theme.apply_theme("light")
    w = MainWindow(engine_kind="thread", lab="inference")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.panel().static != {}, timeout=60000)
    w.lecture.apply(get_preset("quiz"))
    flow = w.predictions
    # opening the preset plays: the first question is asked before any step
    qtbot.waitUntil(lambda: flow.dialog is not None, timeout=30000)
    assert w.run.step == 0 and not w.run.running
    assert [b.text() for b in flow.dialog.buttons] == ["A: reverse", "B: forward"]
    qtbot.keyClick(flow.dialog, "A")  # the class answers with one key
    assert flow.dialog is None and w.run.answers[-1]["answer"] == "A: reverse"
    # the run trains on and pauses exactly at the reveal step, then scores the answer
    qtbot.waitUntil(lambda: flow.reveal_dialog is not None, timeout=60000)
    assert w.run.step == 12
    rec = w.run.answers[-1]
    assert rec["revealed_at"] == 12 and rec["correct"] is True and rec["truth"] == "A: reverse"
    assert "Predictions: 1 of 2 revealed, 1 right" in w.caption.text()
    # continue: it stops at the second question's step exactly
    flow.reveal_dialog.accept()
    w.training.play()
    qtbot.waitUntil(lambda: flow.dialog is not None, timeout=60000)
    assert w.run.step == 15
    flow.dialog.field.setText("1.2")
    flow.dialog.submit_number()
    qtbot.waitUntil(lambda: flow.reveal_dialog is not None and w.run.answers[-1]["revealed_at"] == 25, timeout=60000)
    assert w.run.step == 25 and w.run.answers[-1]["correct"] is True
    # the answers go into the session and come back with it
    path = tmp_path / "quiz.genviz"
    from genviz.core.session import save_session

    save_session(w.run.to_session(None), path)
    back = load_session(path)
    assert back.preset == "quiz" and [a["answer"] for a in back.predictions] == ["A: reverse", "1.2"]
    # the presenter's notes and the CSV
    notes = flow.notes()
    assert notes.table.rowCount() == 2
    out = flow.export_csv(str(tmp_path / "answers.csv"))
    rows = list(csv.DictReader(io.StringIO(Path(out).read_text())))
    assert [r["correct"] for r in rows] == ["True", "True"] and rows[0]["revealed_at"] == "12"
    notes.close()
    w.close()
