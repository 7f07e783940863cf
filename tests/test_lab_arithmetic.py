"""The latent-arithmetic lab: interpolation and attribute maths against known answers, safe model
files, the experiment on a saved manifold model, and the panel's sliders driven through qtbot."""
import os

import numpy as np

from genviz.core.protocol import Snapshot
import pytest
import torch
from PySide6.QtCore import Qt

from genviz.core.checkpoint import CheckpointError, read_model_file
from genviz.core.protocol import EngineConfig
from genviz.core.runner import build_experiment
from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.labs.arithmetic import latent_ops as ops
from genviz.vae.decode import decode_numpy


# -- latent maths ---------------------------------------------------------------------------------
def test_lerp_and_slerp_endpoints():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(7), rng.standard_normal(7)
    for path in (ops.lerp(a, b, 9), ops.slerp(a, b, 9)):
        assert path.shape == (9, 7)
        np.testing.assert_allclose(path[0], a, atol=1e-12)
        np.testing.assert_allclose(path[-1], b, atol=1e-12)
    np.testing.assert_allclose(ops.lerp(a, b, 3)[1], (a + b) / 2)


def test_slerp_keeps_the_norm_on_a_sphere_and_lerp_does_not():
    rng = np.random.default_rng(1)
    d = 32
    a, b = rng.standard_normal(d), rng.standard_normal(d)
    a, b = a / np.linalg.norm(a) * np.sqrt(d), b / np.linalg.norm(b) * np.sqrt(d)
    sph = ops.slerp(a, b, 21)
    np.testing.assert_allclose(np.linalg.norm(sph, axis=1), np.sqrt(d), rtol=1e-10)
    # the angle grows uniformly: equal steps along the great circle
    cos_to_a = sph @ a / d
    np.testing.assert_allclose(np.diff(np.arccos(np.clip(cos_to_a, -1, 1))),
                               np.arccos(a @ b / d) / 20, rtol=1e-6)
    lin_mid = ops.lerp(a, b, 3)[1]
    assert np.linalg.norm(lin_mid) < 0.9 * np.sqrt(d)  # the chord cuts through the low-norm interior


def test_slerp_of_parallel_vectors_falls_back_to_a_line():
    a = np.array([1.0, 2.0, 3.0])
    path = ops.slerp(a, 2 * a, 5)
    np.testing.assert_allclose(path, ops.lerp(a, 2 * a, 5))
    assert np.isfinite(ops.slerp(np.zeros(3), a, 4)).all()


def test_attribute_vector_on_a_constructed_latent_set():
    rng = np.random.default_rng(2)
    centers = rng.standard_normal((3, 5)) * 3
    labels = np.repeat([0, 1, 2], 40)
    noise = rng.standard_normal((120, 5))
    for k in range(3):  # zero-mean noise within each class: the class means are exactly the centers
        noise[labels == k] -= noise[labels == k].mean(0)
    z = centers[labels] + noise
    np.testing.assert_allclose(ops.attribute_vector(z, labels == 2, labels == 0), centers[2] - centers[0], atol=1e-12)
    np.testing.assert_allclose(ops.attribute_vector(z, np.array([0, 1]), np.array([40])),
                               (z[0] + z[1]) / 2 - z[40])
    with pytest.raises(ValueError):
        ops.attribute_vector(z, labels == 5, labels == 0)
    # the analogy a - b + c lands on c's center moved by the a - b offset
    np.testing.assert_allclose(ops.analogy(centers[1], centers[0], centers[2]), centers[2] + centers[1] - centers[0])


