"""Repairing a CHK file: rebuild the shares that have no good copy and place them.

Rules:

- Repair works from the verify cap: blocks are ciphertext, so rebuilding a
  share needs no key. It builds on a check or verify
  (:func:`~client.check.checker.survey_chk`); a healthy file is left alone
  (``repair-attempted`` false), an unrecoverable one is not touched and the
  attempt fails at once.
- The shares to rebuild are the share numbers with no good copy: missing
  ones, and (after a verify) ones whose only copies are corrupt. Corrupt
  copies are left where they are; their servers were told.
- Every rebuilt share is byte for byte what the upload wrote (see
  :mod:`client.check.rebuild`): same header and allocated size as the good
  share first proven, blocks coded again from k proven blocks per segment
  (:mod:`client.check.block_supply`), trees proven against the UEB's roots
  before any bucket is closed.
- Placement (:mod:`client.check.repair_plan`): only servers that answered
  the check and accept a share of this size; each rebuilt share goes to a
  server holding no copy of it, servers holding no share of the file first,
  in permuted order. ``allocate_buckets`` (with this client's lease secrets
  for each server) also renews the leases of the shares a server holds. A
  server that already has a share it was asked for is not asked for it
  again; one that refuses shares is full; one that fails is dropped. The
  plan is made again for what is left until every share is placed or no
  server can take it.
- Writes go through the uploader's windowed
  :class:`~client.upload.share_writer.ServerShareWriter`, front to back:
  header, blocks segment by segment, trailer. Decoding and coding run on
  the CPU runner, the next segment's blocks are fetched meanwhile.
- The post-repair results are the pre-repair results plus the shares placed
  (as Tahoe-LAFS computes them); the repair succeeded when they are
  healthy. A repair that fails (too few good shares, rebuilt trees that do
  not match the UEB, no server to take a share) aborts every bucket it
  opened and says why in the results; it does not raise.
"""

import logging
from collections.abc import Callable, Mapping, Sequence

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from client.check.block_supply import BlockSupply
from client.check.checker import DEFAULT_READ_TIMEOUT, ShareSurvey, survey_chk
from client.check.errors import RepairError
from client.check.rebuild import ShareRebuilder, rebuild_segment
from client.check.repair_plan import place_rebuilt_shares
from client.check.results import CheckAndRepairResults, CheckResults
from client.check.servers import CheckServer
from client.check.share_proof import FileProof
from client.check.share_reader import ShareReader
from client.upload import CpuRunner, UploadServer, UploadTuning
from client.upload.deadline import within
from client.upload.servers import BucketWriter
from client.upload.share_writer import ServerShareWriter, abort_buckets
from grid.base32 import b2a
from grid.caps import CHKReadCap, CHKVerifyCap
from grid.errors import GridError
from grid.hashing import lease_secrets

_log = logging.getLogger(__name__)


async def check_and_repair_chk(
    cap: CHKReadCap | CHKVerifyCap,
    check_servers: Sequence[CheckServer],
    upload_servers: Sequence[UploadServer],
    *,
    lease_secret: bytes,
    clock: IReactorTime,
    runner: CpuRunner,
    verify: bool = False,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    tuning: UploadTuning = UploadTuning(),  # noqa: B008  a frozen record is a safe default
) -> CheckAndRepairResults:
    """Check (or verify) ``cap``, then repair it if it is not healthy."""
    survey = await survey_chk(
        cap, check_servers, clock=clock, verify=verify, read_timeout=read_timeout
    )
    return await repair_chk(
        survey,
        upload_servers,
        lease_secret=lease_secret,
        clock=clock,
        runner=runner,
        read_timeout=read_timeout,
        tuning=tuning,
    )


