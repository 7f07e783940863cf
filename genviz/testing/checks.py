"""The lab contract (docs/adding-a-lab.md) as checks a lab can be put through anywhere: genviz's own
tests, a plugin's tests (the pytest plugin, ``genviz.testing.pytest_plugin``) and ``genviz labs --check
NAME`` on an installed lab, outside any checkout.

Each check takes the lab (a :class:`~genviz.core.labs.LabInfo`) and a scratch folder, raises
:class:`ContractError` (or lets the lab's own exception through) when the lab breaks the contract, and
returns one line saying what it verified. Checks marked ``qt`` build the lab's real panel (offscreen
where there is no display)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from genviz.core.labs import LabInfo, all_labs, import_object
from genviz.core.protocol import EngineConfig

SCALARS = (bool, int, float, str, type(None), np.integer, np.floating, np.bool_)


class ContractError(AssertionError):
    """A lab breaks the contract; the message says where and what to do."""


def require(condition: Any, message: str) -> None:
    if not condition:
        raise ContractError(message)


def allowed(value: Any, where: str = "data") -> list[str]:
    """Where a snapshot holds a value of a type the protocol does not allow (docs/adding-a-lab.md)."""
    if isinstance(value, np.ndarray):
        return [] if value.dtype != object else [f"{where}: object array"]
    if isinstance(value, SCALARS):
        return []
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in allowed(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        bad = [f"{where}: key {k!r} is not a string or an int" for k in value if not isinstance(k, (str, int))]
        return bad + [p for k, v in value.items() for p in allowed(v, f"{where}.{k}")]
    return [f"{where}: {type(value).__name__}"]


def same(a: Any, b: Any) -> bool:
    """Bit-exact equality of nested snapshot payloads (types, dtypes, bytes; NaN equals NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and np.isnan(a):
        return bool(np.isnan(b))
    return a == b


def config(lab: LabInfo, **kw) -> EngineConfig:
    """The run the checks train: the lab's ``quick`` settings (small networks), seed 3, one thread."""
    return EngineConfig(lab=lab.name, seed=kw.pop("seed", 3), settings={**dict(lab.quick), **kw.pop("settings", {})},
                        torch_threads=1, **kw)


def _runner(lab: LabInfo, **kw):
    from genviz.core.runner import Runner

    return Runner(config(lab, **kw))


# -- the checks ------------------------------------------------------------------------------------

def check_description(lab: LabInfo, tmp: Path) -> str:
    """Names, settings and the references a LabInfo makes (experiment, cards, bench) all resolve."""
    from genviz.core.labs import CONTRACT_VERSION

    require(lab.name and lab.title and lab.summary, "LabInfo needs a name, a title and a summary")
    require(lab.contract <= CONTRACT_VERSION, f"the lab is written for contract {lab.contract}; this genviz "
            f"knows {CONTRACT_VERSION} (upgrade genviz)")
    names = [s.name for s in lab.settings]
    require(len(names) == len(set(names)), f"a setting is listed twice: {sorted(n for n in names if names.count(n) > 1)}")
    by_name = {s.name: s for s in lab.settings}
    for s in lab.settings:
        require(s.parse(s.default) == s.default, f"the default of setting '{s.name}' does not parse as itself")
        for other, values in s.applies:
            require(other in by_name and by_name[other].kind == "choice",
                    f"setting '{s.name}' applies under '{other}', which is not a choice setting")
            require(set(values) <= set(by_name[other].choices),
                    f"setting '{s.name}' applies under {other} = {values}, not all of them choices")
    for name, _ in lab.quick:
        require(name in by_name, f"LabInfo.quick names '{name}', which is not a setting")
    require(lab.data_kind in ("images", "points"), f"data_kind is 'images' or 'points', not {lab.data_kind!r}")
    experiment = import_object(lab.experiment)
    from genviz.core.experiment import Experiment

    require(isinstance(experiment, type) and issubclass(experiment, Experiment),
            f"{lab.experiment} is not an Experiment subclass")
    require(experiment.LAB is lab or getattr(experiment.LAB, "name", None) == lab.name,
            f"{lab.experiment}.LAB is not this lab's LabInfo")
    if lab.bench:
        require(callable(import_object(lab.bench)), f"bench {lab.bench} is not callable")
    require(lab.cards, "LabInfo.cards names no cards ('module:CARDS'): every view needs one")
    cards = import_object(lab.cards)
    require(isinstance(cards, dict) and cards, f"{lab.cards} is not a dict of cards by view name")
    return f"{len(lab.settings)} settings, {len(cards)} cards, experiment {experiment.__name__}"


def check_training(lab: LabInfo, tmp: Path) -> str:
    """It builds, trains four counted steps with finite metrics, and snapshots only protocol types."""
    runner = _runner(lab)
    static = runner.static_info()
    problems = allowed(static, "static_info")
    require(not problems, f"static_info holds what cannot cross to the window: {problems[:3]}")
    require(isinstance(static.get("your_model", ""), str), "static_info's reserved key your_model (a user's model, "
            "named in the status line) must be a str")
    unused = static.get("unused_settings", {})
    names = {s.name for s in lab.settings}
    require(isinstance(unused, dict) and all(k in names and isinstance(v, str) for k, v in unused.items()),
            f"static_info's reserved key unused_settings must map the lab's setting names to why: {unused!r}")
    for _ in range(4):
        metrics = runner.step()
        require(metrics and all(np.isfinite(float(v)) for v in metrics.values()),
                f"train_step returned no metrics or a non-finite one: {metrics}")
    require(runner.step_count == 4, f"4 steps were counted as {runner.step_count}")
    rows = runner.take_rows()
    require(rows["step"].tolist() == [1, 2, 3, 4], f"metric rows of steps {rows['step'].tolist()}, not 1..4")
    for heavy in (False, True):
        problems = allowed(runner.snapshot(heavy), "snapshot")
        require(not problems, f"a {'heavy' if heavy else 'light'} snapshot holds what cannot cross to the "
                f"window: {problems[:3]}")
    # snapshots take no random numbers from training: the window snapshots as often as the machine allows, so a run
    # watched on a fast laptop and one trained headless must take the same steps (a numpy stream shared with a
    # view's sweep once made the estimators lab's curves depend on the machine's speed)
    watched = _runner(lab)  # one after the other: a runner's experiment seeds torch's global generator
    for _ in range(3):
        watched.snapshot(True)
        watched.step()
    a = watched.take_rows()
    plain = _runner(lab)
    for _ in range(3):
        plain.step()
    b = plain.take_rows()
    require(a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a),
            "a snapshot between steps changed the steps that follow: views must draw their random numbers from "
            "streams of their own, never training's (numpy generators included)")
    return f"4 steps, metrics {', '.join(sorted(metrics))}; snapshots leave training's random streams alone"


