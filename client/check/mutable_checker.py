"""Checking and verifying a mutable file (SDMF or MDMF): its versions, and which shares are good.

Rules (Tahoe-LAFS 1.20's mutable checker):

- Any mutable cap will do, down to the verify cap: a check needs only the
  storage index and the key fingerprint, and a verify checks ciphertext
  blocks against hash trees, which need no key.
- Every server given (the connected servers, in permuted order) is mapped
  at once (:func:`~client.mutable.servermap.map_servers`, reading 1000
  bytes per share as Tahoe's check mode does). A share counts only if its
  header parses and its key and signature check out; the others are
  listed as corrupt (the servermap told their servers). A server that
  fails or does not answer is not responding and contributes nothing.
- A *check* counts every share the map found good. A *verify* then reads
  every share of the best recoverable version whole, side by side
  (:mod:`client.check.mutable_share_verify`), and keeps only the shares
  that pass: a corrupt one is listed and its server told
  (``advise_corrupt_share``) before the verify returns; one whose server
  fails, or that changed to another version meanwhile, is neither good nor
  corrupt. Shares of other versions are not verified.
- Shares numbered outside ``0 .. N-1`` of their version are ignored.
- Results are :class:`~client.check.mutable_results.MutableCheckResults`;
  nothing here raises on purpose.
"""

import logging
from collections.abc import Sequence

import attrs
from twisted.internet.interfaces import IReactorTime

from client.check.checker import Verdict
from client.check.mutable_results import MutableCheckResults, VersionShares
from client.check.mutable_share_verify import verify_mutable_share
from client.check.results import ShareLocation
from client.download.errors import ServerFailedError, ServerTimeoutError
from client.download.remote_calls import gather
from client.mutable.errors import CorruptMutableShareError, ShareChangedError
from client.mutable.servermap import (
    DEFAULT_TIMEOUT,
    MappedShare,
    ServerMap,
    VersionId,
    advise_corrupt,
    map_servers,
)
from client.mutable.servers import MutableServer
from grid.base32 import b2a
from grid.caps.mutable import MutableReadCap, MutableVerifyCap, MutableWriteCap

CHECK_READ_SIZE = 1000

MutableCap = MutableWriteCap | MutableReadCap | MutableVerifyCap

_log = logging.getLogger(__name__)


@attrs.frozen
class MutableSurvey:
    """What a check learned, kept for a repair.

    ``servermap`` holds only the shares still counted good (a verify drops
    the ones it failed), but still records, in ``found``, the start of every
    share each server holds, so a writer can replace the bad ones.
    """

    servermap: ServerMap
    results: MutableCheckResults


async def check_mutable(
    cap: MutableCap,
    servers: Sequence[MutableServer],
    *,
    clock: IReactorTime,
    verify: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> MutableCheckResults:
    """Check (or, with ``verify``, verify) the mutable file ``cap`` names on ``servers``."""
    survey = await survey_mutable(cap, servers, clock=clock, verify=verify, timeout=timeout)
    return survey.results


async def survey_mutable(
    cap: MutableCap,
    servers: Sequence[MutableServer],
    *,
    clock: IReactorTime,
    verify: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> MutableSurvey:
    """Check or verify like :func:`check_mutable`, keeping what a repair needs."""
    identity = cap.verify_cap()
    storage_index = identity.storage_index
    servermap = await map_servers(
        servers, identity, clock=clock, timeout=timeout, read_size=CHECK_READ_SIZE
    )
    corrupt = [
        ShareLocation(server_id, storage_index, shnum)
        for server_id, shnum, _reason in servermap.bad_shares
    ]
    best = servermap.best_version()
    if verify and best is not None:
        shares = servermap.shares_of(best)
        verdicts = await gather(
            *(_verify(share, storage_index, clock=clock, timeout=timeout) for share in shares)
        )
        failed = {
            id(share)
            for share, verdict in zip(shares, verdicts, strict=True)
            if verdict is not Verdict.GOOD
        }
        corrupt.extend(
            ShareLocation(share.server.server_id, storage_index, share.shnum)
            for share, verdict in zip(shares, verdicts, strict=True)
            if verdict is Verdict.CORRUPT
        )
        servermap = attrs.evolve(
            servermap, shares=[share for share in servermap.shares if id(share) not in failed]
        )
    results = MutableCheckResults(
        storage_index=storage_index,
        versions=_versions(servermap),
        servers_responding=tuple(server.server_id for server in servermap.responding_servers),
        corrupt_shares=tuple(corrupt),
    )
    _log.info(
        "check.mutable.done si=%s verify=%s good=%d versions=%d corrupt=%d responding=%d",
        b2a(storage_index),
        verify,
        results.count_shares_good,
        len(results.versions),
        len(corrupt),
        len(results.servers_responding),
    )
    return MutableSurvey(servermap, results)


def _versions(servermap: ServerMap) -> list[VersionShares]:
    """Every version with a good share in range, and where its good shares are."""
    holders: dict[VersionId, dict[int, set[str]]] = {}
    for share in servermap.shares:
        if 0 <= share.shnum < share.version.total_shares:
            by_shnum = holders.setdefault(share.version, {})
            by_shnum.setdefault(share.shnum, set()).add(share.server.server_id)
    return [
        VersionShares(
            seqnum=version.seqnum,
            root_hash=version.root_hash,
            needed_shares=version.needed_shares,
            total_shares=version.total_shares,
            holders={shnum: frozenset(servers) for shnum, servers in by_shnum.items()},
        )
        for version, by_shnum in holders.items()
    ]


async def _verify(
    share: MappedShare, storage_index: bytes, *, clock: IReactorTime, timeout: float
) -> Verdict:
    """Verify one share whole; tell its server if it is corrupt."""
    try:
        await verify_mutable_share(share, storage_index, clock=clock, timeout=timeout)
    except CorruptMutableShareError as error:
        await advise_corrupt(
            share.server, storage_index, share.shnum, str(error), clock=clock, timeout=timeout
        )
        return Verdict.CORRUPT
    except (ShareChangedError, ServerFailedError, ServerTimeoutError) as error:
        _log.info(
            "check.mutable.unreadable server=%s shnum=%d error=%s",
            share.server.name,
            share.shnum,
            error,
        )
        return Verdict.UNREADABLE
    return Verdict.GOOD
