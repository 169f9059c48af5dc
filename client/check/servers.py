"""What the checker needs of a storage server, and the adapter for a broker's connections.

Rules: the checker sees a server only through :class:`CheckServer`, declared
here beside its consumer: a stable server id (results name servers by it,
as Tahoe names them by their long name), a short name for messages, and
``get_buckets``, which answers with a reader for every complete share the
server holds. Share readers are the downloader's
:class:`~client.download.BucketReaderLike`. :class:`ConnectionCheckServer`
puts a broker's Foolscap connection behind the Protocol, checking the shape
of every answer as the downloader's adapter does.
"""

from collections.abc import Awaitable, Mapping
from typing import Protocol

from client.download import BucketReaderLike, ConnectionStorageServer
from client.server_connection import StorageServerConnection
from client.storage_broker import StorageBroker


class CheckServer(Protocol):
    """A storage server, as the checker uses it."""

    @property
    def server_id(self) -> str:
        """The server's id (``v0-…``), as check results name it."""

    @property
    def name(self) -> str:
        """A short name for logs and error messages (never a secret)."""

    def get_buckets(self, storage_index: bytes) -> Awaitable[Mapping[int, BucketReaderLike]]:
        """Return a reader for every complete share held for ``storage_index``."""


class ConnectionCheckServer:
    """A broker's :class:`StorageServerConnection`, as a :class:`CheckServer`."""

    def __init__(self, connection: StorageServerConnection) -> None:
        """Wrap ``connection``."""
        self._connection = connection
        self._storage = ConnectionStorageServer(connection)

    @property
    def server_id(self) -> str:
        """The announced server id."""
        return self._connection.server_id

    @property
    def name(self) -> str:
        """The server's short name."""
        return self._storage.name

    async def get_buckets(self, storage_index: bytes) -> Mapping[int, BucketReaderLike]:
        """Call ``get_buckets``; a malformed answer raises the downloader's ServerFailedError."""
        return await self._storage.get_buckets(storage_index)


def check_servers(broker: StorageBroker, storage_index: bytes) -> list[ConnectionCheckServer]:
    """The broker's connected servers in permuted order for ``storage_index``."""
    return [ConnectionCheckServer(server) for server in broker.permuted_servers(storage_index)]