def check_checkpoint(lab: LabInfo, tmp: Path) -> str:
    """A checkpoint holds every trained tensor, and a run continued from it repeats the same losses."""
    runner = _runner(lab)
    unsaved = runner.exp.unsaved_state()
    require(not unsaved, f"{type(runner.exp).__name__} trains {', '.join(unsaved)} but no checkpoint part holds it: "
            "keep trained tensors in an nn.Module attribute")
    for _ in range(4):
        runner.step()
    blob = runner.state()
    expected = [runner.step() for _ in range(3)]
    again = _runner(lab, state=blob)
    require(again.step_count == 4, f"a checkpoint of step 4 came back at step {again.step_count}")
    got = [again.step() for _ in range(3)]
    require(got == expected, f"continued from a checkpoint, the next losses differ: {got} against {expected} "
            "(a part of the state or a random generator is not saved)")
    return "exact resume after 4 steps"


def check_model_file(lab: LabInfo, tmp: Path) -> str:
    """``save`` writes the shared model-file envelope."""
    import torch

    from genviz.core.checkpoint import CheckpointError, read_model_file

    runner = _runner(lab)
    runner.step()
    path = tmp / f"{lab.name}-model.pt"
    require(runner.exp.query("save", path=str(path)) == str(path), "the save query did not return its path")
    try:
        ckpt = read_model_file(path, labs=(lab.name,))
    except CheckpointError as exc:  # a state without a "model" entry: the envelope must still hold
        require("incomplete" in str(exc), f"the model file is refused: {exc}")
        ckpt = torch.load(path, weights_only=True)
    require((ckpt["format"], ckpt["version"], ckpt["lab"], ckpt["step"]) == ("genviz-model", 1, lab.name, 1),
            "the model file lacks the genviz-model envelope (format, version, lab, step)")
    require(ckpt["settings"] == runner.exp.settings, "the model file's settings are not the run's")
    require(runner.exp.query("metrics")["steps"] == 1, "the metrics query does not count the step")
    return "envelope genviz-model 1"


