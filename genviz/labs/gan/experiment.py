"""The GAN lab's experiment: 2-D data, G and D, one training iteration = d_steps D updates and one
G update, snapshots of samples, D's landscape, G's gradient field and mode coverage (pure core)."""
from __future__ import annotations

import numpy as np
import torch
from torch.func import functional_call

from genviz.core.experiment import Experiment, adam, guarded_update, half, to_numpy
from genviz.data.toy2d import make_toy, mode_coverage
from genviz.labs.gan import LAB
from genviz.labs.gan.optimal import js_lower_bound, optimal_discriminator
from genviz.models.gan import (CRITIC_LOSSES, Discriminator, Generator, d_loss_parts, d_objective, d_probability,
                               g_loss, g_loss_parts, grid_points, noise_grid, packed_eval, packed_eval_columns,
                               unrolled_params)

D_OF_FAKE = 400  # generated samples whose D(G(z)) the loss-curve view marks
EVAL_SAMPLES = 2500  # the PacGAN protocol's sample count (docs/references.md)
HEATMAP = 192
HEAT_MARGIN = 1.8  # D(x) is drawn over the data's extent times this, so it fills a wide or tall view
FIELD = 21
DSTAR_GRID = 64  # D* is drawn at this resolution (its KDE costs ~n_kde per pixel)
OPTIMAL_SAMPLES = 2000  # G's samples for D*: half build p_g's KDE, half take E_g


