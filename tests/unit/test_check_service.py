"""The checker and repairer over in-memory servers and a fake clock: failures, refusals, races."""

from collections.abc import Callable, Mapping, Set
from typing import Any, ParamSpec, TypeVar

import attrs
import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from client.check import (
    CheckAndRepairResults,
    CheckResults,
    check_and_repair_chk,
    check_chk,
)
from client.download import BucketReaderLike
from client.upload import UploadTuning
from grid.caps import CHKVerifyCap
from grid.chk_plan import ChkPlan
from grid.formats.immutable_share import parse_share
from grid.hashing import immutable_storage_index
from tests.chk_samples import encode_convergent, sample_plaintext

SIZE = 3 * 4095 + 5
TIMEOUT = 5.0
LEASE_SECRET = b"L" * 32
ParamsT = ParamSpec("ParamsT")
ResultT = TypeVar("ResultT")


class InlineRunner:
    """A CPU runner that runs the function at once, on the caller's stack."""

    def run(
        self, function: Callable[ParamsT, ResultT], *args: ParamsT.args, **kwargs: ParamsT.kwargs
    ) -> "Deferred[ResultT]":
        """Call ``function`` now."""
        return succeed(function(*args, **kwargs))


class MemoryReader:
    """A share's bytes in memory, read as a bucket reader reads them."""

    def __init__(self, store: "MemoryServer", shnum: int) -> None:
        """Read share ``shnum`` of ``store``."""
        self.store = store
        self.shnum = shnum

    async def read(self, offset: int, length: int) -> bytes:
        """Return the bytes asked for, cut at the end; fail if the server says so."""
        if self.store.reads_fail:
            raise ConnectionError("read refused")
        return bytes(self.store.shares[self.shnum][offset : offset + length])

    async def advise_corrupt_share(self, reason: bytes) -> None:
        """Record the advice."""
        self.store.advice.append((self.shnum, reason))


class MemoryWriter:
    """A bucket writer filling an incoming share of a memory server."""

    def __init__(self, store: "MemoryServer", shnum: int) -> None:
        """Write share ``shnum`` of ``store``."""
        self.store = store
        self.shnum = shnum
        self.data = bytearray()

    async def write(self, offset: int, data: bytes) -> None:
        """Append ``data``, which must land at the current end."""
        assert offset == len(self.data)
        self.data += data

    async def close(self) -> None:
        """Make the share readable."""
        self.store.shares[self.shnum] = bytes(self.data)

    async def abort(self) -> None:
        """Record the abort."""
        self.store.aborted.add(self.shnum)


@attrs.define(eq=False)
class MemoryServer:
    """A storage server holding shares in memory, seen both as check and upload server."""

    server_id: str
    shares: dict[int, bytes] = attrs.field(factory=dict)
    answers: str = "ok"
    reads_fail: bool = False
    maximum_immutable_share_size: int = 2**64
    refuses: bool = False
    racing: frozenset[int] = frozenset()
    advice: list[tuple[int, bytes]] = attrs.field(factory=list)
    aborted: set[int] = attrs.field(factory=set)
    allocations: list[tuple[bytes, frozenset[int], int]] = attrs.field(factory=list)

    @property
    def name(self) -> str:
        """A short name."""
        return self.server_id[-4:]

    @property
    def lease_seed(self) -> bytes:
        """Twenty bytes derived from the id."""
        return self.server_id.encode()[:20].ljust(20, b"-")

    def get_buckets(self, storage_index: bytes) -> "Deferred[Mapping[int, BucketReaderLike]]":
        """Readers for every share held; fail or never answer if told to."""
        if self.answers == "hang":
            return Deferred()
        if self.answers == "fail":
            raise ConnectionError("no")
        return succeed({shnum: MemoryReader(self, shnum) for shnum in self.shares})

    async def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Set[int],
        allocated_size: int,
    ) -> tuple[Set[int], Mapping[int, MemoryWriter]]:
        """Report held (and racing) shares; give writers for the rest unless refusing."""
        self.allocations.append((renew_secret, frozenset(sharenums), allocated_size))
        held = set(self.shares) | (set(sharenums) & self.racing)
        if self.refuses:
            return held, {}
        return held, {shnum: MemoryWriter(self, shnum) for shnum in sharenums - held}


class UploadView:
    """A memory server as the uploader's protocol sees it (``get_buckets`` gives numbers)."""

    def __init__(self, store: MemoryServer) -> None:
        """Show ``store`` to the uploader's code."""
        self.store = store
        self.server_id = store.server_id
        self.name = store.name
        self.lease_seed = store.lease_seed
        self.maximum_immutable_share_size = store.maximum_immutable_share_size

    async def get_buckets(self, storage_index: bytes) -> Set[int]:
        """The numbers of the shares held."""
        return frozenset(self.store.shares)

    async def allocate_buckets(self, *arguments: Any) -> Any:
        """Forward to the memory server."""
        return await self.store.allocate_buckets(*arguments)


