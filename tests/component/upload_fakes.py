"""In-memory storage servers for upload tests, with fault injection.

A :class:`FakeUploadServer` implements :class:`client.upload.UploadServer`
the way a real storage server behaves: ``get_buckets`` lists complete
shares, ``allocate_buckets`` reports every share held in ``alreadygot``,
refuses buckets (by leaving them out) when its space is used up, and opens
a writer of exactly ``allocated_size`` bytes for each new share; writes past
that size fail, a write after close fails, ``close`` makes the share
readable and ``abort`` drops it. Faults are set per method:
``"error"`` fails the call, ``"hang"`` never answers (the uploader's time
limit must end the wait), ``"manual"`` (writes only) returns a Deferred the
test fires. :class:`InlineRunner` runs "CPU work" at once on the caller's
stack and counts what it ran.
"""

from collections.abc import Callable, Mapping, Set
from typing import Any, ParamSpec, TypeVar

from twisted.internet.defer import Deferred, fail, succeed

from grid.base32 import b2a

ParamsT = ParamSpec("ParamsT")
ResultT = TypeVar("ResultT")

UNLIMITED = 2**64


class InjectedFault(Exception):  # noqa: N818  named for what tests inject
    """The failure a faulty fake server raises."""


def answer(fault: str | None, value: ResultT, what: str) -> "Deferred[ResultT]":
    """Answer a call as ``fault`` says: at once, with an error, or never."""
    if fault == "error":
        return fail(InjectedFault(f"injected failure of {what}"))
    if fault == "hang":
        return Deferred()
    return succeed(value)


class InlineRunner:
    """Runs every function at once, counting the calls by function name."""

    def __init__(self) -> None:
        """Start with no calls."""
        self.calls: dict[str, int] = {}

    def run(
        self,
        function: Callable[ParamsT, ResultT],
        *args: ParamsT.args,
        **kwargs: ParamsT.kwargs,
    ) -> "Deferred[ResultT]":
        """Call ``function`` now; the Deferred has already fired."""
        name = getattr(function, "__name__", repr(function))
        self.calls[name] = self.calls.get(name, 0) + 1
        try:
            return succeed(function(*args, **kwargs))
        except Exception as error:  # noqa: BLE001  the Deferred carries whatever it raised
            return fail(error)


class FakeBucket:
    """One share being written to a fake server."""

    def __init__(self, server: "FakeUploadServer", storage_index: bytes, shnum: int, size: int):
        """Reserve ``size`` bytes."""
        self.server = server
        self.storage_index = storage_index
        self.shnum = shnum
        self.data = bytearray(size)
        self.writes: list[tuple[int, int]] = []
        self.closed = False
        self.aborted = False
        self.writes_at_close: int | None = None

    def write(self, offset: int, data: bytes) -> "Deferred[None]":
        """Store bytes; fail past the allocated size or after close or abort."""
        server = self.server
        server.write_calls += 1
        if self.closed or self.aborted:
            return fail(InjectedFault("write to a finished bucket"))
        if offset < 0 or offset + len(data) > len(self.data):
            return fail(InjectedFault("write past the allocated size"))
        fault = server.faults.get("write")
        if fault == "error" and server.write_calls > server.fail_writes_after:
            return fail(InjectedFault(f"injected failure of write on {server.name}"))
        if fault == "hang" and server.write_calls > server.fail_writes_after:
            return Deferred()
        self.data[offset : offset + len(data)] = data
        self.writes.append((offset, len(data)))
        if fault != "manual":
            return succeed(None)
        landed: Deferred[None] = Deferred()
        server.in_flight += 1
        server.max_in_flight = max(server.max_in_flight, server.in_flight)
        server.pending_writes.append(landed)
        return landed

    def close(self) -> "Deferred[None]":
        """Make the share readable."""
        if self.aborted:
            return fail(InjectedFault("close of an aborted bucket"))
        fault = self.server.faults.get("close")
        if fault is not None:
            return answer(fault, None, "close")
        self.closed = True
        self.writes_at_close = len(self.writes)
        self.server.incoming.get(self.storage_index, {}).pop(self.shnum, None)
        self.server.shares.setdefault(self.storage_index, {})[self.shnum] = bytes(self.data)
        return succeed(None)

    def abort(self) -> "Deferred[None]":
        """Drop the partial share."""
        self.aborted = True
        self.server.aborted.append(self.shnum)
        self.server.incoming.get(self.storage_index, {}).pop(self.shnum, None)
        self.server.used -= len(self.data)
        return succeed(None)


