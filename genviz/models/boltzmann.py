"""Boltzmann machines small enough to be exact (docs/references.md): a general Boltzmann machine (every unit
connected to every other, visible and hidden alike; Ackley, Hinton & Sejnowski 1985) and a deep belief net grown
by greedy layer-wise RBMs (Hinton, Osindero & Teh 2006), on bars and stripes (MacKay 2003).

Everything a view shows is computed by enumeration in float64: log Z over all 2^(V+H) states of a general BM,
p(v) over all 2^V visible patterns, and a two-layer DBN's log p(v) = log Σ_h1 p(v | h1) p_top(h1) over all 2^H1
states of its first hidden layer (the top RBM's marginal over h1 in closed form). None of these models has a
tractable log_prob at a useful size; here the sizes are chosen so that they do, and each function refuses sizes
whose enumeration would not fit.
"""
from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from genviz.models.rbm import RBM

MAX_UNITS = 20  # 2^20 states, about 1 M: the largest joint enumeration a snapshot may do


def bars_and_stripes(n: int) -> torch.Tensor:
    """Every n × n image of bars (whole columns on or off) or stripes (whole rows), each once, as rows of n²
    pixels (float64, sorted): 2^(n+1) − 2 patterns (the all-off and all-on images are both bars and stripes)."""
    pats = set()
    for bits in itertools.product((0.0, 1.0), repeat=n):
        line = torch.tensor(bits, dtype=torch.float64)
        pats.add(tuple(line[None, :].expand(n, n).reshape(-1).tolist()))  # bars: columns
        pats.add(tuple(line[:, None].expand(n, n).reshape(-1).tolist()))  # stripes: rows
    return torch.tensor(sorted(pats), dtype=torch.float64)


def all_states(n: int, device=None) -> torch.Tensor:
    """All 2^n binary vectors of length n, state k's unit i = bit i of k (float64)."""
    if n > MAX_UNITS:
        raise ValueError(f"enumerating 2^{n} states: too many (at most 2^{MAX_UNITS})")
    ids = torch.arange(1 << n, device=device)
    return ((ids[:, None] >> torch.arange(n, device=device)) & 1).double()


def pattern_index(v: torch.Tensor) -> torch.Tensor:
    """Each binary row's index among all_states(V) (bit i = unit i)."""
    return (v.long() << torch.arange(v.shape[1], device=v.device)).sum(1)


