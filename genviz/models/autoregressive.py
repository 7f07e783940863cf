"""Fully-visible autoregressive models of binary vectors and images: p(x) = prod_i p(x_oi | x_o<i).

Every model gives ``log_prob(x) -> [batch]`` in nats (exact: a product of Bernoulli conditionals in
its ordering), ``conditionals(x) -> [batch, D]`` (p(x_i = 1 | the x before i), for every i at once,
given the true x) and ``sample(n)`` (pixel by pixel in the model's ordering). ``x`` is [batch, D]
with D = height * width; the image models reshape internally (row-major, the raster order).

- :class:`NADE` (Larochelle & Murray 2011): one hidden layer whose weights are shared across the
  conditionals; a_1 = c, a_{i+1} = a_i + W[:, o_i] x_oi, p(x_oi = 1 | x_o<i) = sigmoid(b_oi + V_oi .
  sigmoid(a_i)). Training computes every a_i at once; sampling runs the O(DH) recurrence.
- :class:`MADE` (Germain et al. 2015): an MLP whose weight masks cut every path from x_oj to the
  output of x_oi unless j < i. ``masks`` > 1 trains order-agnostically over that many orderings /
  connectivities (one per step); ``log_prob(x, ensemble=True)`` averages the masks' probabilities,
  log p(x) = log mean_k p_k(x), still exact and normalised.
- :class:`PixelCNN` (van den Oord et al. 2016a): a 7x7 convolution with mask A, 3x3 mask-B layers;
  its receptive field misses a growing region up and to the right (the blind spot).
- :class:`GatedPixelCNN` (van den Oord et al. 2016b): a vertical stack (rows above) and a horizontal
  stack (the row so far) with gated tanh * sigmoid units; the vertical stack feeds the horizontal
  one, so the receptive field has no blind spot.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from genviz.models.plain import blind_spot  # noqa: F401 (also the experiment's)

LOG2 = math.log(2.0)


def bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-dimension log p(x_i | ...) of binary x from logits (stable)."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none")


class Autoregressive(nn.Module):
    """Shared API. Subclasses implement ``logits(x) -> [B, D]`` (each from the x before it) and
    ``order`` (a LongTensor: order[i] is the dimension sampled i-th)."""

    D: int

    def logits(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def conditionals(self, x: torch.Tensor) -> torch.Tensor:
        """p(x_i = 1 | x before i) for every i, given x: [B, D]."""
        return torch.sigmoid(self.logits(x))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_prob(self.logits(x), x).sum(-1)

    def pixel_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x_i | x before i) per dimension: [B, D] (a map of what surprises the model)."""
        return bernoulli_log_prob(self.logits(x), x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, fixed: torch.Tensor | None = None,
               mask: torch.Tensor | None = None, steps: list | None = None) -> torch.Tensor:
        """n samples drawn dimension by dimension in the model's order. With ``fixed`` ([n, D] or
        [D]) and a boolean ``mask`` ([D], True = given), the masked dimensions keep fixed's values
        and the rest are sampled from the model's conditionals (completion: exact when every given
        dimension comes before every sampled one in the order, as for the top half in raster order).
        ``steps``: if a list, each step's (dimension, p(x=1)) row [n] is appended (for animation)."""
        param = next(self.parameters())
        device = param.device
        x = torch.zeros(n, self.D, device=device, dtype=param.dtype)
        if fixed is not None:
            x = fixed.to(device, param.dtype).expand(n, self.D).clone()
        given = torch.zeros(self.D, dtype=torch.bool, device=device) if mask is None else mask.to(device).bool()
        cache: dict = {}  # what a model may keep between steps of one sampling pass (rows done)
        for d in self.order.tolist():
            if bool(given[d]):
                continue
            p = self.conditional_at(x, d, cache)
            x[:, d] = torch.bernoulli(p, generator=generator)
            if steps is not None:
                steps.append((d, p.detach().cpu().numpy()))
        return x

    def conditional_at(self, x: torch.Tensor, d: int, cache: dict | None = None) -> torch.Tensor:
        """p(x_d = 1 | x before d): [B] (by default from the full forward pass). ``cache``: a dict kept
        over one sampling pass in the model's order, for models that reuse work between steps."""
        return torch.sigmoid(self.logits(x)[:, d])


