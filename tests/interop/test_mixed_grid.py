"""A mixed grid: five Tahoe-LAFS 1.20 storage nodes and five of ours behind one introducer.

Rules: the module runs once with Tahoe's introducer and once with ours.
Both clients (ours and a Tahoe client) use k=3, happy=7, N=10 and their own
random convergence secrets, so each file below has its own storage index.
A file either client uploads has its ten shares spread over both kinds of
server (read from the servers' disks), and each client reads back what the
other wrote. Then three of the five Tahoe servers are stopped, and both
clients must still read both files: seven servers hold seven shares, more
than the three needed. Stopping servers is final for the grid, so the tests
that need all ten servers come first.
"""

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.interop.client_node import ClientNode, FileCli
from tests.interop.client_settings import ClientSettings
from tests.interop.grid_client import GridClient, start_grid_client
from tests.interop.grids import StorageGrid, start_storage_grid, start_together
from tests.interop.scenarios import sample_bytes
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import NodeSupervisor, wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]

SETTINGS = ClientSettings(needed=3, happy=7, total=10)
SERVERS_OF_EACH_KIND = 5
TAHOE_SERVERS_STOPPED = 3
FILE_SIZES = {"grid": (3 << 20) + 17, "tahoe": (2 << 20) + 5}
KINDS = ("grid", "tahoe")


@attrs.frozen
class MixedGrid:
    """The mixed grid and one client of each program on it."""

    grid: StorageGrid
    clients: dict[str, ClientNode]
    clis: dict[str, FileCli]


@attrs.frozen
class StoredFile:
    """A file one client wrote: its cap and contents."""

    cap: str
    contents: bytes


def server_kind(nickname: str) -> str:
    """Which program runs the storage node with this nickname."""
    return nickname.split("-", 1)[0]


@pytest.fixture(scope="module", params=KINDS, ids=lambda kind: f"{kind}-introducer")
def mixed_grid(
    request: pytest.FixtureRequest,
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MixedGrid]:
    """The introducer of one kind, ten storage nodes of both kinds, and both clients."""
    programs = {"grid": grid_program, "tahoe": tahoe_env.tahoe}
    introducer_kind: str = request.param
    base = tmp_path_factory.mktemp(f"mixed-{introducer_kind}-introducer")
    storage_nodes = [
        (programs[kind], f"{kind}-storage-{index}")
        for index in range(SERVERS_OF_EACH_KIND)
        for kind in KINDS
    ]
    grid = start_storage_grid(
        supervisor,
        base,
        programs[introducer_kind],
        storage_nodes,
        introducer_web=introducer_kind == "grid",
    )
    furl, server_ids = grid.introducer.furl, grid.server_ids
    ours, tahoe = start_together(
        lambda: start_grid_client(
            supervisor,
            grid_program,
            base / "grid-client",
            SETTINGS,
            introducer_furl=furl,
            server_ids=server_ids,
        ),
        lambda: start_tahoe_client(
            supervisor,
            tahoe_env,
            base / "tahoe-client",
            SETTINGS,
            introducer_furl=furl,
            server_ids=server_ids,
        ),
    )
    assert isinstance(ours, GridClient)
    assert isinstance(tahoe, TahoeClient)
    yield MixedGrid(grid, {"grid": ours, "tahoe": tahoe}, {"grid": ours.cli, "tahoe": tahoe.cli})
    supervisor.stop_all()


@pytest.fixture(scope="module")
def stored_files(
    mixed_grid: MixedGrid, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, StoredFile]:
    """One file uploaded by each client, by the kind of client that wrote it."""
    work = tmp_path_factory.mktemp("mixed-files")
    stored = {}
    for kind, size in FILE_SIZES.items():
        contents = sample_bytes(size, seed=len(kind) * 1000 + size)
        source = work / f"{kind}.in"
        source.write_bytes(contents)
        cap = mixed_grid.clis[kind].put(source)
        assert cap.startswith("URI:CHK:"), cap
        stored[kind] = StoredFile(cap, contents)
    return stored


@pytest.fixture(scope="module")
def tahoe_servers_stopped(mixed_grid: MixedGrid, stored_files: dict[str, StoredFile]) -> list[str]:
    """Stop the three Tahoe servers holding the most shares of the stored files; their names."""
    grid = mixed_grid.grid
    held: dict[str, int] = {}
    for stored in stored_files.values():
        for nickname, numbers in grid.placement(stored.cap).items():
            held[nickname] = held.get(nickname, 0) + len(numbers)
    tahoe_servers = [s.nickname for s in grid.servers if server_kind(s.nickname) == "tahoe"]
    ranked = sorted(tahoe_servers, key=lambda nickname: (-held.get(nickname, 0), nickname))
    stopped = ranked[:TAHOE_SERVERS_STOPPED]
    for nickname in stopped:
        grid.node_named(nickname).stop()
    stopped_ids = [s.server_id for s in grid.servers if s.nickname in stopped]
    client = mixed_grid.clients["grid"]
    wait_for(
        lambda: not any(client.connected_to([server_id]) for server_id in stopped_ids),
        what="our client noticing the stopped Tahoe servers",
        node=client.node,
    )
    return stopped


@pytest.mark.parametrize("writer", KINDS)
def test_upload_spreads_shares_over_both_kinds_of_server(
    mixed_grid: MixedGrid, stored_files: dict[str, StoredFile], writer: str
) -> None:
    """All ten shares are on disk, on at least seven servers, some Tahoe's and some ours."""
    placement = mixed_grid.grid.placement(stored_files[writer].cap)
    held = sorted(number for numbers in placement.values() for number in numbers)
    assert set(held) == set(range(SETTINGS.total)), placement
    assert len(placement) >= SETTINGS.happy, placement
    assert {server_kind(nickname) for nickname in placement} == set(KINDS), placement


@pytest.mark.parametrize(("writer", "reader"), [("grid", "tahoe"), ("tahoe", "grid")])
def test_each_client_reads_what_the_other_wrote(
    mixed_grid: MixedGrid,
    stored_files: dict[str, StoredFile],
    tmp_path: Path,
    writer: str,
    reader: str,
) -> None:
    """A file one client uploaded reads back byte for byte through the other client."""
    stored = stored_files[writer]
    assert mixed_grid.clis[reader].get(stored.cap, tmp_path / "out") == stored.contents


@pytest.mark.parametrize("writer", KINDS)
@pytest.mark.parametrize("reader", KINDS)
def test_reads_with_three_tahoe_servers_stopped(
    mixed_grid: MixedGrid,
    stored_files: dict[str, StoredFile],
    tahoe_servers_stopped: list[str],
    tmp_path: Path,
    writer: str,
    reader: str,
) -> None:
    """With three Tahoe servers down, either client still reads either client's file."""
    stored = stored_files[writer]
    placement = mixed_grid.grid.placement(stored.cap)
    assert set(placement) & set(tahoe_servers_stopped), (placement, tahoe_servers_stopped)
    assert mixed_grid.clis[reader].get(stored.cap, tmp_path / "out") == stored.contents
