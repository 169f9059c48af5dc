"""Mutable shares (slots) on disk: reading, atomic updates, and leases.

Rules:

- A mutable share is a mutable container file (see
  :mod:`grid.formats.mutable_container`); new ones are version 2 with the
  server's node id and the client's write enabler in the header.
- Reads are cut at the data length; a read from past the end is ``b""``.
- Changing share data is atomic: the next version of a share is prepared in
  a scratch file (a copy of the share, or a new empty container), patched with
  exactly the writes Tahoe would make in place (data vectors in order, holes
  zeroed, the extra-lease block moved when the data grows past it, the data
  length cut by ``new_length``, then the lease), fsynced, and only then
  renamed over the share. So the bytes that result are Tahoe's, and a failure
  half way (a full disk, a crash) leaves the old share untouched. The price
  is a copy of the share per update, which for the small shares mutable
  files use is cheaper than a journal.
- Adding or renewing a lease alone (``add_lease``) is done in place, as
  Tahoe does: one record is rewritten, or a record is appended before the
  extra-lease count is rewritten, so a crash can at worst leave stray bytes
  past the last counted lease.
- Leases added here have owner 1, the server's node id, and secrets stored
  as the container's version says. A lease whose renew secret matches is
  renewed instead, and renewal never shortens a lease.
"""

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import attrs

from grid.errors import ShareFormatError
from grid.formats.mutable_container import (
    CONTAINER_HEADER,
    EXTRA_LEASE_COUNT,
    LEASE_SIZE,
    LEASE_SLOTS_OFFSET,
    NUM_LEASE_SLOTS,
    MutableContainerHeader,
    MutableLease,
    create_empty_container,
    data_read_range,
    extra_lease_block_size,
    lease_secret_matches,
    lease_slot_offset,
    make_lease,
    pack_lease_slot,
    parse_container_header,
    parse_lease_slot,
    plan_add_lease,
    plan_data_write,
    truncate_header,
)
from storage_server.arguments import DataVector, ReadRange, TestVector
from storage_server.errors import CorruptShareError, ShareNotFoundError
from storage_server.share_files import (
    disk_error,
    fsync_directory,
    pread_exact,
    pwrite_all,
    remove_empty_dirs,
)

NEW_CONTAINER_VERSION = 2
LEASE_OWNER = 1

Patches = list[tuple[int, bytes]]


@attrs.frozen
class MutableShare:
    """An existing mutable share: where it is and its container header."""

    path: Path
    shnum: int
    header: MutableContainerHeader

    def readable_length(self, offset: int, length: int) -> int:
        """How many bytes a read of ``length`` at ``offset`` returns."""
        return data_read_range(self.header, offset, length)[1]


@attrs.frozen
class LeaseGrant:
    """The lease a write or ``add_lease`` puts on a mutable share."""

    renew_secret: bytes = attrs.field(repr=False)
    cancel_secret: bytes = attrs.field(repr=False)
    expiration_time: int
    nodeid: bytes


@attrs.frozen
class PreparedUpdate:
    """A share's next version, complete and fsynced in a scratch file."""

    scratch_path: Path
    final_path: Path


def _open(path: Path, flags: int, what: str) -> int:
    try:
        return os.open(path, flags)
    except FileNotFoundError as error:
        raise ShareNotFoundError(f"{what}: share is gone") from error
    except OSError as error:
        raise disk_error(what, error) from error


def open_mutable_share(path: Path, shnum: int) -> MutableShare:
    """Read a mutable share's header; raise CorruptShareError if it is not one."""
    fd = _open(path, os.O_RDONLY, f"opening mutable share {shnum}")
    try:
        first_bytes = pread_exact(fd, CONTAINER_HEADER.size, 0)
    except OSError as error:
        raise disk_error(f"reading mutable share {shnum}", error) from error
    finally:
        os.close(fd)
    try:
        header = parse_container_header(first_bytes)
    except ShareFormatError as error:
        raise CorruptShareError(f"mutable share {shnum}: {error}") from error
    return MutableShare(path, shnum, header)


def read_mutable_data(share: MutableShare, ranges: Iterable[ReadRange]) -> list[bytes]:
    """Read each range of share data, each cut at the data length."""
    fd = _open(share.path, os.O_RDONLY, f"reading mutable share {share.shnum}")
    try:
        results = []
        for entry in ranges:
            file_offset, length = data_read_range(share.header, entry.offset, entry.length)
            results.append(pread_exact(fd, length, file_offset) if length else b"")
    except OSError as error:
        raise disk_error(f"reading mutable share {share.shnum}", error) from error
    finally:
        os.close(fd)
    return results


def passes_tests(share: MutableShare | None, tests: Iterable[TestVector]) -> bool:
    """Tell whether every test holds; a missing share reads as empty everywhere."""
    tests = list(tests)
    for test in tests:
        length = share.readable_length(test.offset, test.length) if share else 0
        if length != len(test.specimen):
            return False
    if share is None:
        return True
    wanted = [ReadRange(test.offset, len(test.specimen)) for test in tests]
    found = read_mutable_data(share, wanted)
    return all(data == test.specimen for data, test in zip(found, tests, strict=True))


def _read_extra_lease_block(fd: int, header: MutableContainerHeader) -> bytes:
    count_bytes = pread_exact(fd, EXTRA_LEASE_COUNT.size, header.extra_lease_offset)
    if len(count_bytes) != EXTRA_LEASE_COUNT.size:
        raise CorruptShareError("mutable container ends before its extra-lease count")
    (count,) = EXTRA_LEASE_COUNT.unpack(count_bytes)
    block = pread_exact(fd, extra_lease_block_size(count), header.extra_lease_offset)
    if len(block) != extra_lease_block_size(count):
        raise CorruptShareError(f"mutable container ends before its {count} extra leases")
    return block


