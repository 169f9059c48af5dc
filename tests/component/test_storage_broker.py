import hashlib
from typing import Any

import pytest
from foolscap.api import DeadReferenceError, RemoteException, Violation
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import Clock

from client.errors import ServerAnnouncementError, ServerNotConnectedError
from client.server_connection import DEFAULT_VERSION, STORAGE_V1, StorageServerConnection
from client.server_description import describe_storage_server
from client.storage_broker import StorageBroker
from grid.base32 import a2b, b2a
from grid.crypto.ed25519 import NodeSigningKey
from grid.errors import ConfigError
from grid.hashing import permute_server_hash
from introducer.announcements import sign_announcement, storage_announcement_fields
from introducer.cache import CachedAnnouncement
from tests.component.foolscap_fakes import FakeRemoteReference, FakeTub

VECTOR_SEED_B32 = "u33m4y7klhz3bypswqkozwetvabelhxt"  # tahoe-vectors §1
VECTOR_HASH_B32 = "kb4354zeeurpo3ze5e275wzbynm6hlap"
VERSION = {
    STORAGE_V1: {
        b"maximum-immutable-share-size": 10**12,
        b"maximum-mutable-share-size": 69105 * 10**15,
        b"available-space": 5 * 10**9,
        b"tolerates-immutable-read-overrun": True,
        b"delete-mutable-shares-with-zero-length-writev": True,
        b"fills-holes-with-zero-bytes": True,
        b"prevents-read-past-end-of-share-data": True,
    },
    b"application-version": b"tahoe-lafs/1.20.0",
}


def server_id(number: int) -> str:
    """A v0- server id."""
    return "v0-" + b2a(bytes([number]) * 32)


def furl(number: int, port: int = 3457) -> str:
    """A storage FURL whose tub id is ``number`` repeated."""
    return f"pb://{b2a(bytes([number]) * 20)}@tcp:127.0.0.1:{port}/{'s' * 32}"


def fields(number: int, port: int = 3457, seed: str | None = None, **extra: Any) -> dict[str, Any]:
    """Storage announcement fields for server ``number`` (with a permutation seed if given)."""
    announced = {
        "service-name": "storage",
        "nickname": f"server-{number}",
        "anonymous-storage-FURL": furl(number, port),
        "seqnum": 1,
        **extra,
    }
    if seed is not None:
        announced["permutation-seed-base32"] = seed
    return announced


def announce(number: int, **extra: Any) -> CachedAnnouncement:
    """A storage announcement (unsigned: the broker takes any announcement)."""
    return CachedAnnouncement(server_id(number), fields(number, **extra))


class Harness:
    """A broker over a fake Tub and a Clock."""

    def __init__(self, preferred: tuple[str, ...] = ()) -> None:
        """Build an unstarted broker."""
        self.clock = Clock()
        self.tub = FakeTub()
        self.broker = StorageBroker(self.tub, self.clock, preferred=preferred)

    def connect(self, number: int, port: int = 3457) -> FakeRemoteReference:
        """Connect server ``number`` and answer its get_version."""
        reference = self.tub.connect(furl(number, port))
        reference.answer("get_version", VERSION)
        return reference

    def server(self, number: int) -> StorageServerConnection:
        """The broker's connection for server ``number``."""
        connection = self.broker.get_server(server_id(number))
        assert connection is not None
        return connection


@pytest.fixture
def harness() -> Harness:
    """A started broker with no servers."""
    harness = Harness()
    harness.broker.start()
    return harness


# -- describing servers ---------------------------------------------------------------------


def test_description_from_an_announcement() -> None:
    """The description carries the id, nickname, FURL, tub id and announced seed."""
    description = describe_storage_server(server_id(1), fields(1, seed=VECTOR_SEED_B32))
    assert description.nickname == "server-1"
    assert description.furl == furl(1)
    assert description.tubid == bytes([1]) * 20
    assert description.lease_seed == description.write_enabler_seed == bytes([1]) * 20
    assert description.permutation_seed == a2b(VECTOR_SEED_B32)
    assert description.short_name == server_id(1)[3:11]


