"""Finding a file's shares: every server is asked at once, answers are used as they come.

Rules: :meth:`ShareFinder.start` sends ``get_buckets`` to every server
together, each bounded by the read timeout; the download starts with the
first shares found rather than waiting for the slowest server. Shares with
numbers outside ``0..N-1`` are ignored. A server that fails or times out
contributes nothing. Anyone waiting for news (:meth:`ShareFinder.when_news`)
is woken when any query finishes, so a fetcher short of shares can retry.
"""

import logging
from collections.abc import Callable, Sequence

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from client.download.errors import ShareUnusableError
from client.download.remote_calls import call_remote
from client.download.servers import BucketReaderLike, StorageServerLike
from client.download.share_source import ShareSource
from grid.base32 import b2a

SourceFactory = Callable[[StorageServerLike, int, int, BucketReaderLike], ShareSource]

_log = logging.getLogger(__name__)


class ShareFinder:
    """Asks every server which shares of one storage index it holds."""

    def __init__(
        self,
        servers: Sequence[StorageServerLike],
        storage_index: bytes,
        *,
        total_shares: int,
        make_source: SourceFactory,
        clock: IReactorTime,
        read_timeout: float,
    ) -> None:
        """Describe the search; :meth:`start` sends the queries."""
        self._servers = list(servers)
        self._storage_index = storage_index
        self._total_shares = total_shares
        self._make_source = make_source
        self._clock = clock
        self._read_timeout = read_timeout
        self.sources: list[ShareSource] = []
        self.pending = 0
        self.failed_servers = 0
        self._queries: list[Deferred[None]] = []
        self._waiters: list[Deferred[None]] = []

    def start(self) -> None:
        """Send ``get_buckets`` to every server."""
        self.pending = len(self._servers)
        for rank, server in enumerate(self._servers):
            query = Deferred.fromCoroutine(self._ask(rank, server))
            query.addErrback(_trap_cancelled)
            self._queries.append(query)

    def stop(self) -> None:
        """Cancel the queries still waiting for an answer."""
        for query in self._queries:
            query.cancel()

    def when_news(self) -> "Deferred[None]":
        """A Deferred that fires when the next query finishes (at once if none is pending)."""
        if not self.pending:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)
        return waiter

    def describe(self) -> str:
        """Say, for an error message, what the search found."""
        holders = len({source.server_rank for source in self.sources})
        return (
            f"asked {len(self._servers)} servers: {len(self.sources)} shares found on "
            f"{holders}, {self.failed_servers} failed or timed out, {self.pending} not answered"
        )

    async def _ask(self, rank: int, server: StorageServerLike) -> None:
        storage_index = self._storage_index
        try:
            readers = await call_remote(
                self._clock,
                self._read_timeout,
                f"get_buckets from {server.name}",
                lambda: server.get_buckets(storage_index),
            )
        except ShareUnusableError as error:
            self.failed_servers += 1
            _log.info(
                "download.find-failed server=%s si=%s error=%s",
                server.name,
                b2a(storage_index),
                error,
            )
        else:
            for shnum in sorted(readers):
                if 0 <= shnum < self._total_shares:
                    self.sources.append(self._make_source(server, rank, shnum, readers[shnum]))
        finally:
            self.pending -= 1
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(None)


def _trap_cancelled(failure: Failure) -> None:
    """A query cancelled by :meth:`ShareFinder.stop` ends quietly; anything else propagates."""
    failure.trap(CancelledError)  # type: ignore[no-untyped-call]
