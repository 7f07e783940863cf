"""The manifold lab's experiment, headless: snapshots, warm-up, posterior-collapse detection."""
import numpy as np
import pytest
import torch

from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.labs.manifold.experiment import ManifoldExperiment


def make(**overrides):
    torch.set_num_threads(1)
    return ManifoldExperiment(resolve(get_lab("manifold").settings, {"hidden": 64, **overrides}), seed=0)


def train(exp, n):
    for _ in range(n):
        m = exp.advance()
    return m


def test_snapshot_contents_are_numpy_copies():
    exp = make()
    train(exp, 20)
    snap = exp.snapshot(heavy=True)
    assert snap["manifold"].shape == (20 * 9 - 1, 20 * 9 - 1) and snap["manifold"].dtype == np.uint8
    assert snap["points"].shape == (len(exp.eval_idx), 2) and snap["cov2"].shape == (len(exp.eval_idx), 2, 2)
    w = snap["decoder"][0][0]
    w_before = w.copy()
    train(exp, 5)  # training on must not change what was already sent
    np.testing.assert_array_equal(w, w_before)
    assert exp.snapshot(heavy=False) == {}


def test_kl_warmup_ramps_beta():
    exp = make(beta=2.0, warmup=100)
    m = train(exp, 1)
    assert m["beta"] == pytest.approx(2.0 / 100)
    train(exp, 120)
    assert exp.beta_now() == 2.0


def test_training_lowers_the_negative_elbo():
    exp = make()
    before = exp.final_metrics()["test_neg_elbo"]
    train(exp, 400)
    after = exp.final_metrics()
    assert after["test_neg_elbo"] < before - 5 and after["active_units"] == 2


def test_posterior_collapse_is_flagged():
    collapsed = make(beta=20.0, lr=3e-3)
    train(collapsed, 400)
    snap = collapsed.snapshot(heavy=True)
    assert snap["collapsed"] and snap["kl_dims"].sum() < 0.05 and snap["active_units"] == 0
    healthy = make()
    train(healthy, 400)
    assert not healthy.snapshot(heavy=True)["collapsed"]


def test_live_learning_rate_reaches_the_optimizer():
    exp = make()
    exp.set_setting("lr", "0.01")
    assert exp.optimizer.param_groups[0]["lr"] == 0.01


def test_gaussian_likelihood_and_shapes_data():
    exp = ManifoldExperiment(resolve(get_lab("manifold").settings,
                                     {"hidden": 32, "likelihood": "gaussian", "latent": 5}), seed=1, data="shapes")
    train(exp, 30)
    snap = exp.snapshot(heavy=True)
    assert snap["basis"].shape == (5, 2)
    # the projection basis is orthonormal, so clicks map back into the latent space faithfully
    np.testing.assert_allclose(snap["basis"].T @ snap["basis"], np.eye(2), atol=1e-5)
