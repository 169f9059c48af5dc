"""In-memory storage servers for download tests, with fault injection, and their contract.

:class:`FakeServer` serves immutable share bodies as a real server does
(reads cut at the end of the share, ``b""`` past it) and records every call.
Faults: :meth:`FakeServer.hang` (calls never answer, until cancelled),
:meth:`FakeServer.hang_after` (answers n more calls, then hangs),
:meth:`FakeServer.break_` and :meth:`FakeServer.break_after` (calls
fail), :meth:`FakeServer.corrupt` (flips a byte of a stored share),
:meth:`FakeServer.truncate` (cuts a share short). A server made with
``tolerates_read_overrun=False`` fails any read past the end of a share, as
old servers did. The tests at the bottom hold the fake to the real server's
read behaviour.
"""

from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from client.download import BucketReaderLike, download_chk
from client.download.share_source import MAX_HEADER_SIZE
from grid.caps import CHKReadCap
from grid.chk_plan import ChkPlan
from grid.formats.immutable_share import parse_share_header
from tests.chk_samples import encode_convergent, sample_plaintext
from tests.component.storage_backends import make_direct_storage

READ_TIMEOUT = 30.0


class ServerBrokenError(ConnectionError):
    """What a broken fake server raises."""


@attrs.frozen
class Read:
    """One read a fake server answered (or was asked)."""

    shnum: int
    offset: int
    length: int


class FakeBucketReader:
    """One share of a :class:`FakeServer`."""

    def __init__(self, server: "FakeServer", shnum: int) -> None:
        """Read share ``shnum`` of ``server``."""
        self._server = server
        self._shnum = shnum

    async def read(self, offset: int, length: int) -> bytes:
        """Record the read, then answer it from the stored body (or hang, or fail)."""
        self._server.reads.append(Read(self._shnum, offset, length))
        await self._server.answer_gate()
        body = self._server.shares[self._shnum]
        if not self._server.tolerates_read_overrun and offset + length > len(body):
            raise ValueError(f"read of {offset}+{length} past a {len(body)}-byte share")
        return bytes(body[offset : offset + length])

    async def advise_corrupt_share(self, reason: bytes) -> None:
        """Record the advice."""
        self._server.advisories.append((self._shnum, reason))


class FakeServer:
    """A storage server holding some shares of one file, in memory."""

    def __init__(
        self, name: str, shares: dict[int, bytes], *, tolerates_read_overrun: bool = True
    ) -> None:
        """Hold ``shares`` (share number to share data)."""
        self.name = name
        self.shares = {shnum: bytearray(body) for shnum, body in shares.items()}
        self.tolerates_read_overrun = tolerates_read_overrun
        self.reads: list[Read] = []
        self.advisories: list[tuple[int, bytes]] = []
        self.bucket_queries = 0
        self._answers_left: int | None = None
        self._broken = False
        self._breaks_after: int | None = None
        self.hung_calls: list[Deferred[None]] = []

    def hang(self) -> None:
        """Answer no call from now on."""
        self._answers_left = 0

    def hang_after(self, answers: int) -> None:
        """Answer ``answers`` more calls, then hang."""
        self._answers_left = answers

    def break_(self) -> None:
        """Fail every call from now on."""
        self._broken = True

    def break_after(self, answers: int) -> None:
        """Answer ``answers`` more calls, then fail every call."""
        self._breaks_after = answers

    def truncate(self, shnum: int, length: int) -> None:
        """Cut share ``shnum`` to its first ``length`` bytes."""
        del self.shares[shnum][length:]

    def corrupt(self, shnum: int, offset: int) -> None:
        """Flip every bit of one byte of share ``shnum``."""
        self.shares[shnum][offset] ^= 0xFF

    async def answer_gate(self) -> None:
        """Return when the server would answer; hang or raise as the faults say."""
        if self._answers_left is not None:
            if self._answers_left == 0:
                hung: Deferred[None] = Deferred()
                self.hung_calls.append(hung)
                await hung
            self._answers_left -= 1
        if self._breaks_after is not None:
            self._broken = self._breaks_after == 0
            self._breaks_after = max(0, self._breaks_after - 1)
        if self._broken:
            raise ServerBrokenError(f"{self.name} is broken")

    async def get_buckets(self, storage_index: bytes) -> dict[int, BucketReaderLike]:
        """Name every share held."""
        del storage_index
        self.bucket_queries += 1
        await self.answer_gate()
        return {shnum: FakeBucketReader(self, shnum) for shnum in self.shares}


@attrs.frozen
class StoredFile:
    """A file encoded into share bodies, with its cap."""

    cap: CHKReadCap
    plaintext: bytes
    bodies: dict[int, bytes]

    def servers(self, shnums: Sequence[int] | None = None, **options: Any) -> list[FakeServer]:
        """One fake server per share (all shares unless ``shnums`` is given)."""
        chosen = sorted(self.bodies) if shnums is None else shnums
        return [
            FakeServer(f"server-{shnum}", {shnum: self.bodies[shnum]}, **options)
            for shnum in chosen
        ]


