"""A user's own autoregressive model (--model-code) in the autoregressive lab: normalised exactly once its
conditionals pass the order check (enumeration over every binary image of a small shape), each fault refused in
one line (a pixel that sees itself, a later pixel, an order that is not a permutation, a log_prob that is not the
chain rule), and the lab trains, samples, completes and saves it as its own."""
import itertools
from pathlib import Path

import pytest
import torch
from torch import nn

from genviz.core.labs import get_lab
from genviz.core.model_code import ModelCodeError, named
from genviz.models.user import UserAutoregressive, check_autoregressive

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "pixelcnn.py"


class Dense(nn.Module):
    """Every pixel's logit from a masked linear map of the image: ``allowed[d, e]`` says whether pixel d may see
    pixel e. With a strictly lower-triangular mask in ``order`` it is a fully visible sigmoid belief net."""

    def __init__(self, shape, allowed: torch.Tensor, order=None, log_prob_offset=None):
        super().__init__()
        self.shape, D = shape, allowed.shape[0]
        self.w = nn.Parameter(torch.randn(D, D) * 1.5)
        self.b = nn.Parameter(torch.randn(D))
        self.register_buffer("allowed", allowed.float())
        if order is not None:
            self.order = order
        if log_prob_offset is not None:
            self.log_prob = lambda x: -nn.functional.binary_cross_entropy_with_logits(
                self.logits(x), x, reduction="none").flatten(1).sum(1) + log_prob_offset

    def logits(self, x):
        flat = x.flatten(1)
        return (flat @ (self.w * self.allowed).T + self.b).view(-1, *self.shape)


def causal(order: torch.Tensor) -> torch.Tensor:
    D = len(order)
    rank = torch.empty(D, dtype=torch.long)
    rank[order] = torch.arange(D)
    return rank[:, None] > rank[None, :]  # d sees e when e comes before d


SHAPE = (1, 3, 3)
ALL = torch.tensor(list(itertools.product([0.0, 1.0], repeat=9)))  # every 3x3 binary image: 512


def probe():
    return ALL[torch.randperm(len(ALL), generator=torch.Generator().manual_seed(0))[:8]]


@pytest.mark.parametrize("order", [torch.arange(9), torch.tensor([4, 0, 8, 2, 6, 1, 3, 5, 7])])
def test_a_model_that_passes_the_check_is_normalised_exactly(order):
    """Σ over all 512 binary 3x3 images of p(x) is 1 (to float precision) for a model whose conditionals follow its
    declared order; the same weights with one extra connection to a later pixel sum to something else, and the
    check refuses that model, naming the pixel."""
    torch.manual_seed(1)
    good = Dense(SHAPE, causal(order), order=order.tolist())
    model = check_autoregressive(good, "yours", SHAPE, probe())
    with torch.no_grad():
        total = model.log_prob(ALL).double().exp().sum()
    assert abs(float(total) - 1.0) < 1e-5
    leaky = causal(order).clone()
    first, later = int(order[0]), int(order[5])
    leaky[first, later] = True  # the first pixel sees one sampled later
    bad = Dense(SHAPE, leaky, order=order.tolist())
    with torch.no_grad():
        bad.w.copy_(good.w)
        bad.b.copy_(good.b)
        bad.w[first, later] = 4.0  # a strong connection: the sum is visibly off
        unchecked = UserAutoregressive(bad, SHAPE, order)  # what the lab would train, were it not refused
        assert abs(float(unchecked.log_prob(ALL).double().exp().sum()) - 1.0) > 1e-2
    with pytest.raises(ModelCodeError, match=rf"pixel {first} .*depends on pixel {later} .*which comes after it"):
        check_autoregressive(bad, "yours", SHAPE, probe())


def test_a_declared_order_the_conditionals_do_not_follow_is_refused():
    raster = causal(torch.arange(9))
    with pytest.raises(ModelCodeError, match="not autoregressive"):
        check_autoregressive(Dense(SHAPE, raster, order=list(range(8, -1, -1))), "yours", SHAPE, probe())


