"""Calls to storage servers from coroutines: each bounded by a timeout, failures typed.

Rules: every remote call the downloader makes goes through
:func:`call_remote`, which gives up after ``timeout`` seconds of the
injected clock (:class:`ServerTimeoutError`) and turns any other failure of
the call into :class:`ServerFailedError`, so callers handle two documented
errors and never a transport's own. Cancelling the caller cancels the call
and raises :class:`~twisted.internet.defer.CancelledError` unchanged.
:func:`gather` runs coroutines side by side (their remote calls are
pipelined on the connection) and fails as soon as one fails, cancelling
the rest.
"""

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, overload

from twisted.internet import defer
from twisted.internet.defer import CancelledError, Deferred, FirstError, gatherResults
from twisted.internet.interfaces import IReactorTime

from client.download.errors import ServerFailedError, ServerTimeoutError

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


async def _awaited(call: Callable[[], Awaitable[T]]) -> T:
    return await call()


async def call_remote(
    clock: IReactorTime, timeout: float, what: str, call: Callable[[], Awaitable[T]]
) -> T:
    """Await ``call()``; ServerTimeoutError after ``timeout`` s, ServerFailedError on error."""
    deferred = Deferred.fromCoroutine(_awaited(call))
    deferred.addTimeout(timeout, clock)
    try:
        return await deferred
    except CancelledError:
        raise
    except defer.TimeoutError:
        raise ServerTimeoutError(f"{what}: no answer within {timeout:g} s") from None
    except Exception as error:  # a remote call fails in as many ways as its transport has
        raise ServerFailedError(f"{what}: {type(error).__name__}: {error}") from error


@overload
async def gather(
    first: Coroutine[Any, Any, A], second: Coroutine[Any, Any, B], /
) -> tuple[A, B]: ...


@overload
async def gather(
    first: Coroutine[Any, Any, A],
    second: Coroutine[Any, Any, B],
    third: Coroutine[Any, Any, C],
    /,
) -> tuple[A, B, C]: ...


@overload
async def gather(*coroutines: Coroutine[Any, Any, T]) -> tuple[T, ...]: ...


async def gather(*coroutines: Coroutine[Any, Any, Any]) -> tuple[Any, ...]:
    """Run ``coroutines`` concurrently; return their results in order, or raise the first error."""
    deferreds = [Deferred.fromCoroutine(coroutine) for coroutine in coroutines]
    try:
        return tuple(await gatherResults(deferreds, consumeErrors=True))
    except FirstError as error:
        for deferred in deferreds:
            deferred.cancel()
        error.subFailure.raiseException()
        raise  # pragma: no cover  raiseException always raises
