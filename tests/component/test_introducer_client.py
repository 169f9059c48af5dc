import logging
from pathlib import Path
from typing import Any

import pytest
from foolscap.api import Violation
from twisted.internet.task import Clock

from grid.base32 import b2a
from grid.crypto.ed25519 import NodeSigningKey
from introducer.announcements import (
    SignedAnnouncement,
    base_announcement_fields,
    sign_announcement,
    storage_announcement_fields,
)
from introducer.cache import AnnouncementCache, CachedAnnouncement, cache_path
from introducer.client import IntroducerClient
from introducer.wire import INTRODUCER_PROTOCOL_V2
from tests.component.foolscap_fakes import FakeRemoteReference, FakeTub

INTRODUCER_FURL = "pb://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@tcp:127.0.0.1:4000/introducer"
V2_VERSION = {INTRODUCER_PROTOCOL_V2: {}, b"application-version": b"tahoe-lafs/1.20.0"}


def node_key(number: int) -> NodeSigningKey:
    """A deterministic node key."""
    return NodeSigningKey(bytes([number]) * 32)


def storage_announcement(number: int, seqnum: int = 1, nickname: str = "") -> SignedAnnouncement:
    """A signed storage announcement from node ``number``."""
    key = node_key(number)
    fields = storage_announcement_fields(
        nickname=nickname or f"server-{number}",
        furl=f"pb://{b2a(bytes([number]) * 20)}@tcp:127.0.0.1:{5000 + number}/storage",
        permutation_seed_b32=b2a(key.verifying_key.key_bytes),
        seqnum=seqnum,
        nonce=b2a(bytes(32)),
        app_version="grid/0.1.0",
    )
    return sign_announcement(fields, key)


def service_announcement(number: int, service_name: str) -> SignedAnnouncement:
    """A signed announcement of some other service."""
    fields = base_announcement_fields(
        service_name=service_name, nickname="x", seqnum=1, nonce="", app_version="grid/0.1.0"
    )
    return sign_announcement(fields, node_key(number))


class Harness:
    """An introducer client over a fake Tub, with a Clock and a real cache file."""

    def __init__(self, node_dir: Path) -> None:
        """Build an unstarted client whose cache lives in ``node_dir``."""
        self.clock = Clock()
        self.tub = FakeTub()
        self.cache = AnnouncementCache(cache_path(node_dir, "default"))
        self.delivered: list[Any] = []
        self.client = IntroducerClient(
            "default",
            INTRODUCER_FURL,
            self.tub,
            self.clock,
            self.cache,
            nickname="alice",
            app_version="grid/0.1.0",
            on_announcement=self.delivered.append,
        )

    def connect(self) -> FakeRemoteReference:
        """Connect the pending attempt and answer get_version as a v2 introducer."""
        introducer = self.tub.connect(INTRODUCER_FURL)
        introducer.answer("get_version", V2_VERSION)
        return introducer


def subscriber_of(introducer: FakeRemoteReference) -> Any:
    """The subscriber object the client handed to the introducer."""
    return introducer.calls_to("subscribe_v2")[0].args[0]


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    """A started client subscribed to storage, not yet connected."""
    harness = Harness(tmp_path)
    harness.client.subscribe_to("storage")
    harness.client.start()
    return harness


def test_publishes_and_subscribes_after_the_version_check(harness: Harness) -> None:
    """Once the introducer proves it speaks v2, the client publishes and subscribes."""
    announcement = storage_announcement(1)
    harness.client.publish(announcement)
    introducer = harness.tub.connect(INTRODUCER_FURL)
    assert [call.method for call in introducer.calls] == ["get_version"]
    assert not harness.client.connected
    introducer.answer("get_version", V2_VERSION)
    assert harness.client.connected
    (publish,) = introducer.calls_to("publish_v2")
    assert publish.args[0] == announcement.to_wire()
    (subscribe,) = introducer.calls_to("subscribe_v2")
    assert subscribe.args[1] == b"storage"
    assert subscribe.args[2] == {
        b"version": 0,
        b"nickname": "alice",
        b"app-versions": [],
        b"my-version": "grid/0.1.0",
        b"oldest-supported": "1.0.0",
    }


