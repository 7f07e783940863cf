"""Exact and approximate posteriors of a VAE with a 2-D latent (pure torch, no Qt).

With two latent dimensions p(z|x) = p(x|z) p(z) / p(x) can be normalised by quadrature on a grid
(docs/references.md), so every approximation can be measured against the truth: the encoder's q(z|x), the
per-example optimum q*(z|x) (Cremer et al. 2018), importance-weighted q_IW (Burda et al. 2016) and
Hamiltonian Monte Carlo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

LOG_2PI = math.log(2 * math.pi)


@torch.no_grad()
def log_joint(model, x: torch.Tensor, z: torch.Tensor, chunk: int = 20000) -> torch.Tensor:
    """log p(x, z) = log p(x|z) + log p(z) for one x [D] and many z [G, 2] -> [G]."""
    return _log_joint(model, x, z, chunk)


def _log_joint(model, x: torch.Tensor, z: torch.Tensor, chunk: int = 20000) -> torch.Tensor:
    out = []
    for start in range(0, len(z), chunk):
        zc = z[start:start + chunk]
        out.append(model.decode(zc).log_prob(x.expand(len(zc), -1)) - 0.5 * (zc ** 2).sum(-1) - LOG_2PI)
    return torch.cat(out)


@dataclass
class GridPosterior:
    """p(z|x) on an n x n grid: ``log_density[i, j]`` at z = (xs[j], ys[i]) (row 0 = lowest z2)."""
    xs: np.ndarray
    ys: np.ndarray
    log_density: np.ndarray
    log_px: float

    @property
    def extent(self) -> tuple[float, float, float, float]:
        dx, dy = self.xs[1] - self.xs[0], self.ys[1] - self.ys[0]
        return (self.xs[0] - dx / 2, self.xs[-1] + dx / 2, self.ys[0] - dy / 2, self.ys[-1] + dy / 2)

    def mass_levels(self, masses=(0.5, 0.9)) -> list[float]:
        """Density thresholds whose super-level sets hold these posterior masses (highest-density regions)."""
        dens = np.exp(self.log_density).ravel()
        cell = (self.xs[1] - self.xs[0]) * (self.ys[1] - self.ys[0])
        order = np.sort(dens)[::-1]
        cum = np.cumsum(order) * cell
        return [float(order[min(np.searchsorted(cum, m), len(order) - 1)]) for m in masses]

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        w = np.exp(self.log_density)
        w = w / w.sum()
        gx, gy = np.meshgrid(self.xs, self.ys)
        m = np.array([(w * gx).sum(), (w * gy).sum()])
        dx, dy = gx - m[0], gy - m[1]
        cov = np.array([[(w * dx * dx).sum(), (w * dx * dy).sum()], [(w * dx * dy).sum(), (w * dy * dy).sum()]])
        return m, cov


def _grid(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    xs = np.linspace(lo[0], hi[0], n)
    ys = np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()


@torch.no_grad()
def grid_posterior(model, x: torch.Tensor, n: int = 200, hint: tuple | None = None,
                   box: tuple[np.ndarray, np.ndarray] | None = None, coarse: int = 48,
                   cutoff: float = 30.0) -> GridPosterior:
    """Normalise p(x, z) on a fine n x n grid over the region that holds the posterior's mass.

    The region is found on coarse grids, starting from the prior's +-5 box joined with ``hint``
    (mean, std of q(z|x)) +-6 std: first the cells within ``cutoff`` nats of the maximum, then,
    on a finer coarse grid there, the cells holding all but 1e-6 of the mass, with two cells of
    margin. log p(x) = logsumexp(log p(x, z_ij)) + log(cell area) (midpoint rule). ``box`` fixes the
    region instead (the tests use wide boxes)."""
    device = next(model.parameters()).device
    x = x.to(device)
    if box is None:
        lo, hi = np.full(2, -5.0), np.full(2, 5.0)
        if hint is not None:
            mu, std = np.asarray(hint[0], float), np.asarray(hint[1], float)
            lo, hi = np.minimum(lo, mu - 6 * std), np.maximum(hi, mu + 6 * std)
        # two coarse passes: a wide one bounds the region within ``cutoff`` nats of the peak, a
        # finer one inside it keeps the cells that hold all but 1e-6 of the mass
        for keep_mass in (None, 1 - 1e-6):
            xs, ys, z = _grid(lo, hi, coarse)
            lj = log_joint(model, x, z.to(device)).double().cpu().numpy().reshape(coarse, coarse)
            if keep_mass is None:
                keep = lj > lj.max() - cutoff
            else:
                p = np.exp(lj - lj.max())
                p /= p.sum()
                order = np.sort(p.ravel())[::-1]
                keep = p >= order[min(np.searchsorted(np.cumsum(order), keep_mass), len(order) - 1)]
            rows, cols = np.flatnonzero(keep.any(1)), np.flatnonzero(keep.any(0))
            step = (hi - lo) / (coarse - 1)
            lo = np.array([xs[cols[0]], ys[rows[0]]]) - 2 * step
            hi = np.array([xs[cols[-1]], ys[rows[-1]]]) + 2 * step
    else:
        lo, hi = np.asarray(box[0], float), np.asarray(box[1], float)
    for _ in range(4 if box is None else 1):
        xs, ys, z = _grid(lo, hi, n)
        lj = log_joint(model, x, z.to(device)).double().cpu()
        if box is not None:
            break
        # the window must hold the drawn contours: a side where the density is still above 1e-5 of
        # its peak (a narrow posterior the coarse grids straddled) moves out by a quarter of the width
        grid = lj.numpy().reshape(n, n)
        edge = grid.max() + math.log(1e-5)
        grow = 0.25 * (hi - lo)
        sides = [grid[:, 0].max() > edge, grid[:, -1].max() > edge, grid[0, :].max() > edge, grid[-1, :].max() > edge]
        if not any(sides):
            break
        lo = lo - grow * np.array([sides[0], sides[2]])
        hi = hi + grow * np.array([sides[1], sides[3]])
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    log_px = float(torch.logsumexp(lj, 0)) + math.log(cell)
    return GridPosterior(xs, ys, (lj.numpy() - log_px).reshape(n, n).astype(np.float64), log_px)


# -- Gaussian families and their ELBOs ----------------------------------------------------------
class Gaussian2D:
    """N(mu, L L^T) in 2-D; ``full=False`` keeps L diagonal (the encoder's family)."""

    def __init__(self, mu, scale_tril, full: bool):
        self.mu, self.scale_tril, self.full = mu, scale_tril, full

    @classmethod
    def diagonal(cls, mu, log_std):
        return cls(mu, torch.diag_embed(log_std.exp()), False)

    def rsample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(n, 2, dtype=self.mu.dtype, generator=generator).to(self.mu.device)
        return self.mu + eps @ self.scale_tril.T

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        diff = torch.linalg.solve_triangular(self.scale_tril, (z - self.mu).T, upper=False).T
        logdet = torch.log(torch.diagonal(self.scale_tril).abs()).sum()
        return -0.5 * (diff ** 2).sum(-1) - logdet - LOG_2PI

    def entropy(self) -> torch.Tensor:
        return torch.log(torch.diagonal(self.scale_tril).abs()).sum() + 1.0 + LOG_2PI

    def numpy(self) -> dict:
        cov = (self.scale_tril @ self.scale_tril.T).detach().cpu().double().numpy()
        return {"mu": self.mu.detach().cpu().double().numpy().copy(), "cov": cov}


def elbo_of(model, x: torch.Tensor, q: Gaussian2D, samples: int = 2000, grad: bool = False) -> torch.Tensor:
    """E_q[log p(x, z)] + H[q], by reparameterized Monte Carlo (entropy in closed form)."""
    with torch.set_grad_enabled(grad):
        z = q.rsample(samples)
        return _log_joint(model, x, z).mean() + q.entropy()


def encoder_q(model, x: torch.Tensor) -> Gaussian2D:
    with torch.no_grad():
        mu, logvar = model.encode_params(x[None])
    return Gaussian2D.diagonal(mu[0], 0.5 * logvar[0])


class OptimalGaussian:
    """q*(z|x): a Gaussian fitted to one x by gradient ascent on its ELBO, from the encoder's q
    (Cremer et al. 2018: Adam, 50 samples per step). Diagonal, or full covariance. Steps run in
    small batches so the views can show the fit as it goes."""

    def __init__(self, q0: Gaussian2D, full: bool, lr: float = 0.01, samples: int = 50):
        self.full = full
        self.mu = q0.mu.detach().clone().requires_grad_(True)
        self.log_diag = torch.log(torch.diagonal(q0.scale_tril).abs()).detach().clone().requires_grad_(True)
        self.off = q0.scale_tril[1:, 0].detach().clone().requires_grad_(True)  # 0 for a diagonal start
        params = [self.mu, self.log_diag] + ([self.off] if full else [])
        self.opt = torch.optim.Adam(params, lr=lr)
        self.samples = samples
        self.lr_min = lr / 20
        self.steps = 0

    def q(self) -> Gaussian2D:
        d = self.log_diag.exp()
        off = self.off[0] if self.full else torch.zeros((), dtype=d.dtype)
        tril = torch.stack([torch.stack([d[0], torch.zeros((), dtype=d.dtype)]), torch.stack([off, d[1]])])
        return Gaussian2D(self.mu, tril, self.full)

    def fit(self, model, x: torch.Tensor, steps: int) -> None:
        for p in model.parameters():
            p.requires_grad_(False)
        try:
            with torch.enable_grad():  # callers may be inside no_grad (snapshots)
                for _ in range(steps):
                    self.opt.zero_grad()
                    loss = -elbo_of(model, x, self.q(), self.samples, grad=True)
                    loss.backward()
                    self.opt.step()
                    self.steps += 1
                    for group in self.opt.param_groups:  # a decaying step lets the noisy iterates settle
                        group["lr"] = max(self.lr_min, group["lr"] * 0.995)
        finally:
            for p in model.parameters():
                p.requires_grad_(True)


CRN_SEED = 20240601  # common random numbers: the same base draws for every q an estimate compares


def elbo_samples(model, x: torch.Tensor, q: "Gaussian2D", samples: int = 2000) -> np.ndarray:
    """Per-draw ELBO terms log p(x, z_i) + H[q] (their mean is the ELBO estimate), z_i = mu + L eps_i
    with the same eps_i for every q (common random numbers): differences between the ELBOs of two
    fits, the gaps the lab shows, then carry much less Monte Carlo noise than either ELBO."""
    with torch.no_grad():
        z = q.rsample(samples, torch.Generator().manual_seed(CRN_SEED))
        return (_log_joint(model, x, z) + q.entropy()).double().cpu().numpy()


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """A Monte Carlo mean and its standard error."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


@torch.no_grad()
def iwae_bounds_se(model, x: torch.Tensor, ks=(1, 10, 100, 1000), budget: int = 20000) -> dict[int, tuple[float, float]]:
    """(L_k, standard error) for one x from one set of ``budget`` draws of q, split into groups of
    k (nested: each group of 10k is 10 groups of k). By Jensen's inequality, within every group of
    10k the log-mean-exp is at least the mean of its ten groups' log-mean-exps, so the estimates
    are ordered L_1 <= L_10 <= L_100 <= L_1000 whatever the draws; their standard errors (from the
    budget / k group values) say how far each may be from the true bound, which can exceed the
    true gaps between them (about 0.001 nats on a well-fit x)."""
    kmax = max(ks)
    n = max(kmax, budget // kmax * kmax)
    q = encoder_q(model, x)
    with torch.no_grad():
        z = q.rsample(n, torch.Generator().manual_seed(CRN_SEED))
        log_w = (_log_joint(model, x, z) - q.log_prob(z)).double()
    out = {}
    for k in ks:
        groups = torch.logsumexp(log_w.reshape(-1, k), 1) - math.log(k)
        out[k] = mean_se(groups.cpu().numpy())
    return out


def iwae_bounds(model, x: torch.Tensor, ks=(1, 10, 100, 1000), budget: int = 20000) -> dict[int, float]:
    """L_k for one x (:func:`iwae_bounds_se` without the standard errors)."""
    return {k: v for k, (v, _) in iwae_bounds_se(model, x, ks, budget).items()}


@torch.no_grad()
def iw_resample(model, x: torch.Tensor, k: int, n: int, generator: torch.Generator | None = None) -> np.ndarray:
    """n draws from q_IW (Burda et al.; Cremer et al. 2017): draw k from q, keep one with
    probability proportional to its weight p(x, z)/q(z|x). k = 1 is q itself -> [n, 2]."""
    q = encoder_q(model, x)
    z = q.rsample(n * k).reshape(n, k, 2)
    log_w = (_log_joint(model, x, z.reshape(-1, 2)) - q.log_prob(z.reshape(-1, 2))).reshape(n, k)
    pick = torch.multinomial(torch.softmax(log_w, 1), 1, generator=generator).squeeze(1)
    return z[torch.arange(n), pick].cpu().numpy().astype(np.float64)


# -- Hamiltonian Monte Carlo --------------------------------------------------------------------
TRAJECTORY_CHAINS = 2  # chains whose leapfrog paths are kept for the view
TRAJECTORIES_KEPT = 3  # iterations of them


class HMC:
    """Parallel HMC chains on log p(x, z) (Neal 2011): leapfrog with an identity mass matrix; the
    step size adapts towards 65 % acceptance (a simple Robbins-Monro rule) for the first
    ``adapt`` iterations, then stays fixed so the chains are a valid Markov chain."""

    def __init__(self, z0: torch.Tensor, step_size: float = 0.1, leapfrog: int = 10, adapt: int = 100,
                 seed: int = 0):
        self.z = z0.detach().clone()
        self.eps = step_size
        self.leapfrog = leapfrog
        self.adapt = adapt
        self.iterations = 0
        self.accepted = 0.0
        self.gen = torch.Generator().manual_seed(seed)
        self.samples: list[np.ndarray] = []  # per iteration after warm-up: [chains, 2]
        # the leapfrog paths of the first TRAJECTORY_CHAINS chains over the last TRAJECTORIES_KEPT iterations:
        # ([chains, leapfrog + 1, 2] positions, [chains] accepted), newest last — the walk drawn as a trajectory
        self.paths: list[tuple[np.ndarray, np.ndarray]] = []

    def _grad(self, model, x, z):
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            lj = _log_joint(model, x, z)
            (g,) = torch.autograd.grad(lj.sum(), z)
        return lj.detach(), g

    def run(self, model, x: torch.Tensor, iterations: int) -> None:
        for p in model.parameters():
            p.requires_grad_(False)
        try:
            for _ in range(iterations):
                self._iterate(model, x)
        finally:
            for p in model.parameters():
                p.requires_grad_(True)

    def _iterate(self, model, x):
        z0 = self.z
        lj0, g = self._grad(model, x, z0)
        p0 = torch.randn(z0.shape, generator=self.gen)
        z, p = z0.clone(), p0 + 0.5 * self.eps * g
        path = [z0[:TRAJECTORY_CHAINS]]
        for i in range(self.leapfrog):
            z = z + self.eps * p
            path.append(z[:TRAJECTORY_CHAINS])
            lj, g = self._grad(model, x, z)
            if i < self.leapfrog - 1:
                p = p + self.eps * g
        p = p + 0.5 * self.eps * g
        log_accept = (lj - 0.5 * (p ** 2).sum(-1)) - (lj0 - 0.5 * (p0 ** 2).sum(-1))
        log_accept = torch.nan_to_num(log_accept, nan=-math.inf)
        accept = torch.rand(len(z0), generator=self.gen).log() < log_accept
        self.z = torch.where(accept[:, None], z, z0)
        self.paths.append((torch.stack(path, 1).cpu().numpy().astype(np.float32),
                           accept[:TRAJECTORY_CHAINS].cpu().numpy()))
        del self.paths[:-TRAJECTORIES_KEPT]
        rate = float(accept.float().mean())
        self.iterations += 1
        if self.iterations <= self.adapt:
            self.eps *= math.exp(0.5 * (rate - 0.65) / math.sqrt(self.iterations))
        else:
            self.accepted += rate
            self.samples.append(self.z.cpu().numpy().astype(np.float64).copy())

    @property
    def acceptance(self) -> float:
        kept = self.iterations - self.adapt
        return self.accepted / kept if kept > 0 else float("nan")

    def trajectories(self) -> dict:
        """The kept leapfrog paths: ``paths`` [n, leapfrog + 1, 2] (oldest first, TRAJECTORY_CHAINS per iteration),
        ``accepted`` [n] (a rejected proposal's chain stays at the path's start)."""
        if not self.paths:
            return {"paths": np.zeros((0, self.leapfrog + 1, 2), np.float32), "accepted": np.zeros(0, bool)}
        return {"paths": np.concatenate([p for p, _ in self.paths]),
                "accepted": np.concatenate([a for _, a in self.paths])}

    def draws(self) -> np.ndarray:
        """[iterations, chains, 2] after warm-up."""
        return np.stack(self.samples) if self.samples else np.zeros((0, len(self.z), 2))


def _split_rank_normal(chains: np.ndarray) -> np.ndarray:
    """[T, C] draws -> [2C, T // 2] split chains, rank-normalised (Vehtari et al. 2021, eq. 14):
    z = Phi^-1((rank - 3/8) / (S + 1/4)) over all S draws, ties sharing their average rank."""
    t = chains.shape[0] // 2 * 2
    halves = np.concatenate([chains[: t // 2], chains[t // 2: t]], axis=1).T  # [2C, T/2]
    flat = halves.ravel()
    order = flat.argsort(kind="mergesort")
    ranks = np.empty(len(flat))
    ranks[order] = np.arange(1, len(flat) + 1)
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    if (counts > 1).any():  # average ranks for ties
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
    p = torch.from_numpy((ranks - 0.375) / (len(flat) + 0.25))
    return torch.special.ndtri(p).numpy().reshape(halves.shape)


def _ess_of(chains: np.ndarray) -> float:
    """Multi-chain ESS of [M, N] chains (Vehtari et al. 2021; Stan): autocorrelations from the
    within-chain autocovariances against the pooled variance (so chains that disagree count as
    few draws), summed with Geyer's initial positive and monotone sequence."""
    m, n = chains.shape
    x = chains - chains.mean(1, keepdims=True)
    f = np.fft.rfft(x, n=2 * n, axis=1)
    acov = np.fft.irfft(f * np.conj(f), axis=1)[:, :n] / n
    mean_var = acov[:, 0].mean() * n / (n - 1)
    var_plus = mean_var * (n - 1) / n + (chains.mean(1).var(ddof=1) if m > 1 else 0.0)
    if var_plus <= 0:
        return float("nan")
    rho = 1.0 - (mean_var - acov.mean(0)) / var_plus
    rho[0] = 1.0
    t = 1
    prev = rho[0] + rho[1]
    tau = -1.0 + 2 * prev if n > 1 else 1.0
    while t + 2 < n:
        pair = rho[t + 1] + rho[t + 2]
        if pair < 0:
            break
        pair = min(pair, prev)  # the monotone sequence
        tau += 2 * pair
        prev = pair
        t += 2
    tau = max(tau, 1.0 / np.log10(m * n))
    return float(m * n / tau)


def effective_sample_size(chains: np.ndarray) -> float:
    """Bulk ESS of a scalar over [T, C] chains (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021):
    split chains, rank-normalised, multi-chain autocorrelation. Chains stuck in different modes
    give a small ESS (a per-chain ESS would count each chain's draws as if it had mixed)."""
    t, c = chains.shape
    if t < 8:
        return float("nan")
    return _ess_of(_split_rank_normal(chains))


def split_rhat(chains: np.ndarray) -> float:
    """Rank-normalised split R-hat of [T, C] chains (Vehtari et al. 2021): the larger of the bulk
    and the folded (|x - median|) R-hat; above 1.01 the chains disagree."""
    t, c = chains.shape
    if t < 8:
        return float("nan")

    def rhat(z: np.ndarray) -> float:
        m, n = z.shape
        w = z.var(1, ddof=1).mean()
        b = n * z.mean(1).var(ddof=1)
        return float(np.sqrt(((n - 1) / n * w + b / n) / w)) if w > 0 else float("nan")

    folded = np.abs(chains - np.median(chains))
    return max(rhat(_split_rank_normal(chains)), rhat(_split_rank_normal(folded)))
