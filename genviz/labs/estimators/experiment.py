"""The gradient-estimator lab's experiments, one per setting ``experiment``:

- ``variance``: 256 single-sample estimates of d/dmu E_{N(mu, sigma^2)}[f(z)] per step and estimator
  (score function, score function with a running-mean baseline, reparameterization), against the exact
  gradient; their variance for averages of n samples and their signal-to-noise ratio.
- ``discrete``: the same for a categorical q (gradient in its logits, exact by enumeration): score function,
  with a baseline, and the Gumbel-softmax relaxation at the chosen temperature, whose bias and variance
  against the temperature are measured in every snapshot.
- ``vae``: three copies of one small VAE on the binarized digits, trained from the same start with the same
  minibatches by the reparameterized ELBO, the score-function ELBO, and the score-function ELBO with a baseline.
- ``iwae``: three copies of one small VAE trained from the same start with the same minibatches on the IWAE
  bound with k = 1 (the ELBO), 5 and 50 importance samples (Burda et al. 2016): test log-likelihood by
  importance sampling and active latent units side by side.
- ``vamp``: one small VAE with the standard normal prior and a copy with a VampPrior (Tomczak & Welling 2018), the
  mixture of the encoder's own posteriors at K learned pseudo-inputs, from the same start on the same minibatches:
  how far each prior is from the aggregate posterior of the training images (KL(q(z) ‖ p(z)) by Monte Carlo ± SE)
  and test log p(x).
- ``ardecoder``: one small VAE with a factorized decoder and a copy whose decoder is autoregressive (a MADE on x,
  its hidden layer also fed z), same start and minibatches: the expressive decoder models x without z, so the KL
  term (the information z carries) falls (Bowman et al. 2016; Chen et al. 2017, "Variational lossy autoencoder").
- ``wake-sleep``: three Helmholtz machines (binary latents) trained by wake-sleep, reweighted wake-sleep and
  a score-function ELBO with a baseline; test log p(x) exact by enumerating the latent states.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genviz.core.experiment import Experiment, guarded_update, to_compact
from genviz.data import load_dataset
from genviz.labs.estimators import LAB
from genviz.models.estimators import (Decoder1D, HelmholtzMachine, categorical_estimates, categorical_exact_gradient,
                                      exact_gradient, f_and_df, gaussian_estimates, square_sf_variance,
                                      wake_sleep_losses)

PER_STEP = 256  # single-sample estimates per estimator and step
KEEP = 8192  # the most recent estimates kept per estimator (histograms, variance of n-sample averages)
BLOCKS = (1, 2, 4, 8, 16, 32, 64, 128)
GAUSSIAN = ("sf", "sf-baseline", "reparam")
DISCRETE = ("sf", "sf-baseline", "gumbel")
TEMPERATURES = np.geomspace(0.05, 5.0, 9)
VAE_METHODS = ("reparam", "sf", "sf-baseline")
WS_METHODS = ("wake-sleep", "rws", "sf-elbo")
IWAE_KS = (1, 5, 50)
IWAE_METHODS = tuple(f"k{k}" for k in IWAE_KS)
VAMP_METHODS = ("standard", "vamp")
AR_METHODS = ("factorized", "autoregressive")
PRIOR_GRID = 80  # the priors' density images (2-D latent)
EVAL = 500
NLL_IMAGES, NLL_SAMPLES = 200, 500  # the iwae experiment's test log p(x): L_500 on 200 held-out images
ACTIVE = 0.01  # a latent unit is active when Cov_x(E_q[z_j | x]) > 0.01 (Burda et al. 2016, sec. 5.2)


def block_variances(values: np.ndarray) -> list[float | None]:
    """The variance of the mean of n consecutive estimates, for n in BLOCKS (None: too few blocks)."""
    out = []
    for n in BLOCKS:
        m = len(values) // n
        out.append(float(values[: m * n].reshape(m, n).mean(1).var(ddof=1)) if m >= 16 else None)
    return out


class SmallVAE(nn.Module):
    def __init__(self, d: int, latent: int, hidden: int):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, d))

    def q(self, x: torch.Tensor) -> torch.distributions.Normal:
        mu, log_sigma = self.enc(x).chunk(2, -1)
        return torch.distributions.Normal(mu, torch.exp(log_sigma.clamp(-8, 4)))

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        logits = self.dec(z)
        lik = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
        return lik + torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)

    def elbo(self, x: torch.Tensor, draws: int = 1) -> torch.Tensor:
        q = self.q(x)
        z = q.sample((draws,))
        return (self.log_joint(x, z) - q.log_prob(z).sum(-1)).mean(0)

    def iwae_bound(self, x: torch.Tensor, k: int, reparam: bool = True) -> torch.Tensor:
        """L_k per image: log (1/k) Σ_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (reparameterized) -> [batch]."""
        q = self.q(x)
        z = q.rsample((k,)) if reparam else q.sample((k,))
        log_w = self.log_joint(x, z) - q.log_prob(z).sum(-1)
        return torch.logsumexp(log_w, 0) - math.log(k)


class VampVAE(SmallVAE):
    """SmallVAE with a VampPrior (Tomczak & Welling 2018): p(z) = (1/K) Σ_k q(z | u_k), the encoder's posteriors at K
    pseudo-inputs u_k (learned; sigmoid keeps them in (0, 1), started at K training images), so the prior can take the
    shape of the aggregate posterior. Its KL to q(z|x) has no closed form: the ELBO uses log p(z) − log q(z|x) at the
    posterior's draw."""

    def __init__(self, d: int, latent: int, hidden: int, start: torch.Tensor):
        super().__init__(d, latent, hidden)
        self.pseudo = nn.Parameter(start.clone())

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        q = self.q(torch.sigmoid(self.pseudo))
        lp = q.log_prob(z.unsqueeze(-2)).sum(-1)  # [..., K]
        return torch.logsumexp(lp, -1) - math.log(self.pseudo.shape[0])

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        logits = self.dec(z)
        lik = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
        return lik + self.log_prior(z)


