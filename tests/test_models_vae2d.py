"""The 2-D VAE (genviz.models.vae2d) against closed forms: a linear-Gaussian decoder has p(x) = N(b, AAᵀ + s²I) and a
Gaussian posterior, so the quadrature, the IWAE bound and the ELBO have exact answers; and the lab trains to a VAE
whose bound rises above one Gaussian's."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from genviz.core.labs import get_lab, import_object
from genviz.core.settings import resolve
from genviz.models.vae2d import PointVAE

A = torch.tensor([[1.5, 0.0], [0.0, 0.6]])  # orthogonal columns: the posterior's covariance is diagonal
B = torch.tensor([0.3, -0.2])
S = 0.4


def linear_vae(exact_encoder: bool) -> PointVAE:
    """p(x|z) = N(Az + b, S² I); with ``exact_encoder`` q(z|x) is the exact posterior."""
    vae = PointVAE(8, scale=1.0)
    dec = nn.Linear(2, 4)
    with torch.no_grad():
        dec.weight.zero_()
        dec.weight[:2] = A
        dec.bias[:2] = B
        dec.bias[2:] = math.log(S)
    vae.decoder = dec
    if exact_encoder:
        cov = torch.linalg.inv(torch.eye(2) + A.T @ A / S ** 2)  # diagonal
        gain = cov @ A.T / S ** 2  # mu = gain (x − b)
        enc = nn.Linear(2, 4)
        with torch.no_grad():
            enc.weight.zero_()
            enc.weight[:2] = gain
            enc.bias[:2] = -gain @ B
            enc.bias[2:] = 0.5 * torch.log(torch.diagonal(cov))
        vae.encoder = enc
    return vae


def marginal() -> torch.distributions.MultivariateNormal:
    return torch.distributions.MultivariateNormal(B.double(), (A @ A.T).double() + S ** 2 * torch.eye(2).double())


def test_the_quadrature_is_the_closed_form_marginal():
    vae = linear_vae(False)
    x = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-3.0, 0.5], [4.0, 1.0]])
    assert torch.allclose(vae.exact_log_prob(x), marginal().log_prob(x.double()), atol=1e-6)


def test_with_the_exact_posterior_every_importance_weight_is_p_of_x():
    vae = linear_vae(True)
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 2
    lw = vae.log_weights(x, 7, torch.Generator().manual_seed(1))
    assert torch.allclose(lw.double(), marginal().log_prob(x.double()).expand(7, -1), atol=1e-4)


def test_the_iwae_bound_tightens_with_k_and_stays_below_log_p():
    vae = linear_vae(False)  # a poor encoder: the bound is loose
    with torch.no_grad():
        vae.encoder[-1].bias.fill_(0.0)
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(2))
    exact = marginal().log_prob(x.double())
    gaps = []
    for k in (1, 10, 100, 1000):
        d = (vae.iwae_log_prob(x, k, torch.Generator().manual_seed(3)).double() - exact)
        gaps.append((float(d.mean()), float(d.std() / math.sqrt(len(d)))))
    means = [g for g, _ in gaps]
    assert means == sorted(means) and means[-1] < 3 * gaps[-1][1] and means[0] < -0.1


def test_samples_follow_the_marginal():
    vae = linear_vae(False)
    x = vae.sample(40000, torch.Generator().manual_seed(4)).double()
    cov = (A @ A.T).double() + S ** 2 * torch.eye(2).double()
    assert torch.allclose(x.mean(0), B.double(), atol=4 * math.sqrt(float(cov.max()) / 40000))
    assert torch.allclose(torch.cov(x.T), cov, rtol=0.03, atol=0.02)


def test_the_lab_learns_more_than_one_gaussian_and_its_bounds_are_ordered():
    info = get_lab("vae2d")
    exp = import_object(info.experiment)(resolve(info.settings, {"data": "ring8", "warmup": 1000}), seed=0)
    for _ in range(2500):
        exp.advance()
    b = exp.test_bounds(1000)
    spread = np.sqrt(exp.toy.sample(4000, np.random.default_rng(0)).var(0))
    one_gaussian = float(np.sum(-np.log(spread) - 0.5 * math.log(2 * math.pi * math.e)))  # its best log-likelihood
    assert b["test_iwae"] > one_gaussian + 1.0  # the decoder uses z: well above the Gaussian fit (≈ −2.14)
    assert b["iwae_gain"] > 3 * b["iwae_gain_se"]  # IWAE above the ELBO
    exact = float(exp.model.exact_log_prob(exp.test[:40]).mean())
    iwae40 = float(exp.model.iwae_log_prob(exp.test[:40], 1000, torch.Generator().manual_seed(5)).mean())
    assert iwae40 <= exact + 0.05


def test_the_warm_up_weight_rises_to_one():
    info = get_lab("vae2d")
    exp = import_object(info.experiment)(resolve(info.settings, {"warmup": 4, "hidden": 8}), seed=0)
    betas = [exp.advance()["beta"] for _ in range(6)]
    assert betas == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])
