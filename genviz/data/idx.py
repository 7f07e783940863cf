"""MNIST's IDX format (raw or gzip): read and write, with clear errors for damaged files."""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from genviz.data.images import DataError

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            stream = zlib.decompressobj(wbits=31)  # gzip container
            data = stream.decompress(raw)
        except zlib.error as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from None
        if not stream.eof:
            raise DataError(f"{path}: corrupt gzip data (the file ends early: truncated download?)")
        return data
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file: magic 0x00 0x00 type ndim, ndim big-endian uint32 sizes, then the data."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code not in IDX_TYPES:
        raise DataError(f"{path}: unknown IDX data type 0x{dtype_code:02x}")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    dtype = np.dtype(IDX_TYPES[dtype_code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise DataError(f"{path}: IDX header promises {dims} ({expected} bytes) but the file holds "
                        f"{len(body)} bytes (truncated or corrupt)")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write uint8 data as IDX (used by tests and to cache converted data)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    data = header + array.tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


