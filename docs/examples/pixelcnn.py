"""A small PixelCNN written in its own style, for genviz's autoregressive lab (binary images).

    genviz train autoregressive --model-code docs/examples/pixelcnn.py:make --steps 300
    genviz --lab autoregressive --model-code docs/examples/pixelcnn.py:make

genviz calls ``make(shape=(1, H, W), **rest)`` and trains what it returns by exact maximum likelihood with its
own optimiser and views (samples drawn pixel by pixel, completions, per-pixel NLL, receptive fields). The model
needs ``logits(x)``: for every pixel at once, the logit of p(x_d = 1 | the pixels before d in raster order), from
the true image (``genviz.models.protocols.AutoregressiveModel``). ``log_prob`` is optional; genviz checks it
against the conditionals, and checks that no pixel's logit sees that pixel or a later one.

Set ``leak=True`` to see that check refuse the classic bug: a first layer with mask B lets each pixel see itself.
"""
import torch
from torch import nn
from torch.nn import functional as F


class MaskedConv(nn.Conv2d):
    """A convolution that sees only the pixels above, and those to the left on the same row (and the centre itself
    with mask "B", which layers after the first may use: their centre holds features of the pixels before)."""

    def __init__(self, mask: str, c_in: int, c_out: int, k: int):
        super().__init__(c_in, c_out, k, padding=k // 2)
        m = torch.ones_like(self.weight)
        m[:, :, k // 2, k // 2 + (mask == "B"):] = 0
        m[:, :, k // 2 + 1:] = 0
        self.register_buffer("mask", m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class SmallPixelCNN(nn.Module):
    def __init__(self, channels: int = 1, features: int = 32, layers: int = 4, leak: bool = False):
        super().__init__()
        first = MaskedConv("B" if leak else "A", channels, features, 7)
        rest = [MaskedConv("B", features, features, 3) for _ in range(layers)]
        self.body = nn.ModuleList([first, *rest])
        self.out = nn.Conv2d(features, channels, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.body:
            h = F.relu(conv(h))
        return self.out(h)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(self.logits(x), x, reduction="none").flatten(1).sum(1)


def make(shape, leak: bool = False, **_):
    """genviz's factory: one image's ``shape`` (channels, height, width); raster order (no ``order`` attribute)."""
    return SmallPixelCNN(channels=shape[0], leak=leak)


def make_leaky(shape, **_):
    """The same network with the bug: refused at load, naming the first pixel that sees itself."""
    return make(shape, leak=True)
