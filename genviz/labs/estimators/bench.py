"""`genviz bench estimators`: the lab's figures on this machine, JSON lines then tables.

- the variance table: each estimator's variance for averages of n = 1, 10, 100 single-sample estimates of
  d/dmu E_{N(1, 1)}[f], for f = z^2, a step and a small decoder (200,000 draws each; closed forms for z^2),
  and for a categorical q the score function against Gumbel-softmax at three temperatures (with the bias);
- the training speed of each method alone: the VAE by reparameterization, score function and with a baseline;
  the Helmholtz machine by wake-sleep, reweighted wake-sleep and the score-function ELBO (one torch thread);
- for every experiment, live in the real window: steps/s against headless, redraws/s, GUI timer lateness.
"""
from __future__ import annotations

import time

import numpy as np

from genviz.labs.estimators import EXPERIMENTS

DRAWS = 200_000


def variance_table() -> list[dict]:
    from genviz.models.estimators import Decoder1D, exact_gradient, gaussian_estimates, square_sf_variance

    rows = []
    decoder = Decoder1D(seed=0)
    for f in ("square", "step", "decoder"):
        exact = exact_gradient(f, 1.0, 1.0, decoder)
        rng = np.random.default_rng(0)
        baseline = float(np.mean(decoder.f(1 + rng.standard_normal(10000)))) if f == "decoder" else (
            2.0 if f == "square" else 0.5)  # E[f]: 2 for z^2, P(z > 0) ~ 0.84 for the step, by simulation otherwise
        if f == "step":
            baseline = float(np.mean(1 + rng.standard_normal(100000) > 0))
        for est in ("sf", "sf-baseline", "reparam"):
            draws = gaussian_estimates(f, est, 1.0, 1.0, DRAWS, rng, decoder, baseline=baseline)
            row = {"bench": "estimators-variance", "f": f, "estimator": est, "exact": round(exact, 4),
                   "mean": round(float(draws.mean()), 4), "se": round(float(draws.std() / np.sqrt(DRAWS)), 4)}
            for n in (1, 10, 100):
                m = DRAWS // n
                row[f"var_n{n}"] = float(draws[: m * n].reshape(m, n).mean(1).var(ddof=1))
            if f == "square":
                row["closed_var_n1"] = {"sf": square_sf_variance(1, 1), "sf-baseline": square_sf_variance(1, 1, baseline),
                                        "reparam": 4.0}[est]
            rows.append(row)
    return rows


def discrete_table() -> list[dict]:
    from genviz.models.estimators import categorical_estimates, categorical_exact_gradient

    logits, values = np.array([0.3, -0.5, 1.0, 0.0]), np.array([0.2, 1.5, -0.7, 0.9])
    exact = categorical_exact_gradient(logits, values)[0]
    rng = np.random.default_rng(0)
    rows = []
    for est, tau in (("sf", None), ("sf-baseline", None), ("gumbel", 0.1), ("gumbel", 0.5), ("gumbel", 2.0)):
        draws = categorical_estimates(logits, values, est, DRAWS, rng, tau or 1.0)[:, 0]
        rows.append({"bench": "estimators-discrete", "estimator": est, "temperature": tau, "exact": round(float(exact), 5),
                     "bias": float(draws.mean() - exact), "bias_se": float(draws.std() / np.sqrt(DRAWS)),
                     "var_n1": float(draws.var(ddof=1))})
    return rows


def method_speeds(seconds: float = 3.0) -> list[dict]:
    import torch

    from genviz.core.labs import get_lab
    from genviz.core.settings import resolve
    from genviz.labs.estimators.experiment import EstimatorsExperiment

    torch.set_num_threads(1)
    out = []
    for kind in ("vae", "wake-sleep"):
        exp = EstimatorsExperiment(resolve(get_lab("estimators").settings, {"experiment": kind}))
        for i, method in enumerate(exp.methods):
            keep = exp.methods, exp.models, exp.opts
            exp.methods, exp.models, exp.opts = (method,), torch.nn.ModuleList([keep[1][i]]), [keep[2][i]]
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                try:
                    exp.train_step()
                except KeyError:  # the 'loss' key of the experiment's first method
                    pass
                n += 1
            out.append({"bench": "estimators-speed", "experiment": kind, "method": method,
                        "steps_per_sec": round(n / (time.perf_counter() - t0), 1)})
            exp.methods, exp.models, exp.opts = keep
    return out


def run(argv: list[str]) -> int:
    from genviz.bench.live import bench_parser, emit, main as live_main, overrides

    args = bench_parser("estimators", __doc__.splitlines()[0]).parse_args(argv)
    if not args.live_only:
        rows = variance_table()
        for r in rows:
            emit(r)
        print(f"\n{'f':8s} {'estimator':12s} {'exact':>8s} {'mean ± SE':>18s} {'var n=1':>10s} {'n=10':>9s} "
              f"{'n=100':>9s} {'closed n=1':>10s}")
        for r in rows:
            closed = f"{r['closed_var_n1']:10.3f}" if "closed_var_n1" in r else " " * 10
            print(f"{r['f']:8s} {r['estimator']:12s} {r['exact']:8.4f} {r['mean']:9.4f} ± {r['se']:6.4f} "
                  f"{r['var_n1']:10.4g} {r['var_n10']:9.3g} {r['var_n100']:9.3g} {closed}")
        drows = discrete_table()
        for r in drows:
            emit(r)
        print(f"\n{'categorical q':20s} {'bias ± SE':>22s} {'var n=1':>10s}")
        for r in drows:
            name = r["estimator"] + (f" τ={r['temperature']}" if r["temperature"] else "")
            print(f"{name:20s} {r['bias']:11.5f} ± {r['bias_se']:.5f} {r['var_n1']:10.4g}")
        speeds = method_speeds()
        for r in speeds:
            emit(r)
        print("\n" + "; ".join(f"{r['experiment']} {r['method']}: {r['steps_per_sec']} steps/s" for r in speeds) + "\n")
    chosen = overrides(args)
    for kind in [chosen["experiment"]] if "experiment" in chosen else list(EXPERIMENTS):
        live_main("estimators", seconds=args.seconds, engines=args.engines.split(","), data=args.data,
                  overrides={**chosen, "experiment": kind})
    return 0