def test_seed_falls_back_to_the_server_key() -> None:
    """Without a permutation seed, a v0- pubkey id gives the pubkey as the seed."""
    description = describe_storage_server(server_id(2), fields(2))
    assert description.permutation_seed == bytes([2]) * 32


@pytest.mark.parametrize("odd_id", ["static-server-1", "v0-" + "A" * 52, "v0-short"])
def test_seed_falls_back_to_a_hash_of_the_id(odd_id: str) -> None:
    """An id that is not a decodable v0- pubkey gives SHA-256 of the id as the seed."""
    description = describe_storage_server(odd_id, fields(3))
    assert description.permutation_seed == hashlib.sha256(odd_id.encode()).digest()


@pytest.mark.parametrize(
    "bad",
    [
        {"anonymous-storage-FURL": None},
        {"anonymous-storage-FURL": "http://example.net/"},
        {"anonymous-storage-FURL": "pb://tooshort@tcp:x:1/swiss"},
        {"anonymous-storage-FURL": "pb://" + "1" * 32 + "@tcp:x:1/swiss"},
        {"permutation-seed-base32": "not base32!"},
        {"permutation-seed-base32": ""},
        {"permutation-seed-base32": 12},
    ],
)
def test_unusable_announcements_are_refused(bad: dict[str, Any]) -> None:
    """A missing or malformed FURL or seed raises ServerAnnouncementError."""
    announced = {key: value for key, value in {**fields(1), **bad}.items() if value is not None}
    with pytest.raises(ServerAnnouncementError):
        describe_storage_server(server_id(1), announced)


def test_an_empty_server_id_is_refused() -> None:
    """A server needs an id."""
    with pytest.raises(ServerAnnouncementError):
        describe_storage_server("", fields(1))


def test_a_nickname_that_is_not_text_is_empty() -> None:
    """A nickname of the wrong type counts as no nickname."""
    assert describe_storage_server(server_id(1), fields(1, nickname=[1])).nickname == ""


# -- adding and replacing -------------------------------------------------------------------


def test_an_announcement_adds_a_server_and_connects(harness: Harness) -> None:
    """A storage announcement adds a server, which starts connecting to its FURL."""
    harness.broker.on_announcement(announce(1))
    assert [server.server_id for server in harness.broker.servers()] == [server_id(1)]
    assert harness.tub.requests_for(furl(1)) == 1
    assert harness.broker.connected_servers() == []
    harness.connect(1)
    assert harness.broker.connected_servers() == [harness.server(1)]


def test_a_signed_announcement_is_accepted(harness: Harness) -> None:
    """The broker takes the signed announcements the introducer client delivers."""
    key = NodeSigningKey(bytes([9]) * 32)
    signed = sign_announcement(
        storage_announcement_fields(
            nickname="n",
            furl=furl(9),
            permutation_seed_b32=VECTOR_SEED_B32,
            seqnum=1,
            nonce="",
            app_version="grid/0.1.0",
        ),
        key,
    )
    harness.broker.on_announcement(signed)
    assert harness.broker.get_server(signed.server_id) is not None


def test_other_services_and_bad_announcements_are_ignored(harness: Harness) -> None:
    """Non-storage announcements and undescribable ones add nothing."""
    harness.broker.on_announcement(CachedAnnouncement(server_id(1), {"service-name": "helper"}))
    harness.broker.on_announcement(
        CachedAnnouncement(server_id(2), {"service-name": "storage", "nickname": "no furl"})
    )
    assert harness.broker.servers() == []