def check_queries(lab: LabInfo, tmp: Path) -> str:
    """Every query the lab declares (``QUERIES``), and the base's ``metrics`` and ``save``, leave the training
    state exactly as it was; partial steps (``PARTS``) have a ``train_part``."""
    import torch

    from genviz.core.experiment import Experiment

    runner = _runner(lab)
    exp = runner.exp
    for _ in range(3):
        runner.step()

    def blob() -> bytes:
        buf = io.BytesIO()
        torch.save(exp.state_dict(), buf)
        return buf.getvalue()

    queries = {"metrics": {}, "save": {"path": str(tmp / f"{lab.name}-q.pt")}, **exp.QUERIES}
    for name, kwargs in queries.items():
        before = blob()
        runner.query(name, **kwargs)
        exp.wait_for_background(600)  # work a query started in the background must not touch training either
        require(blob() == before, f"the query '{name}' changed the training state (a change to training is "
                "a step: declare it in PARTS)")
    for part in exp.PARTS:
        require(type(exp).train_part is not Experiment.train_part, f"PARTS names '{part}' but there is no train_part")
    return f"{len(queries)} queries, {len(exp.PARTS)} partial steps"


def check_data(lab: LabInfo, tmp: Path) -> str:
    """``--data`` reaches the lab's data or is refused naming why, never silently ignored."""
    from genviz.safeio import InputError

    missing = str(tmp / "no-such-data.npy")
    try:
        _runner(lab, data=missing)
    except InputError as exc:
        require("no-such-data" in str(exc) or "--data does nothing here" in str(exc),
                f"--data with a missing file was refused without naming it: {exc}")
        return "a missing --data file is refused in one line"
    raise ContractError("--data with a missing file was ignored: read it (genviz.data) or refuse it")


def check_session(lab: LabInfo, tmp: Path) -> str:
    """A recorded session saves and opens again bit-exact."""
    from genviz.core.headless import record_session
    from genviz.core.session import load_session, save_session

    session = record_session(config(lab, seed=1), 12, frame_every=4, checkpoint_every=6, title="t", caption="c")
    back = load_session(save_session(session, tmp / f"{lab.name}.genviz"), tuple(all_labs()) + (lab.name,))
    require((back.lab, back.seed, back.step) == (lab.name, 1, 12), "the session came back with another lab, seed or step")
    require(same(back.settings, session.settings) and same(back.static, session.static),
            "the session's settings or static info changed on the way through the file")
    require(back.state == session.state and back.history.checkpoints == session.history.checkpoints,
            "the session's checkpoints changed on the way through the file")
    require([f.step for f in back.history.frames] == [f.step for f in session.history.frames]
            and all(same(a.data, b.data) for a, b in zip(session.history.frames, back.history.frames)),
            "the session's recorded frames changed on the way through the file")
    require(same(back.history.metrics(), session.history.metrics()), "the session's metric rows changed")
    return f"{len(back.history.frames)} frames, {len(back.history.checkpoints)} checkpoints bit-exact"


def _live_change(lab: LabInfo, values: dict) -> tuple[str, Any] | None:
    """A live float setting that applies under ``values``, and another valid value of it (half, or twice)."""
    for spec in lab.settings:
        if spec.live and spec.kind == "float" and spec.inapplicable(values) is None:
            now = float(values[spec.name])
            for value in (now / 2, now * 2):
                if value != now and (spec.minimum is None or value >= spec.minimum) and (spec.maximum is None or value <= spec.maximum):
                    return spec.name, value
    return None


