"""Uploading an immutable file: key, servers, encode and push, cap.

Rules: a file of at most 55 bytes becomes a LIT cap and touches no server.
Otherwise the key is convergent (a first pass hashes the whole file with the
convergence secret and the final segment size) or random, and everything
else follows from it as in :mod:`grid.chk_encode`, so the cap is the one
``grid.chk_encode`` (and Tahoe-LAFS) gives for the same file, secret and
parameters. Servers are chosen by :func:`~client.upload.server_selection.select_servers`
with the exact allocated size of the share layout. Then a run of whole
segments (a job of about ``job_size`` bytes) at a time: read the plaintext,
encrypt, hash and erasure-code each segment on the CPU runner (``jobs_ahead``
jobs at a time, so both cores work), and hand each share's blocks of the job,
joined, to its server's :class:`~client.upload.share_writer.ServerShareWriter`
(which gathers them into writes of about ``write_batch_size``); finally
the hash trees and the URI extension block are built on the runner, each
share's trailer is written and every bucket is closed. Shares servers already
hold count toward happiness and are not sent again. A server that fails while
writing is dropped (its buckets aborted); if the servers left no longer reach
``happy``, or anything else goes wrong, every bucket not yet closed is
aborted and the error is raised. The whole file is never in memory.
"""

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from client.upload.cpu import CpuRunner
from client.upload.errors import UploadUnhappinessError
from client.upload.parameters import UploadParameters, UploadTuning
from client.upload.plaintext_source import PlaintextSource, read_exactly
from client.upload.server_selection import ServerSelection, placed_share_count, select_servers
from client.upload.servers import UploadServer
from client.upload.share_writer import ServerShareWriter
from grid.caps import CHKReadCap, LiteralCap
from grid.chk_encode import ChkEncoder, ChkResult, EncodedSegment, encode_chk_segments
from grid.chk_plan import LIT_THRESHOLD, ChkPlan
from grid.hashing import KEY_SIZE, TaggedHasher, convergence_tag, immutable_storage_index
from grid.placement import happiness

_log = logging.getLogger(__name__)


@attrs.frozen
class UploadTimings:
    """Seconds spent in each stage, on the injected clock."""

    key: float
    server_selection: float
    encode_and_push: float
    total: float


@attrs.frozen
class UploadResult:
    """What an upload made and where its shares are.

    ``sharemap`` maps each share number to the ids of the servers holding it
    at the end; ``pushed_shares`` counts the buckets written and closed,
    ``preexisting_shares`` the (server, share) pairs found already stored.
    """

    cap: CHKReadCap | LiteralCap
    storage_index: bytes | None
    sharemap: Mapping[int, frozenset[str]]
    servers_used: frozenset[str]
    pushed_shares: int
    preexisting_shares: int
    happiness: int
    timings: UploadTimings


async def convergent_upload_key(
    source: PlaintextSource,
    convergence_secret: bytes,
    plan: ChkPlan,
    runner: CpuRunner,
    chunk_size: int,
) -> bytes:
    """Hash the whole source, a chunk at a time on the runner, into its convergent key."""
    tag = convergence_tag(convergence_secret, plan.needed, plan.total, plan.segment_size)
    hasher = TaggedHasher(tag, KEY_SIZE)
    hashing: Deferred[None] | None = None
    for offset in range(0, plan.size, chunk_size):
        chunk = await read_exactly(source, offset, min(chunk_size, plan.size - offset))
        if hashing is not None:
            await hashing
        hashing = runner.run(hasher.update, chunk)
    if hashing is not None:
        await hashing
    return hasher.digest()


