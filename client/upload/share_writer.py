"""Pushing one server's shares: batched writes, a bounded window, close or abort.

Rules: a file's shares are written front to back. Consecutive writes to one
bucket are joined into calls of about ``batch_size`` bytes (a small file's
whole share goes in one call), and at most ``window`` calls per server are
in flight: :meth:`ServerShareWriter.write` returns as soon as its bytes are
buffered or sent and waits only while the window is full, which is what
bounds the uploader's memory. A bucket is closed only after every write to
the server has landed. The first failed or timed-out call marks the whole
server failed; later writes to it are dropped, and the uploader decides
whether the upload can go on without it. :meth:`ServerShareWriter.abort`
abandons every bucket not yet closed without waiting for the answers.
"""

import logging
from collections.abc import Mapping

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from client.upload.deadline import within
from client.upload.servers import BucketWriter

_log = logging.getLogger(__name__)


def abort_buckets(server_name: str, buckets: Mapping[int, BucketWriter]) -> None:
    """Ask a server to abort ``buckets``; failures are logged, never waited for."""
    for shnum, bucket in buckets.items():

        async def abort(bucket: BucketWriter = bucket) -> None:
            await bucket.abort()

        def log_failure(failure: Failure, shnum: int = shnum) -> None:
            _log.info(
                "upload.abort-failed server=%s share=%d error=%s",
                server_name,
                shnum,
                failure.getErrorMessage(),
            )

        Deferred.fromCoroutine(abort()).addErrback(log_failure)


class _Pending:
    """Bytes buffered for one bucket, starting at ``offset`` and contiguous."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.chunks: list[bytes] = []
        self.size = 0

    @property
    def end(self) -> int:
        return self.offset + self.size

    def append(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)


class ServerShareWriter:
    """Writes the shares one server took, keeping a bounded number of calls in flight."""

    def __init__(
        self,
        server_name: str,
        buckets: Mapping[int, BucketWriter],
        *,
        clock: IReactorTime,
        window: int,
        batch_size: int,
        timeout: float,
    ) -> None:
        """Write to ``buckets`` (share number to bucket) of the server named ``server_name``."""
        self.server_name = server_name
        self._buckets = dict(buckets)
        self._clock = clock
        self._window = window
        self._batch_size = batch_size
        self._timeout = timeout
        self._pending: dict[int, _Pending] = {}
        self._in_flight: set[Deferred[None]] = set()
        self._waiters: list[Deferred[None]] = []
        self._closed: set[int] = set()
        self._aborted = False
        self.failure: Exception | None = None

    @property
    def shnums(self) -> frozenset[int]:
        """The share numbers this writer writes."""
        return frozenset(self._buckets)

    @property
    def closed(self) -> frozenset[int]:
        """The shares whose buckets were closed."""
        return frozenset(self._closed)

    @property
    def failed(self) -> bool:
        """Whether a call to this server failed."""
        return self.failure is not None

    async def write(self, shnum: int, offset: int, data: bytes) -> None:
        """Queue ``data`` for share ``shnum`` at ``offset``; wait only if the window is full."""
        if self._stopped or shnum not in self._buckets:
            return
        pending = self._pending.get(shnum)
        if pending is not None and pending.end != offset:
            await self._flush(shnum)
            pending = None
        if pending is None:
            pending = self._pending[shnum] = _Pending(offset)
        pending.append(data)
        if pending.size >= self._batch_size:
            await self._flush(shnum)

    async def finish(self) -> None:
        """Send what is buffered, wait for every write, then close every bucket.

        Failures are recorded in :attr:`failure`, not raised.
        """
        for shnum in list(self._pending):
            await self._flush(shnum)
        while self._in_flight and not self._stopped:
            await self._wait_for_change()
        if self._stopped:
            return
        closing = {
            shnum: within(
                bucket.close(),
                self._timeout,
                self._clock,
                f"{self.server_name}: close share {shnum}",
            )
            for shnum, bucket in self._buckets.items()
        }
        for shnum, closed in closing.items():
            try:
                await closed
            except Exception as error:  # noqa: BLE001  any failure only marks this server failed
                self._fail(error)
            else:
                self._closed.add(shnum)

    def abort(self) -> None:
        """Abort every bucket not closed yet; stop writing."""
        self._aborted = True
        self._pending.clear()
        abort_buckets(
            self.server_name,
            {shnum: bucket for shnum, bucket in self._buckets.items() if shnum not in self._closed},
        )
        self._wake()

    @property
    def _stopped(self) -> bool:
        return self._aborted or self.failure is not None

    async def _flush(self, shnum: int) -> None:
        pending = self._pending.pop(shnum)
        data = b"".join(pending.chunks)
        while len(self._in_flight) >= self._window and not self._stopped:
            await self._wait_for_change()
        if self._stopped:
            return
        sent = within(
            self._buckets[shnum].write(pending.offset, data),
            self._timeout,
            self._clock,
            f"{self.server_name}: write to share {shnum}",
        )
        self._in_flight.add(sent)
        sent.addBoth(self._landed, sent)

    def _landed(self, result: object, sent: "Deferred[None]") -> None:
        self._in_flight.discard(sent)
        if isinstance(result, Failure):
            error = result.value
            self._fail(error if isinstance(error, Exception) else RuntimeError(str(error)))
        self._wake()

    def _fail(self, error: Exception) -> None:
        if self.failure is None:
            self.failure = error
            _log.info("upload.server-failed server=%s error=%s", self.server_name, error)
        self._wake()

    async def _wait_for_change(self) -> None:
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)
        await waiter

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(None)
