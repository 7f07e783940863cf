"""One data set, every family (genviz.core.families): the shared metrics against closed forms, each family's shared
NLL against its own lab's figure, the binned sampler against its table, and compare-families end to end."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from genviz.core.families import FamilyView, compare, family_labs, markdown, mixture_entropy, shared_nll
from genviz.core.labs import get_lab
from genviz.core.settings import resolve
from genviz.core.labs import import_object


def build(lab, **settings):
    info = get_lab(lab)
    return import_object(info.experiment)(resolve(info.settings, settings), seed=0)


def gaussian_view(scale=1.0):
    dist = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64),
                                                  scale ** 2 * torch.eye(2, dtype=torch.float64))
    return FamilyView("gaussian", lambda n, g: torch.randn(n, 2, generator=g, dtype=torch.float64) * scale, "exact",
                      lambda x: dist.log_prob(x.double()))


def test_a_view_has_log_prob_exactly_when_it_has_a_likelihood():
    with pytest.raises(ValueError):
        FamilyView("gan", lambda n, g: torch.zeros(n, 2), "none", lambda x: x[:, 0])
    with pytest.raises(ValueError):
        FamilyView("flow", lambda n, g: torch.zeros(n, 2), "exact")
    with pytest.raises(ValueError):
        FamilyView("flow", lambda n, g: torch.zeros(n, 2), "approximate", lambda x: x[:, 0])


@pytest.mark.parametrize("std", [1.0, 0.01])
def test_the_entropy_of_one_gaussian_is_its_closed_form(std):
    est, se = mixture_entropy(np.zeros((1, 2)), std, 20000, np.random.default_rng(0))
    exact = math.log(2 * math.pi * math.e * std ** 2)
    assert abs(est - exact) < 4 * se + 1e-12


def test_the_ring_of_eight_narrow_modes_has_log_8_more_entropy_than_one():
    from genviz.data.toy2d import make_toy

    toy = make_toy("ring8")
    est, se = mixture_entropy(toy.modes, toy.std, 20000, np.random.default_rng(1))
    exact = math.log(8) + math.log(2 * math.pi * math.e * toy.std ** 2)  # the modes do not overlap at std 0.01
    assert abs(est - exact) < 4 * se + 1e-9


def test_the_shared_nll_is_the_cross_entropy_with_a_standard_error_that_covers():
    view = gaussian_view(2.0)
    x = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # N(0, I) data
    out = shared_nll(view, x)
    exact = math.log(2 * math.pi * 4) + 2 / (2 * 4)  # −E log N(x; 0, 4I) under N(0, I)
    assert abs(out["nll"] - exact) < 4 * out["nll_se"]
    gan = FamilyView("gan", view.sample, "none")
    assert shared_nll(gan, x)["nll"] is None


def test_every_family_lab_declares_its_data_setting_and_answers_a_view():
    labs = family_labs()
    assert {"gan", "flow", "autoregressive", "diffusion", "vae"} <= set(labs)
    for family, lab in labs.items():
        assert lab.family_data in {s.name for s in lab.settings}
        view = build(lab.name, **{lab.family_data: "ring8"}).family_view()
        assert view is not None and view.family == family
        pts = view.sample(16, torch.Generator().manual_seed(0))
        assert tuple(pts.shape) == (16, 2) and bool(torch.isfinite(pts).all())


def test_each_familys_shared_nll_agrees_with_its_labs_own_figure():
    flow = build("flow", data="moons", layers=2, hidden=16)
    for _ in range(30):
        flow.advance()
    own = flow.final_metrics()["test_nll"]
    assert shared_nll(flow.family_view(), flow.test)["nll"] == pytest.approx(own, abs=1e-5)

    ar = build("autoregressive", points="moons", bins=16, hidden=32)
    for _ in range(30):
        ar.advance()
    B, (x0, x1, y0, y1) = ar.shape[0], ar.toy.extent
    centres = torch.stack([x0 + (ar.ij_test[:, 0].double() + 0.5) * (x1 - x0) / B,
                           y0 + (ar.ij_test[:, 1].double() + 0.5) * (y1 - y0) / B], 1)
    assert shared_nll(ar.family_view(), centres)["nll"] == pytest.approx(ar._toy_snapshot()["density_nll"], abs=1e-9)

    dif = build("diffusion", data="ring8", hidden=32)
    for _ in range(30):
        dif.advance()
    own_nll, own_se = dif.test_nll(points=32)
    shared = shared_nll(dif.family_view(), dif.x_test[:32])
    assert shared["nll"] == pytest.approx(own_nll, abs=1e-6) and shared["nll_se"] == pytest.approx(own_se, rel=1e-6)

    vae = build("vae2d", data="ring8", hidden=16)
    for _ in range(30):
        vae.advance()
    own = vae.test_bounds(1000)
    shared = shared_nll(vae.family_view(), vae.test)
    assert shared["likelihood"] == "bound"
    assert shared["nll"] == pytest.approx(-own["test_iwae"], abs=1e-9) and shared["nll_se"] == pytest.approx(
        own["test_iwae_se"], rel=1e-9)


def test_the_binned_sampler_draws_from_the_models_table():
    ar = build("autoregressive", points="ring8", bins=8, hidden=16)
    for _ in range(20):
        ar.advance()
    view = ar.family_view()
    n = 40000
    x = view.sample(n, torch.Generator().manual_seed(3))
    p = ar.model.probabilities().double().reshape(-1)
    B, (x0, x1, y0, y1) = 8, ar.toy.extent
    i = torch.floor((x[:, 0] - x0) / (x1 - x0) * B).long()
    j = torch.floor((x[:, 1] - y0) / (y1 - y0) * B).long()
    freq = torch.bincount(i * B + j, minlength=B * B).double() / n
    assert float(((freq - p).abs() / (p * (1 - p) / n).sqrt().clamp_min(1e-6)).max()) < 4.5
    # and the density integrates to one: each bin's log_prob is log P(bin) − log(area)
    area = (x1 - x0) * (y1 - y0) / B ** 2
    assert float((view.log_prob(x[:1000]).exp() * area).max()) <= 1.0 + 1e-9


def test_the_lesson_time_is_the_first_check_that_shows_it():
    out = compare("gaussian", steps=40, seed=0, families=("vae", "gan"), test_points=64, check_every=10)
    rows = {r["family"]: r for r in out["rows"]}
    assert rows["vae"]["lesson"] in (10, 20, 30, 40) and rows["vae"]["lesson_unit"] == "steps"
    assert "to the lesson" in out["markdown"]


def test_compare_scores_every_family_on_the_same_points():
    out = compare("ring8", steps=15, seed=0, test_points=64)
    rows = {r["family"]: r for r in out["rows"]}
    assert {"gan", "flow", "autoregressive", "diffusion", "vae"} <= set(rows)
    assert rows["gan"]["nll"] is None and rows["gan"]["likelihood"] == "none"
    assert rows["vae"]["likelihood"] == "bound"
    for fam in ("flow", "autoregressive", "diffusion", "vae"):
        assert math.isfinite(rows[fam]["nll"]) and rows[fam]["nll_se"] > 0
    for r in rows.values():
        assert r["steps"] == 15 and r["n_modes"] == 8 and 0 <= r["hq_percent"] <= 100 and r["sample_ms_per_1000"] > 0
    assert out["entropy"]["se"] > 0
    text = out["markdown"]
    assert "none (no likelihood)" in text and "≤ " in text and "Ranking" in text and all(f in text for f in rows)
    assert markdown(out["rows"]).count("\n|") == len(rows) + 1


def test_the_command_prints_json_then_markdown_and_refuses_bad_data_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "genviz", "compare-families", "ring8", "--steps", "5", "--families",
                        "gan,flow", "--test-points", "32", "--quiet", "--csv", str(tmp_path / "t.csv")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    first, rest = r.stdout.split("\n", 1)
    table = json.loads(first)
    assert [row["family"] for row in table["rows"]] == ["gan", "flow"]
    assert "| gan |" in rest and "| flow |" in rest
    assert (tmp_path / "t.csv").read_text().splitlines()[0].startswith("family,lab,steps,nll,nll_se")
    bad = subprocess.run([sys.executable, "-m", "genviz", "compare-families", "nosuchset", "--steps", "2"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "nosuchset" in bad.stderr
