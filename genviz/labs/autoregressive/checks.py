"""Check this run, for the autoregressive lab (genviz.core.checkrun): normalisation by enumeration (the model's
probabilities of every completion of a test image's last pixels in its order sum to the probability of the rest;
for binned points, the whole grid's probabilities sum to 1) and the test NLL as the chain rule's sum of the
pixels' surprises."""
from __future__ import annotations

import itertools

import torch

from genviz.core.checkrun import Checks, close

ENUMERATED = 10  # pixels enumerated: 2^10 completions


@torch.no_grad()
def autoregressive_checks(exp, checks: Checks) -> None:
    model = exp.model
    if exp.toy is not None:
        def grid_sum() -> tuple[bool, str]:
            B = model.bins
            ij = torch.cartesian_prod(torch.arange(B), torch.arange(B)).to(exp.device)
            total = float(torch.logsumexp(model.log_prob(ij).double(), 0).exp())
            return close(total, 1.0, 1e-5, what=f"Σ p(i, j) over all {B}×{B} bins: ")

        checks.add("model p(x₁, x₂) and the test NLL", "test_nll", "normalised: every bin's probability summed",
                   grid_sum)
        return

    with exp.first_ordering():
        order = getattr(model, "order", None)
        x = exp.x_test[:1].to(exp.device).reshape(1, -1).clone()
        D = x.shape[1]

        def completions() -> tuple[bool, str]:
            if order is None:
                return True, "your own model names no order: not applicable"
            last = order[-ENUMERATED:].tolist()
            rest = order[:-ENUMERATED].tolist()
            xs = x.repeat(2 ** ENUMERATED, 1)
            bits = torch.tensor(list(itertools.product((0.0, 1.0), repeat=ENUMERATED)), dtype=x.dtype, device=x.device)
            xs[:, last] = bits
            log_all = model.log_prob(xs).double()
            prefix = model.pixel_log_prob(x).double()[0, rest].sum()
            total = float(torch.logsumexp(log_all, 0).exp() / prefix.exp())
            return close(total, 1.0, 1e-4, what=f"Σ over the 2^{ENUMERATED} completions of the last {ENUMERATED} "
                                                 f"pixels (in the model's order) of p(x) / p(the other {D - ENUMERATED}): ")

        checks.add("the likelihoods (test NLL, surprise per pixel)", "test_nll",
                   f"normalised and causal: p summed over every completion of a test image's last {ENUMERATED} pixels",
                   completions)

        def chain_rule() -> tuple[bool, str]:
            xs = exp.x_test[:100].to(exp.device).reshape(100 if len(exp.x_test) >= 100 else len(exp.x_test), -1)
            whole = model.log_prob(xs).double()
            parts = model.pixel_log_prob(xs).double().sum(-1)
            err = float((whole - parts).abs().max())
            return err <= 1e-3, f"−log p(x) against Σ −log p(x_i | x_<i) on {len(xs)} test images: largest difference {err:.2g}"

        checks.add("surprise per pixel (pixel NLL)", "pixel_nll", "the pixels' surprises add up to the image's NLL",
                   chain_rule)
