"""The posterior lab's experiment: a 2-D-latent VAE (ELBO or IWAE training) and, for one chosen x,
the true posterior by quadrature and every approximation measured against it (pure core, no Qt)."""
from __future__ import annotations

import time

import numpy as np
import torch

from genviz.core.experiment import guarded_update, to_numpy
from genviz.vae.experiment import VAEExperiment, elbo_numbers
from genviz.labs.posterior import LAB
from genviz.labs.posterior import inference as inf

IWAE_KS = (1, 10, 100, 1000)
IW_VIEW_KS = (1, 10, 100)
IW_VIEW_DRAWS = 400
HMC_CHAINS = 16
HMC_WARMUP = 15  # step-size adaptation iterations, discarded
HMC_MAX_ITERATIONS = 1500  # per example and model state, after which the cloud stops growing
QSTAR_MAX_STEPS = 1500
TABLE_POINTS = 16  # test images of the live gap table (setting gap_table)
TABLE_GRID = 64  # their quadrature grid
TABLE_QSTAR_STEPS = 25  # q* steps per image and snapshot (warm-started from the last snapshot's fit)
TABLE_SAMPLES = 400  # ELBO draws per image (common random numbers for L[q] and L[q*])
ELBO_SAMPLES = 2000


class PosteriorExperiment(VAEExperiment):
    LAB = LAB

    # the VAE family's model with a 2-D latent and the plain ELBO weighting
    FIXED_SETTINGS = {"latent": 2, "beta": 1.0, "warmup": 0}
    VIEW = {"example": 0}  # the data point x whose posterior is shown (the panel's choice)

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None,
                 model_code=None, model=None):
        super().__init__(settings, seed, device, data, model_code, model)
        self.state: dict = {}  # inference for the chosen x: q*, full-cov q*, HMC, at one model step
        self.gen = torch.Generator().manual_seed(self.seed)

    # -- training -------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        if self.settings["objective"] != "iwae":
            m = super().train_step()
            return {"loss": m["loss"], "neg_bound": m["neg_elbo"], "kl": m["kl"]}
        self.model.train()
        loss, bound = self.model.iwae_loss(self.batch(), int(self.settings["k"]))
        guarded_update(loss, self.optimizer, self.params)
        return {"loss": float(loss.detach()), "neg_bound": float(-bound.detach().mean())}

    def on_view(self, name: str, value) -> None:
        self.state = {}

    def on_state_loaded(self) -> None:
        self.state = {}

    # -- inference for the chosen x ------------------------------------------------------------------
    def chosen_x(self) -> torch.Tensor:
        return self.x_eval[int(self.view["example"]) % len(self.x_eval)]

    def _state(self) -> dict:
        """Per-x inference state; q* keeps its fit across model steps (a warm start), HMC restarts
        when the model has changed (samples of an older posterior would be wrong)."""
        x = self.chosen_x()
        model = self.model.eval()
        q = inf.encoder_q(model, x)
        st = self.state
        if st.get("fit_step") != self.step_count:
            # a new model: each q* restarts from the better of its last fit and the encoder's q,
            # with a fresh step budget (a fit to an older model can be worse than q itself)
            for key, full in (("qstar", False), ("qfull", True)):
                start = q
                if key in st:
                    old = st[key].q()
                    if float(inf.elbo_of(model, x, old, 500)) > float(inf.elbo_of(model, x, q, 500)):
                        start = inf.Gaussian2D(old.mu.detach(), old.scale_tril.detach(), full)
                st[key] = inf.OptimalGaussian(start, full=full)
            st["fit_step"] = self.step_count
        if st.get("hmc_step") != self.step_count or not self.settings["hmc"]:
            st["hmc"] = inf.HMC(q.rsample(HMC_CHAINS), step_size=0.5 * float(q.scale_tril.diagonal().min()),
                                adapt=HMC_WARMUP, seed=self.seed + self.step_count)
            st["hmc_step"] = self.step_count
        st["q"] = q
        return st

    def _advance(self, st: dict, qstar_steps: int, hmc_iterations: int) -> None:
        x, model = self.chosen_x(), self.model
        for key in ("qstar", "qfull") if self.settings["full_cov"] else ("qstar",):
            if st[key].steps < QSTAR_MAX_STEPS:
                st[key].fit(model, x, qstar_steps)
        if self.settings["hmc"] and st["hmc"].iterations < HMC_MAX_ITERATIONS:
            st["hmc"].run(model, x, hmc_iterations)

    def _fits(self, st: dict) -> dict:
        x, model = self.chosen_x(), self.model
        out = {}
        for key in ("qstar", "qfull") if self.settings["full_cov"] else ("qstar",):
            q = st[key].q()
            st.setdefault("draws", {})[key] = draws = inf.elbo_samples(model, x, q, ELBO_SAMPLES)
            elbo, se = inf.mean_se(draws)
            out[key] = {**q.numpy(), "elbo": elbo, "elbo_se": se, "steps": st[key].steps,
                        "provisional": st[key].steps < QSTAR_MAX_STEPS}
        if self.settings["hmc"]:
            h = st["hmc"]
            draws = h.draws()
            ess = [inf.effective_sample_size(draws[..., d]) for d in range(2)] if len(draws) else [float("nan")] * 2
            rhat = max(inf.split_rhat(draws[..., d]) for d in range(2)) if len(draws) else float("nan")
            # how far a chain moves per iteration, in the cloud's own standard deviations (HMC's long jumps)
            travel = float("nan")
            if len(draws) >= 3:
                sd = float(np.sqrt(draws.reshape(-1, 2).var(0).mean()))
                travel = float(np.linalg.norm(np.diff(draws, axis=0), axis=-1).mean() / sd) if sd > 0 else float("nan")
            out["hmc"] = {"samples": draws.reshape(-1, 2).astype(np.float32), "ess": ess, "rhat": rhat,
                          **h.trajectories(), "leapfrog": h.leapfrog, "travel": travel,
                          "acceptance": h.acceptance, "step_size": h.eps, "iterations": h.iterations}
        return out

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return self._light()
        model = self.model.eval()
        x = self.chosen_x()
        st = self._state()
        q = st["q"]
        t0 = time.perf_counter()
        grid = inf.grid_posterior(model, x, int(self.settings["grid"]),
                                  hint=(q.mu.numpy(), q.scale_tril.diagonal().numpy()))
        grid_ms = (time.perf_counter() - t0) * 1e3
        self._advance(st, 40, 2 * HMC_WARMUP)  # while training, each model state gets warm-up + as many draws
        fits = self._fits(st)
        st.setdefault("draws", {})["q"] = draws = inf.elbo_samples(model, x, q, ELBO_SAMPLES)
        elbo_q, se_q = inf.mean_se(draws)
        iwae = inf.iwae_bounds_se(model, x, IWAE_KS)
        mu_eval, _ = model.encode_params(self.x_eval)
        # every Monte Carlo number has its standard error in "se" (log p(x) is quadrature: exact
        # to the grid's resolution); the panel prints no more digits than that allows
        numbers = {"log_px": grid.log_px, "elbo_q": elbo_q, "kl_q": grid.log_px - elbo_q,
                   **{f"iwae_{k}": v for k, (v, _) in iwae.items()},
                   "se": {"elbo_q": se_q, "kl_q": se_q, **{f"iwae_{k}": s for k, (_, s) in iwae.items()}}}
        self._gaps(numbers, fits, st)
        st["numbers"] = numbers  # live refinements update the q* entries of these
        table = {"gap_table": self.gap_table(model)} if self.settings["gap_table"] else {}
        return {**table,
            "example": int(self.view["example"]) % len(self.x_eval),
            "posterior": grid.log_density.astype(np.float32), "extent": grid.extent,
            "levels": grid.mass_levels((0.5, 0.9, 0.99)), "grid_ms": grid_ms,
            "post_mean_cov": [a.astype(np.float64) for a in grid.mean_cov()],
            "q": q.numpy(), **fits, "numbers": numbers,
            "iw": {k: inf.iw_resample(model, x, k, IW_VIEW_DRAWS, self.gen).astype(np.float32) for k in IW_VIEW_KS},
            "points": to_numpy(mu_eval), **elbo_numbers(model.elbo_terms(self.x_test[:1000])),
        }

    def gap_table(self, model) -> dict:
        """Cremer et al.'s table live: over TABLE_POINTS test images, log p(x) by quadrature, L[q*] (a diagonal
        Gaussian fitted to each image, warm-started from its fit at the last snapshot, so it converges as training
        goes) and L[q] (common random numbers), their means and the gaps' means ± SE over the images."""
        fits = getattr(self, "_table_fits", None)
        if fits is None:
            fits = self._table_fits = {}
        rows = []
        for i, x in enumerate(self.x_test[:TABLE_POINTS]):
            q = inf.encoder_q(model, x)
            log_px = inf.grid_posterior(model, x, TABLE_GRID, hint=(q.mu.numpy(), q.scale_tril.diagonal().numpy())).log_px
            lq = inf.elbo_samples(model, x, q, TABLE_SAMPLES)
            opt = fits.get(i)
            # the last snapshot's fit is a warm start only while it is still better than the encoder's q (the model
            # moves under it as training goes): else q* starts again from q, so it never reads below L[q]
            if opt is None or inf.elbo_samples(model, x, opt.q(), TABLE_SAMPLES).mean() < lq.mean():
                opt = fits[i] = inf.OptimalGaussian(q, full=False)
            opt.fit(model, x, TABLE_QSTAR_STEPS)
            lstar = inf.elbo_samples(model, x, opt.q(), TABLE_SAMPLES)
            rows.append((log_px, float(lq.mean()), float(lstar.mean())))
        r = np.asarray(rows, np.float64)
        n = len(r)

        def mean_se(v: np.ndarray) -> tuple[float, float]:
            return float(v.mean()), float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")

        out = {"points": n, "qstar_steps": int(np.median([o.steps for o in fits.values()])), "grid": TABLE_GRID}
        for key, v in (("log_px", r[:, 0]), ("elbo_q", r[:, 1]), ("elbo_qstar", r[:, 2]),
                       ("approximation_gap", r[:, 0] - r[:, 2]), ("amortization_gap", r[:, 2] - r[:, 1]),
                       ("inference_gap", r[:, 0] - r[:, 1]),
                       # Cremer et al.'s finding, paired over the images: amortization costs more than the Gaussian
                       ("amortization_lead", (r[:, 2] - r[:, 1]) - (r[:, 0] - r[:, 2]))):
            out[key], out[key + "_se"] = mean_se(v)
        return out

    @staticmethod
    def _gaps(numbers: dict, fits: dict, st: dict) -> None:
        se = numbers.setdefault("se", {})
        numbers["provisional"] = sorted(k for k, f in fits.items() if isinstance(f, dict) and f.get("provisional"))
        draws = st.get("draws", {})
        if "qstar" in fits:
            numbers["elbo_qstar"] = fits["qstar"]["elbo"]
            numbers["approximation_gap"] = numbers["log_px"] - fits["qstar"]["elbo"]
            numbers["amortization_gap"] = fits["qstar"]["elbo"] - numbers["elbo_q"]
            se["elbo_qstar"] = se["approximation_gap"] = fits["qstar"]["elbo_se"]
            if "q" in draws and "qstar" in draws:  # paired draws (common random numbers)
                se["amortization_gap"] = inf.mean_se(draws["qstar"] - draws["q"])[1]
        if "qfull" in fits:
            numbers["elbo_qfull"] = fits["qfull"]["elbo"]
            se["elbo_qfull"] = fits["qfull"]["elbo_se"]

    def _light(self) -> dict:
        """While paused: keep fitting q* and growing the HMC cloud, a few milliseconds at a time."""
        st = self.state
        if not st or st.get("hmc_step") != self.step_count or "numbers" not in st:
            return {}
        done = all(st[k].steps >= QSTAR_MAX_STEPS for k in ("qstar", "qfull")) and \
            (not self.settings["hmc"] or st["hmc"].iterations >= HMC_MAX_ITERATIONS)
        if done:
            return {}
        self._advance(st, 10, 4)
        fits = self._fits(st)
        self._gaps(st["numbers"], fits, st)
        return {"live": {"example": int(self.view["example"]) % len(self.x_eval), **fits,
                         "numbers": dict(st["numbers"])}}

    # -- report ----------------------------------------------------------------------------------
    QUERIES = {"metrics": {"points": 2, "qstar_steps": 20}}  # (small examples: the full figures take a minute)

    def final_metrics(self, iwae: int = 0, points: int = 100, qstar_steps: int = 500) -> dict:
        """The inference-gap decomposition averaged over test points (Cremer et al. 2018, Table 2):
        log p(x) by quadrature, L[q*] (diagonal and full covariance), L[q], and IWAE L_5000."""
        out = super().final_metrics(iwae)
        out["lab"] = "posterior"
        out["objective"] = self.settings["objective"] + (f" k={self.settings['k']}" if self.settings["objective"] == "iwae" else "")
        model = self.model.eval()
        torch.manual_seed(self.seed + 2)
        rows, grid_ms = [], []
        t_start = time.perf_counter()
        for i, x in enumerate(self.x_test[:points]):
            if i:
                left = (time.perf_counter() - t_start) / i * (min(points, len(self.x_test)) - i)
                self.report(f"inference gaps: test point {i + 1}/{points} (about {left:.0f} s left)")
            q = inf.encoder_q(model, x)
            t0 = time.perf_counter()  # what picking a new x costs the views (200 x 200 grid)
            inf.grid_posterior(model, x, 200, hint=(q.mu.numpy(), q.scale_tril.diagonal().numpy()))
            grid_ms.append((time.perf_counter() - t0) * 1e3)
            log_px = inf.grid_posterior(model, x, 300, hint=(q.mu.numpy(), q.scale_tril.diagonal().numpy())).log_px
            fits = {}
            for key, full in (("qstar", False), ("qfull", True)):
                opt = inf.OptimalGaussian(q, full=full)
                opt.fit(model, x, qstar_steps)
                fits[key] = float(inf.elbo_of(model, x, opt.q(), ELBO_SAMPLES))
            with torch.no_grad():
                rows.append([log_px, float(inf.elbo_of(model, x, q, ELBO_SAMPLES)), fits["qstar"], fits["qfull"],
                             float(model.iwae_bound(x[None], k=5000))])
        r = np.array(rows)
        mean = r.mean(0)
        out["gap_decomposition"] = {
            "points": len(r), "qstar_steps": qstar_steps,
            "log_px_quadrature": mean[0], "elbo_q": mean[1], "elbo_qstar_diag": mean[2], "elbo_qstar_full": mean[3],
            "iwae_5000": mean[4], "approximation_gap": mean[0] - mean[2], "amortization_gap": mean[2] - mean[1],
            "inference_gap": mean[0] - mean[1],
            # IWAE is a lower bound whose estimate converges slowly when q misses a posterior mode:
            # there it falls far below the quadrature (which a wider, finer grid confirms)
            "median_abs_quadrature_minus_iwae5000": float(np.median(np.abs(r[:, 0] - r[:, 4]))),
            "share_within_0.05_of_iwae5000": float(np.mean(np.abs(r[:, 0] - r[:, 4]) <= 0.05)),
            "max_abs_quadrature_minus_iwae5000": float(np.abs(r[:, 0] - r[:, 4]).max()),
        }
        out["gap_decomposition"] = {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v)
                                    for k, v in out["gap_decomposition"].items()}
        out["posterior_grid_200_ms"] = {"p50": round(float(np.percentile(grid_ms, 50)), 1),
                                        "p95": round(float(np.percentile(grid_ms, 95)), 1),
                                        "torch_threads": torch.get_num_threads()}
        return out
