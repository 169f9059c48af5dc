"""Storage backends for the contract tests: one storage API, several ways to reach it.

Every backend implements :class:`StorageBackend`: the storage operations of
Tahoe's ``RIStorageServer`` (synchronous here), plus the controls tests
need: restart the server on the same directory, move its clock, set the free
space its disk reports. Every server-side error reaches a test as
:class:`RemoteFailure`, whatever the transport.

To add a backend, write a factory ``(tmp_path) -> StorageBackend`` and add it
to :data:`BACKENDS`; the ``storage_api`` fixture runs every contract test
against each entry.
"""

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
from twisted.internet.task import Clock

from storage_server.errors import StorageServerError
from storage_server.server import BucketReader, BucketWriter, StorageServer

START_TIME = 1_700_000_000.0
DEFAULT_FREE_SPACE = 2**40
DIRECT_NODEID = hashlib.sha1(b"direct storage backend", usedforsecurity=False).digest()

TestAndWriteVectors = Mapping[
    int,
    tuple[Sequence[tuple[int, int, bytes, bytes]], Sequence[tuple[int, bytes]], int | None],
]


class RemoteFailure(Exception):  # noqa: N818  the name the contract suite's callers use
    """The server refused or failed a call (any server-side error, on any backend)."""


class BucketWriterAPI(Protocol):
    """A bucket being uploaded, as a client sees it."""

    def write(self, offset: int, data: bytes) -> None:
        """Write share data at ``offset``."""

    def close(self) -> None:
        """Finish the share."""

    def abort(self) -> None:
        """Give up the upload."""


class BucketReaderAPI(Protocol):
    """A complete immutable share, as a client sees it."""

    def read(self, offset: int, length: int) -> bytes:
        """Read share data, cut at its end."""

    def advise_corrupt_share(self, reason: bytes) -> None:
        """Report the share as corrupt."""


class StorageAPI(Protocol):
    """The storage operations of ``RIStorageServer``, called synchronously."""

    def get_version(self) -> dict[bytes, Any]:
        """The server's version dict."""

    def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Iterable[int],
        allocated_size: int,
        canary: object = None,
    ) -> tuple[set[int], dict[int, BucketWriterAPI]]:
        """Shares already held, and writers for the newly allocated ones."""

    def add_lease(self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes) -> None:
        """Add or renew a lease on every share of the storage index."""

    def get_buckets(self, storage_index: bytes) -> dict[int, BucketReaderAPI]:
        """Readers for every complete immutable share."""

    def slot_readv(
        self, storage_index: bytes, shares: Sequence[int], readv: Sequence[tuple[int, int]]
    ) -> dict[int, list[bytes]]:
        """Read ranges of mutable shares."""

    def slot_testv_and_readv_and_writev(
        self,
        storage_index: bytes,
        secrets: tuple[bytes, bytes, bytes],
        tw_vectors: TestAndWriteVectors,
        read_vector: Sequence[tuple[int, int]],
    ) -> tuple[bool, dict[int, list[bytes]]]:
        """Test, read, and conditionally write mutable shares."""

    def advise_corrupt_share(
        self, share_type: bytes, storage_index: bytes, shnum: int, reason: bytes
    ) -> None:
        """Report a share as corrupt."""


class StorageBackend(StorageAPI, Protocol):
    """A storage API plus the controls a test needs over the server behind it."""

    storage_dir: Path
    nodeid: bytes

    def restart(self, *, readonly: bool = False, reserved_space: int = 0) -> None:
        """Stop the server and start a new one on the same directory."""

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward."""

    def now(self) -> float:
        """The server's clock."""

    def set_free_space(self, free: int | None) -> None:
        """Make the server's disk report ``free`` bytes free (None: unknown)."""

    def close(self) -> None:
        """Release everything the backend holds."""


@contextmanager
def _as_remote_failure() -> Iterator[None]:
    try:
        yield
    except StorageServerError as error:
        raise RemoteFailure(f"{type(error).__name__}: {error}") from error


class DirectBucketWriter:
    """A :class:`BucketWriter` called directly."""

    def __init__(self, writer: BucketWriter) -> None:
        """Wrap ``writer``."""
        self._writer = writer

    def write(self, offset: int, data: bytes) -> None:
        """Forward a write."""
        with _as_remote_failure():
            self._writer.write(offset, data)

    def close(self) -> None:
        """Forward close."""
        with _as_remote_failure():
            self._writer.close()

    def abort(self) -> None:
        """Forward abort."""
        with _as_remote_failure():
            self._writer.abort()


class DirectBucketReader:
    """A :class:`BucketReader` called directly."""

    def __init__(self, reader: BucketReader) -> None:
        """Wrap ``reader``."""
        self._reader = reader

    def read(self, offset: int, length: int) -> bytes:
        """Forward a read."""
        with _as_remote_failure():
            return self._reader.read(offset, length)

    def advise_corrupt_share(self, reason: bytes) -> None:
        """Forward a corruption report."""
        with _as_remote_failure():
            self._reader.advise_corrupt_share(reason)


