"""Reading files a user (or someone else) hands to genviz, within stated bounds.

Every reader of data, sessions, model files and presets goes through here, so one rule holds for all:
only regular files are opened (a FIFO or a device named like a data file would block forever), and
nothing is allocated before its size, taken from the file's own headers, has been checked against
the memory budget. A refusal is an :class:`InputError` whose one-line message names the file and
the problem; readers turn it into their own error type (``DataError``, ``SessionError``...).

The budget: ``GENVIZ_MEMORY_BUDGET_MB`` (default 1024 MiB) is the most any one input file may grow
into once read (decompressed, decoded). The README's reliability section states it, and the fuzz
test (tests/test_fuzz_inputs.py) checks the peak memory of every refusal against it.
"""
from __future__ import annotations

import math
import os
import stat
import zipfile
import zlib
from pathlib import Path

MiB = 2 ** 20


class InputError(ValueError):
    """A file or value from outside that cannot be used; the message says which and why."""


def plain_name(name: object, limit: int = 60) -> str:
    """A name taken from a file (a data set's, a class folder's) as safe plain text for titles and
    legends: no markup characters (plot titles are HTML), no control characters, at most ``limit``."""
    text = "".join(c for c in str(name) if c.isprintable() and c not in "<>&\"'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: object, limit: int = 60) -> str:
    """A value from a file as it may appear in a one-line message: its repr, on one line, cut short."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _env_mb(name: str, default: float) -> float:
    """A size in MiB from the environment: a number from 1 to 2^30 (1 PiB); anything else (text, nan, inf) is the
    default."""
    try:
        mb = float(os.environ.get(name, default))
    except ValueError:
        return default
    return min(max(1.0, mb), 2.0 ** 30) if math.isfinite(mb) else default


def memory_budget() -> int:
    """Bytes one input may take once read (``GENVIZ_MEMORY_BUDGET_MB``, default 1024)."""
    return int(_env_mb("GENVIZ_MEMORY_BUDGET_MB", 1024.0) * MiB)


def model_memory_budget() -> int:
    """Bytes a model's training step may take, estimated from its settings before it is built
    (``GENVIZ_MODEL_MEMORY_MB``, default 2048)."""
    return int(_env_mb("GENVIZ_MODEL_MEMORY_MB", 2048.0) * MiB)


def check_model_memory(nbytes: float, what: str) -> None:
    """Refuse, before building it, a model whose ``what`` would take ``nbytes``."""
    limit = model_memory_budget()
    if nbytes > limit:
        raise InputError(f"{what} would need about {human(nbytes)}, more than the {human(limit)} genviz allows "
                         f"(GENVIZ_MODEL_MEMORY_MB): choose fewer units, channels or layers, a smaller batch, "
                         f"or smaller images")


def human(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:,.0f} {unit}" if unit == "bytes" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"  # pragma: no cover


def check_size(nbytes: float, where: object, what: str = "its contents", limit: int | None = None) -> None:
    """Refuse before allocating ``nbytes`` for ``what`` of ``where``."""
    limit = memory_budget() if limit is None else limit
    if nbytes > limit:
        raise InputError(f"{where}: {what} would take {human(nbytes)}, more than the {human(limit)} genviz allows "
                         f"for one file (GENVIZ_MEMORY_BUDGET_MB)")


def regular_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` if it names a regular file; a missing path, a folder, a pipe or a device is refused."""
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: is not a regular file (a pipe, socket or device); genviz reads only regular files")
    return path


def read_bytes(path: str | os.PathLike, what: str = "file", limit: int | None = None) -> bytes:
    """The bytes of a regular file no larger than ``limit`` (the memory budget)."""
    path = regular_file(path, what)
    limit = memory_budget() if limit is None else limit
    try:
        size = path.stat().st_size
        check_size(size, path, "the file", limit)
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    check_size(len(raw), path, "the file", limit)
    return raw


def gunzip_head(raw: bytes, n: int, where: object) -> bytes:
    """The first ``n`` decompressed bytes of gzip data (a header to check before the rest)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(raw, n)
    except zlib.error as exc:
        raise InputError(f"{where}: corrupt gzip data ({exc})") from None


def gunzip(raw: bytes, where: object, limit: int | None = None) -> bytes:
    """Decompress gzip data, refusing output beyond ``limit`` before it is produced."""
    limit = memory_budget() if limit is None else limit
    stream = zlib.decompressobj(wbits=31)
    try:
        data = stream.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise InputError(f"{where}: corrupt gzip data ({exc})") from None
    if len(data) > limit or stream.unconsumed_tail:
        raise InputError(f"{where}: the decompressed data is larger than {human(limit)}, the most it may hold")
    if not stream.eof:
        raise InputError(f"{where}: corrupt gzip data (the file ends early: truncated download?)")
    return data


def check_zip(zf: zipfile.ZipFile, where: object, max_members: int = 100_000, limit: int | None = None) -> None:
    """Refuse an archive whose members would decompress beyond the budget (a zip bomb) or that has
    absurdly many members. The sizes a zip declares bound what reading it yields: Python's zipfile
    stops at a member's declared size and fails its CRC check if more was hidden behind it."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise InputError(f"{where}: an archive of {len(infos):,} members (at most {max_members:,})")
    check_size(sum(i.file_size for i in infos), where, "the archive's contents once decompressed", limit)


def _npy_header(fp, where: object):
    """(shape, fortran_order, dtype) of a .npy stream, read without allocating the array."""
    import numpy as np

    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise InputError(f"{where}: not a readable .npy array (format version {version})")
    except InputError:
        raise
    except Exception as exc:  # numpy raises ValueError, SyntaxError... for a damaged header
        raise InputError(f"{where}: not a readable .npy array ({type(exc).__name__}: {str(exc)[:120]})") from None
    if dtype.hasobject:
        raise InputError(f"{where}: holds Python objects and was refused (loading them could run code); "
                         "genviz reads numbers only")
    return shape, fortran, dtype


def _check_npy(fp, where: object, available: int, limit: int | None) -> int:
    """The array's size in bytes, checked against the budget and against the bytes present."""
    import math

    shape, _, dtype = _npy_header(fp, where)
    nbytes = math.prod(shape) * dtype.itemsize
    check_size(nbytes, where, f"an array of shape {tuple(shape)} ({dtype})", limit)
    if nbytes > available:
        raise InputError(f"{where}: its header promises an array of shape {tuple(shape)} ({human(nbytes)}) but the "
                         f"file holds {human(available)} (truncated or corrupt)")
    return nbytes


def load_npy_or_npz(path: str | os.PathLike, what: str = "array file"):
    """``np.load(path, allow_pickle=False)`` after every array's header was checked: an ndarray for
    .npy, an NpzFile (a mapping; use it as a context manager) for .npz."""
    import numpy as np

    path = regular_file(path, what)
    limit = memory_budget()
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
            f.seek(0)
            if magic.startswith(b"PK"):
                with zipfile.ZipFile(f) as zf:
                    check_zip(zf, path, limit=limit)
                    for info in zf.infolist():
                        if info.filename.endswith(".npy"):
                            with zf.open(info) as member:
                                _check_npy(member, f"{path} ({info.filename})", info.file_size, limit)
            else:
                _check_npy(f, path, size, limit)
        return np.load(path, allow_pickle=False)
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile,
            NotImplementedError, RuntimeError) as exc:
        raise InputError(f"{path}: not a readable .npy/.npz file ({type(exc).__name__}: {str(exc)[:120]})") from None


def npz_from_bytes(raw: bytes, where: object) -> dict:
    """Every array of an .npz held in memory (a session's arrays), each header checked first."""
    import io

    import numpy as np

    limit = memory_budget()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            check_zip(zf, where, limit=limit)
            total = 0
            for info in zf.infolist():
                with zf.open(info) as member:
                    total += _check_npy(member, f"{where} ({info.filename})", info.file_size, limit)
            check_size(total, where, "its arrays", limit)
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile,
            NotImplementedError, RuntimeError) as exc:
        raise InputError(f"{where}: unreadable arrays ({type(exc).__name__}: {str(exc)[:120]})") from None