def test_an_identical_announcement_changes_nothing(harness: Harness) -> None:
    """Re-announcing the same fields keeps the connection object and makes no new request."""
    harness.broker.on_announcement(announce(1))
    connection = harness.server(1)
    harness.broker.on_announcement(announce(1))
    assert harness.server(1) is connection
    assert harness.tub.requests_for(furl(1)) == 1


def test_new_fields_with_the_same_furl_update_in_place(harness: Harness) -> None:
    """A new nickname (same FURL) updates the description without reconnecting."""
    harness.broker.on_announcement(announce(1))
    harness.connect(1)
    connection = harness.server(1)
    harness.broker.on_announcement(announce(1, nickname="renamed", seqnum=2))
    assert harness.server(1) is connection
    assert connection.description.nickname == "renamed"
    assert connection.is_connected
    assert harness.tub.requests_for(furl(1)) == 1


def test_a_new_furl_replaces_the_connection(harness: Harness) -> None:
    """A changed FURL stops the old connection and connects to the new FURL."""
    harness.broker.on_announcement(announce(1))
    old_reference = harness.connect(1)
    old = harness.server(1)
    harness.broker.on_announcement(CachedAnnouncement(server_id(1), fields(1, port=4000)))
    new = harness.server(1)
    assert new is not old
    assert not old.is_connected
    assert old_reference.watchers == {}
    assert harness.tub.requests_for(furl(1, 4000)) == 1
    assert harness.broker.connected_servers() == []
    harness.connect(1, 4000)
    assert harness.broker.connected_servers() == [new]


def test_static_servers_override_announcements(harness: Harness) -> None:
    """A static server replaces an announced one, and later announcements are ignored."""
    harness.broker.on_announcement(announce(1))
    harness.broker.add_static_servers({server_id(1): {"ann": fields(1, port=5000)}})
    assert harness.server(1).description.furl == furl(1, 5000)
    harness.broker.on_announcement(announce(1, port=6000))
    assert harness.server(1).description.furl == furl(1, 5000)
    assert harness.tub.requests_for(furl(1, 6000)) == 0


def test_a_bad_static_server_is_a_config_error(harness: Harness) -> None:
    """A static server without a usable FURL raises ConfigError naming it."""
    with pytest.raises(ConfigError, match="static-1"):
        harness.broker.add_static_servers({"static-1": {"ann": {"nickname": "x"}}})
    with pytest.raises(ConfigError, match="static-2"):
        harness.broker.add_static_servers({"static-2": {"no-ann": {}}})


def test_servers_added_before_start_connect_at_start() -> None:
    """A broker connects to nothing until started, then to everything it knows."""
    harness = Harness()
    harness.broker.add_static_servers({server_id(1): {"ann": fields(1)}})
    harness.broker.on_announcement(announce(2))
    assert harness.tub.requests == []
    harness.broker.start()
    assert harness.tub.requests_for(furl(1)) == harness.tub.requests_for(furl(2)) == 1


# -- permuted order -------------------------------------------------------------------------


def test_permuted_order_known_answer() -> None:
    """Servers sort by SHA1(storage index + seed): a fixed set in a known order."""
    harness = Harness()
    harness.broker.start()
    seeds = {1: VECTOR_SEED_B32, 2: b2a(bytes(20)), 3: b2a(b"\x01" * 32), 4: b2a(b"\xff" * 32)}
    for number, seed in seeds.items():
        harness.broker.on_announcement(announce(number, seed=seed))
        harness.connect(number)
    assert b2a(permute_server_hash(b"SI", a2b(VECTOR_SEED_B32))) == VECTOR_HASH_B32
    by_number = {server_id(number): number for number in seeds}
    for storage_index, expected in [(b"SI", [1, 4, 3, 2]), (bytes(16), [1, 3, 4, 2])]:
        order = harness.broker.permuted_servers(storage_index)
        assert [by_number[server.server_id] for server in order] == expected


