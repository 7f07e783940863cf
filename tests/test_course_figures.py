"""The figures issue 34 added to existing labs: what each computes holds its identities and exact values (the HMC
paths are the leapfrog integrator's, the live gap table adds up, the flow beside the main one trains on the same
batches, the arithmetic lab's class transfer, the aggregate posterior's numbers in the manifold snapshot)."""
import math

import numpy as np
import pytest
import torch

from genviz.core.labs import get_lab
from genviz.core.settings import resolve


def experiment(lab: str, data: str | None = None, **settings):
    from genviz.core.labs import import_object

    info = get_lab(lab)
    cls = import_object(info.experiment)
    return cls(resolve(info.settings, {**dict(info.quick), **settings}), seed=0, data=data)


def test_hmc_paths_are_leapfrog_trajectories_that_start_at_the_chain():
    from genviz.labs.posterior import inference as inf

    exp = experiment("posterior", hmc=True)
    for _ in range(30):
        exp.train_step()
    model, x = exp.model.eval(), exp.chosen_x()
    q = inf.encoder_q(model, x)
    h = inf.HMC(q.rsample(16), step_size=0.1, adapt=0, seed=1)
    start = h.z.clone()
    h.run(model, x, 1)
    t = h.trajectories()
    assert t["paths"].shape == (inf.TRAJECTORY_CHAINS, h.leapfrog + 1, 2)
    assert np.allclose(t["paths"][:, 0], start[:inf.TRAJECTORY_CHAINS].numpy(), atol=1e-6)
    # an accepted chain stands at its path's end, a rejected one at its start
    for i, ok in enumerate(t["accepted"]):
        assert np.allclose(h.z[i].numpy(), t["paths"][i, -1 if ok else 0], atol=1e-5)
    h.run(model, x, 5)
    assert len(h.trajectories()["paths"]) == inf.TRAJECTORIES_KEPT * inf.TRAJECTORY_CHAINS


def test_live_gap_table_adds_up_and_q_star_never_reads_below_q():
    exp = experiment("posterior", hmc=False, gap_table=True)
    for _ in range(50):
        exp.train_step()
    for _ in range(2):
        t = exp.snapshot(True)["gap_table"]
        assert t["points"] == 16
        assert t["inference_gap"] == pytest.approx(t["approximation_gap"] + t["amortization_gap"], abs=1e-9)
        assert t["inference_gap"] == pytest.approx(t["log_px"] - t["elbo_q"], abs=1e-9)
        assert t["amortization_gap"] > -3 * t["amortization_gap_se"] - 1e-3
        assert t["amortization_lead"] == pytest.approx(t["amortization_gap"] - t["approximation_gap"], abs=1e-9)


def test_flow_beside_trains_on_the_same_batches_as_a_flow_of_its_own():
    exp = experiment("flow", flow="maf", layers=2, beside=1)
    alone = experiment("flow", flow="maf", layers=1)
    # the second flow's start differs (it is built after the first), but its batches are the main flow's: the
    # same loss on the same batch as a lone 1-layer flow started from its weights
    alone.flow.load_state_dict(exp.beside.state_dict())
    alone.opt.load_state_dict(exp.opt_beside.state_dict())
    alone.np_rng = np.random.default_rng(exp.seed)
    exp.np_rng = np.random.default_rng(exp.seed)
    for _ in range(5):
        a, b = exp.train_step(), alone.train_step()
        assert a["beside_train_nll"] == pytest.approx(b["train_nll"], rel=1e-6)
    snap = exp.snapshot(True)
    assert snap["beside_lead"] == pytest.approx(snap["beside_test_nll"] - snap["test_nll"], abs=1e-6)
    assert snap["beside_density"].shape == snap["density"].shape
    assert "beside" in exp.model_state() and "beside_optimizer" in exp.model_state()


def test_class_transfer_on_digits():
    from genviz.labs.arithmetic.latent_ops import class_transfer_pairs, nearest_centroid

    c = np.eye(3) * 10
    assert list(nearest_centroid(c + 0.1, c)) == [0, 1, 2]
    idx, target = class_transfer_pairs(np.array([0, 0, 1, 1, 2]), 5, np.random.default_rng(0))
    assert len(idx) == 2 * 2 + 2 * 2 + 1 * 2  # every example of s moved to the two other classes
    assert all(np.array([0, 0, 1, 1, 2])[idx] != target)
    exp = experiment("arithmetic", data="digits")
    ct = exp.snapshot(True)["class_transfer"]
    assert ct["n"] == 10 * 9 * 20 and ct["chance"] == pytest.approx(0.1)
    assert 0.8 < ct["classifier_accuracy"] <= 1.0  # nearest class mean on the 8x8 digits: about 0.9
    assert ct["grid"].dtype == np.uint8 and ct["grid"].shape[1] > ct["grid"].shape[0]  # 8 rows, 11 columns


