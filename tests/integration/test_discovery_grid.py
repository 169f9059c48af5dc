"""Server discovery through a restartable introducer, in one process over loopback Foolscap.

The grid is made the way a user makes one: ``grid create-introducer`` and
``grid create-node --introducer FURL`` write the node directories, and the
services ``grid run`` would start (:class:`IntroducerNodeService`,
:class:`StorageNodeService`) run them on the reactor thread. A client is an
:class:`IntroducerClient` subscribed to ``storage`` that feeds a
:class:`StorageBroker`, with its announcement cache in its node directory.

Nothing sleeps: the test thread waits for conditions, checked on the
reactor thread, with a generous deadline, and asserts no timings. The
storage nodes' introducer clients retry after the default 1 s (the node
offers no way to shorten it); the test clients scale their backoff down
through the jitter factor, the only knob IntroducerClient offers.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from foolscap.api import Tub
from twisted.internet import reactor
from twisted.internet.task import LoopingCall

from client.server_connection import APPLICATION_VERSION, STORAGE_V1
from client.storage_broker import StorageBroker
from grid import __version__
from grid.base32 import a2b
from grid.cli.main import main as grid_main
from grid.cli.run_node import load_config
from introducer.cache import AnnouncementCache, cache_path
from introducer.client import IntroducerClient
from introducer.node import IntroducerNodeService
from introducer.node_identity import load_node_identity
from introducer.registry import IntroducerRegistry
from storage_server.node import StorageNodeService
from tests.integration.reactor_thread import in_reactor
from tests.interop.tahoe_nodes import LOOPBACK, free_port

STORAGE_NODES = 5
PETNAME = "default"
TIMEOUT = 60.0
POLL_INTERVAL = 0.02
CLIENT_BACKOFF_SCALE = 0.1


class ConditionTimeoutError(AssertionError):
    """A condition the test waited for did not come true before the deadline."""


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Check ``condition`` on the reactor thread until it holds; fail after TIMEOUT."""

    def poll() -> Any:
        deadline = reactor.seconds() + TIMEOUT

        def check() -> None:
            if condition():
                loop.stop()
            elif reactor.seconds() > deadline:
                raise ConditionTimeoutError(f"no {what} within {TIMEOUT} s")

        loop = LoopingCall(check)
        return loop.start(POLL_INTERVAL, now=True)

    in_reactor(poll)


def run_grid_command(*argv: str) -> None:
    """Run a ``grid`` subcommand in this process, as its console script would."""
    assert grid_main(list(argv)) == 0, argv


def start_service(service_type: type[Any], node_dir: Path) -> Any:
    """Load a node directory as ``grid run`` does and start ``service_type`` on it."""
    config = load_config(node_dir)
    identity = load_node_identity(node_dir)

    def start() -> Any:
        service = service_type(node_dir, config, identity, reactor)
        service.startService()
        return service

    return in_reactor(start)