def encode_file(
    size: int, *, needed: int = 3, total: int = 10, segment_size: int = 4096, label: bytes = b"f"
) -> StoredFile:
    """Encode ``size`` deterministic bytes into ``total`` share bodies."""
    plaintext = sample_plaintext(label, size)
    plan = ChkPlan(size=size, needed=needed, total=total, max_segment_size=segment_size)
    key, ueb_hash, sink = encode_convergent(plaintext, b"download tests", plan)
    cap = CHKReadCap(
        key=key,
        uri_extension_hash=ueb_hash,
        needed_shares=needed,
        total_shares=total,
        size=size,
    )
    return StoredFile(cap, plaintext, sink.bodies())


@attrs.define
class Download:
    """A download started against fakes: what it delivered, and how it ended."""

    deferred: "Deferred[None]"
    chunks: list[bytes]
    clock: Clock

    @property
    def data(self) -> bytes:
        """Everything delivered so far."""
        return b"".join(self.chunks)

    def succeeded(self) -> bool:
        """Whether the download finished without error."""
        if not self.deferred.called:
            return False
        result = self.deferred.result  # type: ignore[attr-defined]
        return not isinstance(result, Failure)

    def failure(self) -> Failure:
        """The failure the download ended with (consumed, so it is not logged)."""
        assert self.deferred.called
        result = self.deferred.result  # type: ignore[attr-defined]
        assert isinstance(result, Failure), "the download did not fail"
        self.deferred.addErrback(lambda _: None)
        return result


def start_download(
    file: StoredFile | CHKReadCap,
    servers: Sequence[Any],
    *,
    clock: Clock | None = None,
    **options: Any,
) -> Download:
    """Start ``download_chk`` on fakes with a fake clock; fakes answer at once.

    Delivered bytes are collected in ``Download.chunks`` unless ``options``
    name a ``consumer`` of their own.
    """
    cap = file.cap if isinstance(file, StoredFile) else file
    chunks: list[bytes] = []
    clock = clock or Clock()
    options.setdefault("read_timeout", READ_TIMEOUT)
    options.setdefault("consumer", chunks.append)
    deferred = Deferred.fromCoroutine(download_chk(cap, servers, clock=clock, **options))
    return Download(deferred, chunks, clock)


def block_segments_read(server: FakeServer, shnum: int, block_size: int) -> set[int]:
    """The segments whose blocks the reads of share ``shnum`` touched.

    The header read (offset 0, at most the largest header) is not counted:
    on a v1 share it overlaps the first block by a few bytes.
    """
    layout = parse_share_header(bytes(server.shares[shnum]))
    touched: set[int] = set()
    for read in server.reads:
        if read.shnum != shnum or (read.offset == 0 and read.length <= MAX_HEADER_SIZE):
            continue
        first = max(read.offset, layout.data)
        last = min(read.offset + read.length, layout.plaintext_hash_tree)
        if first < last:
            touched.update(
                range(
                    (first - layout.data) // block_size, (last - 1 - layout.data) // block_size + 1
                )
            )
    return touched


SMALL_FILE = encode_file(5000, needed=2, total=4, segment_size=1024)


@pytest.fixture(scope="module")
def real_reader(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real storage server's reader for share 0 of SMALL_FILE."""
    storage = make_direct_storage(tmp_path_factory.mktemp("fake-contract"))
    body = SMALL_FILE.bodies[0]
    _, writers = storage.allocate_buckets(
        SMALL_FILE.cap.storage_index, b"r" * 32, b"c" * 32, {0}, len(body)
    )
    writers[0].write(0, body)
    writers[0].close()
    return storage.get_buckets(SMALL_FILE.cap.storage_index)[0]


def _answer(awaitable: Any) -> Any:
    deferred = Deferred.fromCoroutine(awaitable)
    assert deferred.called
    return deferred.result  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.integers(min_value=0, max_value=4000))
def test_fake_reads_like_a_real_server(real_reader: Any, offset: int, length: int) -> None:
    """The fake cuts reads at the share's end exactly as a real storage server does."""
    fake = FakeServer("fake", {0: SMALL_FILE.bodies[0]})
    readers = _answer(fake.get_buckets(SMALL_FILE.cap.storage_index))
    assert _answer(readers[0].read(offset, length)) == real_reader.read(offset, length)


def test_hung_fake_answers_nothing_and_broken_fake_fails() -> None:
    """A hung fake never answers; a broken one fails every call."""
    hung, broken = SMALL_FILE.servers([0, 1])
    hung.hang()
    broken.break_()
    assert not Deferred.fromCoroutine(hung.get_buckets(b"x" * 16)).called
    failed = Deferred.fromCoroutine(broken.get_buckets(b"x" * 16))
    failed.addErrback(lambda failure: failure.trap(ServerBrokenError))
    assert failed.called


def test_download_from_fakes_smoke() -> None:
    """The fakes serve a whole download (the harness the other download tests use works)."""
    download = start_download(SMALL_FILE, SMALL_FILE.servers())
    assert download.succeeded()
    assert download.data == SMALL_FILE.plaintext
