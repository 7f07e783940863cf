"""The Boltzmann-machine lab's experiment (pure core): a general Boltzmann machine learned by the Boltzmann learning
rule (or its exact gradient), and a two-layer deep belief net trained greedily, one RBM at a time, on bars and
stripes. Every likelihood, KL and bound a view shows is exact, by enumeration (genviz.models.boltzmann)."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.experiment import Experiment, to_compact, to_numpy
from genviz.core.settings import SettingError
from genviz.labs.boltzmann import LAB
from genviz.models.boltzmann import (MAX_UNITS, BoltzmannMachine, bars_and_stripes, dbn_log_prob_and_bound,
                                     kl_from_uniform, pattern_index, pcd_step, rbm_log_prob)
from genviz.models.rbm import RBM

SHOWN_CHAINS = 64  # fantasy particles drawn
REPEATS = 4  # the DBN's second RBM sees each pattern's hidden activities sampled this many times per step


def dbn_h1_data(rbm1: RBM, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The second RBM's data: h1 ~ q(h1 | v) of the frozen first RBM, REPEATS draws per pattern."""
    return torch.bernoulli(rbm1.p_h(x).repeat(REPEATS, 1), generator=generator)


def bm_step(bm: BoltzmannMachine, x: torch.Tensor, positive_h: torch.Tensor, negative: torch.Tensor, s: dict,
            generator: torch.Generator) -> tuple[dict, torch.Tensor]:
    """One update of the general BM (the sampled learning rule, or the exact gradient), refused (nothing changes)
    when it is not finite. Returns its metrics (the exact KL after it) and the positive phase's hidden states."""
    if s["gradient"] == "exact":
        e = bm.exact(x)
        g_w, g_b = e["grad_W"], e["grad_b"]
    else:
        g = bm.sampled_gradient(x, positive_h, negative, s["k"], generator)
        g_w, g_b, positive_h = g["W"], g["b"], g["positive_h"]
    if not (bool(torch.isfinite(g_w).all()) and bool(torch.isfinite(g_b).all())):
        return {"kl": float("nan")}, positive_h
    bm.apply(g_w, g_b, s["lr"])
    log_pv = bm.exact()["log_pv"]
    kl = kl_from_uniform(float(log_pv[pattern_index(x)].mean()), len(x))
    return {"loss": kl, "kl": kl, "data_mass": float(log_pv[pattern_index(x)].exp().sum())}, positive_h


def dbn_metrics(rbm1: RBM, top: RBM, x: torch.Tensor, second: bool, kl_rbm: float | None = None) -> dict:
    """The exact KLs of the first RBM alone and, once the second is training, of the DBN and of its bound.
    ``kl_rbm``: the first RBM's, when the caller knows it (it is frozen in the second stage)."""
    if kl_rbm is None:
        kl_rbm = kl_from_uniform(float(rbm_log_prob(rbm1, x).mean()), len(x))
    if not second:
        return {"loss": kl_rbm, "kl_rbm": kl_rbm}
    log_p, bound = dbn_log_prob_and_bound(rbm1, top, x)
    kl_dbn = kl_from_uniform(float(log_p.mean()), len(x))
    kl_bound = kl_from_uniform(float(bound.mean()), len(x))
    return {"loss": kl_dbn, "kl_rbm": kl_rbm, "kl_dbn": kl_dbn, "kl_bound": kl_bound}


