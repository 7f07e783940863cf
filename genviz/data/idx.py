"""MNIST's IDX format (raw or gzip): read and write, with clear errors for damaged files."""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from genviz import safeio
from genviz.data.images import DataError

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip: both bounded by the memory budget before they
    are allocated (a 1.5 MB gzip can claim gigabytes)."""
    try:
        raw = safeio.read_bytes(path, "IDX file")
        if raw[:2] != b"\x1f\x8b":
            return raw
        # the header says how large the data is: check that before decompressing any of it, and
        # never decompress more than it promises
        head = safeio.gunzip_head(raw, 4 + 4 * 255, path)
        try:
            size = _promised_size(head, path)
        except DataError as header_error:
            # no readable header: a damaged gzip says so within its first MiB; otherwise it is no IDX
            try:
                return safeio.gunzip(raw, path, limit=1 << 20)
            except safeio.InputError as exc:
                if "larger than" in str(exc):
                    raise header_error from None
                raise
        safeio.check_size(size, path, "the data its IDX header promises")
        return safeio.gunzip(raw, path, limit=size + 1)
    except safeio.InputError as exc:
        raise DataError(str(exc)) from None


def _header(raw: bytes, path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(dims, dtype, header length) of IDX bytes: magic 0x00 0x00 type ndim, ndim big-endian uint32 sizes."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code not in IDX_TYPES:
        raise DataError(f"{path}: unknown IDX data type 0x{dtype_code:02x}")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return dims, np.dtype(IDX_TYPES[dtype_code]), 4 + 4 * ndim


def _promised_size(head: bytes, path) -> int:
    dims, dtype, n = _header(head, path)
    return n + int(np.prod(dims, dtype=object)) * dtype.itemsize


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file: magic 0x00 0x00 type ndim, ndim big-endian uint32 sizes, then the data."""
    path = Path(path)
    raw = _read_bytes(path)
    dims, dtype, n = _header(raw, path)
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    body = raw[n:]
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


