"""The client side of one introducer: publish this node's services, hear about others.

Rules: a :class:`~introducer.reconnect.Reconnector` keeps the connection to
the introducer's FURL. On each (re)connection the client first asks
``get_version`` and goes on only if the introducer speaks protocol v2; then
it re-sends every announcement it publishes (the latest one per service)
and every subscription, since an introducer forgets them with the
connection. Announcements the introducer sends are parsed and verified one
by one: a bad one, or one for a service not subscribed to, is logged and
skipped (nothing is raised back to the introducer). A verified one that the
:class:`~introducer.announcements.AnnouncementTable` accepts (new, or a
higher seqnum) goes to ``on_announcement`` and then into the cache, which
holds what the introducer has told us since start (as Tahoe's does). At
start the cached announcements of subscribed services are delivered first,
so the node reaches its servers while the introducer is down.
"""

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from foolscap.api import Referenceable, RemoteException, Violation
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from zope.interface import implementer

from introducer.announcements import (
    OLDEST_SUPPORTED,
    AnnouncementTable,
    SignedAnnouncement,
    parse_announcement,
)
from introducer.cache import Announcement, AnnouncementCache, CachedAnnouncement
from introducer.errors import AnnouncementError
from introducer.reconnect import Reconnector
from introducer.status import render_time
from introducer.wire import INTRODUCER_PROTOCOL_V2, RIIntroducerSubscriberClient_v2

_log = logging.getLogger(__name__)


@attrs.frozen
class IntroducerConnectionStatus:
    """A snapshot of the connection to one introducer, for status pages."""

    petname: str
    connected: bool
    summary: str
    since: float | None
    last_received_at: float | None


@implementer(RIIntroducerSubscriberClient_v2)
class _Subscriber(Referenceable):  # type: ignore[misc]
    """The Foolscap object the introducer sends announcements to."""

    def __init__(self, receive: Callable[[object], None]) -> None:
        self._receive = receive

    def remote_announce_v2(self, announcements: object) -> None:
        """Hand the announcements to the client; never fail back to the introducer."""
        self._receive(announcements)


