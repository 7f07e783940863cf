import json
import subprocess
import sys

import pytest
import torch


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "genviz", *args], capture_output=True, text=True, timeout=timeout)


def test_train_prints_one_json_line_and_saves_a_safe_model(tmp_path):
    r = run("train", "manifold", "--steps", "60", "--seed", "3", "--set", "hidden=32", "--set", "beta=0.5",
            "--out", str(tmp_path), "--iwae", "20", "--threads", "1")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["steps"] == 60 and out["seed"] == 3 and out["settings"]["beta"] == 0.5
    assert out["test_nll_iwae20"] <= out["test_neg_elbo"] + 1e-3  # IWAE is the tighter bound
    assert "step 60/60" in r.stderr  # progress went to stderr
    state = torch.load(tmp_path / "model.pt", weights_only=True)  # loads without running code
    assert state["step"] == 60 and state["settings"]["hidden"] == 32
    assert json.loads((tmp_path / "metrics.json").read_text())["steps"] == 60


def test_train_is_reproducible_with_a_seed(tmp_path):
    a = run("train", "manifold", "--steps", "30", "--seed", "1", "--threads", "1", "--quiet", "--out", str(tmp_path / "a"))
    b = run("train", "manifold", "--steps", "30", "--seed", "1", "--threads", "1", "--quiet", "--out", str(tmp_path / "b"))
    assert json.loads(a.stdout)["test_neg_elbo"] == json.loads(b.stdout)["test_neg_elbo"]


def test_bad_arguments_give_clear_errors(tmp_path):
    r = run("train", "manifold", "--set", "latent=99", "--out", str(tmp_path))
    assert r.returncode == 2 and "latent" in r.stderr and "<= 32" in r.stderr
    r = run("train", "nolab")
    assert r.returncode == 2 and "unknown lab" in r.stderr
    r = run("train", "manifold", "--data", str(tmp_path / "missing.npz"), "--steps", "1")
    assert r.returncode == 2 and "no such file" in r.stderr


def test_labs_json():
    r = run("labs", "--json")
    labs = json.loads(r.stdout)
    assert labs[0]["name"] == "manifold" and any(s["name"] == "beta" for s in labs[0]["settings"])


