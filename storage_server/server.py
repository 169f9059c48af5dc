"""The storage server core: Tahoe's storage operations over a share directory, no transport.

Rules:

- Every public method checks its arguments first (:mod:`storage_server.arguments`)
  and raises only :class:`~storage_server.errors.StorageServerError`
  subclasses on purpose, so a transport adapter can forward any of them to
  the client and the server keeps serving.
- Time comes from the injected ``clock``; free space from the injected
  ``free_space`` (``None`` meaning unknown). The constructor only assigns;
  :meth:`StorageServer.start` creates directories and deletes whatever a
  crash left under ``shares/incoming/``.
- Immutable shares (Tahoe 1.20): ``allocate_buckets`` reports every complete
  immutable share of the storage index in ``alreadygot`` and adds or renews an
  owner-0 lease on each; it never allocates a share number that is already
  stored or still being uploaded, and silently omits buckets that do not fit
  in the available space less the space promised to unfinished uploads. A
  read-only server allocates nothing. Unfinished uploads idle for 30 minutes
  are aborted by :meth:`StorageServer.abort_idle_buckets`.
- Mutable shares follow tahoe-formats.md §7.5 exactly; each share's data
  changes atomically (:mod:`storage_server.mutable_store`). All shares of a
  call are prepared before any is replaced, so a failure while preparing
  changes nothing; a failure while renaming (rare) can leave the earlier
  shares of the call updated. A write that would grow shares past the disk's
  free space is refused (:class:`NotEnoughSpaceError`), which also stops a
  client from making huge sparse files. Unlike Tahoe (ticket #390), a
  read-only server refuses mutable writes too (:class:`ReadOnlyError`).
- Files in a bucket that are neither kind of container are ignored by reads
  and leases (and logged); a mutable write aimed at one raises.
"""

import logging
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from grid import __version__
from grid.formats.immutable_container import make_lease
from grid.hashing import NODEID_SIZE
from storage_server.advisories import render_advisory, write_advisory
from storage_server.arguments import (
    MAX_MUTABLE_SHARE_SIZE,
    check_allocated_size,
    check_read_vector,
    check_reason,
    check_secret,
    check_share_number,
    check_share_numbers,
    check_share_type,
    check_slot_secrets,
    check_slot_share_numbers,
    check_storage_index,
    check_test_and_write_vectors,
)
from storage_server.buckets import Bucket, scan_bucket
from storage_server.errors import (
    CorruptShareError,
    ReadOnlyError,
    ShareNotFoundError,
    StorageServerError,
)
from storage_server.immutable_store import (
    NEW_CONTAINER_VERSION,
    BucketReader,
    BucketWriter,
    add_or_renew_immutable_lease,
    create_bucket_writer,
    open_bucket_reader,
)
from storage_server.layout import StorageLayout, storage_index_to_b32
from storage_server.mutable_store import LeaseGrant, add_or_renew_mutable_lease
from storage_server.slots import (
    apply_writes,
    check_write_enabler,
    check_writes_allowed,
    read_shares,
    tests_pass,
)

__all__ = [
    "BUCKET_IDLE_TIMEOUT",
    "LEASE_DURATION",
    "MAX_MUTABLE_SHARE_SIZE",
    "BucketReader",
    "BucketWriter",
    "StorageServer",
    "disk_free_space",
]

LEASE_DURATION = 31 * 24 * 3600
BUCKET_IDLE_TIMEOUT = 30 * 60
UNKNOWN_SPACE = 2**64
STORAGE_PROTOCOL_V1 = b"http://allmydata.org/tahoe/protocols/storage/v1"
DEFAULT_APPLICATION_VERSION = b"grid/" + __version__.encode("ascii")
_MAX_LEASE_TIME = 2**32 - 1
_IMMUTABLE_LEASE_OWNER = 0
_ADDED_LEASE_OWNER = 1

_log = logging.getLogger(__name__)

TestAndWriteVectors = Mapping[
    int,
    tuple[Sequence[tuple[int, int, bytes, bytes]], Sequence[tuple[int, bytes]], int | None],
]


