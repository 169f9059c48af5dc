"""The expirer: read the leases of each share in a bucket and delete expired shares.

Rules:

- A bucket is one storage index directory, ``shares/<prefix>/<b32 SI>/``;
  its shares are the files named by a share number in decimal. Other names
  are left alone.
- A share file is mutable if it starts with a mutable container magic,
  otherwise it must be an immutable container (version 1 or 2). Leases are
  read with the container modules' parsers, without reading the share data:
  the header, then only the lease records, in bounded chunks, and only until
  a live lease is found.
- A share whose container does not parse, or cannot be read, is counted as
  corrupt and left in place: it is never deleted. A bucket or share that
  vanished since it was listed is simply not counted.
- A share is deleted when :meth:`~storage_server.expiry.ExpiryPolicy.should_delete`
  says so. Leases of shares that are kept are not touched (the server core
  owns lease records). A bucket left empty is removed; its prefix directory
  is kept.
- This runs in the reactor thread, like the server core's disk access, so
  the two never interleave within one share.
"""

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import attrs
from twisted.logger import Logger

from grid.errors import ShareFormatError
from grid.formats import immutable_container, mutable_container
from storage_server.crawler_state import CycleCounters, share_counters
from storage_server.expiry import ExpiryPolicy, ShareType

LEASES_PER_READ = 1024

_SHARE_NAME = re.compile("[0-9]+", re.ASCII)

log = Logger()


def _read_exactly(handle: BinaryIO, offset: int, length: int) -> bytes:
    handle.seek(offset)
    data = handle.read(length)
    if len(data) != length:
        raise ShareFormatError(f"share file ended early: wanted {length} bytes at {offset}")
    return data


def _immutable_expirations(handle: BinaryIO, size: int) -> Iterator[int]:
    header_size = immutable_container.CONTAINER_HEADER.size
    record_size = immutable_container.LEASE_RECORD.size
    header = immutable_container.parse_container_header(_read_exactly(handle, 0, header_size))
    first = size - record_size * header.lease_count
    if first < header_size:
        raise ShareFormatError(f"a {size}-byte container cannot hold {header.lease_count} leases")
    return _record_expirations(handle, first, size, record_size, _immutable_expiration)


def _immutable_expiration(record: bytes) -> int | None:
    return immutable_container.parse_lease(record).expiration_time


def _mutable_expiration(record: bytes) -> int | None:
    lease = mutable_container.parse_lease_slot(record)
    return None if lease is None else lease.expiration_time


def _record_expirations(
    handle: BinaryIO,
    start: int,
    end: int,
    record_size: int,
    parse: Callable[[bytes], int | None],
) -> Iterator[int]:
    chunk = LEASES_PER_READ * record_size
    for offset in range(start, end, chunk):
        data = _read_exactly(handle, offset, min(chunk, end - offset))
        for index in range(0, len(data), record_size):
            expiration = parse(data[index : index + record_size])
            if expiration is not None:
                yield expiration


def _mutable_expirations(handle: BinaryIO, size: int) -> Iterator[int]:
    header = mutable_container.parse_container_header(
        _read_exactly(handle, 0, mutable_container.CONTAINER_HEADER.size)
    )
    count_field = mutable_container.EXTRA_LEASE_COUNT
    count_offset = header.extra_lease_offset
    if size < count_offset + count_field.size:
        raise ShareFormatError(f"mutable container of {size} bytes is truncated")
    (count,) = count_field.unpack(_read_exactly(handle, count_offset, count_field.size))
    if size != count_offset + mutable_container.extra_lease_block_size(count):
        raise ShareFormatError(f"mutable container of {size} bytes does not hold {count} leases")
    slot_size = mutable_container.LEASE_SIZE
    fixed_start = mutable_container.LEASE_SLOTS_OFFSET
    fixed_end = mutable_container.DATA_OFFSET
    extra_start = mutable_container.lease_slot_offset(header, mutable_container.NUM_LEASE_SLOTS)
    yield from _record_expirations(handle, fixed_start, fixed_end, slot_size, _mutable_expiration)
    yield from _record_expirations(handle, extra_start, size, slot_size, _mutable_expiration)


def read_lease_expirations(handle: BinaryIO, size: int) -> tuple[ShareType, Iterator[int]]:
    """Tell a share file's type and iterate lazily over its leases' expiration times.

    ``handle`` must stay open while the iterator is used. Raises
    ShareFormatError (now or while iterating) if the container is malformed.
    """
    magic = _read_exactly(handle, 0, min(size, len(mutable_container.CONTAINER_V2.magic)))
    if mutable_container.is_mutable_container(magic):
        return ShareType.MUTABLE, _mutable_expirations(handle, size)
    return ShareType.IMMUTABLE, _immutable_expirations(handle, size)


@attrs.frozen
class LeaseExpirer:
    """Examines one bucket at a time under an expiry policy; see the module rules."""

    policy: ExpiryPolicy

    def __call__(self, bucket_dir: Path, now: float) -> CycleCounters:
        """Examine (and, if the policy says so, delete) the shares of one bucket."""
        counters = CycleCounters()
        try:
            names = sorted(entry.name for entry in os.scandir(bucket_dir))
        except FileNotFoundError:
            return counters
        except OSError as error:
            log.warn("lease-checker: cannot list {bucket}: {error}", bucket=bucket_dir, error=error)
            return counters
        deleted_any = False
        for name in names:
            if _SHARE_NAME.fullmatch(name) is None:
                continue
            share_counts, deleted = self._examine_share(bucket_dir / name, now)
            counters += share_counts
            deleted_any |= deleted
        if deleted_any:
            with contextlib.suppress(OSError):
                bucket_dir.rmdir()
        return counters

    def _examine_share(self, path: Path, now: float) -> tuple[CycleCounters, bool]:
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                share_type, expirations = read_lease_expirations(handle, size)
                expired = self.policy.share_expired(share_type, expirations, now)
        except FileNotFoundError:
            return CycleCounters(), False
        except (ShareFormatError, OSError) as error:
            log.warn(
                "lease-checker: skipping corrupt share {path}: {error}", path=path, error=error
            )
            return CycleCounters(corrupt_shares=1), False
        deleted = False
        if expired and self.policy.enabled:
            try:
                path.unlink()
                deleted = True
            except OSError as error:
                log.warn("lease-checker: cannot delete {path}: {error}", path=path, error=error)
        return share_counters(share_type, size, expired=expired, deleted=deleted), deleted
