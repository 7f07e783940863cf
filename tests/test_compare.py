"""Comparing runs: sweeps (grid and seed parsing, refusals before any run, a failing run reported while the
others finish, the local pool and Ray), the comparison folder's manifest (hostile ones refused), the
labels and seed bands, and the compare window (from a sweep, live runs, timeline, save and reopen, export)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genviz.core.compare import (CompareError, differing, final_stats, last_values, load_manifest, mean_band,
                                 save_manifest, seed_groups)
from genviz.core.labs import get_lab
from genviz.core.protocol import EngineConfig
from genviz.core.settings import SettingError
from genviz.core.sweep import parse_grid, parse_seeds, plan, summarize, summary_table, sweep
from tests.helpers import complete

GAN = get_lab("gan")


# -- parsing and planning ----------------------------------------------------------------------------------
def test_grid_values_are_parsed_by_the_labs_settings():
    grid = parse_grid(GAN, ["lr_g=1e-3,1e-4", "loss=nonsat,wgan-gp"])
    assert grid == {"lr_g": [1e-3, 1e-4], "loss": ["nonsat", "wgan-gp"]}
    assert parse_grid(GAN, ["data=mixture:0,0;1,1|ring8"]) == {"data": ["mixture:0,0;1,1", "ring8"]}


@pytest.mark.parametrize("item, words", [
    ("lr_g=5", ["lr_g", "<= 1.0", "range", "…"]),
    ("lrg=1e-3", ["no setting 'lrg'", "lr_g"]),
    ("loss=foo", ["'foo'", "wgan-gp"]),
    ("lr_g=1e-3,1e-3", ["twice"]),
    ("lr_g", ["NAME=VALUE"]),
    ("batch=1.5", ["batch"]),
])
def test_a_bad_grid_is_refused_with_the_settings_range(item, words):
    with pytest.raises(SettingError) as exc:
        parse_grid(GAN, [item])
    for w in words:
        assert w in str(exc.value), (item, str(exc.value))


def test_seeds_and_the_plan():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds("5") == [5]
    for bad in ("4-1", "a", "1,1", "-3"):
        with pytest.raises(SettingError):
            parse_seeds(bad)
    jobs = plan(GAN, {"lr_g": [1e-3, 1e-4], "loss": ["nonsat", "hinge", "lsgan"]}, [0, 1], 100, fixed={"batch": 64})
    assert len(jobs) == 12 and len({j["id"] for j in jobs}) == 12
    assert {(j["settings"]["lr_g"], j["settings"]["loss"], j["seed"]) for j in jobs} == {
        (a, b, s) for a in (1e-3, 1e-4) for b in ("nonsat", "hinge", "lsgan") for s in (0, 1)}
    assert all(j["settings"]["batch"] == 64 for j in jobs)


def test_the_summary_is_the_mean_and_std_over_seeds_and_lists_failures():
    records = [{"id": f"r{i}", "point": i // 3, "varied": {"lr_g": [1e-3, 1e-4][i // 3]}, "seed": i % 3, "steps": 10,
                "status": "ok", "metrics": {"modes": float(v), "seconds": 1.0}} for i, v in enumerate([8, 6, 7, 2, 3, 4])]
    records[5] = {**records[5], "status": "failed", "error": "DataError: no such file", "metrics": {}}
    rows = summarize(records)
    assert rows[0]["metrics"]["modes"]["mean"] == 7.0 and rows[0]["metrics"]["modes"]["std"] == 1.0
    assert rows[1]["ok"] == 2 and rows[1]["metrics"]["modes"]["mean"] == 2.5
    assert math.isclose(rows[1]["metrics"]["modes"]["std"], np.std([2, 3], ddof=1))
    assert "seconds" not in rows[0]["metrics"]  # how long a run took is not its result
    table = summary_table(rows)
    assert "7.0 ± 1.0" in table and "2/3" in table and "no such file" in table


# -- labels, groups, bands ---------------------------------------------------------------------------------
def test_labels_name_only_what_differs():
    runs = [{"settings": {"lr_g": 1e-3, "loss": "nonsat", "batch": 64}, "seed": 0},
            {"settings": {"lr_g": 1e-4, "loss": "nonsat", "batch": 64}, "seed": 0},
            {"settings": {"lr_g": 1e-4, "loss": "nonsat", "batch": 64}, "seed": 1}]
    assert differing(runs) == ["lr_g=0.001, seed=0", "lr_g=0.0001, seed=0", "lr_g=0.0001, seed=1"]
    assert differing(runs, with_seed=False)[2] == "lr_g=0.0001"
    assert differing([runs[0], runs[0]]) == ["run 1", "run 2"]
    assert seed_groups(runs) == [[0], [1, 2]]


def test_mean_band_of_seeds():
    steps = np.arange(0, 101, 10)
    a, b = (steps, 2.0 * steps), (steps + 5, 4.0 * (steps + 5))  # b recorded at other steps
    x, mean, std = mean_band([a, b], points=11)
    assert x[0] == 5 and x[-1] == 100  # the range both cover
    expected = np.stack([2.0 * x, 4.0 * x])
    assert np.allclose(mean, expected.mean(0)) and np.allclose(std, expected.std(0, ddof=1))
    x1, m1, s1 = mean_band([a])
    assert np.allclose(s1, 0) and np.allclose(m1, 2 * x1)
    assert len(mean_band([(np.array([0, 1]), np.array([1.0, 1.0])), (np.array([5, 6]), np.array([1.0, 1.0]))])[0]) == 0
    assert final_stats([1.0, 3.0, float("nan")]) == (2.0, math.sqrt(2.0), 2)
    assert last_values({"step": np.arange(30), "loss": np.arange(30.0)}, window=10) == {"loss": 24.5}


# -- the manifest ------------------------------------------------------------------------------------------
def test_hostile_or_broken_manifests_are_refused(tmp_path):
    save_manifest(tmp_path, "gan", [{"id": "a", "session": "../../etc/passwd", "seed": 0}])
    with pytest.raises(CompareError, match="outside the folder"):
        load_manifest(tmp_path)
    (tmp_path / "compare.json").write_text("{not json")
    with pytest.raises(CompareError, match="not a comparison manifest"):
        load_manifest(tmp_path)
    (tmp_path / "compare.json").write_text(json.dumps({"format": "genviz-compare", "version": 99, "lab": "gan",
                                                       "runs": [{}]}))
    with pytest.raises(CompareError, match="newer"):
        load_manifest(tmp_path)
    (tmp_path / "compare.json").write_text(json.dumps({"format": "genviz-compare", "version": 1, "lab": "nope",
                                                       "runs": [{}]}))
    with pytest.raises(CompareError, match="unknown lab"):
        load_manifest(tmp_path, ("gan",))
    with pytest.raises(CompareError, match="no compare.json"):
        load_manifest(tmp_path / "missing")


# -- sweeps ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """2 settings x 2 seeds of the GAN on the local pool, and a fifth setting whose data file is missing:
    its runs fail, the others finish."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    grid = parse_grid(GAN, ["data=ring8|/no/such/points.csv", "lr_g=1e-3,1e-4"])
    result = sweep(GAN, grid, [0, 1], 40, out, workers=2, progress=None)
    return out, result


