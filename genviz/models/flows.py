"""Normalizing flows in 2-D (pure core): planar, radial, RealNVP affine coupling, MAF and IAF on a
masked autoencoder (MADE), and a rational-quadratic spline coupling.

Every transform maps base -> data with ``forward(z) -> (x, log|det dx/dz|)`` and back with
``inverse(x) -> (z, log|det dz/dx|)``. Change of variables (docs/references.md):
log q_K(z_K) = log q_0(z_0) - sum_k log|det df_k/dz_{k-1}|.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, Normal

from genviz.models.choices import FLOW_TYPES
from genviz.models.plain import change_of_variables_1d  # noqa: F401 (its tests import it here)


class Transform(nn.Module):
    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class Planar(Transform):
    """f(z) = z + u_hat tanh(w.z + b) (Rezende & Mohamed 2015), with u_hat chosen so that
    w.u_hat >= -1, which keeps f invertible. The inverse solves a monotone 1-D equation."""

    def __init__(self, dim: int = 2, init_scale: float = 0.1):
        super().__init__()
        self.u = nn.Parameter(torch.randn(dim) * init_scale)
        self.w = nn.Parameter(torch.randn(dim) * init_scale)
        self.b = nn.Parameter(torch.zeros(()))

    def u_hat(self) -> torch.Tensor:
        wu = self.w @ self.u
        return self.u + (-1 + F.softplus(wu) - wu) * self.w / (self.w @ self.w + 1e-12)

    def forward(self, z):
        u = self.u_hat()
        a = z @ self.w + self.b
        x = z + u * torch.tanh(a)[:, None]
        psi = (1 - torch.tanh(a) ** 2)[:, None] * self.w
        return x, torch.log(torch.abs(1 + psi @ u) + 1e-12)

    def inverse(self, x):
        u = self.u_hat()
        wu = self.w @ u
        # alpha = w.z solves w.x = alpha + (w.u_hat) tanh(alpha + b), increasing in alpha
        target = x @ self.w
        # Newton's method from a safe start, then a few bisection-free safeguarded steps: the map
        # alpha -> alpha + (w.u_hat) tanh(alpha + b) has slope >= 0 (and > 0 except at the limit)
        alpha = target.clone()
        for _ in range(40):
            th = torch.tanh(alpha + self.b)
            g = alpha + wu * th - target
            slope = (1 + wu * (1 - th ** 2)).clamp_min(1e-6)
            step = (g / slope).clamp(-2.0, 2.0)
            alpha = alpha - step
            if float(step.detach().abs().max()) < 1e-12:
                break
        z = x - u * torch.tanh(alpha + self.b)[:, None]
        _, logdet = self.forward(z)
        return z, -logdet


class Radial(Transform):
    """f(z) = z + beta h(alpha, r)(z - z0), h = 1/(alpha + r), r = |z - z0|, beta >= -alpha."""

    def __init__(self, dim: int = 2):
        super().__init__()
        self.z0 = nn.Parameter(torch.randn(dim) * 0.5)
        self.log_alpha = nn.Parameter(torch.zeros(()))
        self.beta_raw = nn.Parameter(torch.zeros(()))
        self.dim = dim

    def params(self):
        alpha = F.softplus(self.log_alpha) + 1e-4
        beta = -alpha + F.softplus(self.beta_raw)
        return alpha, beta

    def forward(self, z):
        alpha, beta = self.params()
        diff = z - self.z0
        r = diff.norm(dim=1, keepdim=True)
        h = 1 / (alpha + r)
        x = z + beta * h * diff
        bh = (beta * h).squeeze(1)
        dh = (-h ** 2).squeeze(1)
        logdet = (self.dim - 1) * torch.log1p(bh) + torch.log1p(bh + beta * dh * r.squeeze(1))
        return x, logdet

    def inverse(self, x):
        alpha, beta = self.params()
        diff = x - self.z0
        rx = diff.norm(dim=1, keepdim=True)
        # |x - z0| = r (1 + beta / (alpha + r))  =>  r^2 + (alpha + beta - rx) r - alpha rx = 0
        c1 = alpha + beta - rx
        r = (-c1 + torch.sqrt(c1 ** 2 + 4 * alpha * rx)) / 2
        z = self.z0 + diff * (r / rx.clamp_min(1e-30))
        _, logdet = self.forward(z)
        return z, -logdet


def coupling_net(d_in: int, d_out: int, hidden: int, layers: int = 2) -> nn.Sequential:
    sizes = [d_in, *([hidden] * layers), d_out]
    mods: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        mods.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
    nn.init.zeros_(mods[-1].weight)  # start at the identity map
    nn.init.zeros_(mods[-1].bias)
    return nn.Sequential(*mods)


class AffineCoupling(Transform):
    """RealNVP (Dinh et al. 2017): the masked half passes through and sets a scale and shift for the
    other half. ``flip`` chooses which coordinate is passed through."""

    def __init__(self, hidden: int = 64, flip: bool = False):
        super().__init__()
        self.keep = 1 if flip else 0
        self.net = coupling_net(1, 2, hidden)

    def _st(self, kept):
        s, t = self.net(kept).chunk(2, dim=1)
        return torch.tanh(s), t  # a bounded log-scale keeps training stable

    def forward(self, z):
        k, c = self.keep, 1 - self.keep
        s, t = self._st(z[:, k:k + 1])
        out = z.clone()
        out[:, c:c + 1] = z[:, c:c + 1] * torch.exp(s) + t
        return out, s.squeeze(1)

    def inverse(self, x):
        k, c = self.keep, 1 - self.keep
        s, t = self._st(x[:, k:k + 1])
        out = x.clone()
        out[:, c:c + 1] = (x[:, c:c + 1] - t) * torch.exp(-s)
        return out, -s.squeeze(1)


class MaskedLinear(nn.Linear):
    def __init__(self, d_in, d_out, mask):
        super().__init__(d_in, d_out)
        self.register_buffer("mask", mask.float())

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Masked autoencoder (Germain et al. 2015): output i (a scale and a shift) depends only on
    inputs 0..i-1 in ``order``, so the Jacobian of the transform it drives is triangular."""

    def __init__(self, dim: int = 2, hidden: int = 64, layers: int = 2, order: list[int] | None = None):
        super().__init__()
        self.dim = dim
        order = list(order if order is not None else range(dim))
        deg_in = torch.empty(dim, dtype=torch.long)
        deg_in[torch.tensor(order)] = torch.arange(dim)  # degree of input j = its position in order
        degrees = [deg_in]
        for _ in range(layers):
            degrees.append(torch.arange(hidden) % max(1, dim - 1))
        mods: list[nn.Module] = []
        for i in range(layers):
            mask = degrees[i + 1][:, None] >= degrees[i][None, :]
            mods += [MaskedLinear(degrees[i].numel(), hidden, mask), nn.ReLU()]
        out_deg = deg_in.repeat(2)  # (scale, shift) for each dimension
        mask = out_deg[:, None] > degrees[-1][None, :]
        last = MaskedLinear(hidden, 2 * dim, mask)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        mods.append(last)
        self.net = nn.Sequential(*mods)
        self.order = order

    def forward(self, x):
        s, t = self.net(x).chunk(2, dim=1)
        return torch.tanh(s), t


