"""VAE math against exact values: closed-form KL, ELBO <= log p(x) with equality at the true
posterior (linear-Gaussian model, where p(x) is known), IWAE monotonicity, GUI-side decoding."""
import math

import numpy as np
import pytest
import torch

from genviz.core.mosaic import tile
from genviz.vae.decode import decode_numpy, manifold_coords, normal_ppf
from genviz.models.vae import VAE, active_units, kl_standard_normal


def test_closed_form_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(3, 4, generator=g, dtype=torch.float64)
    logvar = torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.5
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((400_000,))
    log_ratio = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(len(z))
    exact = kl_standard_normal(mu, logvar).sum(-1)
    assert torch.all((mc - exact).abs() < 4 * se + 1e-3), (mc, exact, se)
    # and torch.distributions agrees exactly
    assert torch.allclose(exact, torch.distributions.kl_divergence(q, p).sum(-1))


def linear_gaussian_vae(sigma=0.5, exact_posterior=True):
    """p(z) = N(0, I), p(x|z) = N(Wz + b, sigma^2 I) with orthogonal columns of W, so the true
    posterior is a diagonal Gaussian the encoder can represent exactly."""
    torch.manual_seed(0)
    d_x = 5
    q, _ = torch.linalg.qr(torch.randn(d_x, 2, dtype=torch.float64))
    w = q * torch.tensor([2.0, 0.7], dtype=torch.float64)
    b = torch.linspace(-0.3, 0.4, d_x, dtype=torch.float64)
    vae = VAE(d_x, latent=2, hidden=(), likelihood="gaussian", sigma=sigma).double()
    post_cov = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + w.T @ w / sigma**2)
    a = post_cov @ w.T / sigma**2
    with torch.no_grad():
        vae.decoder[0].weight.copy_(w)
        vae.decoder[0].bias.copy_(b)
        enc = vae.encoder[0]
        enc.weight.zero_()
        enc.weight[:2] = a
        enc.bias[:2] = -(a @ b)
        enc.bias[2:] = torch.log(torch.diagonal(post_cov))
        if not exact_posterior:
            enc.weight[:2] *= 0.6
            enc.bias[2:] += 0.8
    log_px = torch.distributions.MultivariateNormal(b, w @ w.T + sigma**2 * torch.eye(d_x, dtype=torch.float64))
    return vae, log_px


def test_elbo_equals_log_px_at_the_true_posterior():
    vae, px = linear_gaussian_vae()
    x = px.sample((4,))
    torch.manual_seed(3)
    elbo = vae.elbo(x, n_samples=40_000)
    assert torch.allclose(elbo, px.log_prob(x), atol=0.02), (elbo, px.log_prob(x))


def test_elbo_is_below_log_px_for_a_worse_posterior():
    vae, px = linear_gaussian_vae(exact_posterior=False)
    x = px.sample((6,))
    elbo = vae.elbo(x, n_samples=40_000)
    gap = px.log_prob(x) - elbo
    assert torch.all(gap > 0.05), gap  # a strict gap: KL(q || p(z|x)) > 0


def test_iwae_bounds_rise_with_k_towards_log_px():
    vae, px = linear_gaussian_vae(exact_posterior=False)
    x = px.sample((3,))
    torch.manual_seed(5)
    bounds = [torch.stack([vae.iwae_bound(x, k=k) for _ in range(400 // k + 50)]).mean(0) for k in (1, 10, 100)]
    log_px = px.log_prob(x)
    assert torch.all(bounds[0] < bounds[1]) and torch.all(bounds[1] < bounds[2])
    assert torch.all(bounds[2] <= log_px + 0.03)  # a bound, up to Monte Carlo error
    assert torch.all(log_px - bounds[2] < log_px - bounds[0])


def test_iwae_is_exact_at_the_true_posterior():
    vae, px = linear_gaussian_vae()
    x = px.sample((3,))
    assert torch.allclose(vae.iwae_bound(x, k=5), px.log_prob(x), atol=1e-8)


def test_reparameterized_gradient_flows_to_the_encoder():
    vae = VAE(16, latent=2, hidden=(8,))
    loss, _ = vae.loss(torch.rand(4, 16))
    loss.backward()
    assert vae.encoder[0].weight.grad.abs().sum() > 0
    assert vae.encode(torch.rand(2, 16)).has_rsample


def test_active_units_counts_varying_dimensions():
    g = torch.Generator().manual_seed(0)
    mu = torch.cat([torch.randn(500, 2, generator=g), 0.01 * torch.randn(500, 3, generator=g)], 1)
    n, var = active_units(mu)
    assert n == 2 and var.shape == (5,)


def test_numpy_decoder_matches_torch():
    for likelihood in ("bernoulli", "gaussian"):
        for act in ("relu", "tanh", "softplus", "elu"):
            vae = VAE(36, latent=3, hidden=(20, 10), activation=act, likelihood=likelihood)
            z = torch.randn(7, 3)
            ref = vae.decode_mean(z).detach().numpy()
            got = decode_numpy(vae.decoder_layers(), z.numpy(), act, likelihood)
            np.testing.assert_allclose(got, ref, atol=1e-5)


def test_normal_ppf_matches_torch_icdf():
    p = np.linspace(0.001, 0.999, 999)
    ref = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(p, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(normal_ppf(p), ref, atol=1e-8)
    c = manifold_coords(5)
    assert c[2] == pytest.approx(0.0, abs=1e-12) and c[0] == pytest.approx(-1.6448536, abs=1e-6)


def test_tile_places_row_zero_on_top():
    imgs = np.arange(4, dtype=float)[:, None, None] * np.ones((4, 2, 3))
    m = tile(imgs, 2, 2, pad=1, fill=-1)
    assert m.shape == (5, 7)
    assert m[0, 0] == 0 and m[0, 4] == 1 and m[3, 0] == 2 and m[4, 6] == 3 and m[2, 0] == -1
