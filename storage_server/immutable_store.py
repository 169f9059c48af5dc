"""Immutable shares on disk: uploads in progress, finished shares, and their leases.

Rules:

- An upload is written to ``shares/incoming/<p>/<si>/<shnum>`` as an
  immutable container of version 2: the 12-byte header (legacy length
  ``min(2**32-1, allocated size)``, one lease) is written at allocation, share
  data at ``12 + offset`` as it arrives, and the lease record (chosen at
  allocation: owner 0, expiring 31 days later) at ``12 + allocated size`` on
  close. So a closed share is header, exactly ``allocated size`` bytes of data
  (unwritten holes read as zeros) and the lease, byte for byte what Tahoe
  1.20 writes.
- A write must lie inside the allocated size (:class:`DataTooLargeError`).
  Bytes already written may be written again only with identical values
  (:class:`ConflictingWriteError`): the writer remembers the written ranges and
  compares the overlap with the disk before writing anything.
- ``close`` writes the lease, fsyncs the file, renames it into ``shares/``
  and fsyncs the bucket directory. Pages of the share are dropped from the
  page cache once on disk (``POSIX_FADV_DONTNEED``, which also starts the
  writing): after each MiB written and at close. A share is rarely read back
  soon; reusing its pages for the next writes is far cheaper than taking
  fresh ones (on a 2-core VM, 40 MB of fresh page cache cost 0.1 CPU-s,
  recycled pages 0.01), and ``close``'s fsync finds little left to write
  (it was 0.3 s at the end of every 100 MiB upload on the local grid).
  ``close`` never replaces a file already there (a mutable write may have
  taken the share number meanwhile): the upload is aborted instead.
  ``abort`` deletes the partial file; it is idempotent and does nothing
  after ``close``. Writing or closing a closed bucket is
  :class:`BucketClosedError`.
- Any disk failure while writing or closing (ENOSPC, EFBIG, EIO, ...) aborts
  the upload, so no partial share ever reaches ``shares/``, and raises
  :class:`DiskError`.
- Leases are changed in place, as Tahoe does: renewing rewrites one 72-byte
  record; adding appends the record before rewriting the header's count, so a
  crash between the two leaves 72 stray bytes past the share data (which
  readers never ask for) rather than a lost lease record inside it. Version 1
  containers keep their cleartext secrets: new leases follow the container's
  own version.
"""

import enum
import logging
import os
from collections.abc import Callable
from pathlib import Path

import attrs

from grid.errors import ShareFormatError
from grid.formats.immutable_container import (
    CONTAINER_HEADER,
    LEASE_RECORD,
    ContainerHeader,
    Lease,
    lease_matches_renew_secret,
    make_lease,
    pack_container_header,
    pack_lease,
    parse_container_header,
    parse_lease,
)
from storage_server.arguments import check_offset, check_read_length, check_write_data
from storage_server.errors import (
    BucketClosedError,
    ConflictingWriteError,
    CorruptShareError,
    DataTooLargeError,
    ShareNotFoundError,
    TooManyWriteRangesError,
)
from storage_server.share_files import (
    disk_error,
    drop_cached_pages,
    fsync_directory,
    pread_exact,
    pwrite_all,
    remove_empty_dirs,
)
from storage_server.written_ranges import WrittenRanges

NEW_CONTAINER_VERSION = 2
MAX_WRITE_RANGES = 16384

FLUSH_STEP = 1024 * 1024

_log = logging.getLogger(__name__)


class _BucketState(enum.Enum):
    OPEN = "open"
    FINISHED = "finished"
    ABORTED = "aborted"


