"""Publishing an MDMF version from a plaintext source, a batch of segments at a time.

Rules:

- The new version gets seqnum = highest seen + 1 and the shares go where
  :func:`~client.mutable.placement.place_shares` says, as for any publish.
- The file is cut into batches of whole segments (``batch_size`` bytes of
  plaintext, at least one segment). A batch is read from the source, each of
  its segments coded on the CPU runner as its own job (so both cores work),
  and the next batch is coded while the current one is written: at most two
  batches are in memory, whatever the file's size. What is kept for the
  whole file is each share's block hashes (32 bytes per segment per share).
- A file of one batch is written whole: one data vector per share, in one
  call per server (:func:`~client.mutable.publish.publish_version`, with its
  re-placement of shares lost to failed servers).
- A larger file is written as Tahoe's MDMF publisher writes it, in several
  test-and-write calls per server:

  1. the first batch's pieces and, at byte 0, the in-progress checkstring
     (:func:`~client.mutable.mdmf_stream.in_progress_checkstring`), tested
     against what the servermap saw (or "must not exist"); shares lost to
     failed servers are re-placed, as the batch is still in hand;
  2. each later batch, tested against the in-progress checkstring;
  3. last, the block hash tree and then the front (offsets, key, share hash
     chain, signature, verification key, the real checkstring), tested
     against the in-progress checkstring.

  A failed test at any step means another writer touched the file:
  :class:`~client.mutable.errors.UncoordinatedWriteError` at once, and
  nothing more is written. Until step 3 lands no share of the new version
  verifies, so a reader never takes a half-written version for the newest.
  A share whose server fails after step 1 is dropped for the rest of the
  publish (its earlier batches are no longer in memory); fewer than k share
  numbers left raises NotEnoughSharesError.
"""

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import attrs
from twisted.internet.interfaces import IReactorTime

from client.download.remote_calls import gather
from client.mutable.encode import RandomBytes
from client.mutable.keys import MutableKeys
from client.mutable.mdmf_stream import (
    CodedSegment,
    MdmfEnds,
    MdmfLayout,
    code_mdmf_segment,
    finish_mdmf,
    in_progress_checkstring,
)
from client.mutable.placement import Placement, place_shares
from client.mutable.publish import PublishResult, log_partial, publish_version, write_shares
from client.mutable.servermap import DEFAULT_TIMEOUT, ServerMap
from client.mutable.servers import DataVector, MutableServer
from client.upload.cpu import CpuRunner
from client.upload.plaintext_source import PlaintextSource, read_exactly
from grid.formats.mdmf import MDMF_CHECKSTRING_SIZE, SALT_SIZE

DEFAULT_BATCH_SIZE = 4 << 20
"""Plaintext bytes per batch: 32 segments of 128 KiB, about 13 MiB of shares at 3-of-10."""


@attrs.frozen
class _Batch:
    """Coded segments ``first`` .. ``first + len(segments) - 1``."""

    first: int
    segments: tuple[CodedSegment, ...] = attrs.field(repr=False)

    def piece_run(self, shnum: int) -> bytes:
        """Share ``shnum``'s pieces of this batch, contiguous as they sit in the share."""
        return b"".join(segment.pieces[shnum] for segment in self.segments)


_BatchWrite = Callable[
    [_Batch, Mapping[str, frozenset[int]]], Coroutine[Any, Any, dict[str, frozenset[int]]]
]
"""Writes a batch to the shares placed so far; returns where they are now."""