@given(st.binary(min_size=16, max_size=16), st.sets(st.integers(1, 40), min_size=1, max_size=8))
def test_permuted_order_is_sorted_by_sha1(storage_index: bytes, numbers: set[int]) -> None:
    """For any storage index, the order is ascending SHA1(SI + permutation seed)."""
    harness = Harness()
    harness.broker.start()
    for number in numbers:
        harness.broker.on_announcement(announce(number))
        harness.connect(number)
    keys = [
        hashlib.sha1(storage_index + server.description.permutation_seed).digest()  # noqa: S324  the permutation is plain SHA-1 by definition
        for server in harness.broker.permuted_servers(storage_index)
    ]
    assert keys == sorted(keys)
    assert len(keys) == len(numbers)


def test_preferred_servers_come_first() -> None:
    """Preferred servers lead the order, each group in permuted order."""
    harness = Harness(preferred=(server_id(3), server_id(7)))
    harness.broker.start()
    for number in range(1, 9):
        harness.broker.on_announcement(announce(number))
        harness.connect(number)
    order = [server.server_id for server in harness.broker.permuted_servers(b"x" * 16)]
    assert set(order[:2]) == {server_id(3), server_id(7)}
    rest = [harness.broker.get_server(sid) for sid in order[2:]]
    keys = [permute_server_hash(b"x" * 16, s.description.permutation_seed) for s in rest if s]
    assert keys == sorted(keys)


def test_only_connected_servers_are_permuted(harness: Harness) -> None:
    """Unconnected and disconnected servers are left out of the order."""
    for number in (1, 2, 3):
        harness.broker.on_announcement(announce(number))
    harness.connect(1)
    lost = harness.connect(2)
    lost.disconnect()
    assert [server.server_id for server in harness.broker.permuted_servers(b"s" * 16)] == [
        server_id(1)
    ]


# -- connection state -----------------------------------------------------------------------


def test_connection_times_are_recorded(harness: Harness) -> None:
    """Connecting, losing and calling update connected_since, last_loss_at, last_response_at."""
    harness.broker.on_announcement(announce(1))
    server = harness.server(1)
    assert server.status().summary == "connecting"
    harness.clock.advance(10)
    reference = harness.tub.connect(furl(1))
    assert not server.is_connected
    assert server.status().summary == "connected; asking for its version"
    harness.clock.advance(2)
    reference.answer("get_version", VERSION)
    assert server.is_connected
    assert server.connected_since == 12
    assert server.status().connected
    harness.clock.advance(5)
    reference.disconnect()
    assert not server.is_connected
    assert server.last_loss_at == 17
    assert server.status().summary == "connection lost; reconnecting"
    assert server.status().since == 17
    harness.clock.advance(1)
    harness.tub.fail(furl(1))
    assert server.status().summary == "failed to connect: refused"


def test_calls_record_the_last_response(harness: Harness) -> None:
    """A successful call() returns the answer and records when it came."""
    harness.broker.on_announcement(announce(1))
    reference = harness.connect(1)
    server = harness.server(1)
    harness.clock.advance(30)
    result = ensureDeferred(server.call("get_buckets", b"s" * 16))
    reference.answer("get_buckets", {})
    assert result.result == {}
    assert server.last_response_at == 30


def test_calling_a_disconnected_server_fails(harness: Harness) -> None:
    """call() on a server that is not connected raises ServerNotConnectedError."""
    harness.broker.on_announcement(announce(1))
    errors: list[Any] = []
    ensureDeferred(harness.server(1).call("get_version")).addErrback(errors.append)
    assert errors[0].check(ServerNotConnectedError)


def test_version_and_available_space(harness: Harness) -> None:
    """The version dict is kept; available space comes from it."""
    harness.broker.on_announcement(announce(1))
    harness.connect(1)
    server = harness.server(1)
    assert server.version == VERSION
    assert server.available_space == 5 * 10**9
    assert server.storage_version[b"tolerates-immutable-read-overrun"] is True


