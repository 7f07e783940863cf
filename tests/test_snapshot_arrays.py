"""Snapshot arrays made fast without changing a number: the float16 conversion done by torch rounds exactly as
numpy's does (tiny, subnormal, huge, infinite and NaN values included) and always copies; a plain MLP evaluated
feature-major (the GAN heat map) equals the module's own forward pass for every activation, with a reused
workspace, a packed discriminator, and a user's D that falls back to its own forward."""
import numpy as np
import pytest
import torch
from torch import nn

from genviz.core.experiment import half, to_compact, to_numpy
from genviz.labs.gan.experiment import HEATMAP, GanExperiment
from genviz.models.gan import Discriminator, grid_points, packed_eval, packed_eval_columns
from genviz.models.layers import ACTIVATIONS, forward_columns, is_plain_mlp


def awkward_values(n: int = 200_000, seed: int = 0) -> np.ndarray:
    """Values across float32's range, with float16's boundaries and specials: subnormal and underflowing
    magnitudes (a probability near 0), ties, overflow, inf, NaN, signed zeros."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * np.exp(rng.uniform(-110, 14, n))).astype(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 65520.0, 65519.99, 6.1035156e-05,
                        5.9604645e-08, 2.9802322e-08, 2.9802326e-08, 1e-45, -1e-45, 1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11],
                       np.float32)
    return np.concatenate([x, special])


def test_to_numpy_float16_rounds_as_numpy_does_and_copies():
    a = awkward_values()
    t = torch.from_numpy(a.copy())
    got = to_numpy(t, np.float16)
    with np.errstate(over="ignore"):
        want = a.astype(np.float16)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got.view(np.uint16)[~np.isnan(want)], want.view(np.uint16)[~np.isnan(want)])
    assert np.isnan(got[np.isnan(want)]).all()
    t.fill_(3.0)  # the snapshot never shares memory with the live tensor
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert not (got == 3).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64, np.bool_])
def test_to_numpy_other_dtypes_equal_numpy_and_copy(dtype):
    t = torch.tensor([0.0, 1.0, 2.5, -1.0, 200.0])
    got = to_numpy(t, dtype)
    if dtype in (np.uint8, np.int64):
        t_np = t.numpy()[[0, 1, 2, 4]]  # casting a negative float to uint8 is undefined in both
        got = got[[0, 1, 2, 4]]
    else:
        t_np = t.numpy()
    np.testing.assert_array_equal(got, t_np.astype(dtype))
    assert got.dtype == np.dtype(dtype)
    same = torch.ones(3, dtype=torch.float32)
    out = to_numpy(same)  # same dtype: still a copy
    same.zero_()
    assert (out == 1).all()


def test_half_and_to_compact_equal_numpy():
    a = awkward_values(50_000, seed=1)
    with np.errstate(over="ignore"):
        want = a.astype(np.float16)
    ok = ~np.isnan(want)
    for got in (half(a), half(a.astype(np.float64)), half(a.reshape(-1, 2)[:, 0]), to_compact(torch.from_numpy(a))):
        w = want if got.shape == want.shape else want.reshape(-1, 2)[:, 0]
        k = ok if got.shape == want.shape else ok.reshape(-1, 2)[:, 0]
        np.testing.assert_array_equal(got.reshape(-1).view(np.uint16)[k.reshape(-1)],
                                      w.reshape(-1).view(np.uint16)[k.reshape(-1)])
    read_only = a.copy()
    read_only.flags.writeable = False
    np.testing.assert_array_equal(half(read_only)[ok], want[ok])
    assert half(np.arange(4)).dtype == np.float16  # integers go through numpy
    binary = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert to_compact(binary).dtype == np.uint8 and to_compact(binary).tolist() == [[0, 1], [1, 0]]


ALL_ACTIVATIONS = [*ACTIVATIONS.values(), nn.Sigmoid, nn.SiLU, nn.GELU, nn.Identity]


@pytest.mark.parametrize("act", ALL_ACTIVATIONS, ids=lambda a: getattr(a, "__name__", "leakyrelu"))
def test_forward_columns_equals_the_modules_forward(act):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 9), act(), nn.Linear(9, 7, bias=False), act(), nn.Linear(7, 3))
    x = torch.randn(5000, 2) * 3
    x_t = x.t().contiguous()
    before = x_t.clone()
    want = net(x).detach()
    work: list = []
    got = forward_columns(net, x_t, work)
    torch.testing.assert_close(got.t(), want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(forward_columns(net, x_t).t(), want, rtol=1e-5, atol=1e-5)  # no workspace
    assert torch.equal(x_t, before)  # the input is never changed in place
    assert not got.requires_grad
    # the workspace is reused, and the result follows the weights it is given
    arrays = [a for a in work if a is not None]
    assert len(arrays) == 3
    with torch.no_grad():
        net[0].weight.mul_(-0.5)
    again = forward_columns(net, x_t, work)
    assert all(a is b for a, b in zip(arrays, [a for a in work if a is not None]))
    torch.testing.assert_close(again.t(), net(x).detach(), rtol=1e-5, atol=1e-5)
    # a different number of points remakes the arrays
    fewer = forward_columns(net, x_t[:, :100].contiguous(), work)
    torch.testing.assert_close(fewer.t(), net(x[:100]).detach(), rtol=1e-5, atol=1e-5)


def test_is_plain_mlp():
    assert is_plain_mlp(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
    assert not is_plain_mlp(nn.Sequential(nn.Linear(2, 3), nn.Dropout(), nn.Linear(3, 1)))
    assert not is_plain_mlp(nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3)))
    assert not is_plain_mlp(nn.Linear(2, 3))


@pytest.mark.parametrize("pack", [1, 3])
def test_packed_eval_columns_equals_packed_eval(pack):
    torch.manual_seed(1)
    d = Discriminator(hidden=9, layers=2, pack=pack)
    grid = grid_points((-3, 3, -2, 2), 50)
    want = packed_eval(d, grid).detach()
    got = packed_eval_columns(d, grid.t().contiguous(), [])
    assert got.shape == (len(grid),)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_packed_eval_columns_calls_any_other_discriminator_as_it_is():
    class Shifted(Discriminator):  # its own forward: the feature-major path must not bypass it
        def forward(self, x):
            return super().forward(x) + 1.0

    torch.manual_seed(2)
    d = Shifted(hidden=9, layers=2)
    grid = grid_points((-1, 1, -1, 1), 20)
    torch.testing.assert_close(packed_eval_columns(d, grid.t().contiguous(), []), packed_eval(d, grid).detach())


def test_gan_heat_map_equals_d_on_the_grid_after_training():
    exp = GanExperiment({"g_hidden": 10, "g_layers": 1, "d_hidden": 9, "d_layers": 2, "batch": 150, "d_steps": 3,
                         "noise_dim": 2, "data": "ring8", "loss": "nonsat"}, seed=3)
    for _ in range(3):
        for _ in range(40):
            exp.train_step()
        heat = exp.snapshot(True)["heat"]
        grid = grid_points(exp.heat_extent(), HEATMAP)
        with torch.no_grad():
            want = torch.sigmoid(packed_eval(exp.D, grid)).numpy().reshape(HEATMAP, HEATMAP)
        assert heat.dtype == np.float16 and heat.shape == (HEATMAP, HEATMAP)
        # float16 keeps 11 significant bits: equal to its rounding of D's probability
        np.testing.assert_allclose(heat.astype(np.float32), want, rtol=2 ** -10, atol=1e-7)
