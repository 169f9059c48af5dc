"""Our introducer service over real Foolscap on loopback: publishers, subscribers, bad input.

The introducer is our :class:`FoolscapIntroducerService` on a Tub listening
on 127.0.0.1; publishers and subscribers are other Tubs in the same process,
each with its own connection. Nothing sleeps: a test waits on Deferreds
that fire when an announcement or an unsubscription arrives (with a
generous timeout so a bug fails instead of hanging).
"""

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from foolscap.api import DeadReferenceError, Referenceable, Tub
from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from grid.base32 import b2a
from grid.crypto.ed25519 import NodeSigningKey
from introducer.announcements import (
    SignedAnnouncement,
    parse_announcement,
    sign_announcement,
    storage_announcement_fields,
)
from introducer.registry import IntroducerRegistry, Subscriber
from introducer.server_adapter import FoolscapIntroducerService, RemoteSubscriber
from introducer.wire import INTRODUCER_PROTOCOL_V2, RIIntroducerSubscriberClient_v2
from tests.integration.reactor_thread import in_reactor

TIMEOUT = 30.0
START = 1_700_000_000.0
SERVER_KEY = NodeSigningKey(b"\x07" * 32)
TAHOE_INFO = {
    b"version": 0,
    b"nickname": "tahoe-like client",
    b"app-versions": [],
    b"my-version": "tahoe-lafs/1.20.0",
    b"oldest-supported": "1.0.0",
}


class RemoteCallFailedError(Exception):
    """A remote call answered with a failure (its message is the remote error's)."""


def storage_announcement(seqnum: int) -> SignedAnnouncement:
    """A storage server's announcement with the given seqnum."""
    fields = storage_announcement_fields(
        nickname="storage-1",
        furl=f"pb://{'a' * 32}@tcp:127.0.0.1:1/{'s' * 32}",
        permutation_seed_b32=b2a(b"p" * 32),
        seqnum=seqnum,
        nonce=b2a(bytes([seqnum]) * 32),
        app_version="grid/0.1.0",
    )
    return sign_announcement(fields, SERVER_KEY)


def _waiter() -> Deferred[Any]:
    """A Deferred that fails with a timeout instead of hanging the test."""
    waiting: Deferred[Any] = Deferred()
    waiting.addTimeout(TIMEOUT, reactor)
    return waiting


@implementer(RIIntroducerSubscriberClient_v2)
class RecordingSubscriber(Referenceable):  # type: ignore[misc]
    """A client's subscriber object: records (and checks) each announce_v2 it is sent."""

    def __init__(self) -> None:
        """Start with nothing received."""
        self.received: list[SignedAnnouncement] = []
        self.raw_sets: list[object] = []
        self._waiting: list[tuple[int, Deferred[Any]]] = []

    def remote_announce_v2(self, announcements: Any) -> None:
        """Record a push; wake whoever waits for this many announcements."""
        self.raw_sets.append(announcements)
        self.received.extend(parse_announcement(wire) for wire in announcements)
        ready = [item for item in self._waiting if len(self.received) >= item[0]]
        self._waiting = [item for item in self._waiting if item not in ready]
        for _, waiting in ready:
            waiting.callback(list(self.received))

    def wait_for(self, count: int) -> Deferred[Any]:
        """Fire with everything received once at least ``count`` announcements arrived."""
        if len(self.received) >= count:
            return succeed(list(self.received))
        waiting = _waiter()
        self._waiting.append((count, waiting))
        return waiting