class DiscoveryGrid:
    """An introducer node and five storage nodes announcing to it, all in this process."""

    def __init__(self, base: Path) -> None:
        """Describe the grid's directories; :meth:`create` makes and starts it."""
        self.introducer_dir = base / "introducer"
        self.storage_dirs = [base / f"storage-{index}" for index in range(STORAGE_NODES)]
        self.introducer: IntroducerNodeService | None = None
        self.storage_nodes: list[StorageNodeService] = []
        self.furl = ""

    def create(self) -> None:
        """Create the introducer, start it, then create and start the storage nodes."""
        port = free_port()
        run_grid_command(
            "create-introducer",
            "--port",
            f"tcp:{port}:interface={LOOPBACK}",
            "--location",
            f"tcp:{LOOPBACK}:{port}",
            str(self.introducer_dir),
        )
        self.start_introducer()
        for index, node_dir in enumerate(self.storage_dirs):
            port = free_port()
            run_grid_command(
                "create-node",
                "--introducer",
                self.furl,
                "--port",
                f"tcp:{port}:interface={LOOPBACK}",
                "--location",
                f"tcp:{LOOPBACK}:{port}",
                "--nickname",
                f"storage-{index}",
                "--webport",
                "none",
                str(node_dir),
            )
            self.storage_nodes.append(start_service(StorageNodeService, node_dir))

    @property
    def server_ids(self) -> set[str]:
        """The storage nodes' server ids."""
        return {node.identity.node_id for node in self.storage_nodes}

    @property
    def registry(self) -> IntroducerRegistry:
        """The running introducer's registry."""
        assert self.introducer is not None, "the introducer is not running"
        assert self.introducer.registry is not None
        return self.introducer.registry

    def start_introducer(self) -> None:
        """Start an introducer node service on the introducer directory."""
        self.introducer = start_service(IntroducerNodeService, self.introducer_dir)
        assert self.introducer is not None
        assert self.introducer.furl is not None
        self.furl = self.introducer.furl

    def stop_introducer(self) -> None:
        """Stop the introducer service, closing its Tub and every connection to it."""
        introducer, self.introducer = self.introducer, None
        if introducer is not None:
            in_reactor(introducer.stopService)

    def announced_ids(self) -> set[str]:
        """The server ids of the storage announcements the introducer holds (reactor thread)."""
        return {announcement.server_id for announcement in self.registry.current("storage")}

    def subscription_count(self) -> int:
        """How many subscriptions the introducer holds (reactor thread)."""
        return len(self.registry.status().subscriptions)

    def publishers_connected(self) -> bool:
        """Whether every storage node's introducer client is connected (reactor thread)."""
        return all(
            client.connected for node in self.storage_nodes for client in node.introducer_clients
        )

    def stop(self) -> None:
        """Stop every node."""
        for node in self.storage_nodes:
            in_reactor(node.stopService)
        self.stop_introducer()


class DiscoveringClient:
    """A client node's discovery: an introducer client subscribed to storage, and a broker."""

    def __init__(self, node_dir: Path, introducer_furl: str) -> None:
        """Describe the client; :meth:`start` starts it."""
        self.node_dir = node_dir
        self.introducer_furl = introducer_furl
        self.tub: Any = None
        self.broker: StorageBroker | None = None
        self.introducer_client: IntroducerClient | None = None

    @property
    def cache(self) -> AnnouncementCache:
        """The client's announcement cache for the introducer."""
        return AnnouncementCache(cache_path(self.node_dir, PETNAME))

    def start(self) -> None:
        """Start a Tub, the broker and the introducer client (which first reads its cache)."""

        def start() -> None:
            self.tub = Tub()
            self.tub.startService()
            broker = StorageBroker(self.tub, reactor)
            introducer_client = IntroducerClient(
                PETNAME,
                self.introducer_furl,
                self.tub,
                reactor,
                self.cache,
                nickname="discovering-client",
                app_version=f"grid/{__version__}",
                on_announcement=broker.on_announcement,
                jitter=lambda: CLIENT_BACKOFF_SCALE,
            )
            introducer_client.subscribe_to("storage")
            broker.start()
            introducer_client.start()
            self.broker, self.introducer_client = broker, introducer_client

        in_reactor(start)

    def connected_ids(self) -> set[str]:
        """The server ids the broker is connected to (reactor thread)."""
        assert self.broker is not None
        return {server.server_id for server in self.broker.connected_servers()}

    def introducer_connected(self) -> bool:
        """Whether the introducer client is connected (reactor thread)."""
        return self.introducer_client is not None and self.introducer_client.connected

    def stop(self) -> None:
        """Stop the introducer client, the broker and the Tub."""
        if self.introducer_client is not None:
            in_reactor(self.introducer_client.stop)
        if self.broker is not None:
            in_reactor(self.broker.stop)
        if self.tub is not None:
            in_reactor(self.tub.stopService)
            self.tub = None


@pytest.fixture(scope="module")
def discovery_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiscoveryGrid]:
    """One introducer and five storage nodes for the module, stopped at its end."""
    grid = DiscoveryGrid(tmp_path_factory.mktemp("discovery-grid"))
    try:
        grid.create()
        yield grid
    finally:
        grid.stop()


@pytest.fixture
def grid(discovery_grid: DiscoveryGrid) -> DiscoveryGrid:
    """The module's grid with its introducer running and holding all five announcements."""
    if discovery_grid.introducer is None:
        discovery_grid.start_introducer()
    wait_until(
        lambda: discovery_grid.announced_ids() == discovery_grid.server_ids,
        "storage announcement from every storage node at the introducer",
    )
    return discovery_grid


