"""Variational autoencoder (Kingma & Welling 2014) with a Gaussian q(z|x) and an N(0, I) prior.

ELBO L(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) (docs/references.md); the KL term is in closed form,
the reconstruction term by the reparameterization trick. The VAE has no tractable ``log_prob``:
:meth:`VAE.iwae_bound` gives the importance-weighted lower bound L_k (Burda et al. 2016) instead.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal

from genviz.models.layers import mlp


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-dimension KL(N(mu, exp(logvar)) || N(0, 1)) = (mu^2 + sigma^2 - 1 - log sigma^2) / 2."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


class VAE(nn.Module):
    def __init__(self, x_dim: int, latent: int = 2, hidden: tuple[int, ...] = (256,),
                 activation: str = "relu", likelihood: str = "bernoulli", sigma: float = 0.1):
        super().__init__()
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be bernoulli or gaussian, got {likelihood!r}")
        self.x_dim, self.latent, self.likelihood = int(x_dim), int(latent), likelihood
        self.activation = activation
        self.sigma = float(sigma)
        hidden = list(hidden)
        self.encoder = mlp([x_dim, *hidden, 2 * latent], activation)
        self.decoder = mlp([latent, *hidden[::-1], x_dim], activation)

    # -- distributions ------------------------------------------------------------------------
    def prior(self) -> Independent:
        zeros = torch.zeros(self.latent, device=self._device())
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def encode_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        mu, logvar = h[..., : self.latent], h[..., self.latent:]
        return mu, logvar.clamp(-12.0, 8.0)  # keeps exp() finite early in training

    def encode(self, x: torch.Tensor) -> Independent:
        """q(z|x), a diagonal Gaussian; ``.rsample()`` is the reparameterization trick."""
        mu, logvar = self.encode_params(x)
        return Independent(Normal(mu, (0.5 * logvar).exp()), 1)

    def decoder_out(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output for ``z`` [..., latent] -> [..., x_dim]: logits (Bernoulli) or the mean (Gaussian)."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> Independent:
        """p(x|z): Bernoulli on logits, or Gaussian with fixed scale ``sigma``."""
        out = self.decoder_out(z)
        if self.likelihood == "bernoulli":
            # validate_args off: real-valued targets in [0, 1] are the usual "continuous BCE" practice
            return Independent(Bernoulli(logits=out, validate_args=False), 1)
        return Independent(Normal(out, torch.full_like(out, self.sigma)), 1)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder_out(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out.clamp(0.0, 1.0)

    # -- objectives --------------------------------------------------------------------------
    def elbo_terms(self, x: torch.Tensor, n_samples: int = 1) -> dict[str, torch.Tensor]:
        """Per-example terms: ``recon`` = E_q log p(x|z) (MC, reparameterized), ``kl`` (closed
        form), ``kl_dims`` [B, latent], ``elbo`` = recon - kl."""
        mu, logvar = self.encode_params(x)
        std = (0.5 * logvar).exp()
        eps = torch.randn((n_samples, *mu.shape), device=mu.device, dtype=mu.dtype)
        z = mu + std * eps
        recon = self.decode(z).log_prob(x.expand(n_samples, *x.shape)).mean(0)
        kl_dims = kl_standard_normal(mu, logvar)
        kl = kl_dims.sum(-1)
        return {"recon": recon, "kl": kl, "kl_dims": kl_dims, "elbo": recon - kl, "mu": mu, "logvar": logvar}

    def elbo(self, x: torch.Tensor, n_samples: int = 1) -> torch.Tensor:
        return self.elbo_terms(x, n_samples)["elbo"]

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Training loss -(recon - beta * KL), averaged over the batch; beta = 1 is the ELBO."""
        terms = self.elbo_terms(x)
        return -(terms["recon"] - beta * terms["kl"]).mean(), terms

    def iwae_loss(self, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The IWAE training objective (Burda et al. 2016): -mean L_k with reparameterized samples;
        k = 1 is the ELBO with a Monte Carlo KL. Returns (loss, per-example L_k)."""
        mu, logvar = self.encode_params(x)
        std = (0.5 * logvar).exp()
        eps = torch.randn((k, *mu.shape), device=mu.device, dtype=mu.dtype)
        z = mu + std * eps
        log_q = Normal(mu, std).log_prob(z).sum(-1)
        log_w = self.decode(z).log_prob(x.expand(k, *x.shape)) + self.prior().log_prob(z) - log_q
        bound = torch.logsumexp(log_w, 0) - math.log(k)
        return -bound.mean(), bound

    @torch.no_grad()
    def iwae_bound(self, x: torch.Tensor, k: int = 50, chunk: int = 500) -> torch.Tensor:
        """L_k = E log (1/k) sum_i p(x, z_i) / q(z_i|x), a lower bound on log p(x) that rises with k."""
        q = self.encode(x)
        prior = self.prior()
        parts = []
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            z = q.sample((n,))
            parts.append(self.decode(z).log_prob(x.expand(n, *x.shape)) + prior.log_prob(z) - q.log_prob(z))
        log_w = torch.cat(parts, 0)
        return torch.logsumexp(log_w, 0) - math.log(k)

    @torch.no_grad()
    def sample(self, sample_shape=torch.Size(), mean: bool = False) -> torch.Tensor:
        """x ~ p(x|z) p(z) (or the decoder mean with ``mean=True``)."""
        z = self.prior().sample(torch.Size(sample_shape))
        return self.decode_mean(z) if mean else self.decode(z).sample()

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def decoder_layers(self) -> list[tuple]:
        """Decoder weights as numpy copies, so the GUI can decode a click without a round trip."""
        return [(m.weight.detach().cpu().numpy().copy(), m.bias.detach().cpu().numpy().copy())
                for m in self.decoder if isinstance(m, nn.Linear)]


def active_units(mu: torch.Tensor, threshold: float = 1e-2) -> tuple[int, torch.Tensor]:
    """Burda et al.'s active units: dimension u is active if Cov_x(E_q[u]) > 1e-2 (docs/references.md).
    ``mu`` are encoder means over a set of examples (the reference code uses 500)."""
    var = mu.var(0, unbiased=True) if len(mu) > 1 else torch.zeros(mu.shape[-1])
    return int((var > threshold).sum()), var