class ObservedRegistry(IntroducerRegistry):
    """A registry that lets a test wait for the next unsubscription."""

    def __init__(self) -> None:
        """Use a fixed clock."""
        super().__init__(lambda: START)
        self.unsubscribed: Deferred[Any] = _waiter()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Unsubscribe, then wake the waiting test."""
        super().unsubscribe(subscriber)
        self.unsubscribed.callback(None)


def _free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class IntroducerOnLoopback:
    """An introducer Tub serving our adapter, and client Tubs connected to it."""

    def __init__(self) -> None:
        """Describe the introducer; :meth:`start` starts it."""
        self.registry = ObservedRegistry()
        self.furl = ""
        self.tubs: list[Any] = []

    def start(self) -> None:
        """Listen on loopback and register the introducer service."""
        port = _free_port()

        def start() -> None:
            tub = Tub()
            tub.listenOn(f"tcp:{port}:interface=127.0.0.1")
            tub.setLocation(f"tcp:127.0.0.1:{port}")
            tub.startService()
            self.tubs.append(tub)
            self.furl = tub.registerReference(FoolscapIntroducerService(self.registry))

        in_reactor(start)

    def connect(self) -> tuple[Any, Any]:
        """A new client Tub and its reference to the introducer."""

        def connect() -> Any:
            tub = Tub()
            tub.startService()
            self.tubs.append(tub)
            return tub.getReference(self.furl).addCallback(lambda reference: (tub, reference))

        tub_and_reference: tuple[Any, Any] = in_reactor(connect)
        return tub_and_reference

    def stop_tub(self, tub: Any) -> None:
        """Stop one Tub, dropping its connections."""
        self.tubs.remove(tub)
        in_reactor(tub.stopService)

    def close(self) -> None:
        """Stop every Tub."""
        for tub in list(self.tubs):
            self.stop_tub(tub)


def call(reference: Any, method: str, *args: Any) -> Any:
    """Call a remote method from the test thread; a remote failure raises RemoteCallFailedError."""

    def remote_call() -> Any:
        def failed(failure: Failure) -> None:
            raise RemoteCallFailedError(str(failure.value))

        return reference.callRemote(method, *args).addErrback(failed)

    return in_reactor(remote_call)


def subscribe(grid: IntroducerOnLoopback, service_name: object) -> RecordingSubscriber:
    """Connect a new client and subscribe a recording subscriber to ``service_name``."""
    _, reference = grid.connect()
    subscriber = RecordingSubscriber()
    call(reference, "subscribe_v2", subscriber, service_name, TAHOE_INFO)
    return subscriber


def received(subscriber: RecordingSubscriber, count: int) -> list[SignedAnnouncement]:
    """Wait until ``subscriber`` has ``count`` announcements; return them all."""
    announcements: list[SignedAnnouncement] = in_reactor(subscriber.wait_for, count)
    return announcements


@pytest.fixture
def grid() -> Iterator[IntroducerOnLoopback]:
    """A running introducer on loopback, stopped after the test."""
    introducer = IntroducerOnLoopback()
    introducer.start()
    yield introducer
    introducer.close()


def test_get_version_names_introducer_v2(grid: IntroducerOnLoopback) -> None:
    """get_version answers with the v2 protocol key Tahoe clients require, and our version."""
    _, reference = grid.connect()
    version = call(reference, "get_version")
    assert version[INTRODUCER_PROTOCOL_V2] == {}
    assert version[b"application-version"].startswith(b"grid/")


def test_subscribers_hear_what_another_tub_publishes(grid: IntroducerOnLoopback) -> None:
    """Announcements published by one Tub reach subscribers on others, old and new alike."""
    early = subscribe(grid, b"storage")
    publisher_tub, publisher = grid.connect()
    canary = Referenceable()
    first = storage_announcement(1)
    call(publisher, "publish_v2", first.to_wire(), canary)
    assert received(early, 1) == [first]
    assert isinstance(early.raw_sets[0], set | frozenset)
    assert early.raw_sets[0] == {first.to_wire()}

    late = subscribe(grid, "storage")
    assert received(late, 1) == [first]

    second = storage_announcement(2)
    call(publisher, "publish_v2", list(second.to_wire()), canary)
    assert received(early, 2)[1] == second
    assert received(late, 2)[1] == second
    grid.stop_tub(publisher_tub)
    assert grid.registry.current("storage") == [second]
    status = grid.registry.status()
    assert [item.nickname for item in status.subscriptions] == ["tahoe-like client"] * 2
    assert all(item.peer for item in status.subscriptions)


def test_bad_announcements_fail_remotely_and_service_keeps_serving(
    grid: IntroducerOnLoopback,
) -> None:
    """Garbage, forged and unsigned announcements get remote failures; good ones still flow."""
    subscriber = subscribe(grid, b"storage")
    _, publisher = grid.connect()
    canary = Referenceable()
    message, signature, _ = storage_announcement(1).to_wire()
    other_key = NodeSigningKey(b"\x08" * 32).verifying_key.to_id().encode()
    for bad in [
        (message, signature, other_key),
        (message, b"", b""),
        (b"junk", b"v0-junk", b"v0-junk"),
        5,
        {"not": "an announcement"},
    ]:
        with pytest.raises(RemoteCallFailedError, match="announcement"):
            call(publisher, "publish_v2", bad, canary)
    good = storage_announcement(3)
    call(publisher, "publish_v2", good.to_wire(), canary)
    assert received(subscriber, 1) == [good]
    assert grid.registry.current() == [good]


def test_subscription_with_undecodable_service_name_fails_remotely(
    grid: IntroducerOnLoopback,
) -> None:
    """A service name that is not UTF-8 gets a remote failure and records no subscription."""
    _, reference = grid.connect()
    with pytest.raises(RemoteCallFailedError, match="UTF-8"):
        call(reference, "subscribe_v2", RecordingSubscriber(), b"\xff", TAHOE_INFO)
    assert grid.registry.status().subscriptions == ()
    call(reference, "subscribe_v2", RecordingSubscriber(), b"storage", TAHOE_INFO)
    assert len(grid.registry.status().subscriptions) == 1


def test_lost_subscriber_is_unsubscribed(grid: IntroducerOnLoopback) -> None:
    """When a subscriber's connection drops, it is unsubscribed and publishing goes on."""
    subscriber_tub, reference = grid.connect()
    call(reference, "subscribe_v2", RecordingSubscriber(), b"storage", TAHOE_INFO)
    assert len(grid.registry.status().subscriptions) == 1
    grid.stop_tub(subscriber_tub)
    in_reactor(lambda: grid.registry.unsubscribed)
    assert grid.registry.status().subscriptions == ()
    _, publisher = grid.connect()
    call(publisher, "publish_v2", storage_announcement(1).to_wire(), Referenceable())
    assert len(grid.registry.current()) == 1


