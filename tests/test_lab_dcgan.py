"""The DCGAN lab: the digit score's formula on cases whose score is known, slerp's ends and norms, a DCGAN whose score
climbs from an untrained generator's, exact checkpoints, images it cannot double refused in one line, and the panel."""
import copy
import math

import numpy as np
import pytest
import torch

from genviz.core.labs import get_lab
from genviz.core.settings import SettingError, resolve
from genviz.labs.dcgan.experiment import DCGANExperiment
from genviz.models.dcgan import Generator, digit_score, slerp


def make(seed=0, data=None, **overrides):
    return DCGANExperiment(resolve(get_lab("dcgan").settings, overrides), seed=seed, data=data)


def test_the_digit_score_is_one_for_a_single_class_and_k_for_k_sure_classes():
    one = torch.zeros(100, 10)
    one[:, 3] = 1
    assert digit_score(one)["score"] == pytest.approx(1.0, abs=1e-6)
    sure = torch.eye(10).repeat(10, 1)  # every class equally often, each sample certain
    s = digit_score(sure)
    assert s["score"] == pytest.approx(10.0, rel=1e-6) and s["log_score_se"] == pytest.approx(0.0, abs=1e-6)
    flat = torch.full((100, 10), 0.1)  # unsure of everything: no evidence
    assert digit_score(flat)["score"] == pytest.approx(1.0, abs=1e-6)
    p = torch.softmax(torch.randn(500, 10, generator=torch.Generator().manual_seed(0)) * 2, 1).double()
    s = digit_score(p)
    kl = float((p * (p.log() - p.mean(0).log())).sum(1).mean())
    assert s["log_score"] == pytest.approx(kl, abs=1e-12)
    assert s["log_score"] == pytest.approx(s["h_marginal"] - s["h_conditional"], abs=1e-12)


def test_slerp_keeps_the_ends_and_the_norm_where_the_line_loses_it():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(32, generator=g), torch.randn(32, generator=g)
    b = b / b.norm() * a.norm()
    path = slerp(a, b, 11)
    assert torch.allclose(path[0], a, atol=1e-6) and torch.allclose(path[-1], b, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), a.norm().expand(11), rtol=1e-5)
    line = torch.stack([(1 - t) * a + t * b for t in torch.linspace(0, 1, 11)])
    assert float(line[5].norm()) < 0.9 * float(a.norm())  # the straight line's middle is shorter


def test_a_gan_has_samples_and_no_log_prob():
    g = Generator(4, 8, (8, 8))
    x = g.sample(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 8, 8) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert not hasattr(g, "log_prob")


def test_training_raises_the_digit_score_from_the_untrained_generators():
    exp = make(channels=16)
    before = exp.snapshot(True)["digit_score"]
    for _ in range(800):
        exp.advance()
    after = exp.snapshot(True)
    assert after["digit_score"] > before + 0.5, (before, after["digit_score"])
    assert 4.5 < after["real_score"]["score"] < 8  # the real test digits: sure and varied
    assert after["class_share"].sum() == pytest.approx(1.0)


def test_checkpoints_restore_exactly():
    exp = make(channels=8)
    for _ in range(5):
        exp.advance()
    state = copy.deepcopy(exp.state_dict())
    ahead = [exp.advance() for _ in range(4)]
    again = make(channels=8)
    again.load_state_dict(state)
    assert [again.advance() for _ in range(4)] == ahead


def test_images_it_cannot_double_twice_are_refused_in_one_line(tmp_path):
    path = tmp_path / "odd.npy"
    np.save(path, np.random.default_rng(0).random((50, 10, 10)).astype(np.float32))
    with pytest.raises(SettingError, match="divisible by 4"):
        make(data=str(path))


def test_the_panel_draws_samples_interpolation_and_score(qtbot):
    from genviz.core.protocol import Frame
    from genviz.labs.dcgan.panel import DCGANPanel
    from genviz.ui import theme

    theme.apply_theme("light")
    exp = make(channels=8, interpolation="linear")
    panel = DCGANPanel(get_lab("dcgan"))
    qtbot.addWidget(panel)
    panel.show()
    panel.on_ready(exp.static_info())
    for _ in range(3):
        rows = exp.advance()
        panel.extend_curves({"step": [exp.step_count], **{k: [v] for k, v in rows.items()}}, None)
    frame = Frame(exp.step_count, exp.snapshot(heavy=True), True)
    panel.extend_curves({}, frame)
    panel.show_frame(frame, True)
    panel.flush()
    assert "Digit score" in panel.readout.text() and "(linear)" in panel.interp.getPlotItem().titleLabel.text
    assert panel.samples.item.image.shape == (8 * 8 + 7, 8 * 8 + 7)
    x, y = panel.score.buffers["log_score"].drawn(100)
    assert list(x) == [exp.step_count] and math.isfinite(y[0])  # the score's point at the heavy frame's step
