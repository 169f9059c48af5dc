"""An in-process grid: ten real storage servers on loopback Foolscap and a client broker.

Rules: every server is a real :class:`StorageServer` behind
:class:`FoolscapStorageServer` on a Tub of its own (its own certificate, so
its own tub id) listening on 127.0.0.1, over its own storage directory. A
stopped server restarts with the same certificate, port and reference name,
so its FURL and server id stay the same and the broker reconnects to it.
Each server's free space is a plain attribute the test may set. The client
side is one Tub and one :class:`StorageBroker` holding every server as a
static server; :meth:`InProcessGrid.substitute_broker` makes a second broker
in which some server ids lead to other references (hostile servers) instead.
Everything that touches Twisted runs on the reactor thread via
:func:`in_reactor`.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from foolscap.api import Referenceable, Tub
from twisted.internet import reactor
from twisted.internet.task import deferLater

from client.download import download_chk, download_servers
from client.storage_broker import StorageBroker
from client.upload import (
    BytesSource,
    ThreadPoolRunner,
    UploadParameters,
    UploadResult,
    UploadTuning,
    broker_upload_servers,
    upload_chk,
)
from grid.base32 import a2b, b2a
from grid.caps import CHKReadCap
from storage_server.foolscap_adapter import FoolscapStorageServer
from storage_server.layout import StorageLayout
from storage_server.server import StorageServer
from tests.integration.reactor_thread import in_reactor
from tests.interop.tahoe_nodes import LOOPBACK, free_port

CONNECT_TIMEOUT = 30.0
POLL_INTERVAL = 0.01
REFERENCE_NAME = "storage-server"
CONVERGENCE_SECRET = b"in-process grid convergence"
LEASE_SECRET = b"L" * 32
PARAMS = UploadParameters(needed=3, happy=7, total=10)


def server_id(index: int) -> str:
    """The static server id of server ``index`` (it decides the permutation)."""
    return "v0-" + b2a(bytes([index + 1]) * 32)


@attrs.define
class GridServer:
    """One storage server of the grid, and what it takes to restart it unchanged."""

    index: int
    storage_dir: Path
    certificate: bytes
    port: int
    free_space: int | None = None
    server: StorageServer | None = None
    adapter: FoolscapStorageServer | None = None
    tub: Any = None
    furl: str = ""

    @property
    def layout(self) -> StorageLayout:
        """Where this server keeps things on disk."""
        return StorageLayout(self.storage_dir)

    def serve(self) -> None:
        """Start (or restart) serving on the same certificate, port and name (reactor thread)."""
        tub = Tub(certData=self.certificate)
        tub.listenOn(f"tcp:{self.port}:interface={LOOPBACK}")
        tub.setLocation(f"tcp:{LOOPBACK}:{self.port}")
        tub.startService()
        self.server = StorageServer(
            self.storage_dir,
            a2b(tub.getTubID()),
            clock=reactor.seconds,
            free_space=lambda _path: self.free_space,
        )
        self.server.start()
        self.adapter = FoolscapStorageServer(self.server)
        self.furl = tub.registerReference(self.adapter, name=REFERENCE_NAME)
        self.tub = tub

    def serving(self) -> FoolscapStorageServer:
        """The Foolscap face of the server now running."""
        if self.adapter is None:
            raise LookupError(f"server {self.index} was never started")
        return self.adapter

    def share_paths(self, storage_index: bytes) -> dict[int, Path]:
        """The complete share files this server holds for ``storage_index``."""
        bucket = self.layout.bucket_dir(storage_index)
        if not bucket.is_dir():
            return {}
        return {int(path.name): path for path in bucket.iterdir()}

    def advisories(self) -> list[Path]:
        """The corruption advisories this server has written."""
        directory = self.layout.corruption_advisories_dir
        return sorted(directory.iterdir()) if directory.is_dir() else []


def _runner() -> ThreadPoolRunner:
    return ThreadPoolRunner(reactor, reactor.getThreadPool())  # type: ignore[arg-type, attr-defined]


async def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    """Poll ``predicate`` on the reactor until it holds; TimeoutError after ``timeout``."""
    deadline = reactor.seconds() + timeout
    while not predicate():
        if reactor.seconds() > deadline:
            raise TimeoutError("the grid did not reach the expected state in time")
        await deferLater(reactor, POLL_INTERVAL, lambda: None)


@attrs.define
class InProcessGrid:
    """Ten (or ``count``) storage servers and a client broker connected to all of them."""

    servers: list[GridServer]
    client_tub: Any
    broker: StorageBroker
    hostile_tub: Any

    @classmethod
    def start(cls, root: Path, count: int = 10) -> "InProcessGrid":
        """Start every server and the client, and wait until the broker sees them all."""

        def start() -> InProcessGrid:
            servers = []
            for index in range(count):
                server = GridServer(index, root / f"server-{index}", Tub().getCertData(), 0)
                server.port = free_port()
                server.serve()
                servers.append(server)
            client_tub = Tub()
            client_tub.startService()
            hostile_tub = Tub()
            port = free_port()
            hostile_tub.listenOn(f"tcp:{port}:interface={LOOPBACK}")
            hostile_tub.setLocation(f"tcp:{LOOPBACK}:{port}")
            hostile_tub.startService()
            grid = cls(servers, client_tub, StorageBroker(client_tub, reactor), hostile_tub)
            grid.broker.add_static_servers(grid.static_servers({}))
            grid.broker.start()
            return grid

        grid: InProcessGrid = in_reactor(start)
        grid.wait_connected(grid.broker, count)
        return grid

    def close(self) -> None:
        """Stop the broker and every Tub."""
        in_reactor(self.broker.stop)
        for server in self.servers:
            if server.tub is not None:
                in_reactor(server.tub.stopService)
        in_reactor(self.client_tub.stopService)
        in_reactor(self.hostile_tub.stopService)

    def static_servers(self, furls: Mapping[int, str]) -> dict[str, dict[str, Any]]:
        """Static-server entries for every server, with ``furls`` overriding some."""
        return {
            server_id(server.index): {
                "ann": {
                    "anonymous-storage-FURL": furls.get(server.index, server.furl),
                    "nickname": f"server-{server.index}",
                }
            }
            for server in self.servers
        }

    def wait_connected(self, broker: StorageBroker, count: int) -> None:
        """Wait until ``broker`` has exactly ``count`` connected servers."""
        in_reactor(_wait_until, lambda: len(broker.connected_servers()) == count, CONNECT_TIMEOUT)

    def stop_servers(self, indexes: Iterable[int]) -> None:
        """Stop the Tubs of these servers and wait until the broker has noticed."""
        for index in indexes:
            in_reactor(self.servers[index].tub.stopService)
            self.servers[index].tub = None
        running = sum(server.tub is not None for server in self.servers)
        self.wait_connected(self.broker, running)

    def restart_stopped(self) -> None:
        """Serve every stopped server again and wait until the broker is reconnected."""
        for server in self.servers:
            if server.tub is None:
                in_reactor(server.serve)
        for connection in self.broker.servers():
            in_reactor(connection.retry_now)
        self.wait_connected(self.broker, len(self.servers))

    @contextmanager
    def substitute_broker(
        self, replacements: Mapping[int, Referenceable]
    ) -> Iterator[StorageBroker]:
        """A second broker where servers ``replacements`` names are other references."""

        def start() -> StorageBroker:
            furls = {
                index: self.hostile_tub.registerReference(reference)
                for index, reference in replacements.items()
            }
            broker = StorageBroker(self.client_tub, reactor)
            broker.add_static_servers(self.static_servers(furls))
            broker.start()
            return broker

        broker: StorageBroker = in_reactor(start)
        try:
            self.wait_connected(broker, len(self.servers))
            yield broker
        finally:
            in_reactor(broker.stop)

    def permuted_indexes(self, storage_index: bytes) -> list[int]:
        """Server indexes in the broker's order of preference for ``storage_index``."""
        by_id = {server_id(server.index): server.index for server in self.servers}
        return [by_id[c.server_id] for c in self.broker.permuted_servers(storage_index)]

    def upload(
        self,
        data: bytes,
        params: UploadParameters = PARAMS,
        broker: StorageBroker | None = None,
        tuning: UploadTuning | None = None,
    ) -> UploadResult:
        """Upload ``data`` convergently through ``broker`` (the grid's own by default)."""
        chosen = broker or self.broker

        def start() -> Any:
            return upload_chk(
                BytesSource(data),
                broker_servers=broker_upload_servers(chosen),
                convergence_secret=CONVERGENCE_SECRET,
                random_key=lambda: b"k" * 16,
                params=params,
                lease_secret=LEASE_SECRET,
                clock=reactor,
                runner=_runner(),
                tuning=tuning or UploadTuning(),
            )

        result: UploadResult = in_reactor(start)
        return result

    def download(
        self, cap: CHKReadCap, broker: StorageBroker | None = None, **options: Any
    ) -> bytes:
        """Download ``cap`` through ``broker``'s connected servers; return what was delivered."""
        chosen = broker or self.broker
        chunks: list[bytes] = []

        async def fetch() -> None:
            servers = download_servers(chosen, cap.storage_index)
            await download_chk(cap, servers, clock=reactor, consumer=chunks.append, **options)

        in_reactor(fetch)
        return b"".join(chunks)

    def settle(self, index: int) -> None:
        """Wait until server ``index`` has handled every call the broker sent it before."""
        connection = self.broker.get_server(server_id(index))
        if connection is None:
            raise LookupError(f"no server {index}")
        in_reactor(connection.call, "get_version")