class BoltzmannMachine(nn.Module):
    """Binary units s = (v, h), E(s) = −½ sᵀWs − bᵀs with W symmetric and zero on the diagonal. ``connect`` =
    "full" connects every pair (a general BM); "restricted" keeps only visible–hidden weights (an RBM). Its
    parameters are trained by hand (the learning rule below), so W stays symmetric and masked by construction."""

    def __init__(self, n_visible: int, n_hidden: int, connect: str = "full", init_std: float = 0.1,
                 generator: torch.Generator | None = None):
        super().__init__()
        n = n_visible + n_hidden
        if n > MAX_UNITS:
            raise ValueError(f"a Boltzmann machine of {n} units: exact log Z enumerates 2^{n} states (at most "
                             f"{MAX_UNITS} units)")
        self.n_visible, self.n_hidden = n_visible, n_hidden
        mask = torch.ones(n, n, dtype=torch.float64)
        mask.fill_diagonal_(0)
        if connect == "restricted":
            mask[:n_visible, :n_visible] = 0
            mask[n_visible:, n_visible:] = 0
        elif connect != "full":
            raise ValueError(f"connect is 'full' or 'restricted', not {connect!r}")
        self.register_buffer("mask", mask)
        w = torch.randn(n, n, generator=generator, dtype=torch.float64) * init_std
        self.W = nn.Parameter(((w + w.T) / 2) * mask, requires_grad=False)
        self.b = nn.Parameter(torch.zeros(n, dtype=torch.float64), requires_grad=False)
        self._states: dict = {}

    @property
    def n_units(self) -> int:
        return self.n_visible + self.n_hidden

    def neg_energy(self, s: torch.Tensor) -> torch.Tensor:
        """−E(s) = ½ sᵀWs + bᵀs, per row."""
        return 0.5 * ((s @ self.W) * s).sum(-1) + s @ self.b

    @torch.no_grad()
    def sweep(self, s: torch.Tensor, first: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
        """One Gibbs sweep over units first..N−1 in order, in place: s_i ~ Bernoulli(σ(Σ_j W_ij s_j + b_i)), each
        unit given the current values of all the others (W_ii = 0). ``first`` = V leaves the visible units clamped
        (the learning rule's positive phase)."""
        for i in range(first, self.n_units):
            p = torch.sigmoid(s @ self.W[:, i] + self.b[i])
            s[:, i] = torch.bernoulli(p, generator=generator)
        return s

    # -- exact quantities, by enumeration --------------------------------------------------------------------
    @torch.no_grad()
    def joint_table(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """−E(v, h) for every visible pattern v (rows, all_states(V) order) and hidden state h (columns), built from
        the blocks: ½vᵀW_vv v + b_vᵀv + vᵀW_vh h + ½hᵀW_hh h + b_hᵀh. Returns (table [2^V, 2^H], the visible
        states, the hidden states)."""
        nv = self.n_visible
        key = str(self.W.device)
        if self._states.get("key") != key:  # made once per device (not state: no buffer)
            self._states = {"key": key, "v": all_states(nv, self.W.device), "h": all_states(self.n_hidden,
                                                                                             self.W.device)}
        vs, hs = self._states["v"], self._states["h"]
        W, b = self.W, self.b
        a = 0.5 * ((vs @ W[:nv, :nv]) * vs).sum(-1) + vs @ b[:nv]
        c = 0.5 * ((hs @ W[nv:, nv:]) * hs).sum(-1) + hs @ b[nv:]
        return a[:, None] + c[None, :] + (vs @ W[:nv, nv:]) @ hs.T, vs, hs

    @torch.no_grad()
    def exact(self, data: torch.Tensor | None = None) -> dict:
        """log Z, log p(v) over all 2^V patterns and, given ``data`` (binary visible rows, each weighted equally), the
        exact log-likelihood gradient ⟨s sᵀ⟩_data − ⟨s sᵀ⟩_model (the data term's hidden units under the exact
        p(h | v)) and the data's mean log p(v), all by enumerating the 2^(V+H) states."""
        table, vs, hs = self.joint_table()
        log_z = torch.logsumexp(table.reshape(-1), 0)
        log_pv = torch.logsumexp(table, 1) - log_z
        out = {"log_z": float(log_z), "log_pv": log_pv}
        if data is not None:
            d_idx = pattern_index(data)
            p = (table - log_z).exp()  # [2^V, 2^H]
            q = torch.softmax(table[d_idx], 1)  # p(h | v) of each data row
            model = self._moments(vs, hs, p.sum(1), p, p.sum(0))
            positive = self._moments(data, hs, torch.full((len(data),), 1.0 / len(data), dtype=p.dtype,
                                                          device=p.device), q / len(data), q.mean(0))
            out["grad_W"] = (positive[0] - model[0]) * self.mask
            out["grad_b"] = positive[1] - model[1]
            out["mean_log_p"] = float(log_pv[d_idx].mean())
        return out

    def _moments(self, vs, hs, p_v, p_vh, p_h) -> tuple[torch.Tensor, torch.Tensor]:
        """⟨s sᵀ⟩ and ⟨s⟩ of a distribution over (v, h) given as its visible marginal p_v over the rows vs, its joint
        p_vh [rows, 2^H] and its hidden marginal p_h over hs."""
        vv = (vs * p_v[:, None]).T @ vs
        vh = vs.T @ p_vh @ hs
        hh = (hs * p_h[:, None]).T @ hs
        top = torch.cat([vv, vh], 1)
        return torch.cat([top, torch.cat([vh.T, hh], 1)], 0), torch.cat([vs.T @ p_v, hs.T @ p_h])

    # -- learning ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sampled_gradient(self, data: torch.Tensor, positive_h: torch.Tensor, negative: torch.Tensor, sweeps: int,
                         generator: torch.Generator | None = None) -> dict:
        """The Boltzmann learning rule's estimate ⟨s sᵀ⟩_data − ⟨s sᵀ⟩_model: the positive phase clamps v to each
        data row and runs ``sweeps`` Gibbs sweeps over the hidden units (they are connected to each other, so p(h|v)
        is not factorial: it is sampled too), from last step's hidden states ``positive_h``; the negative phase
        runs ``sweeps`` sweeps of every unit of the persistent chains ``negative`` (in place). Returns the
        gradient and the new positive hidden states."""
        pos = torch.cat([data, positive_h], 1)
        for _ in range(sweeps):
            self.sweep(pos, self.n_visible, generator)
        for _ in range(sweeps):
            self.sweep(negative, 0, generator)
        return {"W": (pos.T @ pos / len(pos) - negative.T @ negative / len(negative)) * self.mask,
                "b": pos.mean(0) - negative.mean(0), "positive_h": pos[:, self.n_visible:].clone()}

    @torch.no_grad()
    def apply(self, grad_W: torch.Tensor, grad_b: torch.Tensor, lr: float) -> None:
        """Gradient ascent on the log-likelihood; W stays symmetric with its mask."""
        self.W.add_(lr * grad_W * self.mask)
        self.b.add_(lr * grad_b)


def kl_from_uniform(mean_log_p: float, patterns: int) -> float:
    """KL(p_data ‖ p_model) for data uniform on ``patterns`` distinct patterns: −log P − E_data log p_model(v)."""
    return -math.log(patterns) - mean_log_p


# -- RBMs and a two-layer deep belief net, exact ---------------------------------------------------------------
@torch.no_grad()
def rbm_log_prob(rbm: RBM, v: torch.Tensor) -> torch.Tensor:
    """log p(v) = −F(v) − log Z of an RBM with few hidden units (log Z by enumerating them), float64."""
    return -rbm.free_energy(v.to(rbm.W.dtype)).double() - rbm.exact_log_z()


@torch.no_grad()
def pcd_step(rbm: RBM, v_data: torch.Tensor, persistent: torch.Tensor, velocity: dict, k: int, lr: float,
             momentum: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """One PCD-k update of an RBM (Tieleman 2008) with momentum; returns the advanced persistent chains."""
    persistent, _, _ = rbm.gibbs(persistent, k, generator=generator)
    for name, g in rbm.cd_gradients(v_data, persistent).items():
        velocity[name].mul_(momentum).add_(lr * g)
        getattr(rbm, name).add_(velocity[name])
    return persistent


def top_from_transpose(rbm1: RBM) -> RBM:
    """The second RBM of a DBN started as the first one upside down (Hinton, Osindero & Teh 2006, §4): visible =
    h1, hidden = a copy of v. Then its marginal over h1 is exactly the first RBM's, so the DBN's p(v) equals the
    first RBM's, and training it from here can only raise the variational bound."""
    top = RBM(rbm1.n_hidden, rbm1.n_visible).to(device=rbm1.W.device, dtype=rbm1.W.dtype)
    with torch.no_grad():
        top.W.copy_(rbm1.W.T)
        top.b.copy_(rbm1.c)
        top.c.copy_(rbm1.b)
    return top


@torch.no_grad()
def _dbn_terms(rbm1: RBM, top: RBM, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All 2^H1 first-layer states h1, log p_top(h1) [S] and log p(v | h1) [batch, S], float64."""
    H = all_states(rbm1.n_hidden, rbm1.W.device)
    W2, b2, c2 = top.W.double(), top.b.double(), top.c.double()
    neg_f = H @ b2 + F.softplus(H @ W2 + c2).sum(-1)  # −F_top(h1): the top RBM summed over its hidden units
    log_top = neg_f - torch.logsumexp(neg_f, 0)
    a = H @ rbm1.W.double().T + rbm1.b.double()  # [S, V]
    v = v.double()
    log_cond = v @ F.logsigmoid(a).T + (1 - v) @ F.logsigmoid(-a).T
    return H, log_top, log_cond


@torch.no_grad()
def dbn_log_prob(rbm1: RBM, top: RBM, v: torch.Tensor) -> torch.Tensor:
    """A two-layer DBN's exact log p(v) = log Σ_h1 p(v | h1) p_top(h1), p(v | h1) the first RBM's
    factorial conditional and p_top the top RBM's marginal over h1 (per row, float64)."""
    return dbn_log_prob_and_bound(rbm1, top, v)[0]


@torch.no_grad()
def dbn_bound(rbm1: RBM, top: RBM, v: torch.Tensor) -> torch.Tensor:
    """The variational bound greedy training raises (Hinton, Osindero & Teh 2006, eq. 10):
    log p(v) ≥ Σ_h1 q(h1|v) [log p_top(h1) + log p(v | h1) − log q(h1|v)], q the first RBM's posterior
    (factorial), summed exactly over all 2^H1 states (per row, float64)."""
    return dbn_log_prob_and_bound(rbm1, top, v)[1]


@torch.no_grad()
def dbn_log_prob_and_bound(rbm1: RBM, top: RBM, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both of the above from one pass over the 2^H1 states."""
    H, log_top, log_cond = _dbn_terms(rbm1, top, v)
    joint = log_cond + log_top[None]  # log p(v, h1)
    a = v.double() @ rbm1.W.double() + rbm1.c.double()  # q(h1_j = 1 | v) = σ(a_j), factorial
    log_q = F.logsigmoid(a) @ H.T + F.logsigmoid(-a) @ (1 - H).T  # [batch, S]
    return torch.logsumexp(joint, 1), (log_q.exp() * (joint - log_q)).sum(1)


@torch.no_grad()
def dbn_sample(rbm1: RBM, top: RBM, h1: torch.Tensor, k: int, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Advance the top RBM's chains over h1 by k Gibbs steps, then one top-down pass: (new h1, p(v | h1))."""
    h1, _, _ = top.gibbs(h1, k, generator=generator)
    return h1, rbm1.p_v(h1)