async def upload_chk(
    source: PlaintextSource,
    *,
    broker_servers: Callable[[bytes], Sequence[UploadServer]],
    convergence_secret: bytes | None,
    random_key: Callable[[], bytes],
    params: UploadParameters,
    lease_secret: bytes,
    clock: IReactorTime,
    runner: CpuRunner,
    tuning: UploadTuning = UploadTuning(),  # noqa: B008  a frozen record is a safe default
) -> UploadResult:
    """Upload ``source`` as an immutable file and return its cap and share map.

    ``broker_servers`` gives the servers in permuted order for a storage
    index; ``convergence_secret`` None means a random key from ``random_key``.
    Raises UploadUnhappinessError, UploadSourceError, or what the runner raised.
    """
    started = clock.seconds()
    if source.size <= LIT_THRESHOLD:
        data = await read_exactly(source, 0, source.size)
        elapsed = clock.seconds() - started
        return UploadResult(
            cap=LiteralCap(data),
            storage_index=None,
            sharemap={},
            servers_used=frozenset(),
            pushed_shares=0,
            preexisting_shares=0,
            happiness=0,
            timings=UploadTimings(0.0, 0.0, 0.0, elapsed),
        )
    plan = ChkPlan(
        size=source.size,
        needed=params.needed,
        total=params.total,
        max_segment_size=params.max_segment_size,
    )
    if convergence_secret is None:
        key = random_key()
    else:
        key = await convergent_upload_key(
            source, convergence_secret, plan, runner, tuning.hash_chunk_size
        )
    keyed = clock.seconds()
    encoder = ChkEncoder(key, plan)
    storage_index = immutable_storage_index(key)
    selection = await select_servers(
        list(broker_servers(storage_index))[: 2 * plan.total],
        storage_index=storage_index,
        allocated_size=encoder.layout.allocated_size,
        total_shares=plan.total,
        happy=params.happy,
        lease_secret=lease_secret,
        clock=clock,
        timeout=tuning.query_timeout,
    )
    selected = clock.seconds()
    push = _Push(
        source, encoder, selection, params=params, tuning=tuning, runner=runner, clock=clock
    )
    try:
        chk = await push.run()
    except BaseException:
        push.abort()
        raise
    finished = clock.seconds()
    placements = push.placements()
    result = UploadResult(
        cap=CHKReadCap(
            key=key,
            uri_extension_hash=chk.uri_extension_hash,
            needed_shares=plan.needed,
            total_shares=plan.total,
            size=plan.size,
        ),
        storage_index=storage_index,
        sharemap=_sharemap(placements),
        servers_used=frozenset(server for server, shares in placements.items() if shares),
        pushed_shares=push.pushed_shares(),
        preexisting_shares=sum(len(selection.existing[server]) for server in placements),
        happiness=happiness(placements),
        timings=UploadTimings(
            key=keyed - started,
            server_selection=selected - keyed,
            encode_and_push=finished - selected,
            total=finished - started,
        ),
    )
    _log.info(
        "upload.done size=%d servers=%d happiness=%d pushed=%d key=%.3fs select=%.3fs push=%.3fs",
        plan.size,
        len(result.servers_used),
        result.happiness,
        result.pushed_shares,
        result.timings.key,
        result.timings.server_selection,
        result.timings.encode_and_push,
    )
    return result


def _sharemap(placements: Mapping[str, frozenset[int]]) -> dict[int, frozenset[str]]:
    holders: dict[int, set[str]] = {}
    for server, shares in placements.items():
        for shnum in shares:
            holders.setdefault(shnum, set()).add(server)
    return {shnum: frozenset(holders[shnum]) for shnum in sorted(holders)}


