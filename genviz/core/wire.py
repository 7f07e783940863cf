"""The wire between a watched training loop (``genviz.watch(..., connect=HOST:PORT)``) and a window that
listens (``genviz --listen HOST:PORT``): a documented format, no pickle, limits checked before allocating.

A message is ``b"GVZW"`` · header length (uint32, big-endian) · body length (uint64, big-endian) · the header,
UTF-8 JSON · the body, the raw bytes of the message's arrays one after another::

    {"kind": "frame", "payload": {"step": 120, "data": {"manifold": {"__array__": 0}, ...}},
     "arrays": [{"dtype": "uint8", "shape": [160, 160], "offset": 0, "nbytes": 25600}, ...]}

Arrays are numpy's little-endian plain dtypes (``DTYPES``); an array stands in the payload as
``{"__array__": index}``. The first message of a connection is ``hello`` (``{"token", "version", "lab",
"settings"}``), read with a 4 KiB limit and no body; its token is compared (in constant time) before anything
else is read. Then ``static`` (the lab's static info), ``frame`` (a step's rows and views), ``rows`` (metric
rows only) and ``bye``. Anything else — a wrong magic, a header over ``MAX_HEADER``, a body over the reader's
limit, an unknown dtype, a shape that does not match its bytes, invalid JSON — is refused with one line
(``WireError``) and the connection closed. Pure core: no Qt, no torch."""
from __future__ import annotations

import hmac
import json
import struct

import numpy as np

from genviz.safeio import InputError

MAGIC = b"GVZW"
VERSION = 1
PREFIX = struct.Struct(">4sIQ")
MAX_HEADER = 1 << 20  # bytes of JSON
MAX_HELLO = 4096
MAX_BODY = 256 << 20  # bytes of arrays in one message (a window may lower it)
MAX_ARRAYS = 512
KINDS = ("hello", "static", "frame", "rows", "bye")
DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


class WireError(InputError):
    """A message that cannot be used: one line that says why."""


def encode(kind: str, payload) -> bytes:
    """One message: ``payload`` (dicts, lists, tuples, str, numbers, None, numpy arrays and scalars)."""
    arrays: list[np.ndarray] = []

    def walk(value):
        if isinstance(value, np.ndarray):
            arr = np.ascontiguousarray(value)
            if arr.dtype.name not in DTYPES:
                raise WireError(f"an array of dtype {arr.dtype} cannot be sent (one of {', '.join(DTYPES)})")
            arrays.append(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
            return {"__array__": len(arrays) - 1}
        if isinstance(value, dict):
            return {str(k): walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        raise WireError(f"a {type(value).__name__} cannot be sent (plain values and numpy arrays only)")

    body_payload = walk(payload)
    specs, offset = [], 0
    for arr in arrays:
        specs.append({"dtype": arr.dtype.name, "shape": list(arr.shape), "offset": offset, "nbytes": arr.nbytes})
        offset += arr.nbytes
    header = json.dumps({"kind": kind, "payload": body_payload, "arrays": specs}, allow_nan=True).encode()
    return PREFIX.pack(MAGIC, len(header), offset) + header + b"".join(a.tobytes() for a in arrays)


def hello(token: str, lab: str, settings: dict | None = None) -> bytes:
    return encode("hello", {"token": str(token), "version": VERSION, "lab": lab, "settings": dict(settings or {})})


def read_exactly(read, n: int) -> bytes:
    """``n`` bytes from ``read(k)`` (a socket's ``recv``), or WireError when the stream ends first."""
    chunks, got = [], 0
    while got < n:
        chunk = read(min(n - got, 1 << 20))
        if not chunk:
            raise WireError("the connection closed in the middle of a message" if got or chunks else
                            "the connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(read, max_header: int = MAX_HEADER, max_body: int = MAX_BODY) -> tuple[str, object]:
    """The next message from ``read`` as (kind, payload), every limit checked before its bytes are read."""
    magic, header_len, body_len = PREFIX.unpack(read_exactly(read, PREFIX.size))
    if magic != MAGIC:
        raise WireError("not a genviz watch stream (wrong magic bytes)")
    if header_len > max_header:
        raise WireError(f"a message header of {header_len:,} bytes (at most {max_header:,})")
    if body_len > max_body:
        raise WireError(f"a message of {body_len:,} bytes of arrays (at most {max_body:,})")
    try:
        header = json.loads(read_exactly(read, header_len).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"a message header that is not JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict) or header.get("kind") not in KINDS or not isinstance(header.get("arrays"), list):
        raise WireError("a message header without a known kind and its arrays")
    specs = header["arrays"]
    if len(specs) > MAX_ARRAYS:
        raise WireError(f"a message of {len(specs)} arrays (at most {MAX_ARRAYS})")
    arrays = []
    for spec in specs:
        arrays.append(_checked_spec(spec, body_len))
    body = read_exactly(read, body_len) if body_len else b""
    built = [np.frombuffer(body, dtype=np.dtype(dt).newbyteorder("<"), count=int(np.prod(shape)) if shape else 1,
                           offset=off).reshape(shape).copy() for dt, shape, off in arrays]

    def walk(value, depth: int = 0):
        if depth > 64:
            raise WireError("a message nested too deeply")
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                i = value["__array__"]
                if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(built):
                    raise WireError("a message naming an array it does not hold")
                return built[i]
            return {k: walk(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        return value

    return header["kind"], walk(header.get("payload"))


def _checked_spec(spec, body_len: int) -> tuple[str, tuple[int, ...], int]:
    if not isinstance(spec, dict):
        raise WireError("an array description that is not an object")
    dtype, shape, offset, nbytes = spec.get("dtype"), spec.get("shape"), spec.get("offset"), spec.get("nbytes")
    if dtype not in DTYPES:
        raise WireError(f"an array of dtype {str(dtype)[:40]!r} (one of {', '.join(DTYPES)})")
    if not (isinstance(shape, list) and len(shape) <= 8 and all(isinstance(s, int) and not isinstance(s, bool)
                                                                and 0 <= s <= 1 << 40 for s in shape)):
        raise WireError("an array shape that is not a list of sizes")
    ints = (offset, nbytes)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints):
        raise WireError("an array offset or size that is not a count of bytes")
    count = 1
    for s in shape:
        count *= s
    if count * np.dtype(dtype).itemsize != nbytes or offset + nbytes > body_len:
        raise WireError(f"an array of shape {shape} and dtype {dtype} that does not match its {nbytes:,} bytes")
    return dtype, tuple(shape), offset


def check_hello(kind: str, payload, token: str) -> dict:
    """The first message: a hello of this version whose token is ``token`` (compared in constant time)."""
    if kind != "hello" or not isinstance(payload, dict):
        raise WireError("the first message is not a hello")
    given = payload.get("token")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), str(token).encode()):
        raise WireError("a wrong token")
    if payload.get("version") != VERSION:
        raise WireError(f"watch protocol version {payload.get('version')!r} (this window speaks {VERSION})")
    if not isinstance(payload.get("lab"), str) or not isinstance(payload.get("settings", {}), dict):
        raise WireError("a hello without its lab")
    return payload
