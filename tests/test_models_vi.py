"""Variational inference against exact values: quadrature KLs against closed forms and Monte Carlo,
CAVI's ELBO never decreasing and reaching the conjugate posterior (and the evidence) with one
component, EM never decreasing log p(x; theta) with bounds that touch it, and the mean-field fixed
point of a correlated Gaussian equal to Bishop's closed form."""
import math

import numpy as np
import pytest
import torch

from genviz.models.vi import (BayesGMM, GaussianMixtureQ, GibbsGMM, Grid2D, MapEMGMM, MeanFieldGaussian,
                              SymmetricMixture1D, banana_log_prob, gaussian_kl, gaussian_log_prob, kl_on_grid,
                              mixture_log_prob, moments_on_grid)

GRID = Grid2D((-7, 7, -7, 7), 220)


def test_quadrature_kl_matches_the_closed_form_for_gaussians():
    pairs = [((0.0, 0.0), [[1.0, 0.0], [0.0, 1.0]], (1.0, -0.5), [[2.0, 0.6], [0.6, 0.8]]),
             ((-1.0, 1.0), [[0.3, -0.1], [-0.1, 0.5]], (0.5, 0.0), [[1.5, 0.0], [0.0, 1.5]])]
    for m0, c0, m1, c1 in pairs:
        la = gaussian_log_prob(GRID.points, torch.tensor(m0, dtype=torch.float64), torch.tensor(c0, dtype=torch.float64))
        lb = gaussian_log_prob(GRID.points, torch.tensor(m1, dtype=torch.float64), torch.tensor(c1, dtype=torch.float64))
        assert float(kl_on_grid(la, lb, GRID.area)) == pytest.approx(gaussian_kl(m0, c0, m1, c1), abs=2e-3)
        assert float(kl_on_grid(lb, la, GRID.area)) == pytest.approx(gaussian_kl(m1, c1, m0, c0), abs=2e-3)


def test_quadrature_kl_of_mixtures_agrees_with_monte_carlo():
    w, means, covs = [0.3, 0.7], [(-2.0, 0.0), (1.5, 1.0)], [np.eye(2) * 0.5, [[0.8, 0.3], [0.3, 0.6]]]
    q = GaussianMixtureQ(2, means=[(-1.0, 0.5), (1.0, 0.0)], scale=0.9)
    with torch.no_grad():
        lp = mixture_log_prob(GRID.points, w, means, covs)
        exact = float(kl_on_grid(q.log_prob(GRID.points), lp, GRID.area))
        # Monte Carlo from q: pick a component, then a Gaussian draw
        g = torch.Generator().manual_seed(0)
        n = 200_000
        comp = torch.multinomial(q.weights(), n, replacement=True, generator=g)
        eps = torch.randn(n, 2, generator=g, dtype=torch.float64)
        z = q.means[comp] + (q.chol()[comp] @ eps.unsqueeze(-1)).squeeze(-1)
        terms = q.log_prob(z) - mixture_log_prob(z, w, means, covs)
    se = float(terms.std()) / math.sqrt(n)
    assert abs(exact - float(terms.mean())) < 4 * se + 1e-3, (exact, float(terms.mean()), se)
    assert float(torch.exp(lp).sum() * GRID.area) == pytest.approx(1.0, abs=1e-4)
    assert float(torch.exp(banana_log_prob(GRID.points)).sum() * GRID.area) == pytest.approx(1.0, abs=1e-3)


def test_forward_kl_fit_of_one_gaussian_matches_the_moments():
    """argmin_q KL(p || q) over Gaussians is moment matching: the fit by gradient descent on the
    quadrature KL lands on p's mean and covariance (computed by quadrature)."""
    lp = mixture_log_prob(GRID.points, [0.5, 0.5], [(-2.0, 0.0), (2.0, 1.0)], [np.eye(2) * 0.4] * 2)
    q = GaussianMixtureQ(1, means=[(0.5, -0.5)])
    opt = torch.optim.Adam(q.parameters(), lr=0.05)
    for _ in range(600):
        opt.zero_grad()
        loss = kl_on_grid(lp, q.log_prob(GRID.points), GRID.area)
        loss.backward()
        opt.step()
    mean, cov = moments_on_grid(lp, GRID)
    qm, qc = q.moments()
    assert torch.allclose(qm, mean, atol=2e-3) and torch.allclose(qc, cov, atol=1e-2)


def blobs(seed: int, n: int = 60, k: int = 3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (k, 2))
    return centres[rng.integers(0, k, n)] + rng.normal(size=(n, 2))


