"""Repairing a mutable file: republish its newest recoverable version over every share.

Rules (as Tahoe-LAFS 1.20 repairs mutable files):

- Repair needs the **write cap**. Writing a mutable share takes the write
  enabler, derived from the write key: a server checks it against the one
  recorded in the slot, and a slot created with any other enabler would
  lock the real writer out of that server for good. So from a read cap or
  a verify cap an unhealthy file is checked but not repaired
  (``repair-attempted`` false, with the reason in ``failure``), as Tahoe
  does. A healthy file is left alone.
- A repair republishes the best recoverable version's contents as a new
  version: read and verified from k shares, the signing key recovered from
  a share and checked against the write key, encoded again in the cap's
  format with the version's k, N (and, for MDMF, segment size), signed with
  seqnum = the highest seen + 1, and written over every share the check
  found (good, wrong-version and corrupt alike) and onto servers for the
  missing share numbers (:mod:`client.mutable.placement`), with test
  vectors so a concurrent writer is detected. Afterwards one version
  remains. (Rebuilding only the missing shares of the old version would
  also be possible, since its signature covers the root hash; but it
  cannot merge several versions, so, like Tahoe, this module always
  republishes.)
- A file with no recoverable version is not touched: nothing is written,
  the attempt fails at once. If a version newer than the best recoverable
  one exists but is unrecoverable, republishing would roll the file back:
  the repair refuses unless ``force`` is given (Tahoe's
  MustForceRepairError).
- The post-repair results come from a fresh check of the same servers; the
  repair succeeded when they are healthy. A repair that fails (another
  writer, too few servers, no usable private key) says why in the results;
  it does not raise.
"""

import logging
import os
from collections.abc import Callable, Sequence

from twisted.internet.interfaces import IReactorTime

from client.check.mutable_checker import (
    MutableCap,
    MutableSurvey,
    check_mutable,
    survey_mutable,
)
from client.check.mutable_results import MutableCheckAndRepairResults, MutableCheckResults
from client.mutable.encode import MDMF_MAX_SEGMENT_SIZE, EncodedVersion, encode_mdmf, encode_sdmf
from client.mutable.keys import keys_from_cap
from client.mutable.placement import place_shares
from client.mutable.publish import publish_version, whole_shares
from client.mutable.retrieve import read_version
from client.mutable.servermap import DEFAULT_TIMEOUT, ServerMap, VersionId, checkstring_size
from client.mutable.servers import MutableServer
from client.mutable.signing_key import fetch_private_key
from client.upload.cpu import CpuRunner
from grid.base32 import b2a
from grid.caps.mutable import MutableFormat, MutableWriteCap
from grid.errors import GridError

_log = logging.getLogger(__name__)

NEEDS_WRITE_CAP = "repairing a mutable file needs its write cap (to set the write enabler)"


async def check_and_repair_mutable(
    cap: MutableCap,
    servers: Sequence[MutableServer],
    *,
    lease_secret: bytes,
    clock: IReactorTime,
    runner: CpuRunner,
    verify: bool = False,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> MutableCheckAndRepairResults:
    """Check (or verify) the mutable file ``cap`` names, then repair it if it is not healthy.

    ``servers`` are the connected servers in permuted order.
    """
    survey = await survey_mutable(cap, servers, clock=clock, verify=verify, timeout=timeout)
    return await repair_mutable(
        cap,
        survey,
        servers,
        lease_secret=lease_secret,
        clock=clock,
        runner=runner,
        force=force,
        timeout=timeout,
        random_bytes=random_bytes,
    )


async def repair_mutable(
    cap: MutableCap,
    survey: MutableSurvey,
    servers: Sequence[MutableServer],
    *,
    lease_secret: bytes,
    clock: IReactorTime,
    runner: CpuRunner,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> MutableCheckAndRepairResults:
    """Republish the best version ``survey`` found, if the file is not healthy."""
    pre = survey.results
    if pre.healthy:
        return MutableCheckAndRepairResults(
            pre, pre, repair_attempted=False, repair_successful=False
        )
    if not isinstance(cap, MutableWriteCap):
        return MutableCheckAndRepairResults(
            pre, pre, repair_attempted=False, repair_successful=False, failure=NEEDS_WRITE_CAP
        )
    servermap = survey.servermap
    best = servermap.best_version()
    if best is None:
        return _failed(pre, "unrecoverable: no version of the file has enough good shares")
    newer = [version for version in servermap.versions() if version.rank > best.rank]
    if newer and not force:
        return _failed(
            pre,
            f"a newer version (seqnum {max(v.seqnum for v in newer)}) is unrecoverable; "
            f"repairing would roll the file back to seqnum {best.seqnum}: use force to do so",
        )
    try:
        await _republish(
            cap,
            servermap,
            best,
            lease_secret=lease_secret,
            clock=clock,
            runner=runner,
            timeout=timeout,
            random_bytes=random_bytes,
        )
    except GridError as error:
        return _failed(pre, f"republishing failed: {error}")
    post = await check_mutable(cap, servers, clock=clock, timeout=timeout)
    _log.info(
        "repair.mutable.done si=%s seqnum=%d healthy=%s",
        b2a(pre.storage_index),
        servermap.highest_seqnum() + 1,
        post.healthy,
    )
    failure = None if post.healthy else f"after republishing: {post.summary}"
    return MutableCheckAndRepairResults(
        pre, post, repair_attempted=True, repair_successful=post.healthy, failure=failure
    )


def _failed(pre: MutableCheckResults, reason: str) -> MutableCheckAndRepairResults:
    _log.info("repair.mutable.failed si=%s reason=%s", b2a(pre.storage_index), reason)
    return MutableCheckAndRepairResults(
        pre, pre, repair_attempted=True, repair_successful=False, failure=reason
    )


async def _republish(
    cap: MutableWriteCap,
    servermap: ServerMap,
    best: VersionId,
    *,
    lease_secret: bytes,
    clock: IReactorTime,
    runner: CpuRunner,
    timeout: float,
    random_bytes: Callable[[int], bytes],
) -> None:
    """Read ``best``, encode its contents as the next version and write it over every share."""
    keys = keys_from_cap(cap)
    contents = await read_version(servermap, best, keys, clock=clock, timeout=timeout)
    private_key = await fetch_private_key(servermap, keys, clock=clock, timeout=timeout)
    keys = keys.with_private_key(private_key)
    seqnum = servermap.highest_seqnum() + 1
    encoded: EncodedVersion
    if cap.format is MutableFormat.SDMF:
        encoded = await runner.run(
            encode_sdmf,
            keys,
            contents,
            needed=best.needed_shares,
            total=best.total_shares,
            seqnum=seqnum,
            random_bytes=random_bytes,
        )
    else:
        encoded = await runner.run(
            encode_mdmf,
            keys,
            contents,
            needed=best.needed_shares,
            total=best.total_shares,
            seqnum=seqnum,
            random_bytes=random_bytes,
            max_segment_size=best.segment_size or MDMF_MAX_SEGMENT_SIZE,
        )
    writers = servermap.responding_servers
    plan = place_shares(
        [server.server_id for server in writers], servermap.found, best.total_shares
    )
    await publish_version(
        keys,
        encoded.version,
        whole_shares(encoded.shares),
        plan,
        writers,
        lease_secret=lease_secret,
        checkstring_size=checkstring_size(encoded.version.share_version),
        clock=clock,
        timeout=timeout,
    )