def make_order(D: int, kind: str = "raster", seed: int = 0) -> torch.Tensor:
    if kind == "raster":
        return torch.arange(D)
    if kind == "random":
        return torch.from_numpy(np.random.default_rng(seed).permutation(D)).long()
    raise ValueError(f"unknown ordering '{kind}' (raster or random)")


class NADE(Autoregressive):
    def __init__(self, D: int, hidden: int = 500, order: torch.Tensor | None = None):
        super().__init__()
        self.D, self.H = D, hidden
        self.register_buffer("order", torch.arange(D) if order is None else order.long().clone())
        self.W = nn.Parameter(torch.randn(hidden, D) * 0.01)
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(D, hidden) * 0.01)
        self.b = nn.Parameter(torch.zeros(D))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        o = self.order
        xo = x[:, o]  # [B, D] in the model's order
        Wo = self.W[:, o]  # [H, D]
        # a_i = c + sum_{j < i} W[:, o_j] x_oj: a cumulative sum over the ordered contributions
        contrib = xo.unsqueeze(-1) * Wo.T.unsqueeze(0)  # [B, D, H]
        a = self.c + torch.cumsum(contrib, 1) - contrib
        h = torch.sigmoid(a)
        logit_o = (h * self.V[o].unsqueeze(0)).sum(-1) + self.b[o]  # [B, D]
        out = torch.empty_like(logit_o)
        out[:, o] = logit_o
        return out

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, fixed: torch.Tensor | None = None,
               mask: torch.Tensor | None = None, steps: list | None = None) -> torch.Tensor:
        """The O(DH) recurrence: each dimension updates the shared hidden pre-activation once."""
        device = self.W.device
        x = torch.zeros(n, self.D, device=device, dtype=self.W.dtype)
        if fixed is not None:
            x = fixed.to(device, self.W.dtype).expand(n, self.D).clone()
        given = torch.zeros(self.D, dtype=torch.bool, device=device) if mask is None else mask.to(device).bool()
        a = self.c.expand(n, self.H).clone()
        for d in self.order.tolist():
            if not bool(given[d]):
                p = torch.sigmoid(torch.sigmoid(a) @ self.V[d] + self.b[d])
                x[:, d] = torch.bernoulli(p, generator=generator)
                if steps is not None:
                    steps.append((d, p.cpu().numpy()))
            a += x[:, d : d + 1] * self.W[:, d]
        return x


