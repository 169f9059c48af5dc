"""The introducer's core with fake subscribers and a fake clock, and its status renderers."""

import json
import logging
import random

import pytest
from hypothesis import given
from twisted.internet.task import Clock

from grid.base32 import b2a
from grid.crypto.ed25519 import NodeSigningKey
from introducer.announcements import (
    SignedAnnouncement,
    base_announcement_fields,
    sign_announcement,
    storage_announcement_fields,
)
from introducer.errors import AnnouncementError, SubscriptionError
from introducer.registry import IntroducerRegistry
from introducer.status import (
    AnnouncementStatus,
    IntroducerStatus,
    SubscriptionStatus,
    furl_location_hints,
    hint_host,
    status_html,
    status_json,
)
from tests.component.test_announcements import ANY_OBJECTS

START = 1_700_000_000.0
KEYS = [NodeSigningKey(bytes([index]) * 32) for index in range(4)]
TAHOE_INFO = {
    b"version": 0,
    b"nickname": "client-1",
    b"app-versions": [],
    b"my-version": "tahoe-lafs/1.20.0",
    b"oldest-supported": "1.0.0",
}


class RecordingSubscriber:
    """A subscriber that records every push it gets."""

    def __init__(self) -> None:
        """Start with no pushes."""
        self.pushes: list[list[SignedAnnouncement]] = []

    def announce(self, announcements: list[SignedAnnouncement]) -> None:
        """Record one push."""
        self.pushes.append(announcements)

    @property
    def received(self) -> list[SignedAnnouncement]:
        """Every announcement pushed, in order."""
        return [announcement for push in self.pushes for announcement in push]


class BrokenSubscriber:
    """A subscriber whose every push fails."""

    def announce(self, announcements: list[SignedAnnouncement]) -> None:
        """Fail."""
        raise RuntimeError("subscriber exploded")


def storage(key: int = 0, seqnum: int = 1, host: str = "127.0.0.1") -> SignedAnnouncement:
    """A storage announcement from ``KEYS[key]``."""
    fields = storage_announcement_fields(
        nickname=f"server-{key}",
        furl=f"pb://{'a' * 32}@tcp:{host}:4000{key},tcp:{host}.example:4000{key}/{'s' * 32}",
        permutation_seed_b32=b2a(bytes([key]) * 32),
        seqnum=seqnum,
        nonce=b2a(bytes([seqnum % 256]) * 32),
        app_version="tahoe-lafs/1.20.0",
    )
    return sign_announcement(fields, KEYS[key])


def helper(key: int = 0, seqnum: int = 1) -> SignedAnnouncement:
    """An announcement of another service, with no FURL."""
    fields = base_announcement_fields(
        service_name="helper", nickname=f"h{key}", seqnum=seqnum, nonce="n", app_version="grid/0"
    )
    return sign_announcement(fields, KEYS[key])


@pytest.fixture
def clock() -> Clock:
    """A fake clock at a fixed start time."""
    fake = Clock()
    fake.advance(START)
    return fake


@pytest.fixture
def registry(clock: Clock) -> IntroducerRegistry:
    """An empty registry on the fake clock."""
    return IntroducerRegistry(clock.seconds)


def test_publish_pushes_to_subscribers_of_that_service_only(registry: IntroducerRegistry) -> None:
    """An accepted announcement reaches the subscribers of its service and nobody else."""
    storage_client, helper_client = RecordingSubscriber(), RecordingSubscriber()
    registry.subscribe(storage_client, "storage", TAHOE_INFO)
    registry.subscribe(helper_client, "helper", {})
    announcement = storage()
    assert registry.publish(list(announcement.to_wire())) == announcement
    assert storage_client.pushes == [[announcement]]
    assert helper_client.pushes == []