@attrs.frozen
class File:
    """A CHK file encoded in memory: its verify cap and every share's bytes."""

    cap: CHKVerifyCap
    shares: dict[int, bytes]


def _file() -> File:
    plan = ChkPlan(size=SIZE, needed=3, total=10, max_segment_size=4095)
    key, ueb_hash, sink = encode_convergent(sample_plaintext(b"service", SIZE), b"s", plan)
    return File(CHKVerifyCap(immutable_storage_index(key), ueb_hash, 3, 10, SIZE), sink.bodies())


def _grid(file: File, count: int = 10) -> list[MemoryServer]:
    """``count`` servers; server i holds share i (for i < 10)."""
    return [
        MemoryServer(f"v0-server-{i:02d}", {i: file.shares[i]} if i < 10 else {})
        for i in range(count)
    ]


def _done(deferred: "Deferred[ResultT]", clock: Clock | None = None) -> ResultT:
    if clock is not None:
        clock.advance(TIMEOUT + 1)
    outcome: list[Any] = []
    deferred.addBoth(outcome.append)
    assert outcome, "the operation did not finish"
    if isinstance(outcome[0], Exception) or hasattr(outcome[0], "raiseException"):
        outcome[0].raiseException()
    result: ResultT = outcome[0]
    return result


def _check(file: File, servers: list[MemoryServer], *, verify: bool) -> CheckResults:
    clock = Clock()
    return _done(
        Deferred.fromCoroutine(
            check_chk(file.cap, servers, clock=clock, verify=verify, read_timeout=TIMEOUT)
        ),
        clock,
    )


def _repair(file: File, servers: list[MemoryServer], *, verify: bool) -> CheckAndRepairResults:
    clock = Clock()
    return _done(
        Deferred.fromCoroutine(
            check_and_repair_chk(
                file.cap,
                servers,
                [UploadView(server) for server in servers],
                lease_secret=LEASE_SECRET,
                clock=clock,
                runner=InlineRunner(),
                verify=verify,
                read_timeout=TIMEOUT,
                tuning=UploadTuning(query_timeout=TIMEOUT, write_timeout=TIMEOUT),
            )
        ),
        clock,
    )


def test_failing_and_silent_servers_do_not_respond_and_their_shares_do_not_count() -> None:
    """A server that errs and one that never answers: 8 responding, 8 good shares."""
    file = _file()
    servers = _grid(file)
    servers[3].answers = "fail"
    servers[6].answers = "hang"
    results = _check(file, servers, verify=False)
    assert results.count_shares_good == 8
    assert set(results.sharemap) == set(range(10)) - {3, 6}
    assert "v0-server-03" not in results.servers_responding
    assert "v0-server-06" not in results.servers_responding
    assert len(results.servers_responding) == 8


def test_share_numbers_outside_the_file_are_ignored() -> None:
    """A server reporting share 12 of a 10-share file: that share is not counted."""
    file = _file()
    servers = _grid(file)
    servers[0].shares[12] = b"junk"
    results = _check(file, servers, verify=True)
    assert results.healthy
    assert 12 not in results.sharemap
    assert results.corrupt_shares == ()