def test_republishes_and_resubscribes_on_every_reconnection(harness: Harness) -> None:
    """After a lost connection, the next one gets every publication and subscription again."""
    harness.client.publish(storage_announcement(1))
    harness.client.subscribe_to("helper")
    first = harness.connect()
    first.disconnect()
    assert not harness.client.connected
    harness.clock.advance(1.0)
    second = harness.connect()
    for introducer in (first, second):
        assert len(introducer.calls_to("publish_v2")) == 1
        assert [call.args[1] for call in introducer.calls_to("subscribe_v2")] == [
            b"storage",
            b"helper",
        ]


def test_publish_while_connected_is_sent_at_once(harness: Harness) -> None:
    """Publishing when connected sends it now; a newer one for the service replaces it."""
    introducer = harness.connect()
    harness.client.publish(storage_announcement(1, seqnum=1))
    newer = storage_announcement(1, seqnum=2)
    harness.client.publish(newer)
    assert len(introducer.calls_to("publish_v2")) == 2
    introducer.disconnect()
    harness.clock.advance(1.0)
    again = harness.connect()
    assert [call.args[0] for call in again.calls_to("publish_v2")] == [newer.to_wire()]


def test_subscribing_twice_sends_once(harness: Harness) -> None:
    """A repeated subscribe_to is not sent again."""
    introducer = harness.connect()
    harness.client.subscribe_to("storage")
    assert len(introducer.calls_to("subscribe_v2")) == 1


def test_an_introducer_without_v2_is_not_used(harness: Harness) -> None:
    """An introducer whose version lacks the v2 key gets no publications and no subscriptions."""
    harness.client.publish(storage_announcement(1))
    introducer = harness.tub.connect(INTRODUCER_FURL)
    introducer.answer("get_version", {b"http://allmydata.org/tahoe/protocols/introducer/v1": {}})
    assert not harness.client.connected
    assert [call.method for call in introducer.calls] == ["get_version"]
    assert "v2" in harness.client.status().summary


def test_an_introducer_without_get_version_is_not_used(harness: Harness) -> None:
    """An introducer refusing get_version (a Violation) is treated as not v2."""
    introducer = harness.tub.connect(INTRODUCER_FURL)
    introducer.refuse("get_version", Violation("no such method"))
    assert not harness.client.connected
    assert introducer.calls_to("subscribe_v2") == []


def test_delivers_verified_announcements_and_caches_them(harness: Harness) -> None:
    """A good announcement reaches on_announcement and the cache file."""
    introducer = harness.connect()
    announcement = storage_announcement(1)
    subscriber_of(introducer).remote_announce_v2({announcement.to_wire()})
    assert harness.delivered == [announcement]
    cached = harness.cache.load()
    assert [(entry.server_id, dict(entry.fields)) for entry in cached] == [
        (announcement.server_id, announcement.as_dict())
    ]
    assert harness.client.last_received_at == harness.clock.seconds()