def test_factor_directions_recover_a_known_linear_code():
    rng = np.random.default_rng(3)
    n, d = 500, 6
    factors = {"pos_x": rng.uniform(0, 1, n), "scale": rng.uniform(0.5, 1, n)}
    w = rng.standard_normal((2, d))
    f = np.stack(list(factors.values()), 1)
    mu = 0.3 + f @ w
    names, directions, r2, cosines = ops.factor_directions(mu, factors)
    assert names == ["pos_x", "scale"]
    # +1 standard deviation of a factor moves z by std * w
    np.testing.assert_allclose(directions, w * f.std(0)[:, None], rtol=1e-8)
    np.testing.assert_allclose(r2, 1.0, atol=1e-10)
    np.testing.assert_allclose(cosines, np.abs(w) / np.linalg.norm(w, axis=1, keepdims=True), rtol=1e-8)
    # a factor z does not encode at all is not linearly readable
    _, _, r2_noise, _ = ops.factor_directions(mu, {"noise": rng.uniform(0, 1, n)})
    assert r2_noise[0] < 0.05


def test_sliders_are_latent_axes_up_to_32_then_pca_directions():
    rng = np.random.default_rng(4)
    center, basis, scale, names = ops.slider_basis(rng.standard_normal((100, 8)))
    assert names[0] == "z1" and basis.shape == (8, 8) and np.all(center == 0) and np.all(scale == 1)
    z = rng.standard_normal(8)
    np.testing.assert_allclose(ops.to_slider_values(z, center, basis, scale), z)

    mu = rng.standard_normal((400, 3)) @ rng.standard_normal((3, 40)) * 2 + rng.standard_normal((400, 40)) * 0.05
    center, basis, scale, names = ops.slider_basis(mu)
    assert names[:2] == ["PC1", "PC2"] and basis.shape == (40, ops.PCA_SLIDERS)
    np.testing.assert_allclose(basis.T @ basis, np.eye(ops.PCA_SLIDERS), atol=1e-10)
    z = mu[0]
    before = ops.to_slider_values(z, center, basis, scale)
    moved = ops.move_slider(z, 1, 2.5, center, basis, scale)
    after = ops.to_slider_values(moved, center, basis, scale)
    assert after[1] == pytest.approx(2.5)
    np.testing.assert_allclose(np.delete(after, 1), np.delete(before, 1), atol=1e-10)
    # the part of z outside the sliders' span is kept
    outside = lambda v: (v - center) - basis @ (basis.T @ (v - center))  # noqa: E731
    np.testing.assert_allclose(outside(moved), outside(z), atol=1e-10)


def test_prior_random_walk_stays_in_the_prior():
    walk = ops.prior_random_walk(np.full(4, 5.0), 20000, 0.2, np.random.default_rng(5))
    assert walk.shape == (20001, 4)
    np.testing.assert_allclose(walk[0], 5.0)
    tail = walk[2000:]
    assert abs(tail.mean()) < 0.1 and abs(tail.var() - 1.0) < 0.1  # N(0, I) is its stationary law


# -- model files --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def manifold_model(tmp_path_factory):
    torch.manual_seed(0)
    settings = resolve(get_lab("manifold").settings, {"latent": 4, "hidden": 64})
    exp = build_experiment(EngineConfig(lab="manifold", device="cpu", data="shapes", settings=settings))
    for _ in range(30):
        exp.advance()
    path = tmp_path_factory.mktemp("models") / "vae.pt"
    exp.save(str(path))
    return str(path), exp


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch genviz-was-pwned",))


def test_hostile_truncated_and_foreign_model_files_are_refused(tmp_path, manifold_model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "genviz-model", "version": 1, "payload": _RunsCode()}, evil)
    with pytest.raises(CheckpointError, match="could run code"):
        read_model_file(evil, ("manifold",))
    assert not (tmp_path / "genviz-was-pwned").exists()

    good = open(manifold_model[0], "rb").read()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_model_file(tmp_path / "cut.pt", ("manifold",))
    with pytest.raises(CheckpointError, match="'manifold' lab"):
        read_model_file(manifold_model[0], ("gan",))
    torch.save({"format": "genviz-model", "version": 99, "lab": "manifold"}, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="version"):
        read_model_file(tmp_path / "new.pt", ("manifold",))
    with pytest.raises(CheckpointError, match="no such model file"):
        read_model_file(tmp_path / "missing.pt", ("manifold",))


