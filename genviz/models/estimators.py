"""Gradient estimators and wake-sleep, with the exact answers beside them.

- Gaussian q = N(mu, sigma^2) and f in {z^2, 1[z > 0], a small decoder's log-likelihood}: the exact
  d/dmu E_q[f] (closed forms; Gauss-Hermite quadrature for the decoder) and single-sample estimates by
  the score function (with or without a baseline) and by reparameterization.
- Bernoulli and categorical q: the exact gradient by enumeration, the score function with baselines,
  and the Gumbel-softmax / concrete relaxation (biased for temperature > 0).
- A sigmoid belief net / Helmholtz machine with a few binary latents: log p(x) exact by enumerating
  every latent state; wake-sleep, reweighted wake-sleep and a score-function ELBO with a baseline.
Pure numpy / torch, no Qt."""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SQRT2PI = math.sqrt(2 * math.pi)
GAUSS_HERMITE = np.polynomial.hermite_e.hermegauss(80)  # nodes and weights for E over N(0, 1) (x sqrt(2 pi))


# -- continuous q = N(mu, sigma^2): f, its derivative, the exact gradient --------------------------------------
class Decoder1D:
    """log p(x | z) = sum_d log Bernoulli(x_d; sigmoid(w_d z + b_d)): a small fixed decoder of a scalar z."""

    def __init__(self, d: int = 16, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.w, self.b = rng.normal(0, 1.5, d), rng.normal(0, 0.5, d)
        self.x = (rng.random(d) < 1 / (1 + np.exp(-(self.w * 0.8 + self.b)))).astype(np.float64)

    def f(self, z: np.ndarray) -> np.ndarray:
        a = np.multiply.outer(z, self.w) + self.b
        return (self.x * a - np.logaddexp(0, a)).sum(-1)

    def df(self, z: np.ndarray) -> np.ndarray:
        a = np.multiply.outer(z, self.w) + self.b
        return ((self.x - 1 / (1 + np.exp(-a))) * self.w).sum(-1)


def f_and_df(name: str, decoder: Decoder1D | None = None):
    if name == "square":
        return (lambda z: z ** 2), (lambda z: 2 * z)
    if name == "step":  # the pathwise derivative of a step is 0 almost everywhere: reparameterization fails
        return (lambda z: (z > 0).astype(np.float64)), (lambda z: np.zeros_like(z))
    if name == "decoder":
        decoder = decoder or Decoder1D()
        return decoder.f, decoder.df
    raise ValueError(f"unknown f '{name}' (square, step, decoder)")


def exact_gradient(name: str, mu: float, sigma: float, decoder: Decoder1D | None = None) -> float:
    """d/dmu E_{N(mu, sigma^2)}[f(z)]: closed forms for z^2 and the step, quadrature for the decoder."""
    if name == "square":
        return 2 * mu
    if name == "step":  # d/dmu Phi(mu / sigma)
        return math.exp(-0.5 * (mu / sigma) ** 2) / (sigma * SQRT2PI)
    nodes, weights = GAUSS_HERMITE
    _, df = f_and_df(name, decoder)
    return float((weights * df(mu + sigma * nodes)).sum() / SQRT2PI)  # E[f'(z)] (f smooth)


def square_sf_variance(mu: float, sigma: float, baseline: float = 0.0) -> float:
    """Var of (f(z) - b)(z - mu)/sigma^2 for f = z^2: E[g^2] = (mu^4 + 18 mu^2 sigma^2 + 15 sigma^4)/sigma^2,
    lowered by (2 b (mu^2 + 3 sigma^2) - b^2)/sigma^2 (the best b is mu^2 + 3 sigma^2)."""
    second = (mu ** 4 + 18 * mu ** 2 * sigma ** 2 + 15 * sigma ** 4) / sigma ** 2
    second -= (2 * baseline * (mu ** 2 + 3 * sigma ** 2) - baseline ** 2) / sigma ** 2
    return second - 4 * mu ** 2


def gaussian_estimates(name: str, estimator: str, mu: float, sigma: float, n: int, rng: np.random.Generator,
                       decoder: Decoder1D | None = None, baseline: float | None = None) -> np.ndarray:
    """n single-sample estimates of d/dmu E[f]: 'sf' (score function), 'sf-baseline' (with ``baseline``, by
    default E[f] estimated from separate draws, so the estimate stays unbiased), or 'reparam'."""
    f, df = f_and_df(name, decoder)
    eps = rng.standard_normal(n)
    z = mu + sigma * eps
    if estimator == "reparam":
        return df(z)
    b = 0.0
    if estimator == "sf-baseline":
        b = baseline if baseline is not None else float(np.mean(f(mu + sigma * rng.standard_normal(256))))
    elif estimator != "sf":
        raise ValueError(f"unknown estimator '{estimator}' (sf, sf-baseline, reparam)")
    return (f(z) - b) * eps / sigma


# -- discrete q: Bernoulli and categorical -----------------------------------------------------------------------
def categorical_exact_gradient(logits: np.ndarray, values: np.ndarray) -> np.ndarray:
    """d/dlogits sum_k softmax(logits)_k f_k, by enumeration: p_k (f_k - E f)."""
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return p * (values - (p * values).sum())


def categorical_estimates(logits: np.ndarray, values: np.ndarray, estimator: str, n: int, rng: np.random.Generator,
                          temperature: float = 0.5) -> np.ndarray:
    """n single-sample estimates [n, K] of d/dlogits E[f]: 'sf', 'sf-baseline' (b = E[f] from separate draws),
    or 'gumbel' (the concrete relaxation y = softmax((logits + g)/tau), f extended linearly as sum_k y_k f_k,
    differentiated by autograd: biased for tau > 0)."""
    k = len(logits)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    if estimator in ("sf", "sf-baseline"):
        idx = rng.choice(k, size=n, p=p)
        b = 0.0
        if estimator == "sf-baseline":
            b = float(values[rng.choice(k, size=256, p=p)].mean())
        score = np.eye(k)[idx] - p  # d log p_idx / d logits
        return (values[idx] - b)[:, None] * score
    if estimator == "gumbel":
        # y = softmax((logits + g) / tau); d(sum_k y_k f_k)/d logits = y (f - y.f) / tau (the softmax's Jacobian)
        g = -np.log(-np.log(rng.random((n, k)).clip(1e-300, 1.0)))
        s = (logits + g) / temperature
        y = np.exp(s - s.max(1, keepdims=True))
        y /= y.sum(1, keepdims=True)
        return y * (values - (y * values).sum(1, keepdims=True)) / temperature
    raise ValueError(f"unknown estimator '{estimator}' (sf, sf-baseline, gumbel)")


def gumbel_bias(logits: np.ndarray, values: np.ndarray, temperature: float, n: int, rng: np.random.Generator) -> dict:
    """The concrete estimator's mean and its distance from the exact gradient, with the SE of the mean."""
    est = categorical_estimates(logits, values, "gumbel", n, rng, temperature)
    exact = categorical_exact_gradient(logits, values)
    mean = est.mean(0)
    return {"mean": mean, "se": est.std(0, ddof=1) / math.sqrt(n), "exact": exact,
            "bias": float(np.linalg.norm(mean - exact)), "variance": float(est.var(0, ddof=1).sum())}


# -- sigmoid belief nets: exact log p(x) by enumeration, wake-sleep, RWS, score-function ELBO ----------------------
def all_states(h: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=h)))


def bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    logits, x = torch.broadcast_tensors(logits, x)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


class HelmholtzMachine(nn.Module):
    """Generative p(h) p(x | h): factorial Bernoulli prior over H binary latents, a sigmoid layer to x.
    Recognition q(h | x): factorial Bernoulli from a sigmoid layer of x."""

    def __init__(self, d: int, h: int = 10, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.d, self.h = d, h
        self.prior = nn.Parameter(torch.zeros(h))
        self.gen_w = nn.Parameter(torch.randn(d, h, generator=g) * 0.1)
        self.gen_b = nn.Parameter(torch.zeros(d))
        self.rec_w = nn.Parameter(torch.randn(h, d, generator=g) * 0.1)
        self.rec_b = nn.Parameter(torch.zeros(h))
        self.register_buffer("states", all_states(h))

    def generative(self) -> list[nn.Parameter]:
        return [self.prior, self.gen_w, self.gen_b]

    def recognition(self) -> list[nn.Parameter]:
        return [self.rec_w, self.rec_b]

    def log_joint(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """log p(x, h): x [..., d], h [..., h]."""
        return bernoulli_log_prob(self.prior.expand_as(h), h) + bernoulli_log_prob(h @ self.gen_w.T + self.gen_b, x)

    def q_logits(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.rec_w.T + self.rec_b

    def log_q(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_prob(self.q_logits(x), h)

    def sample_q(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        return torch.bernoulli(torch.sigmoid(self.q_logits(x)), generator=generator)

    def sample_p(self, n: int, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.bernoulli(torch.sigmoid(self.prior).expand(n, self.h), generator=generator)
        x = torch.bernoulli(torch.sigmoid(h @ self.gen_w.T + self.gen_b), generator=generator)
        return h, x

    def log_px_table(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x, h) for every latent state: [n, 2^H] (exact, by enumeration)."""
        s = self.states
        prior = bernoulli_log_prob(self.prior.expand_as(s), s)  # [S]
        a = s @ self.gen_w.T + self.gen_b  # [S, d] logits of x for every latent state
        # log Bernoulli(x; sigmoid(a)) summed over d = x . a - sum_d softplus(a): one matrix product
        return prior + x @ a.T - F.softplus(a).sum(-1)

    def log_px(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = logsumexp_h log p(x, h): exact."""
        return torch.logsumexp(self.log_px_table(x), -1)

    def posterior(self, x: torch.Tensor) -> torch.Tensor:
        """p(h | x) over every latent state: [n, 2^H]."""
        return torch.softmax(self.log_px_table(x), -1)


def wake_sleep_losses(model: HelmholtzMachine, x: torch.Tensor, method: str, k: int = 5, baseline: float = 0.0,
                      generator=None) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Surrogate losses (generative, recognition) whose gradients are each method's updates:
    - 'wake-sleep' (Hinton et al. 1995): wake: h ~ q(h|x), maximize log p(x, h) in the generative weights;
      sleep: (h, x) ~ p, maximize log q(h | x) in the recognition weights.
    - 'rws' (Bornschein & Bengio 2015): k draws h_i ~ q, normalized weights w_i ∝ p(x, h_i)/q(h_i|x); both
      the generative and (wake-phase) recognition gradients are the w-weighted log-likelihood gradients.
    - 'sf-elbo': the ELBO with the score function for q: (log p(x,h) - log q(h|x) - b) d log q; a baseline b.
    Returns the losses and the batch's learning signal (for a running baseline)."""
    n = len(x)
    if method == "wake-sleep":
        with torch.no_grad():
            h = model.sample_q(x, generator)
            hs, xs = model.sample_p(n, generator)
        return -model.log_joint(x, h).mean(), -model.log_q(hs, xs).mean(), {}
    if method == "rws":
        xk = x.unsqueeze(0).expand(k, -1, -1)
        with torch.no_grad():
            h = model.sample_q(xk, generator)
        log_w = model.log_joint(xk, h) - model.log_q(h, xk)
        w = torch.softmax(log_w.detach(), 0)
        return -(w * model.log_joint(xk, h)).sum(0).mean(), -(w * model.log_q(h, xk)).sum(0).mean(), {}
    if method == "sf-elbo":
        with torch.no_grad():
            h = model.sample_q(x, generator)
        log_q = model.log_q(h, x)
        signal = (model.log_joint(x, h) - log_q).detach()
        return -model.log_joint(x, h).mean(), -((signal - baseline) * log_q).mean(), {"signal": float(signal.mean())}
    raise ValueError(f"unknown method '{method}' (wake-sleep, rws, sf-elbo)")
