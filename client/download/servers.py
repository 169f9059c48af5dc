"""What the downloader needs of a storage server, and the adapter for real connections.

Rules: the downloader sees a server only through :class:`StorageServerLike`
and a share only through :class:`BucketReaderLike` (both declared here,
beside their consumer). ``get_buckets`` answers with every complete share
the server holds for a storage index; ``read`` returns share data cut at its
end (a read starting past the end returns ``b""``). A server that says it
``tolerates_read_overrun`` may be asked for more bytes than a share holds.
:class:`ConnectionStorageServer` puts a broker's Foolscap connection behind
these Protocols; it checks the shape of every answer and raises
:class:`ServerFailedError` for anything else. Timeouts are the caller's job.
"""

from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from client.download.errors import ServerFailedError
from client.server_connection import StorageServerConnection
from client.storage_broker import StorageBroker

OVERRUN_KEY = b"tolerates-immutable-read-overrun"


class BucketReaderLike(Protocol):
    """One immutable share on one server."""

    def read(self, offset: int, length: int) -> Awaitable[bytes]:
        """Return up to ``length`` bytes of share data from ``offset``."""

    def advise_corrupt_share(self, reason: bytes) -> Awaitable[None]:
        """Tell the server this share failed a check, and why."""


class StorageServerLike(Protocol):
    """A storage server, as the downloader uses it."""

    @property
    def name(self) -> str:
        """A short name for logs and error messages (never a secret)."""

    @property
    def tolerates_read_overrun(self) -> bool:
        """Whether reads may ask for bytes past the end of a share."""

    def get_buckets(self, storage_index: bytes) -> Awaitable[Mapping[int, BucketReaderLike]]:
        """Return a reader for every complete share held for ``storage_index``."""


class RemoteBucketReader:
    """A Foolscap reference to an ``RIBucketReader``, as a :class:`BucketReaderLike`."""

    def __init__(self, reference: Any) -> None:
        """Wrap ``reference``."""
        self._reference = reference

    async def read(self, offset: int, length: int) -> bytes:
        """Call ``read``; anything but bytes raises ServerFailedError."""
        data = await self._reference.callRemote("read", offset, length)
        if not isinstance(data, bytes):
            raise ServerFailedError(f"read answered with {type(data).__name__}, not bytes")
        return data

    async def advise_corrupt_share(self, reason: bytes) -> None:
        """Call ``advise_corrupt_share``."""
        await self._reference.callRemote("advise_corrupt_share", reason)


class ConnectionStorageServer:
    """A broker's :class:`StorageServerConnection`, as a :class:`StorageServerLike`."""

    def __init__(self, connection: StorageServerConnection) -> None:
        """Wrap ``connection``."""
        self._connection = connection

    @property
    def name(self) -> str:
        """The server's short name."""
        return self._connection.description.short_name

    @property
    def tolerates_read_overrun(self) -> bool:
        """What the server's version dict says (False when it says nothing)."""
        return self._connection.storage_version.get(OVERRUN_KEY) is True

    async def get_buckets(self, storage_index: bytes) -> dict[int, BucketReaderLike]:
        """Call ``get_buckets``; a malformed answer raises ServerFailedError."""
        answer = await self._connection.call("get_buckets", storage_index)
        if not isinstance(answer, Mapping):
            raise ServerFailedError(f"get_buckets answered with {type(answer).__name__}")
        readers: dict[int, BucketReaderLike] = {}
        for shnum, reference in answer.items():
            if not isinstance(shnum, int) or isinstance(shnum, bool):
                raise ServerFailedError(f"get_buckets named share {shnum!r}")
            readers[shnum] = RemoteBucketReader(reference)
        return readers


def download_servers(broker: StorageBroker, storage_index: bytes) -> list[ConnectionStorageServer]:
    """The broker's connected servers in permuted order for ``storage_index``."""
    return [ConnectionStorageServer(server) for server in broker.permuted_servers(storage_index)]
