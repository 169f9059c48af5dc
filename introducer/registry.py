"""The introducer's core: announcements in, subscribers told, no transport.

Rules:

- :meth:`IntroducerRegistry.publish` checks what a node sent with
  :func:`~introducer.announcements.parse_announcement` (its
  :class:`~introducer.errors.AnnouncementError` reaches the caller, and
  nothing is stored) and offers it to an
  :class:`~introducer.announcements.AnnouncementTable`, so each (service,
  server) keeps only its newest announcement however many a server sends.
  An accepted announcement is pushed at once to every subscriber of its
  service; an ignored one (not newer) is pushed to nobody.
- A new subscriber first gets every current announcement of its service in
  one push (none if there are none), then each accepted one as it arrives.
  Subscribing twice to the same service is ignored, as Tahoe does.
- One subscriber failing to take a push is logged and does not stop the
  others or the publisher; dropping dead subscribers is the transport
  adapter's job (:meth:`IntroducerRegistry.unsubscribe`).
- Time comes from the injected clock; it stamps subscriptions and accepted
  announcements for the status page only, never for any decision.
"""

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from introducer.announcements import AnnouncementTable, SignedAnnouncement, parse_announcement
from introducer.errors import SubscriptionError
from introducer.status import (
    FURL_KEY,
    AnnouncementStatus,
    IntroducerStatus,
    SubscriptionStatus,
)

MAX_INFO_TEXT = 200

_log = logging.getLogger(__name__)


class Subscriber(Protocol):
    """Someone the registry pushes announcements to (a remote client, through an adapter)."""

    def announce(self, announcements: list[SignedAnnouncement]) -> None:
        """Take some current announcements; must not block."""


def _info_text(info: Mapping[Any, Any], name: str) -> str:
    """One text value of a subscriber's self-description, shortened and printable."""
    value = info.get(name, info.get(name.encode("ascii")))
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return ""
    return value[:MAX_INFO_TEXT].encode("utf-8", errors="backslashreplace").decode("utf-8")


class IntroducerRegistry:
    """The announcements an introducer holds and the subscribers it tells about them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        """Start with no announcements and no subscribers; ``clock`` gives unix time."""
        self._clock = clock
        self._table = AnnouncementTable()
        self._accepted_at: dict[tuple[str, str], float] = {}
        self._subscriptions: dict[str, dict[Subscriber, SubscriptionStatus]] = {}

    def publish(self, wire: object) -> SignedAnnouncement | None:
        """Check and store an announcement, and push it if it is newer; None if it was ignored."""
        announcement = parse_announcement(wire)
        if not self._table.offer(announcement):
            return None
        self._accepted_at[announcement.index] = self._clock()
        subscribers = list(self._subscriptions.get(announcement.service_name, {}))
        self._push(subscribers, [announcement])
        return announcement

    def subscribe(
        self,
        subscriber: Subscriber,
        service_name: str,
        subscriber_info: Mapping[Any, Any],
        *,
        peer: str = "",
    ) -> None:
        """Remember a subscriber and push it the service's current announcements.

        ``subscriber_info`` is the subscriber's self-description (Tahoe sends
        bytes keys: ``nickname``, ``my-version``, ...); it is used for the
        status page only. ``peer`` names the connection (a tub id), also for
        the status page. Raise SubscriptionError if ``service_name`` is not a
        non-empty string or the info is not a mapping.
        """
        if not isinstance(service_name, str) or not service_name:
            raise SubscriptionError("a subscription must name a service")
        if not isinstance(subscriber_info, Mapping):
            raise SubscriptionError("subscriber info must be a mapping")
        subscribers = self._subscriptions.setdefault(service_name, {})
        if subscriber in subscribers:
            return
        subscribers[subscriber] = SubscriptionStatus(
            service_name=service_name,
            nickname=_info_text(subscriber_info, "nickname"),
            version=_info_text(subscriber_info, "my-version"),
            since=self._clock(),
            peer=peer,
        )
        current = self._table.current(service_name)
        if current:
            self._push([subscriber], current)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a subscriber, for every service it subscribed to (unknown ones are ignored)."""
        for service_name in list(self._subscriptions):
            subscribers = self._subscriptions[service_name]
            subscribers.pop(subscriber, None)
            if not subscribers:
                del self._subscriptions[service_name]

    def current(self, service_name: str | None = None) -> list[SignedAnnouncement]:
        """The current announcements, of one service or of all."""
        return self._table.current(service_name)

    def status(self) -> IntroducerStatus:
        """A snapshot for the status page: every subscription and current announcement."""
        subscriptions = tuple(
            subscription
            for subscribers in self._subscriptions.values()
            for subscription in subscribers.values()
        )
        announcements = tuple(
            AnnouncementStatus(
                service_name=announcement.service_name,
                server_id=announcement.server_id,
                nickname=announcement.nickname,
                version=announcement.my_version,
                seqnum=announcement.seqnum,
                when=self._accepted_at[announcement.index],
                furl=announcement.text_field(FURL_KEY) or None,
            )
            for announcement in self._table.current()
        )
        return IntroducerStatus(subscriptions=subscriptions, announcements=announcements)

    def _push(
        self, subscribers: Iterable[Subscriber], announcements: list[SignedAnnouncement]
    ) -> None:
        """Give ``announcements`` to each subscriber; one failing does not stop the rest."""
        for subscriber in subscribers:
            try:
                subscriber.announce(list(announcements))
            except Exception:  # noqa: BLE001  a broken subscriber must not break the others
                _log.exception(
                    "introducer.push.failed service=%s count=%d",
                    announcements[0].service_name,
                    len(announcements),
                )