class IntroducerClient:
    """Talks to one introducer: publishes, subscribes, and delivers what it hears."""

    def __init__(
        self,
        petname: str,
        furl: str,
        tub: Any,
        clock: IReactorTime,
        cache: AnnouncementCache,
        *,
        nickname: str,
        app_version: str,
        on_announcement: Callable[[Announcement], None],
        jitter: Callable[[], float] = lambda: 1.0,
    ) -> None:
        """Remember the introducer and whom to tell; :meth:`start` connects."""
        self.petname = petname
        self.furl = furl
        self._tub = tub
        self._clock = clock
        self._cache = cache
        self._nickname = nickname
        self._app_version = app_version
        self._on_announcement = on_announcement
        self._reconnector = Reconnector(
            self._get_reference,
            clock,
            on_connected=self._got_introducer,
            on_lost=self._lost,
            jitter=jitter,
        )
        self._subscriber = _Subscriber(self.receive_announcements)
        self._canary = Referenceable()
        self._published: dict[str, SignedAnnouncement] = {}
        self._subscriptions: dict[str, None] = {}
        self._table = AnnouncementTable()
        self._cached: list[CachedAnnouncement] = []
        self._publisher: Any = None
        self._started = False
        self._refusal: str | None = None
        self.connected_since: float | None = None
        self.last_received_at: float | None = None

    @property
    def connected(self) -> bool:
        """Whether a v2 introducer is connected now."""
        return self._publisher is not None

    def start(self) -> None:
        """Deliver the cached announcements, then connect (and keep reconnecting)."""
        if self._started:
            return
        self._started = True
        self._cached = self._cache.load()
        for announcement in self._cached:
            if announcement.service_name in self._subscriptions:
                self._deliver(announcement)
        self._reconnector.start()

    def stop(self) -> None:
        """Disconnect and stop reconnecting."""
        self._started = False
        self._reconnector.stop()
        self._publisher = None

    def publish(self, announcement: SignedAnnouncement) -> None:
        """Announce a service now (if connected) and after every reconnection."""
        self._published[announcement.service_name] = announcement
        if self._publisher is not None:
            self._send_publish(self._publisher, announcement)

    def subscribe_to(self, service_name: str) -> None:
        """Ask for a service's announcements now (if connected) and after every reconnection."""
        if service_name in self._subscriptions:
            return
        self._subscriptions[service_name] = None
        if self._started:
            for announcement in self._cached:
                if announcement.service_name == service_name:
                    self._deliver(announcement)
        if self._publisher is not None:
            self._send_subscribe(self._publisher, service_name)

    def announcements(self, service_name: str | None = None) -> list[SignedAnnouncement]:
        """The announcements heard from the introducer since start (of one service, or all)."""
        return self._table.current(service_name)

    def receive_announcements(self, announcements: object) -> None:
        """Check announcements the introducer sent; deliver and cache the new ones."""
        self.last_received_at = self._clock.seconds()
        if not isinstance(announcements, Iterable) or isinstance(announcements, bytes | str):
            _log.warning("introducer.client.bad-batch petname=%s", self.petname)
            return
        accepted: list[SignedAnnouncement] = []
        for wire in announcements:
            try:
                announcement = parse_announcement(wire)
            except AnnouncementError as error:
                _log.warning(
                    "introducer.client.bad-announcement petname=%s error=%s", self.petname, error
                )
                continue
            if announcement.service_name not in self._subscriptions:
                _log.info(
                    "introducer.client.unsubscribed-service petname=%s service=%.40s",
                    self.petname,
                    announcement.service_name,
                )
                continue
            if self._table.offer(announcement):
                accepted.append(announcement)
        for announcement in accepted:
            self._deliver(announcement)
        if accepted:
            self._store_cache()

    def status(self) -> IntroducerConnectionStatus:
        """Describe the connection for people."""
        return IntroducerConnectionStatus(
            petname=self.petname,
            connected=self.connected,
            summary=self._summary(),
            since=self.connected_since if self.connected else self._reconnector.last_lost,
            last_received_at=self.last_received_at,
        )

    def _summary(self) -> str:
        now = self._clock.seconds()
        reference = self._reconnector.reference
        state = self._reconnector.state
        if self._publisher is not None and self.connected_since is not None:
            since = render_time(self.connected_since, now)
            return f"Connected to {_peer(self._publisher)} since {since}"
        if reference is not None and self._refusal is not None:
            return f"Connected to {_peer(reference)}, but {self._refusal}"
        if state == "stopped":
            return "Not connecting"
        if state in {"connecting", "connected"}:
            return "Trying to connect"
        error = self._reconnector.last_error
        reason = "connection lost" if error is None else f"failed: {error.getErrorMessage()}"
        retry_at = self._reconnector.next_attempt_at
        when = "" if retry_at is None else f"; retrying at {render_time(retry_at, now)}"
        return f"Not connected ({reason}){when}"

    def _get_reference(self) -> "Deferred[Any]":
        reference: Deferred[Any] = self._tub.getReference(self.furl)
        return reference

    def _got_introducer(self, reference: Any) -> None:
        """Check the new connection's protocol version before using it."""
        self._refusal = None
        asked: Deferred[Any] = reference.callRemote("get_version")
        asked.addErrback(_no_version_if_unsupported)
        asked.addCallbacks(
            self._got_version,
            self._version_failed,
            callbackArgs=(reference,),
        )
        asked.addErrback(self._log_failure, "introducer.client.callback-failed")

    def _got_version(self, version: object, reference: Any) -> None:
        if reference is not self._reconnector.reference:
            return
        if not isinstance(version, Mapping) or INTRODUCER_PROTOCOL_V2 not in version:
            self._refusal = "it does not speak introducer protocol v2"
            _log.error("introducer.client.not-v2 petname=%s", self.petname)
            return
        self._publisher = reference
        self.connected_since = self._clock.seconds()
        _log.info("introducer.client.connected petname=%s", self.petname)
        for announcement in self._published.values():
            self._send_publish(reference, announcement)
        for service_name in self._subscriptions:
            self._send_subscribe(reference, service_name)

    def _version_failed(self, failure: Failure) -> None:
        """The connection broke while asking; the reconnector will notice and retry."""
        self._log_failure(failure, "introducer.client.version-failed")

    def _lost(self) -> None:
        if self._publisher is not None:
            _log.info("introducer.client.lost petname=%s", self.petname)
        self._publisher = None
        self._refusal = None

    def _send_publish(self, publisher: Any, announcement: SignedAnnouncement) -> None:
        sent: Deferred[Any] = publisher.callRemote(
            "publish_v2", announcement.to_wire(), self._canary
        )
        sent.addErrback(self._log_failure, "introducer.client.publish-failed")

    def _send_subscribe(self, publisher: Any, service_name: str) -> None:
        sent: Deferred[Any] = publisher.callRemote(
            "subscribe_v2",
            self._subscriber,
            service_name.encode("utf-8"),
            self._subscriber_info(),
        )
        sent.addErrback(self._log_failure, "introducer.client.subscribe-failed")

    def _subscriber_info(self) -> dict[bytes, Any]:
        """Who we are, as Tahoe's clients tell the introducer."""
        return {
            b"version": 0,
            b"nickname": self._nickname,
            b"app-versions": [],
            b"my-version": self._app_version,
            b"oldest-supported": OLDEST_SUPPORTED,
        }

    def _deliver(self, announcement: Announcement) -> None:
        """Tell the subscriber; a bug there must not cost the other announcements."""
        try:
            self._on_announcement(announcement)
        except Exception:  # noqa: BLE001  the subscriber's bug is logged, the batch goes on
            _log.exception(
                "introducer.client.subscriber-failed petname=%s server=%s",
                self.petname,
                announcement.server_id,
            )

    def _store_cache(self) -> None:
        try:
            self._cache.store(self._table.current())
        except OSError as error:
            _log.warning(
                "introducer.client.cache-write-failed petname=%s error=%s", self.petname, error
            )

    def _log_failure(self, failure: Failure, event: str) -> None:
        _log.warning("%s petname=%s error=%s", event, self.petname, failure.getErrorMessage())


def _no_version_if_unsupported(failure: Failure) -> Mapping[bytes, Any] | Failure:
    """An introducer without ``get_version`` is not v2: treat it as answering nothing."""
    if failure.check(Violation, RemoteException) is not None:  # type: ignore[no-untyped-call]
        return {}
    return failure


def _peer(reference: Any) -> str:
    """``host:port`` of the far end of a connection, for people."""
    peer = reference.getPeer()
    host = getattr(peer, "host", None)
    port = getattr(peer, "port", None)
    return str(peer) if host is None else f"{host}:{port}"