class GanExperiment(Experiment):
    LAB = LAB
    PARTS = {"d": "one discriminator update alone", "g": "one generator update alone"}

    STATE_ATTRS = ("last",)
    # what a user's own GAN (--model-code) decides itself
    NETWORK_SETTINGS = ("noise_dim", "g_hidden", "g_layers", "d_hidden", "d_layers", "activation", "pack")

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None,
                 model_code=None):
        super().__init__(settings, seed, device, data)
        s = self.settings
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.np_rng = np.random.default_rng(self.seed)
        # --data (a file of points) overrides the data setting
        self.toy = make_toy(data if data else s["data"])
        self.model_code = model_code  # a user's own GAN (--model-code), or None: the lab's MLPs
        if model_code is not None:
            from genviz.core.model_code import ModelCodeError
            from genviz.models.user import load_gan

            if s["pack"] != 1:
                raise ModelCodeError(f"model code {model_code.spec}: pack = {s['pack']} packs the lab's own "
                                     "discriminator's inputs; with your model keep pack = 1")
            probe = torch.from_numpy(self.toy.sample(8, np.random.default_rng(self.seed + 3)))
            self.G, self.D = load_gan(model_code, s["noise"], probe, device=str(self.device))
            self.G, self.D = self.G.to(self.device), self.D.to(self.device)
        else:
            self.G = Generator(s["noise_dim"], s["g_hidden"], s["g_layers"], s["activation"],
                               s["noise"]).to(self.device)
            self.D = Discriminator(s["d_hidden"], s["d_layers"], s["activation"], s["pack"]).to(self.device)
        self.opt_g = adam(self.G.parameters(), lr=s["lr_g"], betas=(s["beta1"], s["beta2"]))
        self.opt_d = adam(self.D.parameters(), lr=s["lr_d"], betas=(s["beta1"], s["beta2"]))
        self.g_params, self.d_params = list(self.G.parameters()), list(self.D.parameters())
        self.real_view = self.toy.sample(2000, np.random.default_rng(self.seed + 1))
        self._heat_grid: torch.Tensor | None = None
        self._heat_work: list = []  # the heat map's layer outputs, reused by every snapshot (no fresh pages)
        self.eval_noise = self.G.sample_noise(EVAL_SAMPLES, torch.Generator().manual_seed(self.seed + 2))
        self._bandwidth = None  # the KDE bandwidth D* chose last (a warm start for the next snapshot)
        self.last = {"d_loss": float("nan"), "g_loss": float("nan"), "d_real": float("nan"), "d_fake": float("nan")}

    # -- training ---------------------------------------------------------------------------
    def real_batch(self) -> torch.Tensor:
        return torch.from_numpy(self.toy.sample(self.settings["batch"], self.np_rng)).to(self.device)

    def d_step(self, report: bool = True) -> bool:
        s = self.settings
        real = self.real_batch()
        with torch.no_grad():
            fake = self.G.rsample((s["batch"],), self.gen)
        loss, out_r, out_f = d_objective(self.D, s["loss"], real, fake, s["gp_weight"], s["r1"], self.gen)
        ok = guarded_update(loss, self.opt_d, self.d_params)
        if ok and s["loss"] == "wgan":
            with torch.no_grad():  # Arjovsky et al.'s Lipschitz constraint by weight clipping
                torch._foreach_clamp_min_(self.d_params, -s["clip"])
                torch._foreach_clamp_max_(self.d_params, s["clip"])
        if report:  # the iteration's figures: from its last D step only (each .mean() costs a kernel)
            self.last.update(d_loss=float(loss.detach()),
                             d_real=float(d_probability(s["loss"], out_r.detach()).mean()),
                             d_fake=float(d_probability(s["loss"], out_f.detach()).mean()))
        return ok

    def g_step(self) -> bool:
        s = self.settings
        fake = self.G.rsample((s["batch"],), self.gen)
        if s["unroll"] > 0:
            params = unrolled_params(self.D, self.opt_d, s["loss"], [self.real_batch() for _ in range(s["unroll"])], fake,
                                     gp_weight=s["gp_weight"], r1=s["r1"],
                                     clip=s["clip"] if s["loss"] == "wgan" else None, generator=self.gen)
            out = functional_call(self.D, params, (fake,))
        else:
            out = self.D(fake)
        loss = g_loss(s["loss"], out)
        ok = guarded_update(loss, self.opt_g, self.g_params)
        self.last["g_loss"] = float(loss.detach())
        return ok

    def lr_factor(self) -> float:
        half = self.settings["lr_halflife"]
        return 1.0 if half <= 0 else max(0.05, 0.5 ** (self.step_count / half))

    def _apply_lr(self) -> None:
        s, f = self.settings, self.lr_factor()
        for opt, lr in ((self.opt_g, s["lr_g"]), (self.opt_d, s["lr_d"])):
            for group in opt.param_groups:
                group["lr"], group["betas"] = lr * f, (s["beta1"], s["beta2"])

    def train_step(self) -> dict[str, float]:
        if self.settings["lr_halflife"] > 0:
            self._apply_lr()
        n = self.settings["d_steps"]
        for i in range(n):
            if not self.d_step(report=i == n - 1):
                return {**self.last, "loss": float("nan")}
        if not self.g_step():
            return {**self.last, "loss": float("nan")}
        return {**self.last, "loss": self.last["d_loss"], "lr_factor": self.lr_factor()}

    def on_setting(self, name: str, value) -> None:
        if name in ("lr_g", "lr_d", "beta1", "beta2", "lr_halflife"):
            self._apply_lr()

    # -- views ------------------------------------------------------------------------------
    def static_info(self) -> dict:
        return {"dataset": self.toy.name, "extent": tuple(float(v) for v in self.toy.extent),
                "heat_extent": self.heat_extent(),
                "real": self.real_view.copy(),
                "modes": None if self.toy.modes is None else self.toy.modes.astype(np.float32),
                "std": self.toy.std, "loss": self.settings["loss"],
                "critic": self.settings["loss"] in CRITIC_LOSSES, "noise_dim": self.G.noise_dim,
                **self.user_model_info()}

    def model_modules(self) -> dict:
        return {"G": self.G, "D": self.D}

    def heat_extent(self) -> tuple[float, float, float, float]:
        x0, x1, y0, y1 = self.toy.extent
        cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 * HEAT_MARGIN, (y1 - y0) / 2 * HEAT_MARGIN
        return (cx - hx, cx + hx, cy - hy, cy + hy)

    def _heat_grid_t(self) -> torch.Tensor:
        """The heat map's points as columns [2, HEATMAP²], made once (the extent is the data's, fixed for a run)."""
        if self._heat_grid is None:
            self._heat_grid = grid_points(self.heat_extent(), HEATMAP).t().contiguous().to(self.device)
        return self._heat_grid

    def coverage(self, fake: np.ndarray | None = None) -> dict | None:
        if self.toy.modes is None:
            return None
        if fake is None:
            with torch.no_grad():
                fake = to_numpy(self.G(self.eval_noise))
        return mode_coverage(fake, self.toy.modes, self.toy.std)

    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        s = self.settings
        with torch.no_grad():
            fake = to_numpy(self.G(self.eval_noise))
            mesh = to_numpy(self.G(noise_grid(self.G, FIELD).to(self.device))).reshape(FIELD, FIELD, 2)
            # D's probability in [0, 1] is only drawn: float16 halves the history; a critic's score stays float32
            heat = packed_eval_columns(self.D, self._heat_grid_t(), self._heat_work)  # feature-major: ~8x faster
            heat = to_numpy(d_probability(s["loss"], heat),
                            np.float32 if s["loss"] in CRITIC_LOSSES else np.float16).reshape(HEATMAP, HEATMAP)
        # G's gradient field: the direction G's loss pushes a generated point sitting at x
        x = grid_points(self.toy.extent, FIELD).to(self.device).requires_grad_(True)
        (grad,) = torch.autograd.grad(g_loss(s["loss"], packed_eval(self.D, x)) * len(x), x)
        push = to_numpy(-grad)
        out = {"fake": fake, "heat": heat, "mesh": mesh, "field_at": to_numpy(x.detach()), "field": push}
        if s["loss"] not in CRITIC_LOSSES:  # D(G(z)) of the generated samples: where they sit on G's loss curve
            with torch.no_grad():
                out["d_of_fake"] = to_numpy(torch.sigmoid(packed_eval(self.D, torch.from_numpy(fake[:D_OF_FAKE])
                                                                      .to(self.device))))
        out["objective"] = self.objective_parts(fake)
        cov = self.coverage(fake)
        if cov is not None:
            out["coverage"] = cov
        if s["optimal_d"] and self.toy.modes is not None:
            out["optimal"] = self.optimal(fake, out["objective"])
        return out

    def optimal(self, fake: np.ndarray, objective: dict) -> dict:
        """D* on the data's extent and JS(p_data ‖ p_g) (genviz.labs.gan.optimal), with the learned D's lower
        bound log 2 − L_D / 2 on the same held-out points where D's loss is a cross-entropy."""
        res = optimal_discriminator(fake[:OPTIMAL_SAMPLES], self.real_view, self.toy.modes, self.toy.std,
                                    grid_points(self.toy.extent, DSTAR_GRID), self._bandwidth)
        self._bandwidth = res["bandwidth"]
        res["d_star"] = half(res["d_star"].reshape(DSTAR_GRID, DSTAR_GRID))
        if objective["loss"] in ("minimax", "nonsat") and objective.get("pack", 1) == 1:
            res["js_bound"], res["js_bound_se"] = js_lower_bound(objective["d_loss"], objective["d_loss_se"])
            # JS's shortfall of D's bound; the two use different points, so their errors add
            res["gap"], res["gap_se"] = res["js"] - res["js_bound"], float(np.hypot(res["js_se"], res["js_bound_se"]))
        return res

    @torch.no_grad()
    def objective_parts(self, fake: np.ndarray) -> dict:
        """The GAN objective on held-out points, term by term with standard errors: D's loss = the real points'
        part + the fakes' part (without the gradient penalty or R1, which only the training batch sees), G's
        loss, and D's mean output on real and generated points (the 'losses' and 'D's output' cards). D sees
        the fixed view sample of real points and the protocol's generated sample, packed as in training."""
        kind, pack = self.settings["loss"], int(getattr(self.D, "pack", 1))
        n = (min(len(self.real_view), len(fake)) // pack) * pack
        real = torch.from_numpy(self.real_view[:n]).float().to(self.device)
        gen = torch.from_numpy(fake[:n]).float().to(self.device)
        out_r, out_f = self.D(real), self.D(gen)
        part_r, part_f = d_loss_parts(kind, out_r, out_f)
        g = g_loss_parts(kind, out_f)

        def mean_se(v: torch.Tensor) -> tuple[float, float]:
            v = v.double().reshape(-1).cpu()
            return float(v.mean()), float(v.std() / len(v) ** 0.5)

        res = {"loss": kind, "n": int(len(out_r)), "pack": int(pack)}
        for key, v in (("d_real_part", part_r), ("d_fake_part", part_f), ("g_loss", g),
                       ("d_real", d_probability(kind, out_r)), ("d_fake", d_probability(kind, out_f))):
            res[key], res[key + "_se"] = mean_se(v)
        res["d_loss"] = res["d_real_part"] + res["d_fake_part"]
        res["d_loss_se"] = (res["d_real_part_se"] ** 2 + res["d_fake_part_se"] ** 2) ** 0.5  # independent samples
        return res

    def train_part(self, part: str, **kwargs) -> dict[str, float]:
        """One discriminator ("d") or generator ("g") update alone: the panel's D step and G step buttons."""
        if self.settings["lr_halflife"] > 0:
            self._apply_lr()
        ok = self.d_step(report=True) if part == "d" else self.g_step()
        if not ok:
            return {"loss": float("nan")}  # refused: advance raises NonFiniteLoss and the step is not counted
        keys = ("d_loss", "d_real", "d_fake") if part == "d" else ("g_loss",)
        return {k: self.last[k] for k in keys}

    def family_view(self):
        """The generator as a column of "one data set, every family": samples only (a GAN has no likelihood)."""
        from genviz.core.families import FamilyView

        g_net = self.G

        def draw(n: int, g: torch.Generator) -> torch.Tensor:
            with torch.no_grad():
                return g_net.sample((n,), generator=g).cpu()

        return FamilyView("gan", draw, "none", note="no likelihood: a GAN has none")

    def final_metrics(self) -> dict:
        out = {"lab": "gan", "dataset": self.toy.name, "steps": self.step_count, "loss": self.settings["loss"],
               **{k: v for k, v in self.last.items()}}
        cov = self.coverage()
        if cov is not None:
            out.update(modes=cov["modes"], n_modes=cov["n_modes"], hq_percent=round(cov["hq_percent"], 2),
                       reverse_kl=round(cov["reverse_kl"], 4), reverse_kl_se=cov["reverse_kl_se"],
                       per_mode=cov["per_mode"].tolist())
        return out

    def model_state(self) -> dict:
        state = {"generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                 "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}
        return state
