"""Keeping a long-running node's memory close to what it uses (glibc only).

Rules: glibc raises its mmap threshold after large buffers are freed, so
later 1 MiB buffers (segments, blocks, share writes) come from per-thread
heaps that are rarely given back, and a node's resident size drifts far above
its live data. Fixing the threshold at 128 KiB and allowing two arenas keeps
large buffers in mmap, returned on free. Elsewhere this does nothing.
"""

import ctypes
import ctypes.util

_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 128 * 1024
_ARENA_MAX = 2


def tune_allocator() -> bool:
    """Apply the glibc settings above; return whether they were applied."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_ARENA_MAX, _ARENA_MAX)
    )
