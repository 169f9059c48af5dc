"""Check, verify and repair of mutable files, and adding leases, on an in-process grid.

Every server is a real StorageServer on its own loopback Tub (see
:mod:`tests.integration.inprocess_grid`); shares are lost, corrupted or
rolled back by changing the servers' share files on disk, and checks,
repairs and lease renewals go through real broker connections.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from twisted.internet import reactor

from client.check import (
    CheckResults,
    LeaseResults,
    MutableCap,
    MutableCheckAndRepairResults,
    MutableCheckResults,
    add_leases,
    check_and_repair_mutable,
    check_and_repair_results_json,
    check_chk,
    check_mutable,
    check_results_json,
    check_servers,
    lease_servers,
    share_holders,
)
from client.check.mutable_repairer import NEEDS_WRITE_CAP
from client.check.results import ShareLocation
from client.mutable.servers import mutable_servers
from client.upload import ThreadPoolRunner
from grid.base32 import a2b, b2a
from grid.caps import CHKReadCap
from grid.caps.mutable import MutableFormat, MutableWriteCap
from grid.formats.immutable_container import lease_matches_renew_secret, parse_container
from grid.formats.mutable_container import (
    DATA_OFFSET,
    lease_secret_matches,
    pack_mutable_container,
    parse_mutable_container,
)
from grid.formats.mutable_share import parse_mutable_header
from grid.formats.sdmf import SdmfHeader
from grid.hashing import lease_secrets
from tests.chk_samples import sample_plaintext
from tests.integration.inprocess_grid import LEASE_SECRET, InProcessGrid, server_id
from tests.integration.mutable_grid import FAST_TIMEOUT, MutableGrid
from tests.integration.reactor_thread import in_reactor

pytestmark = pytest.mark.slow

FORMATS = [MutableFormat.SDMF, MutableFormat.MDMF]
SEGMENT = 4096
SIZE = 3 * SEGMENT + 100
LEASE_PERIOD = 31 * 24 * 3600
OLD_EXPIRY = 1000


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGrid]:
    """Ten real storage servers on loopback and a broker connected to all of them."""
    started = InProcessGrid.start(tmp_path_factory.mktemp("check-mutable"))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def files(grid: InProcessGrid) -> MutableGrid:
    """The grid seen through a MutableService."""
    return MutableGrid(grid)


def _create(files: MutableGrid, label: str, fmt: MutableFormat) -> tuple[MutableWriteCap, bytes]:
    """A new file of several MDMF segments (one SDMF segment); its cap and contents."""
    data = sample_plaintext(f"{label}-{fmt.value}".encode(), SIZE)
    service = files.service(max_segment_size=SEGMENT, timeout=FAST_TIMEOUT)
    return files.create(data, fmt, service=service), data


def _check(grid: InProcessGrid, cap: MutableCap, *, verify: bool) -> MutableCheckResults:
    async def check() -> MutableCheckResults:
        servers = mutable_servers(grid.broker, cap.storage_index)
        return await check_mutable(cap, servers, clock=reactor, verify=verify, timeout=FAST_TIMEOUT)

    results: MutableCheckResults = in_reactor(check)
    return results


def _repair(
    grid: InProcessGrid, cap: MutableCap, *, verify: bool = False, force: bool = False
) -> MutableCheckAndRepairResults:
    async def repair() -> MutableCheckAndRepairResults:
        return await check_and_repair_mutable(
            cap,
            mutable_servers(grid.broker, cap.storage_index),
            lease_secret=LEASE_SECRET,
            clock=reactor,
            runner=ThreadPoolRunner(reactor, reactor.getThreadPool()),  # type: ignore[arg-type, attr-defined]
            verify=verify,
            force=force,
            timeout=FAST_TIMEOUT,
        )

    results: MutableCheckAndRepairResults = in_reactor(repair)
    return results


def _share_bytes(grid: InProcessGrid, storage_index: bytes) -> dict[tuple[int, int], bytes]:
    """(server index, share number) → container file bytes, for every share on the grid."""
    return {
        (server.index, shnum): path.read_bytes()
        for server in grid.servers
        for shnum, path in server.share_paths(storage_index).items()
    }


def _seqnums(files: MutableGrid, storage_index: bytes) -> set[int]:
    return {
        parse_mutable_header(data).seqnum for data in files.all_share_data(storage_index).values()
    }


def _remove_shares(grid: InProcessGrid, storage_index: bytes, indexes: list[int]) -> None:
    for index in indexes:
        for path in grid.servers[index].share_paths(storage_index).values():
            path.unlink()


def _name(version_seqnum: int, share_data: bytes) -> str:
    root = parse_mutable_header(share_data).root_hash
    return f"seq{version_seqnum}-{b2a(root)[:4]}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_new_file_checks_and_verifies_healthy(
    grid: InProcessGrid, files: MutableGrid, fmt: MutableFormat
) -> None:
    """Ten shares of one version: check and verify, from any cap, say Healthy with full counts."""
    cap, _data = _create(files, "healthy", fmt)
    order = [server_id(index) for index in grid.permuted_indexes(cap.storage_index)]
    name = _name(1, next(iter(files.all_share_data(cap.storage_index).values())))
    advisories = sum(len(server.advisories()) for server in grid.servers)
    for checked_cap in (cap, cap.read_only(), cap.verify_cap()):
        for verify in (False, True):
            results = _check(grid, checked_cap, verify=verify)
            assert results.healthy
            assert results.recoverable
            assert results.summary == "Healthy"
            assert results.count_shares_good == 10
            assert results.count_good_share_hosts == 10
            assert results.count_wrong_shares == 0
            assert results.happiness == 10
            assert results.servers_responding == tuple(order)
            assert results.corrupt_shares == ()
            assert set(results.sharemap) == {f"{name}-sh{shnum}" for shnum in range(10)}
            data = check_results_json(results)
            assert data["storage-index"] == b2a(cap.storage_index)
            assert data["summary"] == "Healthy"
            counts = data["results"]
            assert counts["count-recoverable-versions"] == 1
            assert counts["count-unrecoverable-versions"] == 0
            assert (counts["count-shares-needed"], counts["count-shares-expected"]) == (3, 10)
            assert counts["healthy"] is True
    assert sum(len(server.advisories()) for server in grid.servers) == advisories
    repaired = _repair(grid, cap)
    assert not repaired.repair_attempted
    assert repaired.post_repair == repaired.pre_repair


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_file_verifies_healthy(
    grid: InProcessGrid, files: MutableGrid, fmt: MutableFormat
) -> None:
    """A file of no bytes has no blocks, but its hash trees still verify."""
    cap = files.create(b"", fmt)
    results = _check(grid, cap.verify_cap(), verify=True)
    assert results.summary == "Healthy"
    assert results.corrupt_shares == ()


@pytest.mark.parametrize("fmt", FORMATS)
def test_lost_shares_are_counted_and_republished_from_the_write_cap(
    grid: InProcessGrid, files: MutableGrid, fmt: MutableFormat
) -> None:
    """Three servers lose their shares: 7 counted; read caps cannot repair; the write cap can."""
    cap, data = _create(files, "lost", fmt)
    order = grid.permuted_indexes(cap.storage_index)
    _remove_shares(grid, cap.storage_index, order[2:5])

    damaged = _check(grid, cap.verify_cap(), verify=False)
    assert not damaged.healthy
    assert damaged.recoverable
    assert damaged.count_shares_good == 7
    assert damaged.count_good_share_hosts == 7
    assert len(damaged.servers_responding) == 10
    assert damaged.summary == "Unhealthy: 7 shares (enc 3-of-10)"

    before = _share_bytes(grid, cap.storage_index)
    for weak_cap in (cap.read_only(), cap.verify_cap()):
        refused = _repair(grid, weak_cap)
        assert not refused.repair_attempted
        assert not refused.repair_successful
        assert refused.failure == NEEDS_WRITE_CAP
    assert _share_bytes(grid, cap.storage_index) == before

    repaired = _repair(grid, cap)
    assert repaired.repair_attempted
    assert repaired.repair_successful
    assert repaired.failure is None
    assert repaired.pre_repair.count_shares_good == 7
    assert repaired.post_repair.healthy
    assert repaired.post_repair.count_shares_good == 10
    assert _seqnums(files, cap.storage_index) == {2}
    assert all(grid.servers[index].share_paths(cap.storage_index) for index in range(10))
    assert files.read(cap) == data
    report = check_and_repair_results_json(repaired)
    assert report["repair-attempted"] is True
    assert report["pre-repair-results"]["results"]["count-shares-good"] == 7
    assert report["post-repair-results"]["summary"] == "Healthy"


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_recoverable_versions_are_merged_into_one(
    grid: InProcessGrid, files: MutableGrid, fmt: MutableFormat
) -> None:
    """Half the servers rolled back to seqnum 1: two versions; repair republishes the newest."""
    cap, _old = _create(files, "two versions", fmt)
    order = grid.permuted_indexes(cap.storage_index)
    kept = {
        (index, shnum): path.read_bytes()
        for index in order[:5]
        for shnum, path in grid.servers[index].share_paths(cap.storage_index).items()
    }
    new = sample_plaintext(b"the second version", SIZE + 7)
    files.overwrite(cap, new)
    for (index, shnum), content in kept.items():
        (grid.servers[index].share_paths(cap.storage_index)[shnum]).write_bytes(content)
    assert _seqnums(files, cap.storage_index) == {1, 2}

    results = _check(grid, cap.read_only(), verify=False)
    assert not results.healthy
    assert results.recoverable
    assert len(results.recoverable_versions) == 2
    assert results.count_shares_good == 5
    assert results.count_wrong_shares == 5
    assert results.summary == "Unhealthy: multiple versions are recoverable 5 shares (enc 3-of-10)"
    counts = check_results_json(results)["results"]
    assert counts["count-recoverable-versions"] == 2
    assert counts["count-unrecoverable-versions"] == 0
    assert counts["count-wrong-shares"] == 5
    assert {key.split("-sh")[0] for key in counts["sharemap"]} == {
        version.name for version in results.versions
    }
    assert len(counts["sharemap"]) == 10

    repaired = _repair(grid, cap)
    assert repaired.repair_successful
    assert len(repaired.post_repair.versions) == 1
    assert repaired.post_repair.versions[0].seqnum == 3
    assert _seqnums(files, cap.storage_index) == {3}
    assert files.read(cap) == new


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_corrupt_block_is_found_by_verify_reported_and_repaired(
    grid: InProcessGrid, files: MutableGrid, fmt: MutableFormat
) -> None:
    """One flipped block byte: check misses it, verify names it and tells its server."""
    cap, data = _create(files, "corrupt", fmt)
    index = grid.permuted_indexes(cap.storage_index)[0]
    server = grid.servers[index]
    ((shnum, path),) = server.share_paths(cap.storage_index).items()
    original = path.read_bytes()
    header = parse_mutable_header(parse_mutable_container(original).data)
    block_start = (
        header.offsets.share_data
        if isinstance(header, SdmfHeader)
        else header.block_location(1)[0] + 16
    )
    corrupted = bytearray(original)
    corrupted[DATA_OFFSET + block_start + 5] ^= 0x01
    path.write_bytes(bytes(corrupted))
    advisories = len(server.advisories())

    assert _check(grid, cap, verify=False).healthy
    verified = _check(grid, cap.verify_cap(), verify=True)
    assert not verified.healthy
    assert verified.recoverable
    assert verified.count_shares_good == 9
    assert verified.corrupt_shares == (ShareLocation(server_id(index), cap.storage_index, shnum),)
    short = server_id(index).removeprefix("v0-")[:8]
    assert (
        verified.summary == f"Unhealthy: 9 shares (enc 3-of-10) Corrupt Shares: {short}-sh{shnum}"
    )
    assert not any(key.endswith(f"-sh{shnum}") for key in verified.sharemap)
    counts = check_results_json(verified)["results"]
    assert counts["count-corrupt-shares"] == 1
    assert counts["list-corrupt-shares"] == [[server_id(index), b2a(cap.storage_index), shnum]]
    assert len(server.advisories()) > advisories

    repaired = _repair(grid, cap, verify=True)
    assert repaired.repair_attempted
    assert repaired.repair_successful
    assert _check(grid, cap, verify=True).healthy
    assert files.read(cap) == data


def test_rolling_back_past_an_unrecoverable_newer_version_needs_force(
    grid: InProcessGrid, files: MutableGrid
) -> None:
    """Eight servers rolled back to seqnum 1, two keep seqnum 2: repair refuses unless forced."""
    cap, old = _create(files, "rollback", MutableFormat.SDMF)
    order = grid.permuted_indexes(cap.storage_index)
    kept = {
        (index, shnum): path.read_bytes()
        for index in order[:8]
        for shnum, path in grid.servers[index].share_paths(cap.storage_index).items()
    }
    files.overwrite(cap, b"a newer version that is almost lost")
    for (index, shnum), content in kept.items():
        (grid.servers[index].share_paths(cap.storage_index)[shnum]).write_bytes(content)

    results = _check(grid, cap, verify=False)
    assert results.best_version is not None
    assert results.best_version.seqnum == 1
    assert results.summary == "Unhealthy: some versions are unrecoverable 8 shares (enc 3-of-10)"
    before = _share_bytes(grid, cap.storage_index)
    refused = _repair(grid, cap)
    assert refused.repair_attempted
    assert not refused.repair_successful
    assert refused.failure is not None
    assert "force" in refused.failure
    assert _share_bytes(grid, cap.storage_index) == before

    forced = _repair(grid, cap, force=True)
    assert forced.repair_successful
    assert _seqnums(files, cap.storage_index) == {3}
    assert files.read(cap) == old


def test_an_unrecoverable_file_is_not_written(grid: InProcessGrid, files: MutableGrid) -> None:
    """Two shares left of k=3: unrecoverable, and a repair writes nothing anywhere."""
    cap, _data = _create(files, "unrecoverable", MutableFormat.MDMF)
    order = grid.permuted_indexes(cap.storage_index)
    _remove_shares(grid, cap.storage_index, order[2:])
    before = _share_bytes(grid, cap.storage_index)
    assert len(before) == 2

    results = _check(grid, cap, verify=True)
    assert not results.recoverable
    assert not results.healthy
    assert results.count_shares_good == 2
    assert (
        results.summary == "Unhealthy: some versions are unrecoverable no versions are recoverable"
    )
    counts = check_results_json(results)["results"]
    assert counts["count-recoverable-versions"] == 0
    assert counts["count-unrecoverable-versions"] == 1

    repaired = _repair(grid, cap)
    assert repaired.repair_attempted
    assert not repaired.repair_successful
    assert repaired.failure is not None
    assert "unrecoverable" in repaired.failure
    assert _share_bytes(grid, cap.storage_index) == before


def test_a_file_no_server_holds(grid: InProcessGrid) -> None:
    """No share anywhere: no versions, Tahoe's default k and N, every server responding."""
    cap = MutableWriteCap(MutableFormat.SDMF, os.urandom(16), os.urandom(32))
    results = _check(grid, cap, verify=True)
    assert results.versions == ()
    assert results.summary == "Unhealthy: no versions are recoverable"
    assert (results.needed_shares, results.total_shares) == (3, 10)
    assert len(results.servers_responding) == 10
    assert share_holders(results) == frozenset()