class BucketWriter:
    """One immutable share being uploaded; made by :func:`create_bucket_writer`."""

    def __init__(
        self,
        *,
        storage_index: bytes,
        shnum: int,
        allocated_size: int,
        lease: Lease,
        incoming_path: Path,
        incoming_root: Path,
        final_path: Path,
        clock: Callable[[], float],
        on_done: Callable[["BucketWriter"], None],
    ) -> None:
        """Describe an upload whose incoming file already holds its header."""
        self.storage_index = storage_index
        self.shnum = shnum
        self.allocated_size = allocated_size
        self._lease = lease
        self._incoming_path = incoming_path
        self._incoming_root = incoming_root
        self._final_path = final_path
        self._clock = clock
        self._on_done = on_done
        self._state = _BucketState.OPEN
        self._written = WrittenRanges()
        self._flushed_to = 0
        self.last_activity = clock()

    @property
    def closed(self) -> bool:
        """True once the bucket was closed or aborted: it takes no more writes."""
        return self._state is not _BucketState.OPEN

    @property
    def finished(self) -> bool:
        """True once the share was closed and moved into place."""
        return self._state is _BucketState.FINISHED

    @property
    def aborted(self) -> bool:
        """True once the upload was aborted (by the client, a timeout or a disk failure)."""
        return self._state is _BucketState.ABORTED

    def write(self, offset: int, data: bytes) -> None:
        """Write share data at ``offset``; rewriting written bytes must not change them."""
        offset = check_offset(offset)
        data = check_write_data(data)
        if self.closed:
            raise BucketClosedError(f"share {self.shnum} was already {self._state.value}")
        end = offset + len(data)
        if end > self.allocated_size:
            raise DataTooLargeError(
                f"write of {len(data)} bytes at {offset} passes the allocated size "
                f"{self.allocated_size} of share {self.shnum}"
            )
        self.last_activity = self._clock()
        if not data:
            return
        if self._written.count_if_added(offset, end) > MAX_WRITE_RANGES:
            raise TooManyWriteRangesError(
                f"writes to share {self.shnum} left more than {MAX_WRITE_RANGES} separate ranges"
            )
        try:
            fd = os.open(self._incoming_path, os.O_RDWR)
            try:
                self._check_overlaps(fd, offset, data)
                pwrite_all(fd, data, CONTAINER_HEADER.size + offset)
                self._flush_early(fd, CONTAINER_HEADER.size + end)
            finally:
                os.close(fd)
        except (OSError, OverflowError) as error:
            self._discard()
            raise disk_error(f"writing share {self.shnum}", error) from error
        self._written.add(offset, end)

    def _flush_early(self, fd: int, written_to: int) -> None:
        """Each MiB, start writing the share to disk and drop the pages already there."""
        if written_to - self._flushed_to >= FLUSH_STEP:
            drop_cached_pages(fd, written_to)
            self._flushed_to = written_to

    def _check_overlaps(self, fd: int, offset: int, data: bytes) -> None:
        for start, stop in self._written.overlaps(offset, offset + len(data)):
            on_disk = pread_exact(fd, stop - start, CONTAINER_HEADER.size + start)
            if on_disk != data[start - offset : stop - offset]:
                raise ConflictingWriteError(
                    f"share {self.shnum}: bytes {start}..{stop} were already written "
                    "with different values"
                )

    def close(self) -> None:
        """Finish the share: write its lease, fsync, and rename it into ``shares/``."""
        if self.closed:
            raise BucketClosedError(f"share {self.shnum} was already {self._state.value}")
        if self._final_path.exists():
            self._discard()
            raise ConflictingWriteError(f"share {self.shnum} was stored meanwhile by another write")
        try:
            fd = os.open(self._incoming_path, os.O_WRONLY)
            try:
                pwrite_all(fd, pack_lease(self._lease), CONTAINER_HEADER.size + self.allocated_size)
                os.fsync(fd)
                drop_cached_pages(fd)
            finally:
                os.close(fd)
            self._final_path.parent.mkdir(parents=True, exist_ok=True)
            self._incoming_path.rename(self._final_path)
        except (OSError, OverflowError) as error:
            self._discard()
            raise disk_error(f"finishing share {self.shnum}", error) from error
        self._state = _BucketState.FINISHED
        self._on_done(self)
        remove_empty_dirs(self._incoming_path.parent, self._incoming_root)
        try:
            fsync_directory(self._final_path.parent)
        except OSError:
            _log.warning("storage.close.fsync-dir-failed shnum=%d", self.shnum)

    def abort(self) -> None:
        """Delete the partial share; does nothing if already closed or aborted."""
        if not self.closed:
            self._discard()

    def _discard(self) -> None:
        self._state = _BucketState.ABORTED
        try:
            self._incoming_path.unlink(missing_ok=True)
        except OSError:
            _log.warning("storage.abort.unlink-failed shnum=%d", self.shnum)
        remove_empty_dirs(self._incoming_path.parent, self._incoming_root)
        self._on_done(self)


