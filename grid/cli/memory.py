"""Keeping a long-running node's memory close to what it uses (glibc only).

Rules: glibc raises its mmap threshold after large buffers are freed, so
later 1 MiB buffers (segments, reads, hash chunks) come from per-thread
heaps that are rarely given back, and a node's resident size drifts far above
its live data. Fixing the threshold at 512 KiB and allowing two arenas keeps
those in mmap, returned on free, while the many buffers of a few hundred KiB
that every upload makes and frees (share write batches, Twisted's joined send
buffers, received Foolscap strings) are reused from the heap: as fresh mmaps
each cost a page fault per 4 KiB, which was 10-15% of a 100 MiB upload's
time on the 2-core local grid (threshold 128 KiB: 2.3 s; 512 KiB: 1.9-2.0 s,
client peak RSS 96 -> ~105 MiB, storage nodes ~88 -> ~100 MiB).
Elsewhere this does nothing.
"""

import ctypes
import ctypes.util

_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 512 * 1024
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
