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
def score(view: FamilyView, x_test: torch.Tensor, modes: np.ndarray | None = None, std: float | None = None,
          seed: int = 0, cost_repeats: int = 5) -> dict:
    """Every shared metric of one family's model: NLL, coverage (for mixtures) and sampling cost."""
    from genviz.data.toy2d import mode_coverage

    out = {"family": view.family, **shared_nll(view, x_test)}
    g = torch.Generator().manual_seed(seed + 1)
    samples = view.sample(COVERAGE_SAMPLES, g).double().cpu().numpy()
    if modes is not None and std is not None:
        cov = mode_coverage(samples, np.asarray(modes), float(std))
        out.update(modes=cov["modes"], n_modes=cov["n_modes"], hq_percent=cov["hq_percent"],
                   hq_percent_se=cov["hq_percent_se"], reverse_kl=cov["reverse_kl"], reverse_kl_se=cov["reverse_kl_se"])
    out["sample_ms_per_1000"] = sampling_cost_ms(view, cost_repeats, seed)
    if view.note:
        out["note"] = view.note
    return out


# -- the table --------------------------------------------------------------------------------------------------
MEASURES = (  # (key, heading, better: "low" or "high")
    ("nll", "test NLL (nats)", "low"),
    ("hq_percent", "high quality %", "high"),
    ("modes", "modes", "high"),
    ("reverse_kl", "reverse KL of modes", "low"),
    ("sample_ms_per_1000", "ms / 1,000 samples", "low"),
    ("steps_per_sec", "training steps/s", "high"),
    ("lesson", "to the lesson", "low"),  # the training time (or steps) when every mode was covered at >= 80 % HQ
)
LESSON_HQ = 80.0  # the lesson of a mixture: every mode covered and at least this % of samples within 3 σ of one


def lesson_reached(coverage: dict) -> bool:
    """Whether samples scored by genviz.data.toy2d.mode_coverage show the lesson."""
    return coverage["modes"] == coverage["n_modes"] and coverage["hq_percent"] >= LESSON_HQ


def ranks(rows: list[dict], z: float = 2.0) -> dict[str, list[list[str]]]:
    """For each measure, the families from best to worst in tiers: families whose difference from the tier's first
    is within ``z`` standard errors of that difference (or equal, for counts) share a tier. Families without the
    measure are left out."""
    out = {}
    for key, _heading, better in MEASURES:
        have = [r for r in rows if r.get(key) is not None and math.isfinite(r[key])]
        have.sort(key=lambda r: r[key], reverse=better == "high")
        tiers: list[list[dict]] = []
        for r in have:
            if tiers:
                first = tiers[-1][0]
                se = math.hypot(first.get(f"{key}_se") or 0.0, r.get(f"{key}_se") or 0.0)
                if abs(r[key] - first[key]) <= z * se + 1e-12:
                    tiers[-1].append(r)
                    continue
            tiers.append([r])
        out[key] = [[r["family"] for r in tier] for tier in tiers]
    return out


def cell(row: dict, key: str) -> str:
    from genviz.core.numbers import estimate

    v = row.get(key)
    if key == "lesson":
        unit = row.get("lesson_unit", "s")
        if v is None:
            return "not reached" if row.get("modes") is not None else "–"
        return f"{v:.1f} s" if unit == "s" else f"{int(v):,} steps"
    if v is None:
        return "none (no likelihood)" if key == "nll" else "–"
    if not math.isfinite(v):
        return "∞ (zero density at a test point)" if key == "nll" else "–"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    se = row.get(f"{key}_se")
    text = estimate(v, se, 3 if abs(v) < 10 else 0 if abs(v) >= 100 else 1)
    return f"≤ {text}" if key == "nll" and row.get("likelihood") == "bound" else text


def markdown(rows: list[dict], entropy: tuple[float, float] | None = None, title: str = "") -> str:
    """The families' table (one row each, ± SE where a measure has one) and the ranking under it."""
    lines = [f"### {title}" if title else "", "",
             "| family | " + " | ".join(h for _k, h, _b in MEASURES) + " |",
             "|---|" + "---|" * len(MEASURES)]
    for r in rows:
        lines.append(f"| {r['family']} | " + " | ".join(cell(r, k) for k, _h, _b in MEASURES) + " |")
    if entropy is not None:
        from genviz.core.numbers import estimate

        lines += ["", f"The data's own entropy (the NLL no model can beat): {estimate(*entropy)} nats (Monte Carlo on "
                  "fresh data, the mixture's density exact)."]
    notes = [f"- {r['family']}: {r['note']}" for r in rows if r.get("note")]
    if notes:
        lines += ["", *notes]
    lines += ["", "Ranking (best first; a tier is a tie within 2 SE):"]
    order = ranks(rows)
    for key, heading, _b in MEASURES:
        if order[key]:  # families within 2 SE of each other share a tier
            lines.append(f"- {heading}: {' > '.join(' ≈ '.join(tier) for tier in order[key])}")
    lines.append("")
    lines.append("≈: within two standard errors (or equal counts); NLLs in nats per point, lower is better. The lesson: "
                 f"every mode covered with ≥ {LESSON_HQ:.0f} % of samples within 3 σ of one (first reached, scored at "
                 "fixed points of each family's training).")
    return "\n".join(lines).strip() + "\n"


def csv_text(rows: list[dict]) -> str:
    """The families' table as CSV: one row per family, every measure and its SE as numbers (empty where a family has
    none), then the likelihood kind and the note."""
    import csv
    import io

    keys = []
    for key, _h, _b in MEASURES:
        keys += [key, f"{key}_se"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["family", "lab", "steps", *keys, "likelihood", "lesson_unit", "note"])
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k)
            cells.append("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else repr(float(v))
                         if isinstance(v, float) else str(v))
        w.writerow([r["family"], r.get("lab", ""), r.get("steps", ""), *cells, r.get("likelihood", ""),
                    r.get("lesson_unit", ""), r.get("note", "")])
    return buf.getvalue()


# -- one data set, every family ---------------------------------------------------------------------------------
def family_labs() -> dict[str, object]:
    """The installed labs that train a family on 2-D points (LabInfo.family), by family."""
    from genviz.core.labs import all_labs

    return {lab.family: lab for lab in all_labs().values() if lab.family}


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
    from genviz.data.toy2d import make_toy, mode_coverage

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
                    g = torch.Generator().manual_seed(seed * 1009 + int(spent() * 1000))
                    drawn = exp.family_view().sample(COVERAGE_SAMPLES, g).double().cpu().numpy()
                if lesson_reached(mode_coverage(drawn, toy.modes, toy.std)):
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
