"""Fetching verified ciphertext segments: k shares per segment, bad ones replaced.

Rules:

- For each segment the fetcher asks k shares with distinct numbers for their
  block, preferring primary shares (``0..k-1``: no decoding needed), then
  shares already open, then servers earlier in the permuted order.
- A share that fails is replaced by the next best share not yet tried for
  that segment: a corrupt share is reported to its server once
  (``advise_corrupt_share``) and never used again; a server that times out
  is dropped with all its shares; a share whose server errs is dropped.
- Once k blocks are proven, the segment is decoded and checked against the
  crypttext hash tree, using tree nodes read (in the same round trip as a
  block) from one of the shares. Nodes that fail the check are retried from
  other shares; the share that sent them is reported only once another
  share's nodes prove the segment right, and from then on is asked for
  blocks (which its block tree still proves) but not for crypttext nodes.
- A share whose URI extension block does not match the cap is reported only
  once another share's does: until then the cap may be the one in error.
- Fewer than k usable shares for a segment raises NotEnoughSharesError;
  nothing unproven ever leaves :meth:`SegmentFetcher.fetch_segment`.
"""

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Generic, TypeVar

import attrs
from twisted.internet.defer import CancelledError, Deferred, DeferredQueue
from twisted.python.failure import Failure

from client.download.errors import (
    CorruptShareError,
    ServerFailedError,
    ServerTimeoutError,
    ShareUnusableError,
    UriExtensionMismatchError,
)
from client.download.share_finder import ShareFinder
from client.download.share_source import ShareSource
from client.download.verifier import FileVerifier
from grid.codec import decode_segment
from grid.errors import IntegrityError, NotEnoughSharesError
from grid.formats.uri_extension import UriExtension

T = TypeVar("T")
Block = tuple[bytes, dict[int, bytes]]

_log = logging.getLogger(__name__)


@attrs.frozen
class _Outcome(Generic[T]):
    """What one attempt gave: a value, None (the share failed), or an error to re-raise.

    ``source`` is None for news from the share finder.
    """

    source: ShareSource | None
    value: T | None = None
    error: Exception | None = None


class _Attempts(Generic[T]):
    """Attempts on several shares at once; their outcomes are taken one at a time."""

    def __init__(self, tasks: set["Deferred[None]"]) -> None:
        """Record every task in ``tasks`` (the fetcher's, to cancel on close)."""
        self._tasks = tasks
        self._queue: DeferredQueue[_Outcome[T]] = DeferredQueue()
        self.running: dict[ShareSource, Deferred[None]] = {}
        self._watching = False

    @property
    def busy(self) -> bool:
        """Whether an outcome or news is still to come."""
        return bool(self.running) or self._watching

    def launch(self, source: ShareSource, attempt: Awaitable[T | None]) -> None:
        """Run ``attempt`` on ``source``; its outcome is queued."""
        task = Deferred.fromCoroutine(self._run(source, attempt))
        self.running[source] = task
        self._tasks.add(task)
        task.addBoth(self._forget, task)

    def watch(self, news: "Deferred[None]") -> None:
        """Queue a wake-up when ``news`` fires (once at a time)."""
        if not self._watching:
            self._watching = True
            news.addCallback(lambda _: self._queue.put(_Outcome(None)))

    async def next(self) -> _Outcome[T]:
        """Wait for the next outcome; re-raise an error no share could be blamed for."""
        outcome = await self._queue.get()
        if outcome.source is None:
            self._watching = False
        else:
            self.running.pop(outcome.source, None)
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def cancel(self) -> None:
        """Cancel the attempts still running."""
        for task in list(self.running.values()):
            task.cancel()

    async def _run(self, source: ShareSource, attempt: Awaitable[T | None]) -> None:
        try:
            value = await attempt
        except CancelledError:
            raise
        except Exception as error:  # noqa: BLE001  forwarded to the waiting loop, which re-raises it
            self._queue.put(_Outcome(source, error=error))
        else:
            self._queue.put(_Outcome(source, value))

    def _forget(self, result: object, task: "Deferred[None]") -> object:
        """Drop a finished task; a cancellation is its expected end, not an error."""
        self._tasks.discard(task)
        if isinstance(result, Failure) and result.check(CancelledError):  # type: ignore[no-untyped-call]
            return None
        return result