class BoltzmannExperiment(Experiment):
    LAB = LAB

    STATE_ATTRS = ("positive_h", "negative", "persistent1", "persistent2", "velocity1", "velocity2")

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        s = self.settings
        self.kind = s["experiment"]
        torch.manual_seed(self.seed)
        self.gen = torch.Generator(device=self.device).manual_seed(self.seed)
        self.x = bars_and_stripes(s["size"]).to(self.device)
        v, h = self.x.shape[1], s["hidden"]
        self.positive_h = self.negative = self.persistent1 = self.persistent2 = None
        self.velocity1 = self.velocity2 = None
        if self.kind == "bm":
            if v + h > MAX_UNITS:
                raise SettingError(f"a Boltzmann machine of {v} visible and {h} hidden units: its exact log Z sums "
                                   f"over 2^{v + h} states; at most {MAX_UNITS} units (a smaller size or fewer hidden)")
            self.bm = BoltzmannMachine(v, h, s["connect"], generator=self.gen).to(self.device)
            self.positive_h = torch.bernoulli(torch.full((len(self.x), h), 0.5, dtype=torch.float64,
                                                         device=self.device), generator=self.gen)
            self.negative = torch.bernoulli(torch.full((s["chains"], v + h), 0.5, dtype=torch.float64,
                                                       device=self.device), generator=self.gen)
        else:
            self.rbm1 = RBM(v, h, init_std=0.1).double().to(self.device)
            self.top = RBM(h, v, init_std=0.1).double().to(self.device)
            self.velocity1 = {name: torch.zeros_like(p) for name, p in (("W", self.rbm1.W), ("b", self.rbm1.b),
                                                                         ("c", self.rbm1.c))}
            self.velocity2 = {name: torch.zeros_like(p) for name, p in (("W", self.top.W), ("b", self.top.b),
                                                                         ("c", self.top.c))}
            self.persistent1 = torch.bernoulli(torch.full((s["chains"], v), 0.5, dtype=torch.float64,
                                                          device=self.device), generator=self.gen)
            self.persistent2 = torch.bernoulli(torch.full((s["chains"], h), 0.5, dtype=torch.float64,
                                                          device=self.device), generator=self.gen)

    # -- training --------------------------------------------------------------------------------------------
    @property
    def second_layer(self) -> bool:
        """The DBN trains its second RBM (the first is frozen) from step layer_steps on."""
        return self.kind == "dbn" and self.step_count >= self.settings["layer_steps"]

    @torch.no_grad()
    def train_step(self) -> dict[str, float]:
        s = self.settings
        if self.kind == "bm":
            metrics, self.positive_h = bm_step(self.bm, self.x, self.positive_h, self.negative, s, self.gen)
            return metrics
        if not self.second_layer:
            self.persistent1 = pcd_step(self.rbm1, self.x, self.persistent1, self.velocity1, s["k"], s["lr"],
                                        s["momentum"], self.gen)
            return dbn_metrics(self.rbm1, self.top, self.x, False)
        if self.step_count == s["layer_steps"] and s["top_init"] == "transpose":
            self._top_from_transpose()
        h1 = dbn_h1_data(self.rbm1, self.x, self.gen)
        self.persistent2 = pcd_step(self.top, h1, self.persistent2, self.velocity2, s["k2"], s["lr2"], s["momentum"],
                                    self.gen)
        return dbn_metrics(self.rbm1, self.top, self.x, True, self.frozen_kl())

    def frozen_kl(self) -> float:
        """The first RBM's exact KL, computed again only when its parameters differ from the last time: frozen in
        the second stage, it cost a quarter of every step there. The same number dbn_metrics computes."""
        params = torch.cat([self.rbm1.W.flatten(), self.rbm1.b.flatten(), self.rbm1.c.flatten()])
        cached = getattr(self, "_frozen_kl", None)
        if cached is None or cached[0].shape != params.shape or not torch.equal(cached[0], params):
            kl = kl_from_uniform(float(rbm_log_prob(self.rbm1, self.x).mean()), len(self.x))
            self._frozen_kl = cached = (params.clone(), kl)
        return cached[1]

    def _top_from_transpose(self) -> None:
        """The second RBM becomes the first upside down (its chains start from the first RBM's hidden states of
        its own chains): the DBN's p(v) is then exactly the first RBM's."""
        self.top.W.copy_(self.rbm1.W.T)
        self.top.b.copy_(self.rbm1.c)
        self.top.c.copy_(self.rbm1.b)

    # -- views -----------------------------------------------------------------------------------------------
    def static_info(self) -> dict:
        s = self.settings
        return {"experiment": self.kind, "size": s["size"], "patterns": to_numpy(self.x).reshape(-1, s["size"],
                                                                                                 s["size"]),
                "visible": int(self.x.shape[1]), "hidden": s["hidden"], "connect": s["connect"],
                "layer_steps": s["layer_steps"], "entropy": math.log(len(self.x)), "chains": s["chains"],
                "top_init": s["top_init"]}

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:  # the moving chains only; the exact sums ride on heavy snapshots
            n = self.settings["size"]
            if self.kind == "bm":
                v = self.negative[:SHOWN_CHAINS, : self.bm.n_visible]
                return {"chains": to_compact(v.reshape(-1, n, n))}
            return {"stage": 2 if self.second_layer else 1, "fantasy": self._fantasy()}
        return self._bm_snapshot() if self.kind == "bm" else self._dbn_snapshot()

    def _fantasy(self) -> np.ndarray:
        """The DBN's samples (the top RBM's chains, then p(v | h1)) or, in layer 1, the first RBM's chains."""
        n = self.settings["size"]
        if self.second_layer:
            return to_compact(self.rbm1.p_v(self.persistent2[:SHOWN_CHAINS]).reshape(-1, n, n))
        return to_compact(self.persistent1[:SHOWN_CHAINS].reshape(-1, n, n))

    def _bm_snapshot(self) -> dict:
        bm, x = self.bm, self.x
        e = bm.exact()
        log_pv = e["log_pv"]
        idx = pattern_index(x)
        p_data = log_pv[idx].exp()
        v = self.negative[:, : bm.n_visible]
        on_data = (pattern_index(v)[:, None] == idx[None, :]).any(1).double()
        cross = -float(log_pv[idx].mean())  # −E_data log p_model(v)
        return {"weights": bm.W.detach().cpu().numpy().astype(np.float32), "biases": to_numpy(bm.b),
                "p_patterns": p_data.cpu().numpy(), "p_other": float(1 - p_data.sum()),
                "other_patterns": (1 << bm.n_visible) - len(x),
                "chains": to_compact(v[:SHOWN_CHAINS].reshape(-1, self.settings["size"], self.settings["size"])),
                "chains_on_data": float(on_data.mean()),
                "chains_on_data_se": float(on_data.std() / math.sqrt(len(on_data))) if len(on_data) > 1 else None,
                "log_z": e["log_z"], "cross_entropy": cross, "entropy": math.log(len(x)),
                "kl": cross - math.log(len(x)), "data_mass": float(p_data.sum())}

    def _dbn_snapshot(self) -> dict:
        rbm1, top, x = self.rbm1, self.top, self.x
        n = self.settings["size"]
        second = self.second_layer
        log_rbm = rbm_log_prob(rbm1, x)
        out = {"stage": 2 if second else 1, "filters": to_numpy(rbm1.W.T).reshape(-1, n, n),
               "p_rbm": log_rbm.exp().cpu().numpy(), "entropy": math.log(len(x)),
               "kl_rbm": kl_from_uniform(float(log_rbm.mean()), len(x))}
        if second:
            log_dbn, bound = dbn_log_prob_and_bound(rbm1, top, x)
            out.update(p_dbn=log_dbn.exp().cpu().numpy(), kl_dbn=kl_from_uniform(float(log_dbn.mean()), len(x)),
                       kl_bound=kl_from_uniform(float(bound.mean()), len(x)),
                       # log p(v) − bound = E_data KL(q(h1|v) ‖ p(h1|v)): the bound's gap, exact
                       gap=float((log_dbn - bound).mean()),
                       dbn_gain=out["kl_rbm"] - kl_from_uniform(float(log_dbn.mean()), len(x)))
        out["fantasy"] = self._fantasy()
        return out

    @torch.no_grad()
    def final_metrics(self) -> dict:
        out = {"lab": "boltzmann", "experiment": self.kind, "steps": self.step_count, "size": self.settings["size"],
               "hidden": self.settings["hidden"]}
        if self.kind == "bm":
            snap = self._bm_snapshot()
            out.update({k: snap[k] for k in ("kl", "data_mass", "log_z", "chains_on_data")},
                       connect=self.settings["connect"])
        else:
            out.update({k: v for k, v in dbn_metrics(self.rbm1, self.top, self.x, self.second_layer).items()
                        if k != "loss"})
        return out

    def model_state(self) -> dict:
        if self.kind == "bm":
            return {"bm": self.bm.state_dict()}
        return {"rbm1": self.rbm1.state_dict(), "top": self.top.state_dict()}
