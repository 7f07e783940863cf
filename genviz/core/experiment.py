"""The contract every lab's experiment fulfils, and the guarded optimisation step they share.

An experiment owns a model, its data and its optimiser. The runner (``genviz.core.runner``) calls
:meth:`Experiment.advance` in a loop and ``snapshot`` at a capped rate; snapshots are plain dicts of
numpy copies so they can cross a process boundary and never alias tensors that keep training.

What a lab writes (docs/adding-a-lab.md): ``LAB``, ``__init__`` (build data, model, optimiser from
``self.settings``), ``train_step``, ``snapshot``, ``static_info`` and ``model_state``; optionally
``on_setting`` (react to a live setting), ``VIEW``/``on_view`` (view-only choices), ``query`` (more requests from its panel), ``final_metrics``,
``STATE_ATTRS`` and ``on_state_loaded``. The base parses settings, counts steps, refuses non-finite
steps, answers ``save``/``metrics``, writes the model-file envelope and makes checkpoints.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch


class NonFiniteLoss(RuntimeError):
    """A step whose metrics are not finite: the experiment refused the update (its state is the
    last good one) and did not count the step."""

    def __init__(self, step: int, metrics: dict):
        self.step, self.metrics = int(step), {k: float(v) for k, v in metrics.items()}
        bad = ", ".join(f"{k}={v:g}" for k, v in self.metrics.items())
        super().__init__(f"non-finite loss at step {self.step} ({bad})")


class UnsavedState(TypeError):
    """An experiment trains a tensor that its checkpoints would not hold (a lab contract error)."""


MODEL_FORMAT, MODEL_VERSION = "genviz-model", 1


class Experiment:
    """Base class. Subclasses set ``LAB`` (a LabInfo) and implement the abstract methods."""

    LAB = None  # the lab's LabInfo: its settings are what this experiment accepts

    # attributes beyond modules, optimisers and random generators that training changes (persistent
    # chains, momentum buffers...): what a checkpoint must hold to continue exactly where it stopped
    STATE_ATTRS: tuple[str, ...] = ()

    # values of settings the lab does not offer but its (shared) code reads, e.g. the posterior lab's
    # VAE has a 2-D latent: they are fixed, not parsed
    FIXED_SETTINGS: dict[str, Any] = {}

    # view-only choices with their defaults (the flow layer the density views show, the example whose
    # posterior is drawn): they change what snapshots show, never training, so they are not settings
    # and not in checkpoints; the panel owns them and a session keeps them as its view state
    VIEW: dict[str, Any] = {}

    # partial steps the lab offers besides a whole train_step (name -> what it does: the GAN's lone D or G
    # update, the Gibbs chains' half step): ``train_part`` does them, and they go through ``advance``, so they are
    # counted, recorded and checkpointed like any step; their metric row carries ``part_<name>`` = 1
    PARTS: dict[str, str] = {}

    # the queries the lab answers besides save/metrics/state, each with example arguments: a query must never
    # change what ``state_dict`` holds (tests/test_conformance.py runs every one on every lab)
    QUERIES: dict[str, dict] = {}

    # a user's own model (``--model-code``, for a lab with a ``LabInfo.user_model`` family): the lab sets it to the
    # genviz.core.model_code.ModelCode it built its model from; ``save`` records its reference in the model file
    # (reading the file back needs the same code) and ``user_model_info`` names it for the window
    model_code = None
    # the settings of the lab's own network that a user's model makes irrelevant (greyed out in the form)
    NETWORK_SETTINGS: tuple[str, ...] = ()

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        self.settings = self.parse_settings(settings)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.data_ref = data
        self.step_count = 0
        self.view = dict(self.VIEW)
        # live setting changes, in order: {"step": steps done when it was made, "name", "value", "was"}; kept in
        # checkpoints, so a session's script (genviz export --format py) replays them as a schedule
        self.setting_changes: list[dict] = []
        # the partial steps taken, in order: {"step": the step it was, "part", "args"} (plain values), in checkpoints
        # too: a script of the run repeats them with their arguments (the Gibbs lab's painted clamp)
        self.parts_taken: list[dict] = []

    @classmethod
    def parse_settings(cls, settings: dict) -> dict:
        """The lab's defaults with ``settings`` parsed over them (a clear SettingError for an unknown
        name or a bad value), then the fixed ones. Parsing twice gives the same values."""
        from genviz.core.settings import resolve

        if cls.LAB is None:
            return {**dict(settings), **cls.FIXED_SETTINGS}
        offered = {s.name for s in cls.LAB.settings}
        given = {k: v for k, v in settings.items() if not (k in cls.FIXED_SETTINGS and k not in offered)}
        return {**resolve(cls.LAB.settings, given), **cls.FIXED_SETTINGS}

    # -- training ---------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        """One optimisation step. Returns its metrics (``loss`` where the model has a tractable one).
        Must not apply a
        non-finite update (use :func:`guarded_update`), so the last good state survives a NaN.
        Called by :meth:`advance`, which counts the step."""
        raise NotImplementedError

    def train_part(self, part: str, **kwargs) -> dict[str, float]:
        """One of ``PARTS`` (guarded like ``train_step``). Called by :meth:`advance`, which counts it."""
        raise NotImplementedError

    def advance(self, part: str | None = None, **kwargs) -> dict[str, float]:
        """One counted training step, or one of the lab's partial steps ``part``: its metrics, or
        :class:`NonFiniteLoss` (the step is not counted, the state is the last good one). The only place
        where steps are counted."""
        if part is None:
            metrics = self.train_step()
        elif part not in self.PARTS:
            raise KeyError(f"'{part}' is not a partial step of this lab (it has: {', '.join(self.PARTS) or 'none'})")
        else:
            metrics = {**self.train_part(part, **kwargs), f"part_{part}": 1.0}
        if not _all_finite(metrics.values()):
            raise NonFiniteLoss(self.step_count + 1, metrics)
        self.step_count += 1
        if part is not None:
            self.parts_taken.append({"step": self.step_count, "part": str(part), "args": _plain(kwargs)})
        return metrics

    def report(self, text: str) -> None:
        """Progress of long work outside training (final metrics): ``genviz train`` prints it."""

    def set_setting(self, name: str, value: Any) -> None:
        """Apply a live setting (the engine only forwards settings marked ``live``): parsed with the
        lab's own spec, stored, then :meth:`on_setting` lets the lab react."""
        if self.LAB is not None:
            value = self.LAB.setting(name).parse(value)
        was = self.settings.get(name)
        self.settings[name] = value
        if was != value:
            self.setting_changes.append({"step": int(self.step_count), "name": str(name),
                                         "value": _to_storable(value), "was": _to_storable(was)})
        self.on_setting(name, value)

    def on_setting(self, name: str, value: Any) -> None:
        """A live setting changed (e.g. the learning rate reaches the optimiser here)."""

    def set_view(self, name: str, value: Any) -> None:
        """Change a view-only choice (one of ``VIEW``), converted to its default's type."""
        if name not in self.VIEW:
            raise KeyError(f"'{name}' is not a view choice of this lab (it has: {', '.join(self.VIEW) or 'none'})")
        default = self.VIEW[name]
        value = type(default)(value) if default is not None else value
        if self.view.get(name) != value:
            self.view[name] = value
            self.on_view(name, value)

    def on_view(self, name: str, value: Any) -> None:
        """A view choice changed: drop what was computed for the previous one."""

    # -- views --------------------------------------------------------------------------------
    def static_info(self) -> dict:
        """Sent once after (re)build: things that do not change while training (data samples)."""
        return {}

    def user_model_info(self, described: str = "") -> dict:
        """``static_info``'s reserved keys for a user's model: ``your_model`` (``described``, or its modules and
        parameter count: the window's status line names it) and ``unused_settings`` (``NETWORK_SETTINGS``, each
        with why: the settings form greys them out). Empty for the lab's own model."""
        if self.model_code is None and not described:
            return {}
        return {"your_model": described or describe_modules(self.model_modules()),
                "unused_settings": {name: "your own model's code decides its network"
                                    for name in self.NETWORK_SETTINGS} if self.model_code is not None else {}}

    def model_modules(self) -> dict[str, torch.nn.Module]:
        """The modules a user's model gave the lab, by the name the status line uses (``user_model_info``)."""
        return {name: value for name, value in vars(self).items() if isinstance(value, torch.nn.Module)}

    def snapshot(self, heavy: bool) -> dict:
        """Numpy copies of what the views show. ``heavy`` snapshots may run evaluation passes;
        the engine spaces them so they take a small share of the worker's time."""
        return {}

    def query(self, name: str, **kwargs) -> Any:
        """Answer a request from the GUI between training steps. The base answers ``save`` (the
        model file at ``path``) and ``metrics`` (:meth:`final_metrics`); labs add their own."""
        if name == "save":
            self.save(kwargs["path"])
            return kwargs["path"]
        if name == "metrics":
            return self.final_metrics(**kwargs)
        if name == "check":  # Check this run: the lab's exact checks (genviz.core.checkrun), as plain dicts
            from genviz.core.checkrun import run_lab_checks

            return [v.as_dict() for v in run_lab_checks(self.LAB, self)]
        raise KeyError(f"unknown query '{name}'")

    def background_busy(self) -> bool:
        """Whether work a query started in the background (the RBM's AIS run) is still running: while
        it is, a paused worker goes on sending snapshots, so its progress shows. A paused worker with
        nothing running sends one snapshot after each change (a step, a setting) and then none."""
        return False

    def wait_for_background(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for work a query started in the background (the RBM's AIS run);
        the contract checks call it before comparing the training state."""

    def final_metrics(self, **kwargs) -> dict:
        return {"lab": getattr(self.LAB, "name", None), "steps": self.step_count, "device": str(self.device)}

    def family_view(self):
        """The trained model as one column of "one data set, every family" (genviz.core.families.FamilyView: a
        sampler of 2-D points and its log_prob where the family has one), or None where this run is not a model
        of 2-D points. The shared metrics score every family's view by one implementation."""
        return None

    # -- model files ------------------------------------------------------------------------------
    def model_state(self) -> dict:
        """What a model file holds besides the envelope: state dicts and plain values (read back
        with ``torch.load(weights_only=True)``), e.g. ``{"model": ..., "optimizer": ...}``."""
        raise NotImplementedError

    def save(self, path: str) -> None:
        """The model file: one envelope for every lab (format, version, lab, settings, seed, data,
        step) around :meth:`model_state`. ``genviz.core.checkpoint.read_model_file`` reads it."""
        envelope = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "lab": getattr(self.LAB, "name", None),
                    "settings": dict(self.settings), "seed": self.seed, "data": self.data_ref,
                    "step": self.step_count}
        state = self.model_state()
        clash = set(state) & (set(envelope) | {"model_code"})
        if clash:
            raise ValueError(f"model_state() must not use the envelope's keys: {sorted(clash)}")
        if self.model_code is not None:  # reading the file back needs the same code: the file says which
            state["model_code"] = self.model_code.to_dict()
        torch.save({**envelope, **state}, path)

    # -- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything training changes: modules, optimisers, every random generator (torch's global
        one included) and ``STATE_ATTRS``, so a restored experiment continues with the same losses.
        Only tensors and plain values: it is saved with torch.save and read with weights_only=True.

        A trained tensor that none of these holds (a bare ``nn.Parameter`` attribute, a tensor an
        optimiser updates) is refused with :class:`UnsavedState`, naming it: a checkpoint without it
        would put the optimiser's moments back onto the initial weights, silently."""
        if missing := self.unsaved_state():
            raise UnsavedState(f"{type(self).__name__} trains {', '.join(missing)} but no checkpoint part "
                               "holds it: keep trained tensors in an nn.Module attribute")
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
                "step": int(self.step_count), "settings": _to_storable(dict(self.settings)), "rng": rng, "attrs": attrs,
                "setting_changes": [dict(c) for c in self.setting_changes],
                "parts_taken": [dict(p) for p in self.parts_taken], "threads": int(torch.get_num_threads())}

    def load_state_dict(self, state: dict) -> None:
        """Put back what :meth:`state_dict` returned (the experiment was built with the same settings).
        The state must name exactly this experiment's parts, each of the same kind: anything else
        (a state of another lab, a hostile file naming other attributes) is refused before any of
        it is applied."""
        attrs = state["attrs"]
        own = self._state_kinds()
        theirs = {name: entry.get("kind") if isinstance(entry, dict) else None for name, entry in attrs.items()}
        if theirs != own:
            odd = sorted(set(theirs) ^ set(own)) or sorted(k for k in own if own[k] != theirs.get(k))
            raise ValueError(f"the saved state does not fit this {type(self).__name__} (it differs in: "
                             f"{', '.join(map(str, odd[:5]))})")
        for name, entry in attrs.items():
            current, kind, value = getattr(self, name), entry["kind"], entry["value"]
            if kind == "state_dict":
                try:
                    current.load_state_dict(value)
                except (RuntimeError, ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"the saved state does not fit this {type(self).__name__}: its '{name}' differs "
                                     f"({str(exc).strip().splitlines()[-1][:160]})") from None
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
        self.setting_changes = [dict(c) for c in state.get("setting_changes", [])
                                if isinstance(c, dict) and {"step", "name", "value", "was"} <= set(c)]
        self.parts_taken = [dict(p) for p in state.get("parts_taken", [])
                            if isinstance(p, dict) and {"step", "part", "args"} <= set(p)]
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.step_count = int(state["step"])
        self.on_state_loaded()

    def unsaved_state(self) -> list[str]:
        """What training changes that :meth:`state_dict` would not save: every attribute tensor that
        requires grad (an ``nn.Parameter`` among them, also inside a list, tuple or dict attribute) and
        every tensor an optimiser attribute updates, unless a saved module holds it (as a parameter or
        buffer; ``STATE_ATTRS`` do for a tensor no optimiser updates: a restore replaces their objects,
        which an optimiser would no longer see). Each is named as the attribute (``'w'``, ``'params[1]'``)
        or, for an optimiser's tensor held by no attribute, ``"a tensor optimiser 'opt' updates"``."""
        in_modules: set[int] = set()
        for value in vars(self).values():
            if isinstance(value, torch.nn.Module):
                in_modules.update(id(t) for t in value.parameters())
                in_modules.update(id(t) for t in value.buffers())
        held = set(in_modules)
        for name in self.STATE_ATTRS:
            held.update(id(t) for _, t in _tensors(getattr(self, name, None), name))
        missing: dict[int, str] = {}
        named: dict[int, str] = {}
        for name, value in vars(self).items():
            if isinstance(value, torch.nn.Module):
                continue
            for where, tensor in _tensors(value, name):
                named.setdefault(id(tensor), where)
                if tensor.requires_grad and id(tensor) not in held:
                    missing.setdefault(id(tensor), f"'{where}'")
        for name, value in vars(self).items():
            if isinstance(value, torch.optim.Optimizer):
                for group in value.param_groups:
                    for tensor in group["params"]:
                        if id(tensor) not in in_modules:
                            where = named.get(id(tensor))
                            missing.setdefault(id(tensor), f"'{where}'" if where else
                                               f"a tensor optimiser '{name}' updates")
        return list(dict.fromkeys(missing.values()))

    def _state_kinds(self) -> dict[str, str]:
        """The parts :meth:`state_dict` saves, by name, with their kind."""
        kinds = {}
        for name, value in vars(self).items():
            if isinstance(value, (torch.nn.Module, torch.optim.Optimizer)):
                kinds[name] = "state_dict"
            elif isinstance(value, torch.Generator):
                kinds[name] = "generator"
            elif isinstance(value, np.random.Generator):
                kinds[name] = "numpy_generator"
        kinds.update({name: "value" for name in self.STATE_ATTRS})
        return kinds

    def on_state_loaded(self) -> None:
        """Drop caches that belonged to the replaced state (views computed for another step)."""


