"""The repair agent's scheduler and real check service on an in-process grid of ten servers.

Shares are lost by deleting share files on disk; the agent, holding only
the verify cap, finds the file below its threshold and repairs it, and a
healthy file beside it is only checked (its leases renewed), never repaired.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.internet import reactor
from twisted.internet.task import deferLater

from client.checking import CheckService
from client.repair_agent.checker import CheckServiceChecker
from client.repair_agent.scheduler import Schedule, Scheduler
from client.repair_agent.store import StateStore
from client.upload import ThreadPoolRunner, UploadParameters
from grid.caps import CHKReadCap
from grid.formats.immutable_container import parse_container
from tests.chk_samples import sample_plaintext
from tests.integration.inprocess_grid import InProcessGrid
from tests.integration.reactor_thread import in_reactor

pytestmark = pytest.mark.slow

AGENT_LEASE_SECRET = b"A" * 32
SEGMENT = 4095
PARAMS = UploadParameters(needed=3, happy=7, total=10, max_segment_size=SEGMENT)
WAIT = 60.0
POLL = 0.05


async def _wait_until_checked(store: StateStore) -> None:
    """Poll the state file on the reactor until every file has been checked."""
    deadline = reactor.seconds() + WAIT
    while not all(record.last_check for record in store.load().files.values()):
        if reactor.seconds() > deadline:
            raise TimeoutError("the agent did not check every file in time")
        await deferLater(reactor, POLL, lambda: None)


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGrid]:
    """Ten real storage servers on loopback and a broker connected to all of them."""
    started = InProcessGrid.start(tmp_path_factory.mktemp("grid"))
    try:
        yield started
    finally:
        started.close()


def _upload(grid: InProcessGrid, label: bytes) -> CHKReadCap:
    cap = grid.upload(sample_plaintext(label, 2 * SEGMENT + 7), PARAMS).cap
    assert isinstance(cap, CHKReadCap)
    return cap


def _share_files(grid: InProcessGrid, storage_index: bytes) -> list[Path]:
    return [path for server in grid.servers for path in server.share_paths(storage_index).values()]


def _start_agent(grid: InProcessGrid, store: StateStore) -> Scheduler:
    def start() -> Scheduler:
        runner = ThreadPoolRunner(reactor, reactor.getThreadPool())  # type: ignore[arg-type, attr-defined]
        service = CheckService(grid.broker, reactor, runner, AGENT_LEASE_SECRET)
        scheduler = Scheduler(
            reactor,
            store,
            CheckServiceChecker(service),
            Schedule(interval=3600.0, rate=50.0, threshold=8),
        )
        scheduler.start()
        return scheduler

    scheduler: Scheduler = in_reactor(start)
    return scheduler


def test_the_agent_repairs_a_file_below_threshold_from_its_verify_cap(
    grid: InProcessGrid, tmp_path: Path
) -> None:
    """Four servers lose their shares: the agent rebuilds them; the healthy file is left alone."""
    damaged = _upload(grid, b"agent damaged")
    healthy = _upload(grid, b"agent healthy")
    order = grid.permuted_indexes(damaged.storage_index)
    for index in order[:4]:
        for path in grid.servers[index].share_paths(damaged.storage_index).values():
            path.unlink()
    assert len(_share_files(grid, damaged.storage_index)) == 6

    store = StateStore(tmp_path / "state.json")
    damaged_key = damaged.verify_cap().to_string()
    healthy_key = healthy.verify_cap().to_string()
    store.update(lambda state: state.added([damaged_key, healthy_key], 0.0))
    scheduler = _start_agent(grid, store)
    try:
        in_reactor(_wait_until_checked, store)
    finally:
        in_reactor(scheduler.stop)

    files = store.load().files
    assert files[damaged_key].last_repair is not None
    assert files[damaged_key].good_shares == 10
    assert files[damaged_key].distinct_servers == 10
    assert files[damaged_key].healthy
    assert files[damaged_key].failures == ()
    assert files[healthy_key].last_repair is None
    assert files[healthy_key].good_shares == 10
    assert len(_share_files(grid, damaged.storage_index)) == 10
    assert grid.download(damaged) == sample_plaintext(b"agent damaged", 2 * SEGMENT + 7)
    assert scheduler.metrics.repairs.value == 1
    for path in _share_files(grid, healthy.storage_index):
        assert len(parse_container(path.read_bytes()).leases) == 2
    text = store.path.read_text()
    assert damaged.to_string() not in text
    assert healthy.to_string() not in text
