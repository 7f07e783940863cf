"""A small DCGAN for greyscale images (Radford, Metz & Chintala 2016), latent interpolation, and the digit score
(the Inception score of Salimans et al. 2016 with a pixel-space classifier in place of Inception).

G: z → linear → (2C, H/4, W/4) → transposed convolutions (stride 2) with batch norm and ReLU → tanh; D: strided
convolutions with leaky ReLU → one logit. Adam with lr 2e-4 and β1 = 0.5, as in the paper. A GAN has no tractable
likelihood: this module offers ``sample`` and the score, never a ``log_prob``."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Generator(nn.Module):
    def __init__(self, latent: int, channels: int, shape: tuple[int, int]):
        super().__init__()
        h, w = shape
        if h % 4 or w % 4:
            raise ValueError(f"a DCGAN doubles the image twice: {h}×{w} images must have sides divisible by 4")
        self.latent, self.shape, self.c = latent, (h, w), channels
        self.fc = nn.Linear(latent, 2 * channels * (h // 4) * (w // 4))
        self.bn0 = nn.BatchNorm2d(2 * channels)
        self.up1 = nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.up2 = nn.ConvTranspose2d(channels, 1, 4, 2, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [−1, 1], [batch, H, W]."""
        h, w = self.shape
        x = F.relu(self.bn0(self.fc(z).view(-1, 2 * self.c, h // 4, w // 4)))
        x = F.relu(self.bn1(self.up1(x)))
        return torch.tanh(self.up2(x))[:, 0]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images in [0, 1] from z ~ N(0, I), in eval mode (batch norm's running statistics)."""
        z = torch.randn(n, self.latent, generator=generator, device=self.fc.weight.device)
        return self.images(z)

    @torch.no_grad()
    def images(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) in [0, 1], with batch norm in eval mode (so one image does not depend on the others)."""
        was = self.training
        self.eval()
        out = (self(z) + 1) / 2
        self.train(was)
        return out


class Discriminator(nn.Module):
    def __init__(self, channels: int, shape: tuple[int, int]):
        super().__init__()
        h, w = shape
        self.down1 = nn.Conv2d(1, channels, 4, 2, 1)
        self.down2 = nn.Conv2d(channels, 2 * channels, 4, 2, 1)
        self.out = nn.Linear(2 * channels * (h // 4) * (w // 4), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image (x in [−1, 1], [batch, H, W])."""
        x = F.leaky_relu(self.down1(x[:, None]), 0.2)
        x = F.leaky_relu(self.down2(x), 0.2)
        return self.out(x.flatten(1))[:, 0]


def gan_step(g: Generator, d: Discriminator, opt_g, opt_d, real: torch.Tensor, generator: torch.Generator) -> dict:
    """One D update and one G update with the non-saturating loss (Goodfellow et al. 2014); real in [−1, 1]."""
    n = len(real)
    z = torch.randn(n, g.latent, generator=generator, device=real.device)
    fake = g(z)
    d_real, d_fake = d(real), d(fake.detach())
    d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # −log D(x) − log(1 − D(G(z)))
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_loss = F.softplus(-d(fake)).mean()  # −log D(G(z))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return {"d_loss": float(d_loss.detach()), "g_loss": float(g_loss.detach()),
            "d_real": float(torch.sigmoid(d_real).mean().detach()),
            "d_fake": float(torch.sigmoid(d_fake).mean().detach())}


def slerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation from a to b (White 2016, *Sampling generative networks*): [steps, latent], the ends
    exactly a and b; it keeps the norm a Gaussian latent has, where the straight line passes through the low-norm
    middle the generator rarely saw."""
    t = torch.linspace(0, 1, steps, dtype=a.dtype, device=a.device)[:, None]
    cos = torch.clamp((a @ b) / (a.norm() * b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if float(omega) < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


class PixelClassifier(nn.Module):
    """Multinomial logistic regression on the pixels: the digit score's p(y | x)."""

    def __init__(self, pixels: int, classes: int):
        super().__init__()
        self.linear = nn.Linear(pixels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))

    def fit(self, x: torch.Tensor, y: torch.Tensor, decay: float = 1e-3, iterations: int = 200) -> None:
        """L2-regularised maximum likelihood by L-BFGS (deterministic)."""
        opt = torch.optim.LBFGS(self.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(self(x), y) + decay * self.linear.weight.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)


@torch.no_grad()
def digit_score(probs: torch.Tensor, splits: int = 10) -> dict:
    """The Inception score's formula with the classifier's p(y | x) of N images (Salimans et al. 2016):
    log IS = E_x KL(p(y|x) ‖ p(y)) = H[p(y)] − E_x H[p(y|x)], p(y) the images' mean p(y|x). Its standard error from
    ``splits`` disjoint splits (the paper's protocol; each split's log score, their SD over √splits). Returns the
    score, log score and its two terms (whole set), with SEs."""
    p = probs.double().clamp_min(1e-12)
    p_y = p.mean(0)
    h_marginal = float(-(p_y * p_y.log()).sum())
    h_cond = -(p * p.log()).sum(1)
    logs = []
    for part in p.chunk(splits):
        m = part.mean(0)
        logs.append(float((part * (part.log() - m.log())).sum(1).mean()))
    log_is = h_marginal - float(h_cond.mean())
    se = float(torch.tensor(logs).std() / math.sqrt(len(logs))) if len(logs) > 1 else None
    return {"score": math.exp(log_is), "log_score": log_is, "log_score_se": se, "h_marginal": h_marginal,
            "h_conditional": float(h_cond.mean()), "h_conditional_se": float(h_cond.std() / math.sqrt(len(h_cond))),
            "confident": float((p.max(1).values >= 0.9).double().mean()), "images": len(p)}
