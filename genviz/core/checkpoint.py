"""Reading saved models without executing code: ``torch.load(weights_only=True)`` only unpickles
tensors and plain containers, so a hostile file is refused instead of run."""
from __future__ import annotations

import io
import os
import pickle
import zipfile

import torch

from genviz.safeio import InputError, check_zip, regular_file, shown


class CheckpointError(InputError):
    """A model file that cannot be used; the message says which file and why."""


def _check_archive(source, name: str) -> None:
    """A torch.save archive's declared sizes and member count, before torch reads any of it (an
    old-style, non-zip torch file is left to torch's weights-only reader, which streams it)."""
    if not zipfile.is_zipfile(source):
        return
    try:
        with zipfile.ZipFile(source) as zf:
            check_zip(zf, name, max_members=100_000)
    except InputError as exc:
        raise CheckpointError(str(exc)) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f"{name} is not a genviz model file, or it is truncated ({type(exc).__name__})") from None


def all_finite(tree) -> bool:
    """Whether every floating-point tensor in a (nested) state dict is finite."""
    if isinstance(tree, torch.Tensor):
        return not tree.is_floating_point() or bool(torch.isfinite(tree).all())
    if isinstance(tree, dict):
        return all(all_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(all_finite(v) for v in tree)
    return True


def read_model_file(path: str | os.PathLike, labs: tuple[str, ...]) -> dict:
    """The saved dict of a genviz model written by one of ``labs`` (``Experiment.save``): read
    without running code, its sizes bounded, its weights finite."""
    try:
        path = regular_file(path, "model file")
    except InputError as exc:
        raise CheckpointError(str(exc)) from None
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut-off one has no directory
        raise CheckpointError(f"{path.name} is not a genviz model file, or it is truncated")
    _check_archive(path, path.name)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path.name} was refused: it holds objects other than tensors and plain values, "
                              "and loading those could run code") from None
    except Exception as exc:  # a damaged archive
        raise CheckpointError(f"{path.name} could not be read ({type(exc).__name__}: {str(exc)[:160]})") from None
    from genviz.core.experiment import MODEL_FORMAT, MODEL_VERSION

    def text(value) -> str | None:  # compare only plain values: a tensor here would compare elementwise
        return value if isinstance(value, str) else None

    if not isinstance(ckpt, dict) or text(ckpt.get("format")) != MODEL_FORMAT:
        raise CheckpointError(f"{path.name} is not a genviz model file (File ▸ Save model writes one)")
    if type(ckpt.get("version")) is not int or ckpt.get("version") != MODEL_VERSION:
        raise CheckpointError(f"{path.name} has format version {shown(ckpt.get('version'))}; "
                              f"this genviz reads version {MODEL_VERSION}")
    if text(ckpt.get("lab")) not in labs:
        raise CheckpointError(f"{path.name} holds a model of the {shown(ckpt.get('lab'))} lab; "
                              f"this lab opens models of: {', '.join(labs)}")
    if not isinstance(ckpt.get("model"), dict) or not isinstance(ckpt.get("settings"), dict):
        raise CheckpointError(f"{path.name} is incomplete (no model weights or settings)")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in ckpt["model"].items()):
        raise CheckpointError(f"{path.name}: its model weights are not a table of tensors")
    if not all(isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool)))
               for k, v in ckpt["settings"].items()):
        raise CheckpointError(f"{path.name}: its settings are not plain values")
    if "optimizer" in ckpt and not isinstance(ckpt["optimizer"], dict):
        raise CheckpointError(f"{path.name}: its optimizer state is not a table")
    if not all_finite(ckpt["model"]):
        raise CheckpointError(f"{path.name}: its weights contain NaN or infinite values (a diverged model)")
    if type(ckpt.get("step", 0)) is not int or ckpt.get("step", 0) < 0:
        raise CheckpointError(f"{path.name}: its step is not a whole number >= 0")
    if ckpt.get("data") is not None and not isinstance(ckpt.get("data"), str):
        raise CheckpointError(f"{path.name}: its data reference is not a text")
    return ckpt


def state_to_bytes(state: dict) -> bytes:
    """An experiment's ``state_dict`` as torch.save bytes: a compact, alias-free copy that crosses
    the worker's process boundary and goes into session files unchanged."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def state_from_bytes(blob: bytes, what: str = "checkpoint") -> dict:
    """Read :func:`state_to_bytes` output without executing code; a hostile blob is refused."""
    _check_archive(io.BytesIO(blob), f"the {what}")
    try:
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"the {what} was refused: it holds objects other than tensors and plain values, "
                              "and loading those could run code") from None
    except Exception as exc:
        raise CheckpointError(f"the {what} could not be read ({type(exc).__name__}: {str(exc)[:160]})") from None
    if not isinstance(state, dict) or not isinstance(state.get("format"), str) or state["format"] != "genviz-state":
        raise CheckpointError(f"the {what} is not a genviz training state")
    if type(state.get("version")) is not int or state.get("version") != 1:
        raise CheckpointError(f"the {what} has format version {shown(state.get('version'))}; this genviz reads version 1")
    if not isinstance(state.get("attrs"), dict) or not isinstance(state.get("rng"), dict) or \
            not all(isinstance(e, dict) and "kind" in e and "value" in e for e in state["attrs"].values()) or \
            not isinstance(state.get("rng", {}).get("torch"), torch.Tensor) or not isinstance(state.get("step"), int):
        raise CheckpointError(f"the {what} is incomplete")
    if not all_finite({k: e["value"] for k, e in state["attrs"].items() if e["kind"] == "state_dict"}):
        raise CheckpointError(f"the {what} holds NaN or infinite weights")
    return state
