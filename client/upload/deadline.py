"""Time limits on calls to storage servers, measured on the injected clock.

Rules: a call that has not answered within its limit is cancelled and fails
with :class:`~client.upload.errors.ServerTimeoutError` naming the call and
the limit, so a hung server costs the upload that long and no longer. The
clock is an ``IReactorTime``; tests pass a ``task.Clock`` and advance it.
"""

from collections.abc import Awaitable
from typing import TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.defer import TimeoutError as DeferredTimeoutError
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from client.upload.errors import ServerTimeoutError

ResultT = TypeVar("ResultT")


def within(
    awaitable: Awaitable[ResultT], seconds: float, clock: IReactorTime, what: str
) -> "Deferred[ResultT]":
    """Wait for ``awaitable`` at most ``seconds``; ``what`` names the call in the error."""

    async def wait() -> ResultT:
        return await awaitable

    def explain(failure: Failure) -> Failure:
        if failure.check(DeferredTimeoutError) is not None:  # type: ignore[no-untyped-call]
            raise ServerTimeoutError(f"{what}: no answer within {seconds:g} s")
        return failure

    limited = Deferred.fromCoroutine(wait()).addTimeout(seconds, clock)
    return limited.addErrback(explain)
