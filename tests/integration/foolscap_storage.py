"""A storage backend reached over real Foolscap on loopback, for the contract suite.

The server side is our :class:`FoolscapStorageServer` on a Tub listening on
127.0.0.1; the client side is a second Tub holding a RemoteReference to it.
Every call crosses a real TCP connection; every remote failure reaches the
test as :class:`RemoteFailure`.
"""

import socket
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from foolscap.api import Referenceable, Tub
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from grid.base32 import a2b
from storage_server.foolscap_adapter import FoolscapStorageServer
from storage_server.server import StorageServer
from tests.component.storage_backends import (
    DEFAULT_FREE_SPACE,
    START_TIME,
    BucketReaderAPI,
    BucketWriterAPI,
    RemoteFailure,
    TestAndWriteVectors,
)
from tests.integration.reactor_thread import in_reactor


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _remote(reference: Any, method: str, *args: Any) -> Any:
    """Call a remote method from the test thread; remote errors become RemoteFailure."""

    def call() -> Any:
        def as_remote_failure(failure: Failure) -> None:
            raise RemoteFailure(failure.getErrorMessage())

        return reference.callRemote(method, *args).addErrback(as_remote_failure)

    return in_reactor(call)


class RemoteBucketWriter:
    """A bucket writer reached over Foolscap."""

    def __init__(self, reference: Any) -> None:
        """Wrap a RemoteReference to an RIBucketWriter."""
        self._reference = reference

    def write(self, offset: int, data: bytes) -> None:
        """Call write remotely."""
        _remote(self._reference, "write", offset, data)

    def close(self) -> None:
        """Call close remotely."""
        _remote(self._reference, "close")

    def abort(self) -> None:
        """Call abort remotely."""
        _remote(self._reference, "abort")


class RemoteBucketReader:
    """A bucket reader reached over Foolscap."""

    def __init__(self, reference: Any) -> None:
        """Wrap a RemoteReference to an RIBucketReader."""
        self._reference = reference

    def read(self, offset: int, length: int) -> bytes:
        """Call read remotely."""
        data: bytes = _remote(self._reference, "read", offset, length)
        return data

    def advise_corrupt_share(self, reason: bytes) -> None:
        """Call advise_corrupt_share remotely."""
        _remote(self._reference, "advise_corrupt_share", reason)


class FoolscapStorage:
    """A real storage server behind a real Foolscap connection on loopback."""

    def __init__(self, storage_dir: Path) -> None:
        """Describe the backend; :meth:`restart` starts its first server."""
        self.storage_dir = storage_dir
        self.clock = Clock()
        self.clock.advance(START_TIME)
        self.free_space: int | None = DEFAULT_FREE_SPACE
        self.nodeid = b""
        self.furl = ""
        self._server_tub: Any = None
        self._client_tub: Any = None
        self._reference: Any = None
        self.canary = Referenceable()
        self._certificate: bytes | None = None

    def restart(self, *, readonly: bool = False, reserved_space: int = 0) -> None:
        """Stop any running server and serve a new one on the same directory."""
        self.close()
        if self._certificate is None:
            self._certificate = in_reactor(lambda: Tub().getCertData())
        certificate = self._certificate
        port = _free_port()

        def start() -> Any:
            server_tub = Tub(certData=certificate)
            server_tub.listenOn(f"tcp:{port}:interface=127.0.0.1")
            server_tub.setLocation(f"tcp:127.0.0.1:{port}")
            server_tub.startService()
            self.nodeid = a2b(server_tub.getTubID())
            server = StorageServer(
                self.storage_dir,
                self.nodeid,
                clock=self.clock.seconds,
                reserved_space=reserved_space,
                readonly=readonly,
                free_space=lambda _path: self.free_space,
            )
            server.start()
            self.furl = server_tub.registerReference(FoolscapStorageServer(server))
            self._server_tub = server_tub

        in_reactor(start)
        self.connect_client()

    def connect_client(self) -> None:
        """Connect a new client Tub to the server (after disconnect_client, say)."""

        def connect() -> Any:
            client_tub = Tub()
            client_tub.startService()
            self._client_tub = client_tub
            return client_tub.getReference(self.furl)

        self._reference = in_reactor(connect)

    def disconnect_client(self) -> None:
        """Stop the client Tub, dropping its connection as a vanished client would."""
        if self._client_tub is not None:
            in_reactor(self._client_tub.stopService)
            self._client_tub = None

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward."""
        self.clock.advance(seconds)

    def now(self) -> float:
        """The server's clock."""
        return self.clock.seconds()

    def set_free_space(self, free: int | None) -> None:
        """Set what the server's disk reports as free."""
        self.free_space = free

    def close(self) -> None:
        """Stop both Tubs (and so the connection)."""
        self.disconnect_client()
        if self._server_tub is not None:
            in_reactor(self._server_tub.stopService)
            self._server_tub = None

    def get_version(self) -> dict[bytes, Any]:
        """Call get_version remotely."""
        version: dict[bytes, Any] = _remote(self._reference, "get_version")
        return version

    def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Iterable[int],
        allocated_size: int,
        canary: object = None,
    ) -> tuple[set[int], dict[int, BucketWriterAPI]]:
        """Call allocate_buckets remotely, with this client's canary by default."""
        already, writers = _remote(
            self._reference,
            "allocate_buckets",
            storage_index,
            renew_secret,
            cancel_secret,
            set(sharenums),
            allocated_size,
            self.canary if canary is None else canary,
        )
        return set(already), {
            shnum: RemoteBucketWriter(writer) for shnum, writer in writers.items()
        }

    def add_lease(self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes) -> None:
        """Call add_lease remotely."""
        _remote(self._reference, "add_lease", storage_index, renew_secret, cancel_secret)

    def get_buckets(self, storage_index: bytes) -> dict[int, BucketReaderAPI]:
        """Call get_buckets remotely."""
        readers = _remote(self._reference, "get_buckets", storage_index)
        return {shnum: RemoteBucketReader(reader) for shnum, reader in readers.items()}

    def slot_readv(
        self, storage_index: bytes, shares: Sequence[int], readv: Sequence[tuple[int, int]]
    ) -> dict[int, list[bytes]]:
        """Call slot_readv remotely."""
        data: dict[int, list[bytes]] = _remote(
            self._reference, "slot_readv", storage_index, list(shares), list(readv)
        )
        return data

    def slot_testv_and_readv_and_writev(
        self,
        storage_index: bytes,
        secrets: tuple[bytes, bytes, bytes],
        tw_vectors: TestAndWriteVectors,
        read_vector: Sequence[tuple[int, int]],
    ) -> tuple[bool, dict[int, list[bytes]]]:
        """Call slot_testv_and_readv_and_writev remotely."""
        passed, data = _remote(
            self._reference,
            "slot_testv_and_readv_and_writev",
            storage_index,
            secrets,
            dict(tw_vectors),
            list(read_vector),
        )
        return bool(passed), data

    def advise_corrupt_share(
        self, share_type: bytes, storage_index: bytes, shnum: int, reason: bytes
    ) -> None:
        """Call advise_corrupt_share remotely."""
        _remote(self._reference, "advise_corrupt_share", share_type, storage_index, shnum, reason)
