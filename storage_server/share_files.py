"""Low-level file handling shared by the immutable and mutable share stores.

Rules:

- A bucket directory holds one file per share, named by its share number
  (see :func:`storage_server.layout.parse_share_number`); other entries are
  ignored. A share's kind is told by its first bytes: the mutable container
  magic, else an immutable container header of a known version.
- Reads and writes use positioned I/O on a file descriptor, looping until the
  whole buffer is done. Durability: data is fsynced before a rename, and the
  directory is fsynced after it.
- :func:`disk_error` turns an ``OSError`` (or the ``OverflowError`` a huge
  offset gives) into the server's :class:`~storage_server.errors.DiskError`
  with the errno kept, so ENOSPC, EFBIG and EDQUOT reach the client as one
  documented error.
"""

import enum
import errno
import os
from pathlib import Path

from grid.errors import ShareFormatError
from grid.formats.immutable_container import CONTAINER_HEADER, parse_container_header
from grid.formats.mutable_container import CONTAINER_HEADER as MUTABLE_HEADER
from grid.formats.mutable_container import is_mutable_container
from storage_server.errors import DiskError
from storage_server.layout import parse_share_number

_KIND_PROBE_SIZE = MUTABLE_HEADER.size


class ShareKind(enum.Enum):
    """What kind of container a share file holds."""

    IMMUTABLE = "immutable"
    MUTABLE = "mutable"


def disk_error(what: str, error: OSError | OverflowError) -> DiskError:
    """A :class:`DiskError` saying what failed, keeping the errno of an OSError."""
    if isinstance(error, OSError) and error.errno is not None:
        reason = os.strerror(error.errno)
        return DiskError(error.errno, f"{what}: {reason}")
    return DiskError(errno.EFBIG, f"{what}: offset too large for the file system")


def list_share_files(bucket_dir: Path) -> dict[int, Path]:
    """The share files in a bucket directory, by share number; empty if there is none."""
    try:
        names = [entry.name for entry in bucket_dir.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as error:
        raise disk_error("listing a bucket", error) from error
    shares = {}
    for name in names:
        shnum = parse_share_number(name)
        if shnum is not None:
            shares[shnum] = bucket_dir / name
    return shares


def read_share_kind(path: Path) -> ShareKind | None:
    """The kind of share in ``path``, or None if it is neither container (or unreadable)."""
    try:
        with path.open("rb") as share_file:
            first_bytes = share_file.read(_KIND_PROBE_SIZE)
    except OSError:
        return None
    if is_mutable_container(first_bytes):
        return ShareKind.MUTABLE
    try:
        parse_container_header(first_bytes[: CONTAINER_HEADER.size])
    except ShareFormatError:
        return None
    return ShareKind.IMMUTABLE


def pread_exact(fd: int, length: int, offset: int) -> bytes:
    """Read up to ``length`` bytes at ``offset``, fewer only at the end of the file."""
    pieces = []
    while length > 0:
        piece = os.pread(fd, length, offset)
        if not piece:
            break
        pieces.append(piece)
        length -= len(piece)
        offset += len(piece)
    return b"".join(pieces)


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset``."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def drop_cached_pages(fd: int, length: int = 0) -> None:
    """Start writing a file's first ``length`` bytes (0: all) to disk; free the pages already there.

    Only a hint: on a system without ``posix_fadvise`` it does nothing.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        advise(fd, 0, length, os.POSIX_FADV_DONTNEED)


def fsync_directory(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_empty_dirs(path: Path, stop: Path) -> None:
    """Remove ``path`` and then its parents while they are empty, never ``stop`` or above."""
    while path != stop and stop in path.parents:
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent
