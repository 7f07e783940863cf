"""A RealNVP-style coupling flow in plain torch, written in its own style, for genviz's flow lab.

    genviz train flow --model-code docs/examples/coupling_flow.py:make --steps 3000
    genviz --lab flow --model-code docs/examples/coupling_flow.py:make

genviz calls ``make(shape=(2,), **rest)`` and fits what it returns (by maximum likelihood on the data, or by
reverse KL to an energy: the lab's ``fit`` setting), showing every layer. The model needs ``transforms``: its
layers, each with ``forward(z) -> (x, log|det J|)`` and ``inverse(x) -> (z, log|det J^-1|)``, pushing N(0, I)
(``genviz.models.protocols.FlowModel``; each log-det is checked against autograd's Jacobian at load)."""
import torch
from torch import nn


class Coupling(nn.Module):
    """x_b = z_b * exp(s(z_a)) + t(z_a), x_a = z_a, where a is one coordinate and b the other."""

    def __init__(self, keep: int, width: int = 64):
        super().__init__()
        self.keep, self.change = keep, 1 - keep
        self.net = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(),
                                 nn.Linear(width, 2))

    def _st(self, kept):
        s, t = self.net(kept).chunk(2, dim=1)
        return torch.tanh(s), t

    def forward(self, z):
        kept = z[:, self.keep:self.keep + 1]
        s, t = self._st(kept)
        x = z.clone()
        x[:, self.change] = z[:, self.change] * s[:, 0].exp() + t[:, 0]
        return x, s[:, 0]

    def inverse(self, x):
        kept = x[:, self.keep:self.keep + 1]
        s, t = self._st(kept)
        z = x.clone()
        z[:, self.change] = (x[:, self.change] - t[:, 0]) * (-s[:, 0]).exp()
        return z, -s[:, 0]


class CouplingFlow(nn.Module):
    def __init__(self, layers: int = 8):
        super().__init__()
        self.transforms = nn.ModuleList([Coupling(keep=i % 2) for i in range(layers)])


def make(shape=(2,), **_):
    """genviz's factory: ``shape`` is (2,), one 2-D point."""
    assert tuple(shape) == (2,), "this flow maps 2-D points"
    return CouplingFlow()
