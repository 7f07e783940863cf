"""A denoising network for 2-D points, written in its own style, for genviz's diffusion lab.

    genviz train diffusion --model-code docs/examples/denoiser.py:make --steps 3000
    genviz --lab diffusion --model-code docs/examples/denoiser.py:make

genviz calls ``make(shape=(2,), process=..., **rest)`` and trains what it returns with the lab's own loss;
the score field, every sampler and the test NLL come from it (``genviz.models.protocols.DenoiserModel``):
``model(x, t)`` maps points [n, 2] at times t [n] to the noise eps (VP, VE) or the velocity (flow)."""
import math

import torch
from torch import nn


class FourierTime(nn.Module):
    def __init__(self, dim: int = 32):
        super().__init__()
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(200.0), dim // 2)))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t[:, None] * self.freqs[None]
        return torch.cat([angles.sin(), angles.cos()], dim=1)


class Denoiser(nn.Module):
    def __init__(self, width: int = 128):
        super().__init__()
        self.time = FourierTime(32)
        self.net = nn.Sequential(nn.Linear(2 + 32, width), nn.GELU(), nn.Linear(width, width), nn.GELU(),
                                 nn.Linear(width, width), nn.GELU(), nn.Linear(width, 2))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, self.time(t)], dim=1))


def make(shape=(2,), **_):
    """genviz's factory: ``shape`` is (2,), one 2-D point."""
    assert tuple(shape) == (2,), "this network denoises 2-D points"
    return Denoiser()