def test_available_space_falls_back_to_maximum_share_size(harness: Harness) -> None:
    """Without available-space, the maximum immutable share size is reported."""
    harness.broker.on_announcement(announce(1))
    reference = harness.tub.connect(furl(1))
    reference.answer("get_version", {STORAGE_V1: {b"maximum-immutable-share-size": 77}})
    server = harness.server(1)
    assert server.available_space == 77
    assert server.storage_version[b"tolerates-immutable-read-overrun"] is False


@pytest.mark.parametrize("error", [Violation("no get_version"), RemoteException("old server")])
def test_get_version_refused_gives_old_defaults(harness: Harness, error: Exception) -> None:
    """A server that refuses get_version is connected with Tahoe's old default version."""
    harness.broker.on_announcement(announce(1))
    harness.tub.connect(furl(1)).refuse("get_version", error)
    server = harness.server(1)
    assert server.is_connected
    assert server.version == DEFAULT_VERSION
    assert server.available_space == 2**32 - 1
    assert server.storage_version[b"maximum-immutable-share-size"] == 2**32 - 1


def test_a_version_that_is_not_a_dict_gives_defaults(harness: Harness) -> None:
    """A nonsense version answer is replaced by the defaults."""
    harness.broker.on_announcement(announce(1))
    harness.tub.connect(furl(1)).answer("get_version", [1, 2])
    assert harness.server(1).version == DEFAULT_VERSION


def test_a_broken_connection_during_get_version_is_not_connected(harness: Harness) -> None:
    """If get_version fails because the connection died, the server stays unconnected."""
    harness.broker.on_announcement(announce(1))
    reference = harness.tub.connect(furl(1))
    reference.refuse("get_version", DeadReferenceError("gone"))
    assert not harness.server(1).is_connected
    assert harness.server(1).available_space is None


def test_a_late_version_after_loss_is_ignored(harness: Harness) -> None:
    """A get_version answer that arrives after its connection was lost is ignored."""
    harness.broker.on_announcement(announce(1))
    reference = harness.tub.connect(furl(1))
    reference.disconnect()
    reference.answer("get_version", VERSION)
    assert not harness.server(1).is_connected


def test_one_connection_hurries_the_others(harness: Harness) -> None:
    """When one server connects, servers waiting to reconnect try again at once."""
    for number in (1, 2):
        harness.broker.on_announcement(announce(number))
    for _ in range(4):
        harness.tub.fail(furl(2))
        harness.clock.advance(
            harness.clock.getDelayedCalls()[0].getTime() - harness.clock.seconds()
        )
    harness.tub.fail(furl(2))
    assert harness.tub.requests_for(furl(2)) == 5
    harness.connect(1)
    assert harness.tub.requests_for(furl(2)) == 6


def test_when_connected_enough_fires_at_the_threshold(harness: Harness) -> None:
    """The waiter fires, on a later turn, once enough servers are connected."""
    for number in (1, 2):
        harness.broker.on_announcement(announce(number))
    fired: list[object] = []
    waiter: Deferred[None] = harness.broker.when_connected_enough(2)
    waiter.addCallback(fired.append)
    harness.connect(1)
    harness.clock.advance(0)
    assert fired == []
    harness.connect(2)
    assert fired == []
    harness.clock.advance(0)
    assert fired == [None]
    already: list[object] = []
    harness.broker.when_connected_enough(1).addCallback(already.append)
    harness.clock.advance(0)
    assert already == [None]


def test_stop_disconnects_everything(harness: Harness) -> None:
    """After stop(), no server is connected and nothing is scheduled."""
    for number in (1, 2):
        harness.broker.on_announcement(announce(number))
    reference = harness.connect(1)
    harness.tub.fail(furl(2))
    harness.broker.stop()
    assert harness.broker.connected_servers() == []
    assert harness.clock.getDelayedCalls() == []
    assert reference.watchers == {}
    assert harness.server(1).status().summary == "not connecting"