def test_cavi_never_decreases_the_elbo():
    for seed in range(40):
        x = blobs(seed)
        model = BayesGMM(x, k=int(1 + seed % 5), sigma2=float(1 + seed % 7) ** 2, seed=seed)
        last = model.elbo()
        for step in range(30):
            model.update_phi() if step % 2 == 0 else model.update_mu()
            now = model.elbo()
            assert now >= last - 1e-8 * abs(last), (seed, step, last, now)
            last = now


def test_cavi_with_one_component_is_the_conjugate_posterior_and_its_elbo_the_evidence():
    x = blobs(3, n=25, k=1)
    sigma2 = 4.0
    model = BayesGMM(x, k=1, sigma2=sigma2)
    model.update_phi()
    model.update_mu()
    n = len(x)
    assert np.allclose(model.m[0], x.sum(0) / (1 / sigma2 + n)) and model.s2[0] == pytest.approx(1 / (1 / sigma2 + n))
    # log p(x) = log N(x_bar-free form): integrate mu out of N(mu; 0, s2 I) prod_i N(x_i; mu, I)
    d = 2
    cov = np.eye(n) + sigma2 * np.ones((n, n))  # each coordinate: x_{.j} ~ N(0, I + sigma2 11^T)
    sign, logdet = np.linalg.slogdet(cov)
    evidence = sum(-0.5 * (x[:, j] @ np.linalg.solve(cov, x[:, j])) - 0.5 * logdet - 0.5 * n * math.log(2 * math.pi)
                   for j in range(d))
    assert model.elbo() == pytest.approx(evidence, abs=1e-8)


def test_em_never_decreases_the_likelihood_and_its_bounds_touch_it():
    thetas = np.linspace(-4, 4, 161)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n = 40
        x = np.where(rng.random(n) < 0.5, 1, -1) * rng.uniform(0.5, 3) + rng.normal(size=n)
        model = SymmetricMixture1D(x)
        theta = float(rng.uniform(-3, 3))
        last = float(model.log_px(theta)[0])
        for _ in range(15):
            r = model.posterior(theta)
            bound = model.bound(thetas, r)
            assert (bound <= model.log_px(thetas) + 1e-9).all()  # a lower bound everywhere
            assert float(model.bound(theta, r)[0]) == pytest.approx(float(model.log_px(theta)[0]), abs=1e-9)
            theta = model.m_step(r)
            now = float(model.log_px(theta)[0])
            assert now >= last - 1e-9
            last = now
        # the restricted family (one q for every point) leaves a gap
        rho = model.restricted_posterior(theta)
        assert float(model.bound(theta, rho)[0]) < float(model.log_px(theta)[0]) - 1e-6


def test_map_em_and_gibbs_run_on_the_same_model():
    x = blobs(5, n=80)
    em = MapEMGMM(x, 3, init=x[:3])
    last = em.log_posterior()
    for _ in range(20):
        em.e_step()
        em.m_step()
        now = em.log_posterior()
        assert now >= last - 1e-9
        last = now
    gibbs = GibbsGMM(x, 3, seed=1)
    for _ in range(50):
        gibbs.sweep_mu()
        gibbs.sweep_c()
    assert np.isfinite(gibbs.log_joint()) and gibbs.c.min() >= 0 and gibbs.c.max() < 3


def test_mean_field_fixed_point_is_bishops_closed_form():
    mu = np.array([1.0, -0.5])
    sd, rho = np.array([1.5, 1.0]), 0.85
    sigma = np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]])
    mf = MeanFieldGaussian(mu, sigma, start=(-3.0, 3.0))
    kls = [mf.kl_reverse()]
    for _ in range(200):
        mf.update()
        kls.append(mf.kl_reverse())
    assert np.allclose(mf.m, mu, atol=1e-9) and all(b <= a + 1e-12 for a, b in zip(kls, kls[1:]))
    lam = np.linalg.inv(sigma)
    assert np.allclose(mf.reverse_var, 1 / np.diag(lam)) and np.allclose(mf.reverse_var, np.diag(sigma) * (1 - rho ** 2))
    assert np.allclose(mf.forward_var, np.diag(sigma))
    # no other factorized Gaussian has a smaller KL(q || p), nor a smaller KL(p || q) for the forward fit
    kl = mf.kls()
    rng = np.random.default_rng(0)
    for _ in range(50):
        v = mf.reverse_var * np.exp(rng.normal(0, 0.3, 2))
        m = mu + rng.normal(0, 0.3, 2)
        assert gaussian_kl(m, np.diag(v), mu, sigma) >= kl["rev_fit_kl_qp"] - 1e-12
        v = mf.forward_var * np.exp(rng.normal(0, 0.3, 2))
        assert gaussian_kl(mu, sigma, m, np.diag(v)) >= kl["fwd_fit_kl_pq"] - 1e-12
