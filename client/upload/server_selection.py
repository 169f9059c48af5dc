"""Choosing the servers that take a file's shares: ask, place, allocate, repeat.

Rules (Tahoe-LAFS 1.20): the candidates are the first 2N servers in
permuted order. Each is asked ``get_buckets`` within a time limit to learn
the shares it already holds; a server that fails or does not answer in time
takes no further part. A server is writable when its
``maximum-immutable-share-size`` is at least the exact allocated size.
So that a new file costs one round trip, the first ``allocate_buckets``
calls go out together with the ``get_buckets`` calls, placed as if no
server held anything; once both are answered, every allocated bucket for a
share some server already holds is aborted, so a held share is never sent
again. :func:`grid.placement.place_shares` then says which new shares go where;
each chosen server is asked ``allocate_buckets`` with its own lease secrets
(the first call to a writable server also names the shares it holds, which
renews their leases). Shares a server neither holds nor allocates were
refused: the server is full and stops being writable. A server whose call
fails is dropped with everything it held or allocated. While a round met
refusals or failures and writable servers remain, placement runs again with
what is now known. If the shares held and allocated do not reach ``happy``
distinct servers, every allocated bucket is aborted and
:class:`~client.upload.errors.UploadUnhappinessError` says how many servers
were asked, how many answered and how many shares were placed.
"""

import logging
from collections.abc import Mapping, Sequence, Set

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from client.upload.deadline import within
from client.upload.errors import UploadUnhappinessError
from client.upload.servers import BucketWriter, UploadServer
from client.upload.share_writer import abort_buckets
from grid.hashing import lease_secrets
from grid.placement import happiness, place_shares

_log = logging.getLogger(__name__)


@attrs.frozen
class ServerSelection:
    """Where a file's shares are: held already, or allocated and ready to write."""

    servers: Mapping[str, UploadServer]
    existing: Mapping[str, frozenset[int]]
    buckets: Mapping[str, Mapping[int, BucketWriter]]
    asked: int
    answered: int
    happiness: int

    def placements(self) -> dict[str, frozenset[int]]:
        """Every server's shares, held or allocated."""
        return {
            server_id: self.existing.get(server_id, frozenset())
            | frozenset(self.buckets.get(server_id, {}))
            for server_id in self.servers
        }


def placed_share_count(placements: Mapping[str, Set[int]]) -> int:
    """How many distinct share numbers the placements hold."""
    return len(set().union(*placements.values())) if placements else 0


_Allocation = tuple[Set[int], Mapping[int, BucketWriter]]