def test_skips_bad_announcements(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Garbage, forged and unsubscribed announcements are logged and skipped, never raised."""
    introducer = harness.connect()
    good = storage_announcement(1)
    message, signature, key = storage_announcement(2).to_wire()
    forged = (message.replace(b"server-2", b"server-X"), signature, key)
    unwanted = service_announcement(3, "helper").to_wire()
    with caplog.at_level(logging.INFO):
        subscriber_of(introducer).remote_announce_v2(
            [b"garbage", (1, 2, 3), forged, unwanted, good.to_wire()]
        )
    assert harness.delivered == [good]
    assert caplog.text.count("introducer.client.bad-announcement") == 3
    assert "introducer.client.unsubscribed-service" in caplog.text


def test_a_batch_that_is_not_a_collection_is_ignored(harness: Harness) -> None:
    """A non-iterable batch (or bytes) delivers nothing and raises nothing."""
    introducer = harness.connect()
    subscriber_of(introducer).remote_announce_v2(42)
    subscriber_of(introducer).remote_announce_v2(b"abc")
    assert harness.delivered == []


def test_repeats_are_dropped_and_newer_seqnums_delivered(harness: Harness) -> None:
    """An identical or older announcement is dropped; a higher seqnum is delivered."""
    introducer = harness.connect()
    subscriber = subscriber_of(introducer)
    first = storage_announcement(1, seqnum=5)
    subscriber.remote_announce_v2([first.to_wire()])
    subscriber.remote_announce_v2([first.to_wire(), storage_announcement(1, seqnum=4).to_wire()])
    newer = storage_announcement(1, seqnum=6, nickname="renamed")
    subscriber.remote_announce_v2([newer.to_wire()])
    assert harness.delivered == [first, newer]
    assert [entry.fields["nickname"] for entry in harness.cache.load()] == ["renamed"]


def test_a_failing_subscriber_does_not_lose_the_batch(tmp_path: Path) -> None:
    """If on_announcement raises for one announcement, the others are still delivered."""
    harness = Harness(tmp_path)
    seen: list[str] = []

    def picky(announcement: Any) -> None:
        seen.append(announcement.server_id)
        if len(seen) == 1:
            raise RuntimeError("bug")

    harness.client = IntroducerClient(
        "default",
        INTRODUCER_FURL,
        harness.tub,
        harness.clock,
        harness.cache,
        nickname="alice",
        app_version="grid/0.1.0",
        on_announcement=picky,
    )
    harness.client.subscribe_to("storage")
    harness.client.start()
    introducer = harness.connect()
    subscriber_of(introducer).remote_announce_v2(
        [storage_announcement(1).to_wire(), storage_announcement(2).to_wire()]
    )
    assert len(seen) == 2
    assert len(harness.cache.load()) == 2


def test_cached_announcements_are_delivered_at_start(tmp_path: Path) -> None:
    """At start the cached announcements reach on_announcement before any connection."""
    announcement = storage_announcement(1)
    writer = Harness(tmp_path)
    writer.cache.store([announcement])
    harness = Harness(tmp_path)
    harness.client.subscribe_to("storage")
    harness.client.start()
    assert harness.delivered == [CachedAnnouncement(announcement.server_id, announcement.as_dict())]
    assert harness.tub.requests_for(INTRODUCER_FURL) == 1


def test_cached_announcements_wait_for_their_subscription(tmp_path: Path) -> None:
    """Cached announcements of a service are delivered when it is subscribed, even after start."""
    writer = Harness(tmp_path)
    writer.cache.store([service_announcement(1, "helper"), storage_announcement(2)])
    harness = Harness(tmp_path)
    harness.client.start()
    assert harness.delivered == []
    harness.client.subscribe_to("helper")
    assert [announcement.service_name for announcement in harness.delivered] == ["helper"]


def test_a_corrupt_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    """A cache file that is not YAML delivers nothing and is replaced after the next news."""
    harness = Harness(tmp_path)
    harness.cache.path.parent.mkdir(parents=True)
    harness.cache.path.write_text("{{{ not yaml")
    harness.client.subscribe_to("storage")
    harness.client.start()
    assert harness.delivered == []
    introducer = harness.connect()
    subscriber_of(introducer).remote_announce_v2([storage_announcement(1).to_wire()])
    assert len(harness.cache.load()) == 1


def test_a_cache_write_failure_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """If the cache cannot be written, the announcement is still delivered."""
    harness = Harness(tmp_path)
    (tmp_path / "private").write_text("a file where the directory should be")
    harness.client.subscribe_to("storage")
    harness.client.start()
    introducer = harness.connect()
    with caplog.at_level(logging.WARNING):
        subscriber_of(introducer).remote_announce_v2([storage_announcement(1).to_wire()])
    assert len(harness.delivered) == 1
    assert "introducer.client.cache-write-failed" in caplog.text


def test_stop_disconnects_and_stops_reconnecting(harness: Harness) -> None:
    """After stop() the client is not connected and schedules nothing."""
    introducer = harness.connect()
    harness.client.stop()
    assert not harness.client.connected
    introducer.disconnect()
    assert harness.clock.getDelayedCalls() == []


def test_status_tells_the_story(harness: Harness) -> None:
    """The status summary says trying, connected (with host and time), then not connected."""
    assert harness.client.status().summary == "Trying to connect"
    harness.clock.advance(1_700_000_000)
    introducer = harness.connect()
    status = harness.client.status()
    assert status.connected
    assert status.summary.startswith("Connected to 127.0.0.1:3457 since 2023-11-14 22:13:20 UTC")
    assert status.since == 1_700_000_000
    introducer.disconnect()
    status = harness.client.status()
    assert not status.connected
    assert status.summary.startswith("Not connected (connection lost); retrying at")
    harness.clock.advance(1.0)
    harness.tub.fail(INTRODUCER_FURL)
    assert "failed: refused" in harness.client.status().summary


def test_announcements_lists_what_was_heard(harness: Harness) -> None:
    """announcements() gives the current verified announcements, by service."""
    introducer = harness.connect()
    announcement = storage_announcement(1)
    subscriber_of(introducer).remote_announce_v2([announcement.to_wire()])
    assert harness.client.announcements("storage") == [announcement]
    assert harness.client.announcements("helper") == []
