"""One data set, every family: the metrics each family's column is scored by, from one implementation for all of
them (pure core: numpy and torch; no Qt, no lab imports).

A lab takes part by answering :meth:`genviz.core.experiment.Experiment.family_view` with a :class:`FamilyView`: a
sampler of 2-D points and, where the family has one, ``log_prob``, with ``likelihood`` saying what it is: "exact"
(a flow; the autoregressive lab's binned density), "ode" (a diffusion model's probability-flow ODE), "bound" (a VAE's
IWAE bound: a lower bound on log p, so its NLL is an upper bound, and said so) or "none" (a GAN: no NLL, said so).

Every column is scored on the same test points and the same sample counts:

- test NLL in nats (mean over the test points ± SE over them), against the data's entropy where it is known (a
  Gaussian mixture: −E log p_data by Monte Carlo on fresh data, ± SE);
- mode coverage, high-quality % and the reverse KL of the modes (PacGAN protocol, genviz.data.toy2d.mode_coverage,
  with their SEs) on 2,500 samples;
- sampling cost (ms per 1,000 samples, median of repeats) and training steps/s (given by the caller).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from genviz.core.family_table import (LESSON_HQ, MEASURES, cell, csv_text, family_labs, lesson_reached,  # noqa: F401
                                      markdown, ranks)

LIKELIHOODS = ("exact", "ode", "bound", "none")
COVERAGE_SAMPLES = 2500  # the PacGAN protocol's sample count
COST_SAMPLES = 1000


@dataclass
class FamilyView:
    """What the shared metrics need of a trained model."""

    family: str  # "gan", "flow", "autoregressive", "diffusion", "vae"
    sample: Callable[[int, torch.Generator], torch.Tensor]  # (n, generator) -> [n, 2] points
    likelihood: str = "none"
    log_prob: Callable[[torch.Tensor], torch.Tensor] | None = None  # [n, 2] -> [n] (float64 preferred)
    note: str = ""  # how log_prob is computed, for the table's footnote
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood is one of {', '.join(LIKELIHOODS)}, not {self.likelihood!r}")
        if (self.log_prob is None) != (self.likelihood == "none"):
            raise ValueError("a family view has log_prob exactly when its likelihood is not 'none'")


class seeded:
    """``with seeded(generator):`` the global torch stream, forked and seeded from ``generator``, for samplers that
    draw from it (a flow's base distribution): the draw is reproducible and training's stream is left alone."""

    def __init__(self, generator: torch.Generator):
        self.seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
        self.fork = torch.random.fork_rng(devices=[])

    def __enter__(self):
        self.fork.__enter__()
        torch.manual_seed(self.seed)
        return self

    def __exit__(self, *exc):
        return self.fork.__exit__(*exc)


def mean_se(values: torch.Tensor | np.ndarray) -> tuple[float, float | None]:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), (float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None)


@torch.no_grad()
def shared_nll(view: FamilyView, x_test: torch.Tensor, chunk: int = 1000) -> dict:
    """−mean log p(x) over the test points ± its SE over them (an upper bound for likelihood = "bound")."""
    if view.log_prob is None:
        return {"nll": None, "nll_se": None, "likelihood": "none"}
    lp = torch.cat([view.log_prob(c).double().cpu() for c in x_test.split(chunk)])
    if not bool(torch.isfinite(lp).all()):
        bad = int((~torch.isfinite(lp)).sum())
        return {"nll": math.inf, "nll_se": None, "likelihood": view.likelihood,
                "note": f"{bad} of {len(lp)} test points have zero density under the model"}
    mean, se = mean_se(-lp.numpy())
    return {"nll": mean, "nll_se": se, "likelihood": view.likelihood, "points": int(len(lp))}


def mixture_entropy(modes: np.ndarray, std: float, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """H(p_data) = −E log p_data(x) of an equal-weight isotropic Gaussian mixture, by Monte Carlo on n fresh points
    (the density itself exact): (estimate, SE)."""
    modes = np.asarray(modes, np.float64)
    x = modes[rng.integers(0, len(modes), n)] + std * rng.standard_normal((n, 2))
    d2 = ((x[:, None, :] - modes[None]) ** 2).sum(-1)
    log_comp = -d2 / (2 * std ** 2) - math.log(2 * math.pi * std ** 2)
    top = log_comp.max(1)
    log_p = top + np.log(np.exp(log_comp - top[:, None]).sum(1)) - math.log(len(modes))
    return mean_se(-log_p)


@torch.no_grad()
def sampling_cost_ms(view: FamilyView, repeats: int = 5, seed: int = 0) -> float:
    """Milliseconds to draw 1,000 samples (median of ``repeats``, after one warm-up draw)."""
    g = torch.Generator().manual_seed(seed)
    view.sample(COST_SAMPLES, g)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        view.sample(COST_SAMPLES, g)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


@torch.no_grad()
def coverage_of(view: FamilyView, modes: np.ndarray, std: float, seed: int) -> dict:
    """Mode coverage (:func:`genviz.data.toy2d.mode_coverage`) of ``COVERAGE_SAMPLES`` of the model's samples, drawn
    with their own generator seeded ``seed``: the one scoring behind the table, the families lab's curves and every
    time to the lesson."""
    from genviz.data.toy2d import mode_coverage

    g = torch.Generator().manual_seed(seed)
    return mode_coverage(view.sample(COVERAGE_SAMPLES, g).double().cpu().numpy(), np.asarray(modes), float(std))


@torch.no_grad()
def score(view: FamilyView, x_test: torch.Tensor, modes: np.ndarray | None = None, std: float | None = None,
          seed: int = 0, cost_repeats: int = 5) -> dict:
    """Every shared metric of one family's model: NLL, coverage (for mixtures) and sampling cost."""
    out = {"family": view.family, **shared_nll(view, x_test)}
    if modes is not None and std is not None:
        cov = coverage_of(view, modes, std, seed + 1)
        out.update(modes=cov["modes"], n_modes=cov["n_modes"], hq_percent=cov["hq_percent"],
                   hq_percent_se=cov["hq_percent_se"], reverse_kl=cov["reverse_kl"], reverse_kl_se=cov["reverse_kl_se"])
    out["sample_ms_per_1000"] = sampling_cost_ms(view, cost_repeats, seed)
    if view.note:
        out["note"] = view.note
    return out


# -- one data set, every family ---------------------------------------------------------------------------------
def compare(data: str, seconds: float | None = None, steps: int | None = None, seed: int = 0,
            families: tuple[str, ...] | None = None, test_points: int = 500, report=None,
            check_every: float | None = None) -> dict:
    """Train every family on ``data`` (a named 2-D set, a placed mixture or a points file) for an equal wall-clock
    budget (``seconds``) or an equal number of steps, one after the other on one torch thread, the same seed; then
    score each by the shared metrics on the same test points. For a mixture, each family's samples are scored every
    ``check_every`` seconds of its training (or steps; default: a twentieth of the budget), the scoring's time left out
    of the budget, and the first time it shows the lesson is its "to the lesson". Returns {"rows", "entropy", "ranks",
    "markdown"}."""
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import Runner
    from genviz.data.toy2d import make_toy

    if (seconds is None) == (steps is None):
        raise ValueError("give a wall-clock budget (seconds) or a number of steps, not both")
    toy = make_toy(data)
    labs = family_labs()
    chosen = families or tuple(labs)
    unknown = [f for f in chosen if f not in labs]
    if unknown:
        raise ValueError(f"no installed lab trains the {', '.join(unknown)} family (installed: {', '.join(labs)})")
    rng = np.random.default_rng(seed + 99)
    x_test = torch.from_numpy(toy.sample(test_points, rng))
    entropy = mixture_entropy(toy.modes, toy.std, 20000, rng) if toy.modes is not None else None
    rows = []
    for family in chosen:
        lab = labs[family]
        runner = Runner(EngineConfig(lab=lab.name, settings={lab.family_data: data}, seed=seed, device="cpu",
                                     torch_threads=1))
        exp = runner.exp
        view = exp.family_view()
        if view is None:
            raise ValueError(f"the {lab.name} lab gave no model of 2-D points for {data!r}")
        every = check_every if check_every is not None else (seconds if seconds is not None else steps) / 20
        took, lesson, next_check = 0.0, None, every

        def spent() -> float:
            return took if seconds is not None else exp.step_count

        while spent() < (seconds if seconds is not None else steps):
            t0 = time.perf_counter()
            runner.step()
            took += time.perf_counter() - t0
            if toy.modes is not None and lesson is None and spent() >= next_check:
                next_check += every
                with torch.random.fork_rng(devices=[]):
                    cov = coverage_of(exp.family_view(), toy.modes, toy.std, seed * 1009 + int(spent() * 1000))
                if lesson_reached(cov):
                    lesson = spent()
        if report is not None:
            report(f"{family}: {exp.step_count:,} steps in {took:.1f} s; scoring")
        row = {"lab": lab.name, "steps": exp.step_count, "train_seconds": took, "lesson": lesson,
               "lesson_unit": "s" if seconds is not None else "steps",
               "steps_per_sec": exp.step_count / took if took > 0 else None,
               **score(exp.family_view(), x_test, toy.modes, toy.std, seed)}
        rows.append(row)
    title = f"{toy.name}: " + (f"{seconds:g} s each" if seconds is not None else f"{steps:,} steps each") + \
        f", seed {seed}, {test_points} test points"
    return {"data": toy.name, "seed": seed, "rows": rows, "ranks": ranks(rows),
            "entropy": None if entropy is None else {"nats": entropy[0], "se": entropy[1]},
            "markdown": markdown(rows, entropy, title)}