class _Selector:
    """The state of one selection: what each usable server holds and has allocated."""

    def __init__(
        self,
        candidates: Sequence[UploadServer],
        *,
        storage_index: bytes,
        allocated_size: int,
        total_shares: int,
        happy: int,
        lease_secret: bytes,
        clock: IReactorTime,
        timeout: float,
    ) -> None:
        self.candidates = candidates
        self.storage_index = storage_index
        self.allocated_size = allocated_size
        self.total_shares = total_shares
        self.happy = happy
        self.lease_secret = lease_secret
        self.clock = clock
        self.timeout = timeout
        self.usable: dict[str, UploadServer] = {}
        self.held: dict[str, frozenset[int]] = {}
        self.buckets: dict[str, dict[int, BucketWriter]] = {}
        self.writable: set[str] = set()
        self.leased: set[str] = set()
        self.answered = 0
        self.last_failure = ""

    def placements(self) -> dict[str, frozenset[int]]:
        return {
            server_id: self.held.get(server_id, frozenset())
            | frozenset(self.buckets.get(server_id, {}))
            for server_id in self.usable
        }

    def valid_shares(self, shnums: object) -> frozenset[int]:
        """The share numbers of this file among what a server sent."""
        if not isinstance(shnums, Set | Mapping):
            return frozenset()
        return frozenset(
            shnum for shnum in shnums if isinstance(shnum, int) and 0 <= shnum < self.total_shares
        )

    def drop(self, server: UploadServer, error: Exception) -> None:
        self.last_failure = f"{server.name}: {error}"
        _log.info("upload.server-dropped server=%s error=%s", server.name, error)
        self.usable.pop(server.server_id, None)
        self.held.pop(server.server_id, None)
        self.writable.discard(server.server_id)
        abort_buckets(server.name, self.buckets.pop(server.server_id, {}))

    async def first_round(self) -> None:
        """Ask every candidate what it holds while allocating the placement for a new file."""
        asking = {
            server.server_id: within(
                server.get_buckets(self.storage_index),
                self.timeout,
                self.clock,
                f"{server.name}: get_buckets",
            )
            for server in self.candidates
        }
        writable = [
            server.server_id
            for server in self.candidates
            if server.maximum_immutable_share_size >= self.allocated_size
        ]
        plan = place_shares(
            total_shares=self.total_shares,
            servers=[server.server_id for server in self.candidates],
            writable=frozenset(writable),
            existing={},
            happy=self.happy,
        )
        by_id = {server.server_id: server for server in self.candidates}
        allocating = self.send_allocations(
            by_id,
            {
                server_id: frozenset(shares)
                for server_id, shares in plan.assignments.items()
                if shares and server_id in writable
            },
        )
        for server in self.candidates:
            try:
                held = await asking[server.server_id]
            except Exception as error:  # noqa: BLE001  one server's failure only drops that server
                self.drop(server, error)
                continue
            self.answered += 1
            self.usable[server.server_id] = server
            self.held[server.server_id] = self.valid_shares(held)
            if server.server_id in writable:
                self.writable.add(server.server_id)
        await self.take_answers(allocating)
        self.abort_redundant()

    def abort_redundant(self) -> None:
        """Abort every allocated bucket for a share that some server already holds."""
        held_anywhere = frozenset[int]().union(*self.held.values())
        for server_id, buckets in self.buckets.items():
            redundant = {shnum: buckets.pop(shnum) for shnum in held_anywhere & set(buckets)}
            abort_buckets(self.usable[server_id].name, redundant)

    def requests(self) -> dict[str, frozenset[int]]:
        """Ask placement where new shares go; return what to ask each server for."""
        current = self.placements()
        plan = place_shares(
            total_shares=self.total_shares,
            servers=list(self.usable),
            writable=frozenset(self.writable),
            existing=current,
            happy=self.happy,
        )
        wanted: dict[str, frozenset[int]] = {}
        for server_id in self.usable:
            if server_id not in self.writable:
                continue
            new = frozenset(plan.assignments.get(server_id, ())) - current[server_id]
            renew = current[server_id] if server_id not in self.leased else frozenset()
            if new or renew:
                wanted[server_id] = new | renew
        return wanted

    async def allocate(self, wanted: Mapping[str, frozenset[int]]) -> bool:
        """Ask each server for its shares; return whether every share asked for was placed."""
        return await self.take_answers(self.send_allocations(self.usable, wanted))

    def send_allocations(
        self, servers: Mapping[str, UploadServer], wanted: Mapping[str, frozenset[int]]
    ) -> dict[str, tuple[frozenset[int], "Deferred[_Allocation]"]]:
        """Send ``allocate_buckets`` for ``wanted`` shares; the answers are not awaited."""
        asking: dict[str, tuple[frozenset[int], Deferred[_Allocation]]] = {}
        for server_id, shnums in wanted.items():
            server = servers[server_id]
            renew_secret, cancel_secret = lease_secrets(
                self.lease_secret, self.storage_index, server.lease_seed
            )
            asking[server_id] = (
                shnums,
                within(
                    server.allocate_buckets(
                        self.storage_index, renew_secret, cancel_secret, shnums, self.allocated_size
                    ),
                    self.timeout,
                    self.clock,
                    f"{server.name}: allocate_buckets",
                ),
            )
        return asking

    async def take_answers(
        self, asking: Mapping[str, tuple[frozenset[int], "Deferred[_Allocation]"]]
    ) -> bool:
        """Record allocation answers; return whether every share asked for was placed.

        An answer from a server dropped meanwhile only has its buckets aborted.
        """
        complete = True
        for server_id, (shnums, answer) in asking.items():
            try:
                alreadygot, writers = await answer
            except Exception as error:  # noqa: BLE001  one server's failure only drops that server
                if server_id in self.usable:
                    self.drop(self.usable[server_id], error)
                complete = False
                continue
            server = self.usable.get(server_id)
            if server is None:
                abort_buckets(server_id, writers)
                complete = False
                continue
            self.leased.add(server_id)
            complete = self.take_answer(server, shnums, alreadygot, writers) and complete
        return complete

    def take_answer(
        self,
        server: UploadServer,
        asked_for: frozenset[int],
        alreadygot: object,
        writers: Mapping[int, BucketWriter],
    ) -> bool:
        """Record an allocate answer; return False if the server refused any share."""
        server_id = server.server_id
        self.held[server_id] = self.held[server_id] | self.valid_shares(alreadygot)
        granted = self.buckets.setdefault(server_id, {})
        unwanted: dict[int, BucketWriter] = {}
        for shnum, writer in writers.items():
            if shnum in asked_for and shnum not in self.held[server_id]:
                granted[shnum] = writer
            else:
                unwanted[shnum] = writer
        abort_buckets(server.name, unwanted)
        refused = asked_for - self.held[server_id] - frozenset(granted)
        if refused:
            _log.info("upload.shares-refused server=%s count=%d", server.name, len(refused))
            self.writable.discard(server_id)
            return False
        return True

    def result(self) -> ServerSelection:
        current = self.placements()
        achieved = happiness(current)
        if achieved < self.happy:
            for server_id, buckets in self.buckets.items():
                abort_buckets(self.usable[server_id].name, buckets)
            raise UploadUnhappinessError(
                asked=len(self.candidates),
                answered=self.answered,
                placed=placed_share_count(current),
                happiness=achieved,
                happy=self.happy,
                last_failure=self.last_failure,
            )
        return ServerSelection(
            servers=dict(self.usable),
            existing=dict(self.held),
            buckets={server_id: dict(buckets) for server_id, buckets in self.buckets.items()},
            asked=len(self.candidates),
            answered=self.answered,
            happiness=achieved,
        )


async def select_servers(
    candidates: Sequence[UploadServer],
    *,
    storage_index: bytes,
    allocated_size: int,
    total_shares: int,
    happy: int,
    lease_secret: bytes,
    clock: IReactorTime,
    timeout: float,
) -> ServerSelection:
    """Find, place and allocate a file's shares; raise UploadUnhappinessError if unhappy.

    ``candidates`` are in permuted order; a server id seen twice counts once.
    """
    unique: dict[str, UploadServer] = {}
    for server in candidates:
        unique.setdefault(server.server_id, server)
    selector = _Selector(
        list(unique.values()),
        storage_index=storage_index,
        allocated_size=allocated_size,
        total_shares=total_shares,
        happy=happy,
        lease_secret=lease_secret,
        clock=clock,
        timeout=timeout,
    )
    await selector.first_round()
    while selector.writable:
        wanted = selector.requests()
        if not wanted or await selector.allocate(wanted):
            break
    return selector.result()
