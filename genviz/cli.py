"""Command line: ``genviz`` (the app), ``genviz labs``, ``genviz presets``, ``genviz train``,
``genviz export``, ``genviz bench``, ``genviz download``."""
from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
from pathlib import Path

COMMANDS = ("labs", "presets", "train", "export", "bench", "download", "sweep", "install-desktop", "check",
            "compare-families")


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments are one line on stderr (and exit status 2), not the usage block: ``-h`` has that."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} ({self.prog} -h lists the options)\n")


def _app_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genviz", description="A desktop lab for deep generative models. "
                                "Subcommands: labs, presets, train, sweep, export, bench, download, install-desktop "
                                "(genviz COMMAND -h).")
    p.add_argument("--lab", help="lab to open (see `genviz labs`)")
    p.add_argument("--play", action="store_true", help="start training at once")
    p.add_argument("--data", help="data: digits, shapes, mnist, fashion-mnist or a path")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--engine", default="process", choices=("process", "thread"),
                   help="where training runs (process keeps the GUI smooth on CPU)")
    p.add_argument("--theme", choices=("light", "dark"), help="colour theme (default: last used)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="lab setting")
    p.add_argument("--preset", help="open a lecture preset and play it (see `genviz presets`)")
    p.add_argument("--from-scratch", action="store_true",
                   help="with --preset: train from step 0 even where the preset ships a trained state")
    p.add_argument("--session", help="open a saved session (.genviz)")
    p.add_argument("--model-code", metavar="SPEC", help="your own model for --lab: FILE.py:FACTORY or MODULE:FACTORY "
                   "(runs that Python code; docs/your-own-model.md)")
    p.add_argument("--listen", metavar="HOST:PORT", help="wait for a training loop watched with genviz.watch(..., "
                   "connect=HOST:PORT, token=...) and show it in --lab (127.0.0.1 and an SSH tunnel for a remote job)")
    p.add_argument("--token", help="with --listen: the token the watched loop must give (default: a new one, printed)")
    p.add_argument("--presenter", action="store_true", help="start in the presenter view (full screen)")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help="close after this many seconds of a "
                   "working model (counted from its worker's start-up, which a busy machine may make slow) and "
                   "print the lab, its step and steps/s as one JSON line (a smoke test of an installed or built app)")
    p.add_argument("--compare", metavar="DIR", help="open runs side by side: a folder written by `genviz sweep` "
                   "or saved by the compare view")
    p.add_argument("--parallel", metavar="DIR", help="open a comparison folder (a `genviz sweep` --out, or one the "
                   "compare view saved) as parallel coordinates: an axis per varied setting and per final metric, "
                   "brushing to filter runs")
    return p


def cmd_presets(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz presets", description="List the lecture presets.")
    p.add_argument("--ship", metavar="NAME", help="(for genviz's developers) train preset NAME from scratch and "
                   "write its shipped trained state, NAME.genviz, beside its TOML file")
    p.add_argument("--steps", type=int, default=10000, help="with --ship: training steps")
    p.add_argument("--frames", type=int, default=12, help="with --ship: snapshots kept (evenly spread)")
    p.add_argument("--answers", metavar="NAME", help="train preset NAME headless to each of its questions' reveal "
                   "steps and print what happens there: the answer key to rehearse a lecture with")
    args = p.parse_args(argv)
    from genviz.core.presets import all_presets
    if args.answers:
        from genviz.core.presets import rehearse
        from genviz.core.presets import PresetError, get_preset

        try:
            preset = get_preset(args.answers)
            if not preset.predictions:
                print(f"genviz presets: preset {preset.name} asks no questions", file=sys.stderr)
                return 2
            for key in rehearse(preset, report=lambda text: print(text, file=sys.stderr)):
                print(json.dumps({"question": key["question"], "at step": key["reveal"], "what happens": key["truth"]},
                                 ensure_ascii=False))
        except PresetError as exc:
            print(f"genviz presets: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.ship:
        from genviz.core.presets import PresetError, get_preset, ship_trained_state

        try:
            path = ship_trained_state(get_preset(args.ship), args.steps, frames=args.frames)
        except (PresetError, OSError) as exc:
            print(f"genviz presets: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({"preset": args.ship, "file": str(path), "bytes": path.stat().st_size,
                          "name it in the preset": f'trained = "{path.name}"'}))
        return 0

    problems: list[str] = []
    presets = all_presets(problems)
    for problem in problems:
        print(f"genviz presets: {problem}", file=sys.stderr)
    for preset in presets:
        notes = [n for n in (preset.missing(), "opens trained; --from-scratch trains from step 0" if preset.trained else None) if n]
        print(f"{preset.name:30s} {preset.lab:11s} {preset.title}" + "".join(f"  [{n}]" for n in notes))
    return 0


