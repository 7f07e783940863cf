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
    ens = -exp.test_nll(x)
    assert torch.allclose(ens, torch.logsumexp(per, 0) - np.log(3), atol=1e-5)


def test_dynamic_binarization_draws_fresh_binary_images():
    exp = make(binarize="dynamic")
    a, b = exp._batch(64), exp._batch(64)
    assert set(torch.unique(torch.cat([a, b])).tolist()) <= {0.0, 1.0}


def test_the_panel_animates_a_sample_and_draws_completions(qtbot):
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
    assert panel.completions_view.item.image.shape[1] > 8 * 9
    panel._pick(4, 4)
    panel.on_reply("receptive", exp.query("receptive", d=36))
    assert panel.field_img.image is not None and float(np.nanmax(panel.field_img.image)) <= 1.0
