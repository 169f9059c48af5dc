"""Keep one Foolscap-style connection alive, retrying with exponential backoff.

Rules: a :class:`Reconnector` is a small state machine over four states —
``stopped`` (not started, or stopped), ``connecting`` (an attempt is in
flight), ``connected`` (holding a reference) and ``waiting`` (a retry is
scheduled on the injected clock). A failed attempt waits ``delay * jitter()``
and multiplies the delay by ``factor`` up to ``max_delay``; a success resets
the delay, so after a lost connection the first retry comes after
``initial_delay`` again. Every attempt carries a generation number: results
and disconnect notices from an attempt that :meth:`stop` (or a newer
attempt) superseded are ignored, so nothing happens after ``stop()``.
``on_connected`` and ``on_lost`` are the owner's; an exception from them is
logged, never turned into a retry.
"""

import logging
from collections.abc import Callable
from typing import Any, Literal

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

ReconnectorState = Literal["connecting", "connected", "waiting", "stopped"]

_log = logging.getLogger(__name__)


class Reconnector:
    """Connects with ``connect()``, hands the reference over, and reconnects when it is lost."""

    def __init__(
        self,
        connect: Callable[[], "Deferred[Any]"],
        clock: IReactorTime,
        *,
        on_connected: Callable[[Any], None],
        on_lost: Callable[[], None] | None = None,
        initial_delay: float = 1.0,
        max_delay: float = 600.0,
        factor: float = 2.0,
        jitter: Callable[[], float] = lambda: 1.0,
    ) -> None:
        """Remember how to connect and whom to tell; :meth:`start` begins."""
        self._connect = connect
        self._clock = clock
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._initial_delay = initial_delay
        self._max_delay = max_delay
        self._factor = factor
        self._jitter = jitter
        self._delay = initial_delay
        self._generation = 0
        self._timer: IDelayedCall | None = None
        self._reference: Any = None
        self._disconnect_marker: Any = None
        self.state: ReconnectorState = "stopped"
        self.last_error: Failure | None = None
        self.next_attempt_at: float | None = None
        self.connected_since: float | None = None
        self.last_lost: float | None = None

    @property
    def reference(self) -> Any:
        """The connected reference, or None when not connected."""
        return self._reference

    def start(self) -> None:
        """Begin connecting now (no-op unless stopped)."""
        if self.state != "stopped":
            return
        self._delay = self._initial_delay
        self._attempt()

    def stop(self) -> None:
        """Cancel any timer, stop watching the connection, and ignore late results."""
        self._generation += 1
        self._cancel_timer()
        if self._reference is not None:
            self._reference.dontNotifyOnDisconnect(self._disconnect_marker)
        self._reference = None
        self._disconnect_marker = None
        self.state = "stopped"

    def retry_now(self) -> None:
        """If waiting for a retry, try at once with the delay reset (else do nothing)."""
        if self.state != "waiting":
            return
        self._cancel_timer()
        self._delay = self._initial_delay
        self._attempt()

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self.next_attempt_at = None

    def _attempt(self) -> None:
        """Start one connection attempt."""
        self._timer = None
        self.next_attempt_at = None
        self.state = "connecting"
        self._generation += 1
        generation = self._generation
        attempt: Deferred[Any] = maybeDeferred(self._connect)
        attempt.addCallbacks(
            self._succeeded,
            self._failed,
            callbackArgs=(generation,),
            errbackArgs=(generation,),
        )
        attempt.addErrback(_log_callback_failure)

    def _succeeded(self, reference: Any, generation: int) -> None:
        if generation != self._generation:
            return
        self.state = "connected"
        self.connected_since = self._clock.seconds()
        self.last_error = None
        self._delay = self._initial_delay
        self._reference = reference
        self._disconnect_marker = reference.notifyOnDisconnect(self._lost, generation)
        self._on_connected(reference)

    def _failed(self, failure: Failure, generation: int) -> None:
        if generation != self._generation:
            return
        self.last_error = failure
        _log.info("reconnect.attempt-failed error=%s", failure.getErrorMessage())
        self._schedule_retry()

    def _lost(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._reference = None
        self._disconnect_marker = None
        self.last_lost = self._clock.seconds()
        self._delay = self._initial_delay
        self._schedule_retry()
        if self._on_lost is not None:
            self._on_lost()

    def _schedule_retry(self) -> None:
        """Wait the current delay (with jitter), then grow it for the next failure."""
        wait = self._delay * self._jitter()
        self._delay = min(self._delay * self._factor, self._max_delay)
        self.state = "waiting"
        self.next_attempt_at = self._clock.seconds() + wait
        self._timer = self._clock.callLater(wait, self._attempt)


def _log_callback_failure(failure: Failure) -> None:
    """Log an exception raised by the owner's ``on_connected`` (a bug, not a retry)."""
    _log.error("reconnect.callback-failed\n%s", failure.getTraceback())