@pytest.mark.parametrize("kwargs, said", [
    ({"order": [0, 1, 2]}, "a permutation of the 9 pixel indices 0..8.*it has 3 values"),
    ({"order": [0] * 9}, "a permutation of the 9 pixel indices 0..8.*some repeated"),
    ({"order": "raster"}, "order must be a sequence of the 9 pixel indices"),
    ({"log_prob_offset": 0.5}, r"log_prob\(x\) is not the sum of its conditionals.*off by up to 0.5 nats"),
])
def test_each_fault_is_one_line(kwargs, said):
    with pytest.raises(ModelCodeError, match=said) as info:
        check_autoregressive(Dense(SHAPE, causal(torch.arange(9)), **kwargs), "yours", SHAPE, probe())
    assert "\n" not in str(info.value)


def test_the_pixelcnn_bug_is_refused_by_name_through_the_lab():
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import build_experiment

    config = EngineConfig(lab="autoregressive", model_code=named(get_lab("autoregressive"), f"{EXAMPLE}:make_leaky"))
    with pytest.raises(ModelCodeError, match=r"pixelcnn.py:make_leaky: pixel 0 \(row 0, column 0\)'s conditional "
                                             "depends on itself"):
        build_experiment(config)
    points = EngineConfig(lab="autoregressive", settings={"points": "ring8"},
                          model_code=named(get_lab("autoregressive"), f"{EXAMPLE}:make"))
    with pytest.raises(ModelCodeError, match="your model learns images here"):
        build_experiment(points)


def test_the_lab_trains_samples_and_saves_a_users_pixelcnn(tmp_path):
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import build_experiment, restore_state, state_bytes

    code = named(get_lab("autoregressive"), f"{EXAMPLE}:make")
    exp = build_experiment(EngineConfig(lab="autoregressive", model_code=code))
    first = exp.final_metrics()["test_nll_nats"]
    for _ in range(150):
        exp.advance()
    last = exp.final_metrics()
    assert last["test_nll_nats"] < first - 10 and last["model"] == "yours (pixelcnn.py:make)"
    info = exp.static_info()
    assert info["model"] == "yours" and info["your_model"].startswith("SmallPixelCNN (")
    assert set(info["unused_settings"]) == {"model", "hidden", "channels", "layers", "order", "masks"}
    snap = exp.snapshot(heavy=True)
    D = 64
    assert snap["samples"].shape == (16, D) and set(snap["samples"].ravel().tolist()) <= {0, 1}
    assert snap["blind_spot"] > 0  # the user's plain PixelCNN has the blind spot the lab's shows
    sampled = exp.query("sample", n=3)
    assert sampled["order"].tolist() == list(range(D)) and sampled["probs"].shape == (D, 3)
    done = exp.query("complete", n=2)
    given = torch.from_numpy(done["given"])
    assert (torch.as_tensor(done["completions"])[:, given] == torch.as_tensor(done["image"])[given]).all()
    other = build_experiment(EngineConfig(lab="autoregressive", model_code=code))
    restore_state(other, state_bytes(exp))
    assert all(torch.equal(p, q) for p, q in zip(exp.model.parameters(), other.model.parameters()))
    exp.save(str(tmp_path / "mine.pt"))
    saved = torch.load(tmp_path / "mine.pt", weights_only=True)
    assert saved["model_code"]["spec"].endswith("pixelcnn.py:make") and saved["model_code"]["family"] == "autoregressive"


def test_the_command_line_trains_it_and_refuses_the_leak_with_exit_2(tmp_path):
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "genviz", "train", "autoregressive", "--model-code",
                          f"{EXAMPLE}:make", "--steps", "20", "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout.strip().splitlines()[-1])
    assert metrics["model"] == "yours (pixelcnn.py:make)" and metrics["steps"] == 20
    bad = subprocess.run([sys.executable, "-m", "genviz", "train", "autoregressive", "--model-code",
                          f"{EXAMPLE}:make_leaky", "--steps", "2", "--out", str(tmp_path / "bad")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "depends on itself" in bad.stderr


