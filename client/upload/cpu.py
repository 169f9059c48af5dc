"""Where the uploader runs CPU-heavy work: off the reactor thread.

Rules: encryption, hashing and erasure coding of a segment are pure
functions; the uploader hands them to a :class:`CpuRunner`, which starts
the work at once and returns a Deferred that fires on the reactor thread
with the result. :class:`ThreadPoolRunner` uses a Twisted thread pool, so
with two cores two segments are coded at the same time (zfec, hashlib and
the AES code release the GIL on large buffers) while the reactor keeps
serving the network.
"""

from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

ParamsT = ParamSpec("ParamsT")
ResultT = TypeVar("ResultT")


class CpuRunner(Protocol):
    """Runs a function somewhere other than the caller's stack, starting now."""

    def run(
        self,
        function: Callable[ParamsT, ResultT],
        *args: ParamsT.args,
        **kwargs: ParamsT.kwargs,
    ) -> "Deferred[ResultT]":
        """Start ``function(*args, **kwargs)``; the Deferred fires with its result."""


class ThreadPoolRunner:
    """Runs functions on a Twisted thread pool, results delivered on the reactor."""

    def __init__(self, reactor: IReactorFromThreads, pool: ThreadPool) -> None:
        """Use ``pool``'s threads; deliver results through ``reactor``."""
        self._reactor = reactor
        self._pool = pool

    def run(
        self,
        function: Callable[ParamsT, ResultT],
        *args: ParamsT.args,
        **kwargs: ParamsT.kwargs,
    ) -> "Deferred[ResultT]":
        """Start ``function`` on a pool thread."""
        return deferToThreadPool(self._reactor, self._pool, function, *args, **kwargs)