class ARDecoderVAE(SmallVAE):
    """SmallVAE whose decoder is autoregressive: logits_i = dec(z)_i + MADE(x_<i, z)_i, a one-hidden-layer MADE
    (Germain et al. 2015; raster order, hidden degrees 1 … D − 1) whose hidden units also see z. p(x|z) stays exact
    (each pixel given the ones before it and z), so the ELBO and L_k are computed as for SmallVAE; what changes is
    that the decoder can model x without z (Chen et al. 2017)."""

    def __init__(self, d: int, latent: int, hidden: int, ar_hidden: int):
        super().__init__(d, latent, hidden)
        degree = torch.arange(ar_hidden) % max(1, d - 1) + 1
        i = torch.arange(1, d + 1)
        self.register_buffer("mask_in", (degree[:, None] >= i[None, :]).float())  # hidden h sees x_j, j <= m(h)
        self.register_buffer("mask_out", (i[:, None] > degree[None, :]).float())  # output i sees h with m(h) < i
        self.w_in = nn.Parameter(torch.randn(ar_hidden, d) / math.sqrt(d))
        self.b_in = nn.Parameter(torch.zeros(ar_hidden))
        self.w_z = nn.Parameter(torch.randn(ar_hidden, latent) / math.sqrt(latent))
        self.w_out = nn.Parameter(torch.zeros(d, ar_hidden))  # zero at the start: the same decoder as its twin

    def logits(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(x @ (self.w_in * self.mask_in).T + self.b_in + z @ self.w_z.T)
        return self.dec(z) + h @ (self.w_out * self.mask_out).T

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        logits = self.logits(x.expand(*z.shape[:-1], x.shape[-1]), z)
        lik = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
        return lik + torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)


def standard_log_prior(z: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)


class RecentRows:
    """The last ``keep`` rows appended, as one contiguous array, oldest first (``view``): rows go into a buffer of
    twice that size, which moves its last rows to its front when full (once every ``keep / n`` appends), not a
    copy of all ``keep`` at every append (a quarter of the discrete experiment's step: py-spy)."""

    def __init__(self, keep: int, start: np.ndarray | None = None) -> None:
        self.keep, self.buf, self.end = int(keep), None, 0
        self.view = start
        self._start = None if start is None else np.asarray(start)[-self.keep:]

    def extend(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows)[-self.keep:]
        n = len(rows)
        if self.buf is None:
            first = self._start
            if first is not None and (first.shape[1:] != rows.shape[1:] or first.dtype != rows.dtype):
                first = None  # estimates of another shape: a new question
            self.buf = np.empty((2 * self.keep,) + rows.shape[1:], rows.dtype)
            self.end = 0 if first is None else len(first)
            if first is not None:
                self.buf[:self.end] = first
            self._start = None
        if self.end + n > len(self.buf):
            moved = self.keep - n
            self.buf[:moved] = self.buf[self.end - moved:self.end]
            self.end = moved
        self.buf[self.end:self.end + n] = rows
        self.end += n
        self.view = self.buf[max(0, self.end - self.keep):self.end]
        return self.view