def _arithmetic(model: str = "", **overrides):
    settings = resolve(get_lab("arithmetic").settings, {"model": model, "hidden": 64, **overrides})
    return build_experiment(EngineConfig(lab="arithmetic", device="cpu", settings=settings))


def test_experiment_opens_a_manifold_model_with_its_architecture_and_data(manifold_model):
    path, source = manifold_model
    exp = _arithmetic(path, latent=12)  # the file's latent size wins over the setting
    assert exp.model.latent == 4 and exp.dataset.name == "shapes" and exp.step_count == 30
    for p, q in zip(exp.model.parameters(), source.model.parameters()):
        assert torch.equal(p, q)
    info, snap = exp.static_info(), exp.snapshot(heavy=True)
    assert "manifold lab, step 30" in info["model_source"]
    assert set(info["factors"]) == {"pos_x", "pos_y", "scale", "rotation"}
    with torch.no_grad():
        expected = source.model.encode_params(exp.x_eval)[0].numpy()
    np.testing.assert_allclose(snap["mu"], expected, atol=1e-6)
    assert snap["factor_directions"].shape == (4, 4) and snap["factor_names"][0] == "pos_x"
    exp.advance()  # it trains on from the file's state


# -- the panel ----------------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot, manifold_model):
    from genviz.labs.arithmetic.panel import ArithmeticPanel

    exp = _arithmetic(manifold_model[0])
    p = ArithmeticPanel(get_lab("arithmetic"))
    qtbot.addWidget(p)
    p.resize(1300, 800)
    p.show()
    p.on_ready(exp.static_info())
    p.take_live(Snapshot(0, 30, False, 0.0, True, {}, exp.snapshot(heavy=True)))
    qtbot.waitUntil(lambda: p.image_view.item.image is not None and p.strip.item.image is not None, timeout=5000)
    return p


def _decoded(p, z):
    s = p.static
    return decode_numpy(p.heavy["decoder"], z[None], s["activation"], s["likelihood"]).reshape(s["image_shape"])


def test_slider_moves_decode_the_new_z_into_the_image(qtbot, panel):
    assert len(panel.bank.sliders) == 4
    z0 = panel.z.copy()
    slider = panel.bank.sliders[2]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key_PageUp)  # +0.25
    expected = z0.copy()
    expected[2] = (round(z0[2] * 100) + 25) / 100
    np.testing.assert_allclose(panel.z, expected, atol=1e-9)
    shown = panel.shown_z()
    np.testing.assert_allclose(panel.image_view.item.image, _decoded(panel, shown), atol=1e-6)
    assert panel.bank.values[2].text() == f"{expected[2]:+.2f}"
    assert len(panel.slider_latency_ms) == 1


