"""Lecture presets beyond their settings: a shipped trained state (opened checked, like any session;
"from scratch" trains from step 0), presets whose data set is not downloaded (listed, greyed out,
passed over), and the preset benchmark reading its figure from either start."""
import pytest

from genviz.core.engine import EngineConfig
from genviz.core.headless import record_session
from genviz.core.presets import PresetError, all_presets, get_preset, read_preset
from genviz.core.session import save_session
from tests.helpers import open_window

TOML = '''title = "Tiny GAN, trained"
lab = "gan"
caption = "A small GAN opened from a shipped state: the class sees the lesson at once."
seed = 3
{trained}
[settings]
g_hidden = 8
d_hidden = 8
batch = 32

[lesson]
what = "at least the state's step"
source = "rows"
key = "d_loss"
at_least = -1e9
seconds = 1
'''


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A user preset folder holding a preset with a trained state of 7 steps."""
    session = record_session(EngineConfig(lab="gan", settings={"g_hidden": 8, "d_hidden": 8, "batch": 32}, seed=3),
                             7, frame_every=7, checkpoint_every=7)
    save_session(session, tmp_path / "tiny.genviz")
    (tmp_path / "tiny.toml").write_text(TOML.format(trained='trained = "tiny.genviz"'))
    monkeypatch.setenv("GENVIZ_PRESETS", str(tmp_path))
    return tmp_path


def test_a_trained_state_must_be_a_genviz_file_beside_the_preset(tmp_path):
    for value, text in (('"../tiny.genviz"', "beside it"), ('"/etc/passwd"', "beside it"), ('"x.pt"', "beside it"),
                        ("3", "beside it"), ('"absent.genviz"', "missing")):
        (tmp_path / "p.toml").write_text(TOML.format(trained=f"trained = {value}"))
        with pytest.raises(PresetError, match=text):
            read_preset(tmp_path / "p.toml")
    (tmp_path / "ok.genviz").write_bytes(b"checked when opened, like any session")
    (tmp_path / "p.toml").write_text(TOML.format(trained='trained = "ok.genviz"'))
    assert read_preset(tmp_path / "p.toml").trained == tmp_path / "ok.genviz"


def test_a_preset_on_a_data_set_not_downloaded_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("GENVIZ_DATA_DIR", str(tmp_path))
    preset = get_preset("manifold-mnist")
    assert "genviz download mnist" in preset.missing()
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(b"")
    assert preset.missing() is None
    assert all(p.missing() is None for p in all_presets() if p.data is None)


def test_the_benchmark_reads_the_lesson_at_the_shipped_state_and_from_scratch(shipped):
    from genviz.bench.presets import measure

    trained = measure("tiny")
    assert trained["start"] == "trained state (step 7)" and trained["shown"]
    assert trained["trace"][0][1] == 8  # read right after the first step from the shipped state
    scratch = measure("tiny", scratch=True)
    assert scratch["start"] == "scratch" and scratch["trace"][0][1] < 7 + scratch["trace"][-1][1]


def test_the_window_opens_a_preset_at_its_trained_state_or_from_scratch(qtbot, shipped, _app_loop, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMenu

    monkeypatch.setenv("GENVIZ_DATA_DIR", str(tmp_path / "no-data"))
    w = open_window(qtbot, lab="manifold")
    preset = next(p for p in w.lecture.presets if p.name == "tiny")
    menu = QMenu()
    w.lecture.fill_menu(menu)
    texts = {a.text(): a for a in menu.actions()}
    assert "Tiny GAN, trained: from scratch" in texts
    mnist = next(a for t, a in texts.items() if t.startswith("The MNIST manifold"))
    assert not mnist.isEnabled() and "genviz download mnist" in mnist.toolTip()

    w.lecture.apply(preset, play=False)
    qtbot.waitUntil(lambda: w.run.lab == "gan" and w.run.static != {} and w.run.step == 7, timeout=60000)
    assert w.run.preset is preset and "Opened trained to step 7" in w.caption.text()
    assert w.run.history.frames and w.run.history.frames[-1].step == 7  # the shipped course is on the timeline
    w.lecture.apply(preset, play=False, scratch=True)
    qtbot.waitUntil(lambda: w.run.step == 0 and w.run.static != {} and w.run.session is None, timeout=60000)
    assert "Opened trained" not in w.caption.text() and w.run.values["gan"]["g_hidden"] == 8
    # the newest pick wins: a shipped state still opening when another preset is picked is dropped
    w.lecture.apply(preset, play=False)
    w.lecture.apply(get_preset("manifold-unfolding"), play=False)
    qtbot.wait(1500)
    qtbot.waitUntil(lambda: w.run.lab == "manifold" and w.run.static != {}, timeout=60000)
    qtbot.wait(500)
    assert w.run.lab == "manifold" and w.run.preset.name == "manifold-unfolding" and w.run.step < 7
    # PgDown never lands on a preset whose data is missing
    names = [p.name for p in w.lecture.presets]
    for _ in range(len(names) + 1):
        w.lecture.step(1)
        assert w.run.preset.missing() is None
    w.close()


def test_the_shipped_trained_states_are_small_and_match_their_presets():
    from genviz.core.presets import PRESET_DIR
    from genviz.core.session import load_session

    trained = [p for p in all_presets() if p.trained is not None]
    assert trained, "no preset ships a trained state"
    assert sum(f.stat().st_size for f in PRESET_DIR.glob("*.genviz")) <= 20_000_000  # all of them together
    for preset in trained:
        session = load_session(preset.trained)
        assert session.lab == preset.lab and session.seed == preset.seed and session.step > 0
        # the state is of the preset as written (a setting added since it was made takes its default, as when
        # any older session opens)
        from genviz.core.labs import get_lab
        from genviz.core.settings import resolve

        assert resolve(get_lab(preset.lab).settings, session.settings) == preset.resolved_settings()
        assert 2 <= len(session.history) <= 20 and len(session.history.checkpoints) <= 2


def test_a_trained_state_may_not_be_a_link_out_of_its_folder_or_another_labs_session(tmp_path):
    """A user preset's trained file was followed through a symlink outside its folder, and another lab's session
    opened under the preset's title: both are refused."""
    from genviz.core.presets import load_trained
    from genviz.core.session import SessionError

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    folder = tmp_path / "presets"
    folder.mkdir()
    session = record_session(EngineConfig(lab="gan", settings={"g_hidden": 8, "d_hidden": 8, "batch": 32}), 2,
                             frame_every=2, checkpoint_every=2)
    save_session(session, outside / "real.genviz")
    (folder / "linked.genviz").symlink_to(outside / "real.genviz")
    (folder / "p.toml").write_text(TOML.format(trained='trained = "linked.genviz"'))
    with pytest.raises(PresetError, match="not a link"):
        read_preset(folder / "p.toml")
    other = record_session(EngineConfig(lab="inference", settings={}), 2, frame_every=2, checkpoint_every=2)
    save_session(other, folder / "other.genviz")
    (folder / "p.toml").write_text(TOML.format(trained='trained = "other.genviz"'))
    with pytest.raises(SessionError, match="is a session of the inference lab; the preset p is of the gan lab"):
        load_trained(read_preset(folder / "p.toml"))
    save_session(session, folder / "own.genviz")
    (folder / "p.toml").write_text(TOML.format(trained='trained = "own.genviz"'))
    assert load_trained(read_preset(folder / "p.toml")).lab == "gan"
