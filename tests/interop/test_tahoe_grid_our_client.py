"""Our client node on a Tahoe-LAFS 1.20 grid, beside a Tahoe client.

Rules: the grid is Tahoe's introducer and four Tahoe storage nodes (the
session's :func:`tahoe_grid`); our client (``grid create-client
--introducer FURL``) and a Tahoe client join it with k=3, happy=4, N=10 and
their default segment size and own random convergence secrets. ``grid put``
files come back byte for byte from ``tahoe get`` and the other way round;
the two directions use different contents, so neither client can read a file
the other wrote by finding its own shares. Every share of a CHK file lands
on the Tahoe servers' disks.
"""

from pathlib import Path

import attrs
import pytest

from tests.interop.client_settings import ClientSettings
from tests.interop.grid_client import GridClient, start_grid_client
from tests.interop.grids import StorageGrid, start_together
from tests.interop.scenarios import LITERAL_LIMIT, sample_bytes
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import NodeSupervisor
from tests.interop.web_api import fetch_json, is_connected

pytestmark = [pytest.mark.interop, pytest.mark.slow]

SETTINGS = ClientSettings(needed=3, happy=4, total=10)
SIZES = (0, 56, 1 << 20, (5 << 19) + 1)  # the last is three 1 MiB segments, the third short
TAHOE_VERSION_PREFIX = "tahoe-lafs/1.20"


@attrs.frozen
class Clients:
    """Our client and a Tahoe client, both joined to the Tahoe grid."""

    ours: GridClient
    tahoe: TahoeClient


@pytest.fixture(scope="module")
def clients(
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tahoe_grid: StorageGrid,
    tmp_path_factory: pytest.TempPathFactory,
) -> Clients:
    """Our client and a Tahoe client, started side by side on the Tahoe grid."""
    base = tmp_path_factory.mktemp("tahoe-grid-clients")
    furl, server_ids = tahoe_grid.introducer.furl, tahoe_grid.server_ids
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
    return Clients(ours, tahoe)


def expected_cap_prefix(size: int) -> str:
    """The kind of cap a file of ``size`` bytes gets."""
    return "URI:LIT:" if size <= LITERAL_LIMIT else "URI:CHK:"


def assert_all_shares_on(grid: StorageGrid, cap: str) -> None:
    """Every one of the file's N shares is on some storage server's disk of ``grid``."""
    if cap.startswith("URI:LIT:"):
        return
    placement = grid.placement(cap)
    held = sorted(number for numbers in placement.values() for number in numbers)
    assert set(held) == set(range(SETTINGS.total)), placement
    assert len(placement) >= SETTINGS.happy, placement


def test_our_client_learns_every_tahoe_server_from_the_tahoe_introducer(
    clients: Clients, tahoe_grid: StorageGrid
) -> None:
    """Our client lists exactly the Tahoe servers the introducer announced, connected, as Tahoe."""
    document = fetch_json(clients.ours.web_url)
    servers = {server["nodeid"]: server for server in document["servers"]}
    assert set(servers) == set(tahoe_grid.server_ids)
    for info in tahoe_grid.servers:
        shown = servers[info.server_id]
        assert is_connected(shown["connection_status"]), shown
        assert shown["nickname"] == info.nickname
        assert shown["version"].startswith(TAHOE_VERSION_PREFIX), shown
    assert not (clients.ours.cli.node_dir / "private" / "servers.yaml").exists()


@pytest.mark.parametrize("size", SIZES)
def test_tahoe_get_returns_what_grid_put_stored(
    clients: Clients, tahoe_grid: StorageGrid, tmp_path: Path, size: int
) -> None:
    """``grid put`` onto Tahoe storage, then ``tahoe get``, gives back the same bytes."""
    contents = sample_bytes(size, seed=1000 + size)
    source = tmp_path / "in"
    source.write_bytes(contents)
    cap = clients.ours.cli.put(source)
    assert cap.startswith(expected_cap_prefix(size)), cap
    assert_all_shares_on(tahoe_grid, cap)
    assert clients.tahoe.cli.get(cap, tmp_path / "out") == contents


@pytest.mark.parametrize("size", SIZES)
def test_grid_get_returns_what_tahoe_put_stored(
    clients: Clients, tahoe_grid: StorageGrid, tmp_path: Path, size: int
) -> None:
    """``tahoe put`` onto Tahoe storage, then ``grid get``, gives back the same bytes."""
    contents = sample_bytes(size, seed=2000 + size)
    source = tmp_path / "in"
    source.write_bytes(contents)
    cap = clients.tahoe.cli.put(source)
    assert cap.startswith(expected_cap_prefix(size)), cap
    assert_all_shares_on(tahoe_grid, cap)
    assert clients.ours.cli.get(cap, tmp_path / "out") == contents
