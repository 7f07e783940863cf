"""The autoregressive lab: each model trains on the embedded digits (its exact test NLL falls), the
panel's requests (pixel-by-pixel sampling, completions, receptive fields) answer with the right
shapes and keep the given pixels, and the panel animates a sample to its end."""
import numpy as np
import pytest
import torch

from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.labs.autoregressive.experiment import AutoregressiveExperiment


def make(**overrides):
    torch.set_num_threads(1)
    return AutoregressiveExperiment(resolve(get_lab("autoregressive").settings,
                                            {"hidden": 32, "channels": 8, "layers": 2, **overrides}), seed=0)


@pytest.mark.parametrize("model", ["nade", "made", "pixelcnn", "gated"])
def test_each_model_learns_the_digits(model):
    exp = make(model=model)
    before = exp.final_metrics()["test_nll_nats"]
    for _ in range(120):
        exp.advance()
    after = exp.final_metrics()
    assert after["test_nll_nats"] < before - 5 and after["test_nll_se"] > 0
    assert after["bits_per_dim"] == pytest.approx(after["test_nll_nats"] / (64 * np.log(2)))
    snap = exp.snapshot(heavy=True)
    assert snap["pixel_nll"].shape == (64,) and (snap["pixel_nll"] >= 0).all()
    assert abs(float(snap["pixel_nll"].sum()) - float(-exp.model.log_prob(exp.chosen().view(1, -1))[0])) < 1e-3
    assert snap["samples"].shape == (16, 64) and snap["samples"].dtype == np.uint8


def test_queries_sample_complete_and_show_receptive_fields():
    exp = make(model="pixelcnn")
    out = exp.query("sample", n=4, seed=1)
    assert out["samples"].shape == (4, 64) and list(out["order"]) == list(range(64)) and out["probs"].shape == (64, 4)
    comp = exp.query("complete", n=3, seed=2)
    given = comp["given"]
    assert given.sum() == 32 and (comp["completions"][:, given] == comp["image"][given]).all()
    field = exp.query("receptive", d=5 * 8 + 3)["field"]
    assert field.shape == (64,) and (field[5 * 8 + 3:] == 0).all() and field[:5 * 8 + 3].sum() > 0


def test_made_trains_over_several_orderings_and_reports_the_ensemble():
    exp = make(model="made", masks=3, order="random")
    for _ in range(6):
        exp.advance()
    assert exp.model.current == (exp.step_count - 1) % 3
    x = exp.x_test[:20]
    per = torch.stack([(exp.model.use_mask(k), exp.model.log_prob(x))[1] for k in range(3)])
    nlls = exp.test_nlls(x)
    assert torch.allclose(-nlls["nll"].float(), torch.logsumexp(per, 0) - np.log(3), atol=1e-5)
    assert torch.allclose(nlls["one"].float(), -per.mean(0), atol=1e-5)
    # the ensemble's p(x) is the mean of the orderings' p(x): never below their mean log p(x) (Jensen)
    assert (nlls["nll"] <= nlls["one"] + 1e-9).all()
    exp.model.use_mask(2)
    snap = exp.snapshot(heavy=True)
    assert exp.model.current == 2  # the views' ordering is put back
    assert snap["test_nll"] <= snap["test_nll_one_order"] and snap["test_nll_one_order_se"] > 0
    info = exp.static_info()
    assert info["n_masks"] == 3 and len(info["made_masks"]) == 3 and len(info["made_masks"][0]) == 3
    # views describe the first ordering whichever one trained last: the probe's field lies before it
    order = list(info["order"])
    before = set(order[: order.index(snap["probe"])])
    assert set(np.flatnonzero(snap["probe_field"])) <= before


def test_dynamic_binarization_draws_fresh_binary_images():
    exp = make(binarize="dynamic")
    a, b = exp._batch(64), exp._batch(64)
    assert set(torch.unique(torch.cat([a, b])).tolist()) <= {0.0, 1.0}


def test_the_panel_animates_a_sample_and_draws_completions(qtbot):
    from PySide6.QtCore import Qt

    from genviz.core.protocol import Frame
    from genviz.labs.autoregressive.panel import AutoregressivePanel
    from genviz.ui import theme

    theme.apply_theme("light")
    exp = make(model="nade")
    panel = AutoregressivePanel(get_lab("autoregressive"))
    qtbot.addWidget(panel)
    panel.show()
    panel.on_ready(exp.static_info())
    panel.show_frame(Frame(0, exp.snapshot(heavy=True), True), True)
    panel.flush()
    assert panel.image_view.item.image is not None and "nats" in panel.readout.text()
    panel.on_reply("sample", exp.query("sample", n=16, seed=3))
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=10000)
    shown = panel.samples_view.item.image
    assert shown is not None and np.isclose(shown[..., None], [0.0, 0.35, 1.0]).any(-1).all()  # pixels, padding
    assert np.isclose(shown, 0.35).sum() < shown.size / 3  # every pixel revealed: only the padding is grey
    panel.on_reply("complete", exp.query("complete", n=8))
    assert panel.completions_view.item.image.shape == (2 * 9 - 1, 5 * 9 - 1)  # original, hidden, 8 samples
    panel.paint_button.setChecked(True)
    panel._image_clicked(2, 2, Qt.NoModifier)
    assert panel.hidden is not None and panel.hidden.reshape(8, 8)[2, 2]
    assert panel.complete_button.text() == "Complete the painted region"
    panel._image_clicked(2, 2, Qt.ShiftModifier)  # Shift erases
    assert panel.hidden is None and panel.complete_button.text() == "Complete the bottom half"
    panel._pick(4, 4)
    panel.on_reply("receptive", exp.query("receptive", d=36))
    assert panel.field_img.image is not None and float(np.nanmax(panel.field_img.image)) <= 1.0


