"""Binary restricted Boltzmann machines (docs/references.md): energy, free energy, Gibbs conditionals,
CD-k / PCD-k gradients, exact log Z for small hidden layers and AIS (Salakhutdinov & Murray 2008).

An RBM has no tractable log_prob: log p(v) = -F(v) - log Z needs an estimate of log Z, so the model
offers free_energy() and the estimators, not a fake log_prob."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class RBM(nn.Module):
    def __init__(self, n_visible: int, n_hidden: int, init_std: float = 0.01, visible_bias=None):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_visible, n_hidden) * init_std)
        self.b = nn.Parameter(torch.zeros(n_visible) if visible_bias is None else visible_bias.clone())
        self.c = nn.Parameter(torch.zeros(n_hidden))

    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]

    # -- the model ----------------------------------------------------------------------------
    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """E(v, h) = -v^T W h - b^T v - c^T h, per row."""
        return -((v @ self.W) * h).sum(-1) - v @ self.b - h @ self.c

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -b^T v - sum_j softplus(c_j + W_:j^T v), so p(v) = exp(-F(v)) / Z."""
        return -v @ self.b - F.softplus(v @ self.W + self.c).sum(-1)

    def p_h(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(v @ self.W + self.c)

    def p_v(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h @ self.W.T + self.b)

    @torch.no_grad()
    def sample_h(self, v: torch.Tensor, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.p_h(v)
        return torch.bernoulli(p, generator=generator), p

    @torch.no_grad()
    def sample_v(self, h: torch.Tensor, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.p_v(h)
        return torch.bernoulli(p, generator=generator), p

    @torch.no_grad()
    def gibbs(self, v: torch.Tensor, k: int = 1, clamp_mask=None, clamp_values=None, generator=None):
        """k full steps v -> h -> v. Where clamp_mask is True the visible units keep clamp_values
        (sampling the rest from p(v_free | v_clamped)). Returns (v, h, p_v of the last step)."""
        h = pv = None
        for _ in range(k):
            h, _ = self.sample_h(v, generator)
            v, pv = self.sample_v(h, generator)
            if clamp_mask is not None:
                v = torch.where(clamp_mask, clamp_values, v)
        return v, h, pv

    # -- learning -------------------------------------------------------------------------------
    @torch.no_grad()
    def cd_gradients(self, v_data: torch.Tensor, v_model: torch.Tensor) -> dict[str, torch.Tensor]:
        """The log-likelihood gradient estimate <.>_data - <.>_model, with the hidden units'
        probabilities in place of samples (lower variance, same expectation)."""
        ph_d, ph_m = self.p_h(v_data), self.p_h(v_model)
        n_d, n_m = len(v_data), len(v_model)
        return {"W": v_data.T @ ph_d / n_d - v_model.T @ ph_m / n_m,
                "b": v_data.mean(0) - v_model.mean(0),
                "c": ph_d.mean(0) - ph_m.mean(0)}

    # -- evaluation -----------------------------------------------------------------------------
    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> torch.Tensor:
        """Mean squared error of one deterministic pass v -> p(h|v) -> p(v|h), per row."""
        return ((self.p_v(self.p_h(v)) - v) ** 2).mean(-1)

    @torch.no_grad()
    def pseudo_likelihood(self, v: torch.Tensor, generator=None) -> torch.Tensor:
        """Stochastic log pseudo-likelihood per row: D * log sigmoid(F(v with bit i flipped) - F(v))
        for one random bit i per row (an unbiased estimate of sum_i log p(v_i | v_-i))."""
        idx = torch.randint(0, v.shape[1], (len(v),), generator=generator, device=v.device)
        flipped = v.clone()
        rows = torch.arange(len(v), device=v.device)
        flipped[rows, idx] = 1 - flipped[rows, idx]
        return v.shape[1] * F.logsigmoid(self.free_energy(flipped) - self.free_energy(v))

    @torch.no_grad()
    def exact_log_z(self, chunk: int = 1 << 14) -> float:
        """log Z = logsumexp_h (c^T h + sum_i softplus(b_i + W_i: h)) over all 2^H hidden states
        (float64). Practical up to about 20 hidden units."""
        H = self.n_hidden
        if H > 24:
            raise ValueError(f"exact log Z sums over 2^{H} hidden states: too many (at most 24)")
        W, b, c = self.W.double(), self.b.double(), self.c.double()
        bits = 1 << torch.arange(H, device=W.device)
        parts = []
        for start in range(0, 1 << H, chunk):
            ids = torch.arange(start, min(start + chunk, 1 << H), device=W.device)
            h = ((ids[:, None] & bits) > 0).double()
            parts.append(torch.logsumexp(h @ c + F.softplus(h @ W.T + b).sum(-1), 0))
        return float(torch.logsumexp(torch.stack(parts), 0))

    @torch.no_grad()
    def log_prob_given_log_z(self, v: torch.Tensor, log_z: float) -> torch.Tensor:
        """log p(v) = -F(v) - log Z, for a log Z computed (exact_log_z) or estimated (ais)."""
        return -self.free_energy(v) - log_z


def ais_betas(scale: float = 1.0) -> torch.Tensor:
    """Salakhutdinov & Murray's schedule: steps of 1/1000 on [0, 0.5], 1/10000 on [0.5, 0.9],
    1/100000 on [0.9, 1] (14,500 temperatures); scale < 1 makes every step 1/scale times longer."""
    def seg(a, b, step):
        n = max(1, int(round((b - a) / step * scale)))
        return torch.linspace(a, b, n + 1, dtype=torch.float64)[:-1]

    return torch.cat([seg(0.0, 0.5, 1e-3), seg(0.5, 0.9, 1e-4), seg(0.9, 1.0, 1e-5),
                      torch.ones(1, dtype=torch.float64)])


def base_rate_bias(data_mean: torch.Tensor, smoothing: float = 0.05) -> torch.Tensor:
    """Visible biases of the base-rate model: the data's pixel means, pulled from 0 and 1 so the
    logits stay finite (Salakhutdinov & Murray smooth the same way)."""
    p = data_mean * (1 - smoothing) + smoothing / 2
    return torch.log(p) - torch.log1p(-p)


@torch.no_grad()
def ais(rbm: RBM, base_bias: torch.Tensor, runs: int = 100, betas: torch.Tensor | None = None,
        generator=None, progress=None) -> tuple[float, torch.Tensor]:
    """Annealed importance sampling from the base-rate model (W = 0, visible biases base_bias) to
    the RBM: p_k(v) ~ exp((1-beta_k) b_A^T v + beta_k b^T v) prod_j (1 + exp(beta_k (c_j + W_:j^T v))).
    Returns (log Z estimate, per-run log weights + log Z_A: the per-run estimates' spread)."""
    betas = ais_betas() if betas is None else betas
    W, b, c = rbm.W.double(), rbm.b.double(), rbm.c.double()
    bA = base_bias.double().to(W.device)
    log_z_a = float(F.softplus(bA).sum()) + rbm.n_hidden * math.log(2.0)

    def log_f(v, beta):
        return (1 - beta) * (v @ bA) + beta * (v @ b) + F.softplus(beta * (v @ W + c)).sum(-1)

    v = torch.bernoulli(torch.sigmoid(bA).expand(runs, -1), generator=generator)
    log_w = torch.zeros(runs, dtype=torch.float64, device=W.device)
    n = len(betas)
    for k in range(1, n):
        beta_prev, beta = float(betas[k - 1]), float(betas[k])
        log_w += log_f(v, beta) - log_f(v, beta_prev)
        # one Gibbs transition that leaves p_k invariant
        h = torch.bernoulli(torch.sigmoid(beta * (v @ W + c)), generator=generator)
        v = torch.bernoulli(torch.sigmoid((1 - beta) * bA + beta * (h @ W.T + b)), generator=generator)
        if progress is not None and k % 500 == 0:
            progress(k / (n - 1))
    per_run = log_w + log_z_a
    log_z = float(torch.logsumexp(per_run, 0) - math.log(runs))
    return log_z, per_run