def test_pick_from_data_starts_from_the_examples_encoding(qtbot, panel):
    i = int(panel.strip_idx[5])
    h, w, pad = panel._cell()
    assert panel.strip_index_at(h // 2, 5 * (w + pad) + w // 2) == i  # row 0, column 5
    assert panel.strip_index_at(h + pad + 1, 1) == int(panel.strip_idx[16])  # row 1, column 0
    panel.pick_example(i)
    np.testing.assert_allclose(panel.z, panel.heavy["mu"][i])
    assert panel.anchors["z"] == i
    np.testing.assert_allclose([s.value() / 100 for s in panel.bank.sliders],
                               np.clip(np.round(panel.heavy["mu"][i] * 100) / 100, -3, 3))
    panel.toggle_picked(i)
    assert i in panel.picked and panel.attr_a.currentText() == "picked examples"


def test_attribute_direction_and_strength(qtbot, panel):
    labels = panel.static["eval_labels"]
    panel.attr_a.setCurrentIndex(1)
    panel.attr_b.setCurrentIndex(0)
    panel.use_attribute()
    mu = panel.heavy["mu"].astype(np.float64)
    expected = mu[labels == 1].mean(0) - mu[labels == 0].mean(0)
    np.testing.assert_allclose(panel.direction, expected, rtol=1e-6)
    panel.strength_slider.setValue(-150)
    np.testing.assert_allclose(panel.image_view.item.image, _decoded(panel, panel.z - 1.5 * expected), atol=1e-6)
    z_before = panel.z.copy()
    panel.apply_direction()
    np.testing.assert_allclose(panel.z, z_before - 1.5 * expected, atol=1e-9)
    assert panel.strength == 0.0


def test_analogy_walks_and_factors(qtbot, panel):
    mu = panel.heavy["mu"]
    for key, i in zip("abc", (3, 4, 5)):
        panel.pick_example(i)
        panel.set_analogy_slot(key, panel.z)
    qtbot.wait(50)
    np.testing.assert_allclose(panel.analogy_views["result"].item.image, _decoded(panel, mu[3] - mu[4] + mu[5]),
                               atol=1e-6)
    panel.pick_example(7)
    panel.set_walk(start=panel.z)
    panel.pick_example(8)
    panel.set_walk(end=panel.z)
    panel.walk_steps.setValue(6)
    h, w = panel.static["image_shape"]
    assert panel.slerp_view.item.image.shape == (h, 6 * w + 5 * 2)
    np.testing.assert_allclose(panel.norm_slerp.getData()[1][[0, -1]], np.linalg.norm(mu[[7, 8]], axis=1), rtol=1e-5)
    panel.play_walk_button.setChecked(True)
    qtbot.waitUntil(lambda: panel.anim_i >= 3, timeout=3000)
    panel.play_walk_button.setChecked(False)
    assert not panel.animation.isActive()
    panel._draw_factors()
    assert panel.factor_image.image.shape == (4, 4) and "R²" in panel.factor_r2.text()
    panel.factor_box.setCurrentText("scale")
    panel.use_factor()
    assert panel.direction_source == ("factor", "scale")


def test_points_from_examples_follow_the_training_model(qtbot, panel, manifold_model):
    exp = _arithmetic(manifold_model[0])
    for _ in range(20):
        exp.advance()
    panel.pick_example(11)
    panel.take_live(Snapshot(0, 50, False, 0.0, True, {}, exp.snapshot(heavy=True)))
    np.testing.assert_allclose(panel.z, panel.heavy["mu"][11])
    panel.bank.sliders[0].setValue(150)  # moved by hand: no longer the example's encoding
    assert "z" not in panel.anchors


def test_the_manifold_labs_model_carries_over_in_the_same_session(qtbot):
    from genviz.ui.main_window import MainWindow

    w = MainWindow(engine_kind="thread", lab="manifold", overrides={"hidden": 64, "latent": 3})
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.panel().static != {}, timeout=60000)
    w.training.do_step(25)
    qtbot.waitUntil(lambda: w.run.step == 25, timeout=30000)
    w.select_in_list("arithmetic")
    panel = w.panel()
    qtbot.waitUntil(lambda: "manifold lab, step 25" in panel.static.get("model_source", ""), timeout=60000)
    assert panel.static["latent"] == 3 and w.run.values["arithmetic"]["model"].endswith("manifold.pt")
    assert "manifold lab's model (step 25)" in panel.source_box.currentText()
    qtbot.waitUntil(lambda: bool(panel.heavy) and len(panel.bank.sliders) == 3, timeout=30000)
    # back to a model trained here
    panel.source_box.setCurrentIndex(0)
    panel._on_source(0)
    qtbot.waitUntil(lambda: panel.static.get("model_source") == "trained here", timeout=60000)
    assert panel.static["latent"] == 8
    w.close()