def _age_leases(path: Path) -> None:
    """Set every lease in a share file (mutable or immutable) to expire long ago."""
    content = path.read_bytes()
    if content.startswith(b"Tahoe mutable container"):
        container = parse_mutable_container(content)
        slots = tuple(
            None if lease is None else attrs.evolve(lease, expiration_time=OLD_EXPIRY)
            for lease in container.lease_slots
        )
        path.write_bytes(pack_mutable_container(attrs.evolve(container, lease_slots=slots)))
    else:
        immutable = parse_container(content)
        leases = tuple(
            attrs.evolve(lease, expiration_time=OLD_EXPIRY) for lease in immutable.leases
        )
        path.write_bytes(attrs.evolve(immutable, leases=leases).pack())


def _our_lease_expiry(path: Path, storage_index: bytes, nodeid: bytes) -> int:
    """The expiry of the lease this client holds on a share file."""
    renew, _cancel = lease_secrets(LEASE_SECRET, storage_index, nodeid)
    content = path.read_bytes()
    if content.startswith(b"Tahoe mutable container"):
        container = parse_mutable_container(content)
        version = container.header.version
        (expiry,) = [
            lease.expiration_time
            for lease in container.leases
            if lease_secret_matches(version, lease.renew_secret_stored, renew)
        ]
        return expiry
    immutable = parse_container(content)
    (expiry,) = [
        lease.expiration_time
        for lease in immutable.leases
        if lease_matches_renew_secret(immutable.version, lease, renew)
    ]
    return expiry