def test_subscribe_pushes_current_announcements_then_new_ones(registry: IntroducerRegistry) -> None:
    """A new subscriber first gets all current announcements of its service, then each new one."""
    first, second = storage(0), storage(1)
    registry.publish(first.to_wire())
    registry.publish(second.to_wire())
    registry.publish(helper(2).to_wire())
    subscriber = RecordingSubscriber()
    registry.subscribe(subscriber, "storage", TAHOE_INFO)
    assert len(subscriber.pushes) == 1
    assert set(subscriber.pushes[0]) == {first, second}
    newer = storage(0, seqnum=2)
    registry.publish(newer.to_wire())
    assert subscriber.pushes[1:] == [[newer]]


def test_subscribing_with_nothing_to_tell_pushes_nothing(registry: IntroducerRegistry) -> None:
    """A subscriber to a service with no announcements gets no empty push."""
    subscriber = RecordingSubscriber()
    registry.subscribe(subscriber, "storage", TAHOE_INFO)
    assert subscriber.pushes == []


def test_repeated_subscription_is_ignored(registry: IntroducerRegistry) -> None:
    """Subscribing twice to one service neither pushes again nor counts twice."""
    registry.publish(storage().to_wire())
    subscriber = RecordingSubscriber()
    registry.subscribe(subscriber, "storage", TAHOE_INFO)
    registry.subscribe(subscriber, "storage", TAHOE_INFO)
    assert len(subscriber.pushes) == 1
    assert len(registry.status().subscriptions) == 1


def test_ignored_announcements_are_not_pushed(registry: IntroducerRegistry) -> None:
    """A repeat or an older seqnum returns None and reaches no subscriber."""
    subscriber = RecordingSubscriber()
    registry.subscribe(subscriber, "storage", TAHOE_INFO)
    registry.publish(storage(seqnum=5).to_wire())
    assert registry.publish(storage(seqnum=5).to_wire()) is None
    assert registry.publish(storage(seqnum=4).to_wire()) is None
    assert [item.seqnum for item in subscriber.received] == [5]


def test_unsubscribe_stops_pushes(registry: IntroducerRegistry) -> None:
    """After unsubscribing (from every service), a subscriber hears nothing more."""
    subscriber = RecordingSubscriber()
    registry.subscribe(subscriber, "storage", TAHOE_INFO)
    registry.subscribe(subscriber, "helper", TAHOE_INFO)
    registry.unsubscribe(subscriber)
    registry.unsubscribe(RecordingSubscriber())
    registry.publish(storage().to_wire())
    registry.publish(helper().to_wire())
    assert subscriber.pushes == []
    assert registry.status().subscriptions == ()