@pytest.mark.parametrize(
    ("damage", "verdict"),
    [
        (lambda share: share[: len(share) // 2], "corrupt"),
        (lambda share: bytes([0, 0, 0, 9]) + share[4:], "incompatible"),
        (lambda share: share[:-3] + b"xyz", "corrupt"),
        (lambda share: b"", "corrupt"),
    ],
    ids=["truncated", "unknown-version", "changed-ueb", "empty"],
)
def test_verify_sorts_bad_shares_into_corrupt_and_incompatible(
    damage: Callable[[bytes], bytes], verdict: str
) -> None:
    """Corrupt shares are listed and advised; an unknown layout version is neither."""
    file = _file()
    servers = _grid(file)
    servers[5].shares[5] = damage(file.shares[5])
    results = _check(file, servers, verify=True)
    assert results.count_shares_good == 9
    assert 5 not in results.sharemap
    corrupt = [(location.server_id, location.shnum) for location in results.corrupt_shares]
    incompatible = [(loc.server_id, loc.shnum) for loc in results.incompatible_shares]
    if verdict == "corrupt":
        assert corrupt == [("v0-server-05", 5)]
        assert incompatible == []
        assert [shnum for shnum, _ in servers[5].advice] == [5]
    else:
        assert corrupt == []
        assert incompatible == [("v0-server-05", 5)]
        assert servers[5].advice == []


def test_a_share_whose_reads_fail_is_neither_good_nor_corrupt() -> None:
    """Reads that fail during a verify: the share is not counted and its server not blamed."""
    file = _file()
    servers = _grid(file)
    servers[2].reads_fail = True
    results = _check(file, servers, verify=True)
    assert results.count_shares_good == 9
    assert results.corrupt_shares == ()
    assert "v0-server-02" in results.servers_responding


def test_repair_fills_empty_servers_first_with_exact_shares() -> None:
    """Lost shares go one each to servers holding nothing, byte for byte."""
    file = _file()
    servers = _grid(file, count=12)
    for index in (1, 4, 8):
        servers[index].shares.clear()
    results = _repair(file, servers, verify=False)
    assert results.repair_successful
    assert results.post_repair.healthy
    placed = {shnum: server.server_id for server in servers for shnum in server.shares}
    assert sorted(placed) == list(range(10))
    for shnum in (1, 4, 8):
        owner = next(server for server in servers if shnum in server.shares)
        assert owner.shares[shnum] == file.shares[shnum]
        assert len(owner.shares) == 1
    layout = parse_share(file.shares[0]).layout
    for server in servers:
        for _, shnums, allocated_size in server.allocations:
            assert allocated_size == layout.allocated_size
            assert len(shnums) == 1


def test_a_full_server_and_a_refusing_server_are_passed_over() -> None:
    """Shares go past a server too small for them and one that refuses to allocate."""
    file = _file()
    servers = _grid(file, count=12)
    servers[0].shares.clear()
    servers[10].maximum_immutable_share_size = 10
    servers[11].refuses = True
    results = _repair(file, [servers[10], servers[11], *servers[:10]], verify=False)
    assert results.repair_successful
    assert servers[10].allocations == []
    assert [shnums for _, shnums, _ in servers[11].allocations] == [frozenset({0})]
    assert servers[11].shares == {}
    assert servers[0].shares == {0: file.shares[0]}


def test_a_share_that_appeared_meanwhile_is_placed_elsewhere() -> None:
    """A server that says at allocation it already has the share is not counted for it."""
    file = _file()
    servers = _grid(file, count=11)
    servers[7].shares.clear()
    servers[10].racing = frozenset({7})
    results = _repair(file, [servers[10], *servers[:10]], verify=False)
    assert results.repair_successful
    assert [shnums for _, shnums, _ in servers[10].allocations] == [frozenset({7})]
    assert 7 not in servers[10].shares
    assert results.post_repair.sharemap[7] == frozenset({"v0-server-07"})
    assert servers[7].shares == {7: file.shares[7]}


def test_repair_reads_past_a_corrupt_share_a_plain_check_counted() -> None:
    """A corrupt primary share found while rebuilding is advised and replaced by another."""
    file = _file()
    servers = _grid(file)
    servers[9].shares.clear()
    broken = bytearray(file.shares[0])
    broken[parse_share(file.shares[0]).layout.data + 3] ^= 1
    servers[0].shares[0] = bytes(broken)
    results = _repair(file, servers, verify=False)
    assert results.repair_successful
    assert [shnum for shnum, _ in servers[0].advice] == [0]
    holder = next(server for server in servers if 9 in server.shares)
    assert holder.shares[9] == file.shares[9]


def test_no_server_to_take_a_share_fails_the_repair_cleanly() -> None:
    """Every server read-only: the repair is attempted, fails, and says why."""
    file = _file()
    servers = _grid(file)
    servers[2].shares.clear()
    for server in servers:
        server.maximum_immutable_share_size = 0
    results = _repair(file, servers, verify=False)
    assert results.repair_attempted
    assert not results.repair_successful
    assert results.failure is not None
    assert "no server would take" in results.failure
    assert results.post_repair == results.pre_repair


def test_too_many_bad_shares_while_rebuilding_aborts_every_bucket() -> None:
    """Shares that all turn out corrupt mid-repair: buckets aborted, nothing closed."""
    file = _file()
    servers = _grid(file, count=3)
    for server, shnum in zip(servers, range(3), strict=True):
        tampered = bytearray(file.shares[shnum])
        tampered[-400] ^= 1
        server.shares[shnum] = bytes(tampered)
    servers[0].shares[3] = file.shares[3]
    results = _repair(file, servers, verify=False)
    assert results.repair_attempted
    assert not results.repair_successful
    assert results.failure is not None
    assert all(set(server.shares) <= {0, 1, 2, 3} for server in servers)
    assert set().union(*(server.aborted for server in servers)) == set(range(4, 10))
    assert sorted(shnum for server in servers for shnum, _ in server.advice) == [0, 1, 2]
