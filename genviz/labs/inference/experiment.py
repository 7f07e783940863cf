"""The variational-inference lab's experiments, one per setting ``experiment``:

- ``kl``: q fitted to a 2-D target p by reverse KL(q || p) and by forward KL(p || q), both by gradient
  descent on KLs computed by quadrature on a grid; both KLs of both fits, and the deck's question
  (which of two Gaussians is closer?) answered exactly.
- ``em``: EM on p(x; theta) = 1/2 N(theta, 1) + 1/2 N(-theta, 1), one half step per training step; the
  bound L(q; theta) over theta touches log p(x; theta) after an exact E step (not after a restricted one).
- ``cavi``: CAVI for the Bayesian mixture of Gaussians, Gibbs sampling and MAP-EM of the same model from
  the same start, one block of updates per step; the ELBO after every update.
- ``meanfield``: coordinate ascent of a factorized q on a correlated Gaussian, and the forward-KL
  factorization beside it.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.experiment import Experiment, half
from genviz.core.settings import SettingError
from genviz.data.images import DataError
from genviz.data.toy2d import load_points
from genviz.labs.inference import LAB
from genviz.models.vi import (BayesGMM, GaussianMixtureQ, GibbsGMM, Grid2D, MapEMGMM, MeanFieldGaussian,
                              SymmetricMixture1D, BANANA_COVER, banana_log_prob, gaussian_cover, gaussian_log_prob,
                              kl_on_grid, mixture_log_prob, moments_on_grid, union_extent)

GRID_N = 128  # the views' grid, and the training's quadrature grid over the box holding p and q
KL_GRID_N = 128  # the KLs shown: within 2e-5 nats of a 512 grid's on every target
EM_POINTS = 60
THETA_GRID = np.linspace(-4.0, 4.0, 321)
TARGETS = {  # weights, default means, covariances, the view's extent
    "two-modes": ((0.5, 0.5), ((-2.0, -1.0), (2.0, 1.5)),
                  (((0.6, 0.25), (0.25, 0.5)), ((0.5, -0.2), (-0.2, 0.7))), (-6.0, 6.0, -6.0, 6.0)),
    "three-modes": ((1 / 3, 1 / 3, 1 / 3), ((-2.5, -1.5), (2.5, -1.5), (0.0, 2.5)),
                    (((0.4, 0.0), (0.0, 0.4)),) * 3, (-6.0, 6.0, -6.0, 6.0)),
}
BANANA_EXTENT = (-5.0, 5.0, -3.5, 6.5)


def parse_means(text: str, n: int) -> tuple:
    """'x,y;x,y' -> ((x, y), ...), exactly n of them, finite and within +-6."""
    try:
        pairs = tuple(tuple(float(v) for v in part.split(",")) for part in text.split(";") if part.strip())
    except ValueError:
        pairs = ()
    if len(pairs) != n or any(len(p) != 2 or not all(math.isfinite(v) and abs(v) <= 6 for v in p) for p in pairs):
        raise SettingError(f"means: give {n} points as x,y;x,y with coordinates within ±6 (got '{text[:60]}')")
    return pairs


def purity(labels: np.ndarray, truth: np.ndarray | None) -> float | None:
    """The fraction of points whose cluster's most common true label is their own (1 = the clusters found)."""
    if truth is None:
        return None
    total = 0
    for k in np.unique(labels):
        total += np.bincount(truth[labels == k]).max()
    return float(total / len(truth))