def test_failing_subscriber_does_not_break_others(
    registry: IntroducerRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber that raises is logged; the others still get the push and it is stored."""
    before, after = RecordingSubscriber(), RecordingSubscriber()
    registry.subscribe(before, "storage", TAHOE_INFO)
    registry.subscribe(BrokenSubscriber(), "storage", TAHOE_INFO)
    registry.subscribe(after, "storage", TAHOE_INFO)
    announcement = storage()
    with caplog.at_level(logging.ERROR, logger="introducer.registry"):
        assert registry.publish(announcement.to_wire()) == announcement
    assert before.received == after.received == [announcement]
    assert "introducer.push.failed" in caplog.text
    registry.subscribe(BrokenSubscriber(), "storage", TAHOE_INFO)
    assert registry.current("storage") == [announcement]


def test_subscriber_may_unsubscribe_while_being_told(registry: IntroducerRegistry) -> None:
    """A subscriber that unsubscribes during a push does not disturb the push to the others."""

    class Leaving(RecordingSubscriber):
        def announce(self, announcements: list[SignedAnnouncement]) -> None:
            super().announce(announcements)
            registry.unsubscribe(self)

    leaving, staying = Leaving(), RecordingSubscriber()
    registry.subscribe(leaving, "storage", {})
    registry.subscribe(staying, "storage", {})
    registry.publish(storage(seqnum=1).to_wire())
    registry.publish(storage(seqnum=2).to_wire())
    assert [item.seqnum for item in leaving.received] == [1]
    assert [item.seqnum for item in staying.received] == [1, 2]


@given(wire=ANY_OBJECTS)
def test_garbage_publish_raises_only_announcement_error_and_stores_nothing(wire: object) -> None:
    """Publishing garbage raises AnnouncementError, pushes nothing, and changes nothing."""
    registry = IntroducerRegistry(lambda: START)
    subscriber = RecordingSubscriber()
    registry.subscribe(subscriber, "storage", {})
    with pytest.raises(AnnouncementError):
        registry.publish(wire)
    assert subscriber.pushes == []
    assert registry.status().announcements == ()


def test_rejected_announcement_leaves_registry_serving(registry: IntroducerRegistry) -> None:
    """After a forged announcement is refused, a good one is still accepted and pushed."""
    message, signature, _ = storage(0).to_wire()
    _, _, other_key = storage(1).to_wire()
    subscriber = RecordingSubscriber()
    registry.subscribe(subscriber, "storage", {})
    with pytest.raises(AnnouncementError):
        registry.publish((message, signature, other_key))
    assert registry.publish(storage(1).to_wire()) is not None
    assert [item.server_id for item in subscriber.received] == [KEYS[1].verifying_key.to_id()]


def test_flood_from_one_key_keeps_only_the_newest(registry: IntroducerRegistry) -> None:
    """Ten thousand announcements from one key, in any order, leave only the highest seqnum."""
    seqnums = list(range(10_000))
    random.Random(4).shuffle(seqnums)
    for seqnum in seqnums:
        registry.publish(storage(seqnum=seqnum).to_wire())
    assert [(item.seqnum, item.server_id) for item in registry.current()] == [
        (9_999, KEYS[0].verifying_key.to_id())
    ]
    late = RecordingSubscriber()
    registry.subscribe(late, "storage", {})
    assert [[item.seqnum for item in push] for push in late.pushes] == [[9_999]]


@pytest.mark.parametrize("service_name", ["", b"storage", None, 5])
def test_subscription_must_name_a_service(
    registry: IntroducerRegistry, service_name: object
) -> None:
    """A subscription whose service name is not non-empty text raises SubscriptionError."""
    with pytest.raises(SubscriptionError):
        registry.subscribe(RecordingSubscriber(), service_name, {})  # type: ignore[arg-type]
    with pytest.raises(SubscriptionError):
        registry.subscribe(RecordingSubscriber(), "storage", [])  # type: ignore[arg-type]


def test_status_records_who_and_when(registry: IntroducerRegistry, clock: Clock) -> None:
    """Status shows each subscription's info and time, and each announcement's details and time."""
    registry.subscribe(RecordingSubscriber(), "storage", TAHOE_INFO, peer="tubid1")
    registry.subscribe(RecordingSubscriber(), "storage", {"nickname": b"\xffodd", "my-version": 3})
    clock.advance(10)
    announcement = storage(1, seqnum=3)
    registry.publish(announcement.to_wire())
    clock.advance(10)
    registry.publish(storage(1, seqnum=4).to_wire())
    status = registry.status()
    assert status.subscriptions == (
        SubscriptionStatus("storage", "client-1", "tahoe-lafs/1.20.0", START, "tubid1"),
        SubscriptionStatus("storage", "\ufffdodd", "", START, ""),
    )
    assert status.announcements == (
        AnnouncementStatus(
            service_name="storage",
            server_id=announcement.server_id,
            nickname="server-1",
            version="tahoe-lafs/1.20.0",
            seqnum=4,
            when=START + 20,
            furl=announcement.fields["anonymous-storage-FURL"],
        ),
    )


def test_status_json_has_tahoes_shape(registry: IntroducerRegistry) -> None:
    """The JSON counts subscriptions, announcements and distinct hosts per service."""
    registry.subscribe(RecordingSubscriber(), "storage", TAHOE_INFO)
    registry.subscribe(RecordingSubscriber(), "storage", TAHOE_INFO)
    registry.subscribe(RecordingSubscriber(), "helper", TAHOE_INFO)
    registry.publish(storage(0, host="10.0.0.1").to_wire())
    registry.publish(storage(1, host="10.0.0.1").to_wire())
    registry.publish(storage(2, host="10.0.0.2").to_wire())
    registry.publish(helper(0).to_wire())
    registry.publish(helper(1).to_wire())
    document = status_json(registry.status(), START)
    assert document == {
        "subscription_summary": {"helper": 1, "storage": 2},
        "announcement_summary": {"helper": 2, "storage": 3},
        "announcement_distinct_hosts": {"helper": 2, "storage": 2},
    }
    assert json.loads(json.dumps(document)) == document


def test_empty_status_json() -> None:
    """An introducer with nothing to report gives three empty summaries."""
    assert status_json(IntroducerStatus((), ()), START) == {
        "subscription_summary": {},
        "announcement_summary": {},
        "announcement_distinct_hosts": {},
    }


@pytest.mark.parametrize(
    ("furl", "hints"),
    [
        ("pb://tub@tcp:a.example:1,tcp:[::1]:2/swiss", ("tcp:a.example:1", "tcp:[::1]:2")),
        ("pb://tub@a.example:1/swiss", ("a.example:1",)),
        ("pb://tub@/swiss", ()),
        ("pb://tub/swiss", ()),
        ("pb://tub@tcp:h:1", ()),
        ("http://tub@tcp:h:1/swiss", ()),
        (None, ()),
    ],
)
def test_furl_location_hints(furl: str | None, hints: tuple[str, ...]) -> None:
    """The hints between ``@`` and ``/`` of a pb FURL, or none for anything malformed."""
    assert furl_location_hints(furl) == hints


@pytest.mark.parametrize(
    ("hint", "host"),
    [
        ("tcp:a.example:1", "a.example"),
        ("tcp:[::1]:2", "[::1]"),
        ("a.example:3", "a.example"),
        ("tor:abc.onion:80", "abc.onion"),
        ("tcp:host:port", "host:port"),
        ("weird", "weird"),
    ],
)
def test_hint_host(hint: str, host: str) -> None:
    """A hint's host is what sits between its type and its port."""
    assert hint_host(hint) == host


def test_status_html_escapes_and_hides_swissnums(registry: IntroducerRegistry) -> None:
    """The page escapes peer-chosen text and shows connection hints but not FURL swissnums."""
    fields = storage_announcement_fields(
        nickname="<script>alert(1)</script>",
        furl="pb://tub@tcp:evil.example:1/secretswiss",
        permutation_seed_b32="aa",
        seqnum=1,
        nonce="n",
        app_version='grid/"1"',
    )
    registry.publish(sign_announcement(fields, KEYS[0]).to_wire())
    registry.subscribe(RecordingSubscriber(), "storage", {b"nickname": "<b>client</b>"})
    page = status_html(registry.status(), START + 3600, "v0-introducer<>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;client&lt;/b&gt;" in page
    assert "v0-introducer&lt;&gt;" in page
    assert "tcp:evil.example:1" in page
    assert "secretswiss" not in page
    assert KEYS[0].verifying_key.to_id() in page
    assert "(1h ago)" in page
    shown = status_html(registry.status(), START, "v0-x", furl_hidden=False)
    assert "pb://tub@tcp:evil.example:1/secretswiss" in shown


def test_status_html_survives_impossible_times() -> None:
    """Times outside the calendar are shown as unknown rather than failing the page."""
    status = IntroducerStatus(
        (SubscriptionStatus("storage", "n", "v", float("inf")),),
        (AnnouncementStatus("storage", "v0-x", "n", "v", 1, -1e300),),
    )
    page = status_html(status, START, "v0-me")
    assert page.count("unknown") == 2
