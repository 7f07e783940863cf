"""Flows against exact values: inverses round-trip, log|det J| equals the autograd Jacobian's,
MADE is autoregressive, and the model density integrates to 1."""
import math

import numpy as np
import pytest
import torch

from genviz.models.flows import FLOW_TYPES, MADE, build_flow


def randomised(kind, layers=4, seed=0, scale=0.3):
    """A flow whose parameters are far from the identity, so the checks test real warping."""
    torch.manual_seed(seed)
    flow = build_flow(kind, layers=layers, hidden=16).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn_like(p))
    return flow


@pytest.mark.parametrize("kind", FLOW_TYPES)
def test_inverse_round_trips(kind):
    flow = randomised(kind)
    z = torch.randn(256, 2, dtype=torch.float64) * 1.5
    for t in flow.transforms:
        x, ld = t(z)
        back, ld_inv = t.inverse(x)
        torch.testing.assert_close(back, z, atol=1e-5, rtol=0)
        torch.testing.assert_close(ld_inv, -ld, atol=1e-5, rtol=0)
        z = x


@pytest.mark.parametrize("kind", FLOW_TYPES)
def test_log_det_matches_the_autograd_jacobian(kind):
    flow = randomised(kind, seed=1)
    z = torch.randn(12, 2, dtype=torch.float64)
    for t in flow.transforms:
        _, ld = t(z)
        for i in range(len(z)):
            jac = torch.autograd.functional.jacobian(lambda v: t(v[None])[0][0], z[i])
            assert float(ld[i]) == pytest.approx(math.log(abs(float(torch.det(jac)))), abs=1e-6)
        z = t(z)[0].detach()


def test_made_is_autoregressive():
    torch.manual_seed(0)
    for order in ([0, 1], [1, 0]):
        made = MADE(2, hidden=16, order=order)
        with torch.no_grad():
            for p in made.parameters():
                p.add_(torch.randn_like(p))
        x = torch.randn(1, 2, requires_grad=True)
        s, t = made(x)
        for out in (s, t):
            for i in range(2):
                (g,) = torch.autograd.grad(out[0, i], x, retain_graph=True)
                pos = order.index(i)
                for j in range(2):
                    if order.index(j) >= pos:  # may not see itself or later inputs
                        assert g[0, j] == 0
        # and the first in order really is a constant, the second really depends on the first
        (g,) = torch.autograd.grad(t[0, order[1]], x)
        assert g[0, order[0]] != 0


@pytest.mark.parametrize("kind", FLOW_TYPES)
def test_density_integrates_to_one(kind):
    # warped but smooth enough for a 400x400 grid to resolve (very sharp random splines are not)
    flow = randomised(kind, layers=3, seed=2, scale=0.15)
    n, lim = 400, 9.0
    xs = torch.linspace(-lim, lim, n, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    with torch.no_grad():
        dens = flow.log_prob(pts).exp()
    cell = (xs[1] - xs[0]) ** 2
    assert float(dens.sum() * cell) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("kind", FLOW_TYPES)
def test_sampling_agrees_with_log_prob(kind):
    flow = randomised(kind, layers=3, seed=3)
    with torch.no_grad():
        x, logq = flow.rsample_and_log_prob(64)
        torch.testing.assert_close(flow.log_prob(x), logq, atol=1e-5, rtol=0)
    assert flow.sample((5,)).shape == (5, 2)


def test_energies_match_reference_formulas():
    from genviz.models.energies import ENERGIES

    z = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64)
    z1, z2 = z[:, 0], z[:, 1]
    w1 = torch.sin(2 * math.pi * z1 / 4)
    w2 = 3 * torch.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)
    w3 = 3 * torch.sigmoid((z1 - 1) / 0.3)
    r = torch.sqrt(z1 ** 2 + z2 ** 2)
    u1 = 0.5 * ((r - 2) / 0.4) ** 2 - torch.log(torch.exp(-0.5 * ((z1 - 2) / 0.6) ** 2) + torch.exp(-0.5 * ((z1 + 2) / 0.6) ** 2))
    u2 = 0.5 * ((z2 - w1) / 0.4) ** 2
    u3 = -torch.log(torch.exp(-0.5 * ((z2 - w1) / 0.35) ** 2) + torch.exp(-0.5 * ((z2 - w1 + w2) / 0.35) ** 2))
    u4 = -torch.log(torch.exp(-0.5 * ((z2 - w1) / 0.4) ** 2) + torch.exp(-0.5 * ((z2 - w1 + w3) / 0.35) ** 2))
    for name, ref in (("U1", u1), ("U2", u2), ("U3", u3), ("U4", u4)):
        torch.testing.assert_close(ENERGIES[name](z), ref)


