"""Lecture presets: readable TOML files in ``genviz/resources/presets`` (one per scene of a lecture), each
with a lab, its settings, a title and a caption saying what to watch for.

A preset file looks like::

    title = "Mode collapse on the ring"
    lab = "gan"
    caption = "What the class should watch for."
    seed = 1            # optional
    data = "shapes"     # optional: the data of an image lab (--data)
    order = 70          # optional: its place in the Lecture menu (the course's teaching order)
    speed = 3           # optional: training steps per second when it opens (0: as fast as it goes; absent:
                        # the lab's own speed), for experiments whose every step is a lesson (EM, CAVI)
    [settings]
    loss = "nonsat"
    [[predict]]         # optional, repeatable: a question to the class before the lesson shows (genviz.core.predict)
    question = "How many of the 8 modes will the generator cover at step 6,000?"
    kind = "number"
    reveal = 6000
    key = "coverage.modes"
    [lesson]            # optional: the figure that shows the lesson, measured by `genviz bench presets`
    what = "modes captured fall below 8"
    source = "snapshot" # "snapshot": a value of the lab's heavy snapshot (dotted path), "rows": a metric
    key = "coverage.modes"
    at_most = 6         # or at_least
    reduce = "max"      # for an array value: min, max or mean
    when = "first"      # "first": the first time it holds (within seconds); "end": it holds at the end
    window = 10         # with when = "end": the mean of the readings over its last this many seconds
    seconds = 60

A preset whose lesson takes longer than a lecture's minute to train may ship a trained state:
``trained = "NAME.genviz"``, a session file beside the TOML file (made with ``genviz train LAB
--session``; small: the model, a thinned history). The preset then opens at that state (checked
like any session file) and trains on from there; Lecture > "... from scratch" trains it live from
step 0 with the same settings.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package (a dependency there)
    import tomli as tomllib

from genviz.core.settings import SettingError, resolve
from genviz.safeio import InputError, read_bytes

PRESET_DIR = Path(__file__).resolve().parents[1] / "resources" / "presets"  # package data


class PresetError(InputError):
    pass


MAX_PRESET_BYTES = 1_000_000


@dataclass(frozen=True)
class Preset:
    name: str  # the file's stem: what ``genviz --preset NAME`` takes
    title: str
    lab: str
    caption: str
    settings: dict = field(default_factory=dict)
    seed: int = 0
    data: str | None = None
    order: int = 1000
    lesson: dict | None = None
    trained: Path | None = None  # a shipped session to open at (see the module's docstring)
    speed: float | None = None  # steps/s when the preset opens (0: unlimited; None: the lab's own speed)
    view: dict = field(default_factory=dict)  # the lab's view choices (its experiment's VIEW) the preset opens with
    # questions to the class before the lesson shows ([[predict]], genviz.core.predict)
    predictions: tuple = ()

    def missing(self) -> str | None:
        """Why the preset cannot run here (its data set is not downloaded), or None."""
        from genviz.data.download import DATASETS, is_downloaded

        if self.data in DATASETS and not is_downloaded(self.data):
            return f"needs {self.data}: File ▸ Download, or genviz download {self.data}"
        return None

    def resolved_settings(self) -> dict:
        from genviz.core.labs import get_lab

        return resolve(get_lab(self.lab).settings, self.settings)


def preset_dirs() -> list[Path]:
    """The shipped presets, then a user's own (``$GENVIZ_PRESETS``, a folder of .toml files)."""
    dirs = [PRESET_DIR]
    extra = os.environ.get("GENVIZ_PRESETS")
    if extra:
        dirs.append(Path(extra).expanduser())
    return dirs