def _is_finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _all_finite(values) -> bool:
    """Whether every number among ``values`` (a collection: read twice when one is not a number) is finite;
    what is not a number does not count. One C loop for the usual floats."""
    try:
        return all(map(math.isfinite, values))
    except (TypeError, ValueError):
        return all(_is_finite(v) for v in values)


def _tensors(value: Any, where: str, depth: int = 0):
    """The tensors in an attribute's value, with where each is (``params[1]``, ``velocity['w']``):
    the value itself, or inside lists, tuples and dicts (not modules: they save themselves)."""
    if isinstance(value, torch.Tensor):
        yield where, value
    elif depth < 3 and isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _tensors(item, f"{where}[{i}]", depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{where}[{key!r}]", depth + 1)


def _plain(value: Any) -> Any:
    """Plain Python values (lists, dicts, numbers, strings) of arguments that may hold numpy arrays or tensors."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


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


def describe_modules(modules: dict[str, torch.nn.Module]) -> str:
    """"ConvVAE (12,345 parameters)"; several: "MLP G (1,234 parameters), MLP D (2,345)": the user's own classes
    (a wrapper's ``net`` or ``user`` attribute where the lab wraps it)."""
    parts = []
    for i, (name, module) in enumerate(modules.items()):
        inner = getattr(module, "net", None) or getattr(module, "user", None)
        cls = type(inner if isinstance(inner, torch.nn.Module) else module).__name__
        n = sum(p.numel() for p in module.parameters())
        label = f"{cls} {name}" if len(modules) > 1 else cls
        parts.append(f"{label} ({n:,} parameters)" if i == 0 else f"{label} ({n:,})")
    return ", ".join(parts)


def to_numpy(t: torch.Tensor, dtype=np.float32) -> np.ndarray:
    """A detached CPU numpy copy: snapshots must never share memory with live tensors. float16 is converted by
    torch: its conversion is vectorised, numpy's is not, and numpy's path for values below float16's normal range
    (a probability near 0, a density far from its mass) is ~150x slower (37k values: 1.25 ms against 0.007 ms);
    the two round alike (tests/test_snapshot_arrays.py). Other types go through numpy, whose call costs ~2 µs less
    on the small arrays most snapshots hold."""
    if np.dtype(dtype) == np.float16:
        return t.detach().to("cpu", torch.float16, copy=True).numpy()
    return t.detach().to("cpu").numpy().astype(dtype, copy=True)


def half(a: np.ndarray) -> np.ndarray:
    """``a.astype(np.float16)``, the same numbers, converted by torch (see :func:`to_numpy`): for arrays a
    snapshot stores as float16."""
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64) or a.ndim == 0:
        return a.astype(np.float16)
    a = np.ascontiguousarray(a)
    return torch.from_numpy(a if a.flags.writeable else a.copy()).to(torch.float16).numpy()


def to_compact(t: torch.Tensor) -> np.ndarray:
    """A snapshot array only drawn, stored small: uint8 when every value is 0 or 1 (binary images),
    else float16 (3 significant digits: below a pixel or a colour step). Panels cast before drawing."""
    a = t.detach().to("cpu")
    if bool(((a == 0) | (a == 1)).all()):
        return a.numpy().astype(np.uint8, copy=True)
    return a.to(torch.float16, copy=True).numpy()  # by torch: see to_numpy


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
    if grads and clip is not None and clip > 0:
        # one fused kernel for all the per-tensor norms (small models: the per-call overhead dominates)
        norm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
        if not math.isfinite(norm):
            optimizer.zero_grad(set_to_none=True)
            return False
        if norm > clip:
            for g in grads:
                g.mul_(clip / norm)
    elif grads and not grads_finite(grads, optimizer.__dict__.setdefault("_finite_check_flags", {})):
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    return True


def _check_flags(device: torch.device, cache: dict | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The finiteness check's (found, scale 1) tensors on ``device``: made once per ``cache``, found set to 0."""
    pair = None if cache is None else cache.get(device)
    if pair is None:
        pair = (torch.zeros(1, device=device), torch.ones(1, device=device))
        if cache is not None:
            cache[device] = pair
    else:
        pair[0].zero_()
    return pair


def grads_finite(grads: list[torch.Tensor], cache: dict | None = None) -> bool:
    """Whether every gradient is finite, in one fused kernel per device and dtype: torch's own check for
    mixed precision (``GradScaler``) at scale 1, which leaves the values exactly as they are. A quarter of
    the cost of a norm (foreach norms, their norm, ``isfinite``): on the GAN lab's small nets 4 µs, not 26.
    ``cache`` (a dict, one per optimizer: :func:`guarded_update` keeps it on the optimizer, which one thread
    steps at a time) holds its two one-element tensors per device: making them at every update cost the GAN
    lab's ring configuration 5 % of its steps (interleaved blocks of 40 iterations, median of 30)."""
    groups: dict = {}
    for g in grads:
        groups.setdefault((g.device, g.dtype), []).append(g)
    for (device, _), group in groups.items():
        found, one = _check_flags(device, cache)
        try:
            torch._amp_foreach_non_finite_check_and_unscale_(group, found, one)
        except (RuntimeError, NotImplementedError):  # a device or dtype without the kernel: the norm's test
            if not all(bool(torch.isfinite(n)) for n in torch._foreach_norm(group)):
                return False
            continue
        if found.item():
            return False
    return True


def adam(params, lr: float, **kwargs) -> torch.optim.Adam:
    """Adam for every lab: the fused implementation where torch has one for the device (CPU since
    torch 2.4, CUDA): on the labs' small models the per-tensor Python loop of the default one is a
    large part of a step (measured on the GAN lab: +47 % optimizer steps per second on one CPU
    thread). Same algorithm, same state (exp_avg, exp_avg_sq, step)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # an older torch, or a device without the fused kernel
        return torch.optim.Adam(params, lr=lr, **kwargs)


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