def test_add_leases_renews_chk_and_mutable_shares(grid: InProcessGrid, files: MutableGrid) -> None:
    """Leases aged on disk come back to now + 31 days on every holder, with this client's secret."""
    mutable_cap, _data = _create(files, "leases", MutableFormat.SDMF)
    chk_cap = grid.upload(sample_plaintext(b"chk leases", 20_000)).cap
    assert isinstance(chk_cap, CHKReadCap)
    for storage_index in (mutable_cap.storage_index, chk_cap.storage_index):
        _remove_shares(grid, storage_index, grid.permuted_indexes(storage_index)[:1])
        holders = {
            server.index: server.share_paths(storage_index)
            for server in grid.servers
            if server.share_paths(storage_index)
        }
        assert len(holders) == 9
        for paths in holders.values():
            for path in paths.values():
                _age_leases(path)

        async def renew(storage_index: bytes = storage_index) -> LeaseResults:
            checked: CheckResults | MutableCheckResults
            if storage_index == mutable_cap.storage_index:
                checked = await check_mutable(
                    mutable_cap,
                    mutable_servers(grid.broker, storage_index),
                    clock=reactor,
                    timeout=FAST_TIMEOUT,
                )
            else:
                checked = await check_chk(
                    chk_cap, check_servers(grid.broker, storage_index), clock=reactor
                )
            return await add_leases(
                storage_index,
                lease_servers(grid.broker, storage_index, share_holders(checked)),
                lease_secret=LEASE_SECRET,
                clock=reactor,
            )

        started = int(reactor.seconds())
        renewed: LeaseResults = in_reactor(renew)
        assert renewed.count_renewed == 9
        assert renewed.count_failed == 0
        assert set(renewed.renewed) == {server_id(index) for index in holders}
        for index, paths in holders.items():
            nodeid = a2b(grid.servers[index].tub.getTubID())
            for path in paths.values():
                assert _our_lease_expiry(path, storage_index, nodeid) >= started + LEASE_PERIOD
