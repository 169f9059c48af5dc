"""MDMF publish from a source, a batch at a time, over real (transport-free) StorageServers.

The connections hand calls straight to a real StorageServer over a temporary
directory, so test-and-write semantics are the real ones; they record every
write call's size, and can run another writer in the middle of a publish.
"""

import hashlib
import itertools
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from client.mutable import MutableService, UncoordinatedWriteError
from client.mutable.encode import encode_mdmf
from client.mutable.keys import keys_from_cap, keys_from_private_key
from client.mutable.servermap import map_servers
from client.mutable.servers import mutable_servers
from client.server_description import ServerDescription
from grid.caps.mutable import MutableFormat, MutableWriteCap
from grid.crypto.rsa import RsaPrivateKey, load_private_key_pem
from grid.formats.mdmf import parse_mdmf_header
from grid.hashing import permute_server_hash
from storage_server.server import StorageServer
from tests.vectors import TAHOE_SHARES_DIR

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
NEEDED, TOTAL = 2, 4
SEGMENT = 1024
WRITE = "slot_testv_and_readv_and_writev"


class _Runner:
    """Runs CPU work at once, on the caller's stack."""

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> "Deferred[R]":
        return succeed(function(*args, **kwargs))


class _Connection:
    """A broker connection whose calls go straight to a StorageServer, measured."""

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
        self.fail_after_writes: int | None = None
        self.writes: list[int] = []
        self.before_write: Callable[[int], Awaitable[None]] | None = None

    @property
    def server_id(self) -> str:
        return self.description.server_id

    async def call(self, method: str, *arguments: Any) -> Any:
        if method == WRITE:
            if self.before_write is not None:
                await self.before_write(len(self.writes))
            if self.fail_after_writes is not None and len(self.writes) >= self.fail_after_writes:
                raise ConnectionError("connection lost")
            tw_vectors = arguments[2]
            self.writes.append(
                sum(len(data) for _t, vectors, _n in tw_vectors.values() for _o, data in vectors)
            )
        return getattr(self.server, method)(*arguments)