class MAF(Transform):
    """Masked autoregressive flow (Papamakarios et al. 2017): density evaluation (x -> z) is one
    pass, sampling is sequential: x_i = z_i exp(s_i(x_<i)) + t_i(x_<i)."""

    def __init__(self, dim: int = 2, hidden: int = 64, reverse_order: bool = False):
        super().__init__()
        order = list(range(dim))[::-1] if reverse_order else list(range(dim))
        self.made = MADE(dim, hidden, order=order)

    def inverse(self, x):
        s, t = self.made(x)
        return (x - t) * torch.exp(-s), -s.sum(1)

    def forward(self, z):
        x = torch.zeros_like(z)
        for _ in range(z.shape[1]):  # each pass fixes one more coordinate
            s, t = self.made(x)
            x = z * torch.exp(s) + t
        s, _ = self.made(x)
        return x, s.sum(1)


class IAF(Transform):
    """Inverse autoregressive flow (Kingma et al. 2016): sampling is one pass,
    x_i = z_i exp(s_i(z_<i)) + t_i(z_<i); density evaluation is sequential."""

    def __init__(self, dim: int = 2, hidden: int = 64, reverse_order: bool = False):
        super().__init__()
        order = list(range(dim))[::-1] if reverse_order else list(range(dim))
        self.made = MADE(dim, hidden, order=order)

    def forward(self, z):
        s, t = self.made(z)
        return z * torch.exp(s) + t, s.sum(1)

    def inverse(self, x):
        z = torch.zeros_like(x)
        for _ in range(x.shape[1]):
            s, t = self.made(z)
            z = (x - t) * torch.exp(-s)
        s, _ = self.made(z)
        return z, -s.sum(1)


