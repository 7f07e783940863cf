"""Keep the memory a process frees for its next step instead of handing it back to the system each time.

glibc's malloc serves a large request (above its *mmap threshold*: 128 KiB at first, raised as such blocks are freed)
with fresh pages from the system, and gives the top of its heap back once more than the *trim threshold* is free
there (twice the mmap threshold). A training step or a snapshot that builds and frees tens of MB of temporary tensors
(a flow's warped grid, PixelCNN's activations, IWAE's k samples) then takes a page fault for every 4 KiB of them,
every time. Fixing both thresholds keeps those pages in the process for the next step: faster steps and snapshots
in the labs that make large temporaries, the same peak memory (the figures: docs/references.md, "Figures behind
design choices").

`keep_freed_memory()` is called by the processes genviz starts: the ``genviz`` command (window, headless commands,
benchmarks), the training worker, sweep jobs. A program that imports genviz (the Python API, a notebook) keeps its
own allocator unless it calls it. It does nothing where the C library is not glibc, or where the user set malloc's
own variables (``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TOP_PAD_`` or ``glibc.malloc``
tunables): their choice wins. ``GENVIZ_KEEP_FREED_MEMORY=0`` turns it off.
"""
from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
# the largest mmap threshold glibc documents on 64-bit (mallopt(3): 4 * 1024 * 1024 * sizeof(long)); the trim
# threshold is what matters most (docs/references.md)
MMAP_THRESHOLD = 32 * 2 ** 20
TRIM_THRESHOLD = 128 * 2 ** 20
USER_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")
OFF = "GENVIZ_KEEP_FREED_MEMORY"  # "0" (or "no", "off", "false"): leave glibc's defaults

_state: dict[str, bool] = {}


def _glibc():
    """glibc's handle, or None (macOS, Windows, musl: their allocators have no such thresholds)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only
        return libc
    except (OSError, AttributeError):
        return None


def user_chose(environ=None) -> bool:
    """Whether the environment sets malloc's thresholds itself, or turns genviz's setting off."""
    environ = os.environ if environ is None else environ
    return (any(environ.get(k) for k in USER_VARIABLES) or "glibc.malloc." in environ.get("GLIBC_TUNABLES", "")
            or environ.get(OFF, "").strip().lower() in ("0", "no", "off", "false"))


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for this process (once); -> whether they are set now."""
    if "applied" in _state:
        return _state["applied"]
    libc = None if user_chose() else _glibc()
    applied = False
    if libc is not None:
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
        # mallopt returns 1 on success; the trim threshold first, so a refused mmap threshold still keeps it
        applied = bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) & bool(libc.mallopt(M_MMAP_THRESHOLD,
                                                                                           MMAP_THRESHOLD))
    _state["applied"] = applied
    return applied
