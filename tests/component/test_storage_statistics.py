"""A storage server's statistics: remote calls counted and timed, shares and space reported."""

from pathlib import Path
from typing import Any

import pytest
from twisted.internet.task import Clock

from grid.metrics import render_openmetrics, statistics_json
from storage_server.crawler_state import CycleCounters, CycleRecord
from storage_server.errors import StorageServerError
from storage_server.server import StorageServer
from storage_server.statistics import (
    DiskUsage,
    MeteredStorageServer,
    ShareCensus,
    ShareCount,
    StorageMetrics,
    count_shares,
)
from tests.openmetrics import parse_openmetrics

NODEID = b"n" * 20
SI = b"s" * 16
OTHER_SI = b"t" * 16
SECRET = b"r" * 32
SLOT_SECRETS = (b"w" * 32, b"r" * 32, b"c" * 32)
FREE = 10**9
DISK = DiskUsage(total=4 * 10**9, used=3 * 10**9, free=FREE)


class Canary:
    """The client's canary: enough for the adapter to watch it."""

    def notifyOnDisconnect(self, callback: Any) -> object:  # noqa: N802  Foolscap's name
        """Remember nothing; the client never disconnects here."""
        return object()

    def dontNotifyOnDisconnect(self, cookie: object) -> None:  # noqa: N802  Foolscap's name
        """Nothing to forget."""


class Node:
    """A real storage server on a temporary directory behind the metered adapter."""

    def __init__(self, storage_dir: Path, history: tuple[CycleRecord, ...] = ()) -> None:
        """Start the server; ``history`` stands for the lease crawler's completed cycles."""
        self.clock = Clock()
        self.server = StorageServer(
            storage_dir,
            NODEID,
            clock=self.clock.seconds,
            reserved_space=1000,
            free_space=lambda _path: FREE,
        )
        self.server.start()
        self.census = ShareCensus(
            storage_dir, lambda: history, self.clock.seconds, max_shares=3, max_age=60.0
        )
        self.metrics = StorageMetrics(self.server, self.census, lambda: DISK, reserved_space=1000)
        self.adapter = MeteredStorageServer(self.server, self.metrics, self.clock.seconds)

    def call(self, target: Any, method: str, *args: Any) -> Any:
        """Call ``method`` as Foolscap does for an inbound call."""
        return target.doRemoteCall(method, args, {})

    def upload(self, storage_index: bytes, data: bytes, shnums: tuple[int, ...] = (0,)) -> None:
        """Allocate, write and close immutable shares through the adapter."""
        _already, writers = self.call(
            self.adapter,
            "allocate_buckets",
            storage_index,
            SECRET,
            SECRET,
            set(shnums),
            len(data),
            Canary(),
        )
        for writer in writers.values():
            self.call(writer, "write", 0, data)
            self.call(writer, "close")

    def stats(self) -> dict[str, Any]:
        """The statistics JSON."""
        return statistics_json([self.metrics.registry])


def test_an_upload_is_counted_and_its_share_appears(tmp_path: Path) -> None:
    """allocate, write and close count once each; the share shows in the census."""
    node = Node(tmp_path)
    assert node.stats()["stats"]["storage_server.shares.immutable.shares"] == 0
    node.upload(SI, b"x" * 500)
    result = node.stats()
    counters = result["counters"]
    assert counters["storage_server.allocate"] == 1
    assert counters["storage_server.write"] == 1
    assert counters["storage_server.close"] == 1
    assert counters["storage_server.bytes_written"] == 500
    assert counters["storage_server.failed_calls"] == 0
    share = node.server.layout.share_path(SI, 0)
    stats = result["stats"]
    assert stats["storage_server.shares.immutable.shares"] == 1
    assert stats["storage_server.shares.immutable.bytes"] == share.stat().st_size
    assert stats["storage_server.latencies.allocate.count"] == 1
    assert stats["storage_server.shares.mutable.shares"] == 0


