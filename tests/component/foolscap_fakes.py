"""In-memory stand-ins for a Foolscap Tub and RemoteReference, driven by the test.

A :class:`FakeTub` records every ``getReference`` and hands back a Deferred
the test fires; a :class:`FakeRemoteReference` records every ``callRemote``
and lets the test answer it, and fires disconnect watchers on
:meth:`FakeRemoteReference.disconnect`, as Foolscap does when a connection
is lost.
"""

import itertools
from typing import Any

import attrs
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred

_markers = itertools.count()


@attrs.define
class RemoteCall:
    """One callRemote: the method, its arguments, and the Deferred the caller waits on."""

    method: str
    args: tuple[Any, ...]
    result: "Deferred[Any]"

    @property
    def answered(self) -> bool:
        """Whether the test has answered this call."""
        return self.result.called


class FakeRemoteReference:
    """A connected remote object whose calls the test answers."""

    def __init__(self, host: str = "127.0.0.1", port: int = 3457) -> None:
        """Start connected, with no calls and no watchers."""
        self.calls: list[RemoteCall] = []
        self.watchers: dict[int, tuple[Any, tuple[Any, ...]]] = {}
        self.connected = True
        self.peer = IPv4Address("TCP", host, port)

    def callRemote(self, method: str, *args: Any) -> "Deferred[Any]":  # noqa: N802  Foolscap's name
        """Record a call; the test answers it later."""
        call = RemoteCall(method, args, Deferred())
        self.calls.append(call)
        return call.result

    def notifyOnDisconnect(self, callback: Any, *args: Any) -> int:  # noqa: N802  Foolscap's name
        """Watch for the connection's loss."""
        marker = next(_markers)
        self.watchers[marker] = (callback, args)
        return marker

    def dontNotifyOnDisconnect(self, marker: int) -> None:  # noqa: N802  Foolscap's name
        """Stop watching (tolerant of markers already gone, like Foolscap)."""
        self.watchers.pop(marker, None)

    def getPeer(self) -> IPv4Address:  # noqa: N802  Foolscap's name
        """The far end's address."""
        return self.peer

    def disconnect(self) -> None:
        """Lose the connection: every watcher hears it once."""
        self.connected = False
        watchers, self.watchers = self.watchers, {}
        for callback, args in watchers.values():
            callback(*args)

    def calls_to(self, method: str) -> list[RemoteCall]:
        """The calls made to ``method``, in order."""
        return [call for call in self.calls if call.method == method]

    def answer(self, method: str, value: Any) -> None:
        """Answer the oldest unanswered call to ``method`` with ``value``."""
        self._oldest_unanswered(method).result.callback(value)

    def refuse(self, method: str, error: BaseException) -> None:
        """Fail the oldest unanswered call to ``method`` with ``error``."""
        self._oldest_unanswered(method).result.errback(error)

    def _oldest_unanswered(self, method: str) -> RemoteCall:
        for call in self.calls_to(method):
            if not call.answered:
                return call
        raise AssertionError(f"no unanswered call to {method}")


class FakeTub:
    """A Tub whose getReference results the test decides."""

    def __init__(self) -> None:
        """Start with no requests."""
        self.requests: list[tuple[str, Deferred[Any]]] = []

    def getReference(self, furl: str) -> "Deferred[Any]":  # noqa: N802  Foolscap's name
        """Record the request; the test connects or fails it."""
        request: Deferred[Any] = Deferred()
        self.requests.append((furl, request))
        return request

    def requests_for(self, furl: str) -> int:
        """How many times ``furl`` was asked for."""
        return sum(1 for asked, _ in self.requests if asked == furl)

    def pending(self, furl: str) -> "Deferred[Any]":
        """The newest unanswered request for ``furl``."""
        for asked, request in reversed(self.requests):
            if asked == furl and not request.called:
                return request
        raise AssertionError(f"no pending request for {furl}")

    def connect(
        self, furl: str, reference: FakeRemoteReference | None = None
    ) -> FakeRemoteReference:
        """Answer the pending request for ``furl`` with a (new) reference."""
        reference = reference or FakeRemoteReference()
        self.pending(furl).callback(reference)
        return reference

    def fail(self, furl: str, error: BaseException | None = None) -> None:
        """Fail the pending request for ``furl``."""
        self.pending(furl).errback(error or ConnectionRefusedError("refused"))
