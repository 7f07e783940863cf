"""``genviz bench watch``: what watching costs a user's own training loop.

The same plain-torch loop (the convolutional VAE of ``docs/examples/conv_vae.py``, or an MLP VAE, on the
embedded digits, one torch thread, batch 128) runs unwatched and watched by ``genviz.watch("manifold",
record=...)`` at its default snapshot rate, in alternating phases of equal length (so drift of the machine
falls on both); prints one JSON line per phase and the ratio of the medians. Goal: watched >= 0.95 x unwatched.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time


def _model(kind: str):
    import torch
    from torch import nn

    if kind == "conv":
        import importlib.util
        from pathlib import Path

        path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "conv_vae.py"
        if path.is_file():
            spec = importlib.util.spec_from_file_location("genviz_bench_conv_vae", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.make((1, 8, 8), latent=2)

    class MLP(nn.Module):  # the same interface, plain linear layers (installed genviz without the docs)
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 4))
            self.dec = nn.Sequential(nn.Linear(2, 256), nn.ReLU(), nn.Linear(256, 64))

        def encode(self, x):
            h = self.enc(x)
            return h[:, :2], h[:, 2:]

        def decode(self, z):
            return self.dec(z).view(-1, 1, 8, 8)

    torch.manual_seed(0)
    return MLP()


def vae_step(vae, opt, xb):
    """One step of a plain torch training loop of a VAE (Bernoulli likelihood, N(0, I) prior): what a user's own
    loop does. Returns (loss, reconstruction NLL per image, KL per image)."""
    import torch
    import torch.nn.functional as F

    mu, logvar = vae.encode(xb)
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    recon = F.binary_cross_entropy_with_logits(vae.decode(z), xb, reduction="none").flatten(1).sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
    loss = (recon + kl).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss, recon, kl


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="genviz bench watch", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    p.add_argument("--rounds", type=int, default=3, help="unwatched/watched pairs")
    p.add_argument("--model", choices=("conv", "mlp"), default="conv")
    args = p.parse_args(argv)

    import torch

    import genviz
    from genviz.data import load_dataset

    torch.set_num_threads(1)
    ds = load_dataset("digits")
    x = torch.from_numpy(ds.images).unsqueeze(1)
    labels = torch.from_numpy(ds.labels)
    vae = _model(args.model)
    opt = torch.optim.Adam(vae.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(0)

    def phase(w=None) -> float:
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            loss, recon, kl = vae_step(vae, opt, x[torch.randint(0, len(x), (128,), generator=gen)])
            n += 1
            if w is not None:
                w.step(neg_elbo=loss.item(), recon_nll=recon.mean().item(), kl=kl.mean().item())
        return n / (time.perf_counter() - t0)

    phase()  # warm-up (allocations, first kernels)
    bare, watched, shares = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            bare.append(phase())
            print(json.dumps({"bench": "watch", "phase": "unwatched", "round": r, "steps_per_sec": round(bare[-1], 1)}),
                  flush=True)
            with genviz.watch("manifold", model=vae, data=x[:1500], labels=labels[:1500], record=f"{tmp}/r{r}",
                              window=False, save_every=1e9) as w:
                watched.append(phase(w))
                shares.append(w.overhead)
                frames = len(w.history)
            print(json.dumps({"bench": "watch", "phase": "watched", "round": r, "steps_per_sec": round(watched[-1], 1),
                              "frames": frames, "share_in_views": round(shares[-1], 4)}), flush=True)
    ratio = statistics.median(watched) / statistics.median(bare)
    print(json.dumps({"bench": "watch", "model": args.model, "unwatched_steps_per_sec": round(statistics.median(bare), 1),
                      "watched_steps_per_sec": round(statistics.median(watched), 1), "ratio": round(ratio, 3),
                      "share_in_views": round(statistics.median(shares), 4), "goal": "ratio >= 0.95"}))
    return 0
