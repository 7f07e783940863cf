import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import gc

import numpy as np
import pytest


# modules whose tests run genviz as a whole (command lines, worker processes, a built wheel, linters)
SYSTEM_MODULES = {"test_architecture", "test_cli", "test_engine", "test_faults", "test_lab_contract", "test_packaging"}


def pytest_collection_modifyitems(config, items):
    """Each test gets one of the markers unit, gui or system (pyproject.toml says what each means)."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in SYSTEM_MODULES:
            item.add_marker(pytest.mark.system)
        elif ("qtbot" in getattr(item, "fixturenames", ()) or module in ("test_gui", "test_timeline_gui", "test_projector")
              or getattr(getattr(item, "callspec", None) and item.callspec.params.get("check"), "qt", False)):
            item.add_marker(pytest.mark.gui)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True, scope="session")
def _gc_on_the_main_thread():
    """Cyclic garbage is collected on the main thread only, as the app does (genviz.ui.app.collect_on_gui_thread):
    between tests here, and on the Qt timer while a test runs the event loop. Collected on a worker thread (a
    thread engine, an executor), a cycle holding a window's Qt objects deleted them off their thread: the suite
    once ended in a segmentation fault at about 90 %."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test():
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _seeded():
    np.random.seed(0)
    try:
        import torch

        torch.manual_seed(0)
    except ImportError:  # pragma: no cover
        pass
    yield


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Keep QSettings and the download cache out of the user's home."""
    monkeypatch.setenv("GENVIZ_DATA_DIR", str(tmp_path / "data-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("GENVIZ_STATE_DIR", str(tmp_path / "state"))
    yield


@pytest.fixture(autouse=True)
def _app_loop(request):
    """Tests that use a window get the app's asyncio loop: qasync's, running on the Qt event loop
    (as ``qasync.run`` does in the app), so coroutines the window starts (checked resets, session
    opens, autosaves) progress whenever Qt processes events, e.g. in ``qtbot.waitUntil``."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield None
        return
    import asyncio

    import qasync

    request.getfixturevalue("qapp")
    from genviz.ui.app import collect_on_gui_thread

    collect_on_gui_thread()
    loop = qasync.QEventLoop(already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False
    loop._after_run_forever()
    loop.close()
    asyncio.set_event_loop(None)