def cmd_export(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz export", description="Export a view of a saved session without a "
                                "window: an image of a step, the timeline as a GIF/MP4, the curves as CSV; or the "
                                "run as a plain PyTorch script (py) or notebook (ipynb) that reproduces its metrics.")
    p.add_argument("session", help="a .genviz session file (File > Save session, or genviz train --session)")
    p.add_argument("--view", default="lab", help="a view's name, or 'lab' for the whole lab (--list shows them)")
    p.add_argument("--format", default="png", choices=("png", "svg", "gif", "mp4", "csv", "py", "ipynb"),
                   help="py/ipynb: the run as a standalone torch + numpy script or notebook (its output: the "
                        "session's metric rows, one JSON line per step)")
    p.add_argument("--out", help="output file (default: SESSION-VIEW.FORMAT)")
    p.add_argument("--fps", type=int, default=10, help="gif/mp4 frame rate")
    p.add_argument("--width", type=int, help="output width in pixels (height keeps the aspect); png default: 2x")
    p.add_argument("--frames", type=int, default=300, help="gif/mp4: at most this many frames, evenly spread")
    p.add_argument("--step", type=int, help="png/svg: the recorded snapshot at or before this step (default: last)")
    p.add_argument("--list", action="store_true", help="list the session's views and exit")
    args = p.parse_args(argv)
    if args.format in ("py", "ipynb"):
        return _export_script(args)
    os.environ.setdefault("QT_API", "pyside6")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _gui_blas_threads()
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from genviz.core.labs import all_labs
    from genviz.core.session import SessionError, load_session
    from genviz.ui import theme
    from genviz.ui.export import ExportError, export_session, session_panel

    try:
        session = load_session(args.session, tuple(all_labs()))
    except SessionError as exc:
        print(f"genviz export: {exc}", file=sys.stderr)
        return 2
    from genviz.core.runner import session_problem

    why = session_problem(session)
    if why is not None:
        print(f"genviz export: {args.session}: {why}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme("light")
    if args.list:
        print("\n".join(["lab", *session_panel(session).views()]))
        return 0
    out = args.out or f"{Path(args.session).with_suffix('')}-{args.view}.{args.format}"
    try:
        result = export_session(session, args.view, args.format, out, fps=args.fps, width=args.width,
                                max_frames=args.frames, step=args.step)
    except (ExportError, OSError) as exc:
        print(f"genviz export: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    del app
    return 0


def _export_script(args) -> int:
    """``genviz export SESSION --format py|ipynb``: no Qt, no training; the session's lab writes the script."""
    from pathlib import Path

    from genviz.core.labs import all_labs
    from genviz.core.script import ScriptError, export_script
    from genviz.core.session import SessionError, load_session

    try:
        session = load_session(args.session, tuple(all_labs()))
        text = export_script(session, args.format)
    except SessionError as exc:  # it names the file
        print(f"genviz export: {exc}", file=sys.stderr)
        return 2
    except ScriptError as exc:
        print(f"genviz export: {args.session}: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or Path(args.session).with_suffix(f".{args.format}"))
    try:
        out.write_text(text)
    except OSError as exc:
        print(f"genviz export: {out}: cannot be written ({exc.strerror or exc})", file=sys.stderr)
        return 2
    print(json.dumps({"script": str(out), "lab": session.lab, "steps": session.step, "format": args.format}))
    return 0


def cmd_check(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz check", description="Check this run: re-run the exact checks of the "
                                "numbers a saved session's views show (normalisation, quadrature against Monte Carlo, "
                                "closed-form KLs, the bounds' order, standard errors by repetition) on its model, on "
                                "this machine: one line per number, exit status 1 if one fails.")
    p.add_argument("session", help="a .genviz session file (File > Save session, or genviz train --session)")
    p.add_argument("--json", action="store_true", help="one JSON object per verdict")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    args = p.parse_args(argv)
    from genviz.core.checkrun import run_lab_checks
    from genviz.core.labs import all_labs, get_lab
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner, session_problem
    from genviz.core.session import SessionError, load_session

    try:
        session = load_session(args.session, tuple(all_labs()))
    except SessionError as exc:
        print(f"genviz check: {exc}", file=sys.stderr)
        return 2
    why = session_problem(session) or (None if session.state is not None else "it holds no model state to check")
    if why is None and session.model_code:
        why = "it trained your own model code, which genviz check does not import (open it in the window to check it)"
    if why is not None:
        print(f"genviz check: {args.session}: {why}", file=sys.stderr)
        return 2
    lab = get_lab(session.lab)
    if not lab.exact_checks:
        print(f"genviz check: the {lab.name} lab names no exact checks (LabInfo.exact_checks)", file=sys.stderr)
        return 2
    import time

    t0 = time.perf_counter()
    runner = Runner(EngineConfig(lab=session.lab, settings=dict(session.settings), seed=session.seed,
                                 data=session.data, device="cpu", state=session.state,
                                 torch_threads=max(0, args.threads)))
    verdicts = run_lab_checks(lab, runner.exp)
    for v in verdicts:
        print(json.dumps(v.as_dict(), ensure_ascii=False) if args.json else v.line())
    failed = sum(1 for v in verdicts if not v.passed)
    print(f"{session.lab} at step {session.step:,}: {len(verdicts) - failed} of {len(verdicts)} checks passed "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 1 if failed or not verdicts else 0


def cmd_compare_families(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz compare-families", description="One data set, every family: train a "
                                "GAN, a flow, a 2-D autoregressive model, a VAE and a diffusion model (every installed "
                                "lab that "
                                "declares a family) on the same 2-D data with the same seed and an equal budget, then "
                                "score them by the same metrics: test NLL (± SE; none for a GAN), mode coverage, "
                                "high-quality % and the modes' reverse KL (mixtures), sampling cost, steps/s, and the "
                                "time each took to cover every mode with >= 80 % of its samples. Prints the table as "
                                "JSON (one object) and as Markdown; the window's version is the families lab (File ▸ "
                                "Compare families…).")
    p.add_argument("data", help="ring8, grid25, moons, spiral, checkerboard, gaussian, mixture:x,y;x,y or a .csv/.npy")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="wall-clock seconds of training for each family (default 60)")
    budget.add_argument("--steps", type=int, help="training steps for each family instead")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--families", default="", help="comma-separated subset (default: every installed family)")
    p.add_argument("--test-points", type=int, default=500, help="test points every NLL is averaged over")
    p.add_argument("--check-every", type=float, help="seconds (or steps) of each family's training between the "
                   "lesson's checks (default: a twentieth of the budget; their time is not counted)")
    p.add_argument("--csv", metavar="PATH", help="also write the table as CSV (every measure and its SE)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    from genviz.core.families import compare, csv_text

    fams = tuple(f for f in args.families.split(",") if f) or None
    seconds = args.seconds if args.seconds is not None or args.steps is not None else 60.0
    say = None if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        out = compare(args.data, seconds=seconds, steps=args.steps, seed=args.seed, families=fams,
                      test_points=max(2, args.test_points), report=say, check_every=args.check_every)
        if args.csv:
            Path(args.csv).write_text(csv_text(out["rows"]), encoding="utf-8")
    except (ValueError, OSError) as exc:
        print(f"genviz compare-families: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in out.items() if k != "markdown"}, default=float))
    print(out["markdown"])
    return 0


def cmd_labs(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz labs", description="List labs and their settings, or put an "
                                "installed lab through every check of the lab contract (docs/adding-a-lab.md).")
    p.add_argument("--json", action="store_true")
    p.add_argument("--check", metavar="NAME", help="run the lab contract's checks on lab NAME: one line per check, "
                   "exit code 1 if any fails")
    p.add_argument("--no-panel", action="store_true", help="with --check: skip the checks that build the panel")
    args = p.parse_args(argv)
    from genviz.core.labs import all_labs, problems

    labs = all_labs()
    for problem in problems:
        print(f"genviz labs: {problem}", file=sys.stderr)
    if args.check:
        return _check_lab(args.check, labs, qt=not args.no_panel)
    if args.json:
        print(json.dumps([lab.describe() for lab in labs.values()]))
        return 0
    for lab in labs.values():
        print(f"{lab.name:12s} {lab.title}\n{'':12s} {lab.summary}")
        for s in lab.settings:
            rng = f" [{', '.join(map(str, s.choices))}]" if s.choices else (
                f" [{s.minimum:g}..{s.maximum:g}]" if s.minimum is not None and s.maximum is not None else "")
            print(f"{'':14s}{s.name:12s}={s.default!s:10s}{rng} {'(live) ' if s.live else ''}{s.help}")
    return 0


def _check_lab(name: str, labs: dict, qt: bool) -> int:
    if name not in labs:
        print(f"genviz labs: no lab '{name}' is registered (the genviz.labs entry points: "
              f"{', '.join(labs) or 'none'})", file=sys.stderr)
        return 2
    from genviz.testing import run_checks

    failed = 0
    for result in run_checks(labs[name], qt=qt):
        failed += not result.passed
        print(f"{'ok  ' if result.passed else 'FAIL'} {result.check}: {result.detail}", flush=True)
    print(f"{name}: {'every check passed' if not failed else f'{failed} check(s) failed'}")
    return 1 if failed else 0


def _lab_with_options(parser: argparse.ArgumentParser, argv: list[str]):
    """The lab ``argv`` names (None if none is known), its ``train_options`` added to ``parser`` as
    ``--NAME`` (a bool setting: a flag), parsed and bounded by the setting itself."""
    from genviz.core.labs import all_labs

    labs = all_labs()
    lab = labs.get(next((a for a in argv if a in labs), None))
    for option in lab.train_options if lab else ():
        flag = f"--{option.name.replace('_', '-')}"
        if option.kind == "bool":
            parser.add_argument(flag, dest=option.name, action="store_true", help=f"{lab.name}: {option.help}")
        else:
            def parse(text, option=option):
                try:
                    return option.parse(text)
                except Exception as exc:
                    raise argparse.ArgumentTypeError(str(exc)) from None

            parser.add_argument(flag, dest=option.name, type=parse, default=option.default,
                                help=f"{lab.name}: {option.help} (default {option.default})")
    return lab


def cmd_train(argv: list[str]) -> int:
    p = OneLineParser(prog="genviz train", description="Train a lab headless; prints the final "
                                "metrics as one JSON line on stdout (progress goes to stderr).")
    p.add_argument("lab")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--data", help="digits, shapes, mnist, fashion-mnist, or a path")
    p.add_argument("--out", help="folder for model.pt and metrics.json (default: runs/LAB-seedS)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--session", help="also record the run as a session file (snapshots, curves, checkpoints)")
    p.add_argument("--frame-every", type=int, default=50, help="with --session: a snapshot every this many steps")
    p.add_argument("--model-code", metavar="SPEC", help="your own model: FILE.py:FACTORY or MODULE:FACTORY (runs that "
                   "Python code; the labs that take one and the protocol: docs/your-own-model.md)")
    lab = _lab_with_options(p, argv)  # the lab's own options (LabInfo.train_options), for its final figures
    args = p.parse_args(argv)

    from genviz.core.labs import get_lab
    from genviz.core.settings import parse_assignments, resolve
    from genviz.data import DataError

    try:
        lab = lab or get_lab(args.lab)
        overrides = parse_assignments(args.set)
        resolve(lab.settings, overrides)  # fail fast with a clear message
    except KeyError as exc:
        print(f"genviz train: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    import os
    import time
    from pathlib import Path

    from genviz.api import Run
    from genviz.safeio import InputError

    try:  # the Python API's run: the same engine, settings and files as genviz.Run in a notebook
        run = Run(args.lab, seed=args.seed, device=args.device, dataset=args.data, model_code=args.model_code,
                  threads=args.threads or os.cpu_count() or 1, **overrides)
    except (DataError, RuntimeError, InputError) as exc:
        print(f"genviz train: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        if args.session:  # a frame every --frame-every steps, a checkpoint every ten frames
            run.train(args.steps, progress=not args.quiet, frame_every=max(1, args.frame_every))
        else:
            run.train(args.steps, progress=not args.quiet, record=False)
    except FloatingPointError:
        pass  # run.stopped says why; the last good state is what is saved
    except (DataError, RuntimeError) as exc:
        print(f"genviz train: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0
    if args.session:
        try:
            path = run.save(args.session)
        except (InputError, OSError) as exc:
            print(f"genviz train: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({"session": str(path), "step": run.step, "frames": len(run.history),
                          "checkpoints": len(run.history.checkpoints)}))
        return 3 if run.stopped else 0
    out = args.out or f"runs/{args.lab}-seed{args.seed}"
    extra = {o.name: getattr(args, o.name) for o in lab.train_options
             if getattr(args, o.name) != o.default} or None
    try:
        result = run.final_metrics(**(extra or {}), report=None if args.quiet else sys.stderr)
    except (DataError, RuntimeError) as exc:
        print(f"genviz train: {exc}", file=sys.stderr)
        return 2
    result.update({"seconds": round(elapsed, 3), "steps_per_sec": round(run.step / max(elapsed, 1e-9), 2),
                   "seed": args.seed, "settings": run.experiment.settings})
    if run.stopped:
        result["stopped"] = run.stopped
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    run.save_model(folder / "model.pt")
    (folder / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
    result["model_path"] = str(folder / "model.pt")
    print(json.dumps(result, default=str))
    return 3 if "stopped" in result else 0


def cmd_bench(argv: list[str]) -> int:
    """``genviz bench LAB [ARGS]``: the lab's own benchmark (``LabInfo.bench``) or, for a lab without one,
    the live benchmark; ``live LAB`` the live one for any lab; ``presets``, ``history`` and ``faults``
    measure across labs; ``all`` every lab's live benchmark in one table."""
    from genviz.core.labs import all_labs, import_object

    labs = all_labs()
    across = ("live", "presets", "history", "faults", "compare", "watch", "api", "all")
    if not argv or argv[0] in ("-h", "--help") or (argv[0] not in labs and argv[0] not in across):
        known = ", ".join([*labs, *across])
        if argv and argv[0] not in ("-h", "--help"):
            print(f"genviz bench: no benchmark '{argv[0]}' (one of: {known})", file=sys.stderr)
            return 2
        print(f"usage: genviz bench NAME [options]   (NAME: {known}; NAME --help for its options)")
        return 0
    name, rest = argv[0], argv[1:]
    _gui_blas_threads()  # windows are measured as the app runs them
    if name in labs:
        if labs[name].bench:
            return int(import_object(labs[name].bench)(rest) or 0)
        from genviz.bench.live import run as live_run

        return live_run(name, rest)
    if name == "compare":
        from genviz.bench.compare import main as compare_main

        return compare_main(rest)
    if name == "watch":
        from genviz.bench.watch import main as watch_main

        return watch_main(rest)
    if name == "api":
        from genviz.bench.api import main as api_main

        return api_main(rest)
    if name == "all":
        from genviz.bench.all import main as all_main

        return all_main(rest)
    if name == "live":
        if not rest or rest[0] not in labs:
            print(f"genviz bench live: name a lab ({', '.join(labs)})", file=sys.stderr)
            return 2
        from genviz.bench.live import run as live_run

        return live_run(rest[0], rest[1:])
    p = argparse.ArgumentParser(prog=f"genviz bench {name}")
    p.add_argument("--presets", help="presets: comma-separated preset names; history: labs (default: all)")
    p.add_argument("--seconds", type=float, help="history: seconds of training per lab (20)")
    p.add_argument("--trials", type=int, default=5, help="faults: trials per case")
    p.add_argument("--data")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(rest)
    chosen = [x.strip() for x in args.presets.split(",")] if args.presets else None
    if name == "presets":
        from genviz.bench.presets import main as presets_main

        return presets_main(chosen)
    if name == "faults":
        from genviz.bench.faults import main as faults_main

        return faults_main(trials=args.trials)
    from genviz.bench.history import main as history_main
    from genviz.core.settings import parse_assignments

    return history_main(labs=chosen, seconds=args.seconds or 20.0, data=args.data,
                        overrides=parse_assignments(args.set) or None)


def cmd_sweep(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="genviz sweep", description="Train a lab over a grid of settings and seeds, headless; writes one JSON "
        "line per run (runs.jsonl), each run's session, and a table of final metrics (mean ± std over seeds) "
        "into --out, which `genviz --compare DIR` opens.")
    p.add_argument("lab", nargs="?", help="the lab (not with --resume: the folder's plan names it)")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                   help="a setting and its values (repeat for more settings; values split at | when they hold commas)")
    p.add_argument("--seeds", default="0", help="seeds: 0-4, or 0,3,7 (default 0)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting every run shares")
    p.add_argument("--data", help="the data every run trains on (a lab's data name or a path)")
    p.add_argument("--out", help="a new folder for the results")
    p.add_argument("--resume", metavar="DIR", help="continue an interrupted sweep in DIR: only the runs it has no "
                   "finished result for run (its lab, grid, seeds and steps come from DIR/sweep.json)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: a process pool on this machine (default); ray: a Ray cluster (pip install 'genviz[ray]')")
    p.add_argument("--workers", type=int, default=0, help="local: worker processes (default: one per core)")
    p.add_argument("--address", help="ray: the cluster's address (default: start a local Ray instance)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--model-code", metavar="SPEC", help="your own model in every run: FILE.py:FACTORY or "
                   "MODULE:FACTORY (runs that Python code; with --resume, name it again)")
    args = p.parse_args(argv)
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1` prints where a long sweep is (every thread's stack)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    # Ctrl-C stops a sweep even when it was started with SIGINT ignored (a shell's background job, a CI runner:
    # Python then leaves it ignored, and the interrupt did nothing)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    from genviz.core.labs import get_lab
    from genviz.core.model_code import ModelCodeError, checked, named
    from genviz.core.settings import SettingError, parse_assignments, resolve
    from genviz.core.sweep import parse_grid, parse_seeds, plan, read_plan, summary_table, sweep

    def refuse(text: str) -> int:
        print(f"genviz sweep: {text}", file=sys.stderr)
        return 2

    try:
        if args.resume:
            if args.lab or args.grid or args.set or args.out:
                return refuse("--resume takes its lab, grid, settings and folder from the sweep it continues")
            saved = read_plan(args.resume)
            lab = get_lab(saved["lab"])
            grid = parse_grid(lab, [f"{k}={'|'.join(map(str, v))}" for k, v in dict(saved.get("grid") or {}).items()])
            fixed = dict(saved.get("fixed") or {})
            seeds, steps, data, out = list(saved.get("seeds") or [0]), int(saved.get("steps", 0)), saved.get("data"), \
                args.resume
            code = saved.get("model_code")
            if code and not args.model_code:  # a folder never runs code the user has not named
                return refuse(f"this sweep trains your model code {code.get('spec')}: name it again with --model-code "
                              "to run it")
            if code:
                if named(lab, args.model_code)["spec"] != code.get("spec"):
                    return refuse(f"this sweep trains {code.get('spec')}, not {args.model_code}")
                code = checked(code).to_dict()  # a file changed since the sweep began is refused, saying so
            elif args.model_code:
                return refuse("this sweep trains the lab's own model: --model-code starts a new sweep")
        else:
            if not args.lab or not args.out:
                return refuse("give a lab and --out (or --resume DIR)")
            lab = get_lab(args.lab)
            grid = parse_grid(lab, args.grid)
            fixed = parse_assignments(args.set)
            seeds, steps, data, out = parse_seeds(args.seeds), args.steps, args.data, args.out
            code = named(lab, args.model_code) if args.model_code else None
        resolve(lab.settings, fixed)
    except (KeyError, ModelCodeError) as exc:
        return refuse(exc.args[0] if exc.args else str(exc))
    overlap = sorted(set(grid) & set(fixed))
    if overlap:
        return refuse(f"{', '.join(overlap)} given both by --grid and --set")
    plan(lab, grid, seeds, steps, data=data, fixed=fixed)  # refuses a bad plan before anything starts
    try:
        result = sweep(lab, grid, seeds, steps, out, backend=args.backend, workers=args.workers,
                       address=args.address, data=data, fixed=fixed, progress=None if args.quiet else sys.stderr,
                       resume=bool(args.resume), model_code=code)
    except SettingError as exc:
        return refuse(str(exc))
    print(summary_table(result["rows"]))
    failed = sum(len(r["failed"]) for r in result["rows"])
    print(json.dumps({"out": out, "runs": len(result["records"]), "of": result["total"], "failed": failed,
                      "seconds": result["seconds"], "backend": result["backend"],
                      "interrupted": result["interrupted"]}))
    if result["interrupted"]:
        print(f"genviz sweep: interrupted; {len(result['records'])} of {result['total']} runs finished and are "
              f"saved in {out} (genviz sweep --resume {out} runs the rest)", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)  # at once: the workers are gone and the folder is written; no exit handler may wait
    return 0 if not failed else 3


def cmd_install_desktop(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz install-desktop", description="Put genviz into the desktop's "
                                "application menu: the menu entry, AppStream metainfo and icons, in the user's "
                                "data folders ($XDG_DATA_HOME, by default ~/.local/share).")
    p.add_argument("--uninstall", action="store_true", help="remove what install-desktop installed")
    p.add_argument("--data-home", help="another data folder (default: $XDG_DATA_HOME or ~/.local/share)")
    args = p.parse_args(argv)
    from pathlib import Path

    from genviz import desktop

    home = Path(args.data_home).expanduser() if args.data_home else None
    if args.uninstall:
        removed = desktop.uninstall(home)
        print(f"removed {len(removed)} files" + "".join(f"\n  {p}" for p in removed))
    else:
        written = desktop.install(home)
        print(f"installed {len(written)} files (menu entry runs {desktop.launcher()})"
              + "".join(f"\n  {p}" for p in written))
    return 0


def cmd_download(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz download", description="Download and verify a dataset.")
    p.add_argument("name", choices=("mnist", "fashion-mnist"))
    args = p.parse_args(argv)
    from genviz.data import DataError
    from genviz.data.download import download

    def progress(fname, done, total):
        sys.stderr.write(f"\r{fname}: {done / 1e6:.1f}/{total / 1e6:.1f} MB   ")

    try:
        folder = download(args.name, progress=progress)
    except DataError as exc:
        print(f"\ngenviz download: {exc}", file=sys.stderr)
        return 2
    print(f"\n{args.name} is in {folder}")
    return 0


def _gui_blas_threads() -> None:
    """The GUI's numpy work is small; BLAS threads would only compete with the training worker
    (docs/references.md, "Figures behind design choices"). Must run before numpy is imported; the
    worker sets its own torch threads."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    """Every refused input (a bad file, setting, preset or session) ends as one line on stderr
    naming it, and exit status 2: never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from genviz.core.allocator import keep_freed_memory

    keep_freed_memory()  # a process genviz starts keeps the pages its steps and snapshots free (allocator.py)
    name = f"genviz {argv[0]}" if argv and argv[0] in COMMANDS else "genviz"
    try:
        if argv and argv[0] in COMMANDS:
            return {"labs": cmd_labs, "presets": cmd_presets, "train": cmd_train, "export": cmd_export,
                    "bench": cmd_bench, "download": cmd_download, "sweep": cmd_sweep,
                    "install-desktop": cmd_install_desktop, "check": cmd_check,
                    "compare-families": cmd_compare_families}[argv[0]](argv[1:])
        args = _app_parser().parse_args(argv)
        _gui_blas_threads()
        from genviz.ui.app import run_app

        return run_app(args)
    except Exception as exc:
        from genviz.safeio import InputError

        if isinstance(exc, InputError):
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError):
            print(f"{name}: {exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}", file=sys.stderr)
            return 2
        if isinstance(exc, MemoryError):
            print(f"{name}: out of memory ({exc or 'an input was too large'})", file=sys.stderr)
            return 2
        raise