class FakeUploadServer:
    """An in-memory storage server, as the uploader sees one."""

    def __init__(
        self,
        number: int,
        *,
        space: int = UNLIMITED,
        maximum_share_size: int = UNLIMITED,
        faults: Mapping[str, str] | None = None,
        fail_writes_after: int = 0,
    ) -> None:
        """Server ``number`` with ``space`` bytes for new shares and the given faults."""
        self.number = number
        self.space = space
        self.maximum_share_size = maximum_share_size
        self.faults = dict(faults or {})
        self.fail_writes_after = fail_writes_after
        self.used = 0
        self.shares: dict[bytes, dict[int, bytes]] = {}
        self.incoming: dict[bytes, dict[int, FakeBucket]] = {}
        self.buckets: list[FakeBucket] = []
        self.allocations: list[tuple[bytes, bytes, frozenset[int], int]] = []
        self.aborted: list[int] = []
        self.get_buckets_calls = 0
        self.write_calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.pending_writes: list[Deferred[None]] = []

    @property
    def server_id(self) -> str:
        """A v0- id from the number."""
        return "v0-" + b2a(bytes([self.number]) * 32)

    @property
    def name(self) -> str:
        """``server-<number>``."""
        return f"server-{self.number}"

    @property
    def lease_seed(self) -> bytes:
        """A 20-byte tub id from the number."""
        return bytes([self.number]) * 20

    @property
    def maximum_immutable_share_size(self) -> int:
        """What the server announces."""
        return self.maximum_share_size

    def get_buckets(self, storage_index: bytes) -> "Deferred[Set[int]]":
        """The complete shares held."""
        self.get_buckets_calls += 1
        held: Set[int] = frozenset(self.shares.get(storage_index, {}))
        return answer(self.faults.get("get_buckets"), held, "get_buckets")

    def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Set[int],
        allocated_size: int,
    ) -> "Deferred[tuple[Set[int], Mapping[int, Any]]]":
        """Report held shares, open writers for new ones while space lasts."""
        self.allocations.append((renew_secret, cancel_secret, frozenset(sharenums), allocated_size))
        fault = self.faults.get("allocate")
        if fault is not None:
            return answer(fault, (frozenset(), {}), "allocate_buckets")
        held = self.shares.get(storage_index, {})
        incoming = self.incoming.setdefault(storage_index, {})
        writers: dict[int, FakeBucket] = {}
        for shnum in sorted(sharenums):
            if shnum in held or shnum in incoming:
                continue
            if self.used + allocated_size > self.space:
                continue
            self.used += allocated_size
            bucket = FakeBucket(self, storage_index, shnum, allocated_size)
            incoming[shnum] = writers[shnum] = bucket
            self.buckets.append(bucket)
        return succeed((frozenset(held), writers))

    def land_writes(self) -> None:
        """Answer every write a "manual" server holds."""
        pending, self.pending_writes = self.pending_writes, []
        for landed in pending:
            self.in_flight -= 1
            landed.callback(None)

    def share_bodies(self, storage_index: bytes) -> dict[int, bytes]:
        """The complete shares of ``storage_index``."""
        return dict(self.shares.get(storage_index, {}))


def all_shares(servers: list[FakeUploadServer], storage_index: bytes) -> dict[int, bytes]:
    """Every complete share of a file on any of ``servers`` (one copy per number)."""
    found: dict[int, bytes] = {}
    for server in servers:
        found.update(server.share_bodies(storage_index))
    return found


class RecordingSource:
    """A file in memory that records every read it served."""

    def __init__(self, data: bytes) -> None:
        """Serve ``data``."""
        self.data = data
        self.reads: list[tuple[int, int]] = []

    @property
    def size(self) -> int:
        """The data's length."""
        return len(self.data)

    async def read(self, offset: int, length: int) -> bytes:
        """Record and serve a read."""
        self.reads.append((offset, length))
        return self.data[offset : offset + length]
