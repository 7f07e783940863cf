"""Reading saved models without executing code: ``torch.load(weights_only=True)`` only unpickles
tensors and plain containers, so a hostile file is refused instead of run."""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import torch


class CheckpointError(ValueError):
    """A model file that cannot be used; the message says which file and why."""


def read_model_file(path: str | os.PathLike, labs: tuple[str, ...]) -> dict:
    """The saved dict of a genviz model written by one of ``labs`` (``Experiment.save``)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"model file {path} does not exist")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut-off one has no directory
        raise CheckpointError(f"{path.name} is not a genviz model file, or it is truncated")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path.name} was refused: it holds objects other than tensors and plain values, "
                              "and loading those could run code") from None
    except Exception as exc:  # a damaged archive
        raise CheckpointError(f"{path.name} could not be read ({type(exc).__name__}: {str(exc)[:160]})") from None
    from genviz.core.experiment import MODEL_FORMAT, MODEL_VERSION

    if not isinstance(ckpt, dict) or ckpt.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{path.name} is not a genviz model file (File ▸ Save model writes one)")
    if ckpt.get("version") != MODEL_VERSION:
        raise CheckpointError(f"{path.name} has format version {ckpt.get('version')!r}; "
                              f"this genviz reads version {MODEL_VERSION}")
    if ckpt.get("lab") not in labs:
        raise CheckpointError(f"{path.name} holds a model of the '{ckpt.get('lab')}' lab; "
                              f"this lab opens models of: {', '.join(labs)}")
    if not isinstance(ckpt.get("model"), dict) or not isinstance(ckpt.get("settings"), dict):
        raise CheckpointError(f"{path.name} is incomplete (no model weights or settings)")
    return ckpt


def state_to_bytes(state: dict) -> bytes:
    """An experiment's ``state_dict`` as torch.save bytes: a compact, alias-free copy that crosses
    the worker's process boundary and goes into session files unchanged."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def state_from_bytes(blob: bytes, what: str = "checkpoint") -> dict:
    """Read :func:`state_to_bytes` output without executing code; a hostile blob is refused."""
    try:
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"the {what} was refused: it holds objects other than tensors and plain values, "
                              "and loading those could run code") from None
    except Exception as exc:
        raise CheckpointError(f"the {what} could not be read ({type(exc).__name__}: {str(exc)[:160]})") from None
    if not isinstance(state, dict) or state.get("format") != "genviz-state":
        raise CheckpointError(f"the {what} is not a genviz training state")
    if state.get("version") != 1:
        raise CheckpointError(f"the {what} has format version {state.get('version')!r}; this genviz reads version 1")
    if not isinstance(state.get("attrs"), dict) or not isinstance(state.get("rng"), dict):
        raise CheckpointError(f"the {what} is incomplete")
    return state