async def repair_chk(
    survey: ShareSurvey,
    upload_servers: Sequence[UploadServer],
    *,
    lease_secret: bytes,
    clock: IReactorTime,
    runner: CpuRunner,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    tuning: UploadTuning = UploadTuning(),  # noqa: B008  a frozen record is a safe default
) -> CheckAndRepairResults:
    """Rebuild and place the shares ``survey`` found without a good copy.

    ``upload_servers`` are the connected servers in permuted order.
    """
    pre = survey.results
    if pre.healthy:
        return CheckAndRepairResults(pre, pre, repair_attempted=False, repair_successful=False)
    if not pre.recoverable:
        return _failed(
            pre,
            f"unrecoverable: {pre.count_shares_good} good shares found, "
            f"{pre.needed_shares} are needed to rebuild the others",
        )
    repair = _Repair(
        survey,
        upload_servers,
        lease_secret=lease_secret,
        clock=clock,
        runner=runner,
        read_timeout=read_timeout,
        tuning=tuning,
    )
    try:
        placed = await repair.run()
    except GridError as error:
        repair.abort()
        return _failed(pre, str(error))
    except BaseException:
        repair.abort()
        raise
    post = pre.with_shares_added(placed)
    _log.info(
        "repair.done si=%s placed=%d healthy=%s",
        b2a(pre.storage_index),
        sum(len(shnums) for shnums in placed.values()),
        post.healthy,
    )
    failure = None if post.healthy else f"only {post.count_shares_good} shares are placed"
    return CheckAndRepairResults(
        pre, post, repair_attempted=True, repair_successful=post.healthy, failure=failure
    )


def _failed(pre: CheckResults, reason: str) -> CheckAndRepairResults:
    _log.info("repair.failed si=%s reason=%s", b2a(pre.storage_index), reason)
    return CheckAndRepairResults(
        pre, pre, repair_attempted=True, repair_successful=False, failure=reason
    )