def rq_spline(x, widths, heights, derivs, bound: float, inverse: bool = False):
    """Monotone rational-quadratic spline on [-bound, bound] with identity tails (Durkan et al.
    2019). ``widths``/``heights`` are unnormalised [N, K], ``derivs`` [N, K-1] (inner knots).
    Returns y and log|dy/dx| (for the inverse: x and log|dx/dy|)."""
    k = widths.shape[-1]
    min_w = min_h = 1e-3
    min_d = 1e-3
    w = min_w + (1 - min_w * k) * torch.softmax(widths, -1)
    h = min_h + (1 - min_h * k) * torch.softmax(heights, -1)
    d = min_d + F.softplus(derivs)
    one = torch.ones(*d.shape[:-1], 1, dtype=d.dtype, device=d.device)
    d = torch.cat([one, d, one], -1)  # slope 1 at the ends: continuous with the identity tails
    cw = F.pad(torch.cumsum(w, -1), (1, 0)) * 2 * bound - bound
    ch = F.pad(torch.cumsum(h, -1), (1, 0)) * 2 * bound - bound
    cw[..., -1] = bound
    ch[..., -1] = bound
    w = cw[..., 1:] - cw[..., :-1]
    h = ch[..., 1:] - ch[..., :-1]
    inside = (x > -bound) & (x < bound)
    xc = x.clamp(-bound + 1e-6, bound - 1e-6)
    knots = ch if inverse else cw
    idx = (torch.searchsorted(knots[..., 1:-1].contiguous(), xc[..., None]).squeeze(-1)).clamp(0, k - 1)

    def pick(a):
        return a.gather(-1, idx[..., None]).squeeze(-1)

    x_k, y_k, w_k, h_k = pick(cw[..., :-1]), pick(ch[..., :-1]), pick(w), pick(h)
    d_k, d_k1 = pick(d[..., :-1]), pick(d[..., 1:])
    s_k = h_k / w_k
    if not inverse:
        xi = (xc - x_k) / w_k
        num = h_k * (s_k * xi ** 2 + d_k * xi * (1 - xi))
        den = s_k + (d_k1 + d_k - 2 * s_k) * xi * (1 - xi)
        y = y_k + num / den
        dnum = s_k ** 2 * (d_k1 * xi ** 2 + 2 * s_k * xi * (1 - xi) + d_k * (1 - xi) ** 2)
        logdet = torch.log(dnum) - 2 * torch.log(den)
        return torch.where(inside, y, x), torch.where(inside, logdet, torch.zeros_like(x))
    yc = xc
    a = h_k * (s_k - d_k) + (yc - y_k) * (d_k1 + d_k - 2 * s_k)
    b = h_k * d_k - (yc - y_k) * (d_k1 + d_k - 2 * s_k)
    c = -s_k * (yc - y_k)
    disc = (b ** 2 - 4 * a * c).clamp_min(0)
    xi = (2 * c) / (-b - torch.sqrt(disc))
    xv = xi * w_k + x_k
    den = s_k + (d_k1 + d_k - 2 * s_k) * xi * (1 - xi)
    dnum = s_k ** 2 * (d_k1 * xi ** 2 + 2 * s_k * xi * (1 - xi) + d_k * (1 - xi) ** 2)
    logdet = -(torch.log(dnum) - 2 * torch.log(den))
    return torch.where(inside, xv, x), torch.where(inside, logdet, torch.zeros_like(x))


