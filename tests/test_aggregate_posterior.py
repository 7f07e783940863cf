"""The aggregate posterior (genviz.vae.aggregate) against exact values: one point's mixture is that point's q, so
KL(q(z) ‖ p(z)) is the closed-form KL and the mutual information 0; identical points carry no information; the
projected density integrates to 1 and matches torch.distributions; the SEs cover."""
import math

import numpy as np
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from genviz.vae.aggregate import aggregate_log_density, density_grid, marginal_kl


def test_one_point_is_its_own_aggregate():
    mu, logvar = torch.tensor([[0.7, -1.2, 0.3]]), torch.tensor([[-0.5, 0.2, -1.0]])
    closed = float(0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum())
    r = marginal_kl(mu, logvar, 20000, torch.Generator().manual_seed(0))
    assert abs(r["marginal_kl"] - closed) < 4 * r["marginal_kl_se"]
    assert abs(r["mean_kl_exact"] - closed) < 1e-6 and abs(r["mean_kl"] - closed) < 4 * r["mean_kl_se"]
    assert abs(r["mutual_info"]) < 1e-9 and r["mutual_info_max"] == 0.0
    assert r["mean_kl"] == r["mutual_info"] + r["marginal_kl"] or \
        abs(r["mean_kl"] - r["mutual_info"] - r["marginal_kl"]) < 1e-9


def test_identical_points_carry_no_information_and_distinct_ones_up_to_log_n():
    mu = torch.zeros(50, 2) + torch.tensor([1.0, -0.5])
    r = marginal_kl(mu, torch.full((50, 2), -1.0), 5000, torch.Generator().manual_seed(1))
    assert abs(r["mutual_info"]) < 1e-9
    far = torch.arange(8.0)[:, None].repeat(1, 2) * 20  # 8 far-apart narrow posteriors: I = log 8 exactly
    r = marginal_kl(far, torch.full((8, 2), -4.0), 4000, torch.Generator().manual_seed(2))
    assert abs(r["mutual_info"] - math.log(8)) < 1e-6


def test_aggregate_density_matches_torch_and_the_kl_se_covers():
    g = torch.Generator().manual_seed(3)
    mu, logvar = torch.randn(40, 2, generator=g), torch.randn(40, 2, generator=g) * 0.3 - 1.0
    mix = MixtureSameFamily(Categorical(torch.ones(40, dtype=torch.float64)),
                            Independent(Normal(mu.double(), (0.5 * logvar.double()).exp()), 1))
    z = torch.randn(300, 2, dtype=torch.float64) * 2
    assert torch.allclose(aggregate_log_density(z, mu, logvar), mix.log_prob(z), atol=1e-9)
    # the truth by a huge sample; 20 small estimates scatter around it as their SEs say
    big = mix.sample((400000,))
    truth = float((mix.log_prob(big) + 0.5 * (big ** 2).sum(-1) + math.log(2 * math.pi)).mean())
    zs = []
    for seed in range(20):
        r = marginal_kl(mu, logvar, 2000, torch.Generator().manual_seed(100 + seed))
        zs.append((r["marginal_kl"] - truth) / r["marginal_kl_se"])
    zs = np.array(zs)
    assert abs(zs.mean()) < 0.7 and 0.5 < zs.std() < 1.6, zs


def test_projected_density_integrates_to_one():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(30, 2))
    a = rng.normal(size=(30, 2, 2)) * 0.3
    cov2 = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(2)
    dens = density_grid(points, cov2, (-6, 6, -6, 6), 241)
    assert abs(dens.sum() * (12 / 240) ** 2 - 1.0) < 0.01
    # at a grid node (row 120 = y 0, column 140 = x 1) it is the mean of the 30 Gaussians' densities there
    node = torch.tensor([1.0, 0.0], dtype=torch.float64)
    want = np.mean([float(torch.distributions.MultivariateNormal(torch.from_numpy(p), torch.from_numpy(c))
                          .log_prob(node).exp()) for p, c in zip(points, cov2)])
    assert abs(float(dens[120, 140]) - want) < 1e-5 * max(want, 1.0)
