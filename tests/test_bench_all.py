"""`genviz bench all`: one table of every lab's live benchmark (each experiment of the paged labs), dated with the
commit and the machine, goals marked; a lab that fails is a row of the table, not the end of the run."""
import json
import os
import subprocess
import sys

import pytest

from genviz.bench.all import cases, commit, machine, markdown
from genviz.core.labs import all_labs


def test_every_lab_and_each_paged_experiment_is_a_case():
    labs = all_labs()
    got = cases(labs, None)
    assert {lab for lab, _ in got} == set(labs)
    inference = [s["experiment"] for lab, s in got if lab == "inference"]
    assert inference == list(next(s for s in labs["inference"].settings if s.name == "experiment").choices)
    assert cases(labs, ["gan"]) == [("gan", {})]


def test_the_table_marks_the_goals_and_failures():
    header = {"date": "2026-12-06", "commit": "abc1234", "machine": "a CPU, 2 cores", "seconds": 8.0, "hog": True}
    base = {"settings": {}, "headless_steps_per_sec": 100.0, "redraws_per_sec": 30.0, "timer_lateness_ms_p50": 0.1,
            "gui_peak_mb": 150.0, "worker_peak_mb": 300.0}
    rows = [{**base, "lab": "gan", "steps_per_sec": 90.0, "ratio_to_headless": 0.9, "timer_lateness_ms_p99": 5.0},
            {**base, "lab": "inference", "settings": {"experiment": "em"}, "steps_per_sec": 60.0,
             "ratio_to_headless": 0.6, "timer_lateness_ms_p99": 5.0},
            {"lab": "flow", "settings": {}, "error": "RuntimeError: boom"}]
    text = markdown(rows, header)
    assert "commit abc1234" in text and "with one CPU-heavy process beside it" in text
    assert "| gan | 100.0 | 90.0 | 0.90 |" in text and text.count("**missed**") == 1
    assert "| inference (em) |" in text and "failed: RuntimeError: boom" in text and "1 of 3 met both goals" in text


def test_repeats_give_the_median_ratio_and_its_range(monkeypatch):
    """One 8 s pair moved by 0.1-0.3 between runs minutes apart: ``--repeat`` measures each case in turn
    and the row gives the medians, the largest peak memory and each repeat's ratio and p99."""
    import genviz.bench.live as live_module
    from genviz.bench.all import measure

    bares = iter([100.0, 50.0, 100.0])
    lives = iter([{"lab": "gan", "engine": "process", "steps_per_sec": 90.0, "redraws_per_sec": 30.0,
                   "timer_lateness_ms_p50": 0.1, "timer_lateness_ms_p99": p99, "gui_peak_mb": mb, "worker_peak_mb": None}
                  for p99, mb in ((5.0, 150.0), (20.0, 170.0), (7.0, 160.0))])
    monkeypatch.setattr(live_module, "headless_steps_per_sec", lambda *a, **k: next(bares))
    monkeypatch.setattr(live_module, "live_in_subprocess", lambda *a, **k: next(lives))
    row = measure("gan", {}, 1.0, 3, 1)
    assert row["ratios"] == [0.9, 1.8, 0.9] and row["ratio_to_headless"] == 0.9  # the median, not the mean (1.2)
    assert row["p99s"] == [5.0, 20.0, 7.0] and row["timer_lateness_ms_p99"] == 7.0
    assert row["headless_steps_per_sec"] == 100.0 and row["gui_peak_mb"] == 170.0 and row["worker_peak_mb"] is None
    header = {"date": "2026-12-06", "commit": "abc1234", "machine": "m", "seconds": 8.0, "hog": False, "repeat": 3}
    text = markdown([{**row, "lab": "gan", "settings": {}}], header)
    assert "each case 3 times in turn" in text and "| 0.90 (0.90–1.80) |" in text and "7.0 (5.0–20.0)" in text


def test_commit_and_machine_name_what_measured():
    assert commit() and "cores" in machine() and "torch" in machine()


@pytest.mark.slow
def test_the_command_measures_a_lab_and_refuses_an_unknown_one(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "genviz", "bench", "all", "--labs", "gibbs", "--seconds", "0.5",
                        "--out", str(tmp_path / "t.md")], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert rows[0]["bench"] == "all" and rows[0]["machine"]
    assert rows[1]["lab"] == "gibbs" and rows[1]["headless_steps_per_sec"] > 0 and rows[1]["steps_per_sec"] > 0
    assert "| gibbs |" in (tmp_path / "t.md").read_text()
    bad = subprocess.run([sys.executable, "-m", "genviz", "bench", "all", "--labs", "nosuch"], capture_output=True,
                         text=True, timeout=300, env=env)
    assert bad.returncode == 2 and "no lab nosuch" in bad.stderr and "Traceback" not in bad.stderr


def test_gan_speed_repeats_end_with_medians_and_ranges(monkeypatch, capsys):
    import json

    from genviz.labs.gan import bench_speed

    figures = iter([(160.0, 240.0), (230.0, 240.0), (200.0, 220.0)])

    def fake_measure(seconds):
        live, headless = next(figures)
        row = bench_speed.summary_row({"steps_per_sec": live, "timer_lateness_ms_p99": 4.0}, headless,
                                      {"default_adam": 200.0, "fused_adam": 250.0})
        print(json.dumps({"bench": "gan-speed", "phase": "summary", **row}))
        return row

    monkeypatch.setattr(bench_speed, "measure", fake_measure)
    assert bench_speed.main(seconds=0.1, repeat=3) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["phase"] for x in lines] == ["summary"] * 3 + ["median"]
    last = lines[-1]
    assert last["repeats"] == 3
    assert last["live_it_per_sec"] == 200.0 and last["live_to_bare_fused"] == 0.8
    assert last["live_to_bare_fused_range"] == [0.64, 0.92]
    assert last["live_to_headless"] == 0.909  # 200/220: the median of 0.667, 0.958, 0.909


def test_gan_speed_summary_row_divides_by_the_right_loop():
    from genviz.labs.gan.bench_speed import summary_row

    row = summary_row({"steps_per_sec": 180.0}, 225.0, {"default_adam": 200.0, "fused_adam": 240.0})
    assert row["live_to_bare_default"] == 0.9 and row["live_to_bare_fused"] == 0.75
    assert row["live_to_headless"] == 0.8 and row["headless_to_bare_fused"] == 0.938