def create_bucket_writer(
    *,
    storage_index: bytes,
    shnum: int,
    allocated_size: int,
    lease: Lease,
    incoming_path: Path,
    incoming_root: Path,
    final_path: Path,
    clock: Callable[[], float],
    on_done: Callable[[BucketWriter], None],
) -> BucketWriter:
    """Create the incoming file with its container header and return its writer."""
    header = pack_container_header(NEW_CONTAINER_VERSION, allocated_size, 1)
    try:
        incoming_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(incoming_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            pwrite_all(fd, header, 0)
        finally:
            os.close(fd)
    except OSError as error:
        incoming_path.unlink(missing_ok=True)
        remove_empty_dirs(incoming_path.parent, incoming_root)
        raise disk_error(f"creating share {shnum}", error) from error
    return BucketWriter(
        storage_index=storage_index,
        shnum=shnum,
        allocated_size=allocated_size,
        lease=lease,
        incoming_path=incoming_path,
        incoming_root=incoming_root,
        final_path=final_path,
        clock=clock,
        on_done=on_done,
    )


class BucketReader:
    """Reads one finished immutable share; made by :func:`open_bucket_reader`."""

    def __init__(
        self,
        *,
        path: Path,
        shnum: int,
        data_length: int,
        advise: Callable[[bytes], None],
    ) -> None:
        """Describe a share whose data is ``data_length`` bytes after the header."""
        self.path = path
        self.shnum = shnum
        self.data_length = data_length
        self._advise = advise

    def read(self, offset: int, length: int) -> bytes:
        """Read share data; cut at its end, and ``b""`` from past the end."""
        offset = check_offset(offset)
        length = min(check_read_length(length), max(0, self.data_length - offset))
        if length == 0:
            return b""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError as error:
            raise ShareNotFoundError(f"share {self.shnum} is gone") from error
        except OSError as error:
            raise disk_error(f"reading share {self.shnum}", error) from error
        try:
            return pread_exact(fd, length, CONTAINER_HEADER.size + offset)
        except OSError as error:
            raise disk_error(f"reading share {self.shnum}", error) from error
        finally:
            os.close(fd)

    def advise_corrupt_share(self, reason: bytes) -> None:
        """Record a client's report that this share is corrupt."""
        self._advise(reason)


def _read_header_and_size(fd: int) -> tuple[ContainerHeader, int]:
    try:
        header = parse_container_header(pread_exact(fd, CONTAINER_HEADER.size, 0))
    except ShareFormatError as error:
        raise CorruptShareError(f"not an immutable container: {error}") from error
    size = os.fstat(fd).st_size
    if size < CONTAINER_HEADER.size + LEASE_RECORD.size * header.lease_count:
        raise CorruptShareError(f"{size}-byte container cannot hold {header.lease_count} leases")
    return header, size


def open_bucket_reader(path: Path, shnum: int, advise: Callable[[bytes], None]) -> BucketReader:
    """Open a finished share for reading; raise CorruptShareError if its header is bad."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as error:
        raise ShareNotFoundError(f"share {shnum} is gone") from error
    except OSError as error:
        raise disk_error(f"opening share {shnum}", error) from error
    try:
        header, size = _read_header_and_size(fd)
    except OSError as error:
        raise disk_error(f"opening share {shnum}", error) from error
    finally:
        os.close(fd)
    data_length = size - CONTAINER_HEADER.size - LEASE_RECORD.size * header.lease_count
    return BucketReader(path=path, shnum=shnum, data_length=data_length, advise=advise)


def add_or_renew_immutable_lease(
    path: Path,
    *,
    owner_num: int,
    renew_secret: bytes,
    cancel_secret: bytes,
    expiration_time: int,
) -> None:
    """Renew the lease whose renew secret matches (only ever extending it), else add one."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError as error:
        raise ShareNotFoundError("share is gone") from error
    except OSError as error:
        raise disk_error("opening a share for a lease", error) from error
    try:
        header, size = _read_header_and_size(fd)
        start = size - LEASE_RECORD.size * header.lease_count
        records = pread_exact(fd, LEASE_RECORD.size * header.lease_count, start)
        for index in range(header.lease_count):
            offset = index * LEASE_RECORD.size
            lease = parse_lease(records[offset : offset + LEASE_RECORD.size])
            if lease_matches_renew_secret(header.version, lease, renew_secret):
                if lease.expiration_time < expiration_time:
                    renewed = attrs.evolve(lease, expiration_time=expiration_time)
                    pwrite_all(fd, pack_lease(renewed), start + offset)
                return
        lease = make_lease(
            header.version,
            owner_num=owner_num,
            renew_secret=renew_secret,
            cancel_secret=cancel_secret,
            expiration_time=expiration_time,
        )
        grown = ContainerHeader(header.version, header.legacy_length, header.lease_count + 1)
        pwrite_all(fd, pack_lease(lease), size)
        pwrite_all(fd, grown.pack(), 0)
    except OSError as error:
        raise disk_error("writing a lease", error) from error
    except ShareFormatError as error:
        raise CorruptShareError(f"bad lease record: {error}") from error
    finally:
        os.close(fd)