def disk_free_space(path: Path) -> int | None:
    """Bytes an unprivileged user may still write where ``path`` lives; None if unknown."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


class StorageServer:
    """One storage server's shares, leases and uploads in progress."""

    def __init__(
        self,
        storage_dir: Path,
        nodeid: bytes,
        *,
        clock: Callable[[], float],
        reserved_space: int = 0,
        readonly: bool = False,
        free_space: Callable[[Path], int | None] = disk_free_space,
        application_version: bytes = DEFAULT_APPLICATION_VERSION,
    ) -> None:
        """Describe a server over ``storage_dir``; call :meth:`start` before serving."""
        if len(nodeid) != NODEID_SIZE:
            raise ValueError(f"a node id is {NODEID_SIZE} bytes, got {len(nodeid)}")
        self.layout = StorageLayout(storage_dir)
        self.nodeid = nodeid
        self._clock = clock
        self._reserved_space = reserved_space
        self._readonly = readonly
        self._free_space = free_space
        self._application_version = application_version
        self._writers: dict[tuple[bytes, int], BucketWriter] = {}

    def start(self) -> None:
        """Create the storage directories and delete leftovers of unfinished uploads."""
        for writer in list(self._writers.values()):
            writer.abort()
        layout = self.layout
        for directory in (layout.shares_dir, layout.incoming_dir, layout.corruption_advisories_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for leftover in layout.incoming_dir.iterdir():
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()

    def available_space(self) -> int | None:
        """Free space less the reserve (never negative), 0 if read-only, None if unknown."""
        if self._readonly:
            return 0
        free = self._free_space(self.layout.root)
        if free is None:
            return None
        return max(0, free - self._reserved_space)

    def get_version(self) -> dict[bytes, Any]:
        """The version dict of tahoe-formats.md §9.2."""
        available = self.available_space()
        remaining = UNKNOWN_SPACE if available is None else available
        return {
            STORAGE_PROTOCOL_V1: {
                b"maximum-immutable-share-size": remaining,
                b"maximum-mutable-share-size": MAX_MUTABLE_SHARE_SIZE,
                b"available-space": remaining,
                b"tolerates-immutable-read-overrun": True,
                b"delete-mutable-shares-with-zero-length-writev": True,
                b"fills-holes-with-zero-bytes": True,
                b"prevents-read-past-end-of-share-data": True,
            },
            b"application-version": self._application_version,
        }

    def _expiration_time(self) -> int:
        return min(_MAX_LEASE_TIME, int(self._clock()) + LEASE_DURATION)

    def _scan_bucket(self, storage_index: bytes) -> Bucket:
        return scan_bucket(self.layout.bucket_dir(storage_index), storage_index)

    def _space_for_new_buckets(self) -> int | None:
        available = self.available_space()
        if available is None:
            return None
        promised = sum(writer.allocated_size for writer in self._writers.values())
        return max(0, available - promised)

    def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Iterable[int],
        allocated_size: int,
    ) -> tuple[set[int], dict[int, BucketWriter]]:
        """Lease the shares already held and open writers for the requested new ones."""
        storage_index = check_storage_index(storage_index)
        renew_secret = check_secret(renew_secret, "renew secret")
        cancel_secret = check_secret(cancel_secret, "cancel secret")
        requested = check_share_numbers(sharenums)
        allocated_size = check_allocated_size(allocated_size)
        expiration_time = self._expiration_time()
        bucket = self._scan_bucket(storage_index)
        alreadygot = set()
        for shnum, path in bucket.immutable.items():
            try:
                add_or_renew_immutable_lease(
                    path,
                    owner_num=_IMMUTABLE_LEASE_OWNER,
                    renew_secret=renew_secret,
                    cancel_secret=cancel_secret,
                    expiration_time=expiration_time,
                )
            except (CorruptShareError, ShareNotFoundError):
                continue
            alreadygot.add(shnum)
        writers: dict[int, BucketWriter] = {}
        if self._readonly:
            return alreadygot, writers
        remaining = self._space_for_new_buckets()
        lease = make_lease(
            NEW_CONTAINER_VERSION,
            owner_num=_IMMUTABLE_LEASE_OWNER,
            renew_secret=renew_secret,
            cancel_secret=cancel_secret,
            expiration_time=expiration_time,
        )
        try:
            for shnum in sorted(requested - bucket.occupied):
                incoming_path = self.layout.incoming_share_path(storage_index, shnum)
                if (storage_index, shnum) in self._writers or incoming_path.exists():
                    continue
                if remaining is not None:
                    if remaining < allocated_size:
                        continue
                    remaining -= allocated_size
                writer = create_bucket_writer(
                    storage_index=storage_index,
                    shnum=shnum,
                    allocated_size=allocated_size,
                    lease=lease,
                    incoming_path=incoming_path,
                    incoming_root=self.layout.incoming_dir,
                    final_path=self.layout.share_path(storage_index, shnum),
                    clock=self._clock,
                    on_done=self._forget_writer,
                )
                self._writers[storage_index, shnum] = writer
                writers[shnum] = writer
        except StorageServerError:
            for writer in writers.values():
                writer.abort()
            raise
        return alreadygot, writers

    def _forget_writer(self, writer: BucketWriter) -> None:
        self._writers.pop((writer.storage_index, writer.shnum), None)

    def add_lease(self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes) -> None:
        """Add or renew an owner-1 lease on every share of the storage index (none: no-op)."""
        storage_index = check_storage_index(storage_index)
        renew_secret = check_secret(renew_secret, "renew secret")
        cancel_secret = check_secret(cancel_secret, "cancel secret")
        expiration_time = self._expiration_time()
        bucket = self._scan_bucket(storage_index)
        grant = LeaseGrant(renew_secret, cancel_secret, expiration_time, self.nodeid)
        for path in bucket.immutable.values():
            try:
                add_or_renew_immutable_lease(
                    path,
                    owner_num=_ADDED_LEASE_OWNER,
                    renew_secret=renew_secret,
                    cancel_secret=cancel_secret,
                    expiration_time=expiration_time,
                )
            except (CorruptShareError, ShareNotFoundError):
                continue
        for share in bucket.mutable.values():
            try:
                add_or_renew_mutable_lease(share, grant)
            except (CorruptShareError, ShareNotFoundError):
                continue

    def get_buckets(self, storage_index: bytes) -> dict[int, BucketReader]:
        """A reader for every complete immutable share of the storage index."""
        storage_index = check_storage_index(storage_index)
        readers = {}
        for shnum, path in self._scan_bucket(storage_index).immutable.items():
            advise = partial(self.advise_corrupt_share, b"immutable", storage_index, shnum)
            try:
                readers[shnum] = open_bucket_reader(path, shnum, advise)
            except (CorruptShareError, ShareNotFoundError):
                continue
        return readers

    def slot_readv(
        self, storage_index: bytes, shares: Sequence[int], readv: Sequence[tuple[int, int]]
    ) -> dict[int, list[bytes]]:
        """Read the same ranges from the named mutable shares (all of them if none named)."""
        storage_index = check_storage_index(storage_index)
        wanted = check_slot_share_numbers(shares)
        ranges = check_read_vector(readv)
        mutable = self._scan_bucket(storage_index).mutable
        return read_shares(
            (share for shnum, share in mutable.items() if not wanted or shnum in wanted), ranges
        )

    def slot_testv_and_readv_and_writev(
        self,
        storage_index: bytes,
        secrets: tuple[bytes, bytes, bytes],
        tw_vectors: TestAndWriteVectors,
        read_vector: Sequence[tuple[int, int]],
    ) -> tuple[bool, dict[int, list[bytes]]]:
        """Tahoe's test-and-write of mutable shares (tahoe-formats.md §7.5)."""
        storage_index = check_storage_index(storage_index)
        slot_secrets = check_slot_secrets(secrets)
        vectors = check_test_and_write_vectors(tw_vectors)
        ranges = check_read_vector(read_vector)
        bucket = self._scan_bucket(storage_index)
        check_writes_allowed(bucket, vectors)
        if self._readonly and vectors:
            raise ReadOnlyError("this storage server is read-only")
        check_write_enabler(bucket, slot_secrets.write_enabler)
        passed = tests_pass(bucket, vectors)
        read_data = read_shares(bucket.mutable.values(), ranges)
        if passed:
            grant = LeaseGrant(
                slot_secrets.renew_secret,
                slot_secrets.cancel_secret,
                self._expiration_time(),
                self.nodeid,
            )
            apply_writes(
                self.layout,
                storage_index,
                bucket,
                vectors,
                write_enabler=slot_secrets.write_enabler,
                grant=grant,
                free_space=self._free_space(self.layout.root),
            )
        return passed, read_data

    def advise_corrupt_share(
        self, share_type: bytes, storage_index: bytes, shnum: int, reason: bytes
    ) -> None:
        """Write a client's corruption report, if we hold that share and have room for it."""
        share_type = check_share_type(share_type)
        storage_index = check_storage_index(storage_index)
        shnum = check_share_number(shnum)
        reason = check_reason(reason)
        if not self.layout.share_path(storage_index, shnum).is_file():
            _log.info(
                "storage.advisory.unknown-share si=%s shnum=%d",
                storage_index_to_b32(storage_index),
                shnum,
            )
            return
        report = render_advisory(share_type, storage_index, shnum, reason)
        available = self.available_space()
        if available is not None and len(report.encode("utf-8")) > available:
            return
        write_advisory(
            self.layout.corruption_advisories_dir,
            now=self._clock(),
            storage_index=storage_index,
            shnum=shnum,
            report=report,
        )

    def abort_idle_buckets(self) -> list[BucketWriter]:
        """Abort unfinished uploads with no write for 30 minutes; return their writers."""
        now = self._clock()
        idle = [
            writer
            for writer in self._writers.values()
            if now - writer.last_activity >= BUCKET_IDLE_TIMEOUT
        ]
        for writer in idle:
            writer.abort()
        return idle