def test_reads_are_counted_with_their_bytes(tmp_path: Path) -> None:
    """get_buckets and read through the handed-out reader count, with the bytes read."""
    node = Node(tmp_path)
    node.upload(SI, b"abcdef")
    readers = node.call(node.adapter, "get_buckets", SI)
    assert node.call(readers[0], "read", 1, 3) == b"bcd"
    counters = node.stats()["counters"]
    assert counters["storage_server.get"] == 1
    assert counters["storage_server.read"] == 1
    assert counters["storage_server.bytes_read"] == 3


def test_a_refused_call_is_counted_as_failed(tmp_path: Path) -> None:
    """A call the core refuses raises as before and counts in failed_calls."""
    node = Node(tmp_path)
    with pytest.raises(StorageServerError):
        node.call(node.adapter, "get_buckets", b"short")
    counters = node.stats()["counters"]
    assert counters["storage_server.get"] == 1
    assert counters["storage_server.failed_calls"] == 1


def test_mutable_writes_show_in_the_census(tmp_path: Path) -> None:
    """A slot write counts as writev and its share is counted as mutable."""
    node = Node(tmp_path)
    node.stats()
    passed, _reads = node.call(
        node.adapter,
        "slot_testv_and_readv_and_writev",
        SI,
        SLOT_SECRETS,
        {0: ([], [(0, b"mutable data")], None)},
        [],
    )
    assert passed
    result = node.stats()
    assert result["counters"]["storage_server.writev"] == 1
    assert result["stats"]["storage_server.shares.mutable.shares"] == 1
    assert result["stats"]["storage_server.shares.mutable.bytes"] > len(b"mutable data")


def test_space_gauges_come_from_the_disk_and_the_server(tmp_path: Path) -> None:
    """Total, used and free come from the disk; avail is free less the reserve."""
    stats = Node(tmp_path).stats()["stats"]
    assert stats["storage_server.disk_total"] == DISK.total
    assert stats["storage_server.disk_used"] == DISK.used
    assert stats["storage_server.disk_free_for_nonroot"] == FREE
    assert stats["storage_server.disk_avail"] == FREE - 1000
    assert stats["storage_server.reserved_space"] == 1000
    assert stats["storage_server.accepting_immutable_shares"] == 1


def test_the_census_is_kept_until_shares_change_or_it_ages(tmp_path: Path) -> None:
    """Shares added behind the server's back show only after max_age."""
    node = Node(tmp_path)
    assert node.census.current() == ShareCount()
    other = Node(tmp_path)
    other.upload(OTHER_SI, b"y" * 10)
    assert node.census.current() == ShareCount()
    node.clock.advance(60)
    current = node.census.current()
    assert current is not None
    assert current.immutable_shares == 1


def test_a_large_store_falls_back_to_the_crawler(tmp_path: Path) -> None:
    """Past max_shares the census reports the last crawler cycle, or None without one."""
    counters = CycleCounters(
        immutable_shares_examined=40,
        immutable_bytes_examined=4000,
        immutable_shares_deleted=2,
        immutable_bytes_deleted=200,
        mutable_shares_examined=5,
        mutable_bytes_examined=50,
    )
    record = CycleRecord(cycle=0, started=0.0, finished=1.0, counters=counters)
    node = Node(tmp_path, history=(record,))
    node.upload(SI, b"z", shnums=(0, 1, 2, 3))
    assert count_shares(tmp_path, 3) is None
    assert node.census.current() == ShareCount(38, 3800, 5, 50)
    bare = Node(tmp_path)
    assert bare.census.current() is None
    assert bare.stats()["stats"]["storage_server.shares.immutable.shares"] is None


def test_the_storage_registry_renders_valid_openmetrics(tmp_path: Path) -> None:
    """After some traffic the storage statistics parse as strict OpenMetrics."""
    node = Node(tmp_path)
    node.upload(SI, b"q" * 100)
    samples = parse_openmetrics(render_openmetrics([node.metrics.registry]).decode())
    assert samples["grid_storage_server_allocate_total"] == 1
    assert samples["grid_storage_server_shares_immutable_shares"] == 1
    assert samples['grid_storage_server_latencies_close_bucket{le="+Inf"}'] == 1
