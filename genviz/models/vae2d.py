"""A VAE on 2-D points (pure core): a 2-D latent, a Gaussian encoder q(z|x) and a Gaussian decoder p(x|z) whose
mean and (per-point, per-axis) scale are networks of z, trained by the ELBO (k = 1) or the IWAE bound (k > 1).

Its density p(x) = ∫ p(x|z) p(z) dz has no closed form; this module gives three views of it:

- the IWAE bound log (1/k) Σ_i p(x, z_i)/q(z_i|x), z_i ~ q(z|x) (Burda, Grosse & Salakhutdinov 2016): a lower bound
  on log p(x) in expectation, tighter as k grows (k = 1 is the ELBO); the shared families table reports the NLL from
  k = 1,000 as an upper bound;
- the exact log p(x) by quadrature over z on a grid (2-D latent: a grid of 400² points covers [−6, 6]² at 0.03), for
  the checks and the tests;
- ancestral samples z ~ N(0, I), x ~ p(x|z).
"""
from __future__ import annotations

import math

import torch
from torch import nn

LOG_2PI = math.log(2 * math.pi)
MIN_LOG_SCALE = math.log(1e-3)  # the decoder's scale never falls below 0.001 (a mode of ring8 has std 0.01)


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_out))


def gauss_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag(exp(log_scale))²) summed over the last axis."""
    return (-0.5 * ((x - mean) * torch.exp(-log_scale)) ** 2 - log_scale - 0.5 * LOG_2PI).sum(-1)


class PointVAE(nn.Module):
    """q(z|x) = N(μ(x), diag σ(x)²), p(z) = N(0, I), p(x|z) = N(m(z), diag s(z)²); x and z both 2-D."""

    latent = 2

    def __init__(self, hidden: int = 64, scale: float = 1.0):
        super().__init__()
        self.encoder = mlp(2, hidden, 4)
        self.decoder = mlp(2, hidden, 4)
        self.scale = float(scale)  # the data's spread: the networks see x / scale, the density is in x's units

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x / self.scale)
        return h[..., :2], h[..., 2:].clamp(-8.0, 4.0)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.decoder(z)
        return h[..., :2] * self.scale, h[..., 2:].clamp_min(MIN_LOG_SCALE - math.log(self.scale)) + math.log(self.scale)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) + log p(z) for x [..., 2] against z [..., 2] (broadcast)."""
        mean, log_scale = self.decode(z)
        return gauss_log_prob(x, mean, log_scale) + (-0.5 * z ** 2 - 0.5 * LOG_2PI).sum(-1)

    def log_weights(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None,
                    beta: float = 1.0) -> torch.Tensor:
        """[k, n] log importance weights log p(x|z_i) + β (log p(z_i) − log q(z_i|x)), z_i ~ q(z|x) reparameterized
        (β = 1: the weights of the bound; β < 1 only during a KL warm-up)."""
        mu, log_sigma = self.encode(x)
        eps = torch.randn((k, *mu.shape), generator=generator, device=generator.device if generator is not None
                          else x.device, dtype=mu.dtype).to(x.device)
        z = mu + torch.exp(log_sigma) * eps
        log_q = (-0.5 * eps ** 2 - log_sigma - 0.5 * LOG_2PI).sum(-1)
        mean, log_scale = self.decode(z)
        log_prior = (-0.5 * z ** 2 - 0.5 * LOG_2PI).sum(-1)
        return gauss_log_prob(x.unsqueeze(0), mean, log_scale) + beta * (log_prior - log_q)

    def bound(self, x: torch.Tensor, k: int = 1, generator: torch.Generator | None = None,
              beta: float = 1.0) -> torch.Tensor:
        """[n] the IWAE bound with k samples (k = 1: the ELBO): log (1/k) Σ_i w_i (β < 1: the warm-up's
        objective, not a bound)."""
        lw = self.log_weights(x, k, generator, beta)
        return torch.logsumexp(lw, 0) - math.log(k)

    @torch.no_grad()
    def iwae_log_prob(self, x: torch.Tensor, k: int = 1000, generator: torch.Generator | None = None,
                      chunk: int = 100_000) -> torch.Tensor:
        """[n] the IWAE bound with k samples, in chunks of points so k × points stays within ``chunk``."""
        per = max(1, chunk // k)
        return torch.cat([self.bound(c, k, generator) for c in x.split(per)])

    @torch.no_grad()
    def exact_log_prob(self, x: torch.Tensor, n: int = 400, extent: float = 6.0) -> torch.Tensor:
        """[points] log p(x) = log ∫ p(x|z) p(z) dz by the midpoint rule on an n × n grid over [−extent, extent]²
        (p(z)'s mass outside it is below 2e-9), in float64."""
        h = 2 * extent / n
        t = torch.linspace(-extent + h / 2, extent - h / 2, n, dtype=torch.float64, device=x.device)
        gz = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
        mean, log_scale = (v.double() for v in self.decode(gz.float()))
        log_prior = (-0.5 * gz ** 2 - 0.5 * LOG_2PI).sum(-1)
        out = []
        for xi in x.double():
            lj = gauss_log_prob(xi, mean, log_scale) + log_prior
            out.append(torch.logsumexp(lj, 0) + 2 * math.log(h))
        return torch.stack(out)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """[n, 2] ancestral samples: z ~ N(0, I), x ~ N(m(z), diag s(z)²)."""
        device = next(self.parameters()).device
        drawn = generator.device if generator is not None else device  # the generator's device, then the model's
        z = torch.randn(n, 2, generator=generator, device=drawn).to(device)
        eps = torch.randn(n, 2, generator=generator, device=drawn).to(device)
        mean, log_scale = self.decode(z)
        return mean + torch.exp(log_scale) * eps

    @torch.no_grad()
    def decoder_means(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z)[0]


def vae_loss(model: PointVAE, x: torch.Tensor, k: int, generator: torch.Generator | None = None,
             beta: float = 1.0) -> tuple[torch.Tensor, float]:
    """Minus the IWAE bound with k samples on minibatch x (k = 1: minus the ELBO), its KL terms weighted by β (a
    warm-up, Bowman et al. 2016: β < 1 for the first steps, else the decoder learns to ignore z); and the true bound
    (β = 1) of the same draws, for the metric row."""
    mu, log_sigma = model.encode(x)
    eps = torch.randn((k, *mu.shape), generator=generator, device=generator.device if generator is not None
                      else x.device, dtype=mu.dtype).to(x.device)
    z = mu + torch.exp(log_sigma) * eps
    mean, log_scale = model.decode(z)
    rec = gauss_log_prob(x.unsqueeze(0), mean, log_scale)
    kl_part = (-0.5 * z ** 2 - 0.5 * LOG_2PI).sum(-1) - (-0.5 * eps ** 2 - log_sigma - 0.5 * LOG_2PI).sum(-1)
    loss = -(torch.logsumexp(rec + beta * kl_part, 0) - math.log(k)).mean()
    with torch.no_grad():
        true = float((torch.logsumexp(rec + kl_part, 0) - math.log(k)).mean())
    return loss, true