def _read_lease_slots(fd: int, header: MutableContainerHeader) -> tuple[MutableLease | None, ...]:
    fixed = pread_exact(fd, NUM_LEASE_SLOTS * LEASE_SIZE, LEASE_SLOTS_OFFSET)
    records = fixed + _read_extra_lease_block(fd, header)[EXTRA_LEASE_COUNT.size :]
    return tuple(
        parse_lease_slot(records[start : start + LEASE_SIZE])
        for start in range(0, len(records), LEASE_SIZE)
    )


def _lease_patches(fd: int, header: MutableContainerHeader, grant: LeaseGrant) -> Patches:
    slots = _read_lease_slots(fd, header)
    version = header.version
    for slot, lease in enumerate(slots):
        if lease is not None and lease_secret_matches(
            version, lease.renew_secret_stored, grant.renew_secret
        ):
            if lease.expiration_time >= grant.expiration_time:
                return []
            renewed = attrs.evolve(lease, expiration_time=grant.expiration_time)
            return [(lease_slot_offset(header, slot), pack_lease_slot(renewed))]
    lease = make_lease(
        version,
        owner_num=LEASE_OWNER,
        expiration_time=grant.expiration_time,
        renew_secret=grant.renew_secret,
        cancel_secret=grant.cancel_secret,
        nodeid=grant.nodeid,
    )
    return plan_add_lease(header, slots, lease)


def _apply(fd: int, patches: Patches) -> None:
    for offset, data in patches:
        pwrite_all(fd, data, offset)


def _write_patches(
    fd: int,
    header: MutableContainerHeader,
    writes: Iterable[DataVector],
    new_length: int | None,
    grant: LeaseGrant,
) -> None:
    for write in writes:
        plan = plan_data_write(header, write.offset, len(write.data))
        block = _read_extra_lease_block(fd, header) if plan.moves_extra_leases else None
        _apply(fd, plan.patches(write.data, block))
        header = plan.new_header
    if new_length is not None:
        truncated = truncate_header(header, new_length)
        if truncated != header:
            _apply(fd, [(0, truncated.pack())])
            header = truncated
    _apply(fd, _lease_patches(fd, header, grant))


def prepare_update(
    *,
    share: MutableShare | None,
    final_path: Path,
    scratch_path: Path,
    write_enabler: bytes,
    writes: Iterable[DataVector],
    new_length: int | None,
    grant: LeaseGrant,
) -> PreparedUpdate:
    """Build a share's next version in ``scratch_path``; the share itself is not touched.

    ``share`` is None to create a new share (a version-2 container recording
    ``grant.nodeid`` and ``write_enabler``).
    """
    try:
        scratch_path.parent.mkdir(parents=True, exist_ok=True)
        if share is None:
            empty = create_empty_container(NEW_CONTAINER_VERSION, grant.nodeid, write_enabler)
            scratch_path.write_bytes(empty)
            header = parse_container_header(empty)
        else:
            shutil.copyfile(share.path, scratch_path)
            header = share.header
        fd = os.open(scratch_path, os.O_RDWR)
        try:
            _write_patches(fd, header, writes, new_length, grant)
            os.fsync(fd)
        finally:
            os.close(fd)
    except (OSError, OverflowError) as error:
        scratch_path.unlink(missing_ok=True)
        raise disk_error("preparing a mutable share update", error) from error
    except (ShareFormatError, CorruptShareError) as error:
        scratch_path.unlink(missing_ok=True)
        raise CorruptShareError(f"mutable share cannot be updated: {error}") from error
    return PreparedUpdate(scratch_path, final_path)


def discard_update(prepared: PreparedUpdate) -> None:
    """Delete a prepared update that will not be committed."""
    prepared.scratch_path.unlink(missing_ok=True)


def commit_update(prepared: PreparedUpdate) -> None:
    """Atomically replace (or create) the share with its prepared next version."""
    try:
        prepared.final_path.parent.mkdir(parents=True, exist_ok=True)
        prepared.scratch_path.replace(prepared.final_path)
        fsync_directory(prepared.final_path.parent)
    except OSError as error:
        discard_update(prepared)
        raise disk_error("replacing a mutable share", error) from error


def delete_mutable_share(path: Path) -> None:
    """Delete a share, and its bucket directory if that leaves it empty."""
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise disk_error("deleting a mutable share", error) from error
    remove_empty_dirs(path.parent, path.parent.parent)


def add_or_renew_mutable_lease(share: MutableShare, grant: LeaseGrant) -> None:
    """Renew the matching lease (only extending it) or add one, in place."""
    fd = _open(share.path, os.O_RDWR, f"leasing mutable share {share.shnum}")
    try:
        _apply(fd, _lease_patches(fd, share.header, grant))
    except OSError as error:
        raise disk_error(f"leasing mutable share {share.shnum}", error) from error
    except ShareFormatError as error:
        raise CorruptShareError(f"mutable share {share.shnum}: {error}") from error
    finally:
        os.close(fd)


def new_container_size(share: MutableShare | None, writes: Iterable[DataVector]) -> int:
    """How many bytes of share data area the share will reserve after ``writes``."""
    size = share.header.container_size if share else 0
    return max([size, *(write.end for write in writes)])
