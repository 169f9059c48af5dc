"""Our introducer and Tahoe-LAFS 1.20 nodes, and Tahoe's introducer and our nodes, find each other.

Rules: (a) a Tahoe storage node made with ``tahoe create-node --introducer``
announces to our introducer (``grid create-introducer`` + ``grid run``),
whose status page then counts the announcement, and our own discovery
stack in this process (an :class:`IntroducerClient` subscribed to
``storage`` feeding a :class:`StorageBroker`, over the reactor thread of
the integration tests) connects to the Tahoe node by its Foolscap FURL,
ignoring the NURLs Tahoe also announces. (b) our storage nodes made with
``grid create-node --introducer`` announce to a Tahoe introducer; a Tahoe
client that joined that introducer reports them connected and stores and
reads a file on them. Grids are module-scoped: each is started once.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from foolscap.api import Tub
from twisted.internet import reactor

from client.server_connection import APPLICATION_VERSION, STORAGE_V1, StorageServerConnection
from client.storage_broker import StorageBroker
from grid import __version__
from grid.base32 import a2b
from grid.caps.parse import parse_cap
from introducer.cache import AnnouncementCache, cache_path
from introducer.client import IntroducerClient
from storage_server.layout import StorageLayout, parse_share_number
from tests.integration.reactor_thread import in_reactor
from tests.interop.client_settings import ClientSettings
from tests.interop.introducer_helpers import RunningIntroducer, start_introducer
from tests.interop.scenarios import sample_bytes
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import (
    NodeSupervisor,
    StorageServerInfo,
    start_storage_nodes,
    wait_for,
)
from tests.interop.web_api import fetch_json, fetch_text

pytestmark = [pytest.mark.interop, pytest.mark.slow]

CONNECT_TIMEOUT = 60.0
NEEDED, HAPPY, TOTAL = 1, 2, 2
FILE_SIZE = 100_000
NURLS_KEY = "anonymous-storage-NURLs"


@attrs.frozen
class BrokerOnOurIntroducer:
    """Our discovery stack in this process, joined to our introducer."""

    broker: StorageBroker
    introducer_client: IntroducerClient


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's directory for node directories."""
    return tmp_path_factory.mktemp("introducer-interop")


@pytest.fixture(scope="module")
def our_introducer(
    grid_program: Path, supervisor: NodeSupervisor, base_dir: Path
) -> RunningIntroducer:
    """Our introducer, run with ``grid run``, with its status page on a web port."""
    return start_introducer(supervisor, grid_program, base_dir / "grid-introducer", with_web=True)


@pytest.fixture(scope="module")
def tahoe_storage(
    tahoe_env: TahoeEnv,
    supervisor: NodeSupervisor,
    base_dir: Path,
    our_introducer: RunningIntroducer,
) -> StorageServerInfo:
    """A Tahoe 1.20 storage node told of our introducer by ``tahoe create-node --introducer``."""
    (server,) = start_storage_nodes(
        supervisor,
        tahoe_env.tahoe,
        base_dir,
        ["tahoe-storage"],
        introducer_furl=our_introducer.furl,
    )
    return server


@pytest.fixture(scope="module")
def our_broker(
    our_introducer: RunningIntroducer, tahoe_storage: StorageServerInfo, base_dir: Path
) -> Iterator[BrokerOnOurIntroducer]:
    """Our IntroducerClient subscribed to our introducer, feeding our StorageBroker."""
    cache = AnnouncementCache(cache_path(base_dir / "in-process-client", "default"))
    tub: Any = None

    def start() -> BrokerOnOurIntroducer:
        nonlocal tub
        tub = Tub()
        tub.startService()
        broker = StorageBroker(tub, reactor)
        introducer_client = IntroducerClient(
            "default",
            our_introducer.furl,
            tub,
            reactor,
            cache,
            nickname="in-process-client",
            app_version=f"grid/{__version__}",
            on_announcement=broker.on_announcement,
        )
        introducer_client.subscribe_to("storage")
        broker.start()
        introducer_client.start()
        return BrokerOnOurIntroducer(broker, introducer_client)

    started: BrokerOnOurIntroducer = in_reactor(start)
    try:
        yield started
    finally:
        in_reactor(started.introducer_client.stop)
        in_reactor(started.broker.stop)
        in_reactor(tub.stopService)


def test_our_introducer_lists_the_tahoe_storage_announcement(
    our_introducer: RunningIntroducer, tahoe_storage: StorageServerInfo
) -> None:
    """Our status page counts the Tahoe node's storage announcement and its subscription."""
    assert our_introducer.web_url is not None
    web_url = our_introducer.web_url

    def announced_and_subscribed() -> bool:
        status = fetch_json(web_url)
        return bool(
            status["announcement_summary"] == {"storage": 1}
            and status["subscription_summary"].get("storage", 0) >= 1
        )

    wait_for(
        announced_and_subscribed,
        what="the Tahoe node's announcement and subscription at our introducer",
        node=our_introducer.node,
    )
    assert fetch_json(web_url)["announcement_distinct_hosts"] == {"storage": 1}
    page = fetch_text(web_url)
    assert tahoe_storage.server_id in page
    assert "tahoe-lafs/1.20.0" in page
    assert tahoe_storage.nickname in page


