"""Variational inference computed exactly where it can be: KL divergences of 2-D densities by quadrature
on a grid, EM's family of lower bounds on a 1-D mixture, CAVI for the Bayesian mixture of Gaussians
(Blei, Kucukelbir & McAuliffe 2017, section 3) beside Gibbs sampling and EM, and mean-field on a
correlated Gaussian (Bishop, PRML section 10.1.2). Pure numpy / torch, no Qt."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

LOG2PI = math.log(2 * math.pi)


# -- densities on a grid ----------------------------------------------------------------------------------
class Grid2D:
    """An n x n grid of cell centres over ``extent``: integrals as sums times the cell area."""

    def __init__(self, extent=(-4.0, 4.0, -4.0, 4.0), n: int = 128):
        x0, x1, y0, y1 = (float(v) for v in extent)
        self.extent, self.n = (x0, x1, y0, y1), int(n)
        dx, dy = (x1 - x0) / n, (y1 - y0) / n
        xs = x0 + dx * (torch.arange(n, dtype=torch.float64) + 0.5)
        ys = y0 + dy * (torch.arange(n, dtype=torch.float64) + 0.5)
        gx, gy = torch.meshgrid(xs, ys, indexing="ij")
        self.points = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # [n*n, 2], x index major
        self.area = dx * dy

    def image(self, values: torch.Tensor) -> np.ndarray:
        """values over the points -> [n_x, n_y] (x across the first axis)."""
        return values.detach().reshape(self.n, self.n).cpu().numpy()


def gaussian_log_prob(z: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, cov) for z [N, d]."""
    d = z.shape[-1]
    chol = torch.linalg.cholesky(cov)
    diff = (z - mean).unsqueeze(-1)
    sol = torch.linalg.solve_triangular(chol, diff, upper=False).squeeze(-1)
    return -0.5 * (sol ** 2).sum(-1) - torch.log(torch.diagonal(chol)).sum() - 0.5 * d * LOG2PI


def mixture_log_prob(z: torch.Tensor, weights, means, covs) -> torch.Tensor:
    w = torch.as_tensor(weights, dtype=z.dtype)
    parts = [torch.log(w[k]) + gaussian_log_prob(z, torch.as_tensor(means[k], dtype=z.dtype),
                                                torch.as_tensor(covs[k], dtype=z.dtype)) for k in range(len(w))]
    return torch.logsumexp(torch.stack(parts), 0)


def banana_log_prob(z: torch.Tensor, curvature: float = 0.5) -> torch.Tensor:
    """A banana: z1 ~ N(0, 1.2^2), z2 | z1 ~ N(curvature (z1^2 - 1.44) - 1, 0.5^2) (normalized exactly)."""
    z1, z2 = z[:, 0], z[:, 1]
    log1 = -0.5 * (z1 / 1.2) ** 2 - math.log(1.2) - 0.5 * LOG2PI
    log2 = -0.5 * ((z2 - curvature * (z1 ** 2 - 1.44) + 1.0) / 0.5) ** 2 - math.log(0.5) - 0.5 * LOG2PI
    return log1 + log2


def kl_on_grid(log_a: torch.Tensor, log_b: torch.Tensor, area: float) -> torch.Tensor:
    """KL(a || b) = integral of a (log a - log b), by the midpoint rule; cells where a underflows add 0."""
    a = torch.exp(log_a)
    terms = torch.where(a > 0, a * (log_a - log_b), torch.zeros_like(a))
    return terms.sum() * area


COVER_STD = 6.0  # a density's window: each Gaussian part's mean +- 6 std (mass outside < 2e-8 a part)
BANANA_COVER = (-7.2, 7.2, -4.8, 27.4)  # banana_log_prob's: z1 +- 6 x 1.2, z2 over c (z1^2 - 1.44) - 1 +- 6 x 0.5


def gaussian_cover(means, covs, k: float = COVER_STD) -> tuple[float, float, float, float]:
    """The box holding each Gaussian part (means [K, 2], covs [K, 2, 2]) within k standard deviations."""
    m = np.asarray(means, np.float64).reshape(-1, 2)
    sd = np.sqrt(np.diagonal(np.asarray(covs, np.float64).reshape(-1, 2, 2), axis1=1, axis2=2))
    lo, hi = (m - k * sd).min(0), (m + k * sd).max(0)
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def union_extent(*extents) -> tuple[float, float, float, float]:
    return (min(e[0] for e in extents), max(e[1] for e in extents), min(e[2] for e in extents),
            max(e[3] for e in extents))