class EstimatorsExperiment(Experiment):
    LAB = LAB
    STATE_ATTRS = ("est_state",)

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        torch.manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.kind = self.settings["experiment"]
        self.kept: dict[str, np.ndarray] = {}
        self.baseline = 0.0  # running means of f or of the learning signal (baselines)
        self.baselines: dict[str, float] = {}
        if self.kind == "variance":
            self.decoder = Decoder1D(seed=self.seed)
        elif self.kind == "discrete":
            k = self.settings["categories"]
            self.logits = np.random.default_rng(self.seed + 1).normal(0, 0.7, k)
            self.values = np.random.default_rng(self.seed + 2).uniform(-1, 1, k)
        else:
            self._build_models(data)

    # -- data and models for vae / wake-sleep ----------------------------------------------------------
    def _build_models(self, data: str | None) -> None:
        ds = load_dataset(data, seed=self.seed)
        self.shape = tuple(ds.shape)
        x = torch.from_numpy((ds.images.reshape(len(ds), -1) > 0.5).astype(np.float32))
        perm = torch.from_numpy(np.random.default_rng(self.seed).permutation(len(x)))
        n_test = max(1, min(len(x) // 10, 10000))
        self.x_test, self.x_train = x[perm[:n_test]], x[perm[n_test:]]
        self.dataset = ds.name
        d, s = x.shape[1], self.settings
        if self.kind in ("vae", "iwae"):
            first = SmallVAE(d, s["latent"], s["hidden"])
            methods = VAE_METHODS if self.kind == "vae" else IWAE_METHODS
            self.models = nn.ModuleList([copy.deepcopy(first) for _ in methods])  # one start for all
        elif self.kind == "vamp":
            first = SmallVAE(d, s["latent"], s["hidden"])
            pick = torch.randint(0, len(self.x_train), (s["pseudo"],), generator=self.gen)
            start = torch.logit(self.x_train[pick].clamp(0.05, 0.95))  # pseudo-inputs start at training images
            vamp = VampVAE(d, s["latent"], s["hidden"], start)
            vamp.load_state_dict({**first.state_dict(), "pseudo": start})  # the same encoder and decoder start
            self.models = nn.ModuleList([first, vamp])
        elif self.kind == "ardecoder":
            first = SmallVAE(d, s["latent"], s["hidden"])
            ar = ARDecoderVAE(d, s["latent"], s["hidden"], s["ar_hidden"])
            ar.load_state_dict({**ar.state_dict(), **first.state_dict()})  # the same encoder and decoder start
            self.models = nn.ModuleList([first, ar])
        else:
            first = HelmholtzMachine(d, s["latents"], seed=self.seed)
            self.models = nn.ModuleList([copy.deepcopy(first) for _ in WS_METHODS])
        self.opts = [torch.optim.Adam(m.parameters(), lr=s["lr"]) for m in self.models]
        for i, opt in enumerate(self.opts):  # attributes of their own: checkpoints hold every optimizer's state
            setattr(self, f"opt_{i}", opt)
        self.methods = {"vae": VAE_METHODS, "iwae": IWAE_METHODS, "vamp": VAMP_METHODS,
                        "ardecoder": AR_METHODS}.get(self.kind, WS_METHODS)
        self.baselines = {m: 0.0 for m in self.methods}

    def _batch(self) -> torch.Tensor:
        idx = torch.randint(0, len(self.x_train), (self.settings["batch"],), generator=self.gen)
        return self.x_train[idx]

    # -- steps ---------------------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        return getattr(self, "_step_" + self.kind.replace("-", "_"))()

    def _keep(self, name: str, values: np.ndarray) -> None:
        """Append this step's estimates to the most recent KEEP of ``name`` (``self.kept[name]``, oldest first)."""
        old = self.kept.get(name)
        recent = self.__dict__.setdefault("_recent", {})
        tail = recent.get(name)
        if tail is None or tail.view is not old:  # a first step, or kept replaced (a restore, a new question)
            tail = recent[name] = RecentRows(KEEP, old)
        self.kept[name] = tail.extend(values)

    def _step_variance(self) -> dict:
        s = self.settings
        f, _ = f_and_df(s["f"], self.decoder)
        out = {}
        for est in GAUSSIAN:
            draws = gaussian_estimates(s["f"], est, s["mu"], s["sigma"], PER_STEP, self.rng, self.decoder,
                                       baseline=self.baseline)
            self._keep(est, draws)
            out[f"mean_{est}"] = float(self.kept[est].mean())
        # the baseline: a running mean of f from this step's fresh draws, used from the next step on
        fresh = float(np.mean(f(s["mu"] + s["sigma"] * self.rng.standard_normal(PER_STEP))))
        self.baseline = fresh if self.step_count == 0 else 0.9 * self.baseline + 0.1 * fresh
        out["loss"] = float(np.var(self.kept["sf"]))
        return out

    def _step_discrete(self) -> dict:
        out = {}
        for est in DISCRETE:
            draws = categorical_estimates(self.logits, self.values, est, PER_STEP, self.rng, self.settings["temperature"])
            self._keep(est, draws)
            out[f"mean_{est}"] = float(self.kept[est][:, 0].mean())
        out["loss"] = float(self.kept["sf"][:, 0].var())
        return out

    def _step_vae(self) -> dict:
        x = self._batch()
        out = {}
        for method, model, opt in zip(self.methods, self.models, self.opts):
            if method == "reparam":
                q = model.q(x)
                z = q.rsample()
                elbo = model.log_joint(x, z) - q.log_prob(z).sum(-1)
                loss = -elbo.mean()
            else:
                q = model.q(x)
                z = q.sample()
                log_q = q.log_prob(z).sum(-1)
                log_joint = model.log_joint(x, z)
                elbo = (log_joint - log_q).detach()
                b = self.baselines[method] if method == "sf-baseline" else 0.0
                loss = -(log_joint + (elbo - b) * log_q).mean()
                self.baselines[method] = 0.9 * self.baselines[method] + 0.1 * float(elbo.mean())
            ok = guarded_update(loss, opt, list(model.parameters()))
            out[f"elbo_{method}"] = float(elbo.detach().mean()) if ok else float("nan")
        out["loss"] = -out["elbo_reparam"]
        return out

    def _step_iwae(self) -> dict:
        x = self._batch()  # the same minibatch for all three
        out = {}
        for k, method, model, opt in zip(IWAE_KS, self.methods, self.models, self.opts):
            bound = model.iwae_bound(x, k)
            ok = guarded_update(-bound.mean(), opt, list(model.parameters()))
            out[f"bound_{method}"] = float(bound.detach().mean()) if ok else float("nan")
        out["loss"] = -out["bound_k1"]
        return out

    def _step_ardecoder(self) -> dict:
        return self._step_vamp()

    def _step_vamp(self) -> dict:
        x = self._batch()  # the same minibatch for both
        out = {}
        for method, model, opt in zip(self.methods, self.models, self.opts):
            q = model.q(x)
            z = q.rsample()
            elbo = model.log_joint(x, z) - q.log_prob(z).sum(-1)  # one draw, the KL by Monte Carlo for both
            ok = guarded_update(-elbo.mean(), opt, list(model.parameters()))
            out[f"elbo_{method}"] = float(elbo.detach().mean()) if ok else float("nan")
        out["loss"] = -out[f"elbo_{self.methods[0]}"]
        return out

    def _step_wake_sleep(self) -> dict:
        x = self._batch()
        out = {}
        for method, model, opt in zip(self.methods, self.models, self.opts):
            gen_loss, rec_loss, info = wake_sleep_losses(model, x, method, k=self.settings["k"],
                                                         baseline=self.baselines[method], generator=self.gen)
            ok = guarded_update(gen_loss + rec_loss, opt, list(model.parameters()))
            if "signal" in info:
                self.baselines[method] = 0.9 * self.baselines[method] + 0.1 * info["signal"]
            out[f"train_{method}"] = float(gen_loss.detach()) if ok else float("nan")
        out["loss"] = out["train_wake-sleep"]
        return out

    def on_setting(self, name: str, value) -> None:
        if name in ("f", "mu", "sigma", "temperature"):  # a new question: the old estimates do not answer it
            self.kept = {}
            self.baseline = 0.0
        if name == "lr" and self.kind in ("vae", "wake-sleep", "iwae", "vamp", "ardecoder"):
            for opt in self.opts:
                for group in opt.param_groups:
                    group["lr"] = value

    # -- checkpoint state ----------------------------------------------------------------------------------
    @property
    def est_state(self) -> dict:
        return {"kept": {k: np.array(v) for k, v in self.kept.items()}, "baseline": self.baseline,
                "baselines": dict(self.baselines)}

    @est_state.setter
    def est_state(self, state: dict) -> None:
        self.kept = {k: np.array(v) for k, v in state["kept"].items()}
        self.baseline = float(state["baseline"])
        self.baselines = {k: float(v) for k, v in state["baselines"].items()}

    # -- views -----------------------------------------------------------------------------------------
    def static_info(self) -> dict:
        info = {"experiment": self.kind, "blocks": np.array(BLOCKS)}
        if self.kind == "discrete":
            info.update(logits=self.logits.copy(), values=self.values.copy(),
                        exact=categorical_exact_gradient(self.logits, self.values),
                        temperatures=TEMPERATURES.copy())
        elif self.kind in ("vae", "wake-sleep", "iwae", "vamp", "ardecoder"):
            info.update(methods=list(self.methods), image_shape=self.shape, dataset=self.dataset,
                        n_test=min(EVAL, len(self.x_test)), test_image=to_compact(self.x_test[0]))
            if self.kind == "iwae":
                info.update(ks=list(IWAE_KS), nll_images=min(NLL_IMAGES, len(self.x_test)), nll_samples=NLL_SAMPLES,
                            latent=int(self.settings["latent"]))
        return info

    def _summaries(self, kept: dict[str, np.ndarray], exact: float) -> dict:
        """Per estimator: mean with its SE, variance, SNR, the variance of n-sample averages, and a density
        histogram of its recent estimates on bins shared by all (from the 0.5 to the 99.5 percentile)."""
        recent = {k: v[-4096:] for k, v in kept.items()}
        if not recent:
            return {}
        lo = min(float(np.percentile(v, 0.5)) for v in recent.values())
        hi = max(float(np.percentile(v, 99.5)) for v in recent.values())
        lo, hi = min(lo, exact), max(hi, exact)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, 61)
        out = {}
        for name, values in kept.items():
            n = len(values)
            sd = float(values.std(ddof=1)) if n > 1 else float("nan")
            mean = float(values.mean())
            counts = np.histogram(np.clip(recent[name], lo, hi), bins=edges)[0]
            # the sample variance's standard error from the fourth central moment (iid estimates)
            m4 = float(((values - mean) ** 4).mean()) if n > 1 else float("nan")
            var_se = math.sqrt(max(m4 - sd ** 4 * (n - 3) / (n - 1), 0.0) / n) if n > 3 else None
            out[name] = {"mean": mean, "se": sd / math.sqrt(n) if n > 1 else None, "var": sd ** 2, "var_se": var_se, "n": n,
                         "snr": abs(mean) / sd if sd > 0 else None, "block_var": block_variances(values),
                         "hist": (counts / (len(recent[name]) * (edges[1] - edges[0]))).astype(np.float32),
                         "edges": edges.astype(np.float32)}
        return out

    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        if self.kind == "variance":
            s = self.settings
            exact = exact_gradient(s["f"], s["mu"], s["sigma"], self.decoder)
            out = {"exact": exact, "baseline": self.baseline,
                   "estimators": self._summaries({e: self.kept[e] for e in GAUSSIAN if e in self.kept}, exact)}
            if s["f"] == "square":  # closed-form single-sample variances
                out["closed_var"] = {"sf": square_sf_variance(s["mu"], s["sigma"]),
                                     "sf-baseline": square_sf_variance(s["mu"], s["sigma"], self.baseline),
                                     "reparam": 4 * s["sigma"] ** 2}
            if "sf" in self.kept and "reparam" in self.kept and out["estimators"]["reparam"]["var"] > 0:
                out["variance_ratio"] = out["estimators"]["sf"]["var"] / max(out["estimators"]["reparam"]["var"], 1e-300)
                out["baseline_ratio"] = out["estimators"]["sf"]["var"] / max(out["estimators"]["sf-baseline"]["var"], 1e-300)
            return out
        if self.kind == "discrete":
            exact = categorical_exact_gradient(self.logits, self.values)
            out = {"exact": exact, "estimators": self._summaries({e: self.kept[e][:, 0] for e in DISCRETE
                                                                  if e in self.kept}, float(exact[0]))}
            bias, se, var = self._temperature_sweep(exact)
            g = out["estimators"].get("gumbel")
            if g is not None and g["se"]:
                out["gumbel_bias_z"] = abs(g["mean"] - float(exact[0])) / g["se"]  # the bias in standard errors
            out.update(temperature=self.settings["temperature"], tau_bias=np.array(bias), tau_bias_se=np.array(se), tau_var=np.array(var),
                       gumbel_bias=out["estimators"].get("gumbel", {}).get("mean", exact[0]) - float(exact[0]))
            return out
        if self.kind == "vae":
            return self._vae_snapshot()
        if self.kind == "iwae":
            return self._iwae_snapshot()
        if self.kind == "ardecoder":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(1_000_003 * self.seed + self.step_count)
                return self._ar_numbers()
        if self.kind == "vamp":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(1_000_003 * self.seed + self.step_count)
                return self._vamp_numbers()
        return self._ws_snapshot()

    def _temperature_sweep(self, exact: np.ndarray) -> tuple[list, list, list]:
        """The relaxation's bias (± SE) and variance against the temperature, component 0 of the gradient, from
        20,000 draws at each of 9 temperatures. A property of the run's fixed logits and values, so computed once
        (70 ms: at every heavy snapshot it took 9 % of the experiment's worker time), from a stream of its own by
        seed: drawing it from training's would make the curves depend on how often the window takes a snapshot."""
        key = (self.seed, self.logits.tobytes(), self.values.tobytes())
        cached = getattr(self, "_sweep", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        bias, se, var = [], [], []
        rng = np.random.default_rng([self.seed, 7])
        for tau in TEMPERATURES:
            est = categorical_estimates(self.logits, self.values, "gumbel", 20000, rng, float(tau))[:, 0]
            bias.append(float(est.mean() - exact[0]))
            se.append(float(est.std(ddof=1) / math.sqrt(len(est))))
            var.append(float(est.var(ddof=1)))
        self._sweep = (key, (bias, se, var))
        return bias, se, var

    @torch.no_grad()
    def _ar_numbers(self) -> dict:
        """Per model on held-out images: the KL term (closed form, ± SE over images; the information z carries), the
        reconstruction term, test −log p(x) by L_500 ± SE, active units; the factorized decoder's KL over the
        autoregressive one's (how much less z is used), and samples decoded from the prior."""
        x = self.x_test[:NLL_IMAGES]
        out = {"kl": {}, "kl_se": {}, "nll": {}, "nll_se": {}, "active": {}, "samples": {}}
        z = torch.randn(16, self.settings["latent"])
        per = {}
        for method, model in zip(self.methods, self.models):
            q = model.q(x)
            kl = per[method] = (0.5 * (q.mean ** 2 + q.variance - 1 - q.variance.log())).sum(-1).double()
            out["kl"][method], out["kl_se"][method] = float(kl.mean()), float(kl.std() / math.sqrt(len(kl)))
            ll = torch.cat([model.iwae_bound(p, NLL_SAMPLES, reparam=False) for p in x.split(50)]).double()
            out["nll"][method], out["nll_se"][method] = -float(ll.mean()), float(ll.std() / math.sqrt(len(ll)))
            act = model.q(self.x_test[:EVAL]).mean.double().var(0)
            out["active"][method] = int((act > ACTIVE).sum())
            if isinstance(model, ARDecoderVAE):  # ancestral sampling, pixel by pixel given z
                xs = torch.zeros(len(z), model.dec[-1].out_features)
                for i in range(xs.shape[1]):
                    xs[:, i] = torch.bernoulli(torch.sigmoid(model.logits(xs, z)[:, i]))
            else:
                xs = torch.bernoulli(torch.sigmoid(model.dec(z)))
            out["samples"][method] = to_compact(xs)
        a, b = self.methods
        out["kl_ratio"] = out["kl"][b] / max(out["kl"][a], 1e-9)
        d = per[a] - per[b]  # paired over the same images
        out["kl_drop"], out["kl_drop_se"] = float(d.mean()), float(d.std() / math.sqrt(len(d)))
        return out

    @torch.no_grad()
    def _vamp_numbers(self) -> dict:
        """Per model: test −log p(x) by L_500 ± SE; over 500 training images (what the prior is trained to match), the
        KL term split into mutual information and KL(q(z) ‖ p(z)) (genviz.vae.aggregate: Monte Carlo ± SE, each
        model's own prior); with a 2-D latent, the prior's density and those images' encoder means for the view."""
        from genviz.vae.aggregate import marginal_kl

        x, xa = self.x_test[:NLL_IMAGES], self.x_train[:EVAL]
        out = {"nll": {}, "nll_se": {}, "marginal_kl": {}, "marginal_kl_se": {}, "mutual_info": {},
               "mutual_info_se": {}, "mean_kl": {}, "mean_kl_se": {}, "means": {}, "prior_density": {}, "extent": {}}
        per = {}
        for method, model in zip(self.methods, self.models):
            ll = per[method] = torch.cat([model.iwae_bound(p, NLL_SAMPLES, reparam=False) for p in x.split(50)]).double()
            out["nll"][method], out["nll_se"][method] = -float(ll.mean()), float(ll.std() / math.sqrt(len(ll)))
            q = model.q(xa)
            mu, logvar = q.mean, 2 * q.stddev.log()
            log_prior = model.log_prior if isinstance(model, VampVAE) else standard_log_prior
            m = marginal_kl(mu, logvar, 2000, torch.Generator().manual_seed(self.seed + 5), log_prior=log_prior)
            for key in ("marginal_kl", "mutual_info", "mean_kl"):
                out[key][method], out[key + "_se"][method] = m[key], m[key + "_se"]
            if mu.shape[1] == 2:
                out["means"][method] = mu.numpy().astype(np.float32)
                lim = float(max(3.0, 1.1 * mu.abs().max()))
                t = torch.linspace(-lim, lim, PRIOR_GRID)
                gy, gx = torch.meshgrid(t, t, indexing="ij")
                grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
                out["prior_density"][method] = log_prior(grid).exp().reshape(PRIOR_GRID, PRIOR_GRID).numpy().astype(np.float32)
                out["extent"][method] = (-lim, lim, -lim, lim)
        d = per["vamp"] - per["standard"]
        out.update(nll_lead=float(d.mean()), nll_lead_se=float(d.std() / math.sqrt(len(d))),
                   prior_gain=out["marginal_kl"]["standard"] - out["marginal_kl"]["vamp"],
                   prior_gain_se=math.hypot(out["marginal_kl_se"]["standard"], out["marginal_kl_se"]["vamp"]))
        return out

    @torch.no_grad()
    def _iwae_snapshot(self) -> dict:
        """Per model: test log p(x) estimated by L_500 on held-out images (a lower bound, tight to within its
        shortfall; Burda et al. report L_5000), the test ELBO on the same images, both ± SE over images, the active
        latent units (Cov_x E_q[z_j|x] > 0.01 over 500 images) and each unit's activity; the k = 50 model's lead
        over k = 1, paired over the same images. A stream of its own per step, so what the snapshot draws does
        not change training."""
        with torch.random.fork_rng(devices=[]):  # training's stream is left as it was
            torch.manual_seed(1_000_003 * self.seed + self.step_count)
            return self._iwae_numbers()

    def _iwae_numbers(self) -> dict:
        x, xa = self.x_test[:NLL_IMAGES], self.x_test[:EVAL]
        out = {"nll": {}, "nll_se": {}, "elbo": {}, "elbo_se": {}, "active": {}, "activity": {}}
        per = {}
        for method, model in zip(self.methods, self.models):
            ll = per[method] = torch.cat([model.iwae_bound(part, NLL_SAMPLES, reparam=False) for part in x.split(50)]).double()
            out["nll"][method], out["nll_se"][method] = -float(ll.mean()), float(ll.std() / math.sqrt(len(ll)))
            e = model.elbo(x, draws=1).double()
            out["elbo"][method], out["elbo_se"][method] = float(e.mean()), float(e.std() / math.sqrt(len(e)))
            act = model.q(xa).mean.double().var(0)
            out["activity"][method] = act.numpy().astype(np.float32)
            out["active"][method] = int((act > ACTIVE).sum())
        d = per["k50"] - per["k1"]
        out.update(nll_lead=float(d.mean()), nll_lead_se=float(d.std() / math.sqrt(len(d))),
                   active_gain=out["active"]["k50"] - out["active"]["k1"])
        return out

    @torch.no_grad()
    def _vae_snapshot(self) -> dict:
        x = self.x_test[:EVAL]
        out = {"test_elbo": {}, "test_elbo_se": {}}
        per = {}
        for method, model in zip(self.methods, self.models):
            e = per[method] = model.elbo(x, draws=10).double()
            out["test_elbo"][method] = float(e.mean())
            out["test_elbo_se"][method] = float(e.std() / math.sqrt(len(e)))
        # paired over the same test images: the differences' own standard errors
        for a, b in (("reparam", "sf"), ("sf-baseline", "sf")):
            d = per[a] - per[b]
            out[f"lead_{a}_over_{b}"] = float(d.mean())
            out[f"lead_{a}_over_{b}_se"] = float(d.std() / math.sqrt(len(d)))
        return out

    @torch.no_grad()
    def _ws_snapshot(self) -> dict:
        x = self.x_test[:EVAL]
        out = {"log_px": {}, "log_px_se": {}, "fantasies": {}, "posterior": {}, "q": {}, "kl": {}}
        g = torch.Generator().manual_seed(0)
        x0 = self.x_test[:1]
        per = {}
        for method, model in zip(self.methods, self.models):
            lp = per[method] = model.log_px(x).double()
            out["log_px"][method] = float(lp.mean())
            out["log_px_se"][method] = float(lp.std() / math.sqrt(len(lp)))
            _, xs = model.sample_p(16, generator=g)
            out["fantasies"][method] = to_compact(xs)
            post = model.posterior(x0)[0]  # over every latent state
            marg = (post[:, None] * model.states).sum(0)
            q = torch.sigmoid(model.q_logits(x0))[0]
            out["posterior"][method] = marg.numpy().astype(np.float32)
            out["q"][method] = q.numpy().astype(np.float32)
            # KL(q(h|x) || p(h|x)) exactly, averaged over up to 100 test images
            xk = x[:100]
            log_post = torch.log_softmax(model.log_px_table(xk), -1)  # [n, S]
            log_q = model.log_q(model.states.unsqueeze(0), xk.unsqueeze(1))  # [n, S]
            out["kl"][method] = float((torch.exp(log_q) * (log_q - log_post)).sum(-1).mean())
        d = per["rws"] - per["wake-sleep"]  # paired over the same test images
        out.update(rws_lead=float(d.mean()), rws_lead_se=float(d.std() / math.sqrt(len(d))))
        return out

    def final_metrics(self) -> dict:
        out = {"lab": "estimators", "experiment": self.kind, "steps": self.step_count}
        snap = self.snapshot(heavy=True)
        if self.kind in ("variance", "discrete"):
            out["exact"] = snap["exact"] if self.kind == "variance" else snap["exact"].tolist()
            out["estimators"] = {e: {k: v for k, v in d.items() if k in ("mean", "se", "var", "snr", "n")}
                                 for e, d in snap["estimators"].items()}
        elif self.kind == "ardecoder":
            out.update(kl=snap["kl"], kl_se=snap["kl_se"], nll=snap["nll"], nll_se=snap["nll_se"], active=snap["active"],
                       kl_ratio=snap["kl_ratio"], methods=list(self.methods), dataset=self.dataset)
        elif self.kind == "vamp":
            out.update(nll=snap["nll"], nll_se=snap["nll_se"], marginal_kl=snap["marginal_kl"],
                       marginal_kl_se=snap["marginal_kl_se"], mutual_info=snap["mutual_info"], nll_lead=snap["nll_lead"],
                       nll_lead_se=snap["nll_lead_se"], methods=list(self.methods), dataset=self.dataset,
                       pseudo_inputs=self.settings["pseudo"])
        elif self.kind == "iwae":
            out.update(nll=snap["nll"], nll_se=snap["nll_se"], elbo=snap["elbo"], elbo_se=snap["elbo_se"],
                       active=snap["active"], nll_lead=snap["nll_lead"], nll_lead_se=snap["nll_lead_se"],
                       methods=list(self.methods), dataset=self.dataset, latent=self.settings["latent"])
        elif self.kind == "vae":
            out.update(test_elbo=snap["test_elbo"], test_elbo_se=snap["test_elbo_se"], methods=list(self.methods),
                       dataset=self.dataset, **{k: v for k, v in snap.items() if k.startswith("lead_")})
        else:
            out.update(log_px=snap["log_px"], log_px_se=snap["log_px_se"], kl_q_posterior=snap["kl"],
                       rws_lead=snap["rws_lead"], rws_lead_se=snap["rws_lead_se"],
                       methods=list(self.methods), latents=self.settings["latents"], dataset=self.dataset,
                       test_images=min(EVAL, len(self.x_test)))
        return out

    def model_state(self) -> dict:
        state = {"experiment": self.kind}
        if self.kind in ("vae", "wake-sleep", "iwae", "vamp", "ardecoder"):
            state["models"] = self.models.state_dict()
        return state