def test_our_broker_connects_to_the_tahoe_storage_node(
    our_broker: BrokerOnOurIntroducer, tahoe_storage: StorageServerInfo
) -> None:
    """Our broker learns the Tahoe node from our introducer, connects by FURL, calls get_version."""
    in_reactor(
        lambda: our_broker.broker.when_connected_enough(1).addTimeout(CONNECT_TIMEOUT, reactor)
    )
    (server,) = in_reactor(our_broker.broker.connected_servers)
    assert isinstance(server, StorageServerConnection)
    description = server.description
    assert server.server_id == tahoe_storage.server_id
    assert description.nickname == tahoe_storage.nickname
    assert description.furl == tahoe_storage.furl
    assert description.permutation_seed == a2b(tahoe_storage.permutation_seed_b32)
    assert description.announcement[NURLS_KEY], "Tahoe 1.20 announces storage NURLs too"
    assert description.announcement["my-version"].startswith("tahoe-lafs/1.20")
    version = in_reactor(server.call, "get_version")
    assert STORAGE_V1 in version
    assert version[APPLICATION_VERSION].startswith(b"tahoe-lafs/1.20")
    assert in_reactor(server.call, "get_buckets", b"\x01" * 16) == {}


@pytest.fixture(scope="module")
def tahoe_introducer(
    tahoe_env: TahoeEnv, supervisor: NodeSupervisor, base_dir: Path
) -> RunningIntroducer:
    """A Tahoe 1.20 introducer, run with ``tahoe run``."""
    return start_introducer(
        supervisor, tahoe_env.tahoe, base_dir / "tahoe-introducer", with_web=False
    )


@pytest.fixture(scope="module")
def our_storage(
    grid_program: Path,
    supervisor: NodeSupervisor,
    base_dir: Path,
    tahoe_introducer: RunningIntroducer,
) -> list[StorageServerInfo]:
    """Our storage nodes, told of the Tahoe introducer by ``grid create-node --introducer``."""
    nicknames = [f"grid-storage-{index}" for index in range(TOTAL)]
    return start_storage_nodes(
        supervisor, grid_program, base_dir, nicknames, introducer_furl=tahoe_introducer.furl
    )


@pytest.fixture(scope="module")
def tahoe_client(
    tahoe_env: TahoeEnv,
    supervisor: NodeSupervisor,
    base_dir: Path,
    tahoe_introducer: RunningIntroducer,
    our_storage: list[StorageServerInfo],
) -> TahoeClient:
    """A Tahoe client joined to the Tahoe introducer, connected to our announced servers."""
    return start_tahoe_client(
        supervisor,
        tahoe_env,
        base_dir / "tahoe-client",
        ClientSettings(NEEDED, HAPPY, TOTAL),
        introducer_furl=tahoe_introducer.furl,
        server_ids=[server.server_id for server in our_storage],
    )


def test_tahoe_client_shows_our_announced_servers_connected(
    tahoe_client: TahoeClient, our_storage: list[StorageServerInfo]
) -> None:
    """The Tahoe client's welcome page lists exactly our servers, connected, as announced."""
    document = fetch_json(tahoe_client.web_url)
    servers = {server["nodeid"]: server for server in document["servers"]}
    assert set(servers) == {server.server_id for server in our_storage}
    for info in our_storage:
        shown = servers[info.server_id]
        assert shown["connection_status"].startswith("Connected"), shown
        assert shown["nickname"] == info.nickname
        assert shown["version"] == f"grid/{__version__}"


def test_tahoe_put_and_get_use_our_announced_servers(
    tahoe_client: TahoeClient, our_storage: list[StorageServerInfo], base_dir: Path, tmp_path: Path
) -> None:
    """``tahoe put`` leaves one share on each of our servers; ``tahoe get`` reads it back."""
    contents = sample_bytes(FILE_SIZE, seed=7)
    source = tmp_path / "file.in"
    source.write_bytes(contents)
    cap = tahoe_client.cli.put(source)
    assert cap.startswith("URI:CHK:"), cap
    storage_index = parse_cap(cap).storage_index
    assert storage_index is not None
    share_numbers = []
    for info in our_storage:
        bucket = StorageLayout(base_dir / info.nickname / "storage").bucket_dir(storage_index)
        names = sorted(path.name for path in bucket.iterdir())
        assert len(names) == 1, (info.nickname, names)
        share_number = parse_share_number(names[0])
        assert share_number is not None, (info.nickname, names)
        share_numbers.append(share_number)
    assert sorted(share_numbers) == list(range(TOTAL))
    assert tahoe_client.cli.get(cap, tmp_path / "file.out") == contents
