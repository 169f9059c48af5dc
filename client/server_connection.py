"""One storage server as a client sees it: its description, connection and version.

Rules: the connection is kept by a :class:`~introducer.reconnect.Reconnector`
over ``tub.getReference(furl)``. A server counts as *connected* only once its
``get_version`` answer (or, when the server does not implement it, Tahoe's
old defaults) has arrived; an answer that arrives after the connection it
was asked on was lost is ignored. The version dict keeps bytes keys as on
the wire. The times recorded (connected since, last loss, last response)
come from the injected clock.
"""

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from foolscap.api import RemoteException, Violation
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from client.errors import ServerNotConnectedError
from client.send_limit import send_writes_whole
from client.server_description import ServerDescription
from introducer.reconnect import Reconnector

STORAGE_V1 = b"http://allmydata.org/tahoe/protocols/storage/v1"
APPLICATION_VERSION = b"application-version"
DEFAULT_STORAGE_V1: Mapping[bytes, Any] = {
    b"maximum-immutable-share-size": 2**32 - 1,
    b"maximum-mutable-share-size": 2 * 1000 * 1000 * 1000,
    b"tolerates-immutable-read-overrun": False,
    b"delete-mutable-shares-with-zero-length-writev": False,
    b"available-space": None,
}
DEFAULT_VERSION: Mapping[bytes, Any] = {
    STORAGE_V1: DEFAULT_STORAGE_V1,
    APPLICATION_VERSION: b"unknown: no get_version()",
}

_log = logging.getLogger(__name__)


@attrs.frozen
class ConnectionStatus:
    """A snapshot of one connection, for status pages."""

    connected: bool
    summary: str
    since: float | None
    last_response_at: float | None


class StorageServerConnection:
    """A storage server: what it announced, whether it is connected, what it offers."""

    def __init__(
        self,
        description: ServerDescription,
        tub: Any,
        clock: IReactorTime,
        *,
        on_connected: Callable[["StorageServerConnection"], None] = lambda _connection: None,
        jitter: Callable[[], float] = lambda: 1.0,
    ) -> None:
        """Describe the server; :meth:`start` begins connecting through ``tub``."""
        self.description = description
        self._tub = tub
        self._clock = clock
        self._on_connected = on_connected
        self._reconnector = Reconnector(
            self._get_reference,
            clock,
            on_connected=self._got_reference,
            on_lost=self._lost,
            jitter=jitter,
        )
        self.reference: Any = None
        self.version: Mapping[bytes, Any] | None = None
        self.connected_since: float | None = None
        self.last_loss_at: float | None = None
        self.last_response_at: float | None = None

    @property
    def server_id(self) -> str:
        """The server's id (``v0-…``)."""
        return self.description.server_id

    @property
    def is_connected(self) -> bool:
        """Whether the server is connected and its version is known."""
        return self.reference is not None

    @property
    def storage_version(self) -> Mapping[bytes, Any]:
        """The storage v1 version sub-dict, with Tahoe's old defaults for missing keys."""
        announced = (self.version or {}).get(STORAGE_V1)
        if not isinstance(announced, Mapping):
            return DEFAULT_STORAGE_V1
        return {**DEFAULT_STORAGE_V1, **announced}

    @property
    def available_space(self) -> int | None:
        """Free space the server reports, else its maximum share size; None if unknown."""
        if self.version is None:
            return None
        announced = self.version.get(STORAGE_V1)
        if not isinstance(announced, Mapping):
            return None
        space = announced.get(b"available-space")
        if space is None:
            space = announced.get(b"maximum-immutable-share-size")
        return space if isinstance(space, int) else None

    def start(self) -> None:
        """Begin connecting (and keep reconnecting)."""
        self._reconnector.start()

    def stop(self) -> None:
        """Stop connecting; forget the current reference."""
        self._reconnector.stop()
        if self.reference is not None:
            self.last_loss_at = self._clock.seconds()
        self.reference = None

    def retry_now(self) -> None:
        """If waiting to reconnect, try at once."""
        self._reconnector.retry_now()

    def status(self) -> ConnectionStatus:
        """Describe the connection for people."""
        if self.reference is not None:
            return ConnectionStatus(True, "connected", self.connected_since, self.last_response_at)
        state = self._reconnector.state
        error = self._reconnector.last_error
        if state == "waiting" and error is not None:
            summary = f"failed to connect: {error.getErrorMessage()}"
        elif state == "waiting":
            summary = "connection lost; reconnecting"
        elif state == "connected":
            summary = "connected; asking for its version"
        else:
            summary = {"connecting": "connecting", "stopped": "not connecting"}[state]
        return ConnectionStatus(False, summary, self.last_loss_at, self.last_response_at)

    async def call(self, method: str, *arguments: Any) -> Any:
        """Call a remote method; raise ServerNotConnectedError if not connected."""
        reference = self.reference
        if reference is None:
            raise ServerNotConnectedError(f"storage server {self.description.short_name}")
        result = await reference.callRemote(method, *arguments)
        self.last_response_at = self._clock.seconds()
        return result

    def _get_reference(self) -> "Deferred[Any]":
        reference: Deferred[Any] = self._tub.getReference(self.description.furl)
        return reference

    def _got_reference(self, reference: Any) -> None:
        """Ask a fresh connection for the server's version before using it."""
        send_writes_whole(reference)
        asked: Deferred[Any] = reference.callRemote("get_version")
        asked.addErrback(_defaults_if_unsupported)
        asked.addCallbacks(
            self._got_version,
            self._version_failed,
            callbackArgs=(reference,),
            errbackArgs=(reference,),
        )
        asked.addErrback(_log_callback_failure)

    def _got_version(self, version: object, reference: Any) -> None:
        if reference is not self._reconnector.reference:
            return
        if not isinstance(version, Mapping):
            _log.warning("storage-broker.bad-version server=%s", self.description.short_name)
            version = DEFAULT_VERSION
        now = self._clock.seconds()
        self.version = version
        self.reference = reference
        self.connected_since = now
        self.last_response_at = now
        _log.info("storage-broker.connected server=%s", self.description.short_name)
        self._on_connected(self)

    def _version_failed(self, failure: Failure, reference: Any) -> None:
        """The connection broke while asking; the reconnector will notice and retry."""
        _log.info(
            "storage-broker.version-failed server=%s error=%s",
            self.description.short_name,
            failure.getErrorMessage(),
        )

    def _lost(self) -> None:
        if self.reference is not None:
            _log.info("storage-broker.lost server=%s", self.description.short_name)
        self.reference = None
        self.last_loss_at = self._clock.seconds()


def _defaults_if_unsupported(failure: Failure) -> Mapping[bytes, Any] | Failure:
    """Tahoe's old defaults when the server refuses ``get_version``; other failures pass."""
    if failure.check(Violation, RemoteException) is not None:  # type: ignore[no-untyped-call]
        return DEFAULT_VERSION
    return failure


def _log_callback_failure(failure: Failure) -> None:
    """Log an exception raised by the owner's ``on_connected`` (a bug)."""
    _log.error("storage-broker.callback-failed\n%s", failure.getTraceback())
