"""What mutable-file code needs of a storage server, and the adapter for real connections.

Rules: mutable code sees a server only through :class:`MutableServer`
(declared here, beside its consumers). Slot calls take and return the
values of tahoe-formats.md §9.1: ``slot_readv`` answers ``{shnum: [bytes,
…]}``, one item per read range; ``slot_testv_and_readv_and_writev`` answers
``(tests passed, {shnum: [bytes, …]})``. :class:`ConnectionMutableServer`
puts a broker's Foolscap connection behind the Protocol and checks the shape
of every answer, raising :class:`~client.download.errors.ServerFailedError`
for anything else. Timeouts are the caller's job
(:func:`client.download.remote_calls.call_remote`).
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from client.download.errors import ServerFailedError
from client.server_connection import StorageServerConnection
from client.storage_broker import StorageBroker

MUTABLE_SHARE_TYPE = b"mutable"

ReadVector = Sequence[tuple[int, int]]
ReadData = Mapping[int, Sequence[bytes]]
TestVector = list[tuple[int, int, bytes, bytes]]
DataVector = list[tuple[int, bytes]]
TestAndWriteVectors = Mapping[int, tuple[TestVector, DataVector, int | None]]
SlotSecrets = tuple[bytes, bytes, bytes]


class MutableServer(Protocol):
    """A storage server, as mutable-file code uses it."""

    @property
    def server_id(self) -> str:
        """The announced server id (``v0-…``)."""

    @property
    def name(self) -> str:
        """A short name for logs and error messages (never a secret)."""

    @property
    def nodeid(self) -> bytes:
        """The server's 20-byte tub id: the lease seed and the write-enabler seed."""

    async def slot_readv(
        self, storage_index: bytes, shares: Sequence[int], read_vector: ReadVector
    ) -> ReadData:
        """Read the same ranges of the named shares (every share if none are named)."""

    async def slot_testv_and_readv_and_writev(
        self,
        storage_index: bytes,
        secrets: SlotSecrets,
        tw_vectors: TestAndWriteVectors,
        read_vector: ReadVector,
    ) -> tuple[bool, ReadData]:
        """Test, read and (if every test passed) write shares in one step."""

    async def advise_corrupt_share(self, storage_index: bytes, shnum: int, reason: bytes) -> None:
        """Tell the server one of its mutable shares failed a check, and why."""


def _read_data(answer: Any, what: str) -> ReadData:
    """Check that ``answer`` is ``{int: [bytes, …]}``; raise ServerFailedError if not."""
    if not isinstance(answer, Mapping):
        raise ServerFailedError(f"{what} answered with {type(answer).__name__}, not a dict")
    checked: dict[int, list[bytes]] = {}
    for shnum, items in answer.items():
        if not isinstance(shnum, int) or not isinstance(items, list | tuple):
            raise ServerFailedError(f"{what} answered with a malformed share entry")
        if not all(isinstance(item, bytes) for item in items):
            raise ServerFailedError(f"{what} answered with data that is not bytes")
        checked[shnum] = list(items)
    return checked


class ConnectionMutableServer:
    """A broker's connection to a storage server, as a :class:`MutableServer`."""

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
    def nodeid(self) -> bytes:
        """The server's tub id."""
        return self._connection.description.write_enabler_seed

    async def slot_readv(
        self, storage_index: bytes, shares: Sequence[int], read_vector: ReadVector
    ) -> ReadData:
        """Call ``slot_readv``."""
        answer = await self._connection.call(
            "slot_readv", storage_index, list(shares), list(read_vector)
        )
        return _read_data(answer, "slot_readv")

    async def slot_testv_and_readv_and_writev(
        self,
        storage_index: bytes,
        secrets: SlotSecrets,
        tw_vectors: TestAndWriteVectors,
        read_vector: ReadVector,
    ) -> tuple[bool, ReadData]:
        """Call ``slot_testv_and_readv_and_writev``."""
        answer = await self._connection.call(
            "slot_testv_and_readv_and_writev",
            storage_index,
            secrets,
            dict(tw_vectors),
            list(read_vector),
        )
        what = "slot_testv_and_readv_and_writev"
        if not isinstance(answer, tuple | list) or len(answer) != 2:
            raise ServerFailedError(f"{what} answered with something other than a pair")
        passed, read_data = answer
        if not isinstance(passed, bool):
            raise ServerFailedError(f"{what} answered with a test result that is not a bool")
        return passed, _read_data(read_data, what)

    async def advise_corrupt_share(self, storage_index: bytes, shnum: int, reason: bytes) -> None:
        """Call ``advise_corrupt_share`` for a mutable share."""
        await self._connection.call(
            "advise_corrupt_share", MUTABLE_SHARE_TYPE, storage_index, shnum, reason
        )


def mutable_servers(broker: StorageBroker, storage_index: bytes) -> list[MutableServer]:
    """The broker's connected servers in permuted order for ``storage_index``."""
    return [
        ConnectionMutableServer(connection) for connection in broker.permuted_servers(storage_index)
    ]
