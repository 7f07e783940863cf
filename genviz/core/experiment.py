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

    # attributes beyond modules, optimisers and random generators that training changes (persistent
    # chains, momentum buffers...): what a checkpoint must hold to continue exactly where it stopped
    STATE_ATTRS: tuple[str, ...] = ()

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

    # -- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything training changes: modules, optimisers, every random generator (torch's global
        one included) and ``STATE_ATTRS``, so a restored experiment continues with the same losses.
        Only tensors and plain values: it is saved with torch.save and read with weights_only=True."""
        attrs: dict[str, Any] = {}
        for name, value in vars(self).items():
            if isinstance(value, (torch.nn.Module, torch.optim.Optimizer)):
                attrs[name] = {"kind": "state_dict", "value": value.state_dict()}
            elif isinstance(value, torch.Generator):
                attrs[name] = {"kind": "generator", "value": value.get_state()}
            elif isinstance(value, np.random.Generator):
                attrs[name] = {"kind": "numpy_generator", "value": value.bit_generator.state}
        for name in self.STATE_ATTRS:
            attrs[name] = {"kind": "value", "value": _to_storable(getattr(self, name))}
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {"format": "genviz-state", "version": 1, "lab": getattr(getattr(self, "LAB", None), "name", None),
                "step": int(self.step_count), "settings": _to_storable(dict(self.settings)), "rng": rng, "attrs": attrs}

    def load_state_dict(self, state: dict) -> None:
        """Put back what :meth:`state_dict` returned (the experiment was built with the same settings)."""
        attrs = state["attrs"]
        for name, entry in attrs.items():
            if not hasattr(self, name):
                raise ValueError(f"the checkpoint has '{name}', which this {type(self).__name__} lacks")
            current, kind, value = getattr(self, name), entry["kind"], entry["value"]
            if kind == "state_dict":
                current.load_state_dict(value)
            elif kind == "generator":
                current.set_state(value)
            elif kind == "numpy_generator":
                current.bit_generator.state = value
            else:
                setattr(self, name, _from_storable(value, self.device))
        # live settings may have changed since: the checkpoint's values come back with the weights
        saved = _from_storable(state.get("settings", {}), torch.device("cpu"))
        for name, value in saved.items():
            if self.settings.get(name) != value:
                self.set_setting(name, value)
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.step_count = int(state["step"])
        self.on_state_loaded()

    def on_state_loaded(self) -> None:
        """Drop caches that belonged to the replaced state (views computed for another step)."""


def _to_storable(value: Any) -> Any:
    """Numpy arrays become tagged tensors: torch's weights-only loader reads tensors, not arrays."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone()
    if isinstance(value, dict):
        return {k: _to_storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_storable(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_storable(value: Any, device: torch.device) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            return value["__ndarray__"].numpy()
        return {k: _from_storable(v, device) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_from_storable(v, device) for v in value)
    return value


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


class ViewRandomness:
    """Gives snapshots their own stream of torch's global random numbers.

    Views sample too (an ELBO estimate, q* fits); drawing from the training's stream would make the
    course of training depend on when the GUI asked for a picture. Inside ``with`` the global
    generator holds the views' state, and the training's state is back afterwards, so a run with
    snapshots takes the same steps as one without (what resuming from a checkpoint relies on)."""

    def __init__(self, seed: int, device: torch.device):
        self.cuda = device.type == "cuda"
        self.state = torch.Generator().manual_seed(int(seed) + 0x5EED).get_state()
        self.cuda_state = None

    def __enter__(self):
        self.saved = torch.get_rng_state()
        torch.set_rng_state(self.state)
        if self.cuda:
            self.saved_cuda = torch.cuda.get_rng_state()
            if self.cuda_state is not None:
                torch.cuda.set_rng_state(self.cuda_state)
        return self

    def __exit__(self, *exc):
        self.state = torch.get_rng_state()
        torch.set_rng_state(self.saved)
        if self.cuda:
            self.cuda_state = torch.cuda.get_rng_state()
            torch.cuda.set_rng_state(self.saved_cuda)
        return False
