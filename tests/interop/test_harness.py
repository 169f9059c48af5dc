"""The harness itself: its pure helpers, and a grid made only of Tahoe-LAFS 1.20 nodes.

Rules: the all-Tahoe grid (three storage nodes, a client knowing them from
``servers.yaml``) is the control: every scenario run against our nodes
elsewhere must first pass here, so a failure there is ours, not the harness's.
"""

from pathlib import Path

import pytest
import yaml

from tests.interop.client_settings import ClientSettings
from tests.interop.scenarios import (
    IMMUTABLE_SIZES,
    MUTABLE_FORMATS,
    immutable_round_trip,
    mutable_round_trip,
)
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client, write_static_servers
from tests.interop.tahoe_env import TahoeEnv, cache_root, venv_name
from tests.interop.tahoe_nodes import (
    NodeSupervisor,
    StorageServerInfo,
    start_storage_nodes,
)

pytestmark = [pytest.mark.interop, pytest.mark.slow]

NEEDED, HAPPY, TOTAL = 2, 3, 3
SETTINGS = ClientSettings(NEEDED, HAPPY, TOTAL)


@pytest.fixture(scope="module")
def tahoe_only_client(
    tahoe_env: TahoeEnv, supervisor: NodeSupervisor, tmp_path_factory: pytest.TempPathFactory
) -> TahoeClient:
    """A Tahoe client connected to three Tahoe storage nodes, all real Tahoe 1.20."""
    base = tmp_path_factory.mktemp("tahoe-only-grid")
    nicknames = [f"tahoe-storage-{index}" for index in range(TOTAL)]
    servers = start_storage_nodes(supervisor, tahoe_env.tahoe, base, nicknames)
    return start_tahoe_client(
        supervisor, tahoe_env, base / "client", SETTINGS, static_servers=servers
    )


def test_static_servers_file_names_each_server_by_furl(tmp_path: Path) -> None:
    """servers.yaml lists every server under its id with FURL, seed and nickname, no NURLs."""
    servers = [
        StorageServerInfo(f"v0-{'a' * 52}", "pb://x@tcp:127.0.0.1:1/s", "seed0", "zero"),
        StorageServerInfo(f"v0-{'b' * 52}", "pb://y@tcp:127.0.0.1:2/t", "seed1", "one"),
    ]
    write_static_servers(tmp_path, servers)
    document = yaml.safe_load((tmp_path / "private" / "servers.yaml").read_text())
    assert document == {
        "storage": {
            server.server_id: {
                "ann": {
                    "nickname": server.nickname,
                    "anonymous-storage-FURL": server.furl,
                    "permutation-seed-base32": server.permutation_seed_b32,
                }
            }
            for server in servers
        }
    }


def test_cache_root_prefers_the_environment_variable(tmp_path: Path) -> None:
    """$GRID_INTEROP_CACHE names the cache; without it the user cache directory is used."""
    assert cache_root({"GRID_INTEROP_CACHE": str(tmp_path)}) == tmp_path
    assert cache_root({}) == Path.home() / ".cache" / "grid-interop"


def test_venv_name_carries_both_versions() -> None:
    """The venv directory is named for the Tahoe version and the Python major.minor."""
    assert venv_name("1.20.0", (3, 11)) == "tahoe-lafs-1.20.0-py3.11"


def test_client_reports_every_server_connected(tahoe_only_client: TahoeClient) -> None:
    """The client's web API lists exactly the static servers, each connected."""
    statuses = tahoe_only_client.server_statuses()
    assert len(statuses) == TOTAL
    assert all(status.startswith("Connected") for status in statuses.values()), statuses


@pytest.mark.parametrize("size", IMMUTABLE_SIZES)
def test_immutable_round_trip_on_tahoe_storage(
    tahoe_only_client: TahoeClient, tmp_path: Path, size: int
) -> None:
    """Tahoe put/get of an immutable file on Tahoe storage returns the same bytes, healthy."""
    immutable_round_trip(tahoe_only_client.cli, tmp_path, size, TOTAL)


@pytest.mark.parametrize("mutable_format", MUTABLE_FORMATS)
def test_mutable_round_trip_on_tahoe_storage(
    tahoe_only_client: TahoeClient, tmp_path: Path, mutable_format: str
) -> None:
    """A Tahoe mutable file on Tahoe storage reads back after creation and after overwrite."""
    mutable_round_trip(tahoe_only_client.cli, tmp_path, mutable_format, TOTAL)