class MaskedLinear(nn.Linear):
    def __init__(self, n_in: int, n_out: int):
        super().__init__(n_in, n_out)
        self.register_buffer("mask", torch.ones(n_out, n_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(Autoregressive):
    def __init__(self, D: int, hidden: tuple[int, ...] = (500,), masks: int = 1, order: str = "raster",
                 seed: int = 0):
        super().__init__()
        self.D, self.hidden, self.n_masks, self.order_kind, self.seed = D, tuple(hidden), int(masks), order, seed
        sizes = [D, *self.hidden, D]
        self.layers = nn.ModuleList(MaskedLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.register_buffer("order", torch.arange(D))
        self.register_buffer("all_masks_order", torch.zeros(self.n_masks, D, dtype=torch.long))
        self._mask_sets = [self._make_masks(k) for k in range(self.n_masks)]
        for k, (order_k, _) in enumerate(self._mask_sets):
            self.all_masks_order[k] = order_k
        self.current = -1
        self.use_mask(0)

    def _make_masks(self, k: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Ordering and connectivity number k (Germain et al. 2015, section 4): degrees m of the
        inputs are their positions in the ordering (1..D); a hidden unit's degree is drawn from
        [min degree of the layer below, D - 1]; a weight exists where degree(out) >= degree(in),
        and an output of degree d sees hidden units of degree < d."""
        rng = np.random.default_rng(self.seed * 1000 + k)
        if self.order_kind == "raster" and k == 0:
            order = np.arange(self.D)
        elif self.order_kind == "raster":
            order = np.arange(self.D)  # raster ordering, new connectivity
        else:
            order = rng.permutation(self.D)
        m_in = np.empty(self.D, dtype=np.int64)
        m_in[order] = np.arange(1, self.D + 1)
        degrees = [m_in]
        for h in self.hidden:
            low = int(degrees[-1].min()) if self.D > 1 else 1
            degrees.append(rng.integers(min(low, self.D - 1), self.D, size=h) if self.D > 1 else np.ones(h, np.int64))
        masks = [torch.from_numpy((d_out[:, None] >= d_in[None, :]).astype(np.float32))
                 for d_in, d_out in zip(degrees[:-1], degrees[1:])]
        masks.append(torch.from_numpy((m_in[:, None] > degrees[-1][None, :]).astype(np.float32)))
        return torch.from_numpy(order).long(), masks

    def use_mask(self, k: int) -> None:
        """Switch to ordering / connectivity k (k in 0..masks-1)."""
        k = int(k) % self.n_masks
        if k == self.current:
            return
        order, masks = self._mask_sets[k]
        device = self.order.device
        self.order.copy_(order.to(device))
        for layer, m in zip(self.layers, masks):
            layer.mask.copy_(m.to(device))
        self.current = k

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        return self.layers[-1](h)

    def log_prob(self, x: torch.Tensor, ensemble: bool = False) -> torch.Tensor:
        """log p(x) under the current mask, or (``ensemble``) log (1/K) sum_k p_k(x) over all K."""
        if not ensemble or self.n_masks == 1:
            return super().log_prob(x)
        return self.ensemble(self.log_prob_each(x))

    def log_prob_each(self, x: torch.Tensor) -> torch.Tensor:
        """log p_k(x) under each ordering / connectivity k: [K, B]."""
        keep = self.current
        per = []
        for k in range(self.n_masks):
            self.use_mask(k)
            per.append(super().log_prob(x))
        self.use_mask(keep)
        return torch.stack(per)

    @staticmethod
    def ensemble(each: torch.Tensor) -> torch.Tensor:
        """The mixture of the K models: log (1/K) sum_k p_k(x), from log_prob_each's [K, B]."""
        return torch.logsumexp(each, 0) - math.log(each.shape[0])

    def masks_of(self, k: int) -> list[np.ndarray]:
        """Mask k's matrices (out x in), for the view of its connectivity."""
        return [m.numpy().copy() for m in self._mask_sets[int(k) % self.n_masks][1]]

    def load_state_dict(self, state, strict: bool = True):
        out = super().load_state_dict(state, strict)
        self.current = -1
        self.use_mask(0)
        return out


class MaskedConv2d(nn.Conv2d):
    """A convolution whose kernel sees only the pixels above, and those left in the same row;
    type A also hides the centre (the first layer: a pixel never sees itself)."""

    def __init__(self, kind: str, c_in: int, c_out: int, k: int):
        super().__init__(c_in, c_out, k, padding=k // 2)
        mask = torch.ones(k, k)
        mask[k // 2, k // 2 + (kind == "B"):] = 0
        mask[k // 2 + 1:] = 0
        self.register_buffer("mask", mask[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class _ImageModel(Autoregressive):
    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width, self.D = height, width, height * width
        self.register_buffer("order", torch.arange(self.D))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.image_logits(x.view(-1, 1, self.height, self.width)).reshape(-1, self.D)

    reach = 0  # how far (rows up, columns either side) an output can see: set by each model


class PixelCNN(_ImageModel):
    def __init__(self, height: int, width: int, channels: int = 32, layers: int = 5):
        super().__init__(height, width)
        convs = [MaskedConv2d("A", 1, channels, 7)]
        convs += [MaskedConv2d("B", channels, channels, 3) for _ in range(layers)]
        self.convs = nn.ModuleList(convs)
        self.out = nn.Conv2d(channels, 1, 1)
        self.reach = 3 + layers  # the 7x7 first layer reaches 3 pixels, each 3x3 layer one more

    def image_logits(self, img: torch.Tensor) -> torch.Tensor:
        h = img
        for conv in self.convs:
            h = F.relu(conv(h))
        return self.out(h)

    def conditional_at(self, x: torch.Tensor, d: int, cache: dict | None = None) -> torch.Tensor:
        """Incremental sampling: only the cone the output at (r, c) depends on is computed. The input
        window is rows r - reach .. r, columns c - reach .. c + reach; each layer runs without padding,
        so its output shrinks to the part of the cone the next layer needs (6x11, 5x9, ... 1x1 for 5
        layers), and features outside the image are zeroed as the full pass's zero padding makes them.
        Exact (a test compares every pixel with the full pass); about 50x less work on 28x28."""
        r, c = divmod(d, self.width)
        R = self.reach
        img = F.pad(x.view(-1, 1, self.height, self.width), (R, R, R, 0))
        h = img[:, :, r: r + R + 1, c: c + 2 * R + 1]
        top, left = r - R, c - R  # image coordinates of the window's corner
        weights = cache.get("weights") if cache is not None else None
        if weights is None:  # the masked kernels, once per sampling pass
            weights = [conv.weight * conv.mask for conv in self.convs]
            if cache is not None:
                cache["weights"] = weights
        for conv, w in zip(self.convs, weights):
            k = conv.kernel_size[0] // 2
            h = F.relu(F.conv2d(F.pad(h, (0, 0, 0, k)), w, conv.bias))
            top, left = top + k, left + k
            if top < 0 or left < 0 or left + h.shape[3] > self.width:  # part of the window is off the image
                rows = torch.arange(top, top + h.shape[2], device=h.device)
                cols = torch.arange(left, left + h.shape[3], device=h.device)
                h = h * ((rows >= 0)[:, None] & ((cols >= 0) & (cols < self.width))[None, :])
        return torch.sigmoid(self.out(h)[:, 0, 0, 0])


class GatedLayer(nn.Module):
    """One gated layer (van den Oord et al. 2016b, fig. 2). The vertical map at (r, c) depends only
    on rows above r; the horizontal one on row r left of c and, through the vertical map, on all the
    rows above: no blind spot. ``first``: the input is the image itself (mask A: the horizontal
    stack must not see the current pixel, the vertical stack not its row)."""

    def __init__(self, c_in: int, c: int, k: int, first: bool):
        super().__init__()
        self.first, self.k = first, k
        self.v_conv = nn.Conv2d(c_in, 2 * c, (k // 2 + 1, k))
        self.h_conv = nn.Conv2d(c_in, 2 * c, (1, k // 2 + 1))
        self.v_to_h = nn.Conv2d(2 * c, 2 * c, 1)
        self.h_out = nn.Conv2d(c, c, 1)

    @staticmethod
    def gate(a: torch.Tensor) -> torch.Tensor:
        t, s = a.chunk(2, 1)
        return torch.tanh(t) * torch.sigmoid(s)

    def v_part(self, v: torch.Tensor) -> torch.Tensor:
        """The vertical stack's pre-activation: at (r, c) it holds rows < r only."""
        k = self.k
        if self.first:  # rows r - k//2 - 1 .. r - 1 of the image (strictly above), columns c - k//2 .. c + k//2
            return self.v_conv(F.pad(v, (k // 2, k // 2, k // 2 + 1, 0)))[:, :, : v.shape[2]]
        return self.v_conv(F.pad(v, (k // 2, k // 2, k // 2, 0)))  # v already excludes the row: include it now

    def h_part(self, h: torch.Tensor, v_pre: torch.Tensor) -> torch.Tensor:
        """The horizontal stack: row r left of c (the pixel itself from the second layer on), plus the
        vertical stack's view of the rows above."""
        k = self.k
        if self.first:  # columns c - k//2 - 1 .. c - 1 of row r (strictly left)
            h_pre = self.h_conv(F.pad(h, (k // 2 + 1, 0, 0, 0)))[:, :, :, : h.shape[3]]
        else:
            h_pre = self.h_conv(F.pad(h, (k // 2, 0, 0, 0)))
        h_new = self.h_out(self.gate(h_pre + self.v_to_h(v_pre)))
        return h_new if self.first else h_new + h  # residual on the horizontal stack

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_pre = self.v_part(v)
        return self.gate(v_pre), self.h_part(h, v_pre)


class GatedPixelCNN(_ImageModel):
    def __init__(self, height: int, width: int, channels: int = 32, layers: int = 5, k: int = 3):
        super().__init__(height, width)
        self.layers = nn.ModuleList([GatedLayer(1, channels, k, True)] +
                                    [GatedLayer(channels, channels, k, False) for _ in range(layers - 1)])
        self.out1 = nn.Conv2d(channels, channels, 1)
        self.out2 = nn.Conv2d(channels, 1, 1)
        # the first layer reaches k//2 + 1 rows up and columns to the left, k//2 to the right; each
        # further layer k//2 more in every direction
        self.reach = (k // 2 + 1) + (layers - 1) * (k // 2)

    def image_logits(self, img: torch.Tensor) -> torch.Tensor:
        v = h = img
        for layer in self.layers:
            v, h = layer(v, h)
        return self.out2(F.relu(self.out1(h)))

    def conditional_at(self, x: torch.Tensor, d: int, cache: dict | None = None) -> torch.Tensor:
        """Incremental sampling: the vertical stack at row r sees only rows above r, so it is computed
        once per row (on the rows within reach, full width) and kept in ``cache``; each pixel then runs
        only the horizontal stack on its row, columns c - reach .. c. Exact (tested against the full
        pass)."""
        r, c = divmod(d, self.width)
        img = x.view(-1, 1, self.height, self.width)
        row = cache.get("row") if cache is not None else None
        if row is None or row[0] != r:
            v = img[:, :, max(0, r - self.reach): r + 1]
            v_pres = []
            for layer in self.layers:
                v_pre = layer.v_part(v)
                v_pres.append(v_pre[:, :, -1:])
                v = layer.gate(v_pre)
            row = (r, v_pres)
            if cache is not None:
                cache["row"] = row
        left = max(0, c - self.reach)
        h = img[:, :, r: r + 1, left: c + 1]
        for layer, v_pre in zip(self.layers, row[1]):
            h = layer.h_part(h, v_pre[:, :, :, left: c + 1])
        return torch.sigmoid(self.out2(F.relu(self.out1(h)))[:, 0, 0, -1])


class WaveNet(Autoregressive):
    """WaveNet's stack of dilated causal convolutions (van den Oord et al. 2016, "WaveNet", fig. 3 and sec. 2.3)
    on the image read as one sequence in raster order: the input is shifted one step (position t holds x_{t-1}),
    then ``layers`` gated residual blocks with kernel 2 and dilations 1, 2, 4, ..., each output t seeing its own
    position and the one ``dilation`` back; skip connections sum into a 1x1 head. The receptive field therefore
    doubles with each layer: output t depends on exactly the previous 2^layers pixels (fewer near the start)."""

    def __init__(self, D: int, channels: int = 32, layers: int = 5):
        super().__init__()
        self.D = D
        self.register_buffer("order", torch.arange(D))
        self.dilations = [2 ** i for i in range(layers)]
        self.inp = nn.Conv1d(1, channels, 1)
        self.filters = nn.ModuleList(nn.Conv1d(channels, channels, 2, dilation=d) for d in self.dilations)
        self.gates = nn.ModuleList(nn.Conv1d(channels, channels, 2, dilation=d) for d in self.dilations)
        self.res = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in self.dilations)
        self.skip = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in self.dilations)
        self.out1, self.out2 = nn.Conv1d(channels, channels, 1), nn.Conv1d(channels, 1, 1)

    @property
    def receptive(self) -> int:
        """How many previous pixels an output sees: 2^layers."""
        return 1 + sum(self.dilations)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(F.pad(x.reshape(-1, 1, self.D)[:, :, :-1], (1, 0)))  # shifted: t sees x_{<t} only
        skips = 0
        for d, f, g, res, skip in zip(self.dilations, self.filters, self.gates, self.res, self.skip):
            padded = F.pad(h, (d, 0))  # causal: output t from positions t - d and t
            z = torch.tanh(f(padded)) * torch.sigmoid(g(padded))
            h = h + res(z)
            skips = skips + skip(z)
        return self.out2(F.relu(self.out1(F.relu(skips))))[:, 0, :]


class RowLSTM(_ImageModel):
    """PixelRNN's Row LSTM (van den Oord, Kalchbrenner & Kavukcuoglu 2016, sec. 3.1), one layer: the image is
    processed row by row; the LSTM state of row r at column c comes from the row above's states at columns
    c − 1, c, c + 1 (a width-3 state-to-state convolution) and from the current row's input just left of it (a
    width-3 input-to-state convolution masked so column c sees column c − 1 only: mask A). Unrolled over the
    rows, the context is a triangle: the pixel to the left, the row above's c − 2 … c, two rows up c − 3 … c + 1,
    and so on; the rest of the row to the left and the pixels beyond the triangle's edges are never seen (the
    paper's fig. 2 and 4: why the Diagonal BiLSTM was introduced)."""

    def __init__(self, height: int, width: int, channels: int = 32):
        super().__init__(height, width)
        self.channels = channels
        self.input_to_state = nn.Conv1d(1, 4 * channels, 3, padding=1)
        self.register_buffer("in_mask", torch.tensor([1.0, 0.0, 0.0]).view(1, 1, 3))  # mask A: columns < c only
        self.state_to_state = nn.Conv1d(channels, 4 * channels, 3, padding=1)
        self.out1, self.out2 = nn.Conv1d(channels, channels, 1), nn.Conv1d(channels, 1, 1)
        self.reach = height  # a row can see every row above it (within the triangle)

    def image_logits(self, img: torch.Tensor) -> torch.Tensor:
        b, c = img.shape[0], self.channels
        h = img.new_zeros(b, c, self.width)
        cell = img.new_zeros(b, c, self.width)
        w_in = self.input_to_state.weight * self.in_mask
        rows = []
        for r in range(self.height):
            gates = F.conv1d(img[:, :, r, :], w_in, self.input_to_state.bias, padding=1) + self.state_to_state(h)
            i, f, o, g = gates.chunk(4, 1)
            cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(cell)
            rows.append(self.out2(F.relu(self.out1(h))))  # [b, 1, W]
        return torch.stack(rows, 2)  # [b, 1, H, W]


class DiagonalBiLSTM(_ImageModel):
    """PixelRNN's Diagonal BiLSTM (van den Oord, Kalchbrenner & Kavukcuoglu 2016, sec. 3.2), one layer, written as
    the recurrence its skewed 2x1 state-to-state convolution computes: a left-to-right LSTM whose state at (r, c)
    comes from the states at (r − 1, c) and (r, c − 1) and the input x(r, c), so it has seen every pixel up and to
    the left; a right-to-left one (from (r − 1, c) and (r, c + 1)) that has seen every pixel up and to the right.
    Pixel (r, c) is predicted from the left-to-right state at (r, c − 1) and both states at (r − 1, c), the right-to-
    left one taken a row up as in the paper: together, exactly every pixel before it in raster order (the tests
    check it by autograd) — the full context the Row LSTM's triangle misses. The anti-diagonals run one at a time
    (the skewing trick), each position with two forget gates (one per neighbour's cell)."""

    def __init__(self, height: int, width: int, channels: int = 32):
        super().__init__(height, width)
        self.channels = channels
        self.ltr = nn.Linear(1 + 2 * channels, 5 * channels)  # input, up state, left state -> i, f_up, f_side, o, g
        self.rtl = nn.Linear(1 + 2 * channels, 5 * channels)
        self.out1 = nn.Linear(3 * channels, channels)
        self.out2 = nn.Linear(channels, 1)
        self.reach = height

    def _scan(self, img: torch.Tensor, cell: nn.Linear, step: int) -> dict:
        """States h[(r, c)] over the image, from the neighbour above and the one at column c − step."""
        b, c = img.shape[0], self.channels
        zero = img.new_zeros(b, c)
        h: dict = {}
        s: dict = {}
        cols = range(self.width) if step == 1 else range(self.width - 1, -1, -1)
        for k in range(self.height + self.width - 1):  # anti-diagonals in scan order
            for col_index, col in enumerate(cols):
                r = k - col_index
                if not 0 <= r < self.height:
                    continue
                up, side = (r - 1, col), (r, col - step)
                hu, su = h.get(up, zero), s.get(up, zero)
                hs, ss = h.get(side, zero), s.get(side, zero)
                gates = cell(torch.cat([img[:, :, r, col], hu, hs], 1))
                i, fu, fs, o, g = gates.chunk(5, 1)
                s[(r, col)] = torch.sigmoid(fu) * su + torch.sigmoid(fs) * ss + torch.sigmoid(i) * torch.tanh(g)
                h[(r, col)] = torch.sigmoid(o) * torch.tanh(s[(r, col)])
        return h

    def image_logits(self, img: torch.Tensor) -> torch.Tensor:
        b = img.shape[0]
        zero = img.new_zeros(b, self.channels)
        right, left = self._scan(img, self.ltr, 1), self._scan(img, self.rtl, -1)
        rows = []
        for r in range(self.height):
            cols = []
            for c in range(self.width):
                feats = torch.cat([right.get((r, c - 1), zero), right.get((r - 1, c), zero), left.get((r - 1, c), zero)], 1)
                cols.append(self.out2(F.relu(self.out1(feats))))
            rows.append(torch.cat(cols, 1))
        return torch.stack(rows, 1).unsqueeze(1)  # [b, 1, H, W]


def receptive_field(model: Autoregressive, x: torch.Tensor, d: int) -> np.ndarray:
    """sum over the inputs x ([n, D] or [D]) of |d logit_d / d x|: which inputs output d depends on,
    computed from the model (not from theory; several inputs, so a unit that happens to be off for
    one input does not hide a connection). Nonzero only at dimensions before d in the model's order."""
    dtype = next(model.parameters()).dtype
    x = x.detach().to(dtype).clone().view(-1, model.D).requires_grad_(True)
    logit = model.logits(x)[:, d].sum()
    (g,) = torch.autograd.grad(logit, x)
    return g.abs().sum(0).cpu().numpy()


def bits_per_dim(nll_nats: float, D: int) -> float:
    return nll_nats / (D * LOG2)


class BinnedAR2D(nn.Module):
    """An autoregressive model of 2-D points on a B x B grid of bins: p(i, j) = p(i) p(j | i), a table of
    logits for the first coordinate's bin and a small MLP of the first bin's centre for the second. Its
    whole distribution is one exact B x B image (``probabilities``), which sums to 1."""

    def __init__(self, bins: int = 48, hidden: int = 64):
        super().__init__()
        self.bins = int(bins)
        self.first = nn.Parameter(torch.zeros(self.bins))
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, self.bins))

    def _centres(self, i: torch.Tensor) -> torch.Tensor:
        return ((i.to(self.first.dtype) + 0.5) / self.bins * 2 - 1).unsqueeze(-1)  # in [-1, 1]

    def log_prob(self, ij: torch.Tensor) -> torch.Tensor:
        """ij: [n, 2] bin indices (long) -> log p(i, j): [n], nats."""
        i, j = ij[:, 0].long(), ij[:, 1].long()
        log_first = torch.log_softmax(self.first, 0)[i]
        log_second = torch.log_softmax(self.net(self._centres(i)), -1).gather(1, j[:, None])[:, 0]
        return log_first + log_second

    def conditional_table(self) -> torch.Tensor:
        """p(j | i) for every i: [B, B] (row i sums to 1)."""
        return torch.softmax(self.net(self._centres(torch.arange(self.bins, device=self.first.device))), -1)

    def probabilities(self) -> torch.Tensor:
        """p(i, j) on the whole grid: [B, B], summing to 1."""
        return torch.softmax(self.first, 0)[:, None] * self.conditional_table()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        i = torch.multinomial(torch.softmax(self.first, 0), n, replacement=True, generator=generator)
        j = torch.multinomial(self.conditional_table()[i], 1, generator=generator)[:, 0]
        return torch.stack([i, j], 1)
