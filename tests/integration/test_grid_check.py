"""Check, verify and repair of immutable files on an in-process grid of ten real servers.

Every server is a real StorageServer on its own loopback Tub (see
:mod:`tests.integration.inprocess_grid`); shares are lost or corrupted by
changing the servers' share files on disk, and checks and repairs go
through real broker connections.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.internet import reactor

from client.check import (
    CheckAndRepairResults,
    CheckResults,
    check_and_repair_chk,
    check_and_repair_results_json,
    check_chk,
    check_results_json,
    check_servers,
)
from client.upload import ThreadPoolRunner, UploadParameters, broker_upload_servers
from grid.base32 import b2a
from grid.caps import CHKReadCap, CHKVerifyCap
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from tests.chk_samples import sample_plaintext
from tests.integration.inprocess_grid import LEASE_SECRET, InProcessGrid, server_id
from tests.integration.reactor_thread import in_reactor

pytestmark = pytest.mark.slow

SEGMENT = 4095
SMALL_SEGMENTS = UploadParameters(needed=3, happy=7, total=10, max_segment_size=SEGMENT)
CONTAINER_HEADER_SIZE = 12


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGrid]:
    """Ten real storage servers on loopback and a broker connected to all of them."""
    started = InProcessGrid.start(tmp_path_factory.mktemp("grid"))
    try:
        yield started
    finally:
        started.close()


def _upload(grid: InProcessGrid, label: bytes) -> CHKReadCap:
    cap = grid.upload(sample_plaintext(label, 3 * SEGMENT + 5), SMALL_SEGMENTS).cap
    assert isinstance(cap, CHKReadCap)
    return cap


def _check(grid: InProcessGrid, cap: CHKReadCap | CHKVerifyCap, *, verify: bool) -> CheckResults:
    async def check() -> CheckResults:
        servers = check_servers(grid.broker, cap.storage_index)
        return await check_chk(cap, servers, clock=reactor, verify=verify)

    results: CheckResults = in_reactor(check)
    return results


def _repair(
    grid: InProcessGrid, cap: CHKReadCap | CHKVerifyCap, *, verify: bool
) -> CheckAndRepairResults:
    async def repair() -> CheckAndRepairResults:
        storage_index = cap.storage_index
        return await check_and_repair_chk(
            cap,
            check_servers(grid.broker, storage_index),
            broker_upload_servers(grid.broker)(storage_index),
            lease_secret=LEASE_SECRET,
            clock=reactor,
            runner=ThreadPoolRunner(reactor, reactor.getThreadPool()),  # type: ignore[arg-type, attr-defined]
            verify=verify,
        )

    results: CheckAndRepairResults = in_reactor(repair)
    return results


def _share_files(grid: InProcessGrid, storage_index: bytes) -> dict[int, dict[int, Path]]:
    """Server index → share number → share file, for every server holding shares."""
    found = {}
    for server in grid.servers:
        paths = server.share_paths(storage_index)
        if paths:
            found[server.index] = paths
    return found


def _share_data(path: Path) -> bytes:
    return parse_container(path.read_bytes()).share_data


def _remove_shares(
    grid: InProcessGrid, storage_index: bytes, indexes: list[int]
) -> dict[int, bytes]:
    """Delete the share files of servers ``indexes``; return share number → share data."""
    removed = {}
    for index in indexes:
        for shnum, path in grid.servers[index].share_paths(storage_index).items():
            removed[shnum] = _share_data(path)
            path.unlink()
    return removed


def test_a_fresh_upload_checks_and_verifies_healthy(grid: InProcessGrid) -> None:
    """Every share on its own server: check and verify both say Healthy with full counts."""
    cap = _upload(grid, b"healthy")
    order = [server_id(index) for index in grid.permuted_indexes(cap.storage_index)]
    for verify in (False, True):
        results = _check(grid, cap, verify=verify)
        assert results.healthy
        assert results.recoverable
        assert results.summary == "Healthy"
        assert results.count_shares_good == 10
        assert results.count_good_share_hosts == 10
        assert results.happiness == 10
        assert results.servers_responding == tuple(order)
        assert results.corrupt_shares == ()
        assert sorted(results.sharemap) == list(range(10))
        data = check_results_json(results)
        assert data["storage-index"] == b2a(cap.storage_index)
        assert data["results"]["count-corrupt-shares"] == 0
        assert data["results"]["count-recoverable-versions"] == 1
    assert all(not server.advisories() for server in grid.servers)


def test_a_healthy_file_is_not_repaired(grid: InProcessGrid) -> None:
    """Check-and-repair of a healthy file attempts nothing and reports the check twice."""
    cap = _upload(grid, b"healthy repair")
    before = _share_files(grid, cap.storage_index)
    results = _repair(grid, cap, verify=False)
    assert not results.repair_attempted
    assert not results.repair_successful
    assert results.post_repair == results.pre_repair
    assert _share_files(grid, cap.storage_index) == before


def test_lost_shares_are_rebuilt_byte_identical_from_the_verify_cap(grid: InProcessGrid) -> None:
    """Three servers lose their shares: 7 counted; repair restores all 10, byte for byte."""
    cap = _upload(grid, b"lost shares")
    verify_cap = cap.verify_cap()
    order = grid.permuted_indexes(cap.storage_index)
    emptied = order[2:5]
    removed = _remove_shares(grid, cap.storage_index, emptied)
    assert len(removed) == 3

    damaged = _check(grid, verify_cap, verify=False)
    assert not damaged.healthy
    assert damaged.recoverable
    assert damaged.count_shares_good == 7
    assert damaged.count_good_share_hosts == 7
    assert damaged.happiness == 7
    assert len(damaged.servers_responding) == 10
    assert damaged.summary == "Not Healthy: 7 shares (enc 3-of-10)"
    assert set(damaged.sharemap).isdisjoint(removed)

    repaired = _repair(grid, verify_cap, verify=False)
    assert repaired.repair_attempted
    assert repaired.repair_successful
    assert repaired.failure is None
    assert repaired.pre_repair.count_shares_good == 7
    assert repaired.post_repair.count_shares_good == 10
    assert repaired.post_repair.healthy
    assert repaired.post_repair.happiness == 10

    files = _share_files(grid, cap.storage_index)
    assert sorted(files) == list(range(10))
    for index in emptied:
        ((shnum, path),) = files[index].items()
        assert shnum in removed
        assert _share_data(path) == removed[shnum]
    later = _check(grid, cap, verify=True)
    assert later.healthy
    assert later.summary == "Healthy"
    assert grid.download(cap) == sample_plaintext(b"lost shares", 3 * SEGMENT + 5)


def test_a_corrupt_block_is_found_by_verify_and_replaced_by_repair(grid: InProcessGrid) -> None:
    """One flipped block byte: check misses it, verify names it, repair rebuilds it elsewhere."""
    cap = _upload(grid, b"corrupt block")
    index = grid.permuted_indexes(cap.storage_index)[0]
    server = grid.servers[index]
    ((shnum, path),) = server.share_paths(cap.storage_index).items()
    original = path.read_bytes()
    layout = parse_share(parse_container(original).share_data).layout
    position = CONTAINER_HEADER_SIZE + layout.data + 2 * layout.block_size + 7
    corrupted = bytearray(original)
    corrupted[position] ^= 0x01
    path.write_bytes(bytes(corrupted))

    assert _check(grid, cap, verify=False).healthy
    verified = _check(grid, cap, verify=True)
    assert not verified.healthy
    assert verified.count_shares_good == 9
    assert shnum not in verified.sharemap
    assert [(loc.server_id, loc.storage_index, loc.shnum) for loc in verified.corrupt_shares] == [
        (server_id(index), cap.storage_index, shnum)
    ]
    counts = check_results_json(verified)["results"]
    assert counts["count-corrupt-shares"] == 1
    assert counts["list-corrupt-shares"] == [[server_id(index), b2a(cap.storage_index), shnum]]
    assert verified.summary == "Not Healthy: 9 shares (enc 3-of-10)"
    advisories = server.advisories()
    assert advisories
    assert b"share %d" % shnum in advisories[-1].read_bytes()

    repaired = _repair(grid, cap, verify=True)
    assert repaired.repair_attempted
    assert repaired.repair_successful
    assert len(repaired.pre_repair.corrupt_shares) == 1
    (holder,) = repaired.post_repair.sharemap[shnum]
    assert holder != server_id(index)
    files = _share_files(grid, cap.storage_index)
    rebuilt = [paths[shnum] for other, paths in files.items() if other != index and shnum in paths]
    assert len(rebuilt) == 1
    assert _share_data(rebuilt[0]) == parse_container(original).share_data
    data = check_and_repair_results_json(repaired)
    assert data["pre-repair-results"]["results"]["count-corrupt-shares"] == 1
    assert data["post-repair-results"]["results"]["count-shares-good"] == 10

    later = _check(grid, cap, verify=True)
    assert later.healthy
    assert later.count_shares_good == 10
    assert len(later.corrupt_shares) == 1


def test_an_unrecoverable_file_is_reported_and_not_repaired(grid: InProcessGrid) -> None:
    """Only two shares left: not recoverable; repair fails cleanly and writes nothing."""
    cap = _upload(grid, b"unrecoverable")
    order = grid.permuted_indexes(cap.storage_index)
    _remove_shares(grid, cap.storage_index, order[:8])

    results = _check(grid, cap, verify=True)
    assert not results.healthy
    assert not results.recoverable
    assert results.count_shares_good == 2
    assert results.summary == "Not Healthy: 2 shares (enc 3-of-10)"
    counts = check_results_json(results)["results"]
    assert (counts["count-recoverable-versions"], counts["count-unrecoverable-versions"]) == (0, 1)

    repaired = _repair(grid, cap, verify=False)
    assert repaired.repair_attempted
    assert not repaired.repair_successful
    assert repaired.failure is not None
    assert "unrecoverable" in repaired.failure
    assert repaired.post_repair == repaired.pre_repair
    assert sum(len(paths) for paths in _share_files(grid, cap.storage_index).values()) == 2
