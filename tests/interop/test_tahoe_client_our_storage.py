"""A Tahoe-LAFS 1.20 client storing on four of our storage nodes named in ``servers.yaml``.

Rules: no introducer is involved; the client reaches our nodes by FURL over
Foolscap and runs the same immutable and mutable scenarios as the all-Tahoe
control grid in ``test_harness.py``.
"""

from pathlib import Path

import pytest

from tests.interop.client_settings import ClientSettings
from tests.interop.scenarios import (
    IMMUTABLE_SIZES,
    MUTABLE_FORMATS,
    immutable_round_trip,
    mutable_round_trip,
)
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import (
    HarnessError,
    NodeSupervisor,
    start_storage_nodes,
)

pytestmark = [pytest.mark.interop, pytest.mark.slow]

NEEDED, HAPPY, TOTAL = 2, 4, 4


@pytest.fixture(scope="module")
def client_on_our_storage(
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tmp_path_factory: pytest.TempPathFactory,
) -> TahoeClient:
    """A real Tahoe 1.20 client whose only storage servers are four of our grid nodes."""
    base = tmp_path_factory.mktemp("our-storage-grid")
    nicknames = [f"grid-storage-{index}" for index in range(TOTAL)]
    failure = None
    try:
        servers = start_storage_nodes(supervisor, grid_program, base, nicknames)
    except HarnessError as error:
        failure = str(error)
    if failure is not None:
        pytest.fail(
            "our storage node could not be created and started with "
            f"'grid create-node ... DIR' and 'grid run DIR':\n{failure}",
            pytrace=False,
        )
    return start_tahoe_client(
        supervisor,
        tahoe_env,
        base / "client",
        ClientSettings(NEEDED, HAPPY, TOTAL),
        static_servers=servers,
    )


def test_tahoe_client_connects_to_our_storage(client_on_our_storage: TahoeClient) -> None:
    """The Tahoe client reports a Foolscap connection to each of our four storage nodes."""
    statuses = client_on_our_storage.server_statuses()
    assert len(statuses) == TOTAL
    assert all(status.startswith("Connected") for status in statuses.values()), statuses


@pytest.mark.parametrize("size", IMMUTABLE_SIZES)
def test_immutable_round_trip_on_our_storage(
    client_on_our_storage: TahoeClient, tmp_path: Path, size: int
) -> None:
    """Tahoe put/get of an immutable file on our storage returns the same bytes, healthy."""
    immutable_round_trip(client_on_our_storage.cli, tmp_path, size, TOTAL)


@pytest.mark.parametrize("mutable_format", MUTABLE_FORMATS)
def test_mutable_round_trip_on_our_storage(
    client_on_our_storage: TahoeClient, tmp_path: Path, mutable_format: str
) -> None:
    """A Tahoe mutable file on our storage reads back after creation and overwrite, healthy."""
    mutable_round_trip(client_on_our_storage.cli, tmp_path, mutable_format, TOTAL)
