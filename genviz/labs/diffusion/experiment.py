"""The diffusion lab's experiment: a small network trained by one of the objectives of
``genviz.models.diffusion`` on 2-D data, sampled by the chosen sampler; for Gaussian-mixture data
(ring8, grid25, gaussian) every view has its exact counterpart (the noised density and its score)."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.experiment import Experiment, adam, guarded_update, to_numpy
from genviz.data.toy2d import make_toy, mode_coverage, spread_ratio
from genviz.labs.diffusion import LAB
from genviz.models.diffusion import DiffusionModel, MixtureMarginals, ode_log_prob, sample

SAMPLES = 500
PATHS = 8
FIELD = 17  # arrows per side of the score field
HEAT = 64
T_BINS = 10
N_TRAIN, N_TEST = 20000, 400
NLL_EVERY = 2000  # training steps between test-NLL evaluations (their cost: docs/references.md, design figures)
NLL_STEPS = 40  # the ODE's steps for the live test NLL: mean error <= 0.08 nats with the exact score (tests)


class DiffusionExperiment(Experiment):
    LAB = LAB
    VIEW = {"t": 0.3}  # the time the score field and the forward noising show (the panel's slider)
    STATE_ATTRS = ("loss_bins", "nll")
    NETWORK_SETTINGS = ("hidden", "layers")  # what a user's own network (--model-code) decides itself

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None,
                 model_code=None):
        super().__init__(settings, seed, device, data)
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.toy = make_toy(self.settings["data"])
        rng = np.random.default_rng(self.seed)
        self.x_train = torch.from_numpy(self.toy.sample(N_TRAIN, rng))
        self.x_test = torch.from_numpy(self.toy.sample(N_TEST, rng))
        s = self.settings
        # with guidance asked for at build time, a mixture's points are labelled by their mode (nearest mean: the
        # modes are far apart against their width) and one network learns the conditional and the unconditional
        # model (classifier-free guidance; labels dropped 10 % of the time); without, the model is unconditional
        labelled = self.toy.modes is not None and len(self.toy.modes) > 1
        self.classes = len(self.toy.modes) if labelled and s["guidance"] > 0 and model_code is None else 0
        self.y_train = self._labels(self.x_train) if self.classes else None
        self.model_code = model_code  # a user's own network (--model-code), or None: the lab's MLP
        if model_code is not None:
            from genviz.core.model_code import ModelCodeError
            from genviz.models.user import load_denoiser

            if s["guidance"] > 0:
                raise ModelCodeError(f"model code {model_code.spec}: guidance needs the lab's own labelled network; "
                                     "with your model keep guidance = 0")
            self.model = load_denoiser(model_code, s["process"], self.x_train[:8], str(self.device)).to(self.device)
        else:
            self.model = DiffusionModel(s["process"], s["hidden"], s["layers"], classes=self.classes).to(self.device)
        self.opt = adam(self.model.parameters(), lr=s["lr"])
        self.params = list(self.model.parameters())
        self.exact = (MixtureMarginals(self.toy.modes, self.toy.std, self.model.process)
                      if self.toy.modes is not None else None)
        self.loss_bins = np.zeros(T_BINS)  # running mean of the loss per t-bin
        self.noise = torch.randn(SAMPLES, 2, generator=torch.Generator().manual_seed(self.seed + 1))
        # the test NLL (mean, se, step), evaluated every NLL_EVERY steps inside training, so a frame depends on the
        # step it shows and never on the machine's speed (a replayed or resumed run shows the same numbers)
        self.nll = self._test_nll_now()

    def _labels(self, x: torch.Tensor) -> torch.Tensor:
        modes = torch.from_numpy(np.asarray(self.toy.modes, np.float32))
        return torch.cdist(x.float(), modes).argmin(1)

    def train_step(self) -> dict[str, float]:
        idx = torch.randint(0, len(self.x_train), (self.settings["batch"],), generator=self.gen)
        y = self.y_train[idx].to(self.device) if self.classes else None
        per, t = self.model.loss(self.x_train[idx].to(self.device), generator=self.gen, y=y, dropout=0.1)
        loss = per.mean()
        ok = guarded_update(loss, self.opt, self.params)
        bins = np.minimum((t.detach().cpu().numpy() * T_BINS).astype(int), T_BINS - 1)
        sums = np.bincount(bins, weights=per.detach().cpu().numpy(), minlength=T_BINS)
        counts = np.bincount(bins, minlength=T_BINS)
        seen = counts > 0
        self.loss_bins[seen] = 0.98 * self.loss_bins[seen] + 0.02 * sums[seen] / counts[seen] if self.step_count else \
            sums[seen] / counts[seen]
        if ok and (self.step_count + 1) % NLL_EVERY == 0:
            self.nll = self._test_nll_now(self.step_count + 1)
        return {"loss": float(loss.detach()) if ok else float("nan")}

    def _test_nll_now(self, step: int = 0) -> list:
        mean, se = self.test_nll()
        return [mean, se, step]

    def on_setting(self, name: str, value) -> None:
        if name == "lr":
            for group in self.opt.param_groups:
                group["lr"] = value

    # -- views ---------------------------------------------------------------------------------------------
    def static_info(self) -> dict:
        return {"extent": tuple(float(v) for v in self.toy.extent), "data": self.x_test.numpy().copy(),
                "modes": None if self.toy.modes is None else np.asarray(self.toy.modes, np.float32),
                "std": self.toy.std, "exact": self.exact is not None, "process": self.settings["process"],
                "dataset": self.toy.name, "t_bins": T_BINS,
                **self.user_model_info()}

    def model_modules(self) -> dict:
        return {"model": self.model}

    def sampler_for(self, sampler: str) -> str:
        """The sampler to use: ancestral DDPM and noisy DDIM exist for the variance-preserving processes only;
        elsewhere the probability-flow ODE stands in (the readout says so)."""
        vp = self.settings["process"] in ("vp-linear", "vp-cosine")
        if sampler == "ddpm" and not vp or sampler == "ddim" and not vp and self.settings["eta"] > 0:
            return "ode"
        return sampler

    def _samples(self, n: int, sampler: str, steps: int, generator=None, trajectory=None, x=None):
        gamma = self.settings["guidance"]
        run = lambda: sample(self.model, n, self.sampler_for(sampler), steps, eta=self.settings["eta"],  # noqa: E731
                             generator=generator, x=x, trajectory=trajectory)
        if not self.classes or gamma == 0:
            return run()
        labels = torch.randint(0, self.classes, (n,), generator=torch.Generator().manual_seed(self.seed + 5))
        with self.model.guiding(labels, gamma):
            return run()

    def _score_field(self, t_view: float) -> dict:
        x0, x1, y0, y1 = self.toy.extent
        xs, ys = np.linspace(x0, x1, FIELD), np.linspace(y0, y1, FIELD)
        gx, gy = np.meshgrid(xs, ys, indexing="xy")
        pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))
        t = torch.full((len(pts),), t_view)
        out = {"field_points": pts.numpy(), "learned": to_numpy(self.model.score(pts, t))}
        if self.exact is not None:
            out["true"] = to_numpy(self.exact.score(pts.double(), t.double()))
            hx, hy = np.linspace(x0, x1, HEAT), np.linspace(y0, y1, HEAT)
            hgx, hgy = np.meshgrid(hx, hy, indexing="xy")
            grid = torch.from_numpy(np.stack([hgx.ravel(), hgy.ravel()], 1))
            out["density"] = np.exp(to_numpy(self.exact.log_prob(grid, torch.tensor(t_view, dtype=torch.float64)),
                                              np.float64)).reshape(HEAT, HEAT).astype(np.float32)
        return out

    def score_error_by_t(self, n: int = 256) -> np.ndarray:
        """E over x_t ~ p_t of b(t)^2 |s_theta - grad log p_t|^2 (the error in the noise it implies), per t-bin."""
        if self.exact is None:
            return np.full(T_BINS, np.nan)
        g = torch.Generator().manual_seed(7)
        out = []
        for i in range(T_BINS):
            t = torch.full((n,), (i + 0.5) / T_BINS)
            x0 = self.x_train[torch.randint(0, len(self.x_train), (n,), generator=g)]
            xt = self.model.process.noise(x0, t, torch.randn(x0.shape, generator=g))
            _, b = self.model.process.ab(t)
            with torch.no_grad():
                diff = self.model.score(xt, t).double() - self.exact.score(xt.double(), t.double())
            out.append(float(((b.double()[:, None] * diff) ** 2).sum(-1).mean()))
        return np.array(out)

    def score_terms(self, t_view: float, n: int = 512) -> dict | None:
        """At the slider's t, the denoising loss in the noise the learned score implies, ε_θ = −b(t) s_θ, split
        exactly per sample with ε* = −b(t) ∇log p_t (the best possible prediction, E[ε | x_t]):
        |ε_θ − ε|² = |ε_θ − ε*|² (the score error) + |ε* − ε|² (irreducible) + 2 (ε_θ − ε*)·(ε* − ε) (mean 0).
        Means over n draws of x_0 and ε (a fixed generator), each with its standard error; None without the exact
        score (a data set that is not a mixture)."""
        if self.exact is None:
            return None
        g = torch.Generator().manual_seed(17)
        t = torch.full((n,), float(min(max(t_view, 1e-3), 1.0)))
        x0 = self.x_train[torch.randint(0, len(self.x_train), (n,), generator=g)]
        eps = torch.randn(x0.shape, generator=g)
        xt = self.model.process.noise(x0, t, eps)
        _, b = self.model.process.ab(t)
        b = b.double()[:, None]
        with torch.no_grad():
            e_model = -b * self.model.score(xt.to(self.device), t.to(self.device)).cpu().double()
        e_best = -b * self.exact.score(xt.double(), t.double())
        e = eps.double()
        parts = {"loss": ((e_model - e) ** 2).sum(-1), "score_error": ((e_model - e_best) ** 2).sum(-1),
                 "irreducible": ((e_best - e) ** 2).sum(-1), "cross": 2 * ((e_model - e_best) * (e_best - e)).sum(-1)}
        out = {"t": float(t[0]), "n": n}
        for key, v in parts.items():
            out[key], out[key + "_se"] = float(v.mean()), float(v.std() / math.sqrt(n))
        return out

    def test_nll(self, points: int = 64, steps: int = NLL_STEPS) -> tuple[float, float]:
        lp = ode_log_prob(self.model, self.x_test[:points].to(self.device), steps=steps).double()
        return -float(lp.mean()), float(lp.std() / math.sqrt(len(lp)))

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        s = self.settings
        t_view = float(min(max(self.view["t"], 0.01), 1.0))
        x = self._samples(SAMPLES, s["sampler"], s["sample_steps"], generator=torch.Generator().manual_seed(11),
                          x=self.noise).cpu()
        paths = {}
        for name in ("sde", "ode"):  # from the same noise
            traj: list = []
            self._samples(PATHS, name, min(s["sample_steps"], 200), generator=torch.Generator().manual_seed(12),
                          x=self.noise[:PATHS], trajectory=traj)
            paths[name] = torch.stack([self.noise[:PATHS]] + [p.cpu() for p in traj]).numpy().astype(np.float32)
        g = torch.Generator().manual_seed(13)
        x0 = self.x_train[:500]
        tt = torch.full((len(x0),), t_view)
        noised = self.model.process.noise(x0, tt, torch.randn(x0.shape, generator=g))
        ode = paths["ode"].astype(np.float64)  # how straight the ODE's paths are: length over displacement
        length = np.linalg.norm(np.diff(ode, axis=0), axis=-1).sum(0)
        ratios = length / np.maximum(np.linalg.norm(ode[-1] - ode[0], axis=-1), 1e-9)
        straightness = float(np.mean(ratios))
        out = {"samples": x.numpy().astype(np.float32), "paths": paths, "t": t_view, "path_ratio": straightness,
               "path_ratio_se": float(ratios.std(ddof=1) / math.sqrt(len(ratios))),
               "sampler_used": self.sampler_for(s["sampler"]),
               "noised": noised.numpy().astype(np.float32), "loss_bins": self.loss_bins.astype(np.float32),
               "score_error": self.score_error_by_t(), **self._score_field(t_view)}
        terms = self.score_terms(t_view)
        if terms is not None:
            out["score_terms"] = terms
        if self.toy.modes is not None:
            cov = mode_coverage(x.numpy(), self.toy.modes, self.toy.std)
            spread, spread_se = self.spread_ratio(x.numpy())
            out.update(modes=cov["modes"], n_modes=cov["n_modes"], hq_percent=cov["hq_percent"],
                       hq_percent_se=cov["hq_percent_se"], reverse_kl=cov["reverse_kl"],
                       reverse_kl_se=cov["reverse_kl_se"], reverse_kl_bias=cov["reverse_kl_bias"], n_hq=cov["n_hq"],
                       min_hq=cov["min_hq"], spread_ratio=spread, spread_ratio_se=spread_se)
        out.update(test_nll=self.nll[0], test_nll_se=self.nll[1], test_nll_step=int(self.nll[2]))
        return out

    def spread_ratio(self, x: np.ndarray) -> tuple[float | None, float | None]:
        return spread_ratio(x, self.toy.modes, self.toy.std)

    QUERIES = {"sample": {"n": 50, "seed": 1}}

    def query(self, name: str, **kwargs):
        if name == "sample":
            n = max(1, min(20000, int(kwargs.get("n", 2000))))
            with torch.no_grad():
                x = self._samples(n, self.settings["sampler"], self.settings["sample_steps"],
                                  generator=torch.Generator().manual_seed(int(kwargs.get("seed", 0))))
            return {"samples": x.numpy().astype(np.float32)}
        return super().query(name, **kwargs)

    def family_view(self):
        """The diffusion model as a column of "one data set, every family": samples by the lab's sampler, log p(x)
        by the probability-flow ODE (the density of the data blurred by the process's smallest noise)."""
        from genviz.core.families import FamilyView

        s = self.settings

        def draw(n: int, g: torch.Generator) -> torch.Tensor:
            return self._samples(n, s["sampler"], s["sample_steps"], generator=g).detach().cpu()

        def log_prob(x: torch.Tensor) -> torch.Tensor:
            return ode_log_prob(self.model, x.to(self.device), steps=NLL_STEPS).double()

        return FamilyView("diffusion", draw, "ode", log_prob,
                          note=f"by the probability-flow ODE ({NLL_STEPS} Heun steps), as the lab's own test NLL")

    def final_metrics(self) -> dict:
        with torch.no_grad():
            x = self._samples(2000, self.settings["sampler"], self.settings["sample_steps"],
                              generator=torch.Generator().manual_seed(11))
        nll, se = self.test_nll(points=400, steps=100)
        err = self.score_error_by_t()
        out = {"lab": "diffusion", "steps": self.step_count, "data": self.toy.name, "process": self.settings["process"],
               "sampler": self.settings["sampler"], "sample_steps": self.settings["sample_steps"],
               "test_nll_nats": nll, "test_nll_se": se,
               "score_error": None if np.isnan(err).all() else float(np.mean(err))}
        if self.toy.modes is not None:
            cov = mode_coverage(x.numpy(), self.toy.modes, self.toy.std)
            spread, spread_se = self.spread_ratio(x.numpy())
            out.update(modes=cov["modes"], n_modes=cov["n_modes"], hq_percent=cov["hq_percent"],
                       rev_kl=cov["reverse_kl"], rev_kl_se=cov["reverse_kl_se"], rev_kl_bias=cov["reverse_kl_bias"],
                       hq_percent_se=cov["hq_percent_se"],
                       spread_ratio=spread, spread_ratio_se=spread_se,
                       guidance=self.settings["guidance"])
        return out

    def model_state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict()}
