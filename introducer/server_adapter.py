"""The introducer core served over Foolscap: publish, subscribe, push.

Rules: nothing here decides anything; :class:`FoolscapIntroducerService`
converts Foolscap arguments and forwards to
:class:`~introducer.registry.IntroducerRegistry`. A bad announcement or
subscription is logged and raised back to the caller as a remote failure;
the service keeps serving. Each remote subscriber is wrapped once per
connection (so a repeated subscription is recognised as the same
subscriber), pushed to with ``announce_v2`` and a set of wire tuples without
waiting for an answer, and unsubscribed when its connection is lost. A push
that fails (a dead reference, a remote error) is logged and dropped.
"""

import logging
from typing import Any

from foolscap.api import DeadReferenceError, Referenceable
from twisted.python.failure import Failure
from zope.interface import implementer

from grid import __version__
from introducer.announcements import SignedAnnouncement
from introducer.errors import IntroducerError, SubscriptionError
from introducer.registry import IntroducerRegistry
from introducer.wire import INTRODUCER_PROTOCOL_V2, RIIntroducerPublisherAndSubscriberService_v2

DEFAULT_APPLICATION_VERSION = b"grid/" + __version__.encode("ascii")
MAX_SERVICE_NAME_LENGTH = 200

_log = logging.getLogger(__name__)


def service_name_text(service_name: object) -> str:
    """A subscription's service name as text; Tahoe sends it as UTF-8 bytes."""
    if isinstance(service_name, bytes):
        try:
            service_name = service_name.decode("utf-8")
        except UnicodeDecodeError:
            raise SubscriptionError("service name is not UTF-8") from None
    if not isinstance(service_name, str):
        raise SubscriptionError("service name must be bytes or text")
    if len(service_name) > MAX_SERVICE_NAME_LENGTH:
        raise SubscriptionError(f"service name is longer than {MAX_SERVICE_NAME_LENGTH}")
    return service_name


class RemoteSubscriber:
    """A subscriber on the far side of a Foolscap connection, as the registry sees it."""

    def __init__(self, reference: Any) -> None:
        """Push to ``reference``, a RemoteReference to an RIIntroducerSubscriberClient_v2."""
        self.reference = reference

    def announce(self, announcements: list[SignedAnnouncement]) -> None:
        """Send ``announce_v2`` with the wire tuples; do not wait for the answer."""
        wire = {announcement.to_wire() for announcement in announcements}
        self.reference.callRemote("announce_v2", wire).addErrback(self._push_failed, len(wire))

    def _push_failed(self, failure: Failure, count: int) -> None:
        """Log a push that did not arrive; the disconnect handler cleans up."""
        if isinstance(failure.value, DeadReferenceError):
            _log.info("introducer.push.dead-subscriber count=%d", count)
        else:
            _log.warning(
                "introducer.push.remote-failure count=%d error=%s",
                count,
                failure.getErrorMessage()[:200],
            )


@implementer(RIIntroducerPublisherAndSubscriberService_v2)
class FoolscapIntroducerService(Referenceable):  # type: ignore[misc]
    """The introducer, as the Foolscap object the introducer FURL names."""

    def __init__(
        self,
        registry: IntroducerRegistry,
        application_version: bytes = DEFAULT_APPLICATION_VERSION,
    ) -> None:
        """Serve ``registry``, reporting ``application_version`` in get_version."""
        self._registry = registry
        self._application_version = application_version
        self._subscribers: dict[Any, RemoteSubscriber] = {}

    def remote_get_version(self) -> dict[bytes, Any]:
        """The protocols we speak (introducer v2) and our application version."""
        return {
            INTRODUCER_PROTOCOL_V2: {},
            b"application-version": self._application_version,
        }

    def remote_publish_v2(self, announcement: Any, canary: Any) -> None:
        """Forward an announcement; a bad one is logged and fails the caller's call.

        The canary is accepted for Tahoe's sake and not used: announcements
        outlive their publisher's connection.
        """
        try:
            accepted = self._registry.publish(announcement)
        except IntroducerError as error:
            _log.warning("introducer.publish.rejected reason=%s", error)
            raise
        if accepted is None:
            _log.debug("introducer.publish.ignored (not newer than the one held)")
            return
        _log.info(
            "introducer.publish.accepted service=%s server=%s seqnum=%d nickname=%r",
            accepted.service_name,
            accepted.server_id,
            accepted.seqnum,
            accepted.nickname[:100],
        )

    def remote_subscribe_v2(
        self, subscriber: Any, service_name: Any, subscriber_info: dict[bytes, Any]
    ) -> None:
        """Forward a subscription; watch the subscriber's connection to unsubscribe it."""
        try:
            name = service_name_text(service_name)
        except SubscriptionError as error:
            _log.warning("introducer.subscribe.rejected reason=%s", error)
            raise
        remote = self._subscribers.get(subscriber)
        if remote is None:
            remote = RemoteSubscriber(subscriber)
            self._subscribers[subscriber] = remote
            subscriber.notifyOnDisconnect(self._subscriber_lost, subscriber)
        peer = subscriber.getRemoteTubID()
        _log.info("introducer.subscribe service=%s peer=%s", name, peer)
        self._registry.subscribe(remote, name, subscriber_info, peer=peer)

    def _subscriber_lost(self, subscriber: Any) -> None:
        """A subscriber's connection went away: stop pushing to it."""
        remote = self._subscribers.pop(subscriber, None)
        if remote is not None:
            _log.info("introducer.unsubscribe peer-lost")
            self._registry.unsubscribe(remote)
