"""The mutable-file service over in-memory connections to real (transport-free) StorageServers.

Each fake connection hands calls straight to a real
:class:`~storage_server.server.StorageServer` over a temporary directory, so
slot semantics (test vectors, write enablers, advisories) are the real ones;
servers can be made to fail or hang, and time is a ``Clock``.
"""

import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from client.mutable import MutableService, UncoordinatedWriteError
from client.mutable.keys import keys_from_cap
from client.mutable.servermap import map_servers
from client.mutable.servers import mutable_servers
from client.server_description import ServerDescription
from grid.caps.mutable import MutableFormat, MutableWriteCap
from grid.crypto.rsa import load_private_key_pem
from grid.errors import NotEnoughSharesError
from grid.formats.mutable_share import parse_mutable_header
from grid.hashing import permute_server_hash
from storage_server.server import StorageServer
from tests.vectors import TAHOE_SHARES_DIR

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
TIMEOUT = 10.0


class _Runner:
    """Runs CPU work at once, on the caller's stack."""

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> "Deferred[R]":
        return succeed(function(*args, **kwargs))


class _Connection:
    """A broker connection whose calls go straight to a StorageServer."""

    def __init__(self, index: int, root: Path, clock: Clock) -> None:
        nodeid = bytes([index + 1]) * 20
        self.server = StorageServer(root / f"server-{index}", nodeid, clock=clock.seconds)
        self.server.start()
        self.description = ServerDescription(
            server_id=f"v0-server-{index}",
            nickname=f"server-{index}",
            furl="pb://unused@tcp:127.0.0.1:1/x",
            tubid=nodeid,
            permutation_seed=bytes([index]) * 32,
            announcement={},
        )
        self.mode = "ok"
        self.calls: list[str] = []

    @property
    def server_id(self) -> str:
        return self.description.server_id

    async def call(self, method: str, *arguments: Any) -> Any:
        self.calls.append(method)
        if self.mode == "fail":
            raise ConnectionError("connection lost")
        if self.mode == "hang":
            return await Deferred()
        if self.mode == "hang-one-write" and method == "slot_testv_and_readv_and_writev":
            self.mode = "ok"
            return await Deferred()
        if self.mode == "hang-writes" and method == "slot_testv_and_readv_and_writev":
            return await Deferred()
        return getattr(self.server, method)(*arguments)


class _Broker:
    """Connections in permuted order, as a StorageBroker gives them."""

    def __init__(self, connections: list[_Connection]) -> None:
        self.connections = connections

    def permuted_servers(self, storage_index: bytes) -> list[_Connection]:
        return sorted(
            self.connections,
            key=lambda c: permute_server_hash(storage_index, c.description.permutation_seed),
        )