class _StreamPublisher:
    """One publish of one MDMF version from a source; see the module rules."""

    def __init__(
        self,
        keys: MutableKeys,
        source: PlaintextSource,
        layout: MdmfLayout,
        servermap: ServerMap,
        *,
        runner: CpuRunner,
        random_bytes: RandomBytes,
        lease_secret: bytes,
        clock: IReactorTime,
        timeout: float,
        batch_size: int,
    ) -> None:
        self._keys = keys
        self._source = source
        self._layout = layout
        self._seqnum = servermap.highest_seqnum() + 1
        self._servers: Sequence[MutableServer] = servermap.responding_servers
        self._plan = place_shares(
            [server.server_id for server in self._servers],
            servermap.found,
            layout.total_shares,
        )
        self._runner = runner
        self._random_bytes = random_bytes
        self._lease_secret = lease_secret
        self._clock = clock
        self._timeout = timeout
        self._per_batch = max(1, batch_size // layout.segment_size)
        self._leaves: list[list[bytes]] = [[] for _ in range(layout.total_shares)]
        self._first_salt = b""
        self._unconfirmed: set[str] = set()

    async def publish(self) -> PublishResult:
        """Code and write every batch, then the ends; return where the shares landed."""
        starts = range(0, self._layout.num_segments, self._per_batch)
        if len(starts) <= 1:
            return await self._publish_whole()
        batch = await self._code(starts[0])
        placed: dict[str, frozenset[int]] = {}
        write: _BatchWrite = self._write_first
        for start in starts[1:]:
            batch, placed = await gather(self._code(start), write(batch, placed))
            write = self._write_later
        placed = await write(batch, placed)
        ends = await self._finish()
        placed = await self._write_round(
            placed, lambda shnum: [self._tree_vector(ends, shnum), (0, ends.fronts[shnum])]
        )
        result = PublishResult(ends.version, placed, frozenset(self._unconfirmed))
        log_partial(result)
        return result

    async def _publish_whole(self) -> PublishResult:
        """A file of at most one batch: every share written whole in one call per server."""
        batch = await self._code(0)
        ends = await self._finish()
        shares = {
            shnum: b"".join(
                [ends.fronts[shnum], batch.piece_run(shnum), ends.block_hash_trees[shnum]]
            )
            for shnum in range(self._layout.total_shares)
        }

        def whole(shnum: int, _new: bool) -> DataVector:
            return [(0, shares[shnum])]

        return await publish_version(
            self._keys,
            ends.version,
            whole,
            self._plan,
            self._servers,
            lease_secret=self._lease_secret,
            checkstring_size=MDMF_CHECKSTRING_SIZE,
            clock=self._clock,
            timeout=self._timeout,
        )

    async def _code(self, first: int) -> _Batch:
        """Read and code the batch starting at segment ``first``; keep its block hashes."""
        segments = range(first, min(first + self._per_batch, self._layout.num_segments))
        if not segments:
            return _Batch(first, ())
        offset, _length = self._layout.segment_span(first)
        last_offset, last_length = self._layout.segment_span(segments[-1])
        plaintext = memoryview(
            await read_exactly(self._source, offset, last_offset + last_length - offset)
        )
        jobs = []
        for segment in segments:
            start, length = self._layout.segment_span(segment)
            salt = self._random_bytes(SALT_SIZE)
            if segment == 0:
                self._first_salt = salt
            jobs.append(
                self._runner.run(
                    code_mdmf_segment,
                    self._keys.readkey,
                    salt,
                    bytes(plaintext[start - offset : start - offset + length]),
                    self._layout.needed_shares,
                    self._layout.total_shares,
                )
            )
        coded: list[CodedSegment] = [await job for job in jobs]
        for piece in coded:
            for shnum, leaf in enumerate(piece.leaves):
                self._leaves[shnum].append(leaf)
        return _Batch(first, tuple(coded))

    async def _finish(self) -> MdmfEnds:
        ends: MdmfEnds = await self._runner.run(
            finish_mdmf, self._keys, self._layout, self._seqnum, self._leaves
        )
        return ends

    def _in_progress(self) -> bytes:
        return in_progress_checkstring(self._seqnum, self._first_salt)

    def _tree_vector(self, ends: MdmfEnds, shnum: int) -> tuple[int, bytes]:
        return (self._layout.block_hash_tree_offset, ends.block_hash_trees[shnum])

    async def _write_first(
        self, batch: _Batch, _placed: Mapping[str, frozenset[int]]
    ) -> dict[str, frozenset[int]]:
        """Create (or take over) every share: the in-progress checkstring and the first pieces."""
        checkstring = self._in_progress()
        offset = self._layout.piece_offset(batch.first)

        def vectors(shnum: int, _new: bool) -> DataVector:
            return [(0, checkstring), (offset, batch.piece_run(shnum))]

        return await write_shares(
            self._keys,
            vectors,
            self._plan,
            self._servers,
            needed=self._layout.needed_shares,
            total=self._layout.total_shares,
            lease_secret=self._lease_secret,
            checkstring_size=MDMF_CHECKSTRING_SIZE,
            clock=self._clock,
            timeout=self._timeout,
            unconfirmed=self._unconfirmed,
        )

    async def _write_later(
        self, batch: _Batch, placed: Mapping[str, frozenset[int]]
    ) -> dict[str, frozenset[int]]:
        """Write one later batch's pieces to every share still being written."""
        offset = self._layout.piece_offset(batch.first)
        return await self._write_round(placed, lambda shnum: [(offset, batch.piece_run(shnum))])

    async def _write_round(
        self,
        placed: Mapping[str, frozenset[int]],
        data: Callable[[int], DataVector],
    ) -> dict[str, frozenset[int]]:
        """Write ``data(shnum)`` to each placed share, tested for the in-progress checkstring."""
        checkstring = self._in_progress()
        plan: Placement = {
            server_id: dict.fromkeys(shnums, checkstring) for server_id, shnums in placed.items()
        }

        def vectors(shnum: int, new: bool) -> DataVector | None:
            return None if new else data(shnum)

        return await write_shares(
            self._keys,
            vectors,
            plan,
            self._servers,
            needed=self._layout.needed_shares,
            total=self._layout.total_shares,
            lease_secret=self._lease_secret,
            checkstring_size=MDMF_CHECKSTRING_SIZE,
            clock=self._clock,
            timeout=self._timeout,
        )


async def publish_mdmf(
    keys: MutableKeys,
    source: PlaintextSource,
    layout: MdmfLayout,
    servermap: ServerMap,
    *,
    runner: CpuRunner,
    random_bytes: RandomBytes,
    lease_secret: bytes,
    clock: IReactorTime,
    timeout: float = DEFAULT_TIMEOUT,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PublishResult:
    """Publish ``source`` as the next MDMF version of the file ``servermap`` mapped.

    ``layout`` gives k, N, the segment size and the data length (the
    source's size); see the module rules for the writes and what can go wrong.
    """
    publisher = _StreamPublisher(
        keys,
        source,
        layout,
        servermap,
        runner=runner,
        random_bytes=random_bytes,
        lease_secret=lease_secret,
        clock=clock,
        timeout=timeout,
        batch_size=batch_size,
    )
    return await publisher.publish()