@pytest.fixture
def start_client(grid: DiscoveryGrid) -> Iterator[Callable[[Path], DiscoveringClient]]:
    """Start discovering clients on the grid's introducer; stop them after the test."""
    clients: list[DiscoveringClient] = []

    def start(node_dir: Path) -> DiscoveringClient:
        client = DiscoveringClient(node_dir, grid.furl)
        clients.append(client)
        client.start()
        return client

    yield start
    for client in clients:
        client.stop()


def test_broker_connects_to_every_announced_server(
    grid: DiscoveryGrid, start_client: Callable[[Path], DiscoveringClient], tmp_path: Path
) -> None:
    """A subscribed client's broker connects to all five announced servers and caches them."""
    client = start_client(tmp_path / "client")
    wait_until(lambda: client.connected_ids() == grid.server_ids, "connection to all five")
    wait_until(lambda: grid.subscription_count() == 1, "single subscription at the introducer")
    assert client.broker is not None
    for node in grid.storage_nodes:
        server = client.broker.get_server(node.identity.node_id)
        assert server is not None
        assert server.description.furl == node.furl
        assert server.description.permutation_seed == a2b(
            (node.node_dir / "permutation-seed").read_text().strip()
        )
        assert server.version is not None
        assert STORAGE_V1 in server.version
        assert server.version[APPLICATION_VERSION] == f"grid/{__version__}".encode()
    cached = client.cache.load()
    assert {entry.server_id for entry in cached} == grid.server_ids
    assert {entry.service_name for entry in cached} == {"storage"}
    raw = yaml.safe_load(cache_path(client.node_dir, PETNAME).read_text())
    assert all(set(entry) == {"ann", "key_s"} for entry in raw)


def test_introducer_restart_keeps_and_restores_discovery(
    grid: DiscoveryGrid, start_client: Callable[[Path], DiscoveringClient], tmp_path: Path
) -> None:
    """Servers stay connected while the introducer is down; after a restart everyone is back."""
    client = start_client(tmp_path / "client")
    wait_until(lambda: client.connected_ids() == grid.server_ids, "connection to all five")
    wait_until(client.introducer_connected, "client connection to the introducer")
    assert client.broker is not None
    connected_since = {
        server.server_id: server.connected_since for server in client.broker.servers()
    }
    furl_before = grid.furl

    grid.stop_introducer()
    wait_until(lambda: not client.introducer_connected(), "loss of the client's introducer")
    wait_until(lambda: not grid.publishers_connected(), "loss of the storage nodes' introducer")
    assert in_reactor(client.connected_ids) == grid.server_ids
    versions = [in_reactor(server.call, "get_version") for server in client.broker.servers()]
    assert all(STORAGE_V1 in version for version in versions)
    assert {entry.server_id for entry in client.cache.load()} == grid.server_ids

    grid.start_introducer()
    assert grid.furl == furl_before
    wait_until(grid.publishers_connected, "storage nodes reconnected to the introducer")
    wait_until(client.introducer_connected, "client reconnected to the introducer")
    wait_until(lambda: grid.announced_ids() == grid.server_ids, "five announcements again")
    wait_until(lambda: grid.subscription_count() == 1, "the client's subscription again")
    assert len(grid.registry.current()) == STORAGE_NODES
    assert in_reactor(client.connected_ids) == grid.server_ids
    assert {
        server.server_id: server.connected_since for server in client.broker.servers()
    } == connected_since


def test_client_started_while_introducer_is_down_uses_its_cache(
    grid: DiscoveryGrid, start_client: Callable[[Path], DiscoveringClient], tmp_path: Path
) -> None:
    """A client restarted while the introducer is down reaches every server from its cache."""
    node_dir = tmp_path / "client"
    earlier = start_client(node_dir)
    wait_until(lambda: earlier.connected_ids() == grid.server_ids, "connection to all five")
    earlier.stop()
    grid.stop_introducer()

    restarted = start_client(node_dir)
    wait_until(lambda: restarted.connected_ids() == grid.server_ids, "connections from cache")
    assert restarted.introducer_client is not None
    assert not in_reactor(restarted.introducer_connected)

    grid.start_introducer()
    wait_until(restarted.introducer_connected, "client connection once the introducer is back")
    wait_until(lambda: grid.subscription_count() == 1, "the restarted client's subscription")
    assert in_reactor(restarted.connected_ids) == grid.server_ids