class _Grid:
    def __init__(self, root: Path, count: int = 6) -> None:
        self.clock = Clock()
        self.connections = [_Connection(index, root, self.clock) for index in range(count)]
        self.broker = _Broker(self.connections)

    def service(self, **options: Any) -> MutableService:
        return MutableService(
            self.broker,  # type: ignore[arg-type]
            self.clock,
            _Runner(),
            needed=2,
            total=4,
            lease_secret=b"S" * 32,
            timeout=TIMEOUT,
            **options,
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Drive a coroutine to its end, advancing the clock while it waits."""
        outcome: list[Any] = []
        Deferred.fromCoroutine(coroutine).addBoth(outcome.append)
        for _ in range(1000):
            if outcome:
                break
            self.clock.advance(1.0)
        (result,) = outcome
        if isinstance(result, Exception) or hasattr(result, "raiseException"):
            result.raiseException()
        return result  # type: ignore[no-any-return]

    def holders(self, cap: MutableWriteCap) -> dict[int, dict[int, bytes]]:
        return {
            index: {
                shnum: items[0]
                for shnum, items in c.server.slot_readv(cap.storage_index, [], [(0, 10**6)]).items()
            }
            for index, c in enumerate(self.connections)
        }


@pytest.fixture
def grid(tmp_path: Path) -> _Grid:
    """Six real storage servers behind in-memory connections (k=2, N=4)."""
    return _Grid(tmp_path)


def _key() -> Any:
    return load_private_key_pem((TAHOE_SHARES_DIR / "sdmf-key.pem").read_bytes())


def _read(grid: _Grid, service: MutableService, cap: Any) -> bytes:
    chunks: list[bytes] = []
    grid.run(service.read(cap, chunks.append))
    return b"".join(chunks)


@pytest.mark.parametrize("fmt", [MutableFormat.SDMF, MutableFormat.MDMF])
def test_round_trip_over_local_servers(grid: _Grid, fmt: MutableFormat) -> None:
    """A file written through the service reads back, one share per server, seqnums rising."""
    service = grid.service(max_segment_size=64)
    cap = grid.run(service.create(b"hello mutable world" * 20, fmt, _key()))
    assert _read(grid, service, cap) == b"hello mutable world" * 20
    placed = [shnum for shares in grid.holders(cap).values() for shnum in shares]
    assert sorted(placed) == [0, 1, 2, 3]
    grid.run(service.overwrite(cap, b"second"))
    assert _read(grid, service, cap.read_only()) == b"second"
    seqnums = {
        parse_mutable_header(d).seqnum for s in grid.holders(cap).values() for d in s.values()
    }
    assert seqnums == {2}


def test_garbage_share_is_ignored_advised_and_replaced(grid: _Grid) -> None:
    """A share that is not a valid share of the file is skipped, reported, then overwritten."""
    service = grid.service()
    cap = grid.run(service.create(b"x" * 500, MutableFormat.SDMF, _key()))
    order = grid.broker.permuted_servers(cap.storage_index)
    victim = order[0]
    keys = keys_from_cap(cap)
    we = keys.write_enabler(victim.description.tubid)
    secrets = (we, b"r" * 32, b"c" * 32)
    victim.server.slot_testv_and_readv_and_writev(
        cap.storage_index, secrets, {0: ([], [(0, b"garbage" * 30)], None)}, []
    )
    servermap = grid.run(
        map_servers(mutable_servers(grid.broker, cap.storage_index), keys, clock=grid.clock)
    )  # type: ignore[arg-type]
    assert [(bad[0], bad[1]) for bad in servermap.bad_shares] == [(victim.server_id, 0)]
    assert "advise_corrupt_share" in victim.calls
    assert list(victim.server.layout.corruption_advisories_dir.iterdir())
    assert _read(grid, service, cap) == b"x" * 500
    grid.run(service.overwrite(cap, b"fresh"))
    share = grid.holders(cap)[grid.connections.index(victim)][0]
    assert parse_mutable_header(share).seqnum == 2


def test_corrupt_block_is_advised_and_another_share_used(grid: _Grid) -> None:
    """A flipped bit in one share's block: the read still returns the right bytes, and says so."""
    service = grid.service()
    data = bytes(range(256)) * 8
    cap = grid.run(service.create(data, MutableFormat.MDMF, _key()))
    first = grid.broker.permuted_servers(cap.storage_index)[0]
    (shnum,) = grid.holders(cap)[grid.connections.index(first)]
    path = first.server.layout.share_path(cap.storage_index, shnum)
    raw = bytearray(path.read_bytes())
    raw[468 + 2167 + 40] ^= 1
    path.write_bytes(bytes(raw))
    assert _read(grid, service, cap) == data
    assert "advise_corrupt_share" in first.calls


def test_failing_and_hanging_servers_are_skipped(grid: _Grid) -> None:
    """One server failing and one never answering: create and read still work, after the timeout."""
    service = grid.service()
    cap = grid.run(service.create(b"y" * 100, MutableFormat.SDMF, _key()))
    order = grid.broker.permuted_servers(cap.storage_index)
    order[0].mode = "fail"
    order[1].mode = "hang"
    assert _read(grid, service, cap) == b"y" * 100
    grid.run(service.overwrite(cap, b"z" * 100))
    order[0].mode = order[1].mode = "ok"
    assert _read(grid, service, cap) == b"z" * 100


def test_a_write_nobody_confirmed_makes_modify_read_and_publish_again(grid: _Grid) -> None:
    """A share holder that never answers one write may hold anyone's version: modify starts over.

    Only a fresh read and a publish on top of what it finds make sure the
    acknowledged change is in the newest version, whatever that server did.
    """
    service = grid.service()
    cap = grid.run(service.create(b"base", MutableFormat.SDMF, _key()))
    first_seqnum = _seqnums(grid, cap)
    slow = grid.broker.permuted_servers(cap.storage_index)[0]
    slow.mode = "hang-one-write"
    seen: list[bytes] = []

    def add_once(old: bytes) -> bytes:
        seen.append(old)
        return old if old.endswith(b"+mine") else old + b"+mine"

    grid.run(service.modify(cap, add_once))
    assert seen == [b"base", b"base+mine"]
    assert _read(grid, service, cap) == b"base+mine"
    assert max(_seqnums(grid, cap)) == next(iter(first_seqnum)) + 2


def test_a_server_that_never_answers_writes_is_written_around(grid: _Grid) -> None:
    """A share holder that answers reads but never writes: the retry writes everywhere else.

    The first attempt's version landed elsewhere, so the retry's change is
    applied on top of it (a change must expect to see its own earlier try).
    """
    service = grid.service()
    cap = grid.run(service.create(b"base", MutableFormat.SDMF, _key()))
    slow = grid.broker.permuted_servers(cap.storage_index)[0]
    slow.mode = "hang-writes"
    slow.calls.clear()
    grid.run(service.modify(cap, lambda old: old + b"+mine"))
    assert _read(grid, service, cap) == b"base+mine+mine"
    assert slow.calls.count("slot_testv_and_readv_and_writev") == 1


@pytest.mark.parametrize("fmt", [MutableFormat.SDMF, MutableFormat.MDMF])
def test_write_at_starts_over_for_an_unconfirmed_write(grid: _Grid, fmt: MutableFormat) -> None:
    """write_at (an MDMF patch or an SDMF rewrite) is published again after an unanswered write."""
    service = grid.service()
    cap = grid.run(service.create(b"0123456789", fmt, _key()))
    first_seqnum = next(iter(_seqnums(grid, cap)))
    grid.broker.permuted_servers(cap.storage_index)[0].mode = "hang-one-write"
    grid.run(service.write_at(cap, 4, b"ab"))
    assert _read(grid, service, cap) == b"0123ab6789"
    assert max(_seqnums(grid, cap)) == first_seqnum + 2


def test_overwrite_does_not_start_over_for_an_unconfirmed_write(grid: _Grid) -> None:
    """A plain overwrite (no read-modify-write) re-places the slow server's share and is done."""
    service = grid.service()
    cap = grid.run(service.create(b"base", MutableFormat.SDMF, _key()))
    first_seqnum = _seqnums(grid, cap)
    grid.broker.permuted_servers(cap.storage_index)[0].mode = "hang-one-write"
    grid.run(service.overwrite(cap, b"replaced"))
    assert _read(grid, service, cap) == b"replaced"
    assert max(_seqnums(grid, cap)) == next(iter(first_seqnum)) + 1


def _seqnums(grid: _Grid, cap: MutableWriteCap) -> set[int]:
    """The sequence numbers of every share of ``cap`` on every server."""
    return {
        parse_mutable_header(share).seqnum
        for shares in grid.holders(cap).values()
        for share in shares.values()
    }


def test_unrecoverable_when_too_few_servers_hold_shares(grid: _Grid) -> None:
    """With k-1 share holders answering, the read names needed 2 and found 1."""
    service = grid.service()
    cap = grid.run(service.create(b"w" * 100, MutableFormat.SDMF, _key()))
    for connection in grid.broker.permuted_servers(cap.storage_index)[1:]:
        connection.mode = "fail"
    with pytest.raises(NotEnoughSharesError) as caught:
        _read(grid, service, cap)
    assert (caught.value.needed, caught.value.found) == (2, 1)


def test_stale_servermap_write_is_an_uncoordinated_write(grid: _Grid) -> None:
    """A writer racing another retries on top of its data; always losing, it raises."""
    first, second = grid.service(), grid.service()
    cap = grid.run(first.create(b"v1", MutableFormat.SDMF, _key()))
    racing: list[bool] = []

    def interfere(old: bytes) -> bytes:
        if not racing:
            racing.append(True)
            grid.run(second.overwrite(cap, b"theirs"))
        return old + b"+mine"

    grid.run(first.modify(cap, interfere))
    assert _read(grid, first, cap) == b"theirs+mine"
    assert len(racing) == 1

    def always_interfere(old: bytes) -> bytes:
        grid.run(second.overwrite(cap, b"again"))
        return b"never lands"

    with pytest.raises(UncoordinatedWriteError):
        grid.run(grid.service(max_attempts=2).modify(cap, always_interfere))
    assert _read(grid, first, cap) == b"again"


def test_write_at_on_sdmf_and_mdmf(grid: _Grid) -> None:
    """write_at writes in place, appends and zero-fills, in both formats."""
    service = grid.service(max_segment_size=10)
    for fmt in (MutableFormat.SDMF, MutableFormat.MDMF):
        cap = grid.run(service.create(b"0123456789" * 3, fmt))
        grid.run(service.write_at(cap, 8, b"abcd"))
        grid.run(service.write_at(cap, 33, b"!"))
        assert _read(grid, service, cap) == b"01234567abcd234567890123456789\x00\x00\x00!"
        assert grid.run(service.size(cap)) == 34


def test_servermap_reads_again_when_the_first_read_is_short(grid: _Grid) -> None:
    """With a first read shorter than the signed fields, one more read per server finds them."""
    service = grid.service()
    cap = grid.run(service.create(b"q" * 300, MutableFormat.MDMF, _key()))
    keys = keys_from_cap(cap)
    servers = mutable_servers(grid.broker, cap.storage_index)  # type: ignore[arg-type]
    servermap = grid.run(map_servers(servers, keys, clock=grid.clock, read_size=150))
    assert servermap.bad_shares == []
    assert len(servermap.shares) == 4
    holders = [c for c in grid.connections if grid.holders(cap)[grid.connections.index(c)]]
    assert all(c.calls.count("slot_readv") >= 2 for c in holders)


def test_small_sdmf_file_reads_in_one_call_per_server(grid: _Grid) -> None:
    """The servermap's first read holds a small SDMF share whole: no second call to read it."""
    service = grid.service()
    cap = grid.run(service.create(b"s" * 3000, MutableFormat.SDMF, _key()))
    for connection in grid.connections:
        connection.calls.clear()
    assert _read(grid, service, cap) == b"s" * 3000
    assert [c.calls.count("slot_readv") for c in grid.connections] == [1] * 6


def test_first_block_comes_with_its_hash_trees(grid: _Grid) -> None:
    """A share's chain, block tree and first block past the first read come in one call."""
    service = grid.service(max_segment_size=60_000)
    data = os.urandom(100_000)
    cap = grid.run(service.create(data, MutableFormat.MDMF, _key()))
    for connection in grid.connections:
        connection.calls.clear()
    assert _read(grid, service, cap) == data
    reads = sorted(c.calls.count("slot_readv") for c in grid.connections)
    assert reads == [1, 1, 1, 1, 3, 3]


def test_modify_from_a_fresh_snapshot_reads_nothing_more(grid: _Grid) -> None:
    """A change starting from the read just made publishes without reading again."""
    service = grid.service()
    cap = grid.run(service.create(b"base", MutableFormat.SDMF, _key()))
    snapshot = grid.run(service.read_snapshot(cap))
    assert snapshot.contents == b"base"
    for connection in grid.connections:
        connection.calls.clear()
    grid.run(service.modify(cap, lambda old: old + b"+mine", start=snapshot))
    assert all("slot_readv" not in c.calls for c in grid.connections)
    assert _read(grid, service, cap) == b"base+mine"


def test_modify_from_a_stale_snapshot_lands_on_top_of_the_newer_version(grid: _Grid) -> None:
    """Another writer changed the file after the snapshot: its change is kept, ours added."""
    first, second = grid.service(), grid.service()
    cap = grid.run(first.create(b"v1", MutableFormat.SDMF, _key()))
    snapshot = grid.run(first.read_snapshot(cap))
    grid.run(second.overwrite(cap, b"theirs"))
    seen: list[bytes] = []

    def append(old: bytes) -> bytes:
        seen.append(old)
        return old + b"+mine"

    grid.run(first.modify(cap, append, start=snapshot))
    assert seen == [b"v1", b"theirs"]
    assert _read(grid, first, cap) == b"theirs+mine"
