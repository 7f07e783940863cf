"""GANs on 2-D data: MLP generator and discriminator, the classic losses and their fixes.

A GAN has no likelihood, so the generator offers ``sample``/``rsample`` but no ``log_prob``.
Losses take raw discriminator outputs (logits, or critic values for the Wasserstein family).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from genviz.models.choices import CRITIC_LOSSES, GAN_LOSSES as LOSSES

from genviz.models.layers import forward_columns, is_plain_mlp, mlp


class Generator(nn.Module):
    def __init__(self, noise_dim: int = 2, hidden: int = 128, layers: int = 2, activation: str = "relu",
                 noise: str = "gaussian", out_dim: int = 2):
        super().__init__()
        if noise not in ("gaussian", "uniform"):
            raise ValueError(f"noise must be gaussian or uniform, got {noise!r}")
        self.noise_dim, self.noise = int(noise_dim), noise
        self.net = mlp([noise_dim, *([hidden] * layers), out_dim], activation)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        # the device from the first layer's weight: ``next(self.parameters())`` walks the module tree (5 us a
        # draw, four draws an iteration in the GAN lab; too little to show in an iteration's time, measured)
        device = self.net[0].weight.device
        if self.noise == "gaussian":
            z = torch.randn(n, self.noise_dim, generator=generator)
        else:
            z = torch.rand(n, self.noise_dim, generator=generator) * 2 - 1
        return z if z.device == device else z.to(device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def rsample(self, sample_shape=torch.Size(), generator: torch.Generator | None = None) -> torch.Tensor:
        """Samples that carry gradients to the generator's parameters."""
        shape = torch.Size(sample_shape)
        x = self(self.sample_noise(int(shape.numel()) or 1, generator))
        return x if len(shape) == 1 else x.reshape(*shape, -1)  # [n] -> [n, 2] as it is: no reshape per step

    @torch.no_grad()
    def sample(self, sample_shape=torch.Size(), generator: torch.Generator | None = None) -> torch.Tensor:
        return self.rsample(sample_shape, generator)


