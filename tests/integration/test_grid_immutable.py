"""Immutable files on an in-process grid of ten real storage servers (k=3, happy=7, N=10).

Every server is a real StorageServer on its own loopback Tub (see
:mod:`tests.integration.inprocess_grid`); uploads and downloads go through
real broker connections. Hostile servers are Foolscap references put in
place of real ones in a second broker, under the same server ids, so they
take the same places in the permutation.
"""

import random
from collections.abc import Iterator
from typing import Any

import pytest
from foolscap.api import Referenceable
from twisted.internet.defer import Deferred

from client.upload import UploadParameters, UploadTuning, UploadUnhappinessError
from grid.caps import CHKReadCap, LiteralCap
from grid.chk_decode import decode_chk
from grid.errors import NotEnoughSharesError
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from storage_server.foolscap_adapter import FoolscapStorageServer
from tests.chk_samples import sample_plaintext
from tests.integration.inprocess_grid import PARAMS, InProcessGrid

pytestmark = pytest.mark.slow

SEGMENT = 4095
SMALL_SEGMENTS = UploadParameters(needed=3, happy=7, total=10, max_segment_size=SEGMENT)
CONTAINER_HEADER_SIZE = 12
HOSTILE_READ_TIMEOUT = 1.0
NO_SPACE = 28
SMALL_WRITES = UploadTuning(write_batch_size=1024)


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGrid]:
    """Ten real storage servers on loopback and a broker connected to all of them."""
    started = InProcessGrid.start(tmp_path_factory.mktemp("grid"))
    try:
        yield started
    finally:
        started.close()


def _chk_cap(cap: object) -> CHKReadCap:
    assert isinstance(cap, CHKReadCap)
    return cap


@pytest.mark.parametrize("size", [0, 1, 55])
def test_small_files_become_literal_caps(grid: InProcessGrid, size: int) -> None:
    """A file of at most 55 bytes becomes a LIT cap holding its bytes, touching no server."""
    data = sample_plaintext(b"lit", size)
    result = grid.upload(data)
    assert isinstance(result.cap, LiteralCap)
    assert result.cap.data == data
    assert result.storage_index is None
    assert result.servers_used == frozenset()


@pytest.mark.parametrize("size", [56, SEGMENT - 1, SEGMENT, SEGMENT + 1, 5 * SEGMENT + 17])
def test_round_trip_around_segment_boundaries(grid: InProcessGrid, size: int) -> None:
    """Files at and around the segment size (and several segments) come back byte for byte."""
    data = sample_plaintext(b"boundary-%d" % size, size)
    result = grid.upload(data, SMALL_SEGMENTS)
    cap = _chk_cap(result.cap)
    assert result.happiness == 10
    assert grid.download(cap) == data


def test_ten_mebibytes_in_default_segments(grid: InProcessGrid) -> None:
    """A 10 MiB file in 1 MiB segments uploads to all ten servers and downloads intact."""
    data = random.Random(10).randbytes(10 * 1024 * 1024)
    result = grid.upload(data, PARAMS)
    cap = _chk_cap(result.cap)
    assert sorted(result.sharemap) == list(range(10))
    assert grid.download(cap) == data
    middle = 5 * 1024 * 1024 - 3
    assert grid.download(cap, offset=middle, length=7) == data[middle : middle + 7]


def test_download_survives_seven_stopped_servers_not_eight(grid: InProcessGrid) -> None:
    """With 7 of 10 servers down the file downloads; with 8 down, NotEnoughSharesError(3, 2)."""
    data = sample_plaintext(b"stopped", 3 * SEGMENT)
    cap = _chk_cap(grid.upload(data, SMALL_SEGMENTS).cap)
    order = grid.permuted_indexes(cap.storage_index)
    try:
        grid.stop_servers(order[:7])
        assert grid.download(cap) == data
        grid.stop_servers(order[7:8])
        with pytest.raises(NotEnoughSharesError) as caught:
            grid.download(cap)
        assert (caught.value.needed, caught.value.found) == (3, 2)
        assert "needed 3" in str(caught.value)
        assert "found 2" in str(caught.value)
    finally:
        grid.restart_stopped()
    assert grid.download(cap) == data