def script_rows(text: str, tmp: Path, timeout: float = 600) -> list[dict]:
    """Run a script written by ``genviz export --format py`` in a fresh Python where ``import genviz`` fails
    (it must stand alone): its printed JSON rows."""
    import json
    import subprocess
    import sys

    path = tmp / "script.py"
    path.write_text(text)
    runner = ("import sys, runpy; sys.modules['genviz'] = None; "
              f"runpy.run_path({str(path)!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, timeout=timeout,
                          cwd=str(tmp))
    require(done.returncode == 0, f"the exported script failed (exit {done.returncode}): "
            f"{done.stderr.strip().splitlines()[-1:] or '(no message)'}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def rows_differ(metrics: dict, rows: list[dict]) -> str | None:
    """Where a script's printed rows differ from a session's metric columns (None: bit-exact, NaN equal to NaN)."""
    import math

    steps = [int(s) for s in metrics.get("step", [])]
    if [r.get("step") for r in rows] != steps:
        return f"the script printed steps {[r.get('step') for r in rows][:8]}..., the session has {steps[:8]}..."
    for i, row in enumerate(rows):
        for name, column in metrics.items():
            if name == "step":
                continue
            want = float(column[i])
            got = row.get(name, float("nan"))
            if got is None or not (got == want or (math.isnan(want) and math.isnan(float(got)))):
                return f"step {steps[i]}: {name} = {got!r} from the script, {want!r} in the session"
        extra = set(row) - set(metrics)
        if extra:
            return f"step {steps[i]}: the script printed {sorted(extra)}, which the session does not record"
    return None


def check_script(lab: LabInfo, tmp: Path) -> str:
    """A run written as a script (LabInfo.script) stands alone and prints the run's metric rows bit-exact."""
    if not lab.script:
        return "writes no script (genviz export --format py says so in one line)"
    require(callable(import_object(lab.script)), f"script {lab.script} is not callable")
    from genviz.core.history import History
    from genviz.core.script import export_script
    from genviz.core.session import Session

    runner = _runner(lab, seed=1)
    history = History()
    runner.train(4, history=history)
    change = _live_change(lab, runner.exp.settings)
    if change is not None:
        runner.exp.set_setting(*change)
    runner.train(4, history=history)
    exp = runner.exp
    names = {spec.name for spec in lab.settings}
    session = Session(lab=lab.name, settings={k: v for k, v in exp.settings.items() if k in names}, seed=1,
                      data=None, device="cpu", step=exp.step_count, static={}, state=runner.state(), history=history)
    text = export_script(session, "py")
    require("import genviz" not in text and "from genviz" not in text, "the script imports genviz")
    why = rows_differ(history.metrics(), script_rows(text, tmp))
    require(why is None, f"the exported script does not reproduce the run: {why}")
    changed = f", {change[0]} changed after step 4" if change else ""
    return f"8 steps{changed}: the standalone script's rows equal the run's bit for bit"


def check_exact(lab: LabInfo, tmp: Path) -> str:
    """Check this run: the lab's exact checks (``LabInfo.exact_checks``) pass on a fresh short run of every
    experiment it pages through, each verdict naming an on-screen number, within 30 s."""
    import time

    from genviz.core.checkrun import Verdict, run_lab_checks

    if not lab.exact_checks:
        return "names no exact checks (Check this run says so in one line)"
    pages = [s.choices for s in lab.settings if s.name == "experiment"]
    total = 0
    for page in (pages[0] if pages else (None,)):
        runner = _runner(lab, settings={"experiment": page} if page else {})
        for _ in range(20):
            runner.step()
        t0 = time.perf_counter()
        verdicts = run_lab_checks(lab, runner.exp)
        took = time.perf_counter() - t0
        where = f" (experiment {page})" if page else ""
        require(verdicts, f"the exact checks gave no verdict{where}")
        require(all(isinstance(v, Verdict) and v.number and v.key and v.check for v in verdicts),
                f"a verdict without its number, key or check{where}")
        bad = [v.line() for v in verdicts if not v.passed]
        require(not bad, f"an exact check failed on a fresh run{where}: {bad[0] if bad else ''}")
        require(took < 30, f"the exact checks took {took:.0f} s{where} (at most 30)")
        total += len(verdicts)
    # checking a run leaves its training alone: the steps after a check are those it would have taken
    rows = []
    for check in (True, False):  # one after the other: a runner's experiment seeds torch's global generator
        runner = _runner(lab)
        for i in range(4):
            if check and i == 2:
                runner.query("check")
            runner.step()
        rows.append(runner.take_rows())
    a, b = rows
    require(a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a),
            "checking the run changed the training steps that follow: checks must draw random numbers of their own")
    return f"{total} verdicts passed on fresh runs; a check leaves training alone"


def _app():
    import os

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _panel(lab: LabInfo):
    from genviz.ui.panel import LabPanel

    _app()
    cls = import_object(lab.panel)
    require(isinstance(cls, type) and issubclass(cls, LabPanel), f"{lab.panel} is not a LabPanel subclass")
    return cls(lab)