class DirectStorage:
    """A real :class:`StorageServer` on a temporary directory, called in-process."""

    def __init__(self, storage_dir: Path, nodeid: bytes = DIRECT_NODEID) -> None:
        """Describe the backend; :meth:`restart` starts its first server."""
        self.storage_dir = storage_dir
        self.nodeid = nodeid
        self.clock = Clock()
        self.clock.advance(START_TIME)
        self.free_space: int | None = DEFAULT_FREE_SPACE
        self.server = self._new_server(readonly=False, reserved_space=0)

    def _new_server(self, *, readonly: bool, reserved_space: int) -> StorageServer:
        return StorageServer(
            self.storage_dir,
            self.nodeid,
            clock=self.clock.seconds,
            reserved_space=reserved_space,
            readonly=readonly,
            free_space=lambda _path: self.free_space,
        )

    def restart(self, *, readonly: bool = False, reserved_space: int = 0) -> None:
        """Replace the server by a new one on the same directory, and start it."""
        self.server = self._new_server(readonly=readonly, reserved_space=reserved_space)
        self.server.start()

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.clock.advance(seconds)

    def now(self) -> float:
        """The clock's time."""
        return self.clock.seconds()

    def set_free_space(self, free: int | None) -> None:
        """Set what the fake disk reports as free."""
        self.free_space = free

    def close(self) -> None:
        """Nothing to release."""

    def get_version(self) -> dict[bytes, Any]:
        """Forward get_version."""
        with _as_remote_failure():
            return self.server.get_version()

    def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Iterable[int],
        allocated_size: int,
        canary: object = None,
    ) -> tuple[set[int], dict[int, BucketWriterAPI]]:
        """Forward allocate_buckets (the canary is unused in-process)."""
        del canary
        with _as_remote_failure():
            already, writers = self.server.allocate_buckets(
                storage_index, renew_secret, cancel_secret, sharenums, allocated_size
            )
        return already, {shnum: DirectBucketWriter(writer) for shnum, writer in writers.items()}

    def add_lease(self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes) -> None:
        """Forward add_lease."""
        with _as_remote_failure():
            self.server.add_lease(storage_index, renew_secret, cancel_secret)

    def get_buckets(self, storage_index: bytes) -> dict[int, BucketReaderAPI]:
        """Forward get_buckets."""
        with _as_remote_failure():
            readers = self.server.get_buckets(storage_index)
        return {shnum: DirectBucketReader(reader) for shnum, reader in readers.items()}

    def slot_readv(
        self, storage_index: bytes, shares: Sequence[int], readv: Sequence[tuple[int, int]]
    ) -> dict[int, list[bytes]]:
        """Forward slot_readv."""
        with _as_remote_failure():
            return self.server.slot_readv(storage_index, shares, readv)

    def slot_testv_and_readv_and_writev(
        self,
        storage_index: bytes,
        secrets: tuple[bytes, bytes, bytes],
        tw_vectors: TestAndWriteVectors,
        read_vector: Sequence[tuple[int, int]],
    ) -> tuple[bool, dict[int, list[bytes]]]:
        """Forward slot_testv_and_readv_and_writev."""
        with _as_remote_failure():
            return self.server.slot_testv_and_readv_and_writev(
                storage_index, secrets, tw_vectors, read_vector
            )

    def advise_corrupt_share(
        self, share_type: bytes, storage_index: bytes, shnum: int, reason: bytes
    ) -> None:
        """Forward advise_corrupt_share."""
        with _as_remote_failure():
            self.server.advise_corrupt_share(share_type, storage_index, shnum, reason)


def make_direct_storage(tmp_path: Path) -> StorageBackend:
    """A started :class:`DirectStorage` on ``tmp_path / "storage"``."""
    backend = DirectStorage(tmp_path / "storage")
    backend.restart()
    return backend


def make_foolscap_storage(tmp_path: Path) -> StorageBackend:
    """A started storage server reached over real Foolscap on loopback."""
    from tests.integration.foolscap_storage import FoolscapStorage  # noqa: PLC0415  it imports this module

    backend = FoolscapStorage(tmp_path / "storage")
    backend.restart()
    return backend


BACKENDS: dict[str, Callable[[Path], StorageBackend]] = {
    "direct": make_direct_storage,
    "foolscap": make_foolscap_storage,
}


@pytest.fixture(params=sorted(BACKENDS))
def storage_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageBackend]:
    """A started storage backend of each kind in :data:`BACKENDS`, on a fresh directory."""
    backend = BACKENDS[request.param](tmp_path)
    try:
        yield backend
    finally:
        backend.close()