@implementer(RIIntroducerSubscriberClient_v2)
class FailingSubscriber(Referenceable):  # type: ignore[misc]
    """A client's subscriber object whose announce_v2 always fails."""

    def remote_announce_v2(self, announcements: Any) -> None:
        """Fail."""
        raise ValueError("this client is broken")


def test_failing_remote_subscriber_does_not_stop_others(grid: IntroducerOnLoopback) -> None:
    """A subscriber whose announce_v2 fails does not stop other subscribers hearing everything."""
    _, reference = grid.connect()
    call(reference, "subscribe_v2", FailingSubscriber(), b"storage", TAHOE_INFO)
    healthy = subscribe(grid, b"storage")
    _, publisher = grid.connect()
    for seqnum in (1, 2):
        call(publisher, "publish_v2", storage_announcement(seqnum).to_wire(), Referenceable())
    assert [item.seqnum for item in received(healthy, 2)] == [1, 2]
    late = subscribe(grid, b"storage")
    assert [item.seqnum for item in received(late, 1)] == [2]


class AnsweringReference:
    """A stand-in RemoteReference whose every call answers with one given failure."""

    def __init__(self, error: Exception) -> None:
        """Answer every call with ``error``."""
        self.error = error
        self.calls: list[tuple[str, object]] = []

    def callRemote(self, method: str, argument: object) -> Deferred[None]:  # noqa: N802  Foolscap's name
        """Record the call and fail it."""
        self.calls.append((method, argument))
        return fail(self.error)


@pytest.mark.parametrize(
    ("error", "level", "event"),
    [
        (DeadReferenceError("gone"), logging.INFO, "introducer.push.dead-subscriber"),
        (ValueError("broken"), logging.WARNING, "introducer.push.remote-failure"),
    ],
)
def test_failed_pushes_are_logged_and_dropped(
    error: Exception, level: int, event: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A push answered with a failure sends a set of wire tuples, is logged, and raises nothing."""
    reference = AnsweringReference(error)
    announcement = storage_announcement(1)
    with caplog.at_level(logging.INFO, logger="introducer.server_adapter"):
        RemoteSubscriber(reference).announce([announcement])
    assert reference.calls == [("announce_v2", {announcement.to_wire()})]
    assert [(record.levelno, record.getMessage().split()[0]) for record in caplog.records] == [
        (level, event)
    ]
