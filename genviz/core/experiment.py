"""The contract every lab's experiment fulfils, and the guarded optimisation step they share.

An experiment owns a model, its data and its optimiser. The engine calls ``train_step`` in a loop and
``snapshot`` at a capped rate; snapshots are plain dicts of numpy copies so they can cross a process
boundary and never alias tensors that keep training.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch


class NonFiniteLoss(RuntimeError):
    pass


class Experiment:
    """Base class. Subclasses set ``LAB`` (a LabInfo) and implement the abstract methods."""

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        self.settings = dict(settings)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.data_ref = data
        self.step_count = 0

    # -- training ---------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        """One optimisation step. Returns metrics with at least ``loss``. Must not apply a
        non-finite update (use :func:`guarded_update`), so the last good state survives a NaN."""
        raise NotImplementedError

    def set_setting(self, name: str, value: Any) -> None:
        """Apply a live setting (the engine only forwards settings marked ``live``)."""
        self.settings[name] = value

    # -- views --------------------------------------------------------------------------------
    def static_info(self) -> dict:
        """Sent once after (re)build: things that do not change while training (data samples)."""
        return {}

    def snapshot(self, heavy: bool) -> dict:
        """Numpy copies of what the views show. ``heavy`` snapshots may run evaluation passes;
        the engine spaces them so they take a small share of the worker's time."""
        return {}

    def query(self, name: str, **kwargs) -> Any:
        """Answer a request from the GUI (e.g. save the model). Runs between training steps."""
        raise KeyError(f"unknown query '{name}'")

    def final_metrics(self) -> dict:
        return {}

    def save(self, path: str) -> None:
        raise NotImplementedError


def to_numpy(t: torch.Tensor, dtype=np.float32) -> np.ndarray:
    """A detached CPU numpy copy: snapshots must never share memory with live tensors."""
    return t.detach().to("cpu").numpy().astype(dtype, copy=True)


def guarded_update(loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                   params: list[torch.nn.Parameter], clip: float | None = None) -> bool:
    """backward + step, unless the loss or the gradient is non-finite (then nothing changes).

    Returns True when the update was applied. Checking before ``optimizer.step`` keeps the last
    good parameters and optimiser state intact, so a NaN pauses training without losing work.
    """
    optimizer.zero_grad(set_to_none=True)
    if not math.isfinite(float(loss.detach())):
        return False
    loss.backward()
    grads = [p.grad for p in params if p.grad is not None]
    if grads:
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        if not torch.isfinite(norm):
            optimizer.zero_grad(set_to_none=True)
            return False
        if clip is not None and clip > 0 and float(norm) > clip:
            for g in grads:
                g.mul_(clip / float(norm))
    optimizer.step()
    return True


def pick_device(requested: str) -> str:
    """"auto" -> cuda when available, else cpu. An explicit "cuda" without CUDA is an error."""
    requested = (requested or "auto").lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but torch sees no CUDA device; use device=auto or cpu")
    if requested not in ("cpu",) and not requested.startswith("cuda"):
        raise RuntimeError(f"unknown device '{requested}' (auto, cpu, cuda)")
    return requested