class _Push:
    """Encodes the file segment by segment and writes the blocks to the selected servers."""

    def __init__(
        self,
        source: PlaintextSource,
        encoder: ChkEncoder,
        selection: ServerSelection,
        *,
        params: UploadParameters,
        tuning: UploadTuning,
        runner: CpuRunner,
        clock: IReactorTime,
    ) -> None:
        self.source = source
        self.encoder = encoder
        self.plan = encoder.plan
        self.selection = selection
        self.happy = params.happy
        self.tuning = tuning
        self.runner = runner
        self.writers = {
            server_id: ServerShareWriter(
                selection.servers[server_id].name,
                buckets,
                clock=clock,
                window=tuning.writes_in_flight,
                batch_size=tuning.write_batch_size,
                timeout=tuning.write_timeout,
            )
            for server_id, buckets in selection.buckets.items()
            if buckets
        }
        self.dropped: set[str] = set()
        self.last_failure = ""
        self.closing = False

    async def run(self) -> ChkResult:
        """Write every share front to back and close it; return the encoding's result."""
        header = self.encoder.share_header()
        for shnum in range(self.plan.total):
            await self.write(shnum, 0, header)
        pending: deque[Deferred[list[EncodedSegment]]] = deque()
        try:
            for first, last in self.jobs():
                start = self.plan.segment_span(first)[0]
                end = self.plan.segment_span(last)[1]
                plaintext = await read_exactly(self.source, start, end - start)
                pending.append(
                    self.runner.run(
                        encode_chk_segments, self.encoder.key, self.plan, first, plaintext
                    )
                )
                if len(pending) >= self.tuning.jobs_ahead:
                    await self.push_segments(await pending.popleft())
            while pending:
                await self.push_segments(await pending.popleft())
        finally:
            for abandoned in pending:
                abandoned.addErrback(_ignore)
        chk = await self.runner.run(self.encoder.finish)
        for shnum, trailer in enumerate(chk.trailers):
            await self.write(shnum, chk.layout.plaintext_hash_tree, trailer)
        self.closing = True
        finishing = [
            Deferred.fromCoroutine(writer.finish())
            for server_id, writer in self.writers.items()
            if server_id not in self.dropped
        ]
        for finished in finishing:
            await finished
        self.check_health()
        return chk

    def jobs(self) -> list[tuple[int, int]]:
        """The runs of segments coded together: first and last index, about ``job_size`` each."""
        per_job = max(1, self.tuning.job_size // self.plan.segment_size)
        count = self.plan.num_segments
        return [(first, min(first + per_job, count) - 1) for first in range(0, count, per_job)]

    async def push_segments(self, segments: list[EncodedSegment]) -> None:
        """Fold a run of coded segments into the file's hashes and queue their blocks."""
        await self.runner.run(self.encoder.add_segments, segments)
        offset = self.encoder.block_offset(segments[0].index)
        for shnum in range(self.plan.total):
            await self.write(shnum, offset, b"".join(segment.blocks[shnum] for segment in segments))
        self.check_health()

    async def write(self, shnum: int, offset: int, data: bytes) -> None:
        """Queue bytes for every server that takes share ``shnum``."""
        for server_id, writer in self.writers.items():
            if shnum in writer.shnums and server_id not in self.dropped:
                await writer.write(shnum, offset, data)

    def placements(self) -> dict[str, frozenset[int]]:
        """Every remaining server's shares: held already, plus written (closed, once closing)."""
        current: dict[str, frozenset[int]] = {}
        for server_id in self.selection.servers:
            if server_id in self.dropped:
                continue
            shares = self.selection.existing.get(server_id, frozenset())
            writer = self.writers.get(server_id)
            if writer is not None:
                shares |= writer.closed if self.closing else writer.shnums
            current[server_id] = shares
        return current

    def check_health(self) -> None:
        """Drop servers whose calls failed; raise UploadUnhappinessError if too few remain."""
        newly_failed = [
            server_id
            for server_id, writer in self.writers.items()
            if writer.failed and server_id not in self.dropped
        ]
        for server_id in newly_failed:
            writer = self.writers[server_id]
            self.dropped.add(server_id)
            self.last_failure = f"{writer.server_name}: {writer.failure}"
            writer.abort()
        if not newly_failed and not self.closing:
            return
        current = self.placements()
        achieved = happiness(current)
        if achieved < self.happy:
            raise UploadUnhappinessError(
                asked=self.selection.asked,
                answered=self.selection.answered,
                placed=placed_share_count(current),
                happiness=achieved,
                happy=self.happy,
                last_failure=self.last_failure,
            )

    def pushed_shares(self) -> int:
        """How many buckets were written and closed on servers still in the upload."""
        return sum(
            len(writer.closed)
            for server_id, writer in self.writers.items()
            if server_id not in self.dropped
        )

    def abort(self) -> None:
        """Abort every bucket not yet closed."""
        for server_id, writer in self.writers.items():
            if server_id not in self.dropped:
                writer.abort()


def _ignore(_failure: Failure) -> None:
    """Swallow the failure of work whose result is no longer wanted."""
