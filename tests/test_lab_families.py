"""The families lab (genviz.labs.families): its schedule gives every family the same steps or the same training time,
its scorings are the shared metrics at fixed points of each family's training, the lesson's time is the first
scoring that shows it, its table agrees with genviz.core.families, and File ▸ Compare families… opens it on the open
lab's 2-D data."""
import csv
import io
import re

import numpy as np
import pytest
import torch

from genviz.core.families import csv_text, shared_nll
from genviz.core.labs import get_lab, import_object
from genviz.core.settings import resolve


def build(**settings):
    info = get_lab("families")
    return import_object(info.experiment)(resolve(info.settings, settings), seed=0)


def test_equal_steps_go_round_the_families_in_order():
    exp = build(budget="steps", families="gan,flow,autoregressive")
    picked = [int(exp.advance()["family"]) for _ in range(9)]
    assert picked == [0, 1, 2] * 3
    assert {f: m.step_count for f, m in exp.members.items()} == {"gan": 3, "flow": 3, "autoregressive": 3}


def test_equal_time_gives_each_family_steps_in_inverse_proportion_to_its_step_time():
    exp = build(budget="time", families="gan,flow,diffusion")
    assert all(c > 0 for c in exp.costs.values()) and exp.costs["flow"] > exp.costs["gan"]  # a flow step costs more
    for _ in range(300):
        exp.advance()
    spent = [exp.spent(f) for f in exp.families]
    assert max(spent) - min(spent) <= max(exp.costs.values()) + 1e-12
    assert exp.members["gan"].step_count > exp.members["flow"].step_count


def test_scorings_come_at_fixed_points_and_the_lesson_is_the_first_that_shows_it():
    exp = build(budget="steps", families="autoregressive,vae", every=0.5, data="gaussian")  # every 50 steps
    rows = [exp.advance() for _ in range(400)]
    # a row carries every family's last scoring; a scoring is new where its time t_FAMILY changes
    scored, seen = [], {}
    for r in rows:
        f = ["autoregressive", "vae"][int(r["family"])]
        if r.get(f"t_{f}") is not None and seen.get(f) != r[f"t_{f}"]:
            seen[f] = r[f"t_{f}"]
            scored.append((r["family"], r))
    ar = [r for f, r in scored if f == 0]
    assert [r["t_autoregressive"] for r in ar] == [50.0, 100.0, 150.0, 200.0]
    assert all(np.isfinite(r["nll_autoregressive"]) and r["nll_se_autoregressive"] > 0 for r in ar)
    for i, f in enumerate(exp.families):  # one broad mode: the lesson's time is the first scoring that shows it
        shown = [r[f"t_{f}"] for g, r in scored if g == i and r[f"modes_{f}"] == 1 and r[f"hq_{f}"] >= 80]
        assert exp.lesson_at[f] == (shown[0] if shown else -1.0)
    assert exp.lesson_at["vae"] == 50.0  # the VAE's samples of one Gaussian: at its first scoring
    assert exp.scores["vae"]["likelihood"] == "bound" and "nll" in exp.scores["vae"]


def test_the_table_is_the_shared_metrics_on_the_same_test_points():
    exp = build(budget="steps", families="gan,flow", every=0.5)
    for _ in range(40):
        exp.advance()
    table = exp.table(cost_repeats=1)
    rows = {r["family"]: r for r in table["rows"]}
    assert rows["gan"]["nll"] is None and rows["gan"]["likelihood"] == "none"
    with torch.random.fork_rng(devices=[]):
        own = shared_nll(exp.members["flow"].family_view(), exp.x_test)
    assert rows["flow"]["nll"] == pytest.approx(own["nll"], abs=1e-9)
    assert rows["flow"]["steps"] == 20 and rows["gan"]["steps"] == 20
    parsed = list(csv.DictReader(io.StringIO(csv_text(table["rows"]))))
    assert [p["family"] for p in parsed] == ["gan", "flow"]
    assert parsed[0]["nll"] == "" and float(parsed[1]["nll"]) == pytest.approx(rows["flow"]["nll"])
    assert float(parsed[1]["nll_se"]) == pytest.approx(rows["flow"]["nll_se"])
    assert "| flow |" in table["markdown"] and "to the lesson" in table["markdown"]


def test_unknown_families_are_refused_in_one_line():
    from genviz.core.settings import SettingError

    with pytest.raises(SettingError, match="no installed lab trains nosuch"):
        build(families="gan,nosuch")


def test_file_compare_families_opens_the_lab_on_the_open_labs_data(qtbot):
    from tests.helpers import open_window

    w = open_window(qtbot, lab="gan", overrides={"data": "grid25"})
    entries = [a.text() for a in w.menuBar().actions()[0].menu().actions()]
    assert "Compare families…" in entries
    w.training.open_from_menu("families")
    qtbot.waitUntil(lambda: w.run.lab == "families" and w.run.static.get("name") == "grid25", timeout=120000)
    assert w.run.values_of("families")["data"] == "grid25"
    panel = w.panels["families"]
    assert all(panel.plots[f].isVisible() for f in w.run.static["families"])
    # each column's title counts its steps as training goes (at most twice a second: a new title re-lays the plot)
    w.training.do_step(8)
    qtbot.waitUntil(lambda: w.run.step >= 8 and not panel.drawing, timeout=120000)
    first = next(iter(w.run.static["families"]))
    counted = re.compile(r"(?<![\d,])[1-9][\d,]* steps")  # not "0 steps"
    qtbot.waitUntil(lambda: counted.search(panel.plots[first].getPlotItem().titleLabel.text), timeout=5000)
    assert not panel.failures
