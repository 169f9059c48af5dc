"""Publish: write a new version's shares with test-and-write, detecting other writers.

Rules:

- Each server gets one ``slot_testv_and_readv_and_writev`` call holding all
  its shares (:mod:`client.mutable.placement` decides which), with the
  write enabler derived for its tub id and lease secrets derived from the
  client's lease secret, the storage index and its tub id (tahoe-formats
  §7.1, §9.3). The read vector asks for each share's checkstring, as Tahoe's
  writers do.
- A failed test vector means someone else wrote since our servermap:
  :class:`UncoordinatedWriteError`, raised after every call has finished.
- A server that fails or times out loses its new shares to the next server
  (in permuted order) that does not hold that share number, if the writer
  can supply whole shares. A server that timed out may still have taken the
  write, or another writer's: its id is in ``PublishResult.unconfirmed``,
  and a read-modify-write treats that as a collision (see
  :mod:`client.mutable.service`). Publishing succeeds when every share number was
  written; fewer than N but at least k is logged and accepted; fewer than k
  raises NotEnoughSharesError.
- :func:`write_shares` is one such round of calls (with its re-placements)
  on its own, for writers that send a version in several rounds
  (:mod:`client.mutable.mdmf_publish`); :func:`publish_version` is one
  round that writes the whole version.
"""

import logging
from collections.abc import Callable, Mapping, Sequence

import attrs
from twisted.internet.interfaces import IReactorTime

from client.download.errors import ServerFailedError, ServerTimeoutError
from client.download.remote_calls import call_remote, gather
from client.mutable.errors import UncoordinatedWriteError
from client.mutable.keys import MutableKeys
from client.mutable.placement import Placement, write_test_vector
from client.mutable.servermap import DEFAULT_TIMEOUT, VersionId
from client.mutable.servers import DataVector, MutableServer, TestVector
from grid.errors import NotEnoughSharesError
from grid.hashing import lease_secrets

_log = logging.getLogger(__name__)

ShareVectors = Callable[[int, bool], DataVector | None]
"""Data vectors for a share number; the flag says the share is new on its server.

None means this writer cannot write that share there (it only has a patch
for an existing share).
"""


@attrs.frozen
class PublishResult:
    """Where the new version's shares landed."""

    version: VersionId
    placed: Mapping[str, frozenset[int]]
    unconfirmed: frozenset[str] = frozenset()

    @property
    def share_numbers(self) -> frozenset[int]:
        """Every share number written somewhere."""
        return frozenset().union(*self.placed.values()) if self.placed else frozenset()


def whole_shares(shares: Mapping[int, bytes]) -> ShareVectors:
    """Data vectors that write each share whole, new or not."""

    def vectors(shnum: int, _new: bool) -> DataVector:
        return [(0, shares[shnum])]

    return vectors