def test_painted_completions_keep_every_given_pixel_and_refuse_pixels_off_the_image():
    exp = make(model="gated")
    hidden = [9, 10, 17, 18, 40, 63]
    comp = exp.query("complete", n=4, seed=1, hidden=hidden)
    given = comp["given"]
    assert comp["painted"] and given.sum() == 64 - len(hidden) and not given[hidden].any()
    assert (comp["completions"][:, given] == comp["image"][given]).all()
    with pytest.raises(ValueError, match="0..63"):
        exp.query("complete", hidden=[64])


def test_points_on_a_grid_of_bins_have_one_exact_density():
    exp = make(points="ring8", bins=16, lr=0.01)
    before = exp.final_metrics()
    for _ in range(200):
        exp.advance()
    after = exp.final_metrics()
    assert after["model"] == "binned" and after["test_nll_nats"] < before["test_nll_nats"] - 1
    snap = exp.snapshot(heavy=True)
    p = snap["probabilities"]
    assert p.shape == (16, 16) and abs(float(p.sum()) - 1) < 1e-5
    assert np.allclose(snap["conditional"].sum(1), 1, atol=1e-5)
    assert snap["density_nll"] == pytest.approx(snap["test_nll"] + np.log(exp.cell_area))
    assert snap["bits_per_dim"] == pytest.approx(snap["test_nll"] / (2 * np.log(2)))
    info = exp.static_info()
    assert info["toy"] and abs(float(info["histogram"].sum()) - 1) < 1e-5
    with pytest.raises(ValueError, match="2-D points"):
        exp.query("sample")


def test_bad_image_data_is_binarized_or_refused_with_a_clear_message(tmp_path):
    from genviz.data.images import DataError

    rng = np.random.default_rng(0)
    grey = tmp_path / "grey.npy"
    np.save(grey, rng.random((40, 6, 5)).astype(np.float32))  # grey levels: binarized
    exp = AutoregressiveExperiment(resolve(get_lab("autoregressive").settings, {"hidden": 8}), data=str(grey))
    assert exp.static_info()["grey_levels"] and set(torch.unique(exp.x_test).tolist()) <= {0.0, 1.0}
    assert exp.D == 30
    big = tmp_path / "big.npy"
    np.save(big, rng.random((3, 80, 80)).astype(np.float32))
    with pytest.raises(DataError, match="at most|up to 64x64"):
        AutoregressiveExperiment(resolve(get_lab("autoregressive").settings, {}), data=str(big))
    with pytest.raises(DataError):
        AutoregressiveExperiment(resolve(get_lab("autoregressive").settings, {"points": "no-such-set"}))


def test_mnist_tests_on_its_own_test_split_and_shows_the_published_figures(tmp_path, monkeypatch):
    from genviz.data.idx import write_idx

    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 30), ("t10k", 12)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", (rng.random((n, 28, 28)) * 255).astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    monkeypatch.setenv("GENVIZ_DATA_DIR", str(tmp_path))
    exp = AutoregressiveExperiment(resolve(get_lab("autoregressive").settings, {"model": "made", "hidden": 8}),
                                   data="mnist")
    info = exp.static_info()
    assert len(exp.x_test) == 12 and len(exp.x_train) == 30 and "10,000 test images" in info["test_split"]
    assert info["published"] == {"nade": 88.86, "pixelcnn": 81.30}


def test_a_model_too_large_for_memory_is_refused_before_it_is_built(tmp_path, monkeypatch):
    """Settings inside their ranges once passed 6 GB (NADE's hidden units and batch at their limits, the gated
    stacks on 64x64): the training step's memory is estimated from the settings and refused with the figure;
    the estimate is checked against a measured step."""
    import resource
    import time

    from genviz.labs.autoregressive.experiment import training_bytes
    from genviz.safeio import InputError

    images = (np.random.default_rng(0).random((40, 28, 28)) > 0.5).astype(np.uint8)
    np.save(tmp_path / "d.npy", images)
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for overrides in ({"model": "nade", "hidden": 4000, "batch": 4096}, {"model": "made", "hidden": 4000, "masks": 32,
                      "batch": 4096}, {"model": "gated", "channels": 256, "layers": 15, "batch": 4096}):
        with pytest.raises(InputError, match="would need about .* GiB, more than the 2.0 GiB"):
            AutoregressiveExperiment(resolve(get_lab("autoregressive").settings, overrides), data=str(tmp_path / "d.npy"))
    assert time.perf_counter() - t0 < 30 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000
    # the estimate against what a step must hold at the least: the tensors autograd saves for the backward pass
    # (counted as it saves them), weights, gradients and Adam's two moments; a measured step's peak RSS was
    # 1-3x that (the factors in training_bytes)
    from genviz.labs.autoregressive.experiment import build_model

    for overrides in ({"model": "nade", "hidden": 500}, {"model": "made", "hidden": 1000}, {"model": "pixelcnn"},
                      {"model": "gated"}):
        s = resolve(get_lab("autoregressive").settings, overrides)
        model = build_model(s, 28, 28, 0)
        x = (torch.rand(s["batch"], 784) > 0.5).float()
        saved = {}

        def pack(t):
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model.log_prob(x).mean()
        least = sum(saved.values()) + 4 * sum(p.numel() * 4 for p in model.parameters())
        assert least <= training_bytes(s, 28, 28) <= 6 * least, (overrides, training_bytes(s, 28, 28), least)
