"""genviz.core.allocator: the processes genviz starts keep the pages they free (glibc's mmap and trim thresholds).

Each check runs in a fresh interpreter: the thresholds are process-wide and the test process's own allocator must
not decide the outcome. The effect is read from glibc's own accounting (mallinfo2), with and without the call, so
the test fails if the call stops changing what malloc does."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from genviz.core import allocator

PROBE = r"""
import ctypes, json, sys
from genviz.core.allocator import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
libc.mallinfo2.restype = MallInfo2
applied = keep_freed_memory() if sys.argv[1] == "1" else None
mib = 2 ** 20
before = libc.mallinfo2()
blocks = [libc.malloc(4 * mib) for _ in range(20)]  # 80 MiB in 4 MiB blocks, as a snapshot's temporaries
held = libc.mallinfo2()
for b in reversed(blocks):
    libc.free(b)
after = libc.mallinfo2()
print(json.dumps({"applied": applied, "mmapped_mib": (held.hblkhd - before.hblkhd) / mib,
                  "heap_kept_mib": (after.arena - before.arena) / mib}))
"""


def probe(call: bool, **env) -> dict:
    environ = {k: v for k, v in os.environ.items()
               if k not in allocator.USER_VARIABLES and k not in ("GLIBC_TUNABLES", allocator.OFF)}
    r = subprocess.run([sys.executable, "-c", PROBE, "1" if call else "0"], capture_output=True, text=True,
                       env={**environ, **env}, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


glibc = pytest.mark.skipif(allocator._glibc() is None or not hasattr(allocator._glibc(), "mallinfo2"),
                           reason="glibc 2.33 or later only (mallinfo2)")


@glibc
def test_freed_blocks_stay_in_the_heap():
    plain, kept = probe(False), probe(True)
    # glibc's default: 4 MiB blocks come from mmap, and go back to the system when freed
    assert plain["mmapped_mib"] >= 79 and plain["heap_kept_mib"] < 4
    # set: they come from the heap, and the heap keeps them once freed (80 MiB < the 128 MiB trim threshold)
    assert kept["applied"] is True
    assert kept["mmapped_mib"] < 1 and kept["heap_kept_mib"] >= 79


@glibc
@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "131072"}, {"MALLOC_MMAP_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"},
                                 {"GENVIZ_KEEP_FREED_MEMORY": "0"}])
def test_the_users_own_malloc_settings_win(env):
    r = probe(True, **env)
    assert r["applied"] is False
    assert r["heap_kept_mib"] < 4  # their small trim or mmap threshold still hands the pages back


def test_user_chose_reads_only_mallocs_own_variables():
    assert not allocator.user_chose({})
    assert not allocator.user_chose({"GLIBC_TUNABLES": "glibc.pthread.rseq=0", "MALLOC_ARENA_MAX": "2"})
    assert allocator.user_chose({"MALLOC_TOP_PAD_": "0"})
    assert allocator.user_chose({"GLIBC_TUNABLES": "glibc.pthread.rseq=0:glibc.malloc.mmap_threshold=1"})
    assert not allocator.user_chose({"MALLOC_TRIM_THRESHOLD_": ""})  # set but empty: glibc ignores it too
    assert allocator.user_chose({"GENVIZ_KEEP_FREED_MEMORY": "0"}) and allocator.user_chose({allocator.OFF: "Off"})
    assert not allocator.user_chose({"GENVIZ_KEEP_FREED_MEMORY": "1"})


def test_nothing_happens_off_glibc(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator._glibc() is None
    monkeypatch.setattr(allocator, "_state", {})
    assert allocator.keep_freed_memory() is False
