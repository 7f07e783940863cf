"""Session files: a run saved whole (lab, settings, seed, data reference, model and optimiser state,
metric curves, snapshot history, checkpoints) in one file whose loading executes no code.

The file is a zip archive:

- ``session.json``: everything that is not an array, as JSON (arrays appear as references);
- ``arrays.npz``: the snapshots' arrays, read with ``np.load(allow_pickle=False)``;
- ``state/*.pt``: training states (the current one and the checkpoints), torch.save bytes read with
  ``torch.load(weights_only=True)``.

Nothing in it is a plain pickle, so a hostile file is refused with a message instead of run.
"""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genviz.core.history import History
from genviz.core.predict import ANSWER_SCHEMA
from genviz.safeio import InputError, check_size, check_zip, npz_from_bytes, regular_file

FORMAT = "genviz-session"
VERSION = 1
SUFFIX = ".genviz"
MAX_MANIFEST_BYTES = 64_000_000


class SessionError(InputError):
    """A session file that cannot be used; the message says which file and why."""


_SCALAR = {"type": ["string", "number", "boolean", "null"], "maxLength": 4096}
_TAGGED = {"type": "object", "maxProperties": 1, "minProperties": 1,
           "propertyNames": {"enum": ["__array__", "__scalar__", "__bytes__"]},
           "additionalProperties": {"type": "string", "maxLength": 32}}
_STEP = {"type": "integer", "minimum": 0, "maximum": 10 ** 15}
# what session.json must look like before any of it is used (checked with jsonschema); the free-form
# parts (a lab's static data and frames) are checked by the lab's worker when the session is opened
MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["format", "version", "lab", "settings", "frames", "checkpoints", "metrics"],
    "properties": {
        "format": {"const": FORMAT}, "version": {"const": VERSION},
        "saved_at": {"type": "number"},
        "lab": {"type": "string", "maxLength": 100},
        "settings": {"type": "object", "maxProperties": 1000, "additionalProperties": {"anyOf": [_SCALAR, _TAGGED]}},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2 ** 32 - 1},
        "data": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 4096}]},
        "device": {"enum": ["auto", "cpu", "cuda"]},
        "step": _STEP,
        "title": {"type": "string", "maxLength": 1000},
        "caption": {"type": "string", "maxLength": 10000},
        "preset": {"type": "string", "maxLength": 200},
        # the class's answers to the preset's predictions (genviz.core.predict.ANSWER_SCHEMA)
        "predictions": ANSWER_SCHEMA,
        "static": {"type": "object"},
        "view": {"type": "object", "maxProperties": 100, "additionalProperties": {"anyOf": [_SCALAR, _TAGGED]}},
        # a user's own model: a reference, never code; opening the session imports nothing without the user
        "model_code": {"anyOf": [{"type": "null"}, {
            "type": "object", "required": ["spec"], "additionalProperties": False, "properties": {
                "spec": {"type": "string", "maxLength": 4096},
                "sha256": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^[0-9a-f]{64}$"}]},
                "family": {"type": "string", "maxLength": 40}}}]},
        "state": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": r"^state/[A-Za-z0-9_.-]{1,100}$"}]},
        "frames": {"type": "array", "maxItems": 100_000, "items": {
            "type": "object", "required": ["step", "data"], "additionalProperties": False,
            "properties": {"step": _STEP, "data": {"type": "object"}}}},
        "checkpoints": {"type": "array", "maxItems": 10_000, "items": {
            "type": "object", "required": ["step", "file"], "additionalProperties": False,
            "properties": {"step": _STEP, "file": {"type": "string", "pattern": r"^state/[A-Za-z0-9_.-]{1,100}$"}}}},
        "metrics": {"type": "object", "maxProperties": 1000, "additionalProperties": _TAGGED},
    },
}


