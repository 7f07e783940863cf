"""The 2-D VAE lab's experiment (pure core): a VAE with a 2-D latent trained on 2-D points by the ELBO or the IWAE
bound; its samples, its density by the IWAE bound on the view's grid, the test points' encodings, and the test bound
at k = 1 and k = 1,000."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.experiment import Experiment, adam, guarded_update, to_numpy
from genviz.data.toy2d import make_toy, mode_coverage
from genviz.labs.vae2d import LAB
from genviz.models.vae2d import PointVAE, vae_loss

HEAT = 80  # the density view's grid is HEAT x HEAT
HEAT_K = 16  # importance samples per grid point for the density view
TEST_POINTS = 500  # the held-out points the test bounds average over
LIVE_K = 100  # importance samples of the live test IWAE bound
TEST_K = 1000  # importance samples of the final and the families table's IWAE bound
SHOWN = 800  # samples drawn in the samples view (fixed latent and noise draws)
EXACT_POINTS = 100  # test points whose exact log p(x) the final metrics compute by quadrature


def grid(extent, n: int) -> torch.Tensor:
    xs = torch.linspace(extent[0], extent[1], n)
    ys = torch.linspace(extent[2], extent[3], n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def nearest_mode(x: np.ndarray, modes: np.ndarray | None) -> np.ndarray:
    """Each point's nearest mode (its colour in the latent view); all 0 without modes."""
    if modes is None:
        return np.zeros(len(x), np.int32)
    return ((x[:, None, :] - modes[None]) ** 2).sum(-1).argmin(1).astype(np.int32)