def read_preset(path: str | os.PathLike) -> Preset:
    path = Path(path)
    try:
        raw = tomllib.loads(read_bytes(path, "preset file", limit=MAX_PRESET_BYTES).decode("utf-8"))
    except InputError as exc:
        raise PresetError(f"preset {exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise PresetError(f"preset {path.name} could not be read: {str(exc)[:160]}") from None
    missing = [k for k in ("title", "lab", "caption") if not isinstance(raw.get(k), str)]
    if missing:
        raise PresetError(f"preset {path.name} lacks {', '.join(missing)} (each a text)")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise PresetError(f"preset {path.name}: [settings] must be a table")
    seed, data = raw.get("seed", 0), raw.get("data")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2 ** 32:
        raise PresetError(f"preset {path.name}: seed must be a whole number 0..2^32-1, got {str(seed)[:40]!r}")
    if data is not None and not isinstance(data, str):
        raise PresetError(f"preset {path.name}: data must be a text, got {str(data)[:40]!r}")
    if len(raw["title"]) > 200 or len(raw["caption"]) > 2000:
        raise PresetError(f"preset {path.name}: the title (200) or caption (2,000 characters) is too long")
    order, lesson = raw.get("order", 1000), raw.get("lesson")
    if not isinstance(order, int) or isinstance(order, bool):
        raise PresetError(f"preset {path.name}: order must be a whole number")
    if lesson is not None:
        lesson = _check_lesson(lesson, path.name)
    speed = raw.get("speed")
    if speed is not None and (not isinstance(speed, (int, float)) or isinstance(speed, bool) or not 0 <= speed <= 100000):
        raise PresetError(f"preset {path.name}: speed must be 0..100000 steps per second, got {str(speed)[:40]!r}")
    view = raw.get("view", {})
    if not isinstance(view, dict) or len(view) > 16 or not all(
            isinstance(k, str) and isinstance(v, (bool, int, float, str)) and len(str(v)) <= 200 for k, v in view.items()):
        raise PresetError(f"preset {path.name}: [view] must be a table of at most 16 plain values (a lab's view choices)")
    trained = raw.get("trained")
    if trained is not None:
        if (not isinstance(trained, str) or not trained.endswith(".genviz") or Path(trained).name != trained
                or trained.startswith(".")):
            raise PresetError(f"preset {path.name}: trained must name a .genviz file beside it, got {str(trained)[:60]!r}")
        trained = path.parent / trained
        if trained.is_symlink() or (trained.exists() and trained.resolve().parent != path.parent.resolve()):
            raise PresetError(f"preset {path.name}: its trained state {trained.name} must be a file in its own folder, "
                              "not a link")
        if not trained.is_file():
            raise PresetError(f"preset {path.name}: its trained state {trained.name} is missing")
    from genviz.core.predict import PredictionError, read_predictions

    try:
        predictions = read_predictions(raw.get("predict"), path.name)
    except PredictionError as exc:
        raise PresetError(str(exc)) from None
    preset = Preset(name=path.stem, title=raw["title"], lab=raw["lab"], caption=" ".join(raw["caption"].split()),
                    settings=settings, seed=seed, data=data, order=order, lesson=lesson, trained=trained,
                    speed=None if speed is None else float(speed), view=dict(view), predictions=predictions)
    try:
        preset.resolved_settings()
    except KeyError:
        raise PresetError(f"preset {path.name}: unknown lab '{str(raw['lab'])[:40]}'") from None
    except SettingError as exc:
        raise PresetError(f"preset {path.name}: {exc}") from None
    return preset


def _check_lesson(lesson, name: str) -> dict:
    if not isinstance(lesson, dict) or not isinstance(lesson.get("key"), str) or not isinstance(lesson.get("what"), str):
        raise PresetError(f"preset {name}: [lesson] needs 'what' and 'key' (texts)")
    if lesson.get("source", "snapshot") not in ("snapshot", "rows"):
        raise PresetError(f"preset {name}: lesson source must be 'snapshot' or 'rows'")
    bounds = [k for k in ("at_least", "at_most") if k in lesson]
    if len(bounds) != 1 or not isinstance(lesson[bounds[0]], (int, float)) or isinstance(lesson[bounds[0]], bool):
        raise PresetError(f"preset {name}: a lesson has one number, at_least or at_most")
    if lesson.get("reduce", "max") not in ("min", "max", "mean") or lesson.get("when", "first") not in ("first", "end"):
        raise PresetError(f"preset {name}: lesson reduce is min, max or mean; when is first or end")
    window = lesson.get("window", 0)
    if not isinstance(window, (int, float)) or isinstance(window, bool) or not 0 <= window <= 600:
        raise PresetError(f"preset {name}: lesson window must be 0..600 seconds")
    seconds = lesson.get("seconds", 60)
    if not isinstance(seconds, (int, float)) or not 1 <= seconds <= 3600:
        raise PresetError(f"preset {name}: lesson seconds must be 1..3600")
    return {"source": "snapshot", "reduce": "max", "when": "first", "seconds": 60, **lesson}


def all_presets(problems: list[str] | None = None) -> list[Preset]:
    """Every preset that reads, in lab order, then by file name. A bad file is left out and why
    goes into ``problems``; a user's preset named like a shipped one is kept beside it as
    ``user:NAME`` (never replacing it silently)."""
    from genviz.core.labs import all_labs

    problems = [] if problems is None else problems
    order = {name: i for i, name in enumerate(all_labs())}
    found: dict[str, Preset] = {}
    for shipped, folder in zip((True, False), preset_dirs()):
        try:
            paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        except OSError as exc:
            problems.append(f"presets in {folder} could not be listed ({exc})")
            continue
        for path in paths:
            try:
                preset = read_preset(path)
            except PresetError as exc:
                problems.append(f"{exc} (in {folder}; left out)")
                continue
            if not shipped and preset.name in found:
                problems.append(f"your preset {path.name} has the name of a shipped one; it is listed as user:{preset.name}")
                preset = replace(preset, name=f"user:{preset.name}")
            found[preset.name] = preset
    # the course's teaching order (each preset's ``order``), then lab order, then file name
    return sorted(found.values(), key=lambda p: (p.order, order.get(p.lab, 99), p.name))


def ship_trained_state(preset: Preset, steps: int, frames: int = 12, rows: int = 2000,
                       progress=None) -> "Path":
    """Train ``preset`` from scratch for ``steps`` steps headless (one torch thread, the window's
    worker does the same steps) and write its shipped state beside its TOML file: the model at the
    end, ``frames`` snapshots evenly spread, every n-th metric row (about ``rows``), one checkpoint.
    ``genviz presets --ship NAME --steps N``; the file to name in the preset is printed."""
    import numpy as np

    from genviz.core.headless import record_session
    from genviz.core.history import History
    from genviz.core.protocol import EngineConfig
    from genviz.core.session import save_session

    config = EngineConfig(lab=preset.lab, settings=preset.resolved_settings(), seed=preset.seed,
                          data=preset.data, torch_threads=1)
    every = max(1, steps // max(1, frames))
    session = record_session(config, steps, frame_every=every, checkpoint_every=steps,
                             title=preset.title, caption=preset.caption)
    full = session.history
    thin = History()
    cols = full.metrics()
    n = len(cols.get("step", []))
    stride = max(1, -(-n // max(1, rows)))
    keep = np.unique(np.r_[np.arange(0, n, stride), n - 1]) if n else np.zeros(0, int)
    thin.add_rows({k: v[keep] for k, v in cols.items()})
    for frame in full.frames:
        thin.add_frame(frame.step, frame.data)
    if full.checkpoints:
        thin.add_checkpoint(*full.checkpoints[-1])
    session.history = thin
    path = (preset.trained or PRESET_DIR / f"{preset.name}.genviz")
    return save_session(session, path)


def get_preset(name: str) -> Preset:
    presets = {p.name: p for p in all_presets()}
    if name not in presets:
        raise PresetError(f"unknown preset '{name}'; available: {', '.join(presets)}")
    return presets[name]


def load_trained(preset: Preset, labs: tuple[str, ...] | None = None):
    """The preset's shipped session, read and checked like any session file, and refused when it is another
    lab's (a user preset could name one: its run would open as the wrong lab under the preset's title)."""
    from genviz.core.session import SessionError, load_session

    if preset.trained is None or preset.trained.is_symlink():
        raise SessionError(f"preset {preset.name}: no trained state to open, or a link")
    session = load_session(preset.trained, labs)
    if session.lab != preset.lab:
        raise SessionError(f"{preset.trained.name} is a session of the {session.lab} lab; the preset {preset.name} is of the "
                           f"{preset.lab} lab")
    return session


def rehearse(preset, threads: int = 1, report=None) -> list[dict]:
    """Train ``preset`` headless as the window would (from its shipped state when it has one) to each prediction's
    reveal step and say what happened there: the answer key a lecturer reads before class (``genviz presets
    --answers NAME``), and what the tests check each shipped question against."""
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner

    import numpy as np

    from genviz.core.predict import _centres, _fmt, truth_of

    state = load_trained(preset).state if preset.trained is not None else None
    runner = Runner(EngineConfig(lab=preset.lab, settings=preset.resolved_settings(), seed=preset.seed,
                                 data=preset.data, torch_threads=threads, state=state))
    rows: dict[str, list] = {}
    out = []
    for pred in sorted(preset.predictions, key=lambda p: p.reveal):
        while runner.step_count < pred.reveal:
            runner.step()
            if runner.step_count % 1000 == 0 and report is not None:
                report(f"{preset.name}: step {runner.step_count:,} of {pred.reveal:,}")
        for k, v in runner.take_rows().items():
            rows.setdefault(k, []).extend(np.asarray(v).tolist())
        data = runner.snapshot(True)
        truth, value = truth_of(pred, data, {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()})
        if pred.kind in ("choice", "lower"):
            text = pred.options()[truth]
        elif pred.kind == "click":
            text = f"{len(truth):,} samples, centred near " + ", ".join(
                f"({x:.2f}, {y:.2f})" for x, y in _centres(truth))
        else:
            text = _fmt(truth) + (f" {pred.unit}" if pred.unit else "")
        out.append({"index": pred.index, "question": pred.question, "reveal": pred.reveal, "truth": text,
                    "value": value if pred.kind != "click" else None, "answer": truth if pred.kind != "click" else None,
                    "points": truth if pred.kind == "click" else None})
    return out