def check_views(lab: LabInfo, tmp: Path) -> str:
    """The panel names its views, a main view for every experiment it pages through, and every view has a
    complete card (and every card a view)."""
    from genviz.core.settings import resolve
    from genviz.ui.cards import lab_cards

    panel = _panel(lab)
    try:
        views = panel.views(every=True)
        require(views, "the panel names no views (views(), name_views)")
        for experiment in panel.PAGES or (None,):
            settings = resolve(lab.settings, {} if experiment is None else {"experiment": experiment})
            main = panel.main_view(settings)
            require(main in views, f"MAIN_VIEW {main!r} is not one of the panel's views {sorted(views)}")
        cards = lab_cards(lab)
        require(not set(views) - set(cards), f"views without a card: {sorted(set(views) - set(cards))}")
        require(not set(cards) - set(views), f"cards of no view: {sorted(set(cards) - set(views))}")
        for view, card in cards.items():
            require(not card.missing(), f"the card of '{view}' lacks {card.missing()}")
        return f"{len(views)} views, each with a card"
    finally:
        panel.close()
        panel.deleteLater()


def check_panel(lab: LabInfo, tmp: Path) -> str:
    """A saved session opens in the real panel; a live snapshot, a scrub to a recorded frame, back to live
    and a rebuild draw; every view exports as a non-blank PNG."""
    from PIL import Image

    from genviz.core.headless import record_session
    from genviz.core.protocol import Snapshot
    from genviz.core.session import load_session, save_session
    from genviz.ui import export, theme

    _app()
    theme.apply_theme("light")
    session = record_session(config(lab), 12, frame_every=4, checkpoint_every=6)
    require(session.step == 12 and len(session.history) >= 3 and session.history.checkpoints,
            "a 12-step session recorded too few frames or no checkpoint")
    back = load_session(save_session(session, tmp / f"{lab.name}-panel.genviz"), tuple(all_labs()) + (lab.name,))
    panel = export.session_panel(back, size=(1300, 850))
    try:
        views = panel.views()
        runner = _runner(lab, state=back.state)
        runner.step()
        snap = Snapshot(0, runner.step_count, True, 1.0, True, runner.take_rows(), runner.snapshot(True))
        redraws = panel.redraws
        panel.take_live(snap)
        export.flush_views(panel)
        require(panel.redraws == redraws + 1, "a live snapshot was not drawn")
        panel.show_recorded(back.history.frame(0))
        export.flush_views(panel)
        panel.show_recorded(None)
        panel.rebuild(back.static, back.history, back.history.frames[1].step)
        export.flush_views(panel)
        for name, widget in views.items():
            path = export.view_png(widget, tmp / f"{lab.name}-{name}.png", scale=1)
            img = np.asarray(Image.open(path).convert("L"))
            require(img.shape[0] > 20 and img.shape[1] > 20, f"view '{name}' exported a {img.shape} image")
            require(img.std() > 0, f"view '{name}' exported a blank image")
        return f"live, scrub, rebuild; {len(views)} views exported"
    finally:
        panel.close()
        panel.deleteLater()


