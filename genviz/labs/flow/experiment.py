"""The flow lab's experiment (pure core): fit a flow by maximum likelihood on 2-D samples or by
reverse KL to an unnormalised target, and snapshot every layer's warp for the views."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.settings import SettingError
from genviz.core.experiment import Experiment, adam, guarded_update, half, to_numpy
from genviz.data.toy2d import make_toy
from genviz.labs.flow import LAB
from genviz.models.energies import make_energy
from genviz.models.flows import build_flow

HEAT = 200  # density heatmaps are HEAT x HEAT
# the warped mesh: LINES lines each way, LINE_POINTS points per line (fine enough that a stretched line
# shows no kinks; stored as float16, 1/250 of a unit at |x| < 8, below a pixel)
LINES, LINE_POINTS = 17, 200
KL_SAMPLES = 4096  # draws of q for the reverse KL shown with each snapshot
CLOUD = 600  # samples pushed through the layers
GAUSS_ENTROPY = math.log(2 * math.pi * math.e)  # of N(0, I) in 2-D


def entropy_limit(name: str) -> float | None:
    """Lower limit of a test NLL (the data's entropy) where it is known (docs/references.md): the
    checkerboard's ln 32; well-separated Gaussian mixtures: ln K + ln(2 pi e sigma^2)."""
    if name == "checkerboard":
        return math.log(32)
    if name == "gaussian":
        return GAUSS_ENTROPY
    if name == "ring8":
        return math.log(8) + GAUSS_ENTROPY + 2 * math.log(0.01)
    if name == "grid25":
        return math.log(25) + GAUSS_ENTROPY + 2 * math.log(0.05)
    return None


def grid(extent, n: int) -> torch.Tensor:
    xs = torch.linspace(extent[0], extent[1], n)
    ys = torch.linspace(extent[2], extent[3], n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


class FlowExperiment(Experiment):
    LAB = LAB
    NETWORK_SETTINGS = ("flow", "layers", "hidden", "bins")  # what a user's own flow (--model-code) decides itself
    VIEW = {"layer": -1}  # the layer the density views show (-1: the last); the panel's slider

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None,
                 model_code=None):
        super().__init__(settings, seed, device, data)
        s = self.settings
        torch.manual_seed(self.seed)
        self.np_rng = np.random.default_rng(self.seed)
        self.model_code = model_code  # a user's own flow (--model-code), or None: the lab's
        if model_code is not None:
            from genviz.models.user import load_flow

            probe = torch.randn(8, 2, generator=torch.Generator().manual_seed(self.seed + 5))
            self.flow = load_flow(model_code, probe, str(self.device)).to(self.device)
        else:
            self.flow = build_flow(s["flow"], s["layers"], s["hidden"], s["bins"]).to(self.device)
        self.opt = adam(self.flow.parameters(), lr=s["lr"])
        self.params = list(self.flow.parameters())
        # a second flow of the same type with ``beside`` layers, trained on the same batches (density mode): the
        # MAF paper's figure, one MADE against a stack of them (Papamakarios et al. 2017, fig. 1)
        self.beside = None
        if s["beside"] > 0 and s["fit"] == "density":
            if model_code is not None:
                raise SettingError("beside: a second flow is the lab's own type; with your model keep beside = 0")
            self.beside = build_flow(s["flow"], s["beside"], s["hidden"], s["bins"]).to(self.device)
            self.opt_beside = adam(self.beside.parameters(), lr=s["lr"])
            self.params_beside = list(self.beside.parameters())
        if s["fit"] == "density":
            self.toy = make_toy(data if data else s["data"])
            self.name = self.toy.name
            self.extent = tuple(float(v) for v in self.toy.extent)
            self.test = torch.from_numpy(self.toy.sample(20000, np.random.default_rng(self.seed + 7))).to(self.device)
            self.limit = entropy_limit(self.toy.name)
            self.energy = None
        else:
            self.energy = make_energy(s["energy"])
            self.name = s["energy"]
            self.extent = (-4.0, 4.0, -4.0, 4.0)
            self.limit = None
            # with a 2-D target, log Z is a quadrature away: the reverse KL itself can be shown
            g = grid((-6, 6, -6, 6), 600).double()
            cell = (12 / 599) ** 2
            with torch.no_grad():
                log_p = -self.energy(g)
                self.log_z = float(torch.logsumexp(log_p, 0) + math.log(cell))
                # a typed target whose mass reaches the box's rim may not be normalisable at all
                rim = (g.abs().max(1).values > 5.5)
                self.rim_mass = float(torch.exp(torch.logsumexp(log_p[rim], 0) + math.log(cell) - self.log_z))
            if not math.isfinite(self.log_z):
                raise SettingError(f"energy: exp(-U) of '{s['energy'][:60]}' does not give a finite integral on "
                                   "[-6, 6]² (U must be finite and grow away from the origin)")
        self.base_lines = self._base_lines()
        self._heat_grid = None  # the density views' grid, built once
        self.base_cloud = torch.randn(CLOUD, 2, generator=torch.Generator().manual_seed(self.seed + 3))

    # -- training ---------------------------------------------------------------------------
    def beta(self) -> float:
        a = self.settings["anneal"]
        return 1.0 if a <= 0 else min(1.0, 0.01 + self.step_count / a)

    def optimizers(self) -> list:
        return [self.opt] + ([self.opt_beside] if self.beside is not None else [])

    def train_step(self) -> dict[str, float]:
        s = self.settings
        if s["lr_halflife"] > 0:
            for opt in self.optimizers():
                for group in opt.param_groups:
                    group["lr"] = s["lr"] * max(0.02, 0.5 ** (self.step_count / s["lr_halflife"]))
        if self.energy is None:
            x = torch.from_numpy(self.toy.sample(s["batch"], self.np_rng)).to(self.device)
            loss = -self.flow.log_prob(x).mean()
            ok = guarded_update(loss, self.opt, self.params, clip=100.0)
            out = {"loss": float(loss.detach()) if ok else float("nan"), "train_nll": float(loss.detach())}
            if self.beside is not None:  # the same batch for the flow beside it
                loss_b = -self.beside.log_prob(x).mean()
                ok_b = guarded_update(loss_b, self.opt_beside, self.params_beside, clip=100.0)
                out["beside_train_nll"] = float(loss_b.detach()) if ok_b else float("nan")
            return out
        z, logq = self.flow.rsample_and_log_prob(s["batch"])
        beta = self.beta()
        free = (logq + beta * self.energy(z)).mean()  # E_q[log q + beta U] = KL(q || p_beta) - log Z_beta
        ok = guarded_update(free, self.opt, self.params, clip=10.0)  # planar flows spike without it
        with torch.no_grad():
            kl = float((logq + self.energy(z)).mean()) + self.log_z
        return {"loss": float(free.detach()) if ok else float("nan"), "reverse_kl": kl, "beta": beta}

    def on_setting(self, name: str, value) -> None:
        if name == "lr":
            for opt in self.optimizers():
                for group in opt.param_groups:
                    group["lr"] = value

    # -- views ------------------------------------------------------------------------------
    def _base_lines(self) -> torch.Tensor:
        """Horizontal and vertical lines over [-3, 3]^2 in the base space: [2*LINES*LINE_POINTS, 2]."""
        t = torch.linspace(-3, 3, LINE_POINTS)
        c = torch.linspace(-3, 3, LINES)
        horiz = torch.stack([t.repeat(LINES), c.repeat_interleave(LINE_POINTS)], 1)
        vert = torch.stack([c.repeat_interleave(LINE_POINTS), t.repeat(LINES)], 1)
        return torch.cat([horiz, vert])

    def static_info(self) -> dict:
        info = {"name": self.name, "fit": self.settings["fit"], "extent": self.extent, "layers": len(self.flow.transforms),
                "flow": self.settings["flow"] if self.model_code is None else "yours", "limit": self.limit, "lines": LINES,
                "line_points": LINE_POINTS, "heat": HEAT,
                "beside": len(self.beside.transforms) if self.beside is not None else 0}
        if self.model_code is not None:
            n = sum(p.numel() for p in self.flow.parameters())
            info.update(self.user_model_info(f"{type(self.flow.net).__name__} ({len(self.flow.transforms)} layers, "
                                             f"{n:,} parameters)"))
        g = grid(self.extent, HEAT)
        if self.energy is None:
            pts = self.toy.sample(50000, np.random.default_rng(self.seed + 11))
            x0, x1, y0, y1 = self.extent
            counts, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=HEAT, range=[[y0, y1], [x0, x1]])
            area = ((x1 - x0) / HEAT) * ((y1 - y0) / HEAT)
            info["target"] = (counts / (len(pts) * area)).astype(np.float32)
        else:
            with torch.no_grad():
                info["target"] = to_numpy(torch.exp(-self.energy(g) - self.log_z)).reshape(HEAT, HEAT)
            info["log_z"] = self.log_z
            if self.rim_mass > 1e-3:
                info["warning"] = (f"{100 * self.rim_mass:.1f}% of exp(−U)'s mass lies at the rim of the [−6, 6]² box "
                                   "used for log Z: the target may not be normalisable, and the reverse KL shown is "
                                   "relative to that box.")
        return info

    def layer_density(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Density after layer k on the HEAT x HEAT grid of the view, and log|det J| of layer k there
        (log q_k(x) = log q_0(z_0) + sum of the inverse log-dets of layers k..1)."""
        if self._heat_grid is None:
            self._heat_grid = grid(self.extent, HEAT).to(self.device)
        x = self._heat_grid
        total = torch.zeros(len(x), device=self.device)
        layer_ld = None
        for i, t in enumerate(reversed(self.flow.transforms[:k])):
            x, ld = t.inverse(x)
            total = total + ld
            if i == 0:
                layer_ld = -ld  # log|det| of layer k itself, forward direction
        logq = self.flow.base.log_prob(x) + total
        if layer_ld is None:
            layer_ld = torch.zeros_like(logq)
        return to_numpy(logq.exp()).reshape(HEAT, HEAT), to_numpy(layer_ld).reshape(HEAT, HEAT)

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        K = len(self.flow.transforms)
        k = self.view["layer"]
        k = K if k < 0 or k > K else k
        lines = [to_numpy(p) for p, _ in self.flow.layers(self.base_lines.to(self.device))]
        cloud = [to_numpy(p) for p, _ in self.flow.layers(self.base_cloud.to(self.device))]
        density, layer_ld = self.layer_density(k)
        out = {"lines": half(np.stack(lines)), "cloud": np.stack(cloud), "density": density, "layer_logdet": layer_ld,
               "density_layer": k}
        if self.energy is None:
            terms = self.test_terms(self.test[:5000])  # one pass: the NLL is minus their sum
            out["test_nll"] = -terms["test_logp"] if terms else float(-self.flow.log_prob(self.test[:5000]).mean())
            out.update(terms)
            if self.beside is not None:
                out.update(self.beside_numbers())
        else:
            out["reverse_kl"], out["reverse_kl_se"] = self.reverse_kl(KL_SAMPLES)
            out["reverse_kl_draws"] = KL_SAMPLES
            out["log_z"] = float(self.log_z)
        return out

    @torch.no_grad()
    def beside_numbers(self) -> dict:
        """The flow beside the main one: its density on the view's grid and both test NLLs on the same 5,000 held-out
        points, with the main flow's lead paired over them (± SE)."""
        if self._heat_grid is None:
            self._heat_grid = grid(self.extent, HEAT).to(self.device)
        x = self.test[:5000]
        own, other = self.flow.log_prob(x).double(), self.beside.log_prob(x).double()
        d = own - other
        return {"beside_density": to_numpy(self.beside.log_prob(self._heat_grid).exp()).reshape(HEAT, HEAT),
                "beside_test_nll": float(-other.mean()), "beside_test_nll_se": float(other.std() / math.sqrt(len(x))),
                "test_nll_se": float(own.std() / math.sqrt(len(x))),
                "beside_lead": float(d.mean()), "beside_lead_se": float(d.std() / math.sqrt(len(x)))}

    @torch.no_grad()
    def test_terms(self, x: torch.Tensor) -> dict:
        """The change of variables on the test points, term by term: log p(x) = log N(z) + Σ_k log|det J_k⁻¹|,
        each averaged over the points (float64 sums, so the terms add up to the mean log p(x)); layers in the
        order the inverse runs them (layer K first). Empty for a model that is not a chain of invertible layers."""
        transforms = getattr(self.flow, "transforms", None)
        if transforms is None or not all(hasattr(t, "inverse") for t in transforms):
            return {}
        lds = []
        for t in reversed(transforms):
            x, ld = t.inverse(x)
            lds.append(ld.double().mean().item())
        base = self.flow.base.log_prob(x).double().mean().item()
        return {"test_base_logp": base, "test_layer_logdet": np.asarray(lds, dtype=np.float64),
                "test_logp": base + float(sum(lds)), "test_points": int(len(x))}

    @torch.no_grad()
    def reverse_kl(self, n: int) -> tuple[float, float]:
        """KL(q || p) = E_q[log q(z) + U(z)] + log Z (log Z by quadrature) from n draws of q, with its
        Monte Carlo standard error: a training batch's estimate can fall below 0 by noise."""
        z, logq = self.flow.rsample_and_log_prob(n)
        d = (logq + self.energy(z)).double() + self.log_z
        return float(d.mean()), float(d.std() / math.sqrt(n))

    QUERIES = {"layer_density": {"k": 1}}

    def query(self, name: str, **kwargs):
        if name == "layer_density":  # the panel fetches (and caches) the layers the slider visits
            K = len(self.flow.transforms)
            k = max(0, min(K, int(kwargs["k"])))
            with torch.no_grad():
                density, layer_ld = self.layer_density(k)
            return {"k": k, "step": self.step_count, "density": density, "layer_logdet": layer_ld}
        return super().query(name, **kwargs)

    @torch.no_grad()
    def family_view(self):
        """The flow as a column of "one data set, every family": exact log p(x) by the change of variables (None
        when it was fitted to an energy: then it models no data points)."""
        if self.energy is not None:
            return None
        from genviz.core.families import FamilyView, seeded

        flow, device = self.flow, self.device

        def draw(n: int, g: torch.Generator) -> torch.Tensor:
            with seeded(g), torch.no_grad():
                return flow.sample((n,)).cpu()

        return FamilyView("flow", draw, "exact", lambda x: flow.log_prob(x.to(device, torch.float32)).double(),
                          note="exact, by the change of variables")

    def final_metrics(self) -> dict:
        out = {"lab": "flow", "fit": self.settings["fit"],
               "flow": self.settings["flow"] if self.model_code is None else f"yours ({self.model_code.shown})",
               "layers": len(self.flow.transforms), "target": self.name, "steps": self.step_count}
        if self.energy is None:
            with torch.no_grad():  # once per run, no graph: nothing here is differentiated
                out["test_nll"] = float(-torch.cat([self.flow.log_prob(c) for c in self.test.split(5000)]).mean())
                if self.beside is not None:
                    out["beside_layers"] = len(self.beside.transforms)
                    out["beside_test_nll"] = float(
                        -torch.cat([self.beside.log_prob(c) for c in self.test.split(5000)]).mean())
            if self.limit is not None:
                out["entropy_limit"] = self.limit
                out["gap_to_limit"] = out["test_nll"] - self.limit
        else:
            torch.manual_seed(self.seed + 5)
            with torch.no_grad():
                out["reverse_kl"], out["reverse_kl_se"] = self.reverse_kl(20000)
            out["log_z"] = self.log_z
        return out

    def model_state(self) -> dict:
        state = {"flow": self.flow.state_dict(), "optimizer": self.opt.state_dict()}
        if self.beside is not None:
            state.update(beside=self.beside.state_dict(), beside_optimizer=self.opt_beside.state_dict())
        return state