class _Grid:
    def __init__(self, root: Path, count: int = 6) -> None:
        self.clock = Clock()
        self.connections = [_Connection(index, root, self.clock) for index in range(count)]

    def permuted_servers(self, storage_index: bytes) -> list[_Connection]:
        return sorted(
            self.connections,
            key=lambda c: permute_server_hash(storage_index, c.description.permutation_seed),
        )

    def service(self, **options: Any) -> MutableService:
        options.setdefault("max_segment_size", SEGMENT)
        return MutableService(
            self,  # type: ignore[arg-type]
            self.clock,
            _Runner(),
            needed=NEEDED,
            total=TOTAL,
            lease_secret=b"S" * 32,
            timeout=10.0,
            **options,
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Drive a coroutine to its end, advancing the clock while it waits."""
        outcome: list[Any] = []
        Deferred.fromCoroutine(coroutine).addBoth(outcome.append)
        for _ in range(100):
            if outcome:
                break
            self.clock.advance(1.0)
        (result,) = outcome
        if hasattr(result, "raiseException"):
            result.raiseException()
        return result  # type: ignore[no-any-return]

    def shares(self, cap: MutableWriteCap) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for connection in self.connections:
            answer = connection.server.slot_readv(cap.storage_index, [], [(0, 10**8)])
            found.update({shnum: items[0] for shnum, items in answer.items()})
        return found

    def read(self, service: MutableService, cap: MutableWriteCap) -> bytes:
        chunks: list[bytes] = []
        self.run(service.read(cap, chunks.append))
        return b"".join(chunks)


class _GeneratedSource:
    """A file of ``size`` pseudo-random bytes made on demand, never held whole."""

    def __init__(self, size: int) -> None:
        self._size = size

    @property
    def size(self) -> int:
        return self._size

    async def read(self, offset: int, length: int) -> bytes:
        return generated(offset, length)


def generated(offset: int, length: int) -> bytes:
    """Bytes ``[offset, offset + length)`` of the generated file (64-byte blocks of SHA-512)."""
    first, last = offset // 64, (offset + length + 63) // 64
    run = b"".join(
        hashlib.sha512(block.to_bytes(8, "big")).digest() for block in range(first, last)
    )
    return run[offset - first * 64 : offset - first * 64 + length]


def _counter_bytes() -> Callable[[int], bytes]:
    counter = itertools.count()

    def random_bytes(size: int) -> bytes:
        return hashlib.sha256(next(counter).to_bytes(8, "big")).digest()[:size]

    return random_bytes


def _key() -> RsaPrivateKey:
    return load_private_key_pem((TAHOE_SHARES_DIR / "sdmf-key.pem").read_bytes())


@pytest.fixture
def grid(tmp_path: Path) -> _Grid:
    """Six real storage servers behind in-memory connections (k=2, N=4, 1 KiB segments)."""
    return _Grid(tmp_path)


@pytest.mark.parametrize(
    ("size", "batch_size"),
    [(0, 4096), (1, 4096), (4096, 4096), (10 * SEGMENT + 5, 4096), (7 * SEGMENT, SEGMENT)],
)
def test_streamed_shares_equal_the_whole_file_encoders(
    grid: _Grid, size: int, batch_size: int
) -> None:
    """With the same salts, shares written batch by batch are encode_mdmf's but the signature."""
    contents = generated(0, size)
    service = grid.service(random_bytes=_counter_bytes(), batch_size=batch_size)
    cap = grid.run(service.create(contents, MutableFormat.MDMF, _key()))
    whole = encode_mdmf(
        keys_from_private_key(_key()),
        contents,
        needed=NEEDED,
        total=TOTAL,
        seqnum=1,
        random_bytes=_counter_bytes(),
        max_segment_size=SEGMENT,
    )
    written = grid.shares(cap)
    assert set(written) == set(whole.shares)
    for shnum, share in written.items():
        offsets = parse_mdmf_header(share).offsets
        signature = slice(offsets.signature, offsets.verification_key)
        expected = whole.shares[shnum]
        assert len(share) == len(expected)
        assert share[: signature.start] == expected[: signature.start]
        assert share[signature.stop :] == expected[signature.stop :]
    assert grid.read(service, cap) == contents


def test_a_large_file_is_written_in_bounded_batches(grid: _Grid) -> None:
    """Each call carries one batch of one share's pieces at most; every batch is its own call."""
    size = 40 * SEGMENT + 17
    service = grid.service(batch_size=4 * SEGMENT)
    cap = grid.run(service.create(_GeneratedSource(size), MutableFormat.MDMF, _key()))
    assert grid.read(service, cap) == generated(0, size)
    batch_share_bytes = 4 * (16 + SEGMENT // NEEDED)
    writers = [c for c in grid.connections if c.writes]
    assert len(writers) == TOTAL
    for connection in writers:
        assert len(connection.writes) == 11 + 1
        assert max(connection.writes) <= max(batch_share_bytes + 41, 2167 + 32 * 127)


def test_publish_memory_is_bounded_by_batches_not_the_file(grid: _Grid) -> None:
    """Publishing 8 MiB from a generated source allocates at most a few batches' worth at once."""
    size = 8 << 20
    service = grid.service(max_segment_size=64 << 10, batch_size=256 << 10)
    tracemalloc.start()
    try:
        cap = grid.run(service.create(_GeneratedSource(size), MutableFormat.MDMF, _key()))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    digest = hashlib.sha256()
    grid.run(service.read(cap, digest.update))
    assert digest.digest() == hashlib.sha256(generated(0, size)).digest()


def test_another_writer_between_batches_is_detected(grid: _Grid) -> None:
    """A writer that lands between two batches wins: ours raises and never signs its version."""
    service = grid.service(batch_size=2 * SEGMENT)
    cap = grid.run(service.create(b"old contents", MutableFormat.MDMF, _key()))
    other = grid.service()
    first = grid.permuted_servers(cap.storage_index)[0]

    async def interfere(writes_so_far: int) -> None:
        if writes_so_far == 2:
            first.before_write = None
            await other.create(b"the other writer's contents", MutableFormat.MDMF, _key())

    first.before_write = interfere
    calls_before = {id(c): len(c.writes) for c in grid.connections}
    with pytest.raises(UncoordinatedWriteError):
        grid.run(service.overwrite(cap, _GeneratedSource(20 * SEGMENT)))
    keys = keys_from_cap(cap)
    servermap = grid.run(
        map_servers(mutable_servers(grid, cap.storage_index), keys, clock=grid.clock)  # type: ignore[arg-type]
    )
    assert [version.data_length for version in servermap.versions()] == [27]
    assert grid.read(service, cap) == b"the other writer's contents"
    ours = [len(c.writes) - calls_before[id(c)] for c in grid.connections if c is not first]
    assert max(ours) <= 3


def test_a_server_lost_after_the_first_batch_costs_only_its_share(grid: _Grid) -> None:
    """A server failing mid-publish drops its share; the others complete and the file reads."""
    service = grid.service(batch_size=2 * SEGMENT)
    size = 9 * SEGMENT
    cap = grid.run(service.create(b"placeholder", MutableFormat.MDMF, _key()))
    holder = next(c for c in grid.permuted_servers(cap.storage_index) if c.writes)
    holder.fail_after_writes = len(holder.writes) + 1
    grid.run(service.overwrite(cap, _GeneratedSource(size)))
    holder.fail_after_writes = None
    assert grid.read(service, cap) == generated(0, size)
    servermap = grid.run(
        map_servers(mutable_servers(grid, cap.storage_index), keys_from_cap(cap), clock=grid.clock)  # type: ignore[arg-type]
    )
    best = servermap.best_version()
    assert best is not None
    assert servermap.distinct_shares(best) == TOTAL - 1


def test_a_server_lost_in_the_first_batch_has_its_share_placed_elsewhere(grid: _Grid) -> None:
    """A server failing on the first batch: its share goes to a spare server, all N are written."""
    service = grid.service(batch_size=2 * SEGMENT)
    key = _key()
    storage_index = keys_from_private_key(key).storage_index
    first = grid.permuted_servers(storage_index)[0]
    first.fail_after_writes = 0
    cap = grid.run(service.create(_GeneratedSource(9 * SEGMENT), MutableFormat.MDMF, key))
    assert grid.read(service, cap) == generated(0, 9 * SEGMENT)
    assert sorted(grid.shares(cap)) == list(range(TOTAL))
    assert not first.server.slot_readv(cap.storage_index, [], [(0, 1)])
