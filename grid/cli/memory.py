"""Keeping a node's big buffers on the heap, and its memory close to what it uses (glibc only).

Rules: every upload makes and frees thousands of buffers of a few hundred
kB to a few MB (each share's write, about 1 MB; Twisted's joined
send buffers; received Foolscap strings; the plaintext of a job). Taken as
fresh mmaps, each costs a page fault per 4 KiB, and page faults are dear on
the VMs here; glibc's own adjustable threshold and its habit of trimming
the heap whenever 128 KiB lie free at its top gave the same faults by
another road. So the mmap threshold is fixed at 4 MiB, the heap keeps up to
32 MiB free at its top before giving memory back, and two arenas are
allowed (more would each hold their own free memory). Measured on the
10-node local grid, 100 MiB web put: with the previous settings (512 KiB,
glibc's trimming) and 1 MB share writes, the client took ~120,000 page
faults per upload; with these, ~2,000 once warm, and the upload was ~20%
faster. Client peak RSS ~135 MiB; storage nodes ~140 MiB after uploads
(was ~100). Elsewhere this does nothing.
"""

import ctypes
import ctypes.util

_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3
_M_TRIM_THRESHOLD = -1
_MMAP_THRESHOLD = 4 * 1024 * 1024
_TRIM_THRESHOLD = 32 * 1024 * 1024
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
    return all(
        mallopt(option, value)
        for option, value in (
            (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
            (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
            (_M_ARENA_MAX, _ARENA_MAX),
        )
    )
