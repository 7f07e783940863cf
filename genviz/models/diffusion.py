"""Diffusion, score and flow-matching models in 2-D, with the exact answers where the data allow them.

Every process here noises data as x_t = a(t) x_0 + b(t) eps, t in [0, 1]:
- ``vp-linear``: the variance-preserving SDE with beta(t) = 0.1 + 19.9 t (DDPM's linear schedule in
  continuous time, Ho et al. 2020; Song et al. 2021), a = exp(-1/2 int beta), b = sqrt(1 - a^2);
- ``vp-cosine``: a^2 = cos^2(pi/2 (t + s)/(1 + s)) / cos^2(pi/2 s/(1 + s)), s = 0.008 (Nichol & Dhariwal 2021);
- ``ve``: a = 1, b = sigma_min (sigma_max / sigma_min)^t (Song et al. 2021);
- ``flow``: a = 1 - t, b = t (rectified flow / flow matching, Liu et al. 2023; Lipman et al. 2023).
The drift and diffusion of the SDE with these marginals: f(t) = a'/a, g(t)^2 = d(b^2)/dt - 2 f b^2; the
probability-flow ODE dx/dt = f x - g^2 score / 2 (Song et al. 2021).

For data drawn from a mixture sum_k w_k N(mu_k, s^2 I), x_t is the mixture sum_k w_k N(a mu_k, (a^2 s^2 + b^2) I):
its density and score are exact at every t. Pure torch, no Qt."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

PROCESSES = ("vp-linear", "vp-cosine", "ve", "flow")
# Sampling stops, training and the likelihood start, where the noise level b(t) falls to B_FLOOR (b(0) = 0 makes
# the score undefined at t = 0): a tenth of the narrowest mode the app draws (the ring's std 0.01), so that the
# last denoising step (Tweedie's E[x_0 | x_t], whose variance is s^2 s^2/(s^2 + b^2) for a mode of std s) keeps
# 99.5 % of a mode's spread. Stopping at t = 1e-3 (b = 0.0105 on vp-linear) shrank the ring's modes to 0.7 s.
B_FLOOR = 1e-3
VE_SIGMA = (B_FLOOR, 10.0)
GRID_RHO = 3.0
COSINE_S = 0.008


class Process:
    """a(t), b(t) and their derivatives for one of PROCESSES (t: a tensor); ``t_min``: where b(t) = B_FLOOR."""

    def __init__(self, kind: str):
        if kind not in PROCESSES:
            raise ValueError(f"unknown process '{kind}' ({', '.join(PROCESSES)})")
        self.kind = kind
        self.t_min = _t_floor(self)

    def ab(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.kind == "vp-linear":
            a = torch.exp(-0.5 * (0.1 * t + 9.95 * t ** 2))
            return a, torch.sqrt((1 - a ** 2).clamp_min(1e-12))
        if self.kind == "vp-cosine":
            s = COSINE_S
            f = torch.cos(math.pi / 2 * (t + s) / (1 + s)) ** 2 / math.cos(math.pi / 2 * s / (1 + s)) ** 2
            a2 = f.clamp(1e-5, 1.0)
            return torch.sqrt(a2), torch.sqrt((1 - a2).clamp_min(1e-12))
        if self.kind == "ve":
            lo, hi = VE_SIGMA
            return 1.0 + 0.0 * t, lo * (hi / lo) ** t  # (a function of t: drift_diffusion differentiates it)
        return 1 - t, t

    def drift_diffusion(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f(t) = a'/a and g(t)^2 = d(b^2)/dt - 2 f b^2: closed forms (tested against autograd of a and b)."""
        if self.kind == "vp-linear":  # beta(t) = 0.1 + 19.9 t; f = -beta/2, g^2 = beta
            beta = 0.1 + 19.9 * t
            return -0.5 * beta, beta
        if self.kind == "ve":
            _, b = self.ab(t)
            return torch.zeros_like(t), 2 * b ** 2 * math.log(VE_SIGMA[1] / VE_SIGMA[0])
        if self.kind == "flow":  # a = 1 - t, b = t
            return -1.0 / (1 - t), 2 * t / (1 - t)
        return self.drift_diffusion_autograd(t)

    def drift_diffusion_autograd(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same by autograd of a(t) and b(t): any schedule (the cosine one, with its clamp)."""
        t = t.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            a, b = self.ab(t)
            da, = torch.autograd.grad(a.sum(), t, retain_graph=True)
            db2, = torch.autograd.grad((b ** 2).sum(), t)
        f = (da / a).detach()
        return f, (db2 - 2 * f * b.detach() ** 2).clamp_min(0.0)

    def noise(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        a, b = self.ab(t)
        return a[:, None] * x0 + b[:, None] * eps

    def prior_sample(self, n: int, generator=None, dtype=torch.float32) -> torch.Tensor:
        """x at t = 1: N(a(1) * data ~ 0, b(1)^2 I) (VP, flow: a(1) ~ 0)."""
        _, b = self.ab(torch.ones(1, dtype=dtype))
        return torch.randn(n, 2, generator=generator, dtype=dtype) * b


def _t_floor(proc: Process) -> float:
    """The t at which b(t) = B_FLOOR (b increases with t in every process): closed forms, bisection for the cosine."""
    if proc.kind == "ve":
        return 0.0
    if proc.kind == "flow":
        return B_FLOOR
    if proc.kind == "vp-linear":  # 1 - a^2 = B^2 with a^2 = exp(-(0.1 t + 9.95 t^2))
        c = -math.log1p(-B_FLOOR ** 2)
        return (-0.1 + math.sqrt(0.01 + 4 * 9.95 * c)) / (2 * 9.95)
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        _, b = proc.ab(torch.tensor([mid], dtype=torch.float64))
        lo, hi = (mid, hi) if float(b) < B_FLOOR else (lo, mid)
    return hi


# -- exact mixtures --------------------------------------------------------------------------------------------
class MixtureMarginals:
    """x_0 ~ sum_k w_k N(mu_k, s^2 I): the exact density and score of x_t under ``process``."""

    def __init__(self, means: np.ndarray, std: float, process: Process, weights: np.ndarray | None = None):
        self.means = torch.as_tensor(np.asarray(means), dtype=torch.float64)
        self.std, self.process = float(std), process
        k = len(self.means)
        w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, np.float64)
        self.log_w = torch.log(torch.as_tensor(w, dtype=torch.float64))

    def log_prob(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log p_t(x): x [n, 2], t [n] (or a scalar tensor)."""
        x = x.to(torch.float64)
        t = torch.as_tensor(t, dtype=torch.float64).expand(len(x))
        a, b = self.process.ab(t)
        var = a ** 2 * self.std ** 2 + b ** 2  # [n]
        d2 = ((x[:, None, :] - a[:, None, None] * self.means[None]) ** 2).sum(-1)  # [n, k]
        comp = self.log_w - 0.5 * d2 / var[:, None] - torch.log(2 * math.pi * var)[:, None]
        return torch.logsumexp(comp, -1)

    def score(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """grad_x log p_t(x), in closed form: sum_k r_k (a mu_k - x) / var."""
        x = x.to(torch.float64)
        t = torch.as_tensor(t, dtype=torch.float64).expand(len(x))
        a, b = self.process.ab(t)
        var = a ** 2 * self.std ** 2 + b ** 2
        centres = a[:, None, None] * self.means[None]  # [n, k, 2]
        d2 = ((x[:, None, :] - centres) ** 2).sum(-1)
        r = torch.softmax(self.log_w - 0.5 * d2 / var[:, None], -1)
        return ((r[..., None] * (centres - x[:, None, :])).sum(1)) / var[:, None]


# -- the network ------------------------------------------------------------------------------------------------
def time_embedding(t: torch.Tensor, dim: int = 16) -> torch.Tensor:
    freqs = torch.exp(torch.linspace(0, math.log(1000.0), dim // 2, dtype=t.dtype, device=t.device))
    angles = t[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], -1)


class DiffusionModel(nn.Module):
    """An MLP of (x, time embedding) predicting the noise eps (VP, VE) or the velocity eps - x_0 (flow).
    ``score(x, t)`` turns either into grad log p_t(x): E[eps | x_t] = -b score; for flow,
    E[eps | x_t] = x + (1 - t) v.

    With ``classes`` > 0 it also takes a label (one-hot, index ``classes`` = no label) and trains with
    labels dropped at random, so one network is both conditional and unconditional; inside
    ``guiding(labels, gamma)`` its output is (1 - gamma) out(no label) + gamma out(label): classifier-free
    guidance (Ho & Salimans 2022; gamma = 0 unconditional, 1 conditional, > 1 guided). eps, the score
    and the ODE's velocity are affine in the output with weights summing to one, so they are guided alike."""

    def __init__(self, process: str = "vp-linear", hidden: int = 64, layers: int = 3, classes: int = 0):
        super().__init__()
        self.process = Process(process)
        self.classes = int(classes)
        self.guide: tuple | None = None
        dims = [2 + 16 + (self.classes + 1 if self.classes else 0)] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), nn.SiLU()]
        mods.append(nn.Linear(dims[-1], 2))
        self.net = nn.Sequential(*mods)

    def _net(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The first layer on cat(x, embedding(t), one-hot(y)), computed as W_x x + (W_rest rest + bias): when t is
        one time for the whole batch (shape [1], as the samplers pass it) and there is no label, the second term
        is one row, computed once and broadcast, instead of an embedding and a concatenation per point."""
        rest = [time_embedding(t)]
        if self.classes:
            y = torch.full((1,), self.classes, dtype=torch.long, device=x.device) if y is None else y
            rest.append(nn.functional.one_hot(y, self.classes + 1).to(x.dtype))
        m = max(len(r) for r in rest)
        rest = torch.cat([r.expand(m, -1) for r in rest], -1)
        first = self.net[0]
        h = nn.functional.linear(x, first.weight[:, :2]) + nn.functional.linear(rest, first.weight[:, 2:], first.bias)
        return self.net[1:](h)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.classes and y is None and self.guide is not None:
            labels, gamma = self.guide
            labels = labels[: len(x)].to(x.device)
            if gamma == 0:
                return self._net(x, t, None)
            cond = self._net(x, t, labels)
            return cond if gamma == 1 else (1 - gamma) * self._net(x, t, None) + gamma * cond
        return self._net(x, t, y)

    def guiding(self, labels: torch.Tensor, gamma: float):
        """A context in which the model's outputs are guided toward ``labels`` (one per point) by ``gamma``."""
        model = self

        class _Guide:
            def __enter__(self):
                model.guide = (labels, float(gamma))

            def __exit__(self, *exc):
                model.guide = None

        return _Guide()

    def loss(self, x0: torch.Tensor, generator=None, y: torch.Tensor | None = None,
             dropout: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example loss and its t: eps-prediction (VP, VE) or the velocity eps - x_0 (flow). With labels
        ``y``, each is dropped (replaced by 'no label') with probability ``dropout``."""
        n = len(x0)
        t0 = self.process.t_min
        t = t0 + (1 - t0) * torch.rand(n, generator=generator, dtype=x0.dtype, device=x0.device)
        eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
        xt = self.process.noise(x0, t, eps)
        target = eps - x0 if self.process.kind == "flow" else eps
        if self.classes and y is not None:
            drop = torch.rand(n, generator=generator, device=x0.device) < dropout
            y = torch.where(drop, torch.full_like(y, self.classes), y)
        return ((self(xt, t, y) - target) ** 2).sum(-1), t

    def eps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = self(x, t)
        if self.process.kind == "flow":
            return x + (1 - t)[:, None] * out
        return out

    def score(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _, b = self.process.ab(t)
        return -self.eps(x, t) / b[:, None]

    def velocity(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The probability-flow ODE's dx/dt (for flow: the network's own output)."""
        if self.process.kind == "flow":
            return self(x, t)
        f, g2 = self.process.drift_diffusion(t)
        _, b = self.process.ab(t)
        # f x - g^2 score / 2 with score = -eps / b: one fused multiply-add
        return torch.addcmul(f[:, None] * x, (0.5 * g2 / b)[:, None], self(x, t))


# -- samplers ---------------------------------------------------------------------------------------------------
SAMPLERS = ("ddpm", "ddim", "sde", "ode", "langevin")


def time_grid(steps: int, process: Process, dtype=torch.float32, t_max: float = 1.0) -> torch.Tensor:
    """steps + 1 times from t_max down to the process's t_min. VE: uniform in t (its noise level b is geometric in t).
    The others: uniform in t^(1/3), dense where b(t) nears the data's width: there the probability-flow velocity
    changes at a rate g^2 / (2 (a^2 s^2 + b^2)), about 240 at t = 1e-3 on modes of std 0.01, and a grid uniform in
    t overshot (+1.04 nats in the likelihood on the ring at 100 steps, +4.18 at 40, with the exact score). Measured
    with the exact score on ring8 and grid25 (tests/test_models_diffusion.py): mean error <= 0.013 nats at 100 steps,
    <= 0.08 at 40, for every process."""
    t_min = process.t_min
    if process.kind == "ve":
        return torch.linspace(t_max, t_min, steps + 1, dtype=torch.float64).to(dtype)
    u = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    hi, lo = t_max ** (1 / GRID_RHO), t_min ** (1 / GRID_RHO)
    ts = (hi + u * (lo - hi)) ** GRID_RHO
    ts[0], ts[-1] = t_max, t_min
    return ts.to(dtype)


def t_for_noise(process: Process, b: float) -> float:
    """The t at which the process's noise level b(t) equals ``b`` (b grows with t): bisection."""
    lo, hi = process.t_min, 1.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        _, bm = process.ab(torch.tensor([mid], dtype=torch.float64))
        lo, hi = (mid, hi) if float(bm) < b else (lo, mid)
    return 0.5 * (lo + hi)


def langevin_levels(levels: int, process: Process, dtype=torch.float32, t_max: float = 1.0) -> torch.Tensor:
    """Annealed Langevin's noise levels: b geometric from b(t_max) down to B_FLOOR (Song & Ermon 2019), as times."""
    if levels == 1:
        return torch.tensor([process.t_min], dtype=dtype)
    _, b1 = process.ab(torch.tensor([t_max], dtype=torch.float64))
    bs = np.geomspace(float(b1), B_FLOOR, levels)
    ts = [t_max] + [t_for_noise(process, float(b)) for b in bs[1:-1]] + [process.t_min]
    return torch.tensor(ts, dtype=dtype)


class ExactField:
    """eps, the score and the ODE's velocity from a given score function (an exact one: tests drive the
    samplers with it), in ``process``: the interface of DiffusionModel that the samplers use."""

    def __init__(self, process: Process, score_fn):
        self.process, self.score_fn = process, score_fn

    def score(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.score_fn(x, t).to(x.dtype)

    def eps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _, b = self.process.ab(t)
        return -b[:, None] * self.score(x, t)

    def velocity(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        f, g2 = self.process.drift_diffusion(t)
        return f[:, None] * x - 0.5 * g2[:, None] * self.score(x, t)


def _field(model: DiffusionModel, score_fn):
    return model if score_fn is None else ExactField(model.process, score_fn)


def _t_max(proc: Process, score_fn) -> float:
    """Flow matching's a(1) = 0 makes a score-driven drift singular at t = 1: start just below it (its own
    velocity network has no such problem)."""
    return 1.0 - 1e-3 if proc.kind == "flow" and score_fn is not None else 1.0


@torch.no_grad()
def sample(model: DiffusionModel, n: int, sampler: str = "ode", steps: int = 100, eta: float = 0.0,
           generator=None, x: torch.Tensor | None = None, trajectory: list | None = None,
           score_fn=None, denoise: bool = True) -> torch.Tensor:
    """Draw n points from t = 1 to the process's t_min (on ``time_grid``). ``x``: the starting noise (the same noise for several samplers);
    ``trajectory``: a list that receives x after every step; ``score_fn``: an exact score in place of the model's
    (for tests). ddpm = ancestral sampling (VP), ddim = DDIM with eta (eta = 0: deterministic; eta > 0: VP only),
    sde = reverse SDE by Euler-Maruyama, ode = probability-flow ODE by Heun, langevin = annealed Langevin.
    ``denoise``: the last step returns E[x_0 | x_t] (Tweedie: (x - b eps)/a) instead of x at the last t, whose
    noise b(t) would otherwise blur modes as narrow as itself (DDPM's last step does the same)."""
    proc = model.process
    dtype = next(model.parameters()).dtype
    x = proc.prior_sample(n, generator, dtype) if x is None else x.clone().to(dtype)
    field = _field(model, score_fn)
    score, eps_of, velocity = field.score, field.eps, field.velocity

    def _denoised(x, t):
        a, b = proc.ab(t)
        return (x - b[:, None] * eps_of(x, t)) / a[:, None]

    ts = time_grid(steps, proc, dtype, _t_max(proc, score_fn))
    if sampler in ("ddpm", "ddim") and proc.kind not in ("vp-linear", "vp-cosine") and (sampler == "ddpm" or eta > 0):
        raise ValueError(f"{sampler}{' with eta > 0' if sampler == 'ddim' else ''} needs a variance-preserving "
                         f"process (vp-linear, vp-cosine), not {proc.kind}")
    if sampler == "langevin":  # annealed Langevin dynamics (Song & Ermon 2019)
        levels = max(1, steps // 10)
        per = max(1, steps // levels)
        lvl_t = langevin_levels(levels, proc, dtype, _t_max(proc, score_fn))
        for tl in lvl_t:
            t = tl.reshape(1)
            _, b = proc.ab(t)
            # the step at noise level b: h = b^2, half the stability limit 2 v of a Gaussian of variance v >= b^2
            # (Song & Ermon's eps sigma_i^2 / sigma_L^2 with a larger eps: 10 steps a level must mix within a mode)
            step = float(b) ** 2
            for _ in range(per):
                z = torch.randn(x.shape, generator=generator, dtype=dtype)
                x = x + step * score(x, t) + math.sqrt(2 * step) * z
                if trajectory is not None:
                    trajectory.append(x.clone())
        return _denoised(x, lvl_t[-1:]) if denoise else x
    for i in range(steps):
        t_now, t_next = ts[i:i + 1], ts[i + 1:i + 2]  # one time for all: the network embeds it once
        dt = float(ts[i + 1] - ts[i])  # negative
        if sampler == "ode":  # Heun
            v1 = velocity(x, t_now)
            x_pred = x + dt * v1
            v2 = velocity(x_pred, t_next)
            x = x + dt * 0.5 * (v1 + v2)
        elif sampler == "sde":
            f, g2 = proc.drift_diffusion(t_now)
            z = torch.randn(x.shape, generator=generator, dtype=dtype)
            drift = f[:, None] * x - g2[:, None] * score(x, t_now)
            x = x + dt * drift + torch.sqrt(g2 * -dt)[:, None] * z
        elif sampler in ("ddpm", "ddim"):
            a_t, b_t = proc.ab(t_now)
            a_s, b_s = proc.ab(t_next)
            e = eps_of(x, t_now)
            x0 = (x - b_t[:, None] * e) / a_t[:, None]
            if sampler == "ddpm":
                eta_now = 1.0
            else:
                eta_now = eta
            if proc.kind in ("vp-linear", "vp-cosine"):
                ab_t, ab_s = a_t ** 2, a_s ** 2
                sigma = eta_now * torch.sqrt(((1 - ab_s) / (1 - ab_t)).clamp_min(0) * (1 - ab_t / ab_s).clamp_min(0))
            else:
                sigma = torch.zeros_like(b_s)
            z = torch.randn(x.shape, generator=generator, dtype=dtype)
            x = a_s[:, None] * x0 + torch.sqrt((b_s ** 2 - sigma ** 2).clamp_min(0))[:, None] * e + sigma[:, None] * z
        else:
            raise ValueError(f"unknown sampler '{sampler}' ({', '.join(SAMPLERS)})")
        if trajectory is not None:
            trajectory.append(x.clone())
    if denoise:
        x = _denoised(x, ts[-1:])
        if trajectory is not None:
            trajectory.append(x.clone())
    return x


@torch.no_grad()
def ddim_encode(model: DiffusionModel, x0: torch.Tensor, steps: int = 100, score_fn=None) -> torch.Tensor:
    """DDIM with eta = 0 run forwards (t_min -> 1): the noise that decodes back to x0."""
    proc = model.process
    eps_of = _field(model, score_fn).eps
    ts = torch.flip(time_grid(steps, proc, x0.dtype), [0])
    x = x0.clone()
    for i in range(steps):
        t_now, t_next = ts[i:i + 1], ts[i + 1:i + 2]  # one time for all: the network embeds it once
        a_t, b_t = proc.ab(t_now)
        a_s, b_s = proc.ab(t_next)
        e = eps_of(x, t_now)
        x = a_s[:, None] * (x - b_t[:, None] * e) / a_t[:, None] + b_s[:, None] * e
    return x


def ode_log_prob(model: DiffusionModel, x0: torch.Tensor, steps: int = 100, score_fn=None) -> torch.Tensor:
    """log p(x0) by the probability-flow ODE and the instantaneous change of variables:
    log p_0(x0) = log p_1(x1) + int_0^1 div v(x_t, t) dt, the divergence the exact trace of the 2x2 Jacobian
    (two backward passes), integrated by Heun on ``time_grid`` from t_min (where b = B_FLOOR, so this is the
    density of the data blurred by N(0, B_FLOOR^2 I)) to 1; p_1 = N(a(1) * 0, b(1)^2 I)."""
    proc = model.process
    ts = torch.flip(time_grid(steps, proc, x0.dtype, _t_max(proc, score_fn)), [0])
    x = x0.detach().clone()
    n = len(x)
    total = torch.zeros(n, dtype=x.dtype)
    velocity = _field(model, score_fn).velocity

    def v_div(x, t):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            v = velocity(x, t)
            d0, = torch.autograd.grad(v[:, 0].sum(), x, retain_graph=True)
            d1, = torch.autograd.grad(v[:, 1].sum(), x)
        return v.detach(), d0[:, 0] + d1[:, 1]

    for i in range(steps):
        t_now, t_next = ts[i:i + 1], ts[i + 1:i + 2]  # one time for all: the network embeds it once
        dt = float(ts[i + 1] - ts[i])
        v1, div1 = v_div(x, t_now)
        x_pred = x + dt * v1
        v2, div2 = v_div(x_pred, t_next)
        x = x + dt * 0.5 * (v1 + v2)
        total = total + dt * 0.5 * (div1 + div2)
    a1, b1 = proc.ab(ts[-1:])
    # p at the last time: the data scaled by a (~ 0 for VP and flow) plus N(0, b^2): taken as N(0, b^2)
    var = b1 ** 2
    log_p1 = -0.5 * (x ** 2).sum(-1) / var - torch.log(2 * math.pi * var)
    return (log_p1 + total).detach()