def test_improper_energies_are_kept_to_their_window():
    """U2-U4 do not decay along z1; outside |z1| <= 4 a quadratic wall of scale 0.2 is added, so
    exp(-U) integrates (log Z in test_flow_lab); inside, the formulas are untouched (above)."""
    from genviz.models.energies import ENERGIES

    z = torch.tensor([[4.5, 0.2], [-4.5, -1.0], [5.0, 0.3]], dtype=torch.float64)
    z1, z2 = z[:, 0], z[:, 1]
    w1 = torch.sin(2 * math.pi * z1 / 4)
    w2 = 3 * torch.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)
    w3 = 3 * torch.sigmoid((z1 - 1) / 0.3)
    bare = {"U2": 0.5 * ((z2 - w1) / 0.4) ** 2,
            "U3": -torch.log(torch.exp(-0.5 * ((z2 - w1) / 0.35) ** 2) + torch.exp(-0.5 * ((z2 - w1 + w2) / 0.35) ** 2)),
            "U4": -torch.log(torch.exp(-0.5 * ((z2 - w1) / 0.4) ** 2) + torch.exp(-0.5 * ((z2 - w1 + w3) / 0.35) ** 2))}
    wall = 0.5 * ((z1.abs() - 4) / 0.2) ** 2
    for name, ref in bare.items():
        torch.testing.assert_close(ENERGIES[name](z), ref + wall)


def test_typed_expressions_are_parsed_safely():
    from genviz.models.energies import ExpressionError, parse_energy

    u = parse_energy("0.5*((sqrt(z1**2 + z2**2) - 2)/0.4)**2 + abs(z1) * -1")
    z = torch.tensor([[3.0, 4.0]])
    assert float(u(z)) == pytest.approx(0.5 * (3 / 0.4) ** 2 - 3)
    for bad, msg in (("__import__('os').system('true')", "not allowed"), ("eval('1')", "unknown function"), ("z1.real", "not allowed"),
                     ("x + 1", "unknown name"), ("z1 +", "not a valid"), ("(lambda: 1)()", "not allowed"),
                     ("sin(z1, z2)", "one argument"), ("True", "not allowed")):
        with pytest.raises(ExpressionError, match=msg):
            parse_energy(bad)


@pytest.mark.parametrize("bend", [-0.45, 0.0, 0.8, 2.5])
def test_change_of_variables_in_one_dimension(bend):
    """p_x integrates to 1 over x, and f' is the autograd derivative of f."""
    from genviz.models.flows import change_of_variables_1d

    z = np.linspace(-8, 8, 40001)
    out = change_of_variables_1d(bend, z)
    assert np.all(np.diff(out["x"]) > 0)  # monotone: invertible
    p, x = out["p_x"], out["x"]
    assert np.sum((p[1:] + p[:-1]) / 2 * np.diff(x)) == pytest.approx(1.0, abs=1e-6)
    zt = torch.tensor(z[::500], requires_grad=True)
    (grad,) = torch.autograd.grad((zt + bend * torch.tanh(2 * zt)).sum(), zt)
    np.testing.assert_allclose(out["dxdz"][::500], grad.numpy(), rtol=1e-10)
    with pytest.raises(ValueError):
        change_of_variables_1d(-0.5, z)