class _Repair:
    """One repair: read good shares, allocate buckets, rebuild and write the lost shares."""

    def __init__(
        self,
        survey: ShareSurvey,
        upload_servers: Sequence[UploadServer],
        *,
        lease_secret: bytes,
        clock: IReactorTime,
        runner: CpuRunner,
        read_timeout: float,
        tuning: UploadTuning,
    ) -> None:
        self.survey = survey
        self.cap = survey.verify_cap
        self.upload_servers = [
            server for server in upload_servers if server.server_id in survey.holdings
        ]
        self.lease_secret = lease_secret
        self.clock = clock
        self.runner = runner
        self.read_timeout = read_timeout
        self.tuning = tuning
        self.proof = FileProof(self.cap)
        self.buckets: dict[str, dict[int, BucketWriter]] = {}
        self.writers: dict[str, ServerShareWriter] = {}

    def share_readers(self) -> list[ShareReader]:
        """Every good share, primary shares first, then in permuted server order."""
        rank = {server_id: position for position, server_id in enumerate(self.survey.holdings)}
        good = [
            (shnum, server_id)
            for shnum, holders in self.survey.results.sharemap.items()
            for server_id in holders
        ]
        good.sort(key=lambda item: (item[0] >= self.cap.needed_shares, rank[item[1]], item[0]))
        return [
            ShareReader(
                server=self.survey.servers[server_id],
                shnum=shnum,
                reader=self.survey.holdings[server_id][shnum],
                proof=self.proof,
                clock=self.clock,
                read_timeout=self.read_timeout,
            )
            for shnum, server_id in good
        ]

    async def run(self) -> dict[str, frozenset[int]]:
        """Rebuild and write every share that can be placed; return where they went."""
        supply = BlockSupply(self.share_readers(), self.cap.needed_shares)
        layout = (await supply.open_any()).layout
        ueb, _ = self.proof.proven()
        packed = self.proof.packed_uri_extension
        if packed is None:  # pragma: no cover  set together with the UEB
            raise RuntimeError("no packed URI extension block")
        missing = set(range(self.cap.total_shares)) - set(self.survey.results.sharemap)
        await self.allocate(missing, layout.allocated_size)
        if not self.buckets:
            raise RepairError(f"no server would take any of the {len(missing)} lost shares")
        self.writers = {
            server_id: ServerShareWriter(
                self.server_name(server_id),
                buckets,
                clock=self.clock,
                window=self.tuning.writes_in_flight,
                batch_size=self.tuning.write_batch_size,
                timeout=self.tuning.write_timeout,
            )
            for server_id, buckets in self.buckets.items()
        }
        rebuilder = ShareRebuilder(
            layout=layout,
            uri_extension=ueb,
            packed_uri_extension=packed,
            total_shares=self.cap.total_shares,
        )
        header = layout.pack_header()
        await self.write(0, lambda _shnum: header)
        await self.push_segments(supply, rebuilder)
        wanted = frozenset().union(*(writer.shnums for writer in self.writers.values()))
        trailers = await self.runner.run(rebuilder.trailers, wanted)
        await self.write(layout.plaintext_hash_tree, trailers.__getitem__)
        placed = {}
        for server_id, writer in self.writers.items():
            await writer.finish()
            if writer.failed:
                writer.abort()
            elif writer.closed:
                placed[server_id] = writer.closed
        return placed

    async def push_segments(self, supply: BlockSupply, rebuilder: ShareRebuilder) -> None:
        """Rebuild every segment's lost blocks and write them; fetch the next meanwhile."""
        _, geometry = self.proof.proven()
        wanted = frozenset().union(*(writer.shnums for writer in self.writers.values()))
        fetching = Deferred.fromCoroutine(supply.blocks(0))
        try:
            for index in range(geometry.num_segments):
                blocks = await fetching
                if index + 1 < geometry.num_segments:
                    fetching = Deferred.fromCoroutine(supply.blocks(index + 1))
                segment = await self.runner.run(
                    rebuild_segment,
                    blocks,
                    index=index,
                    geometry=geometry,
                    needed=self.cap.needed_shares,
                    total=self.cap.total_shares,
                    wanted=wanted,
                )
                rebuilder.add_segment(segment)
                await self.write(rebuilder.block_offset(index), segment.blocks.__getitem__)
        finally:
            fetching.cancel()
            fetching.addErrback(_ignore)

    async def write(self, offset: int, data_for: Callable[[int], bytes]) -> None:
        """Queue ``data_for(shnum)`` at ``offset`` of every rebuilt share."""
        for writer in self.writers.values():
            for shnum in sorted(writer.shnums):
                await writer.write(shnum, offset, data_for(shnum))

    def server_name(self, server_id: str) -> str:
        """The short name of a candidate server."""
        return next(server.name for server in self.upload_servers if server.server_id == server_id)

    async def allocate(self, shares: set[int], allocated_size: int) -> None:
        """Allocate buckets for ``shares``, planning again after refusals and failures."""
        servers = {
            server.server_id: server
            for server in self.upload_servers
            if server.maximum_immutable_share_size >= allocated_size
        }
        writable = list(servers)
        holdings = {server_id: set(readers) for server_id, readers in self.survey.holdings.items()}
        excluded: dict[str, set[int]] = {}
        remaining = set(shares)
        while remaining and writable:
            current = {
                server_id: holdings[server_id] | set(self.buckets.get(server_id, {}))
                for server_id in writable
            }
            plan = place_rebuilt_shares(
                remaining, servers=writable, holdings=current, excluded=excluded
            )
            if not plan:
                break
            asking = {
                server_id: self.ask_to_allocate(servers[server_id], shnums, allocated_size)
                for server_id, shnums in plan.items()
            }
            for server_id, answer in asking.items():
                server = servers[server_id]
                try:
                    alreadygot, writers = await answer
                except Exception as error:  # noqa: BLE001  one server's failure only drops it
                    _log.info("repair.server-dropped server=%s error=%s", server.name, error)
                    writable.remove(server_id)
                    continue
                asked = plan[server_id]
                held = asked & frozenset(alreadygot)
                granted = {
                    shnum: writer
                    for shnum, writer in writers.items()
                    if shnum in asked and shnum not in held
                }
                abort_buckets(
                    server.name,
                    {shnum: writer for shnum, writer in writers.items() if shnum not in granted},
                )
                self.buckets.setdefault(server_id, {}).update(granted)
                remaining -= set(granted)
                excluded.setdefault(server_id, set()).update(held)
                if asked - held - set(granted):
                    _log.info("repair.shares-refused server=%s", server.name)
                    writable.remove(server_id)

    def ask_to_allocate(
        self, server: UploadServer, shnums: frozenset[int], allocated_size: int
    ) -> "Deferred[tuple[frozenset[int], Mapping[int, BucketWriter]]]":
        """Call ``allocate_buckets`` on ``server`` within the query timeout."""
        renew_secret, cancel_secret = lease_secrets(
            self.lease_secret, self.cap.storage_index, server.lease_seed
        )

        async def allocate() -> tuple[frozenset[int], Mapping[int, BucketWriter]]:
            alreadygot, writers = await server.allocate_buckets(
                self.cap.storage_index, renew_secret, cancel_secret, shnums, allocated_size
            )
            return frozenset(alreadygot), writers

        return within(
            allocate(), self.tuning.query_timeout, self.clock, f"{server.name}: allocate_buckets"
        )

    def abort(self) -> None:
        """Abort every bucket opened and not closed."""
        for server_id, buckets in self.buckets.items():
            writer = self.writers.get(server_id)
            if writer is not None:
                writer.abort()
            else:
                abort_buckets(self.server_name(server_id), buckets)


def _ignore(_failure: Failure) -> None:
    """Swallow the failure of work whose result is no longer wanted."""
