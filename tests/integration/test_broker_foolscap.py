import socket
from pathlib import Path
from typing import Any

from foolscap.api import Tub
from twisted.internet import reactor

from client.send_limit import STORAGE_SEND_LIMIT
from client.server_connection import STORAGE_V1
from client.storage_broker import StorageBroker
from grid.base32 import b2a
from grid.crypto.ed25519 import NodeSigningKey
from introducer.announcements import sign_announcement, storage_announcement_fields
from introducer.cache import AnnouncementCache
from introducer.client import IntroducerClient
from introducer.registry import IntroducerRegistry
from introducer.server_adapter import FoolscapIntroducerService
from tests.integration.foolscap_storage import FoolscapStorage
from tests.integration.reactor_thread import in_reactor

SERVER_ID = "v0-" + b2a(b"\x07" * 32)
CONNECT_TIMEOUT = 30


def test_broker_connects_to_a_real_storage_server(tmp_path: Path) -> None:
    """Over loopback Foolscap the broker connects, reads the version and makes calls."""
    storage = FoolscapStorage(tmp_path / "storage")
    storage.restart()
    client_tub: Any = None
    broker: StorageBroker | None = None
    try:

        def start() -> StorageBroker:
            nonlocal client_tub
            client_tub = Tub()
            client_tub.startService()
            started = StorageBroker(client_tub, reactor)
            announcement = {"anonymous-storage-FURL": storage.furl, "nickname": "real"}
            started.add_static_servers({SERVER_ID: {"ann": announcement}})
            started.start()
            return started

        broker = in_reactor(start)
        assert broker is not None
        in_reactor(lambda: broker.when_connected_enough(1).addTimeout(CONNECT_TIMEOUT, reactor))
        (server,) = broker.connected_servers()
        assert server.description.lease_seed == storage.nodeid
        assert server.description.permutation_seed == b"\x07" * 32
        assert server.storage_version[b"maximum-mutable-share-size"] == 69105 * 10**15
        assert server.available_space is not None
        version = in_reactor(server.call, "get_version")
        assert STORAGE_V1 in version
        assert server.last_response_at is not None
        assert in_reactor(server.call, "get_buckets", b"\x01" * 16) == {}
        transport = server.reference.tracker.broker.transport
        assert transport.SEND_LIMIT == STORAGE_SEND_LIMIT
    finally:
        if broker is not None:
            in_reactor(broker.stop)
        if client_tub is not None:
            in_reactor(client_tub.stopService)
        storage.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_discovery_through_a_real_introducer(tmp_path: Path) -> None:
    """A storage node publishes through a real introducer; a client's broker finds and connects."""
    storage = FoolscapStorage(tmp_path / "storage")
    storage.restart()
    key = NodeSigningKey(b"\x07" * 32)
    port = _free_port()
    tubs: list[Any] = []
    services: list[Any] = []

    def started_tub(listen: bool = False) -> Any:
        tub = Tub()
        if listen:
            tub.listenOn(f"tcp:{port}:interface=127.0.0.1")
            tub.setLocation(f"tcp:127.0.0.1:{port}")
        tub.startService()
        tubs.append(tub)
        return tub

    def start() -> tuple[StorageBroker, AnnouncementCache]:
        introducer_furl = started_tub(listen=True).registerReference(
            FoolscapIntroducerService(IntroducerRegistry(reactor.seconds))
        )
        announcement = sign_announcement(
            storage_announcement_fields(
                nickname="real",
                furl=storage.furl,
                permutation_seed_b32=b2a(key.verifying_key.key_bytes),
                seqnum=1,
                nonce=b2a(bytes(32)),
                app_version="grid/0.1.0",
            ),
            key,
        )
        publisher = IntroducerClient(
            "default",
            introducer_furl,
            started_tub(),
            reactor,
            AnnouncementCache(tmp_path / "server" / "cache.yaml"),
            nickname="storage",
            app_version="grid/0.1.0",
            on_announcement=lambda _announcement: None,
        )
        publisher.publish(announcement)
        broker = StorageBroker(started_tub(), reactor)
        client_cache = AnnouncementCache(tmp_path / "client" / "cache.yaml")
        subscriber = IntroducerClient(
            "default",
            introducer_furl,
            started_tub(),
            reactor,
            client_cache,
            nickname="client",
            app_version="grid/0.1.0",
            on_announcement=broker.on_announcement,
        )
        subscriber.subscribe_to("storage")
        services.extend([publisher, subscriber, broker])
        for service in services:
            service.start()
        return broker, client_cache

    try:
        broker, client_cache = in_reactor(start)
        in_reactor(lambda: broker.when_connected_enough(1).addTimeout(CONNECT_TIMEOUT, reactor))
        (server,) = broker.connected_servers()
        assert server.server_id == key.verifying_key.to_id()
        assert server.description.nickname == "real"
        assert server.description.lease_seed == storage.nodeid
        assert [entry.server_id for entry in client_cache.load()] == [server.server_id]
    finally:
        for service in services:
            in_reactor(service.stop)
        for tub in tubs:
            in_reactor(tub.stopService)
        storage.close()