class _Publisher:
    """One publish of one version; see the module rules."""

    def __init__(
        self,
        keys: MutableKeys,
        vectors: ShareVectors,
        servers: Sequence[MutableServer],
        *,
        lease_secret: bytes,
        checkstring_size: int,
        clock: IReactorTime,
        timeout: float,
    ) -> None:
        self._keys = keys
        self._vectors = vectors
        self._servers = {server.server_id: server for server in servers}
        self._order = [server.server_id for server in servers]
        self._lease_secret = lease_secret
        self._checkstring_size = checkstring_size
        self._clock = clock
        self._timeout = timeout
        self.placed: dict[str, set[int]] = {}
        self.failed: set[str] = set()
        self.collided: list[str] = []
        self.unconfirmed: set[str] = set()

    async def write(self, plan: Placement) -> None:
        """Send every server its writes, then re-place the shares failed servers lost."""
        pending = plan
        while pending:
            lost = await self._round(pending)
            pending = self._replace(lost)

    async def _round(self, plan: Placement) -> list[int]:
        outcomes = await gather(
            *(self._write_server(server_id, shares) for server_id, shares in plan.items())
        )
        lost: list[int] = []
        for shnums in outcomes:
            lost.extend(shnums)
        return lost

    def _replace(self, lost: list[int]) -> Placement:
        """Give each lost share number to the next usable server that lacks it."""
        written = set().union(*self.placed.values()) if self.placed else set()
        plan: Placement = {}
        for shnum in sorted(set(lost) - written):
            if self._vectors(shnum, True) is None:
                continue
            for server_id in self._order:
                if server_id in self.failed or shnum in self.placed.get(server_id, set()):
                    continue
                if server_id in plan:
                    continue
                plan[server_id] = {shnum: None}
                break
        return plan

    async def _write_server(self, server_id: str, shares: Mapping[int, bytes | None]) -> list[int]:
        """Write one server's shares; return the share numbers lost if it failed."""
        server = self._servers[server_id]
        tw_vectors: dict[int, tuple[TestVector, DataVector, int | None]] = {}
        for shnum, start in shares.items():
            data = self._vectors(shnum, start is None)
            if data is None:
                continue
            test = [write_test_vector(start, self._checkstring_size)]
            tw_vectors[shnum] = (test, data, None)
        if not tw_vectors:
            return []
        renew, cancel = lease_secrets(self._lease_secret, self._keys.storage_index, server.nodeid)
        secrets = (self._keys.write_enabler(server.nodeid), renew, cancel)
        read_vector = [(0, self._checkstring_size)]
        try:
            passed, _read = await call_remote(
                self._clock,
                self._timeout,
                f"slot_testv_and_readv_and_writev to {server.name}",
                lambda: server.slot_testv_and_readv_and_writev(
                    self._keys.storage_index, secrets, tw_vectors, read_vector
                ),
            )
        except (ServerFailedError, ServerTimeoutError) as error:
            _log.info("mutable.publish.server-failed server=%s error=%s", server.name, error)
            self.failed.add(server_id)
            if isinstance(error, ServerTimeoutError):
                self.unconfirmed.add(server_id)
            return list(tw_vectors)
        if not passed:
            _log.info("mutable.publish.collision server=%s", server.name)
            self.collided.append(server.name)
            return []
        self.placed.setdefault(server_id, set()).update(tw_vectors)
        return []


async def write_shares(
    keys: MutableKeys,
    vectors: ShareVectors,
    plan: Placement,
    servers: Sequence[MutableServer],
    *,
    needed: int,
    total: int,
    lease_secret: bytes,
    checkstring_size: int,
    clock: IReactorTime,
    timeout: float = DEFAULT_TIMEOUT,
    unconfirmed: set[str] | None = None,
) -> dict[str, frozenset[int]]:
    """Write one round as ``plan`` says; return where each share number landed.

    Raises UncoordinatedWriteError if any test vector failed, and
    NotEnoughSharesError if fewer than ``needed`` share numbers landed. The
    ids of servers that did not answer in time are added to ``unconfirmed``.
    """
    publisher = _Publisher(
        keys,
        vectors,
        servers,
        lease_secret=lease_secret,
        checkstring_size=checkstring_size,
        clock=clock,
        timeout=timeout,
    )
    await publisher.write(plan)
    if unconfirmed is not None:
        unconfirmed.update(publisher.unconfirmed)
    if publisher.collided:
        raise UncoordinatedWriteError(
            f"another writer changed the file during this write "
            f"(test vectors failed on {len(publisher.collided)} servers)"
        )
    placed = {server: frozenset(shnums) for server, shnums in publisher.placed.items()}
    written = len(frozenset().union(*placed.values())) if placed else 0
    if written < needed:
        raise NotEnoughSharesError(
            needed,
            written,
            f"could write only {written} of {total} shares "
            f"({len(publisher.failed)} servers failed)",
        )
    return placed


def log_partial(result: PublishResult) -> None:
    """Log a publish that wrote at least k but fewer than N share numbers."""
    written = len(result.share_numbers)
    if written < result.version.total_shares:
        _log.warning(
            "mutable.publish.partial written=%d total=%d", written, result.version.total_shares
        )


async def publish_version(
    keys: MutableKeys,
    version: VersionId,
    vectors: ShareVectors,
    plan: Placement,
    servers: Sequence[MutableServer],
    *,
    lease_secret: bytes,
    checkstring_size: int,
    clock: IReactorTime,
    timeout: float = DEFAULT_TIMEOUT,
) -> PublishResult:
    """Write ``version`` as ``plan`` says; see the module rules for what can go wrong."""
    unconfirmed: set[str] = set()
    placed = await write_shares(
        keys,
        vectors,
        plan,
        servers,
        needed=version.needed_shares,
        total=version.total_shares,
        lease_secret=lease_secret,
        checkstring_size=checkstring_size,
        clock=clock,
        timeout=timeout,
        unconfirmed=unconfirmed,
    )
    result = PublishResult(version, placed, frozenset(unconfirmed))
    log_partial(result)
    return result
