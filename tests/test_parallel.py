"""Parallel coordinates (genviz.core.parallel): axes from a comparison's manifest — numeric settings (log when they
span a wide range), categories, the seed, final metrics — brushing, and the CSV; the window on a folder."""
import csv
import io
import json

import numpy as np

from genviz.core.parallel import brushed, csv_text, parallel_axes


def manifest():
    runs = []
    for i, (lr, loss, seed) in enumerate([(1e-4, "nonsat", 0), (1e-3, "nonsat", 1), (1e-2, "wgan", 0),
                                          (1e-3, "wgan", 1)]):
        runs.append({"id": f"run{i:03d}", "varied": {"lr": lr, "loss": loss, "batch": 64}, "seed": seed,
                     "status": "ok", "metrics": {"modes": 8 - i, "hq": 90.0 - 10 * i, "hq_se": 1.0, "steps": 100,
                                                 "name": "text"}})
    runs.append({"id": "run004", "varied": {"lr": 1e-1, "loss": "nonsat", "batch": 64}, "seed": 0, "status": "failed",
                 "metrics": {}})
    return {"lab": "gan", "runs": runs}


def test_axes_are_the_varied_settings_the_seed_and_the_final_metrics():
    axes, ids = parallel_axes(manifest())
    names = [a.name for a in axes]
    assert names == ["lr", "loss", "seed", "modes", "hq"]  # batch does not vary; steps, SEs and text are no axes
    assert ids == ["run000", "run001", "run002", "run003", "run004"]
    lr = axes[0]
    assert lr.log and lr.labels is None  # 1e-4 … 1e-1: a log axis
    assert np.allclose(lr.scaled(), [0, 1 / 3, 2 / 3, 1 / 3, 1])
    loss = axes[1]
    assert loss.labels == ["nonsat", "wgan"] and np.allclose(loss.scaled(), [0.25, 0.25, 0.75, 0.75, 0.25])
    modes = axes[3]
    assert np.isnan(modes.values[4]) and np.allclose(modes.scaled()[:4], [1, 2 / 3, 1 / 3, 0])
    assert [t for _p, t in loss.ticks()] == ["nonsat", "wgan"] and lr.ticks()[0][1] == "0.0001"


def test_a_run_is_kept_when_it_lies_inside_every_brush():
    axes, _ = parallel_axes(manifest())
    assert brushed(axes, {}).all()
    assert brushed(axes, {"loss": (0.5, 1.0)}).tolist() == [False, False, True, True, False]
    assert brushed(axes, {"loss": (0.5, 1.0), "modes": (0.0, 0.5)}).tolist() == [False, False, True, True, False]
    assert brushed(axes, {"loss": (0.5, 1.0), "modes": (0.2, 0.5)}).tolist() == [False, False, True, False, False]
    assert brushed(axes, {"modes": (1.0, 0.0)}).tolist() == [True, True, True, True, False]  # no value: outside


def test_the_csv_has_every_run_its_values_and_the_selection():
    axes, ids = parallel_axes(manifest())
    rows = list(csv.DictReader(io.StringIO(csv_text(axes, ids, brushed(axes, {"loss": (0.5, 1)})))))
    assert [r["id"] for r in rows] == ids
    assert rows[2]["lr"] == "0.01" and rows[2]["loss"] == "wgan" and rows[2]["selected"] == "1"
    assert rows[4]["modes"] == "" and rows[4]["selected"] == "0"


def test_hostile_metrics_give_no_axis():
    m = manifest()
    for r in m["runs"]:
        r["metrics"] = {"x": float("nan"), "y": [1, 2], "z": True, "w": {"a": 1}}
    axes, _ = parallel_axes(m)
    assert [a.name for a in axes] == ["lr", "loss", "seed"]


def test_the_window_brushes_colours_and_exports(qtbot, tmp_path):
    from genviz.ui.parallel import open_parallel

    folder = tmp_path / "cmp"
    folder.mkdir()
    m = manifest()
    (folder / "compare.json").write_text(json.dumps({"format": "genviz-compare", "version": 1, **m}))
    w = open_parallel(folder)
    qtbot.addWidget(w)
    w.show()
    assert w.count.text().startswith("5 of 5 runs kept")
    w.plot.set_brush("loss", (0.5, 1.0))
    assert w.kept_ids() == ["run002", "run003"] and w.count.text().startswith("2 of 5")
    w.plot.set_brush("modes", (0.2, 0.5))
    assert w.kept_ids() == ["run002"]
    w.plot.remove_brush("modes")
    assert w.kept_ids() == ["run002", "run003"]
    for fmt in ("png", "svg", "csv"):
        path = w.export(tmp_path / f"p.{fmt}")
        assert path.stat().st_size > 100
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (tmp_path / "p.svg").read_bytes()
    assert "selected" in (tmp_path / "p.csv").read_text()
    w.plot.clear_brushes()
    assert len(w.kept_ids()) == 5


def test_the_app_opens_parallel_coordinates_or_says_why_not(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "genviz", "--parallel", str(tmp_path)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 2 and "compare.json" in r.stderr
