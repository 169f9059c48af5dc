"""Checking and verifying a CHK file: which shares exist where, and which are good.

Rules (Tahoe-LAFS 1.20's immutable checker):

- A read cap is reduced to its verify cap first: nothing here needs the key.
- Every server given (the connected servers, in permuted order) is asked
  ``get_buckets(storage index)``, all at once, each within the read timeout.
  A server that answers is *responding*; one that fails or times out
  contributes nothing. Share numbers outside ``0 .. N-1`` are ignored.
- A *check* counts every share a server reports as good.
- A *verify* reads every reported share whole, all shares side by side (see
  :mod:`client.check.share_reader`), and counts only the shares that pass
  every check. A corrupt share is listed with its server, storage index and
  share number, and its server is told (``advise_corrupt_share``) before the
  verify returns. A share in an unknown layout version is listed as
  incompatible and not blamed. A share whose server fails or times out
  while it is read is neither good nor corrupt.
- :class:`~client.check.errors.CapContradictionError` (the cap's own UEB
  contradicts the cap) is the only error a check raises on purpose.
"""

import enum
import logging
from collections.abc import Mapping, Sequence

import attrs
from twisted.internet.interfaces import IReactorTime

from client.check.errors import CorruptShareError, IncompatibleShareError
from client.check.results import CheckResults, ShareLocation
from client.check.servers import CheckServer
from client.check.share_proof import FileProof
from client.check.share_reader import ShareReader
from client.download import BucketReaderLike, ShareUnusableError
from client.download.remote_calls import call_remote, gather
from grid.base32 import b2a
from grid.caps import CHKReadCap, CHKVerifyCap

DEFAULT_READ_TIMEOUT = 60.0

_log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    """What verifying one share concluded."""

    GOOD = "good"
    CORRUPT = "corrupt"
    INCOMPATIBLE = "incompatible"
    UNREADABLE = "unreadable"


@attrs.frozen
class ShareSurvey:
    """What a check learned: who answered, what each holds, and the results.

    ``holdings`` maps each responding server's id (in permuted order) to a
    reader for every share it reported, good or not.
    """

    verify_cap: CHKVerifyCap
    servers: Mapping[str, CheckServer]
    holdings: Mapping[str, Mapping[int, BucketReaderLike]]
    results: CheckResults


async def check_chk(
    cap: CHKReadCap | CHKVerifyCap,
    servers: Sequence[CheckServer],
    *,
    clock: IReactorTime,
    verify: bool = False,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> CheckResults:
    """Check (or, with ``verify``, verify) the shares of ``cap`` on ``servers``."""
    survey = await survey_chk(cap, servers, clock=clock, verify=verify, read_timeout=read_timeout)
    return survey.results


async def survey_chk(
    cap: CHKReadCap | CHKVerifyCap,
    servers: Sequence[CheckServer],
    *,
    clock: IReactorTime,
    verify: bool = False,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> ShareSurvey:
    """Check or verify like :func:`check_chk`, keeping what a repair needs."""
    verify_cap = cap.verify_cap()
    storage_index = verify_cap.storage_index
    answers = await gather(
        *(_ask(server, verify_cap, clock=clock, read_timeout=read_timeout) for server in servers)
    )
    holdings = {
        server.server_id: answer
        for server, answer in zip(servers, answers, strict=True)
        if answer is not None
    }
    by_id = {server.server_id: server for server in servers}
    verdicts: dict[tuple[str, int], Verdict] = {}
    if verify:
        proof = FileProof(verify_cap)
        shares = [
            ShareReader(
                server=by_id[server_id],
                shnum=shnum,
                reader=reader,
                proof=proof,
                clock=clock,
                read_timeout=read_timeout,
            )
            for server_id, readers in holdings.items()
            for shnum, reader in sorted(readers.items())
        ]
        outcomes = await gather(*(_verify_share(share, storage_index) for share in shares))
        verdicts = {
            (share.server.server_id, share.shnum): outcome
            for share, outcome in zip(shares, outcomes, strict=True)
        }
    holders: dict[int, set[str]] = {}
    corrupt: list[ShareLocation] = []
    incompatible: list[ShareLocation] = []
    for server_id, readers in holdings.items():
        for shnum in sorted(readers):
            verdict = verdicts.get((server_id, shnum), Verdict.GOOD)
            if verdict is Verdict.GOOD:
                holders.setdefault(shnum, set()).add(server_id)
            elif verdict is Verdict.CORRUPT:
                corrupt.append(ShareLocation(server_id, storage_index, shnum))
            elif verdict is Verdict.INCOMPATIBLE:
                incompatible.append(ShareLocation(server_id, storage_index, shnum))
    results = CheckResults(
        storage_index=storage_index,
        needed_shares=verify_cap.needed_shares,
        total_shares=verify_cap.total_shares,
        sharemap={shnum: frozenset(servers) for shnum, servers in holders.items()},
        servers_responding=tuple(holdings),
        corrupt_shares=tuple(corrupt),
        incompatible_shares=tuple(incompatible),
    )
    _log.info(
        "check.done si=%s verify=%s good=%d corrupt=%d responding=%d",
        b2a(storage_index),
        verify,
        results.count_shares_good,
        len(corrupt),
        len(holdings),
    )
    return ShareSurvey(
        verify_cap=verify_cap,
        servers={server_id: by_id[server_id] for server_id in holdings},
        holdings=holdings,
        results=results,
    )


async def _ask(
    server: CheckServer, cap: CHKVerifyCap, *, clock: IReactorTime, read_timeout: float
) -> dict[int, BucketReaderLike] | None:
    """The shares ``server`` holds of the file, or None if it did not answer."""
    storage_index = cap.storage_index
    try:
        readers = await call_remote(
            clock,
            read_timeout,
            f"get_buckets from {server.name}",
            lambda: server.get_buckets(storage_index),
        )
    except ShareUnusableError as error:
        _log.info(
            "check.no-answer server=%s si=%s error=%s", server.name, b2a(storage_index), error
        )
        return None
    return {shnum: reader for shnum, reader in readers.items() if 0 <= shnum < cap.total_shares}


async def _verify_share(share: ShareReader, storage_index: bytes) -> Verdict:
    """Read and prove one whole share; tell its server if it is corrupt."""
    try:
        await share.verify()
    except CorruptShareError as error:
        _log.info(
            "check.corrupt-share server=%s si=%s shnum=%d reason=%s",
            share.server.name,
            b2a(storage_index),
            share.shnum,
            error,
        )
        try:
            await share.advise_corrupt(str(error))
        except ShareUnusableError as failure:
            _log.info("check.advice-failed server=%s error=%s", share.server.name, failure)
        return Verdict.CORRUPT
    except IncompatibleShareError:
        return Verdict.INCOMPATIBLE
    except ShareUnusableError as error:
        _log.info("check.unreadable server=%s error=%s", share.server.name, error)
        return Verdict.UNREADABLE
    return Verdict.GOOD
