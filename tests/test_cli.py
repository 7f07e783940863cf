import json
import subprocess
import sys

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