class SplineCoupling(Transform):
    """Rational-quadratic neural spline coupling: one coordinate sets a monotone spline of the other."""

    def __init__(self, hidden: int = 64, bins: int = 8, bound: float = 5.0, flip: bool = False):
        super().__init__()
        self.keep, self.bins, self.bound = (1 if flip else 0), bins, bound
        self.net = coupling_net(1, 3 * bins - 1, hidden)

    def _params(self, kept):
        p = self.net(kept)
        return p[:, : self.bins], p[:, self.bins: 2 * self.bins], p[:, 2 * self.bins:]

    def _spline(self, v, inverse):
        k, c = self.keep, 1 - self.keep
        w, h, d = self._params(v[:, k:k + 1])
        y, logdet = rq_spline(v[:, c], w, h, d, self.bound, inverse=inverse)
        out = v.clone()
        out[:, c] = y
        return out, logdet

    def forward(self, z):
        return self._spline(z, inverse=False)

    def inverse(self, x):
        return self._spline(x, inverse=True)


class Flow(nn.Module):
    """A base N(0, I) pushed through ``transforms``: log_prob, sample, rsample like torch
    distributions, plus the intermediate points of every layer for the views."""

    def __init__(self, transforms: list[Transform], dim: int = 2):
        super().__init__()
        self.transforms = nn.ModuleList(transforms)
        self.dim = dim
        self.register_buffer("_loc", torch.zeros(dim))

    @property
    def base(self) -> Independent:
        return Independent(Normal(self._loc, torch.ones_like(self._loc)), 1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for t in reversed(self.transforms):
            x, logdet = t.inverse(x)
            total = total + logdet
        return self.base.log_prob(x) + total

    def rsample_and_log_prob(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples and their log density from the forward pass alone (what reverse KL needs)."""
        z = self.base.rsample((n,))
        logq = self.base.log_prob(z)
        for t in self.transforms:
            z, logdet = t(z)
            logq = logq - logdet
        return z, logq

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        n = int(torch.Size(sample_shape).numel()) or 1
        return self.rsample_and_log_prob(n)[0].reshape(*torch.Size(sample_shape), self.dim)

    @torch.no_grad()
    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return self.rsample(sample_shape)

    def layers(self, z: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(points, cumulative log|det|)] after layer 0 (the base), 1, ..., K."""
        out = [(z, torch.zeros(len(z), dtype=z.dtype, device=z.device))]
        total = out[0][1]
        for t in self.transforms:
            z, logdet = t(z)
            total = total + logdet
            out.append((z, total))
        return out


def build_flow(kind: str, layers: int = 8, hidden: int = 64, bins: int = 8, bound: float = 5.0) -> Flow:
    if kind == "planar":
        ts = [Planar() for _ in range(layers)]
    elif kind == "radial":
        ts = [Radial() for _ in range(layers)]
    elif kind == "realnvp":
        ts = [AffineCoupling(hidden, flip=i % 2 == 1) for i in range(layers)]
    elif kind == "maf":
        ts = [MAF(2, hidden, reverse_order=i % 2 == 1) for i in range(layers)]
    elif kind == "iaf":
        ts = [IAF(2, hidden, reverse_order=i % 2 == 1) for i in range(layers)]
    elif kind == "spline":
        ts = [SplineCoupling(hidden, bins, bound, flip=i % 2 == 1) for i in range(layers)]
    else:
        raise ValueError(f"unknown flow '{kind}' ({', '.join(FLOW_TYPES)})")
    return Flow(ts)