def _check_manifest(manifest, name: str) -> None:
    import jsonschema

    try:
        jsonschema.validate(manifest, MANIFEST_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise SessionError(f"{name}: session.json is not a valid session at {where[:80]} "
                           f"({exc.message[:160]})") from None


def _check_metrics(metrics, name: str) -> dict:
    """Metric curves: a 1-D integer ``step`` column and 1-D numeric columns of the same length."""
    if not metrics:
        return {}
    if not isinstance(metrics, dict) or "step" not in metrics:
        raise SessionError(f"{name}: its metric curves have no step column")
    n = None
    for key, col in metrics.items():
        col = np.asarray(col)
        if col.ndim != 1 or not (np.issubdtype(col.dtype, np.number) or col.dtype == bool) or \
                np.issubdtype(col.dtype, np.complexfloating):
            raise SessionError(f"{name}: metric '{key[:40]}' is not a column of numbers ({col.dtype} {col.shape})")
        if n is not None and len(col) != n:
            raise SessionError(f"{name}: metric '{key[:40]}' has {len(col)} values where 'step' has {n}")
        n = len(col) if n is None else n
    if not np.issubdtype(np.asarray(metrics["step"]).dtype, np.integer):
        raise SessionError(f"{name}: its metric steps are not whole numbers")
    return metrics


@dataclass
class Session:
    lab: str
    settings: dict
    seed: int = 0
    data: str | None = None
    device: str = "auto"
    step: int = 0
    static: dict = field(default_factory=dict)  # what the lab's panel needs besides snapshots
    state: bytes | None = None  # the training state at ``step`` (Experiment.state_dict bytes)
    history: History = field(default_factory=History)
    view: dict = field(default_factory=dict)  # the lab's view-only choices (Experiment.VIEW)
    # a user's own model (EngineConfig.model_code): its reference and file hash, never imported on opening
    model_code: dict | None = None
    title: str = ""  # the lecture preset it started from, if any
    caption: str = ""
    saved_at: float = 0.0
    preset: str = ""  # the preset's name (its predictions go on after the session is opened)
    predictions: list = field(default_factory=list)  # the class's answers (genviz.core.predict.answer_record)


# -- tagged JSON: arrays, tuples and non-string keys survive the round trip bit-exact ----------------
class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def _array(self, a: np.ndarray) -> str:
        if a.dtype.hasobject:
            raise SessionError("a snapshot holds a Python object array, which a session cannot store safely")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return key

    def encode(self, v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return {"__array__": self._array(v)}
        if isinstance(v, np.generic):
            return {"__scalar__": self._array(np.asarray(v))}
        if isinstance(v, (bytes, bytearray)):
            return {"__bytes__": self._array(np.frombuffer(bytes(v), dtype=np.uint8))}
        if isinstance(v, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in v):
                return {k: self.encode(x) for k, x in v.items()}
            return {"__dict__": [[self.encode(k), self.encode(x)] for k, x in v.items()]}
        if isinstance(v, tuple):
            return {"__tuple__": [self.encode(x) for x in v]}
        if isinstance(v, list):
            return [self.encode(x) for x in v]
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        raise SessionError(f"a snapshot holds a {type(v).__name__}, which a session cannot store")


def _decode(v: Any, arrays) -> Any:
    if isinstance(v, list):
        return [_decode(x, arrays) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        (tag, inner), = v.items()
        if tag == "__array__":
            return arrays[inner]
        if tag == "__scalar__":
            return arrays[inner][()]
        if tag == "__bytes__":
            return arrays[inner].tobytes()
        if tag == "__tuple__":
            return tuple(_decode(x, arrays) for x in inner)
        if tag == "__dict__":
            return {_key(_decode(k, arrays)): _decode(x, arrays) for k, x in inner}
    return {k: _decode(x, arrays) for k, x in v.items()}


def _view(view, name: str) -> dict:
    if not isinstance(view, dict) or not all(isinstance(k, str) for k in view) or \
            not all(v is None or isinstance(v, (bool, int, float, str)) for v in view.values()):
        raise SessionError(f"{name}: its view state is not a table of plain values")
    return view


def _key(k):
    return tuple(k) if isinstance(k, list) else k  # JSON turned tuple keys into lists


# -- writing -----------------------------------------------------------------------------------------
def save_session(session: Session, path: str | os.PathLike) -> Path:
    """Write ``session`` to ``path`` atomically (a crash mid-write leaves the old file intact)."""
    path = Path(path).expanduser()
    enc = _Encoder()
    hist = session.history
    blobs: dict[str, bytes] = {}
    if session.state is not None:
        blobs["state/current.pt"] = session.state
    checkpoints = []
    for i, (step, blob) in enumerate(hist.checkpoints):
        name = f"state/checkpoint-{i:04d}.pt"
        blobs[name] = blob
        checkpoints.append({"step": int(step), "file": name})
    manifest = {
        "format": FORMAT, "version": VERSION, "saved_at": time.time(),
        "lab": session.lab, "settings": enc.encode(session.settings), "seed": int(session.seed),
        "data": session.data, "device": session.device, "step": int(session.step),
        "title": session.title, "caption": session.caption, "preset": session.preset,
        "predictions": [dict(a) for a in session.predictions],
        "static": enc.encode(session.static), "view": enc.encode(session.view),
        "model_code": dict(session.model_code) if session.model_code else None,
        "state": "state/current.pt" if session.state is not None else None,
        "frames": [{"step": f.step, "data": enc.encode(f.data)} for f in hist.frames],
        "checkpoints": checkpoints,
        "metrics": enc.encode(hist.metrics()),
    }
    arrays = io.BytesIO()
    np.savez_compressed(arrays, **enc.arrays)  # snapshots (images, densities) compress well
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("session.json", json.dumps(manifest))
        zf.writestr("arrays.npz", arrays.getvalue())
        for name, blob in blobs.items():
            zf.writestr(name, blob)
    os.replace(tmp, path)
    return path


# -- reading -----------------------------------------------------------------------------------------
def load_session(path: str | os.PathLike, labs: tuple[str, ...] | None = None) -> Session:
    """Read a session file, or raise SessionError saying why it cannot be used. Nothing in the
    file is executed: JSON, ``np.load(allow_pickle=False)`` and ``torch.load(weights_only=True)``."""
    from genviz.core.checkpoint import CheckpointError, state_from_bytes

    try:
        path = regular_file(path, "session file")
    except InputError as exc:
        raise SessionError(str(exc)) from None
    name = path.name
    try:
        check_size(path.stat().st_size, name, "the session file")
        if not zipfile.is_zipfile(path):
            raise SessionError(f"{name} is not a genviz session, or it is truncated")
        with zipfile.ZipFile(path) as zf:
            # sizes and member counts first: a zip bomb is refused before anything is decompressed
            check_zip(zf, name)
            members = set(zf.namelist())
            if "session.json" not in members or "arrays.npz" not in members:
                raise SessionError(f"{name} is not a genviz session, or it is truncated (it lacks session.json or "
                                   "arrays.npz)")
            if zf.getinfo("session.json").file_size > MAX_MANIFEST_BYTES:
                raise SessionError(f"{name} has an implausibly large session.json")
            try:
                manifest = json.loads(zf.read("session.json").decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SessionError(f"{name}: session.json is not valid JSON ({str(exc)[:120]})") from None
            except RecursionError:
                raise SessionError(f"{name}: session.json is nested too deeply to be a session") from None
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise SessionError(f"{name} is not a genviz session")
            if manifest.get("version") != VERSION:
                raise SessionError(f"{name} has session format version {str(manifest.get('version'))[:20]}; "
                                   f"this genviz reads version {VERSION}")
            _check_manifest(manifest, name)
            lab = manifest.get("lab")
            if labs is not None and lab not in labs:
                raise SessionError(f"{name} is a session of an unknown lab '{lab[:100]}'")
            arrays = npz_from_bytes(zf.read("arrays.npz"), f"{name} (arrays.npz)")

            def blob(member: str, what: str) -> bytes:
                if member not in members:
                    raise SessionError(f"{name} is incomplete: {member} is missing")
                raw = zf.read(member)
                try:
                    state_from_bytes(raw, what)  # refuse now what could not be loaded later
                except CheckpointError as exc:
                    raise SessionError(f"{name}: {exc}") from None
                return raw

            state = blob(manifest["state"], "saved training state") if manifest.get("state") else None
            payload = {
                "frames": [{"step": f["step"], "data": _decode(f["data"], arrays)} for f in manifest.get("frames", [])],
                "checkpoints": [{"step": c["step"], "blob": blob(c["file"], f"checkpoint at step {c['step']}")}
                                for c in manifest.get("checkpoints", [])],
                "metrics": _check_metrics(_decode(manifest.get("metrics") or {}, arrays), name),
            }
            settings = _decode(manifest.get("settings") or {}, arrays)
            if not all(v is None or isinstance(v, (str, bool, int, float, np.generic)) for v in settings.values()):
                raise SessionError(f"{name}: its settings are not plain values")
            return Session(
                lab=lab, settings=settings, seed=int(manifest.get("seed", 0)),
                data=manifest.get("data"), device=manifest.get("device", "auto"), step=int(manifest.get("step", 0)),
                static=_decode(manifest.get("static") or {}, arrays), state=state,
                view=_view(_decode(manifest.get("view") or {}, arrays), name),
                history=History.from_payload(payload), title=manifest.get("title", ""),
                model_code=manifest.get("model_code"),
                caption=manifest.get("caption", ""), saved_at=float(manifest.get("saved_at", 0.0)),
                preset=manifest.get("preset", ""), predictions=list(manifest.get("predictions") or []))
    except SessionError:
        raise
    except InputError as exc:
        raise SessionError(str(exc)) from None
    except RecursionError:
        raise SessionError(f"{name}: its contents are nested too deeply to be a session") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, TypeError, ValueError, IndexError, zipfile.LargeZipFile,
            NotImplementedError, MemoryError) as exc:
        raise SessionError(f"{name} could not be read ({type(exc).__name__}: {str(exc)[:160]})") from None