def test_train_gan_prints_mode_metrics(tmp_path):
    r = run("train", "gan", "--steps", "40", "--set", "data=grid25", "--set", "loss=wgan-gp", "--set", "g_hidden=32",
            "--set", "d_hidden=32", "--threads", "1", "--quiet", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n_modes"] == 25 and 0 <= out["modes"] <= 25 and len(out["per_mode"]) == 25
    assert torch.load(tmp_path / "model.pt", weights_only=True)["lab"] == "gan"


def test_gan_bench_runs_and_prints_the_table():
    r = run("bench", "gan", "--steps", "5", "--seeds", "1", "--presets", "GAN (non-saturating)")
    assert r.returncode == 0, r.stderr
    assert "ring modes /8" in r.stdout and "PacGAN4 (PacGAN T1)" in r.stdout
    assert json.loads(r.stdout.strip().splitlines()[-1])["runs"] == 2


def readme_train_commands() -> list[list[str]]:
    """Every ``genviz train`` line of the command-line page's example block (docs/cli.md), its optional [parts]
    left out."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    out = []
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("genviz train "):
            out.append(shlex.split(re.sub(r"\[[^\]]*\]", "", line))[1:])
    return out


def test_every_readme_train_command_runs_for_every_lab(tmp_path):
    """The documentation's own headless examples (fewer steps) run without --quiet, for every lab."""
    from tests.helpers import own_labs

    commands = readme_train_commands()
    assert {cmd[1] for cmd in commands} >= set(own_labs()), "a lab without an example in docs/cli.md"
    for i, cmd in enumerate(commands):
        if "--steps" in cmd:
            cmd[cmd.index("--steps") + 1] = "4"
        extra = [] if "--session" in cmd else ["--out", str(tmp_path / f"run{i}")]
        if "--session" in cmd:
            cmd[cmd.index("--session") + 1] = str(tmp_path / f"run{i}.genviz")
        r = run(*cmd, *extra, "--threads", "1", timeout=900)
        assert r.returncode == 0, (cmd, r.stderr[-2000:])
        assert "Traceback" not in r.stderr
        json.loads(r.stdout.strip().splitlines()[-1])


def test_refused_inputs_are_one_line_and_exit_2(tmp_path):
    import numpy as np

    np.save(tmp_path / "big.npy", np.zeros((2, 2), np.float32))
    (tmp_path / "big.npy").write_bytes((tmp_path / "big.npy").read_bytes().replace(b"(2, 2)", b"(500000000, 500)"))
    (tmp_path / "x.csv").mkdir()
    (tmp_path / "evil.genviz").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (tmp_path / "model.pt").write_bytes(b"not a model")
    cases = [
        (("train", "manifold", "--steps", "2", "--set", "batch=inf"), "batch"),
        (("train", "manifold", "--steps", "2", "--data", str(tmp_path / "big.npy")), "931.3 GiB"),
        (("train", "gan", "--steps", "2", "--set", f"data={tmp_path / 'x.csv'}"), "is a folder"),
        (("train", "flow", "--steps", "2", "--set", "fit=energy", "--set", "energy=z1+"), "expression"),
        (("train", "arithmetic", "--steps", "2", "--set", f"model={tmp_path / 'model.pt'}"), "model.pt"),
        (("export", str(tmp_path / "evil.genviz")), "evil.genviz"),
        (("export", str(tmp_path / "missing.genviz")), "no such session file"),
    ]
    for args, text in cases:
        r = run(*args, "--out", str(tmp_path / "out")) if args[0] == "train" else run(*args)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert r.returncode == 2 and len(lines) == 1 and text in lines[0], (args, r.stderr[-1500:])


def test_a_bad_user_preset_is_left_out_and_the_rest_load(tmp_path, monkeypatch):
    from genviz.core.presets import PRESET_DIR, all_presets

    shipped = {p.stem for p in PRESET_DIR.glob("*.toml")}
    name = sorted(shipped)[0]
    (tmp_path / "seed.toml").write_text('title = "t"\nlab = "gan"\ncaption = "c"\nseed = "abc"\n')
    (tmp_path / "inf.toml").write_text('title = "t"\nlab = "manifold"\ncaption = "c"\n[settings]\nlatent = inf\n')
    (tmp_path / "broken.toml").write_text('title = "unterminated\n')
    (tmp_path / f"{name}.toml").write_text('title = "Mine"\nlab = "gan"\ncaption = "<b>bold</b>"\n')
    monkeypatch.setenv("GENVIZ_PRESETS", str(tmp_path))
    problems = []
    presets = {p.name: p for p in all_presets(problems)}
    assert shipped <= set(presets) and presets[f"user:{name}"].title == "Mine"
    assert len(problems) == 4 and any("seed" in p for p in problems) and any("latent" in p for p in problems)
    r = run("presets")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(presets) and "left out" in r.stderr


def test_export_of_a_session_with_another_labs_frames_is_one_line(tmp_path):
    from genviz.core.engine import EngineConfig
    from genviz.core.headless import record_session
    from genviz.core.session import save_session

    manifold = record_session(EngineConfig(lab="manifold", settings={"hidden": 16}), 2, frame_every=1)
    gan = record_session(EngineConfig(lab="gan", settings={"g_hidden": 8, "d_hidden": 8}), 2, frame_every=1)
    gan.history = manifold.history
    save_session(gan, tmp_path / "mixed.genviz")
    r = run("export", str(tmp_path / "mixed.genviz"), "--out", str(tmp_path / "x.png"))
    lines = [line for line in r.stderr.splitlines() if line.strip() and "propagateSizeHints" not in line]  # Qt's
    assert r.returncode == 2 and len(lines) == 1 and "not a session of the gan lab" in lines[0], r.stderr[-1500:]


def test_every_lab_has_a_benchmark_and_unknown_names_are_refused():
    """``genviz bench LAB`` reaches every registered lab's own benchmark (or the live one) through the
    lab's description alone; an unknown name is one line on stderr and exit code 2."""
    from genviz.core.labs import all_labs

    for name in all_labs():  # the bench a LabInfo names is callable: genviz.testing's description check
        r = run("bench", name, "--help")
        assert r.returncode == 0 and f"genviz bench {name}" in r.stdout, (name, r.stderr)
    r = run("bench", "no-such-lab")
    assert r.returncode == 2 and "no benchmark 'no-such-lab'" in r.stderr


def test_autoregressive_bench_prints_sampling_times_and_the_nll_table():
    r = run("bench", "autoregressive", "--steps", "5", "--seconds", "1")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    live = next(x for x in records if x.get("phase") == "live")
    assert live["sample_reply_s"] is not None and live["sampling_timer_lateness_ms_p99"] >= 0
    times = {x["model"]: x["seconds"] for x in records if x["bench"] == "autoregressive-sampling"}
    assert set(times) == {"nade", "made", "pixelcnn", "gated"} and all(t > 0 for t in times.values())
    assert "MADE, 8 orderings, ensemble" in r.stdout and "test NLL (nats)" in r.stdout


@pytest.mark.parametrize("args,env", [
    (["train", "gan", "--ais", "--steps", "2"], {}),
    (["train", "flow", "--set", "fit=energy", "--set", "energy=9**9**9**9", "--steps", "2"], {}),
    (["train", "inference", "--data", "points.csv", "--steps", "2"], {}),
    (["train", "gan", "--steps", "2", "--quiet"], {"GENVIZ_MEMORY_BUDGET_MB": "inf"}),
    (["--compare", "NESTED"], {}),
])
def test_the_last_tracebacks_are_one_line_messages(args, env, tmp_path):
    """Inputs that once ended in a traceback (a hostile round's list): each gives one line and status 2, or runs."""
    import os
    import subprocess
    import sys

    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "compare.json").write_text("[" * 100000 + "]" * 100000)
    args = [str(nested) if a == "NESTED" else a for a in args]
    r = subprocess.run([sys.executable, "-m", "genviz", *args], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path, env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env})
    assert "Traceback" not in r.stderr, r.stderr
    if env:
        assert r.returncode == 0
    else:
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_lab_declares_its_own_train_options(tmp_path):
    """`--iwae` belongs to the VAE labs and `--ais` to the RBM (LabInfo.train_options): offered and bounded for
    them, refused in one line elsewhere (`genviz train gan --ais` once ended in a TypeError)."""
    r = run("train", "gan", "--help")
    assert "--ais" not in r.stdout and "--iwae" not in r.stdout
    r = run("train", "gibbs", "--help")
    assert "--ais" in r.stdout and "--iwae" not in r.stdout
    r = run("train", "manifold", "--iwae", "-3")
    assert r.returncode == 2 and "'iwae' must be >= 0" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run("train", "manifold", "--steps", "2", "--iwae", "3", "--set", "hidden=16", "--quiet", "--threads", "1",
            "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "test_nll_iwae3" in json.loads(r.stdout.strip().splitlines()[-1])