def kl_quadrature(log_a, log_b, extent, n: int = 256) -> torch.Tensor:
    """KL(a || b) for densities given as functions of points [N, 2], by the midpoint rule on an n x n grid over
    ``extent``, which must hold a (and, to be safe, b): a window cut to a view lost the mass outside it (the
    inference lab's moment-matched Gaussian showed 1.152 for a KL of 1.263 on [-6, 6]^2)."""
    grid = Grid2D(extent, n)
    return kl_on_grid(log_a(grid.points), log_b(grid.points), grid.area)


def moments_on_grid(log_p: torch.Tensor, grid: Grid2D) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and covariance of a density on the grid (normalized there)."""
    w = torch.exp(log_p) * grid.area
    w = w / w.sum()
    mean = (w[:, None] * grid.points).sum(0)
    diff = grid.points - mean
    return mean, (w[:, None, None] * diff[:, :, None] * diff[:, None, :]).sum(0)


class GaussianMixtureQ(nn.Module):
    """q(z) = sum_k pi_k N(z; m_k, L_k L_k^T) in 2-D (K = 1: one full-covariance Gaussian), for fits by
    gradient descent on quadrature KLs."""

    def __init__(self, k: int = 1, means=None, scale: float = 1.0, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        init = torch.as_tensor(means, dtype=torch.float64) if means is not None else \
            torch.randn(k, 2, generator=g, dtype=torch.float64) * 0.5
        self.means = nn.Parameter(init.clone().reshape(k, 2))
        self.log_diag = nn.Parameter(torch.full((k, 2), math.log(scale), dtype=torch.float64))
        self.off = nn.Parameter(torch.zeros(k, dtype=torch.float64))
        self.logits = nn.Parameter(torch.zeros(k, dtype=torch.float64))

    @property
    def k(self) -> int:
        return self.means.shape[0]

    def chol(self) -> torch.Tensor:
        L = torch.diag_embed(torch.exp(self.log_diag))
        L = L.clone()
        L[:, 1, 0] = self.off
        return L

    def covs(self) -> torch.Tensor:
        L = self.chol()
        return L @ L.transpose(1, 2)

    def weights(self) -> torch.Tensor:
        return torch.softmax(self.logits, 0)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        L = self.chol()
        logw = torch.log_softmax(self.logits, 0)
        parts = []
        for k in range(self.k):
            diff = (z - self.means[k]).unsqueeze(-1)
            sol = torch.linalg.solve_triangular(L[k], diff, upper=False).squeeze(-1)
            parts.append(logw[k] - 0.5 * (sol ** 2).sum(-1) - self.log_diag[k].sum() - LOG2PI)
        return torch.logsumexp(torch.stack(parts), 0)

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        w, m, c = self.weights(), self.means, self.covs()
        mean = (w[:, None] * m).sum(0)
        diff = m - mean
        return mean, (w[:, None, None] * (c + diff[:, :, None] * diff[:, None, :])).sum(0)


def gaussian_kl(m0, c0, m1, c1) -> float:
    """KL(N(m0, c0) || N(m1, c1)), closed form (numpy)."""
    m0, c0, m1, c1 = (np.asarray(v, np.float64) for v in (m0, c0, m1, c1))
    d = len(m0)
    inv1 = np.linalg.inv(c1)
    diff = m1 - m0
    return 0.5 * (np.trace(inv1 @ c0) + diff @ inv1 @ diff - d + math.log(np.linalg.det(c1) / np.linalg.det(c0)))


# -- EM on a 1-D mixture: the ELBO as a family of lower bounds -----------------------------------------------
def _log_normal(x: np.ndarray, mean) -> np.ndarray:
    return -0.5 * (x - mean) ** 2 - 0.5 * LOG2PI


class SymmetricMixture1D:
    """p(x; theta) = 1/2 N(x; theta, 1) + 1/2 N(x; -theta, 1) for data x: one parameter, exact log p(x; theta).
    The latent c_i says which component made x_i; q(c_i = 1) = r_i. The bound
    L(q; theta) = sum_i E_q[log p(x_i, c_i; theta)] + H(q) <= log p(x; theta), equal where q = p(c | x; theta)."""

    def __init__(self, x: np.ndarray):
        self.x = np.asarray(x, np.float64).ravel()

    def joint_terms(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """log 1/2 N(x_i; theta, 1) and log 1/2 N(x_i; -theta, 1): [len(theta), n] each."""
        t = np.atleast_1d(np.asarray(theta, np.float64))[:, None]
        return math.log(0.5) + _log_normal(self.x, t), math.log(0.5) + _log_normal(self.x, -t)

    def log_px(self, theta) -> np.ndarray:
        a, b = self.joint_terms(theta)
        return np.logaddexp(a, b).sum(-1)

    def posterior(self, theta: float) -> np.ndarray:
        """p(c_i = 1 | x_i; theta): the exact E step."""
        a, b = self.joint_terms(theta)
        return 1.0 / (1.0 + np.exp(b[0] - a[0]))

    def restricted_posterior(self, theta: float) -> np.ndarray:
        """The best q in a restricted family (variational EM): q(c_i = 1) may depend only on the sign of x_i,
        one value rho_s per side, while the posterior sigmoid(2 theta x_i) varies within each side.
        rho_s = sigmoid(mean over the side of (a_i - b_i)) maximizes the bound in that family."""
        a, b = self.joint_terms(theta)
        diff = a[0] - b[0]
        r = np.empty_like(self.x)
        for side in (self.x >= 0, self.x < 0):
            if side.any():
                r[side] = 1.0 / (1.0 + math.exp(-float(np.clip(np.mean(diff[side]), -500, 500))))
        return r

    def bound(self, theta, r: np.ndarray) -> np.ndarray:
        a, b = self.joint_terms(theta)
        r = np.clip(r, 1e-300, 1.0)
        s = np.clip(1.0 - r, 1e-300, 1.0)
        entropy = -(r * np.log(r) + s * np.log(s))
        return (r * a + (1.0 - r) * b + entropy).sum(-1)

    def m_step(self, r: np.ndarray) -> float:
        """argmax_theta L(q; theta): theta = mean_i (r_i - (1 - r_i)) x_i."""
        return float(np.mean((2.0 * r - 1.0) * self.x))


# -- CAVI, Gibbs and EM for the Bayesian mixture of unit-variance Gaussians (Blei et al. 2017, section 3) -------
def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


class BayesGMM:
    """mu_k ~ N(0, sigma2 I), c_i ~ Cat(1/K), x_i | c_i, mu ~ N(mu_{c_i}, I). Mean-field q(mu_k) = N(m_k, s2_k I),
    q(c_i) = Cat(phi_i); CAVI alternates the two blocks of closed-form updates; the ELBO is exact."""

    def __init__(self, x: np.ndarray, k: int, sigma2: float = 25.0, seed: int = 0):
        self.x = np.asarray(x, np.float64)
        self.n, self.d = self.x.shape
        self.k, self.sigma2 = int(k), float(sigma2)
        rng = np.random.default_rng(seed)
        self.m = self.x[rng.choice(self.n, self.k, replace=False)] + rng.normal(0, 0.1, (self.k, self.d))
        self.s2 = np.ones(self.k)
        self.phi = np.full((self.n, self.k), 1.0 / self.k)
        self._xx = (self.x ** 2).sum(1)

    def update_phi(self) -> None:
        """phi_ik ∝ exp(m_k^T x_i - (d s2_k + m_k^T m_k) / 2)."""
        self.phi = _softmax_rows(self.x @ self.m.T - 0.5 * (self.d * self.s2 + (self.m ** 2).sum(1)))

    def update_mu(self) -> None:
        """m_k = sum_i phi_ik x_i / (1/sigma2 + sum_i phi_ik); s2_k = 1 / (1/sigma2 + sum_i phi_ik)."""
        nk = self.phi.sum(0)
        prec = 1.0 / self.sigma2 + nk
        self.m = (self.phi.T @ self.x) / prec[:, None]
        self.s2 = 1.0 / prec

    def elbo(self) -> float:
        d, k, n = self.d, self.k, self.n
        mm = (self.m ** 2).sum(1)
        e_log_prior_mu = (-0.5 * d * math.log(2 * math.pi * self.sigma2) - (mm + d * self.s2) / (2 * self.sigma2)).sum()
        e_log_prior_c = -n * math.log(k)
        e_sq = self._xx[:, None] - 2 * self.x @ self.m.T + mm[None, :] + d * self.s2[None, :]
        e_log_lik = (self.phi * (-0.5 * d * LOG2PI - 0.5 * e_sq)).sum()
        entropy_mu = (0.5 * d * (1 + np.log(2 * math.pi * self.s2))).sum()
        phi = np.clip(self.phi, 1e-300, 1.0)
        entropy_c = -(self.phi * np.log(phi)).sum()
        return float(e_log_prior_mu + e_log_prior_c + e_log_lik + entropy_mu + entropy_c)


class GibbsGMM:
    """The same model by Gibbs sampling: c_i | mu, x and mu_k | c, x in turn (both conjugate)."""

    def __init__(self, x: np.ndarray, k: int, sigma2: float = 25.0, seed: int = 0, init=None,
                 rng: np.random.Generator | None = None):
        self.x = np.asarray(x, np.float64)
        self.n, self.d = self.x.shape
        self.k, self.sigma2 = int(k), float(sigma2)
        self.rng = rng if rng is not None else np.random.default_rng(seed + 1)
        self.mu = np.array(init, np.float64) if init is not None else self.x[self.rng.choice(self.n, k, replace=False)]
        self.c = np.zeros(self.n, np.int64)
        self.sweep_c()

    def sweep_c(self) -> None:
        p = _softmax_rows(self.x @ self.mu.T - 0.5 * (self.mu ** 2).sum(1))
        u = self.rng.random((self.n, 1))
        self.c = np.minimum((p.cumsum(1) < u).sum(1), self.k - 1)

    def sweep_mu(self) -> None:
        nk = np.bincount(self.c, minlength=self.k).astype(np.float64)
        sums = np.zeros((self.k, self.d))
        np.add.at(sums, self.c, self.x)
        prec = 1.0 / self.sigma2 + nk
        self.mu = sums / prec[:, None] + self.rng.normal(size=(self.k, self.d)) / np.sqrt(prec)[:, None]

    def log_joint(self) -> float:
        """log p(x, c, mu) of the current state."""
        d = self.d
        prior = (-0.5 * d * math.log(2 * math.pi * self.sigma2) - (self.mu ** 2).sum(1) / (2 * self.sigma2)).sum()
        lik = (-0.5 * d * LOG2PI - 0.5 * ((self.x - self.mu[self.c]) ** 2).sum(1)).sum()
        return float(prior - self.n * math.log(self.k) + lik)


class MapEMGMM:
    """The same model by EM for the MAP means: responsibilities, then mu_k = sum_i r_ik x_i / (1/sigma2 + sum_i r_ik);
    log p(x, mu) never decreases."""

    def __init__(self, x: np.ndarray, k: int, sigma2: float = 25.0, init=None):
        self.x = np.asarray(x, np.float64)
        self.n, self.d = self.x.shape
        self.k, self.sigma2 = int(k), float(sigma2)
        self.mu = np.array(init, np.float64)
        self.r = np.full((self.n, self.k), 1.0 / self.k)

    def e_step(self) -> None:
        self.r = _softmax_rows(self.x @ self.mu.T - 0.5 * (self.mu ** 2).sum(1))

    def m_step(self) -> None:
        self.mu = (self.r.T @ self.x) / (1.0 / self.sigma2 + self.r.sum(0))[:, None]

    def log_posterior(self) -> float:
        """log p(x, mu) = log p(mu) + sum_i log sum_k (1/K) N(x_i; mu_k, I)."""
        d = self.d
        prior = (-0.5 * d * math.log(2 * math.pi * self.sigma2) - (self.mu ** 2).sum(1) / (2 * self.sigma2)).sum()
        sq = ((self.x[:, None, :] - self.mu[None]) ** 2).sum(-1)
        comp = -0.5 * d * LOG2PI - 0.5 * sq - math.log(self.k)
        top = comp.max(1, keepdims=True)
        lik = (top[:, 0] + np.log(np.exp(comp - top).sum(1))).sum()
        return float(prior + lik)


# -- mean-field on a correlated Gaussian (Bishop fig. 10.2) ------------------------------------------------------
class MeanFieldGaussian:
    """p(z) = N(mu, Sigma) in 2-D. The factorized q(z) = q1(z1) q2(z2) that minimizes KL(q || p) has
    q_j = N(m_j, 1 / Lambda_jj) (Lambda = Sigma^-1) and m_j = mu_j - (Lambda_jk / Lambda_jj)(m_k - mu_k):
    coordinate ascent converges to m = mu, variances too small. The one minimizing KL(p || q) is the
    product of the marginals, N(mu_j, Sigma_jj)."""

    def __init__(self, mu, sigma, start=(-2.0, 2.0)):
        self.mu = np.asarray(mu, np.float64)
        self.sigma = np.asarray(sigma, np.float64)
        self.lam = np.linalg.inv(self.sigma)
        self.m = np.asarray(start, np.float64).copy()
        self.next = 0  # which factor the next coordinate update changes

    @property
    def reverse_var(self) -> np.ndarray:
        return 1.0 / np.diag(self.lam)

    @property
    def forward_var(self) -> np.ndarray:
        return np.diag(self.sigma).copy()

    def update(self) -> int:
        j, k = self.next, 1 - self.next
        self.m[j] = self.mu[j] - self.lam[j, k] / self.lam[j, j] * (self.m[k] - self.mu[k])
        self.next = k
        return j

    def kl_reverse(self) -> float:
        """KL(q || p) of the current q."""
        return gaussian_kl(self.m, np.diag(self.reverse_var), self.mu, self.sigma)

    def kls(self) -> dict:
        q_rev = (self.mu, np.diag(self.reverse_var))
        q_fwd = (self.mu, np.diag(self.forward_var))
        p = (self.mu, self.sigma)
        return {"rev_fit_kl_qp": gaussian_kl(*q_rev, *p), "rev_fit_kl_pq": gaussian_kl(*p, *q_rev),
                "fwd_fit_kl_qp": gaussian_kl(*q_fwd, *p), "fwd_fit_kl_pq": gaussian_kl(*p, *q_fwd)}