def test_manifold_aggregate_numbers_add_up():
    exp = experiment("manifold", aggregate=True)
    for _ in range(100):
        exp.train_step()
    a = exp.snapshot(True)["aggregate"]
    assert a["mean_kl"] == pytest.approx(a["mutual_info"] + a["marginal_kl"], abs=1e-9)
    assert abs(a["mean_kl"] - a["mean_kl_exact"]) < 4 * a["mean_kl_se"] + 1e-6
    assert a["mutual_info"] <= a["mutual_info_max"] + 4 * a["mutual_info_se"]
    assert a["density"].shape == (80, 80) and math.isfinite(float(a["density"].sum()))
    assert "aggregate" not in experiment("manifold").snapshot(True)


def test_iwae_experiment_trains_three_models_on_their_bounds():
    exp = experiment("estimators", experiment="iwae", latent=3)
    x = exp.x_test[:20]
    torch.manual_seed(0)
    with torch.no_grad():
        b = [float(exp.models[0].iwae_bound(x, k).mean()) for k in (1, 10, 100)]
    assert b[0] <= b[1] + 0.5 and b[1] <= b[2] + 0.3  # the bounds climb with k (small noise allowed)
    row = exp.train_step()
    assert set(row) >= {"bound_k1", "bound_k5", "bound_k50"}
    snap = exp.snapshot(True)
    assert snap["nll_lead"] == pytest.approx(snap["nll"]["k1"] - snap["nll"]["k50"], abs=1e-9)
    assert set(snap["active"]) == {"k1", "k5", "k50"}


def test_good_likelihood_bad_samples_mixture_is_exact():
    exp = experiment("autoregressive", noise_mix=0.99)
    for _ in range(20):
        exp.train_step()
    m = exp.snapshot(True)["mixture"]
    x = exp.x_test[:500]
    with torch.no_grad():
        log_p = exp.model.log_prob(x).double()
    # by enumeration of the two components: p_mix(x) = 0.01 p(x) + 0.99 2^-64
    want = -torch.log(0.01 * log_p.exp() + 0.99 * 2.0 ** -exp.D).mean()
    assert m["nll"] == pytest.approx(float(want), rel=1e-9)
    assert 0 <= m["cost"] <= m["bound"] + 1e-12 and m["bound"] == pytest.approx(math.log(100))
    assert m["n_samples"] == 16 and 10 <= m["noise_samples"] <= 16


@pytest.mark.parametrize("layers", [3, 5, 6])
def test_wavenet_is_causal_and_sees_exactly_the_previous_two_to_the_layers_pixels(layers):
    from genviz.models.autoregressive import WaveNet, receptive_field

    torch.manual_seed(layers)
    m = WaveNet(64, 8, layers)
    x = torch.bernoulli(torch.full((6, 64), 0.5))
    for d in range(64):
        seen = np.flatnonzero(receptive_field(m, x, d) != 0)
        assert list(seen) == list(range(max(0, d - 2 ** layers), d)), (d, seen)
    # a normalised distribution over all 2^D images: a proper autoregressive model (enumerated on D = 6)
    small = WaveNet(6, 4, 2)
    grid = torch.tensor([[(i >> k) & 1 for k in range(6)] for i in range(64)], dtype=torch.float32)
    with torch.no_grad():
        assert float(torch.logsumexp(small.log_prob(grid), 0)) == pytest.approx(0.0, abs=1e-5)


