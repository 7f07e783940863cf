"""Start the application: Qt + qasync event loop, theme, main window."""
from __future__ import annotations

import asyncio
import os
import sys


_collector = None


def collect_on_gui_thread():
    """Python's cyclic garbage collected on the GUI thread only, on a timer (pyqtgraph's GarbageCollector):
    collected on whichever thread happened to allocate (a thread engine's worker, an executor loading a
    session), a cycle holding Qt objects deletes them off their thread, which can crash the process."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=1.0)
    return _collector


def run_app(args) -> int:
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from genviz.core.engine import START_TIMEOUT
    from genviz.core.settings import SettingError, parse_assignments
    from genviz.ui import theme
    from genviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collect_on_gui_thread()
    app.setApplicationName("genviz")
    app.setOrganizationName("genviz")
    app.setDesktopFileName("io.github.genviz.Genviz")  # the menu entry of `genviz install-desktop`
    from PySide6.QtGui import QIcon

    from genviz.desktop import APP_ID, resource_dir

    app.setWindowIcon(QIcon(str(resource_dir() / f"{APP_ID}.svg")))
    from genviz.ui.prefs import Prefs

    stored = Prefs()  # plain values only: never QSettings, which unpickles what its file holds
    for problem in stored.problems:
        print(f"genviz: {problem}", file=sys.stderr)
    name = args.theme or stored.value("theme", "light")
    theme.apply_theme(name if name in ("light", "dark") else "light", font_scale=stored.value("font_scale", 1.0))
    try:
        overrides = parse_assignments(args.set)
    except SettingError as exc:
        print(f"genviz: {exc}", file=sys.stderr)
        return 2
    preset = None
    if getattr(args, "preset", None):
        from genviz.core.presets import PresetError, get_preset

        try:
            preset = get_preset(args.preset)
            if preset.missing():
                raise PresetError(f"preset {preset.name} {preset.missing()}")
        except PresetError as exc:
            print(f"genviz: {exc}", file=sys.stderr)
            return 2
    if getattr(args, "parallel", None):
        from genviz.safeio import InputError
        from genviz.ui.parallel import open_parallel

        try:
            window = open_parallel(args.parallel)
        except InputError as exc:
            print(f"genviz: {exc}", file=sys.stderr)
            return 2
        window.show()
        return _run_loop(app)
    if getattr(args, "compare", None):
        from genviz.safeio import InputError
        from genviz.core.compare import read_compare_folder
        from genviz.ui.compare import open_compare
        from genviz.ui.compare_folder import pick_runs

        try:
            ids = pick_runs(args.compare)  # a sweep of more runs than a comparison holds: the user picks
            if ids is None:
                return 0
            window = open_compare(args.compare, loaded=read_compare_folder(args.compare, ids))
        except InputError as exc:
            print(f"genviz: {exc}", file=sys.stderr)
            return 2
        window.show()
        if args.play:
            window.play(True)
        return _run_loop(app)
    lab = preset.lab if preset else args.lab
    model_code = None
    if getattr(args, "model_code", None):
        from genviz.core.labs import all_labs
        from genviz.core.model_code import named
        from genviz.safeio import InputError

        try:
            if lab not in all_labs():
                raise InputError("--model-code needs --lab, one of the labs that take a model of your own")
            model_code = named(all_labs()[lab], args.model_code)  # named here: the user's consent
        except InputError as exc:
            print(f"genviz: {exc}", file=sys.stderr)
            return 2
    engine_kind = args.engine
    if getattr(args, "listen", None):
        from genviz.core.labs import all_labs
        from genviz.core.listen import new_token, parse_address
        from genviz.safeio import InputError

        try:
            host, port = parse_address(args.listen)
            import socket

            try:  # said now, in one line, rather than when the window starts listening
                socket.create_server((host, port)).close()
            except OSError as exc:
                raise InputError(f"--listen {args.listen}: cannot listen there ({exc.strerror or exc})") from None
            from genviz.watching import WATCHABLE

            if lab not in all_labs() or all_labs()[lab].user_model not in WATCHABLE:
                can = ", ".join(n for n, info in all_labs().items() if info.user_model in WATCHABLE)
                raise InputError(f"--listen needs --lab, a lab that can watch a model of yours ({can})")
        except InputError as exc:
            print(f"genviz: {exc}", file=sys.stderr)
            return 2
        token = args.token or new_token()
        engine_kind = f"listen:{host}:{port}:{token}"
        print(f"genviz: waiting for a watched run on {host}:{port}. In your script:\n"
              f"  genviz.watch({lab!r}, model=..., data=..., connect=\"{host}:{port}\", token=\"{token}\")", flush=True)
    window = MainWindow(engine_kind=engine_kind, lab=lab, data=args.data, seed=args.seed,
                        device=args.device, overrides=overrides, autoplay=args.play, model_code=model_code)
    window.show()
    if preset is not None:
        window.lecture.apply(preset, play=True, scratch=getattr(args, "from_scratch", False))
    if getattr(args, "session", None):  # once the qasync loop runs
        QTimer.singleShot(0, lambda: asyncio.ensure_future(window.sessions.open(args.session)))
    if getattr(args, "presenter", False):
        window.lecture.enter_presenter()
    if getattr(args, "quit_after", None):
        def report_and_quit() -> None:
            import json

            print(json.dumps({"lab": window.run.lab, "step": window.run.step,
                              "steps_per_sec": round(window.run.steps_per_sec, 1),
                              "device": window.run.device_name}), flush=True)
            window.close()

        # counted from the worker's Ready: spawning it and importing torch can take many seconds on a busy
        # machine, and a smoke test must see it train (a worker that never starts still ends the run)
        started = []

        def count_from_ready(*_):
            if not started:
                started.append(True)
                QTimer.singleShot(int(args.quit_after * 1000), report_and_quit)

        window.controller.ready.connect(count_from_ready)
        QTimer.singleShot(int((args.quit_after + START_TIMEOUT) * 1000), count_from_ready)
    first_start = not stored.value("welcomed", False)
    if first_start and not (preset or getattr(args, "session", None) or args.lab or getattr(args, "presenter", False)
                            or getattr(args, "quit_after", None)):
        stored.setValue("welcomed", True)
        QTimer.singleShot(0, window.help.welcome)  # the labs and presets, one click each

    return _run_loop(app)


def _run_loop(app) -> int:
    import qasync

    async def until_quit():
        done = asyncio.get_event_loop().create_future()
        app.aboutToQuit.connect(lambda: done.done() or done.set_result(None))
        await done

    try:
        qasync.run(until_quit())
    except RuntimeError:
        pass  # the Qt loop stopped first (window closed during start-up)
    return 0
