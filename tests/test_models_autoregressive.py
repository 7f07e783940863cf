"""The autoregressive models against exact values: log_prob sums to 1 over every binary vector, each
conditional depends only on the dimensions before it (by the Jacobian), PixelCNN's blind spot and the
gated stacks without it, and samples that agree with log_prob."""
import itertools
import math

import numpy as np
import pytest
import torch

from genviz.models.autoregressive import (MADE, NADE, GatedPixelCNN, PixelCNN, bits_per_dim, blind_spot, make_order,
                                          receptive_field)

H, W = 3, 4  # D = 12: 4,096 binary images, enumerated


def every_vector(D: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=D)), dtype=torch.float64)


def spread(model, scale: float = 1.5):
    """Random weights large enough that the distribution is far from uniform."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale / math.sqrt(max(1, p[0].numel())))
    return model


def models(h: int = H, w: int = W):
    D = h * w
    return {
        "nade": spread(NADE(D, hidden=8).double()),
        "nade-random-order": spread(NADE(D, hidden=8, order=make_order(D, "random", seed=1)).double()),
        "made": spread(MADE(D, hidden=(16, 16)).double()),
        "made-random-orders": spread(MADE(D, hidden=(16, 16), masks=3, order="random", seed=2).double()),
        "pixelcnn": spread(PixelCNN(h, w, channels=4, layers=2).double()),
        "gated": spread(GatedPixelCNN(h, w, channels=4, layers=3).double()),
    }


@pytest.mark.parametrize("name", list(models()))
def test_log_prob_sums_to_one_over_all_binary_images(name):
    model = models()[name]
    x = every_vector(H * W)
    with torch.no_grad():
        lp = model.log_prob(x)
        assert lp.shape == (4096,) and torch.isfinite(lp).all()
        assert abs(float(torch.logsumexp(lp, 0))) < 1e-9
        assert float(lp.max() - lp.min()) > 2  # not the uniform distribution: the test has teeth
        if isinstance(model, MADE) and model.n_masks > 1:
            for k in range(model.n_masks):  # each ordering alone, and their ensemble
                model.use_mask(k)
                assert abs(float(torch.logsumexp(model.log_prob(x), 0))) < 1e-9
            ens = model.log_prob(x, ensemble=True)
            assert abs(float(torch.logsumexp(ens, 0))) < 1e-9


@pytest.mark.parametrize("name", list(models()))
def test_each_conditional_depends_only_on_the_dimensions_before_it(name):
    model = models()[name]
    D = H * W
    x = torch.bernoulli(torch.full((8, D), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    orders = range(model.n_masks) if isinstance(model, MADE) else [None]
    for k in orders:
        if k is not None:
            model.use_mask(k)
        rank = torch.empty(D, dtype=torch.long)
        rank[model.order] = torch.arange(D)
        for d in range(D):
            g = receptive_field(model, x, d)
            later = (rank >= rank[d]).numpy()
            assert (g[later] == 0).all(), (name, k, d)
        # and the first dimension in the order depends on nothing; the last on something
        assert (receptive_field(model, x, int(model.order[0])) == 0).all()
        assert receptive_field(model, x, int(model.order[-1])).sum() > 0


def test_pixelcnn_has_a_blind_spot_and_the_gated_stacks_do_not():
    torch.manual_seed(0)
    h = w = 8
    x = torch.bernoulli(torch.full((16, h * w), 0.5, dtype=torch.float64))
    d = 5 * w + 3  # output pixel (5, 3)
    plain = receptive_field(PixelCNN(h, w, channels=16, layers=3).double(), x, d).reshape(h, w)
    gated = receptive_field(GatedPixelCNN(h, w, channels=16, layers=4).double(), x, d).reshape(h, w)
    # the 7x7 mask-A layer and three 3x3 mask-B layers reach 6 columns right in the rows above, yet
    # pixel (4, 7), one row up and four to the right, never reaches (5, 3): the blind spot
    assert plain[4, 7] == 0 and plain[3, 7] > 0 and plain[4, 6] > 0
    # the gated stacks see every pixel above in reach (all of rows 0-4 here) and the row so far
    assert (gated[:5] > 0).all() and (gated[5, :3] > 0).all() and (gated[5, 3:] == 0).all()


def test_the_blind_spot_count_is_the_unseen_pixels_within_reach():
    """On 28x28 at the lab's probe pixel (18, 7): PixelCNN (a 7x7 mask-A layer and five 3x3 layers) misses the
    15-pixel triangle up and to the right of its 8-row reach; the gated stacks miss none, however many pixels
    above lie beyond their reach (the title once read '413 blind above' for the gated stack)."""
    torch.manual_seed(0)
    h = w = 28
    d = (2 * h // 3) * w + w // 4
    x = torch.bernoulli(torch.full((8, h * w), 0.5))
    plain = receptive_field(PixelCNN(h, w), x, d)
    gated = receptive_field(GatedPixelCNN(h, w), x, d)
    assert blind_spot(plain, (h, w), d) == 15  # rows 1..5 up: 5 + 4 + 3 + 2 + 1
    assert blind_spot(gated, (h, w), d) == 0
    assert int((plain.reshape(h, w)[:18] == 0).sum()) == 391  # what the old title counted


@pytest.mark.parametrize("name", list(models(2, 2)))
def test_samples_agree_with_log_prob(name):
    model = models(2, 2)[name]
    n = 40000
    x = model.sample(n, generator=torch.Generator().manual_seed(5))
    assert x.shape == (n, 4) and set(np.unique(x.numpy())) <= {0.0, 1.0}
    codes = (x.numpy() @ np.array([8, 4, 2, 1])).astype(int)
    observed = np.bincount(codes, minlength=16)
    expected = n * np.exp(model.log_prob(every_vector(4)).detach().numpy())
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < 37.7, (name, chi2)  # the 99.9 % point of chi-square with 15 degrees of freedom


def test_completion_keeps_the_given_pixels_and_nade_sampling_matches_the_generic_loop():
    model = models()["nade"]
    D = H * W
    given = torch.zeros(D, dtype=torch.bool)
    given[: D // 2] = True  # the top half, which comes first in raster order
    image = torch.bernoulli(torch.full((D,), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    out = model.sample(5, generator=torch.Generator().manual_seed(2), fixed=image, mask=given)
    assert (out[:, given] == image[given]).all()
    steps = []
    fast = model.sample(7, generator=torch.Generator().manual_seed(4), steps=steps)
    slow = super(NADE, model).sample(7, generator=torch.Generator().manual_seed(4))
    assert torch.equal(fast, slow) and [d for d, _ in steps] == list(range(D))


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["pixelcnn", "gated"])
@pytest.mark.parametrize("shape", [(9, 11), (3, 4), (6, 2)])
def test_incremental_sampling_computes_exactly_the_full_passs_conditionals(kind, shape):
    """The cone (PixelCNN) and row-cache (gated) shortcuts used while sampling give every pixel's
    p(x_d = 1 | x before d) exactly as the full forward pass, at the image's edges and inside, for
    images smaller than the receptive field too."""
    h, w = shape
    model = spread(PixelCNN(h, w, channels=4, layers=4) if kind == "pixelcnn"
                   else GatedPixelCNN(h, w, channels=4, layers=4)).double()
    x = torch.bernoulli(torch.full((3, h * w), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        full = torch.sigmoid(model.logits(x))
        cache: dict = {}
        for d in range(h * w):
            assert torch.allclose(model.conditional_at(x, d, cache), full[:, d], atol=1e-12), d
            assert torch.allclose(model.conditional_at(x, d), full[:, d], atol=1e-12), d


def test_binned_2d_model_is_one_exact_image_and_its_samples_follow_it():
    from genviz.models.autoregressive import BinnedAR2D

    model = spread(BinnedAR2D(bins=6, hidden=8).double(), scale=3.0)
    grid = torch.cartesian_prod(torch.arange(6), torch.arange(6))
    p = torch.exp(model.log_prob(grid)).view(6, 6)
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    assert torch.allclose(p, model.probabilities(), atol=1e-12)
    n = 20000
    ij = model.sample(n, generator=torch.Generator().manual_seed(0))
    observed = np.bincount((ij[:, 0] * 6 + ij[:, 1]).numpy(), minlength=36)
    expected = n * p.detach().numpy().ravel()
    keep = expected > 5
    chi2 = float((((observed - expected) ** 2 / expected)[keep]).sum())
    assert chi2 < 66.6, chi2  # the 99.9 % point of chi-square with 35 degrees of freedom