def test_a_sweep_writes_a_line_a_session_and_a_summary_and_reports_failed_runs(swept):
    out, result = swept
    lines = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert len(lines) == 8 == len(result["records"])
    ok = [x for x in lines if x["status"] == "ok"]
    failed = [x for x in lines if x["status"] == "failed"]
    assert len(ok) == 4 and len(failed) == 4
    assert all(x["varied"]["data"] == "/no/such/points.csv" for x in failed)
    assert all("points.csv" in x["error"] for x in failed)
    for x in ok:
        assert (out / x["session"]).is_file() and x["metrics"]["steps"] == 40
    rows = [r for r in result["rows"] if r["varied"]["data"] == "ring8"]
    assert len(rows) == 2 and all(r["ok"] == 2 and "modes" in r["metrics"] for r in rows)
    summary = (out / "summary.md").read_text()
    assert "failed: " in summary and "± " in summary
    manifest = load_manifest(out, ("gan",))
    assert len(manifest["runs"]) == 8


def test_a_second_sweep_into_the_same_folder_is_refused(swept):
    out, _ = swept
    with pytest.raises(SettingError, match="already holds a sweep"):
        sweep(GAN, {}, [0], 10, out, progress=None)


def test_the_cli_refuses_a_bad_grid_before_any_run(tmp_path):
    out = tmp_path / "never"
    r = subprocess.run([sys.executable, "-m", "genviz", "sweep", "gan", "--grid", "lr_g=1e-3,5", "--steps", "10",
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "lr_g" in r.stderr and "range" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_a_sweep_on_a_local_ray_instance(tmp_path):
    pytest.importorskip("ray")
    result = sweep(GAN, {"lr_g": [1e-3]}, [0, 1], 20, tmp_path / "ray", backend="ray", progress=None)
    assert [r["status"] for r in result["records"]] == ["ok", "ok"]
    assert result["cpus"] >= 1 and (tmp_path / "ray" / "runs" / "run000.genviz").is_file()


# -- the window --------------------------------------------------------------------------------------------
def test_the_compare_window_opens_a_sweep_scrubs_saves_reopens_and_exports(qtbot, swept, tmp_path):
    from genviz.ui.compare import open_compare

    out, _ = swept
    w = open_compare(out)
    qtbot.addWidget(w)
    w.show()
    assert len(w.runs) == 8
    groups = w.groups()
    assert len(groups) == 4  # two data x two learning rates, two seeds each
    assert len(w.columns) == 4
    w.curves.refresh_curves(force=True)
    w.curves.refresh_table(w.curves.metric_names())
    assert "lr_g=0.001" in w.curves.legend.text() and "± one standard deviation" in w.curves.legend.text()
    assert "seed" not in w.curves.legend.text().split("(lines")[0].replace("seeds", "")
    failed_cols = [c for c in w.columns if c["run"].status == "failed"]
    assert failed_cols and all("failed" in c["title"].text() for c in failed_cols)
    ok_rows = [w.curves.table.item(i, 0).text() for i in range(w.curves.table.rowCount())]
    assert len(ok_rows) == 4
    cells = [w.curves.table.item(i, j).text() for i in range(w.curves.table.rowCount()) for j in range(3, w.curves.table.columnCount())]
    assert any("±" in c for c in cells)
    # the shared timeline: the first recorded step in every trained column
    steps = w.all_steps()
    assert w.timeline.steps == steps  # scrubbable as opened, before anything trains
    w.show_index(0)
    w.show_live()
    assert steps[0] == 0 and steps[-1] == 40
    png, gif = tmp_path / "c.png", tmp_path / "c.gif"
    w.export(png)
    w.export(gif, max_frames=5)
    from PIL import Image

    assert Image.open(png).size[0] > 400 and Image.open(gif).n_frames >= 2
    # save and reopen: the same runs, labels and curves
    saved = tmp_path / "saved"
    complete(w.save(saved))
    again = open_compare(saved)
    qtbot.addWidget(again)
    assert [r.name for r in again.runs] == [r.name for r in w.runs]
    for a, b in zip(again.runs, w.runs):
        if b.status != "failed":
            assert np.array_equal(a.history.metrics()["step"], b.history.metrics()["step"])


def test_new_runs_train_side_by_side_on_workers_of_their_own(qtbot):
    from genviz.core.settings import resolve
    from genviz.ui.compare import CompareWindow
    from genviz.ui.compare_run import Run

    settings = resolve(GAN.settings, {"batch": 64})
    w = CompareWindow(GAN, [Run(GAN, settings, 0), Run(GAN, {**settings, "lr_g": 1e-4}, 0)])
    qtbot.addWidget(w)
    w.show()
    assert [r.name for r in w.runs] == [f"lr_g={settings['lr_g']:g}", "lr_g=0.0001"]
    w.new_run(settings, 3)
    assert len(w.columns) == 3 and "seed" in w.runs[2].name
    w.play(True)
    qtbot.waitUntil(lambda: all(r.step > 20 and len(r.history) > 0 for r in w.runs), timeout=120_000)
    pids = {r.bridge.engine.pid for r in w.runs}
    assert len(pids) == 3 and None not in pids
    qtbot.waitUntil(lambda: all(c["panel"].redraws > 0 for c in w.columns), timeout=30_000)
    w.play(False)
    w.close()
    assert all(r.bridge is None for r in w.runs)


def test_the_app_opens_a_comparison_folder_or_says_why_not(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "genviz", "--compare", str(tmp_path)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 2 and "compare.json" in r.stderr


def test_the_main_window_compares_its_run_with_another_seed(qtbot):
    from tests.helpers import open_window, train_until

    w = open_window(qtbot, "gan", overrides={"batch": 64})
    train_until(qtbot, w, frames=3, checkpoints=1)
    cmp = complete(w.comparisons.compare_runs())
    qtbot.addWidget(cmp)
    assert [r.seed for r in cmp.runs] == [0, 1] and [r.name for r in cmp.runs] == ["seed=0", "seed=1"]
    assert len(cmp.runs[0].history) > 0 and cmp.runs[0].state is not None  # the current run, copied
    assert len(cmp.runs[1].history) == 0
    cmp.close()


def test_the_compare_view_shows_one_chosen_view_per_run(qtbot, swept):
    from genviz.ui.compare import WHOLE_PANEL, open_compare

    out, _ = swept
    w = open_compare(out)
    qtbot.addWidget(w)
    w.show()
    assert all(c["view"] == "samples" for c in w.columns)
    assert all(c["panel"].isHidden() for c in w.columns)
    w.choose_view("losses")
    assert all(c["view"] == "losses" for c in w.columns) and w.view_box.currentText() == "losses"
    w.choose_view(WHOLE_PANEL)
    assert all(not c["panel"].isHidden() for c in w.columns)


def test_every_labs_main_view_is_shown_in_the_compare_view(qtbot):
    """The view taken out of each lab's panel is on screen: a view on a QStackedWidget's page (the autoregressive
    lab's samples) was hidden by the stack as it left it, and the comparison showed an empty column."""
    from genviz.core.labs import all_labs
    from genviz.core.settings import resolve
    from genviz.ui.compare import CompareWindow
    from genviz.ui.compare_run import Run

    for lab in all_labs().values():
        run = Run(lab, resolve(lab.settings, {}), 0)
        w = CompareWindow(lab, [run])
        qtbot.addWidget(w)
        w.show()
        column = w.columns[0]
        shown = column["widget"].layout().itemAt(1).widget()
        assert shown.isVisible() and shown.height() > 50, (lab.name, column["view"])
        w.close()


# -- interrupting a sweep ----------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    """The sweep's worker processes (spawned children; not multiprocessing's resource tracker)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _start_sweep(out, steps, seeds="0-3", *extra):
    import os

    import signal

    # started with SIGINT ignored, as a shell's background job or a CI runner starts it: Ctrl-C must still stop it
    return subprocess.Popen([sys.executable, "-m", "genviz", "sweep", "gan", "--seeds", seeds, "--steps", str(steps),
                             "--set", "g_hidden=16", "--set", "d_hidden=16", "--workers", "2", "--out", str(out),
                             "--quiet", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))


def _wait(pred, timeout):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_killed_worker_fails_its_run_only_and_ctrl_c_keeps_the_finished_runs(tmp_path):
    """A worker killed mid-run is one failed row (it once ended the sweep with KeyError: 'seconds'); Ctrl-C stops
    within seconds, says how many runs finished, leaves no worker behind, and the folder opens and resumes."""
    import signal

    out = tmp_path / "s"
    proc = _start_sweep(out, 100000, "0-3")
    try:
        assert _wait(lambda: len(_children(proc.pid)) >= 2, 120), "no workers started"
        workers = _children(proc.pid)
        assert _wait(lambda: (out / "sweep.json").is_file(), 30)
        import time
        time.sleep(3)  # both training
        os_kill = __import__("os").kill
        os_kill(workers[0], signal.SIGKILL)
        assert _wait(lambda: (out / "runs.jsonl").is_file() and "died" in (out / "runs.jsonl").read_text(), 60)
        assert proc.poll() is None  # the sweep goes on with a new worker
        assert _wait(lambda: len([c for c in _children(proc.pid) if _alive(c)]) >= 2, 60)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # its threads' stacks, for the failure's message
            time.sleep(1)
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"Ctrl-C did not stop the sweep in 30 s:\n{err[-4000:]}") from None
        assert time.monotonic() - t0 < 10 and proc.returncode == 130, err
        assert "interrupted; 1 of 4 runs finished" in err and "Traceback" not in err
        assert not [c for c in workers + _children(proc.pid) if _alive(c)]
        manifest = load_manifest(out, ("gan",))
        assert [r["status"] for r in manifest["runs"]] == ["failed"]
    finally:
        proc.kill()
        proc.wait()
    # --resume runs what has no finished result: all four (the failed one again), here briefly
    plan = json.loads((out / "sweep.json").read_text())
    plan["steps"] = 30
    (out / "sweep.json").write_text(json.dumps(plan))
    r = subprocess.run([sys.executable, "-m", "genviz", "sweep", "--resume", str(out), "--workers", "2", "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert [x["status"] for x in lines] == ["ok"] * 4
    first = (out / "runs" / "run000.genviz").stat().st_mtime
    r = subprocess.run([sys.executable, "-m", "genviz", "sweep", "--resume", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and (out / "runs" / "run000.genviz").stat().st_mtime == first  # nothing left to run


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_workers_die_with_a_killed_sweep(tmp_path):
    import os
    import signal

    proc = _start_sweep(tmp_path / "k", 100000, "0-1")
    try:
        assert _wait(lambda: len(_children(proc.pid)) >= 2, 120)
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait(lambda: not [c for c in workers if _alive(c)], 10), "workers train on as orphans"
    finally:
        proc.kill()
        proc.wait()


def test_seed_ranges_are_capped_before_they_are_expanded():
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(SettingError, match="at most 1,000"):
        parse_seeds("0-100000000")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2 ** 20


def test_a_run_whose_worker_died_saves_its_last_checkpoint_and_restarts_from_it(qtbot, tmp_path):
    """The compare view once saved 'step 3,172' with the weights it was opened with (step 400) for a run whose
    worker died, and could not restart it: now the session is the last checkpoint with the history up to it, and
    Play continues from there on a new worker."""
    import signal

    from genviz.core.runner import Runner, state_bytes
    from genviz.core.protocol import EngineConfig as Config
    from genviz.core.settings import resolve
    from genviz.core.session import load_session
    from genviz.ui.compare import CompareWindow
    from genviz.ui.compare_run import Run

    settings = resolve(GAN.settings, {"batch": 64, "g_hidden": 16, "d_hidden": 16})
    opened = Runner(Config(lab="gan", settings=settings))
    opened.train(40)
    run = Run(GAN, settings, 0, state=state_bytes(opened.exp), step=40)
    w = CompareWindow(GAN, [run])
    qtbot.addWidget(w)
    w.show()
    w.play(True)
    qtbot.waitUntil(lambda: len(run.history.checkpoints) >= 2 and run.step > run.history.checkpoints[-1][0],
                    timeout=120_000)
    os.kill(run.bridge.engine.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: run.lost, timeout=30_000)
    ck_step = run.history.checkpoints[-1][0]
    assert ck_step > 40 and run.step >= ck_step
    complete(w.save(tmp_path / "saved"))
    session = load_session(tmp_path / "saved" / "runs" / "run000.genviz")
    assert session.step == ck_step and Runner(Config(lab="gan", settings=settings, state=session.state)).step_count \
        == ck_step and int(session.history.steps.max()) <= ck_step
    w.play(True)  # restarts from the checkpoint on a new worker
    qtbot.waitUntil(lambda: not run.lost and run.bridge is not None and run.step > ck_step, timeout=120_000)
    w.play(False)
    w.close()


def _flattened_session(tmp_path, lab, settings, name):
    """A session whose recorded arrays are flattened to 1-D (crafted: genviz never writes one)."""
    from genviz.core.headless import record_session
    from genviz.core.history import History
    from genviz.core.session import save_session

    session = record_session(EngineConfig(lab=lab, settings=settings, torch_threads=1), 4, frame_every=2,
                             checkpoint_every=4)

    def flat(value):
        if isinstance(value, dict):
            return {k: flat(v) for k, v in value.items()}
        if isinstance(value, np.ndarray) and value.ndim > 1:
            return value.reshape(-1)
        return value

    history = History()
    history.add_rows(session.history.metrics())
    for frame in session.history.frames:
        history.add_frame(frame.step, flat(frame.data))
    for step, blob in session.history.checkpoints:
        history.add_checkpoint(step, blob)
    session.history = history
    return save_session(session, tmp_path / f"{name}.genviz")


@pytest.mark.parametrize("lab,settings", [("autoregressive", {"points": "ring8", "hidden": 8}),
                                          ("inference", {"experiment": "kl"})])
def test_crafted_frames_are_refused_by_export_and_the_compare_view_with_a_message(tmp_path, lab, settings):
    """Snapshot arrays flattened to 1-D once made `genviz export` segfault and escaped the compare view without
    a message: every reader now checks the frames against the lab's own (genviz.core.runner.session_problem)."""
    from genviz.core.compare import CompareError, save_manifest
    from genviz.core.compare import read_compare_folder

    path = _flattened_session(tmp_path, lab, settings, "crafted")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "genviz", "export", str(path), "--out", str(tmp_path / "x.png")],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 2 and "not a session of the" in r.stderr and "dimensions" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()
    folder = tmp_path / "cmp"
    (folder / "runs").mkdir(parents=True)
    (folder / "runs" / "run000.genviz").write_bytes(path.read_bytes())
    save_manifest(folder, lab, [{"id": "run000", "session": "runs/run000.genviz", "varied": {}, "seed": 0,
                                 "status": "ok", "error": None, "metrics": {}}])
    with pytest.raises(CompareError, match="dimensions"):
        read_compare_folder(folder)


def test_export_bounds_its_size_and_rates(tmp_path):
    from genviz.core.headless import record_session
    from genviz.core.session import save_session

    path = save_session(record_session(EngineConfig(lab="gan", settings={"g_hidden": 16, "d_hidden": 16},
                                                    torch_threads=1), 4, frame_every=2), tmp_path / "g.genviz")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for extra in (["--width", "30000"], ["--format", "gif", "--fps", "0"], ["--format", "gif", "--frames", "0"]):
        r = subprocess.run([sys.executable, "-m", "genviz", "export", str(path), *extra, "--out",
                            str(tmp_path / ("x." + ("gif" if "gif" in extra else "png")))],
                           capture_output=True, text=True, timeout=300, env=env)
        assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, \
            (extra, r.stderr)


def test_a_sweep_of_more_runs_than_a_comparison_holds_opens_through_a_picker_and_its_text_stays_text(qtbot, tmp_path):
    """A 20-run sweep could not be opened (the view holds 16; sweeps write up to 1,000): the user picks the runs.
    Names and errors from compare.json are shown as text, never as markup."""
    from PySide6.QtCore import Qt

    from genviz.core.compare import save_manifest
    from genviz.core.headless import record_session
    from genviz.core.session import save_session
    from genviz.core.compare import MAX_RUNS, read_compare_folder
    from genviz.ui.compare import open_compare
    from genviz.ui.compare_folder import RunPicker

    folder = tmp_path / "big"
    (folder / "runs").mkdir(parents=True)
    save_session(record_session(EngineConfig(lab="gan", settings={"g_hidden": 16, "d_hidden": 16}, torch_threads=1),
                                4, frame_every=2), folder / "runs" / "one.genviz")
    entries = [{"id": f"run{i:03d}", "session": "runs/one.genviz", "varied": {"lr_g": 0.001}, "seed": i,
                "status": "ok", "error": None, "metrics": {"modes": i % 8}} for i in range(19)]
    entries.append({"id": "run019", "session": None, "varied": {"lr_g": 0.001}, "seed": 19, "status": "failed",
                    "error": "<b>bold</b><img src='x'>", "metrics": {}})
    save_manifest(folder, "gan", entries)
    picker = RunPicker(load_manifest(folder)["runs"])
    qtbot.addWidget(picker)
    assert len(picker.chosen()) == MAX_RUNS == 16
    picker.filter.setText("seed 19")
    assert sum(not picker.list.item(i).isHidden() for i in range(picker.list.count())) == 1
    picker.list.item(0).setCheckState(Qt.Unchecked)
    picker.list.item(19).setCheckState(Qt.Checked)
    ids = picker.chosen()
    assert len(ids) == 16 and "run019" in ids and "run000" not in ids
    w = open_compare(folder, loaded=read_compare_folder(folder, ids))
    qtbot.addWidget(w)
    assert len(w.runs) == 16 and w.runs[-1].status == "failed"
    small = open_compare(folder, loaded=read_compare_folder(folder, ["run000", "run019"]))
    qtbot.addWidget(small)
    failed = [c for c in small.columns if c["run"].status == "failed"]
    assert len(failed) == 1
    text = failed[0]["title"].text()
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "<img" not in text
    small.close()
    picker.list.item(0).setCheckState(Qt.Checked)  # 17 ticked: OK is off
    from PySide6.QtWidgets import QDialogButtonBox

    assert not picker.buttons.button(QDialogButtonBox.Ok).isEnabled()
    w.close()


def test_runs_are_laid_out_in_cells_close_to_square():
    """Issue 39: four equal-axis views two to a row in a wide, short area were mostly empty margins."""
    from genviz.ui.compare import runs_per_row

    assert runs_per_row(4, 1500, 450) == 4  # one row of four near-square cells
    assert runs_per_row(4, 900, 900) == 2  # a square area: two by two
    assert runs_per_row(6, 900, 600) == 3
    assert runs_per_row(1, 1500, 450) == 1
    assert runs_per_row(4, 1500, 450, whole=True) == 2  # whole panels keep two to a row


def test_a_saved_comparison_restores_each_runs_settings_seed_and_view_choices(qtbot, tmp_path):
    """Each column is a run model with its controller: a view choice made in a column (the flow's layer) is kept
    in that run, saved with its session and given back to its panel when the comparison is opened again."""
    from genviz.core.headless import record_session
    from genviz.core.protocol import EngineConfig
    from genviz.ui.compare import CompareWindow, open_compare
    from genviz.ui.compare_run import Run
    from tests.helpers import complete

    flow = get_lab("flow")
    runs = []
    for seed, layers in ((1, 3), (2, 4)):
        session = record_session(EngineConfig(lab="flow", seed=seed, settings={"layers": layers, "hidden": 16}), 6,
                                 frame_every=3, checkpoint_every=6)
        runs.append(Run.from_session(session, name=f"K={layers}"))
    w = CompareWindow(flow, runs)
    qtbot.addWidget(w)
    w.show()
    panel = w.columns[0]["panel"]
    panel.show_layer(1)  # the user picks layer 1 in the first column's slider: the panel asks for it
    assert w.runs[0].view == {"layer": 1} and w.runs[1].view == {}
    saved = tmp_path / "cmp"
    complete(w.save(saved))
    again = open_compare(saved)
    qtbot.addWidget(again)
    assert [(r.seed, r.settings["layers"], r.view) for r in again.runs] == [(1, 3, {"layer": 1}), (2, 4, {})]
    assert again.columns[0]["panel"].slider.value() == 1 and again.columns[1]["panel"].slider.value() == 4


def test_the_compare_view_opens_its_folder_as_parallel_coordinates(qtbot, swept, tmp_path):
    from genviz.ui.compare import open_compare

    out, _ = swept
    w = open_compare(out)
    qtbot.addWidget(w)
    p = w.show_parallel()
    names = [a.name for a in p.axes]
    assert names[:3] == ["data", "lr_g", "seed"] and any(a.kind == "metric" for a in p.axes)
    assert len(p.ids) == 8  # every run of the folder, the failed ones too (no metrics: no line on those axes)
    p.plot.set_brush("lr_g", (0.9, 1.0))  # the larger learning rate
    assert 0 < len(p.kept_ids()) < len(p.ids)
    assert "selected" in p.export(tmp_path / "sweep.csv").read_text()
