"""The storage core served over Foolscap: arguments in, calls forwarded, results out.

Rules: nothing here decides anything; each remote method forwards to
:class:`~storage_server.server.StorageServer` (or a bucket) and returns its
result. Errors the core raises travel back to the caller as remote
failures and the server keeps serving. When a client's canary disconnects,
the buckets it allocated and did not close are aborted, so a vanished
uploader leaves no partial share behind.
"""

from typing import Any

from foolscap.api import Referenceable
from zope.interface import implementer

from storage_server.server import BucketReader, BucketWriter, StorageServer
from storage_server.wire import RIBucketReader, RIBucketWriter, RIStorageServer


class _Allocation:
    """The buckets one allocate_buckets call made, watched through the client's canary."""

    def __init__(self, writers: list[BucketWriter], canary: Any) -> None:
        self.writers = writers
        self.canary = canary
        self.cookie: object = None

    def watch(self) -> None:
        """Abort the unfinished buckets if the canary's connection is lost."""
        self.cookie = self.canary.notifyOnDisconnect(self.abort_unfinished)

    def abort_unfinished(self) -> None:
        """Abort every bucket of this allocation not yet closed."""
        self.cookie = None
        for writer in self.writers:
            writer.abort()

    def bucket_done(self) -> None:
        """Stop watching once every bucket is closed or aborted."""
        if self.cookie is not None and all(writer.closed for writer in self.writers):
            self.canary.dontNotifyOnDisconnect(self.cookie)
            self.cookie = None


@implementer(RIBucketWriter)
class FoolscapBucketWriter(Referenceable):  # type: ignore[misc]
    """One bucket being uploaded, as a Foolscap reference."""

    def __init__(self, writer: BucketWriter, allocation: _Allocation) -> None:
        """Serve ``writer``; ``allocation`` hears when it is finished."""
        self._writer = writer
        self._allocation = allocation

    def remote_write(self, offset: int, data: bytes) -> None:
        """Forward a write."""
        self._writer.write(offset, data)

    def remote_close(self) -> None:
        """Forward close."""
        self._writer.close()
        self._allocation.bucket_done()

    def remote_abort(self) -> None:
        """Forward abort."""
        self._writer.abort()
        self._allocation.bucket_done()


@implementer(RIBucketReader)
class FoolscapBucketReader(Referenceable):  # type: ignore[misc]
    """One complete share, as a Foolscap reference."""

    def __init__(self, reader: BucketReader) -> None:
        """Serve ``reader``."""
        self._reader = reader

    def remote_read(self, offset: int, length: int) -> bytes:
        """Forward a read."""
        return self._reader.read(offset, length)

    def remote_advise_corrupt_share(self, reason: bytes) -> None:
        """Forward a corruption report."""
        self._reader.advise_corrupt_share(reason)


@implementer(RIStorageServer)
class FoolscapStorageServer(Referenceable):  # type: ignore[misc]
    """The storage server, as the Foolscap object a storage FURL names."""

    def __init__(self, server: StorageServer) -> None:
        """Serve ``server``."""
        self._server = server

    def remote_get_version(self) -> dict[bytes, Any]:
        """Forward get_version."""
        return self._server.get_version()

    def remote_allocate_buckets(  # noqa: PLR0917  Foolscap passes the protocol's arguments positionally
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Any,
        allocated_size: int,
        canary: Any,
    ) -> tuple[set[int], dict[int, FoolscapBucketWriter]]:
        """Forward allocate_buckets; watch the canary for the new buckets."""
        already, writers = self._server.allocate_buckets(
            storage_index, renew_secret, cancel_secret, sharenums, allocated_size
        )
        allocation = _Allocation(list(writers.values()), canary)
        if writers:
            allocation.watch()
        return already, {
            shnum: FoolscapBucketWriter(writer, allocation) for shnum, writer in writers.items()
        }

    def remote_add_lease(
        self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes
    ) -> None:
        """Forward add_lease."""
        self._server.add_lease(storage_index, renew_secret, cancel_secret)

    def remote_get_buckets(self, storage_index: bytes) -> dict[int, FoolscapBucketReader]:
        """Forward get_buckets."""
        return {
            shnum: FoolscapBucketReader(reader)
            for shnum, reader in self._server.get_buckets(storage_index).items()
        }

    def remote_slot_readv(
        self, storage_index: bytes, shares: list[int], readv: list[tuple[int, int]]
    ) -> dict[int, list[bytes]]:
        """Forward slot_readv."""
        return self._server.slot_readv(storage_index, shares, readv)

    def remote_slot_testv_and_readv_and_writev(
        self,
        storage_index: bytes,
        secrets: tuple[bytes, bytes, bytes],
        tw_vectors: dict[int, Any],
        r_vector: list[tuple[int, int]],
    ) -> tuple[bool, dict[int, list[bytes]]]:
        """Forward slot_testv_and_readv_and_writev."""
        return self._server.slot_testv_and_readv_and_writev(
            storage_index, secrets, tw_vectors, r_vector
        )

    def remote_advise_corrupt_share(
        self, share_type: bytes, storage_index: bytes, shnum: int, reason: bytes
    ) -> None:
        """Forward a corruption report."""
        self._server.advise_corrupt_share(share_type, storage_index, shnum, reason)
