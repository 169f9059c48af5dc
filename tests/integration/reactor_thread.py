"""The Twisted reactor running in a background thread, for synchronous tests.

Tests that talk over real loopback connections call into the reactor with
:func:`in_reactor`, which runs a function (possibly returning a Deferred or
a coroutine) on the reactor thread and waits for its result.
"""

import threading
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.threads import blockingCallFromThread

_started = threading.Lock()
_thread: threading.Thread | None = None


def ensure_reactor_running() -> None:
    """Start the global reactor in a daemon thread, once per process."""
    global _thread  # noqa: PLW0603  one reactor per process, started on first use
    with _started:
        if _thread is None:
            _thread = threading.Thread(
                target=reactor.run,  # type: ignore[attr-defined]
                kwargs={"installSignalHandlers": False},
                name="reactor",
                daemon=True,
            )
            _thread.start()


def in_reactor(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function`` on the reactor thread and return its (eventual) result."""
    ensure_reactor_running()

    def call() -> Any:
        result = function(*args, **kwargs)
        if isinstance(result, Deferred):
            return result
        if hasattr(result, "__await__"):
            return ensureDeferred(result)
        return result

    return blockingCallFromThread(reactor, call)