class InferenceExperiment(Experiment):
    LAB = LAB
    STATE_ATTRS = ("vi_state",)
    # "Which Gaussian is closer?" asked of the class: the panel hides the fits and every KL until a guess
    VIEW = {"question": False}

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        torch.manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)
        self.kind = self.settings["experiment"]
        self.decreases = 0  # updates that lowered the objective that must not fall (CAVI's ELBO, EM's log p)
        self.last_objective = -math.inf
        getattr(self, f"_build_{self.kind}")()

    # -- kl ------------------------------------------------------------------------------------------------
    def _build_kl(self) -> None:
        target = self.settings["target"]
        self.extent = BANANA_EXTENT if target == "banana" else TARGETS[target][3]
        self.grid = Grid2D(self.extent, GRID_N)
        self._set_target(self.settings["means"])
        k = self.settings["components"]
        g = torch.Generator().manual_seed(self.seed)
        start = (torch.rand(k, 2, generator=g, dtype=torch.float64) - 0.5) * 2.0
        self.q_rev = GaussianMixtureQ(k, means=start, scale=1.0)
        self.q_fwd = GaussianMixtureQ(k, means=start, scale=1.0)
        self.opt_rev = torch.optim.Adam(self.q_rev.parameters(), lr=self.settings["lr"])
        self.opt_fwd = torch.optim.Adam(self.q_fwd.parameters(), lr=self.settings["lr"])

    def _set_target(self, means_text: str) -> None:
        """p, exactly normalized, as a function of points; the box that holds it (its KLs integrate over that box
        joined with q's, never over the view's window alone); the two candidates of 'which Gaussian is closer'."""
        target = self.settings["target"]
        self._p_grids: dict = {}  # (box, n) -> (grid, log p on it)
        if target == "banana":
            self.target_means = ()
            self.log_p_fn = banana_log_prob
            self.p_cover = BANANA_COVER
            mode, cov_a = (0.0, -1.72), ((0.64, 0.0), (0.0, 0.25))  # a narrow Gaussian at the banana's mode
        else:
            weights, default, covs, _ = TARGETS[target]
            self.target_means = parse_means(means_text, len(weights)) if means_text else default
            means = self.target_means
            self.log_p_fn = lambda z: mixture_log_prob(z, weights, means, covs)  # noqa: E731
            self.p_cover = gaussian_cover(means, covs)
            mode, cov_a = self.target_means[0], covs[0]  # one mode, exactly
        self.log_p = self.log_p_fn(self.grid.points)  # on the view's grid, for drawing
        mean, cov = moments_on_grid(self.log_p_fn(Grid2D(self.p_cover, 256).points), Grid2D(self.p_cover, 256))
        # the deck's question: A sits on one mode, B matches p's mean and covariance; their exact KLs
        self.candidates = {}
        for name, (m, c) in (("A", (torch.tensor(mode, dtype=torch.float64), torch.tensor(cov_a, dtype=torch.float64))),
                             ("B", (mean, cov))):
            qp, pq = self._kl_pair(lambda z, m=m, c=c: gaussian_log_prob(z, m, c), gaussian_cover(m[None], c[None]))
            self.candidates[name] = {"mean": m.numpy().copy(), "cov": c.numpy().copy(), "kl_qp": qp, "kl_pq": pq}
        self.cov_p = cov

    def sample_p(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n exact draws from p (for checking the quadrature KLs by Monte Carlo)."""
        if self.settings["target"] == "banana":
            z1 = 1.2 * torch.randn(n, generator=generator, dtype=torch.float64)
            z2 = 0.5 * (z1 ** 2 - 1.44) - 1.0 + 0.5 * torch.randn(n, generator=generator, dtype=torch.float64)
            return torch.stack([z1, z2], 1)
        weights, _, covs, _ = TARGETS[self.settings["target"]]
        k = torch.multinomial(torch.tensor(weights, dtype=torch.float64), n, replacement=True, generator=generator)
        chol = torch.linalg.cholesky(torch.tensor(covs, dtype=torch.float64))
        eps = torch.randn(n, 2, 1, generator=generator, dtype=torch.float64)
        return torch.tensor(self.target_means, dtype=torch.float64)[k] + (chol[k] @ eps).squeeze(-1)

    def _q_cover(self, q: GaussianMixtureQ) -> tuple:
        with torch.no_grad():
            return gaussian_cover(q.means.numpy(), q.covs().numpy())

    def _p_grid(self, q_cover, n: int) -> tuple[Grid2D, torch.Tensor]:
        """The grid over the box holding p and q (rounded out to whole units, so that as q moves the box, its
        grid and log p on it are mostly reused) and log p on it."""
        x0, x1, y0, y1 = union_extent(self.p_cover, q_cover)
        key = (math.floor(x0), math.ceil(x1), math.floor(y0), math.ceil(y1), n)
        if key not in self._p_grids:
            if len(self._p_grids) > 16:
                self._p_grids.clear()
            grid = Grid2D(key[:4], n)
            self._p_grids[key] = (grid, self.log_p_fn(grid.points))
        return self._p_grids[key]

    def _kl_pair(self, log_q, q_cover, n: int = KL_GRID_N):
        """(KL(q || p), KL(p || q)) over the box holding both."""
        grid, lp = self._p_grid(q_cover, n)
        with torch.no_grad():
            lq = log_q(grid.points)
        return float(kl_on_grid(lq, lp, grid.area)), float(kl_on_grid(lp, lq, grid.area))

    def _step_kl(self) -> dict:
        self.opt_rev.zero_grad()
        grid, lp = self._p_grid(self._q_cover(self.q_rev), GRID_N)
        rev = kl_on_grid(self.q_rev.log_prob(grid.points), lp, grid.area)
        rev.backward()
        self.opt_rev.step()
        self.opt_fwd.zero_grad()
        grid, lp = self._p_grid(self._q_cover(self.q_fwd), GRID_N)
        fwd = kl_on_grid(lp, self.q_fwd.log_prob(grid.points), grid.area)
        fwd.backward()
        self.opt_fwd.step()
        return {"loss": float(rev.detach()), "kl_reverse_fit": float(rev.detach()), "kl_forward_fit": float(fwd.detach())}

    def _kl_figures(self) -> dict:
        with torch.no_grad():
            rev = self._kl_pair(self.q_rev.log_prob, self._q_cover(self.q_rev))
            fwd = self._kl_pair(self.q_fwd.log_prob, self._q_cover(self.q_fwd))
            cands = self.candidates
            _, cov_rev = self.q_rev.moments()
        return {"rev_fit": {"kl_qp": rev[0], "kl_pq": rev[1]}, "fwd_fit": {"kl_qp": fwd[0], "kl_pq": fwd[1]},
                "candidates": cands,
                # reverse KL lands on a mode: its spread against p's (generalized variance ratio)
                "rev_spread_ratio": float(torch.det(cov_rev) / torch.det(self.cov_p)),
                "guess_gap_reverse": cands["B"]["kl_qp"] - cands["A"]["kl_qp"],
                "guess_gap_forward": cands["A"]["kl_pq"] - cands["B"]["kl_pq"]}

    def _q_parts(self, q: GaussianMixtureQ) -> dict:
        with torch.no_grad():
            return {"weights": q.weights().numpy().copy(), "means": q.means.detach().numpy().copy(),
                    "covs": q.covs().detach().numpy().copy()}

    # -- em ------------------------------------------------------------------------------------------------
    def _build_em(self) -> None:
        theta = self.settings["em_true"]
        x = np.where(self.rng.random(EM_POINTS) < 0.5, theta, -theta) + self.rng.normal(size=EM_POINTS)
        self.em_model = SymmetricMixture1D(x)
        self.theta = float(self.settings["em_theta0"])
        self.r = np.full(EM_POINTS, 0.5)  # q before the first E step: the bound is loose everywhere
        self.next_half = "E"
        self.log_px_curve = self.em_model.log_px(THETA_GRID)

    def _step_em(self) -> dict:
        m = self.em_model
        if self.next_half == "E":
            self.r = m.posterior(self.theta) if self.settings["em_q"] == "exact" else m.restricted_posterior(self.theta)
            self.next_half = "M"
        else:
            self.theta = m.m_step(self.r)
            self.next_half = "E"
        log_px = float(m.log_px(self.theta)[0])
        bound = float(m.bound(self.theta, self.r)[0])
        # exact EM never lowers log p(x; theta); variational EM (restricted q) only never lowers the bound
        self._count(log_px if self.settings["em_q"] == "exact" else bound)
        return {"loss": -log_px, "log_px": log_px, "bound": bound, "theta": self.theta}

    # -- cavi ----------------------------------------------------------------------------------------------
    def _build_cavi(self) -> None:
        s = self.settings
        if s["data"] in ("", "blobs"):
            centres = self.rng.uniform(-7, 7, (s["clusters"], 2))
            self.truth = self.rng.integers(0, s["clusters"], s["points"])
            x = centres[self.truth] + self.rng.normal(size=(s["points"], 2))
        else:
            x, self.truth = load_points(s["data"]).astype(np.float64), None
        if s["k"] > len(x):
            raise DataError(f"cavi: K = {s['k']} components need at least {s['k']} points; the data have {len(x)}")
        self.x = x
        self.cavi = BayesGMM(x, s["k"], s["prior_var"], seed=self.seed)
        self.gibbs = GibbsGMM(x, s["k"], s["prior_var"], rng=self.rng, init=self.cavi.m)
        self.em = MapEMGMM(x, s["k"], s["prior_var"], init=self.cavi.m)
        self.next_block = "c"

    def _step_cavi(self) -> dict:
        if self.next_block == "c":
            self.cavi.update_phi()
            self.gibbs.sweep_c()
            self.em.e_step()
            self.next_block = "mu"
        else:
            self.cavi.update_mu()
            self.gibbs.sweep_mu()
            self.em.m_step()
            self.next_block = "c"
        elbo = self.cavi.elbo()
        self._count(elbo)
        return {"loss": -elbo, "elbo": elbo, "em_log_posterior": self.em.log_posterior(),
                "gibbs_log_joint": self.gibbs.log_joint()}

    # -- meanfield -----------------------------------------------------------------------------------------
    def _build_meanfield(self) -> None:
        rho = self.settings["correlation"]
        sigma = np.array([[1.0, rho], [rho, 1.0]])
        self.mf = MeanFieldGaussian((0.0, 0.0), sigma, start=(-2.5, 2.0))
        self.trail = [self.mf.m.copy()]

    def _step_meanfield(self) -> dict:
        self.mf.update()
        self.trail.append(self.mf.m.copy())  # the last 200 means, in place (a new 200-long list each step cost 1.1 µs, this 0.3)
        if len(self.trail) > 200:
            del self.trail[0]
        kl = self.mf.kl_reverse()
        self._count(-kl)
        return {"loss": kl, "kl_reverse": kl}

    # -- shared ------------------------------------------------------------------------------------------
    def _count(self, objective: float) -> None:
        """Count updates that lowered an objective that coordinate ascent / EM must never lower."""
        if objective < self.last_objective - 1e-9 * max(1.0, abs(self.last_objective)):
            self.decreases += 1
        self.last_objective = objective

    def train_step(self) -> dict[str, float]:
        return getattr(self, f"_step_{self.kind}")()

    def on_setting(self, name: str, value) -> None:
        if self.kind == "kl" and name == "lr":
            for opt in (self.opt_rev, self.opt_fwd):
                for group in opt.param_groups:
                    group["lr"] = value
        elif self.kind == "kl" and name == "means":
            self._set_target(value)

    @property
    def vi_state(self) -> dict:
        """The numpy state of the running experiment, for checkpoints (the torch fits are modules)."""
        state = {"decreases": self.decreases, "last_objective": self.last_objective}
        if self.kind == "em":
            state.update(theta=self.theta, r=self.r, next_half=self.next_half)
        elif self.kind == "cavi":
            state.update(m=self.cavi.m, s2=self.cavi.s2, phi=self.cavi.phi, gibbs_mu=self.gibbs.mu, gibbs_c=self.gibbs.c,
                         em_mu=self.em.mu, em_r=self.em.r, next_block=self.next_block)
        elif self.kind == "meanfield":
            state.update(m=self.mf.m, next=self.mf.next, trail=np.array(self.trail))
        return {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}  # copies

    @vi_state.setter
    def vi_state(self, state: dict) -> None:
        self.decreases, self.last_objective = int(state["decreases"]), float(state["last_objective"])
        if self.kind == "em":
            self.theta, self.r, self.next_half = float(state["theta"]), np.array(state["r"]), state["next_half"]
        elif self.kind == "cavi":
            self.cavi.m, self.cavi.s2, self.cavi.phi = (np.array(state[k]) for k in ("m", "s2", "phi"))
            self.gibbs.mu, self.gibbs.c = np.array(state["gibbs_mu"]), np.array(state["gibbs_c"])
            self.em.mu, self.em.r = np.array(state["em_mu"]), np.array(state["em_r"])
            self.next_block = state["next_block"]
        elif self.kind == "meanfield":
            self.mf.m, self.mf.next = np.array(state["m"]), int(state["next"])
            self.trail = [row for row in np.array(state["trail"])]

    # -- views -------------------------------------------------------------------------------------------
    def static_info(self) -> dict:
        info = {"experiment": self.kind}
        if self.kind == "kl":
            info.update(extent=self.extent, grid=GRID_N, target=self.settings["target"], draggable=bool(self.target_means))
        elif self.kind == "em":
            info.update(x=self.em_model.x.astype(np.float32), thetas=THETA_GRID.astype(np.float32),
                        log_px=self.log_px_curve.astype(np.float32), theta_true=self.settings["em_true"],
                        restricted=self.settings["em_q"] == "restricted")
        elif self.kind == "cavi":
            info.update(x=self.x.astype(np.float32), k=self.settings["k"],
                        truth=None if self.truth is None else self.truth.astype(np.int64))
        else:
            info.update(mu=self.mf.mu, sigma=self.mf.sigma, reverse_var=self.mf.reverse_var,
                        forward_var=self.mf.forward_var, correlation=self.settings["correlation"])
        return info

    def snapshot(self, heavy: bool) -> dict:
        """Every snapshot carries the views (all cheap: the lab's views redraw at the snapshot rate, 30/s)."""
        if self.kind == "kl":
            with torch.no_grad():
                lq_rev = self.q_rev.log_prob(self.grid.points)
                lq_fwd = self.q_fwd.log_prob(self.grid.points)
            return {"p": self.grid.image(torch.exp(self.log_p)).astype(np.float32),
                    "q_rev": half(self.grid.image(torch.exp(lq_rev))),
                    "q_fwd": half(self.grid.image(torch.exp(lq_fwd))),
                    "means": np.array(self.target_means, np.float32).reshape(-1, 2),
                    "rev_parts": self._q_parts(self.q_rev), "fwd_parts": self._q_parts(self.q_fwd),
                    **self._kl_figures()}
        if self.kind == "em":
            m = self.em_model
            log_px = float(m.log_px(self.theta)[0])
            bound = float(m.bound(self.theta, self.r)[0])
            return {"theta": self.theta, "bound_curve": m.bound(THETA_GRID, self.r).astype(np.float32),
                    "log_px": log_px, "bound": bound, "gap": log_px - bound, "next_half": self.next_half,
                    "logp_gain": log_px - float(m.log_px(self.settings["em_theta0"])[0]), "decreases": self.decreases}
        if self.kind == "cavi":
            labels = self.cavi.phi.argmax(1)
            return {"phi_labels": labels.astype(np.int16), "m": self.cavi.m.astype(np.float32),
                    "s2": self.cavi.s2.astype(np.float32), "elbo": self.cavi.elbo(),
                    "gibbs_mu": self.gibbs.mu.astype(np.float32), "gibbs_labels": self.gibbs.c.astype(np.int16),
                    "em_mu": self.em.mu.astype(np.float32), "em_labels": self.em.r.argmax(1).astype(np.int16),
                    "purity": purity(labels, self.truth), "em_purity": purity(self.em.r.argmax(1), self.truth),
                    "gibbs_purity": purity(self.gibbs.c, self.truth), "decreases": self.decreases,
                    "next_block": self.next_block}
        return {"m": self.mf.m.copy(), "trail": np.array(self.trail, np.float32), "next": self.mf.next,
                "kl_reverse": self.mf.kl_reverse(), **self.mf.kls(),
                "var_ratio": float(self.mf.reverse_var[0] / self.mf.sigma[0, 0])}

    def final_metrics(self) -> dict:
        out = {"lab": "inference", "experiment": self.kind, "steps": self.step_count}
        snap = self.snapshot(heavy=True)
        if self.kind == "kl":
            out.update({k: snap[k] for k in ("rev_fit", "fwd_fit", "rev_spread_ratio", "guess_gap_reverse",
                                             "guess_gap_forward")})
            out["candidates"] = {n: {"kl_qp": c["kl_qp"], "kl_pq": c["kl_pq"]} for n, c in snap["candidates"].items()}
        elif self.kind == "em":
            out.update(theta=snap["theta"], log_px=snap["log_px"], bound=snap["bound"], gap=snap["gap"],
                       em_q=self.settings["em_q"])
            # what must never fall: log p(x; theta) under exact EM, the bound under variational EM
            out["logp_decreases" if self.settings["em_q"] == "exact" else "bound_decreases"] = self.decreases
        elif self.kind == "cavi":
            out.update(elbo=snap["elbo"], elbo_decreases=self.decreases, k=self.settings["k"], points=len(self.x),
                       purity=snap["purity"], em_log_posterior=self.em.log_posterior(), em_purity=snap["em_purity"],
                       gibbs_log_joint=self.gibbs.log_joint(), gibbs_purity=snap["gibbs_purity"])
        else:
            out.update(m=snap["m"].tolist(), reverse_var=self.mf.reverse_var.tolist(),
                       forward_var=self.mf.forward_var.tolist(), kl_decreases=self.decreases,
                       **{k: snap[k] for k in ("rev_fit_kl_qp", "rev_fit_kl_pq", "fwd_fit_kl_qp", "fwd_fit_kl_pq")})
        return out

    def model_state(self) -> dict:
        state = {"experiment": self.kind}
        if self.kind == "kl":
            state.update(q_reverse=self.q_rev.state_dict(), q_forward=self.q_fwd.state_dict())
        else:
            state.update({k: torch.as_tensor(np.asarray(v, np.float64)) for k, v in self.vi_state.items()
                          if isinstance(v, (np.ndarray, float, int)) and not isinstance(v, bool)})
        return state