def test_row_lstm_context_is_the_triangle():
    """The Row LSTM's context, by autograd, is exactly the recursion of its two convolutions: the pixel to the left
    (mask A) and the row above's states at c − 1 … c + 1."""
    from genviz.models.autoregressive import RowLSTM, receptive_field

    h = w = 8
    torch.manual_seed(0)
    m = RowLSTM(h, w, 8)
    x = torch.bernoulli(torch.full((6, h * w), 0.5))

    def context(r: int, c: int) -> set:
        if r < 0 or c < 0 or c >= w:
            return set()
        out = {(r, c - 1)} if c >= 1 else set()
        for cc in (c - 1, c, c + 1):
            out |= context(r - 1, cc)
        return out

    for d in range(h * w):
        r, c = divmod(d, w)
        seen = {divmod(int(i), w) for i in np.flatnonzero(receptive_field(m, x, d) != 0)}
        assert seen == context(r, c), d
    with torch.no_grad():  # a normalised model: probabilities over all images of a 2 x 3 grid sum to 1
        small = RowLSTM(2, 3, 4)
        grid = torch.tensor([[(i >> k) & 1 for k in range(6)] for i in range(64)], dtype=torch.float32)
        assert float(torch.logsumexp(small.log_prob(grid), 0)) == pytest.approx(0.0, abs=1e-5)


def test_vampprior_is_a_normalised_mixture_of_the_encoders_posteriors():
    from genviz.labs.estimators.experiment import VampVAE

    exp = experiment("estimators", experiment="vamp", latent=2, pseudo=5)
    vamp = next(m for m in exp.models if isinstance(m, VampVAE))
    assert torch.equal(vamp.enc[0].weight, exp.models[0].enc[0].weight)  # the same start
    t = torch.linspace(-10, 10, 801)
    gy, gx = torch.meshgrid(t, t, indexing="ij")
    with torch.no_grad():
        mass = float(vamp.log_prior(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)).exp().sum()) * (20 / 800) ** 2
        # by hand: the mean of the 5 pseudo-inputs' posterior densities at a point
        z = torch.tensor([[0.3, -0.2]])
        q = vamp.q(torch.sigmoid(vamp.pseudo))
        want = torch.logsumexp(q.log_prob(z[:, None, :]).sum(-1), -1) - math.log(5)
        assert float(vamp.log_prior(z)) == pytest.approx(float(want), abs=1e-6)
    assert mass == pytest.approx(1.0, abs=1e-3)
    exp.train_step()
    snap = exp.snapshot(True)
    for m in ("standard", "vamp"):
        assert snap["mean_kl"][m] == pytest.approx(snap["mutual_info"][m] + snap["marginal_kl"][m], abs=1e-9)
    assert snap["prior_gain"] == pytest.approx(snap["marginal_kl"]["standard"] - snap["marginal_kl"]["vamp"])


def test_autoregressive_decoder_is_causal_and_starts_as_its_twin():
    from genviz.labs.estimators.experiment import ARDecoderVAE

    exp = experiment("estimators", experiment="ardecoder", latent=3, ar_hidden=16)
    first, ar = exp.models
    assert isinstance(ar, ARDecoderVAE)
    x, z = exp.x_test[:5], torch.randn(5, 3)
    with torch.no_grad():  # w_out starts at zero: the same decoder as the factorized twin
        assert torch.allclose(ar.logits(x, z), first.dec(z))
    ar.w_out.data.normal_()
    x = x.clone().requires_grad_(True)
    logits = ar.logits(x, z)
    for i in range(x.shape[1]):
        (g,) = torch.autograd.grad(logits[:, i].sum(), x, retain_graph=True)
        assert not g[:, i:].any(), i
    exp.train_step()
    snap = exp.snapshot(True)
    assert snap["kl_drop"] == pytest.approx(snap["kl"]["factorized"] - snap["kl"]["autoregressive"], abs=1e-9)
    assert snap["kl_ratio"] == pytest.approx(snap["kl"]["autoregressive"] / snap["kl"]["factorized"])


def test_diagonal_bilstm_sees_exactly_every_pixel_before_it():
    from genviz.models.autoregressive import DiagonalBiLSTM, receptive_field

    torch.manual_seed(1)
    m = DiagonalBiLSTM(5, 6, 4)
    x = torch.bernoulli(torch.full((4, 30), 0.5))
    for d in range(30):
        assert list(np.flatnonzero(receptive_field(m, x, d) != 0)) == list(range(d)), d
    with torch.no_grad():
        small = DiagonalBiLSTM(2, 3, 3)
        grid = torch.tensor([[(i >> k) & 1 for k in range(6)] for i in range(64)], dtype=torch.float32)
        assert float(torch.logsumexp(small.log_prob(grid), 0)) == pytest.approx(0.0, abs=1e-5)
