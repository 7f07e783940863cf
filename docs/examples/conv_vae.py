"""A convolutional VAE written in its own style, for genviz's VAE-family labs (manifold, posterior, arithmetic).

    genviz train manifold --model-code docs/examples/conv_vae.py:make --steps 300
    genviz --lab manifold --model-code docs/examples/conv_vae.py:make

genviz calls ``make(shape=(1, H, W), likelihood=..., latent=..., **rest)`` and trains what it returns with its
own ELBO, optimiser and views. The model needs ``encode(x) -> (mu, logvar)``, ``decode(z)`` (logits of a
Bernoulli p(x|z), or a Gaussian's mean) and ``latent_dim`` (``genviz.models.protocols.VAEModel``)."""
import torch
from torch import nn


class ConvVAE(nn.Module):
    def __init__(self, channels: int, height: int, width: int, latent_dim: int = 2, width_mult: int = 16):
        super().__init__()
        self.latent_dim = latent_dim
        self.item = (channels, height, width)
        c = width_mult
        self.features = nn.Sequential(
            nn.Conv2d(channels, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
        )
        h2, w2 = (height + 1) // 2, (width + 1) // 2
        self.hidden = (2 * c, h2, w2)
        flat = 2 * c * h2 * w2
        self.to_stats = nn.Linear(flat, 2 * latent_dim)
        self.from_z = nn.Sequential(nn.Linear(latent_dim, flat), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c, channels, 3, padding=1),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stats = self.to_stats(self.features(x).flatten(1))
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_z(z).view(-1, *self.hidden)
        out = self.upsample(h)
        _, height, width = self.item
        return out[:, :, :height, :width]  # logits (Bernoulli) or the mean (Gaussian)


def make(shape, latent: int = 2, **_):
    """genviz's factory: one data item's ``shape`` (channels, height, width) and the lab's latent size."""
    channels, height, width = shape
    return ConvVAE(channels, height, width, latent_dim=latent)
