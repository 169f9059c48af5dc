"""The upload's view of a storage server, over a broker's Foolscap connection.

Rules: each method is one ``RIStorageServer`` or ``RIBucketWriter`` call
with Tahoe-LAFS's arguments. Every ``allocate_buckets`` call passes a fresh
Foolscap ``Referenceable`` as the canary: if this client's connection is
lost, the server aborts the buckets that call allocated. The maximum share
size comes from the server's version dict; a value that is not an integer
makes the server read-only for uploads.
"""

from collections.abc import Callable, Mapping, Set
from typing import Any

from foolscap.api import Referenceable

from client.server_connection import StorageServerConnection
from client.storage_broker import StorageBroker
from client.upload.servers import BucketWriter, UploadServer

MAXIMUM_IMMUTABLE_SHARE_SIZE = b"maximum-immutable-share-size"


class RemoteBucketWriter:
    """An ``RIBucketWriter`` reference."""

    def __init__(self, reference: Any) -> None:
        """Wrap a Foolscap RemoteReference to a bucket writer."""
        self._reference = reference

    async def write(self, offset: int, data: bytes) -> None:
        """Call ``write(offset, data)``."""
        await self._reference.callRemote("write", offset, data)

    async def close(self) -> None:
        """Call ``close()``."""
        await self._reference.callRemote("close")

    async def abort(self) -> None:
        """Call ``abort()``."""
        await self._reference.callRemote("abort")


class RemoteUploadServer:
    """A connected storage server, seen through the upload's narrow protocol."""

    def __init__(self, connection: StorageServerConnection) -> None:
        """Use ``connection`` for every call."""
        self._connection = connection

    @property
    def server_id(self) -> str:
        """The announced server id."""
        return self._connection.server_id

    @property
    def name(self) -> str:
        """The server's short name."""
        return self._connection.description.short_name

    @property
    def lease_seed(self) -> bytes:
        """The server's tub id."""
        return self._connection.description.lease_seed

    @property
    def maximum_immutable_share_size(self) -> int:
        """``maximum-immutable-share-size`` from the version dict, 0 if not an integer."""
        size = self._connection.storage_version.get(MAXIMUM_IMMUTABLE_SHARE_SIZE)
        if isinstance(size, bool) or not isinstance(size, int):
            return 0
        return size

    async def get_buckets(self, storage_index: bytes) -> Set[int]:
        """Call ``get_buckets`` and keep only the share numbers."""
        readers = await self._connection.call("get_buckets", storage_index)
        return frozenset(readers)

    async def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Set[int],
        allocated_size: int,
    ) -> tuple[Set[int], Mapping[int, BucketWriter]]:
        """Call ``allocate_buckets`` with a fresh canary."""
        alreadygot, writers = await self._connection.call(
            "allocate_buckets",
            storage_index,
            renew_secret,
            cancel_secret,
            set(sharenums),
            allocated_size,
            Referenceable(),
        )
        return frozenset(alreadygot), {
            shnum: RemoteBucketWriter(reference) for shnum, reference in writers.items()
        }


def broker_upload_servers(broker: StorageBroker) -> Callable[[bytes], list[UploadServer]]:
    """The broker's connected servers in permuted order for a storage index, as upload servers."""

    def servers_for(storage_index: bytes) -> list[UploadServer]:
        return [
            RemoteUploadServer(connection) for connection in broker.permuted_servers(storage_index)
        ]

    return servers_for