class PointVAEExperiment(Experiment):
    LAB = LAB

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        s = self.settings
        torch.manual_seed(self.seed)
        self.np_rng = np.random.default_rng(self.seed)
        self.gen = torch.Generator(device=self.device).manual_seed(self.seed + 1)  # the objective's z draws
        self.toy = make_toy(data if data else s["data"])
        self.extent = tuple(float(v) for v in self.toy.extent)
        rng = np.random.default_rng(self.seed + 7)
        self.test = torch.from_numpy(self.toy.sample(TEST_POINTS, rng)).float().to(self.device)
        spread = float(np.sqrt(self.toy.sample(4000, rng).astype(np.float32).astype(np.float64).var(0).max()))
        self.model = PointVAE(s["hidden"], scale=spread).to(self.device)
        self.opt = adam(self.model.parameters(), lr=s["lr"])
        self.params = list(self.model.parameters())
        self.test_mode = nearest_mode(to_numpy(self.test, np.float64), self.toy.modes)
        self._heat_grid = None

    # -- training ---------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        s = self.settings
        x = torch.from_numpy(self.toy.sample(s["batch"], self.np_rng)).float().to(self.device)
        beta = self.beta()
        loss, bound = vae_loss(self.model, x, s["k"], self.gen, beta)
        ok = guarded_update(loss, self.opt, self.params, clip=100.0)
        return {"loss": float(loss.detach()) if ok else float("nan"), "train_bound": bound, "beta": beta}

    def beta(self) -> float:
        """The KL terms' weight this step: 1 after the warm-up."""
        w = self.settings["warmup"]
        return 1.0 if w <= 0 else min(1.0, (self.step_count + 1) / w)

    def on_setting(self, name: str, value) -> None:
        if name == "lr":
            for group in self.opt.param_groups:
                group["lr"] = value

    # -- views ------------------------------------------------------------------------------
    def static_info(self) -> dict:
        info = {"name": self.toy.name, "extent": self.extent, "heat": HEAT, "heat_k": HEAT_K, "live_k": LIVE_K,
                "test_points": TEST_POINTS, "data_points": self.toy.sample(2000, np.random.default_rng(self.seed + 11)),
                "modes": self.toy.modes, "std": self.toy.std}
        if self.toy.modes is not None:
            from genviz.core.families import mixture_entropy

            h, se = mixture_entropy(self.toy.modes, self.toy.std, 20000, np.random.default_rng(self.seed + 13))
            info.update(entropy=h, entropy_se=se)
        return {k: v for k, v in info.items() if v is not None}

    def _generator(self, salt: int) -> torch.Generator:
        """The views' own random numbers, fixed per view: a snapshot never draws from training's streams."""
        return torch.Generator(device=self.device).manual_seed(self.seed * 1000 + salt)

    @torch.no_grad()
    def density(self) -> np.ndarray:
        """exp of the IWAE bound (k = HEAT_K) on the view's grid: a lower bound on p(x) in expectation."""
        if self._heat_grid is None:
            self._heat_grid = grid(self.extent, HEAT).to(self.device)
        lp = self.model.iwae_log_prob(self._heat_grid, HEAT_K, self._generator(2))
        return to_numpy(lp.exp()).reshape(HEAT, HEAT)

    @torch.no_grad()
    def test_bounds(self, k: int = LIVE_K) -> dict:
        """The test points' mean ELBO and IWAE bound (k samples), each ± SE over the points, and their difference
        paired over the points (the IWAE bound's gain over the ELBO)."""
        elbo = self.model.bound(self.test, 1, self._generator(3)).double()
        iwae = self.model.iwae_log_prob(self.test, k, self._generator(4)).double()
        n = math.sqrt(len(elbo))
        gain = iwae - elbo
        return {"test_elbo": float(elbo.mean()), "test_elbo_se": float(elbo.std() / n),
                "test_iwae": float(iwae.mean()), "test_iwae_se": float(iwae.std() / n),
                "iwae_gain": float(gain.mean()), "iwae_gain_se": float(gain.std() / n)}

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        out = {"samples": to_numpy(self.model.sample(SHOWN, self._generator(1)))}
        if not heavy:
            return out
        mu, log_sigma = self.model.encode(self.test)
        out.update(density=self.density(), latent=to_numpy(mu), latent_sigma=to_numpy(log_sigma.exp()),
                   latent_mode=self.test_mode, **self.test_bounds())
        if self.toy.modes is not None:
            cov = mode_coverage(to_numpy(self.model.sample(2500, self._generator(5)), np.float64), self.toy.modes,
                                self.toy.std)
            out["coverage"] = {k: cov[k] for k in ("modes", "n_modes", "hq_percent", "hq_percent_se")}
        return out

    @torch.no_grad()
    def family_view(self):
        """The VAE as a column of "one data set, every family": ancestral samples, and log p(x) by the IWAE bound
        with k = 1,000 (a lower bound: the table's NLL is an upper bound, marked so)."""
        from genviz.core.families import FamilyView

        model, device = self.model, self.device

        def draw(n: int, g: torch.Generator) -> torch.Tensor:
            return model.sample(n, g).cpu()

        def log_prob(x: torch.Tensor) -> torch.Tensor:
            return model.iwae_log_prob(x.to(device, torch.float32), TEST_K, self._generator(4)).double()

        return FamilyView("vae", draw, "bound", log_prob,
                          note=f"IWAE bound with k = {TEST_K:,} (a lower bound on log p: the NLL is an upper bound)")

    def final_metrics(self) -> dict:
        out = {"lab": "vae2d", "steps": self.step_count, "data": self.toy.name, "k": self.settings["k"]}
        out.update(self.test_bounds(TEST_K), test_k=TEST_K)
        with torch.no_grad():
            exact = self.model.exact_log_prob(self.test[:EXACT_POINTS]).double()
            iwae = self.model.iwae_log_prob(self.test[:EXACT_POINTS], TEST_K, self._generator(4)).double()
        gap = exact - iwae
        out.update(exact_points=EXACT_POINTS, exact_log_p=float(exact.mean()),
                   exact_log_p_se=float(exact.std() / math.sqrt(EXACT_POINTS)),
                   iwae_gap=float(gap.mean()), iwae_gap_se=float(gap.std() / math.sqrt(EXACT_POINTS)))
        return out

    def model_state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict()}