def _share_regions(raw: bytes) -> dict[str, list[int]]:
    """File offsets of a stored share's areas: header, hash trees, share hashes + UEB, blocks."""
    layout = parse_share(parse_container(raw).share_data).layout
    assert layout.ueb_length is not None
    length_field = 4 if layout.version == 1 else 8

    def span(start: int, end: int) -> list[int]:
        return list(range(CONTAINER_HEADER_SIZE + start, CONTAINER_HEADER_SIZE + end))

    blocks = span(layout.data, layout.plaintext_hash_tree)
    return {
        "header": span(-CONTAINER_HEADER_SIZE, layout.data),
        "plaintext tree": span(layout.plaintext_hash_tree, layout.crypttext_hash_tree),
        "crypttext tree": span(layout.crypttext_hash_tree, layout.block_hashes),
        "block tree": span(layout.block_hashes, layout.share_hashes),
        "share hashes and UEB": span(
            layout.share_hashes, layout.uri_extension + length_field + layout.ueb_length
        ),
        "blocks": blocks[:: max(1, len(blocks) // 24)],
    }


def test_corrupt_bytes_in_a_stored_share_are_survived_and_reported(grid: InProcessGrid) -> None:
    """Each flipped byte of the first-choice share: exact bytes back; read corruption reported."""
    data = sample_plaintext(b"corrupt", 3 * SEGMENT + 5)
    cap = _chk_cap(grid.upload(data, SMALL_SEGMENTS).cap)
    index = grid.permuted_indexes(cap.storage_index)[0]
    server = grid.servers[index]
    ((_, path),) = server.share_paths(cap.storage_index).items()
    original = path.read_bytes()
    regions = _share_regions(original)
    reported: dict[str, int] = dict.fromkeys(regions, 0)
    try:
        for region, positions in regions.items():
            for position in positions:
                corrupted = bytearray(original)
                corrupted[position] ^= 0xFF
                path.write_bytes(bytes(corrupted))
                before = len(server.advisories())
                assert grid.download(cap) == data, f"wrong bytes after flipping byte {position}"
                grid.settle(index)
                reported[region] += len(server.advisories()) > before
    finally:
        path.write_bytes(original)
    assert reported["blocks"] == len(regions["blocks"])
    assert reported["share hashes and UEB"] == len(regions["share hashes and UEB"])
    assert reported["crypttext tree"] > 0
    assert reported["block tree"] > 0
    assert reported["header"] > 0
    assert grid.download(cap) == data


class _ServerStandIn(Referenceable):  # type: ignore[misc]
    """Answers get_version like the real server it stands in for."""

    def __init__(self, real: FoolscapStorageServer) -> None:
        self.real = real

    def remote_get_version(self) -> Any:
        return self.real.remote_get_version()


class _NonsenseBuckets(_ServerStandIn):
    def remote_get_buckets(self, storage_index: bytes) -> Any:
        return [b"not", b"a", b"dict"]


class _RandomReader(Referenceable):  # type: ignore[misc]
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def remote_read(self, offset: int, length: int) -> bytes:
        return self.rng.randbytes(length)

    def remote_advise_corrupt_share(self, reason: bytes) -> None:
        """Ignore the advice."""


class _RandomReads(_ServerStandIn):
    def remote_get_buckets(self, storage_index: bytes) -> Any:
        held = self.real.remote_get_buckets(storage_index)
        return {shnum: _RandomReader(shnum) for shnum in held}


class _HangingReader(Referenceable):  # type: ignore[misc]
    def remote_read(self, offset: int, length: int) -> "Deferred[bytes]":
        return Deferred()

    def remote_advise_corrupt_share(self, reason: bytes) -> None:
        """Ignore the advice."""


class _HangingReads(_ServerStandIn):
    def remote_get_buckets(self, storage_index: bytes) -> Any:
        held = self.real.remote_get_buckets(storage_index)
        return dict.fromkeys(held, _HangingReader())


class _HangingBuckets(_ServerStandIn):
    def remote_get_buckets(self, storage_index: bytes) -> "Deferred[Any]":
        return Deferred()


@pytest.mark.parametrize(
    "stand_in", [_NonsenseBuckets, _RandomReads, _HangingReads, _HangingBuckets]
)
def test_hostile_servers_do_not_stop_a_download(
    grid: InProcessGrid, stand_in: type[_ServerStandIn]
) -> None:
    """The three first-choice servers answering garbage or hanging: the file still downloads."""
    data = sample_plaintext(b"hostile-" + stand_in.__name__.encode(), 2 * SEGMENT + 9)
    cap = _chk_cap(grid.upload(data, SMALL_SEGMENTS).cap)
    hostile = {
        index: stand_in(grid.servers[index].serving())
        for index in grid.permuted_indexes(cap.storage_index)[:3]
    }
    with grid.substitute_broker(hostile) as broker:
        delivered = grid.download(cap, broker, read_timeout=HOSTILE_READ_TIMEOUT)
    assert delivered == data


class _FailingWriter(Referenceable):  # type: ignore[misc]
    def __init__(self, real: Any, writes_allowed: int) -> None:
        self.real = real
        self.writes_allowed = writes_allowed

    def remote_write(self, offset: int, data: bytes) -> None:
        if self.writes_allowed <= 0:
            raise OSError(NO_SPACE, "No space left on device")
        self.writes_allowed -= 1
        self.real.remote_write(offset, data)

    def remote_close(self) -> None:
        self.real.remote_close()

    def remote_abort(self) -> None:
        self.real.remote_abort()


class _DiskFillsUp(_ServerStandIn):
    """Allocates for real, then lets each bucket take one write before the disk is full."""

    def remote_get_buckets(self, storage_index: bytes) -> Any:
        return self.real.remote_get_buckets(storage_index)

    def remote_allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: set[int],
        allocated_size: int,
        canary: Any,
    ) -> Any:
        held, writers = self.real.remote_allocate_buckets(
            storage_index, renew_secret, cancel_secret, sharenums, allocated_size, canary
        )
        return held, {shnum: _FailingWriter(writer, 1) for shnum, writer in writers.items()}


def _assert_only_whole_shares(grid: InProcessGrid, storage_index: bytes) -> int:
    """Every complete share file anywhere parses as a whole share; return how many there are."""
    count = 0
    for server in grid.servers:
        for path in server.share_paths(storage_index).values():
            container = parse_container(path.read_bytes())
            parse_share(container.share_data)
            count += 1
    return count


@pytest.mark.parametrize(("failing", "happy"), [(1, True), (3, True), (4, False)])
def test_disk_full_mid_upload(grid: InProcessGrid, failing: int, happy: bool) -> None:
    """Disks filling mid-upload: success elsewhere or UploadUnhappinessError; no torn share."""
    data = sample_plaintext(b"disk-full-%d" % failing, 4 * SEGMENT + 3)
    storage_index = _chk_cap(grid.upload(data, SMALL_SEGMENTS).cap).storage_index
    for server in grid.servers:
        for path in server.share_paths(storage_index).values():
            path.unlink()
    broken = grid.permuted_indexes(storage_index)[:failing]
    hostile = {index: _DiskFillsUp(grid.servers[index].serving()) for index in broken}
    with grid.substitute_broker(hostile) as broker:
        if happy:
            result = grid.upload(data, SMALL_SEGMENTS, broker, SMALL_WRITES)
            assert result.happiness >= SMALL_SEGMENTS.happy
            assert grid.download(_chk_cap(result.cap)) == data
        else:
            with pytest.raises(UploadUnhappinessError):
                grid.upload(data, SMALL_SEGMENTS, broker, SMALL_WRITES)
        for index in broken:
            grid.settle(index)
    for index in broken:
        assert grid.servers[index].share_paths(storage_index) == {}
        incoming = grid.servers[index].layout.incoming_bucket_dir(storage_index)
        assert not incoming.exists() or list(incoming.iterdir()) == []
    stored = _assert_only_whole_shares(grid, storage_index)
    if happy:
        assert stored == 10 - failing


@pytest.mark.parametrize(("full", "happy"), [(3, True), (4, False)])
def test_servers_without_space_refuse_shares(grid: InProcessGrid, full: int, happy: bool) -> None:
    """Servers reporting no free space take no shares; the upload is happy only if 7 remain."""
    data = sample_plaintext(b"no-space-%d" % full, 2 * SEGMENT)
    storage_index = _chk_cap(grid.upload(data, SMALL_SEGMENTS).cap).storage_index
    for server in grid.servers:
        for path in server.share_paths(storage_index).values():
            path.unlink()
    full_servers = grid.permuted_indexes(storage_index)[:full]
    try:
        for index in full_servers:
            grid.servers[index].free_space = 0
        if happy:
            result = grid.upload(data, SMALL_SEGMENTS)
            assert result.happiness == 10 - full
            assert (
                decode_chk(
                    _chk_cap(result.cap),
                    {
                        shnum: parse_container(path.read_bytes()).share_data
                        for server in grid.servers
                        for shnum, path in server.share_paths(storage_index).items()
                    },
                )
                == data
            )
        else:
            with pytest.raises(UploadUnhappinessError):
                grid.upload(data, SMALL_SEGMENTS)
    finally:
        for index in full_servers:
            grid.servers[index].free_space = None
    for index in full_servers:
        assert grid.servers[index].share_paths(storage_index) == {}
    _assert_only_whole_shares(grid, storage_index)
