"""Downloading a CHK file: verified plaintext streamed to a consumer, whole or a range.

Rules:

- Only bytes proven against the cap ever reach the consumer: the UEB by its
  hash, each share by its hash chain, each block by its share's block tree,
  each segment by the crypttext tree (see :mod:`client.download.verifier`).
- A range ``[offset, offset + length)`` is cut to the file; only the
  segments it covers are fetched, and exactly its bytes are delivered,
  decrypted with AES-CTR at their place in the file's keystream.
- Up to ``window`` segments are fetched at once, and delivered in order as
  they complete; memory is bounded by the window, not by the file. A
  consumer that returns an awaitable is waited for before the next
  delivery, so a slow consumer slows the download rather than filling memory.
- Every remote call is bounded by ``read_timeout`` seconds of ``clock``.
  When the download ends, for whatever reason, every outstanding query and
  read is cancelled (corruption advice already sent is left to finish).
- LIT caps carry their data and never reach this module.
"""

import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from client.download.segment_fetcher import SegmentFetcher
from client.download.servers import BucketReaderLike, StorageServerLike
from client.download.share_finder import ShareFinder
from client.download.share_source import ShareSource
from client.download.verifier import FileVerifier, SegmentGeometry
from grid.caps import CHKReadCap
from grid.crypto.aes import aes_ctr

DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_WINDOW = 2

Consumer = Callable[[bytes], Awaitable[None] | None]


def covered_range(size: int, offset: int, length: int | None) -> tuple[int, int]:
    """Cut ``[offset, offset + length)`` to a file of ``size`` bytes; ValueError if negative."""
    if offset < 0 or (length is not None and length < 0):
        raise ValueError(f"a download range needs offset and length >= 0, got {offset}, {length}")
    start = min(offset, size)
    end = size if length is None else min(size, offset + length)
    return start, max(start, end)


async def download_chk(
    cap: CHKReadCap,
    servers: Sequence[StorageServerLike],
    *,
    clock: IReactorTime,
    consumer: Consumer,
    offset: int = 0,
    length: int | None = None,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    window: int = DEFAULT_WINDOW,
) -> None:
    """Deliver the verified plaintext of ``cap`` (or of a range of it) to ``consumer``.

    ``servers`` are asked in the given (permuted) order of preference.
    Raises NotEnoughSharesError when fewer than k good shares remain for a
    segment, CapMismatchError when the cap contradicts its own UEB, and
    IntegrityError when verified shares decode to a segment the file's
    crypttext hash tree refuses.
    """
    if window < 1:
        raise ValueError(f"the segment window must be at least 1, got {window}")
    start, end = covered_range(cap.size, offset, length)
    if start == end:
        return
    verifier = FileVerifier(cap)

    def make_source(
        server: StorageServerLike, rank: int, shnum: int, reader: BucketReaderLike
    ) -> ShareSource:
        return ShareSource(
            server=server,
            server_rank=rank,
            shnum=shnum,
            reader=reader,
            verifier=verifier,
            clock=clock,
            read_timeout=read_timeout,
        )

    finder = ShareFinder(
        servers,
        cap.storage_index,
        total_shares=cap.total_shares,
        make_source=make_source,
        clock=clock,
        read_timeout=read_timeout,
    )
    fetcher = SegmentFetcher(finder, verifier)
    finder.start()
    try:
        await fetcher.uri_extension()
        geometry = verifier.geometry
        if geometry is None:  # pragma: no cover  set with the UEB
            raise RuntimeError("no segment geometry after the UEB was verified")
        await _stream(
            key=cap.key,
            geometry=geometry,
            fetcher=fetcher,
            start=start,
            end=end,
            consumer=consumer,
            window=window,
        )
    finally:
        fetcher.close()
        finder.stop()


async def _stream(
    *,
    key: bytes,
    geometry: SegmentGeometry,
    fetcher: SegmentFetcher,
    start: int,
    end: int,
    consumer: Consumer,
    window: int,
) -> None:
    """Fetch the covering segments ``window`` at a time; decrypt and deliver in order."""
    indexes = iter(geometry.segments_covering(start, end))
    pending: deque[tuple[int, Deferred[bytes]]] = deque()
    try:
        while True:
            while len(pending) < window:
                index = next(indexes, None)
                if index is None:
                    break
                pending.append((index, Deferred.fromCoroutine(fetcher.fetch_segment(index))))
            if not pending:
                return
            index, fetching = pending.popleft()
            ciphertext = await fetching
            segment_start, segment_end = geometry.segment_span(index)
            first, last = max(start, segment_start), min(end, segment_end)
            view = memoryview(ciphertext)[first - segment_start : last - segment_start]
            delivered = consumer(aes_ctr(key, view, first))
            if inspect.isawaitable(delivered):
                await delivered
    finally:
        for _, fetching in pending:
            fetching.cancel()
            fetching.addErrback(lambda _: None)