class SegmentFetcher:
    """Fetches verified ciphertext segments of one file from the shares a finder finds."""

    def __init__(self, finder: ShareFinder, verifier: FileVerifier) -> None:
        """Use ``finder``'s shares, checked by ``verifier``."""
        self._finder = finder
        self._verifier = verifier
        self._needed = verifier.cap.needed_shares
        self._total = verifier.cap.total_shares
        self._unusable: set[ShareSource] = set()
        self._advised: set[ShareSource] = set()
        self._bad_crypttext: set[ShareSource] = set()
        self._ueb_suspects: list[tuple[ShareSource, CorruptShareError]] = []
        self._dropped_servers: set[int] = set()
        self._tasks: set[Deferred[None]] = set()
        self.corrupt_shares = 0
        self.failed_shares = 0
        self.timed_out_servers = 0

    def close(self) -> None:
        """Cancel every attempt still running."""
        for task in list(self._tasks):
            task.cancel()

    def describe(self) -> str:
        """Say, for an error message, what went wrong so far."""
        return (
            f"{self._finder.describe()}; {self.corrupt_shares} corrupt shares, "
            f"{self.failed_shares} failed shares, {self.timed_out_servers} servers timed out"
        )

    async def uri_extension(self) -> UriExtension:
        """Open the best shares until one yields the verified URI extension block.

        Shares still opening when it is found go on opening, for the first
        segments to use.
        """
        attempts: _Attempts[None] = _Attempts(self._tasks)
        tried: set[ShareSource] = set()
        while self._verifier.uri_extension is None:
            while len(attempts.running) < self._needed:
                taken = {source.shnum for source in attempts.running}
                source = self._choose(taken, tried)
                if source is None:
                    self._watch_finder(attempts)
                    break
                tried.add(source)
                attempts.launch(source, self._attempt(source, source.open))
            if not attempts.busy:
                raise NotEnoughSharesError(
                    self._needed,
                    0,
                    f"no share gave the cap's URI extension block ({self.describe()})",
                )
            await attempts.next()
        for source, error in self._ueb_suspects:
            self._condemn(source, error)
        return self._verifier.uri_extension

    async def fetch_segment(self, index: int) -> bytes:
        """Return segment ``index``'s ciphertext, proven by the crypttext hash tree."""
        geometry = self._verifier.geometry
        if geometry is None:
            raise RuntimeError("fetch_segment before uri_extension")
        attempts: _Attempts[Block] = _Attempts(self._tasks)
        blocks: dict[int, bytes] = {}
        providers: list[ShareSource] = []
        tried: set[ShareSource] = set()
        crypttext: tuple[ShareSource, dict[int, bytes]] | None = None
        crypttext_asker: ShareSource | None = None
        try:
            while len(blocks) < self._needed:
                while len(blocks) + len(attempts.running) < self._needed:
                    taken = set(blocks) | {source.shnum for source in attempts.running}
                    source = self._choose(taken, tried)
                    if source is None:
                        self._watch_finder(attempts)
                        break
                    tried.add(source)
                    nodes: set[int] | None = None
                    if (
                        crypttext is None
                        and crypttext_asker is None
                        and source not in self._bad_crypttext
                    ):
                        nodes = self._verifier.crypttext_nodes_needed(index) or None
                        crypttext_asker = source if nodes else None
                    fetch = partial(source.fetch_block, index, crypttext_nodes=nodes)
                    attempts.launch(source, self._attempt(source, fetch))
                if not attempts.busy:
                    raise NotEnoughSharesError(
                        self._needed, len(blocks), f"segment {index}: {self.describe()}"
                    )
                outcome = await attempts.next()
                if outcome.source is not None and outcome.source is crypttext_asker:
                    crypttext_asker = None
                if outcome.source is None or outcome.value is None:
                    continue
                block, found_nodes = outcome.value
                blocks[outcome.source.shnum] = block
                providers.append(outcome.source)
                if found_nodes:
                    crypttext = (outcome.source, found_nodes)
        finally:
            attempts.cancel()
        start, end = geometry.segment_span(index)
        ciphertext = decode_segment(blocks, self._needed, self._total)[: end - start]
        await self._prove_segment(index, ciphertext, crypttext, providers)
        return ciphertext

    async def _prove_segment(
        self,
        index: int,
        ciphertext: bytes,
        supplied: tuple[ShareSource, dict[int, bytes]] | None,
        providers: list[ShareSource],
    ) -> None:
        """Check the segment against the crypttext tree, trying other shares' nodes on failure.

        A share whose nodes failed is reported only once the segment is
        proven some other way; if it never is, IntegrityError is raised (the
        segment, or every reachable share's tree, is wrong), or
        NotEnoughSharesError if no share could even send the nodes.
        """
        suspects: list[tuple[ShareSource, CorruptShareError]] = []
        if supplied is not None:
            source, nodes = supplied
            try:
                self._verifier.check_segment(index, ciphertext, nodes)
            except CorruptShareError as error:
                suspects.append((source, error))
            else:
                return
        for source in self._crypttext_candidates(providers, {source for source, _ in suspects}):
            needed = self._verifier.crypttext_nodes_needed(index)
            if not needed:
                break
            found = await self._attempt(source, partial(source.fetch_crypttext_nodes, needed))
            if found is None:
                continue
            try:
                self._verifier.check_segment(index, ciphertext, found)
            except CorruptShareError as error:
                suspects.append((source, error))
                continue
            break
        if self._verifier.crypttext_nodes_needed(index):
            if not suspects:
                raise NotEnoughSharesError(
                    self._needed,
                    len(providers),
                    f"no share could send crypttext hash tree nodes for segment {index} "
                    f"({self.describe()})",
                )
            raise IntegrityError(
                f"segment {index} could not be proven by any share's crypttext hash tree"
            )
        self._verifier.check_segment(index, ciphertext, {})
        for suspect, reason in suspects:
            self._bad_crypttext.add(suspect)
            self._advise(suspect, reason)

    def _crypttext_candidates(
        self, providers: list[ShareSource], excluded: set[ShareSource]
    ) -> list[ShareSource]:
        others = sorted(
            (source for source in self._usable() if source not in providers),
            key=lambda source: (not source.is_open, source.server_rank, source.shnum),
        )
        return [
            source
            for source in [*providers, *others]
            if source not in excluded and source not in self._bad_crypttext
        ]

    def _usable(self) -> list[ShareSource]:
        return [
            source
            for source in self._finder.sources
            if source not in self._unusable and source.server_rank not in self._dropped_servers
        ]

    def _choose(self, taken: set[int], tried: set[ShareSource]) -> ShareSource | None:
        """The best usable share whose number is not taken and that was not tried."""
        candidates = [
            source for source in self._usable() if source.shnum not in taken and source not in tried
        ]
        return min(
            candidates,
            key=lambda source: (
                source.shnum >= self._needed,
                not source.is_open,
                source.server_rank,
                source.shnum,
            ),
            default=None,
        )

    def _watch_finder(self, attempts: "_Attempts[T]") -> None:
        if self._finder.pending:
            attempts.watch(self._finder.when_news())

    async def _attempt(self, source: ShareSource, action: Callable[[], Awaitable[T]]) -> T | None:
        """Run ``action`` on ``source``; on a share failure, deal with it and return None."""
        try:
            return await action()
        except UriExtensionMismatchError as error:
            if self._verifier.uri_extension is None:
                self._unusable.add(source)
                self._ueb_suspects.append((source, error))
            else:
                self._condemn(source, error)
        except CorruptShareError as error:
            self._condemn(source, error)
        except ServerTimeoutError as error:
            self._drop_server(source, error)
        except ServerFailedError as error:
            self._discard(source, error)
        return None

    def _condemn(self, source: ShareSource, error: ShareUnusableError) -> None:
        """Stop using a corrupt share and tell its server."""
        self._unusable.add(source)
        self._advise(source, error)

    def _advise(self, source: ShareSource, error: ShareUnusableError) -> None:
        """Tell a share's server, once, that the share is corrupt."""
        if source in self._advised:
            return
        self._advised.add(source)
        self.corrupt_shares += 1
        _log.warning(
            "download.corrupt-share server=%s shnum=%d reason=%s",
            source.server.name,
            source.shnum,
            error,
        )
        source.advise_corrupt(str(error))

    def _drop_server(self, source: ShareSource, error: ShareUnusableError) -> None:
        """Stop using every share of a server that did not answer in time."""
        if source.server_rank in self._dropped_servers:
            return
        self._dropped_servers.add(source.server_rank)
        self.timed_out_servers += 1
        _log.warning("download.server-timeout server=%s error=%s", source.server.name, error)

    def _discard(self, source: ShareSource, error: ShareUnusableError) -> None:
        """Stop using a share whose server answered with an error."""
        if source in self._unusable:
            return
        self._unusable.add(source)
        self.failed_shares += 1
        _log.warning(
            "download.share-failed server=%s shnum=%d error=%s",
            source.server.name,
            source.shnum,
            error,
        )
