import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred

from client.download import covered_range
from grid.caps import CHKReadCap, parse_cap
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from grid.formats.uri_extension import parse_uri_extension
from tests.chk_samples import manifest, sample_plaintext
from tests.component.test_download_fakes import (
    FakeServer,
    StoredFile,
    block_segments_read,
    encode_file,
    start_download,
)
from tests.vectors import TAHOE_SHARES_DIR


def _tahoe_file() -> StoredFile:
    entry: dict[str, Any] = next(item for item in manifest()["files"] if item["kind"] == "CHK")
    cap = parse_cap(entry["read_cap"])
    assert isinstance(cap, CHKReadCap)
    bodies = {
        shnum: parse_container(
            (TAHOE_SHARES_DIR / "chk" / f"share-{shnum}.bin").read_bytes()
        ).share_data
        for shnum in range(5)
    }
    return StoredFile(cap, sample_plaintext(b"chk-sample", entry["plaintext"]["length"]), bodies)


TAHOE_FILE = _tahoe_file()
MULTI_SEGMENT = encode_file(40_000, needed=3, total=7, segment_size=3000)
BLOCK_SIZE = parse_uri_extension(parse_share(MULTI_SEGMENT.bodies[0]).uri_extension).block_size


@pytest.mark.parametrize("chosen", list(itertools.combinations(range(5), 3)))
def test_tahoe_shares_download_from_any_three(chosen: tuple[int, ...]) -> None:
    """Tahoe 1.20's real shares, any 3 of 5 on their own servers, download to the plaintext."""
    download = start_download(TAHOE_FILE, TAHOE_FILE.servers(chosen))
    assert download.succeeded()
    assert download.data == TAHOE_FILE.plaintext


def test_tahoe_shares_on_one_server() -> None:
    """All of Tahoe's shares on a single server download too."""
    server = FakeServer("only", TAHOE_FILE.bodies)
    download = start_download(TAHOE_FILE, [server])
    assert download.succeeded()
    assert download.data == TAHOE_FILE.plaintext


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=56, max_value=20_000),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=1, max_value=5),
    st.data(),
)
def test_download_from_any_k_shares(
    size: int, needed: int, extra: int, window: int, data: st.DataObject
) -> None:
    """Any k of N shares, on servers in any order, download to exactly the plaintext."""
    segment_size = data.draw(st.integers(min_value=max(1, size // 64), max_value=size + 10))
    stored = encode_file(size, needed=needed, total=needed + extra, segment_size=segment_size)
    chosen = data.draw(st.permutations(range(needed + extra)))[:needed]
    download = start_download(stored, stored.servers(chosen), window=window)
    assert download.succeeded()
    assert download.data == stored.plaintext


def test_primary_shares_are_preferred() -> None:
    """With every share available, only the primary shares 0..k-1 are read."""
    servers = MULTI_SEGMENT.servers()
    download = start_download(MULTI_SEGMENT, servers[::-1])
    assert download.succeeded()
    assert download.data == MULTI_SEGMENT.plaintext
    assert {server.name for server in servers if server.reads} == {
        "server-0",
        "server-1",
        "server-2",
    }


def test_share_opens_with_a_single_header_read() -> None:
    """Each share's header is read once, however many segments use the share."""
    servers = MULTI_SEGMENT.servers([0, 1, 2])
    download = start_download(MULTI_SEGMENT, servers)
    assert download.succeeded()
    header_reads = [read for read in servers[0].reads if read.offset == 0]
    assert len(header_reads) == 1


def test_small_file_reads_each_share_once() -> None:
    """A share predicted to be small is read whole in one read."""
    stored = encode_file(1000, needed=3, total=10, segment_size=1 << 20)
    servers = stored.servers([0, 1, 2])
    download = start_download(stored, servers)
    assert download.succeeded()
    assert download.data == stored.plaintext
    assert [len(server.reads) for server in servers] == [1, 1, 1]


def test_server_without_read_overrun_gets_exact_reads() -> None:
    """A server that refuses reads past a share's end still serves a download."""
    servers = MULTI_SEGMENT.servers([4, 5, 6], tolerates_read_overrun=False)
    download = start_download(MULTI_SEGMENT, servers)
    assert download.succeeded()
    assert download.data == MULTI_SEGMENT.plaintext
    for server in servers:
        (shnum,) = server.shares
        size = len(server.shares[shnum])
        assert all(read.offset + read.length <= size for read in server.reads)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(min_value=0, max_value=MULTI_SEGMENT.cap.size + 10),
    st.integers(min_value=0, max_value=MULTI_SEGMENT.cap.size + 10),
    st.integers(min_value=1, max_value=4),
)
def test_ranged_read_fetches_only_covering_segments(offset: int, length: int, window: int) -> None:
    """A range delivers exactly its bytes and reads only the blocks of the segments it covers."""
    servers = MULTI_SEGMENT.servers()
    download = start_download(MULTI_SEGMENT, servers, offset=offset, length=length, window=window)
    assert download.succeeded()
    assert download.data == MULTI_SEGMENT.plaintext[offset : offset + length]
    start, end = covered_range(MULTI_SEGMENT.cap.size, offset, length)
    segment_size = 3000
    covering = (
        set(range(start // segment_size, (end - 1) // segment_size + 1)) if end > start else set()
    )
    for server in servers:
        (shnum,) = server.shares
        assert block_segments_read(server, shnum, BLOCK_SIZE) <= covering


def test_empty_range_touches_no_server() -> None:
    """A range of no bytes (or past the end) asks no server anything."""
    servers = MULTI_SEGMENT.servers()
    for offset, length in [(0, 0), (MULTI_SEGMENT.cap.size, 5), (MULTI_SEGMENT.cap.size + 9, None)]:
        download = start_download(MULTI_SEGMENT, servers, offset=offset, length=length)
        assert download.succeeded()
        assert download.data == b""
    assert all(server.bucket_queries == 0 for server in servers)


def test_window_must_be_positive() -> None:
    """A window of no segments is a caller's mistake: ValueError."""
    download = start_download(MULTI_SEGMENT, MULTI_SEGMENT.servers(), window=0)
    assert download.failure().check(ValueError)


@pytest.mark.parametrize(("offset", "length"), [(-1, None), (0, -1)])
def test_negative_range_is_refused(offset: int, length: int | None) -> None:
    """A negative offset or length is a caller's mistake: ValueError."""
    download = start_download(MULTI_SEGMENT, MULTI_SEGMENT.servers(), offset=offset, length=length)
    assert download.failure().check(ValueError)


@pytest.mark.parametrize("window", [1, 2, 5])
def test_slow_consumer_bounds_segments_in_flight(window: int) -> None:
    """While the consumer is busy, at most ``window`` segments are fetched ahead of it."""
    servers = MULTI_SEGMENT.servers([0, 1, 2])
    chunks: list[bytes] = []
    busy: list[Deferred[None]] = []

    def consumer(data: bytes) -> Deferred[None]:
        chunks.append(data)
        busy.append(Deferred())
        return busy[-1]

    download = start_download(MULTI_SEGMENT, servers, consumer=consumer, window=window)
    done = download.deferred
    while not done.called:
        fetched = block_segments_read(servers[0], 0, BLOCK_SIZE)
        assert len(fetched) <= len(chunks) + window - 1
        busy[-1].callback(None)
    assert b"".join(chunks) == MULTI_SEGMENT.plaintext