def check_cards(lab: LabInfo, tmp: Path) -> str:
    """Cards with live numbers: at the live step and at a scrubbed one, each formula's terms add up to its total,
    every term names a view of the panel, and the open card shows that step's numbers (every experiment page)."""
    from genviz.core.cards import Term, live_equations, value_text
    from genviz.core.numbers import decimals_for
    from genviz.core.headless import record_session
    from genviz.ui import export
    from genviz.ui.cards import CardDialog, lab_cards

    _app()
    cards = {v: c for v, c in lab_cards(lab).items() if c.live is not None}
    require(cards, "no card has live numbers (Card.live: the formula with the shown step's values, term by term)")
    pages = import_object(lab.panel).PAGES or (None,)
    checked = 0
    for page in pages:
        where = f" (experiment {page})" if page else ""
        session = record_session(config(lab, settings={"experiment": page} if page else {}), 8, frame_every=4,
                                 checkpoint_every=8)
        frames = session.history.frames
        require(len(frames) >= 2, f"a session of 8 steps recorded {len(frames)} frames{where}")
        panel = export.session_panel(session, size=(1300, 850))
        try:
            views = panel.views(every=True)
            require(panel.shown is not None and panel.shown[1] == frames[-1].step and panel.shown[2],
                    f"after a rebuild the panel's shown frame is {panel.shown and panel.shown[1:]}, not the live step "
                    f"{frames[-1].step}{where}")
            found = 0
            for frame, live in ((frames[-1], True), (frames[0], False)):
                panel.show_recorded(None if live else frame)
                require(panel.shown[1] == frame.step and panel.shown[2] == live,
                        f"the panel reports step {panel.shown[1]} as shown, not {frame.step}{where}")
                for view, card in cards.items():
                    equations = live_equations(card, frame.data)
                    for e in equations:
                        for t in (e.total, *e.terms):
                            require(isinstance(t, Term) and isinstance(t.value, float | int), f"card '{view}': a term "
                                    f"that is not a Term with a number: {t!r}")
                            require(not t.target or t.target.partition("#")[0] in views, f"card '{view}': term "
                                    f"'{t.name}' targets '{t.target}', which is no view of the panel ({sorted(views)})")
                            require(t.se is None or t.se >= 0, f"card '{view}': term '{t.name}' has SE {t.se}")
                        require(abs(e.residual()) <= e.tolerance(), f"card '{view}' at step {frame.step}: the terms of "
                                f"'{e.total.name}' add up to {e.total.value - e.residual()!r}, not {e.total.value!r}")
                    found += len(equations)
                    if view in views and equations:
                        dlg = CardDialog(card, None, panel)
                        try:
                            dlg.live._apply()
                            require(f"{frame.step:,}" in dlg.live.header.text(), f"card '{view}' shows "
                                    f"'{dlg.live.header.text()}', not the numbers of step {frame.step}")
                            want = [value_text(t, decimals_for(t.se) if t.se else e.decimals())
                                    for e in equations for t in (e.total, *e.terms)]
                            shown = [c.value.text() for c in dlg.live.cells]
                            require(shown == want, f"card '{view}' at step {frame.step} shows {shown}, not {want}")
                            bad = [c.term.symbol for c in dlg.live.cells if c.symbol.pixmap().isNull()]
                            require(not bad, f"card '{view}': mathtext cannot render the symbols {bad}")
                        finally:
                            dlg.done(0)
                            dlg.deleteLater()
            require(found, f"no card shows live numbers for this run{where}")
            checked += found
        finally:
            panel.close()
            panel.deleteLater()
    return f"{len(cards)} card{'s' if len(cards) > 1 else ''} with live numbers; {checked} formulas add up at a live " \
        "and a scrubbed step"


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[LabInfo, Path], str]
    qt: bool = False  # builds the lab's panel

    @property
    def what(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0]


def check_family(lab: LabInfo, tmp: Path) -> str:
    """One data set, every family: a lab that declares a family (LabInfo.family) answers family_view() on a named
    2-D set with finite [n, 2] samples and, exactly when it has a likelihood, a finite [n] log_prob; drawing and
    scoring leave training alone."""
    import torch

    from genviz.core.families import FamilyView, shared_nll

    if not lab.family:
        return "declares no family (genviz compare-families leaves it out)"
    require(lab.family_data in {s.name for s in lab.settings},
            f"LabInfo.family_data {lab.family_data!r} names none of the lab's settings")
    rows = []
    for look in (True, False):
        runner = _runner(lab, settings={lab.family_data: "ring8"})
        for i in range(4):
            if look and i == 2:
                view = runner.exp.family_view()
                require(isinstance(view, FamilyView) and view.family == lab.family,
                        f"family_view() gave {type(view).__name__}, not a FamilyView of the {lab.family} family")
                pts = view.sample(64, torch.Generator().manual_seed(0))
                require(tuple(pts.shape) == (64, 2) and bool(torch.isfinite(pts).all()),
                        f"family_view().sample(64) gave {tuple(pts.shape)} (or non-finite points), not 64 finite points")
                if view.log_prob is not None:
                    lp = view.log_prob(pts.float())
                    require(tuple(lp.shape) == (64,) and bool(torch.isfinite(lp).all()),
                            f"family_view().log_prob gave {tuple(lp.shape)} (or non-finite values) for 64 points")
                    shared_nll(view, pts.float())
            runner.step()
        rows.append(runner.take_rows())
    a, b = rows
    require(a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a),
            "drawing from family_view() changed the training steps that follow: it must use random numbers of its own")
    return f"family {lab.family} on ring8: samples and {view.likelihood} likelihood; training left alone"


CHECKS: tuple[Check, ...] = (
    Check("description", check_description),
    Check("training", check_training),
    Check("checkpoint", check_checkpoint),
    Check("model file", check_model_file),
    Check("queries", check_queries),
    Check("data", check_data),
    Check("session", check_session),
    Check("script", check_script),
    Check("exact checks", check_exact),
    Check("family", check_family),
    Check("views", check_views, qt=True),
    Check("panel", check_panel, qt=True),
    Check("cards", check_cards, qt=True),
)