class Discriminator(nn.Module):
    """D(x) -> one raw output per (packed) input. With ``pack`` = m (PacGAN), m samples are
    concatenated into one input, so D judges sets of samples and can see a lack of diversity."""

    def __init__(self, hidden: int = 128, layers: int = 2, activation: str = "relu", pack: int = 1,
                 in_dim: int = 2):
        super().__init__()
        self.pack, self.in_dim = int(pack), in_dim
        self.net = mlp([in_dim * pack, *([hidden] * layers), 1], activation)

    def packed(self, x: torch.Tensor) -> torch.Tensor:
        if self.pack == 1 and x.dim() == 2:
            return x  # unpacked: no slice and reshape per call (a tenth of D's forward pass on the small nets)
        n = (len(x) // self.pack) * self.pack
        return x[:n].reshape(n // self.pack, self.in_dim * self.pack)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` [B, 2] -> [B // pack] outputs."""
        return self.net(self.packed(x)).squeeze(-1)


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss from its raw outputs on real and fake inputs."""
    if kind in ("minimax", "nonsat"):
        # -[log sigmoid(r) + log(1 - sigmoid(f))]
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()
    if kind in ("wgan", "wgan-gp"):
        return fake.mean() - real.mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    raise ValueError(f"unknown loss {kind!r} ({', '.join(LOSSES)})")


def d_loss_parts(kind: str, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`d_loss` term by term, per sample: (the real points' part, the fakes' part), so that
    ``d_loss(kind, real, fake) == parts[0].mean() + parts[1].mean()`` (the card's L_D = real part + fake part)."""
    if kind in ("minimax", "nonsat"):
        return F.softplus(-real), F.softplus(fake)  # -log D(x), -log(1 - D(G(z)))
    if kind == "lsgan":
        return 0.5 * (real - 1) ** 2, 0.5 * fake ** 2
    if kind in ("wgan", "wgan-gp"):
        return -real, fake
    if kind == "hinge":
        return F.relu(1 - real), F.relu(1 + fake)
    raise ValueError(f"unknown loss {kind!r} ({', '.join(LOSSES)})")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss from D's raw outputs on generated inputs."""
    if kind == "minimax":
        # Goodfellow's original: minimise log(1 - D(G(z))); saturates when D rejects the fakes
        return -F.softplus(fake).mean()
    if kind == "nonsat":
        return F.softplus(-fake).mean()  # -log D(G(z))
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    if kind in ("wgan", "wgan-gp", "hinge"):
        return -fake.mean()
    raise ValueError(f"unknown loss {kind!r} ({', '.join(LOSSES)})")


def g_loss_parts(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """:func:`g_loss` per sample (its mean is ``g_loss(kind, fake)``)."""
    if kind == "minimax":
        return -F.softplus(fake)
    if kind == "nonsat":
        return F.softplus(-fake)
    if kind == "lsgan":
        return 0.5 * (fake - 1) ** 2
    if kind in ("wgan", "wgan-gp", "hinge"):
        return -fake
    raise ValueError(f"unknown loss {kind!r} ({', '.join(LOSSES)})")


def _call(d: Discriminator, params: dict | None, x: torch.Tensor) -> torch.Tensor:
    """D(x) with its own parameters, or with ``params`` (an unrolled D's)."""
    return d(x) if params is None else functional_call(d, params, (x,))


def gradient_penalty(d: Discriminator, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None, params: dict | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al.): E[(||grad D(x_hat)||_2 - 1)^2], x_hat on lines real-fake. The
    gradient is taken with respect to the whole (packed) D input. ``params``: D's parameters to use
    (an unrolled D's), else its own."""
    n = min(len(real), len(fake)) // d.pack * d.pack
    real, fake = real[:n], fake[:n]
    eps = torch.rand(n // d.pack, 1, generator=generator).to(real.device)
    eps = eps.repeat_interleave(d.pack, 0)  # one mixing weight per packed input
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    out = _call(d, params, x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.reshape(n // d.pack, -1).norm(dim=1)
    return ((norms - 1) ** 2).mean()


def r1_penalty(d: Discriminator, real: torch.Tensor, params: dict | None = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E ||grad_x D(x)||^2 on real data (weighted by gamma/2 by the caller)."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(_call(d, params, x).sum(), x, create_graph=True)
    return grad.reshape(len(d.packed(x)), -1).pow(2).sum(1).mean()


def d_probability(kind: str, out: torch.Tensor) -> torch.Tensor:
    """What to show as 'D's output': a probability for the classic losses, the raw score for critics."""
    return out if kind in CRITIC_LOSSES else torch.sigmoid(out)


def d_objective(d: Discriminator, kind: str, real: torch.Tensor, fake: torch.Tensor, gp_weight: float = 0.0,
                r1: float = 0.0, generator: torch.Generator | None = None, params: dict | None = None):
    """D's whole training loss: the GAN loss, plus the gradient penalty (WGAN-GP) and R1 (gamma/2)
    when set. Returns (loss, D(real), D(fake)). The real D step and every unrolled step use it, so
    the generator looks ahead through exactly the update that is applied."""
    out_r, out_f = _call(d, params, real), _call(d, params, fake)
    loss = d_loss(kind, out_r, out_f)
    if kind == "wgan-gp" and gp_weight:
        loss = loss + gp_weight * gradient_penalty(d, real, fake, generator, params)
    if r1 > 0:
        loss = loss + 0.5 * r1 * r1_penalty(d, real, params)
    return loss, out_r, out_f


def unrolled_params(d: Discriminator, optimizer: torch.optim.Adam, kind: str, real_batches, fake: torch.Tensor,
                    gp_weight: float = 0.0, r1: float = 0.0, clip: float | None = None,
                    generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Metz et al.'s unrolled discriminator: k differentiable Adam steps of D from its current state,
    taken against the current generator's samples ``fake`` (which keep their graph), so G's loss
    under the returned parameters sees how D would react. Each step minimises D's whole objective
    (:func:`d_objective`: gradient penalty and R1 included) and, for WGAN, clips the weights to
    ``clip`` as the real step does."""
    group = optimizer.param_groups[0]
    lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
    names = [n for n, _ in d.named_parameters()]
    params = {n: p for n, p in d.named_parameters()}
    state = {n: optimizer.state.get(p, {}) for n, p in d.named_parameters()}
    m = {n: state[n].get("exp_avg", torch.zeros_like(params[n])).detach() for n in names}
    v = {n: state[n].get("exp_avg_sq", torch.zeros_like(params[n])).detach() for n in names}
    t0 = int(float(state[names[0]].get("step", 0))) if state[names[0]] else 0
    for i, real in enumerate(real_batches):
        loss, _, _ = d_objective(d, kind, real, fake, gp_weight, r1, generator, params)
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True)
        t = t0 + i + 1
        new = {}
        for n, g in zip(names, grads):
            m[n] = b1 * m[n] + (1 - b1) * g
            v[n] = b2 * v[n] + (1 - b2) * g * g
            m_hat = m[n] / (1 - b1 ** t)
            v_hat = v[n] / (1 - b2 ** t)
            # + 1e-16 inside the root: d sqrt(v)/dv is infinite at v = 0 and would turn into NaN
            new[n] = params[n] - lr * m_hat / ((v_hat + 1e-16).sqrt() + eps)
            if clip is not None:
                new[n] = new[n].clamp(-clip, clip)
        params = new
    return params


def grid_points(extent, n: int) -> torch.Tensor:
    xs = torch.linspace(extent[0], extent[1], n)
    ys = torch.linspace(extent[2], extent[3], n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def packed_eval(d: Discriminator, x: torch.Tensor) -> torch.Tensor:
    """D on single points when D is packed: each point is repeated ``pack`` times (the output for
    a set of identical samples). Used only for the heatmap and gradient-field views."""
    return d(x.repeat_interleave(d.pack, 0)) if d.pack > 1 else d(x)


def packed_eval_columns(d: nn.Module, x_t: torch.Tensor, workspace: list | None = None) -> torch.Tensor:
    """:func:`packed_eval` on many points given as columns (``x_t`` [2, N] -> [N]), without gradients: the lab's
    own discriminator runs feature-major (:func:`genviz.models.layers.forward_columns`, several times faster on a
    big grid; with a ``workspace`` the result lives there until the next call); any other D (a user's own model)
    is called as it is. For the heat map."""
    net = getattr(d, "net", None)
    if isinstance(d, Discriminator) and type(d).forward is Discriminator.forward and is_plain_mlp(net):
        return forward_columns(net, x_t.repeat(d.pack, 1) if d.pack > 1 else x_t, workspace).squeeze(0)
    with torch.no_grad():
        return packed_eval(d, x_t.t())


def noise_grid(g: Generator, n: int = 21) -> torch.Tensor:
    """A grid over the first two noise dimensions (the others at 0): +-2 std or the uniform box."""
    r = 2.0 if g.noise == "gaussian" else 1.0
    t = torch.linspace(-r, r, n)
    gy, gx = torch.meshgrid(t, t, indexing="ij")
    z = torch.zeros(n * n, g.noise_dim)
    z[:, 0] = gx.reshape(-1)
    if g.noise_dim > 1:
        z[:, 1] = gy.reshape(-1)
    return z
