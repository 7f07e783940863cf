"""The Gibbs-chain lab's experiment (pure core): an RBM trained by CD-k or PCD-k on binarized images,
display chains that run from noise, data or a chosen image (optionally clamped), a film strip of
half-steps, chain diagnostics, and AIS estimates of the test log-likelihood in the background."""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F

from genviz.core.experiment import Experiment, half, to_compact, to_numpy
from genviz.data import load_dataset
from genviz.labs.gibbs import LAB
from genviz.models.rbm import RBM, ais, ais_betas, base_rate_bias

FILM = 12  # half-steps kept for the film strip (chain 0)
TRACE = 400  # steps of per-chain statistics kept for the autocorrelation
MAX_LAG = 60
EVAL = 1000  # test images for pseudo-likelihood and free energy


def autocorrelation(trace: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean over chains of the normalised autocorrelation of a statistic: trace [T, chains]."""
    x = trace - trace.mean(0, keepdims=True)
    var = (x ** 2).mean(0)
    keep = var > 1e-12
    if not keep.any() or len(x) < 3:
        return np.zeros(0, np.float32)
    x, var = x[:, keep], var[keep]
    lags = min(max_lag, len(x) - 2)
    out = [float(((x[: len(x) - lag] * x[lag:]).mean(0) / var).mean()) for lag in range(lags + 1)]
    return np.array(out, np.float32)


def clamp_mask(name: str, shape: tuple[int, int], painted: np.ndarray | None) -> np.ndarray | None:
    h, w = shape
    m = np.zeros((h, w), bool)
    if name == "none":
        return None
    if name == "top half":
        m[: h // 2] = True
    elif name == "bottom half":
        m[h // 2:] = True
    elif name == "left half":
        m[:, : w // 2] = True
    elif name == "right half":
        m[:, w // 2:] = True
    elif name == "painted":
        if painted is None or not painted.any():
            return None
        m = painted.reshape(h, w).astype(bool)
    return m.reshape(-1)


class GibbsExperiment(Experiment):
    LAB = LAB

    STATE_ATTRS = ("velocity", "persistent", "chains", "chain_h", "chain_ph", "chain_pv", "next_half", "film",
                   "chain_steps", "stat_trace", "class_trace", "painted")

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        s = self.settings
        torch.manual_seed(self.seed)
        self.gen = torch.Generator(device=self.device).manual_seed(self.seed)
        self.index_gen = torch.Generator().manual_seed(self.seed + 1)  # minibatch and restart picks
        self.dataset = load_dataset(data, seed=self.seed)
        self.shape = self.dataset.shape
        n = len(self.dataset)
        flat = (torch.from_numpy(self.dataset.images.reshape(n, -1)) > 0.5).float()  # binarized once
        perm = np.random.default_rng(self.seed).permutation(n)
        n_test = max(1, min(n // 10, 10000))
        self.x_test = flat[perm[:n_test]].to(self.device)
        self.x_train = flat[perm[n_test:]].to(self.device)
        self.test_labels = None if self.dataset.labels is None else self.dataset.labels[perm[:n_test]]
        mean = self.x_train.mean(0)
        # Hinton's practical guide: visible biases at the data's log-odds, hidden at 0, W ~ N(0, 0.01^2)
        self.rbm = RBM(flat.shape[1], s["hidden"], visible_bias=base_rate_bias(mean)).to(self.device)
        self.velocity = {name: torch.zeros_like(p) for name, p in self.params().items()}
        self.persistent = self._data_batch(s["batch"])
        # nearest class mean: a cheap labeller for "how often do chains change class"
        labels = None if self.dataset.labels is None else self.dataset.labels[perm[n_test:]]
        if labels is not None:
            ids = torch.from_numpy(labels).to(self.device)
            self.class_means = torch.stack([self.x_train[ids == c].mean(0) if (ids == c).any()
                                            else torch.zeros_like(mean) for c in range(int(labels.max()) + 1)])
        else:
            self.class_means = None
        self.painted: np.ndarray | None = None
        self.ais_state: dict = {"running": False}
        self._ais_thread: threading.Thread | None = None
        self.restart_chains()

    def params(self) -> dict[str, torch.Tensor]:
        return {"W": self.rbm.W, "b": self.rbm.b, "c": self.rbm.c}

    def _data_batch(self, n: int) -> torch.Tensor:
        idx = torch.randint(0, len(self.x_train), (n,), generator=self.index_gen).to(self.device)
        return self.x_train[idx]

    # -- chains ---------------------------------------------------------------------------------
    def reference(self) -> torch.Tensor:
        return self.x_test[self.settings["image"] % len(self.x_test)]

    def restart_chains(self, start: str | None = None) -> None:
        s = self.settings
        start = start or s["start"]
        n = s["chains"]
        if start == "data":
            idx = torch.randint(0, len(self.x_test), (n,), generator=self.index_gen).to(self.device)
            self.chains = self.x_test[idx].clone()
        elif start == "image":
            self.chains = self.reference().expand(n, -1).clone()
        else:
            self.chains = torch.bernoulli(torch.full((n, self.rbm.n_visible), 0.5, device=self.device),
                                          generator=self.gen)
        self.chain_h = torch.zeros(n, self.rbm.n_hidden, device=self.device)
        self.chain_ph = torch.zeros(n, self.rbm.n_hidden, device=self.device)
        self.chain_pv = self.chains.clone()
        self.next_half = "h"  # the next half-step samples h from v
        self.film: list[tuple[str, np.ndarray]] = [("v", to_numpy(self.chains[0]))]
        self.chain_steps = 0
        self.stat_trace: list[np.ndarray] = []
        self.class_trace: list[np.ndarray] = []
        self._apply_clamp()

    def _mask(self):
        m = clamp_mask(self.settings["clamp"], self.shape, self.painted)
        return None if m is None else torch.from_numpy(m).to(self.device)

    def _apply_clamp(self) -> None:
        m = self._mask()
        if m is not None:
            self.chains = torch.where(m, self.reference(), self.chains)

    @torch.no_grad()
    def half_step(self) -> None:
        """Sample h from v, or v from h (then clamp): what one click of '½ step' does."""
        W, b, c = self.rbm.W, self.rbm.b, self.rbm.c
        if self.next_half == "h":
            pre = self.chains @ W + c
            self.chain_ph = torch.sigmoid(pre)
            self.chain_h = torch.bernoulli(self.chain_ph, generator=self.gen)
            # the free energy of the current v comes free with the pre-activations
            free = -(self.chains @ b) - F.softplus(pre).sum(-1)
            self._record(free)
            self.film.append(("h", to_numpy(self.chain_h[0])))
            self.next_half = "v"
        else:
            self.chain_pv = torch.sigmoid(self.chain_h @ W.T + b)
            self.chains = torch.bernoulli(self.chain_pv, generator=self.gen)
            self._apply_clamp()
            self.film.append(("v", to_numpy(self.chains[0])))
            self.next_half = "h"
            self.chain_steps += 1
        del self.film[:-FILM]

    def _record(self, free: torch.Tensor) -> None:
        self.stat_trace.append(to_numpy(free))
        if self.class_means is not None:
            d = torch.cdist(self.chains, self.class_means)
            self.class_trace.append(d.argmin(1).cpu().numpy())
        if len(self.stat_trace) > TRACE:
            del self.stat_trace[: len(self.stat_trace) - TRACE]
            del self.class_trace[: max(0, len(self.class_trace) - TRACE)]

    def gibbs_step(self) -> None:
        self.half_step()
        self.half_step()

    # -- training ---------------------------------------------------------------------------
    @torch.no_grad()
    def train_step(self) -> dict[str, float]:
        s = self.settings
        if s["mode"] == "sample":
            self.gibbs_step()
            return {"chain_free_energy": float(self.stat_trace[-1].mean())}
        v_data = self._data_batch(s["batch"])
        if s["method"] == "pcd":
            if len(self.persistent) != s["batch"]:
                self.persistent = self._data_batch(s["batch"])
            self.persistent, _, _ = self.rbm.gibbs(self.persistent, s["k"], generator=self.gen)
            v_model = self.persistent
        else:
            v_model, _, _ = self.rbm.gibbs(v_data, s["k"], generator=self.gen)
        grads = self.rbm.cd_gradients(v_data, v_model)
        grads["W"] = grads["W"] - s["weight_decay"] * self.rbm.W
        new_velocity = {k: s["momentum"] * self.velocity[k] + s["lr"] * g for k, g in grads.items()}
        if not all(bool(torch.isfinite(v).all()) for v in new_velocity.values()):
            return {"recon_error": float("nan")}  # the engine pauses; the weights are untouched
        for k, p in self.params().items():
            self.velocity[k] = new_velocity[k]
            p.add_(new_velocity[k])
        recon = float(self.rbm.reconstruction_error(v_data).mean())
        self.gibbs_step()
        return {"recon_error": recon}

    def on_setting(self, name: str, value) -> None:
        if name in ("clamp", "image"):
            self._apply_clamp()

    # -- AIS in the background ------------------------------------------------------------------
    def start_ais(self) -> dict:
        if self.ais_state.get("running"):
            return self.ais_state
        s = self.settings
        frozen = RBM(self.rbm.n_visible, self.rbm.n_hidden).to(self.device)
        frozen.load_state_dict(self.rbm.state_dict())  # a copy: training goes on meanwhile
        state = {"running": True, "progress": 0.0, "step": self.step_count, "runs": s["ais_runs"]}
        self.ais_state = state
        base = base_rate_bias(self.x_train.mean(0))
        betas = ais_betas(s["ais_scale"])
        x_test = self.x_test
        threads = torch.get_num_threads()

        def work():
            # OpenMP's thread count is per thread: without this a new thread uses every core and
            # oversubscribes the CPU next to the training loop (docs/references.md, design figures)
            torch.set_num_threads(threads)
            try:
                t0 = time.perf_counter()
                log_z, per_run = ais(frozen, base, runs=state["runs"], betas=betas,
                                     generator=torch.Generator(device=self.device).manual_seed(self.seed + 99),
                                     progress=lambda p: state.__setitem__("progress", p))
                with torch.no_grad():
                    mean_neg_f = float(torch.cat([-frozen.free_energy(c) for c in x_test.split(2000)]).double().mean())
                # spread: log Z from each half of the runs, and the per-run estimates' standard deviation
                w = per_run - per_run.max()
                sem = float(w.exp().std() / math.sqrt(len(w)) / w.exp().mean())
                # log_z_se: the delta method's standard error of log Z (the relative SE of the mean weight)
                state.update(running=False, progress=1.0, log_z=log_z, test_ll=mean_neg_f - log_z,
                             neg_free_energy=mean_neg_f, log_z_se=sem, test_images=len(x_test),
                             per_run_std=float(per_run.std()),
                             ll_low=mean_neg_f - log_z - math.log1p(3 * sem) if 3 * sem < 1 else float("-inf"),
                             ll_high=mean_neg_f - log_z - math.log(max(1e-12, 1 - 3 * sem)),
                             temperatures=len(betas), seconds=round(time.perf_counter() - t0, 2))
            except Exception as exc:  # shown in the panel; training is unaffected
                state.update(running=False, error=f"{type(exc).__name__}: {exc}")

        self._ais_thread = threading.Thread(target=work, name="genviz-ais", daemon=True)
        self._ais_thread.start()
        return dict(state)

    # -- views ------------------------------------------------------------------------------
    def static_info(self) -> dict:
        return {"dataset": self.dataset.name, "image_shape": self.shape, "hidden": self.rbm.n_hidden,
                "chains": self.settings["chains"], "n_test": len(self.x_test),
                "has_classes": self.class_means is not None}

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        out = {"chains": to_compact(self.chains),
               "film": [(kind, img.astype(np.uint8) if ((img == 0) | (img == 1)).all() else half(img))
                        for kind, img in self.film],
               "hidden_p": to_numpy(self.chain_ph[0]), "chain_steps": self.chain_steps, "next_half": self.next_half,
               "ais": dict(self.ais_state)}
        if not heavy:
            return out
        x = self.x_test[:EVAL]
        fe_data, fe_chain = self.rbm.free_energy(x).double(), self.rbm.free_energy(self.chains).double()
        f_data, f_chain = float(fe_data.mean()), float(fe_chain.mean())
        pll = self.rbm.pseudo_likelihood(x, generator=torch.Generator(device=self.device).manual_seed(1)).double()
        out.update(
            filters=to_compact(self.rbm.W.T[:100]),
            # one random bit per image: an unbiased, noisy estimate, shown with its standard error
            pseudo_ll=float(pll.mean()), pseudo_ll_se=float(pll.std() / math.sqrt(len(pll))) if len(pll) > 1 else None,
            # means over the test images and over the free chains (independent): each with its standard error
            free_energy_data=f_data, free_energy_chains=f_chain, free_energy_data_se=_se(fe_data),
            free_energy_chains_se=_se(fe_chain),
            # F(v) = -b.v - sum_j softplus(c_j + W_j.v), its two parts averaged over the same test images
            free_energy_parts={"visible": float((-x @ self.rbm.b).double().mean()),
                               "hidden": float((-F.softplus(x @ self.rbm.W + self.rbm.c).sum(-1)).double().mean()),
                               "images": int(len(x))},
            reference=to_numpy(self.reference()), clamp=self.settings["clamp"],
            mask=None if (mask := self._mask()) is None else mask.cpu().numpy())
        if len(self.stat_trace) >= 3:
            acf = autocorrelation(np.stack(self.stat_trace), MAX_LAG)
            below = np.nonzero(acf < 0.1)[0]
            out["autocorrelation"] = acf
            # Gibbs steps until F(v) of the free chains decorrelates (ACF < 0.1); None: not within MAX_LAG
            out["decorrelation_steps"] = int(below[0]) if len(below) else None
        if len(self.class_trace) >= 2:
            labels = np.stack(self.class_trace)
            # each chain's share of steps that changed class; the chains are independent, the steps of one
            # chain are not: the standard error is over the chains
            per_chain = (labels[1:] != labels[:-1]).mean(0)
            out["class_switch_rate"] = float(per_chain.mean())
            out["class_switch_rate_se"] = float(per_chain.std(ddof=1) / math.sqrt(len(per_chain))) \
                if len(per_chain) > 1 else None
            out["chain_classes"] = labels[-1]
        return out

    PARTS = {"half": "a half Gibbs step of the shown chains (h from v, or v from h)",
             "restart": "the shown chains restarted (args: start = noise, data or image)",
             "paint": "the pixels painted on the reference clamped (args: mask, one bool a pixel)"}
    QUERIES = {"ais": {}}

    def train_part(self, part: str, **kwargs) -> dict[str, float]:
        """The panel's ½ step, Restart chains and painted clamp: they change the chains (and the training's random
        stream), so they are counted steps, recorded and checkpointed, never queries."""
        if part == "half":
            self.half_step()
            return {"next_half_v": float(self.next_half == "v")}
        if part == "restart":
            self.restart_chains(kwargs.get("start"))
            return {}
        mask = np.asarray(kwargs["mask"], bool).reshape(-1)
        if mask.shape != (self.rbm.n_visible,):
            raise ValueError(f"the painted mask has {mask.size} pixels, the images {self.rbm.n_visible}")
        self.painted = mask
        self._apply_clamp()
        return {"painted": float(mask.sum())}

    def query(self, name: str, **kwargs):
        if name == "ais":
            return self.start_ais()
        return super().query(name, **kwargs)

    def background_busy(self) -> bool:
        return bool(self.ais_state.get("running"))

    def wait_for_background(self, timeout: float) -> None:
        self.wait_for_ais(timeout)

    def wait_for_ais(self, timeout: float = 3600.0) -> dict:
        if self._ais_thread is not None:
            self._ais_thread.join(timeout)
        return dict(self.ais_state)

    @torch.no_grad()
    def final_metrics(self, ais: bool = False) -> dict:
        x = self.x_test[:EVAL]
        out = {"lab": "gibbs", "method": self.settings["method"], "k": self.settings["k"],
               "hidden": self.rbm.n_hidden, "steps": self.step_count, "dataset": self.dataset.name,
               "recon_error": float(self.rbm.reconstruction_error(x).mean()),
               "pseudo_ll": float(self.rbm.pseudo_likelihood(x, generator=torch.Generator().manual_seed(1)).mean())}
        if ais:
            self.start_ais()
            res = self.wait_for_ais()
            out.update({k: res[k] for k in ("test_ll", "log_z", "per_run_std", "ll_low", "ll_high", "temperatures",
                                            "runs", "seconds", "error") if k in res})
        return out

    def model_state(self) -> dict:
        return {"rbm": self.rbm.state_dict(), "velocity": self.velocity}


def _se(values: torch.Tensor) -> float | None:
    """The standard error of the mean of independent ``values`` (None for fewer than two)."""
    return float(values.std() / math.sqrt(len(values))) if len(values) > 1 else None
