"""An MLP GAN on 2-D points, written in its own style, for genviz's GAN lab.

    genviz train gan --model-code docs/examples/mlp_gan.py:make --steps 2000
    genviz --lab gan --model-code docs/examples/mlp_gan.py:make

genviz calls ``make(shape=(2,), **rest)`` and trains what it returns with the lab's own losses, optimisers and
fixes (the loss setting: non-saturating, WGAN-GP, hinge...; R1; unrolling). The model needs ``generator`` and
``discriminator`` (two torch.nn.Modules with parameters of their own) and ``noise_dim``
(``genviz.models.protocols.GANModel``)."""
import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, width))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class MLPGAN(nn.Module):
    def __init__(self, noise_dim: int = 4, width: int = 128):
        super().__init__()
        self.noise_dim = noise_dim
        self.generator = nn.Sequential(nn.Linear(noise_dim, width), nn.LeakyReLU(0.2), Residual(width),
                                       nn.LeakyReLU(0.2), nn.Linear(width, 2))
        self.discriminator = nn.Sequential(nn.Linear(2, width), nn.LeakyReLU(0.2), Residual(width),
                                           nn.LeakyReLU(0.2), nn.Linear(width, 1))


def make(shape=(2,), **_):
    """genviz's factory: ``shape`` is (2,), one 2-D point."""
    assert tuple(shape) == (2,), "this GAN draws 2-D points"
    return MLPGAN()
