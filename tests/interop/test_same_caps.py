"""``grid put`` and ``tahoe put`` give the same cap for the same file, secret and parameters.

Rules: both clients join the session's Tahoe grid and are given the same
convergence secret, k, N and maximum segment size (happy does not enter the
cap). Each file is put by both, in alternating order, so each client also
meets a file whose shares the other already stored; the caps must be equal
string for string, and ``grid get`` must return the file. A share's URI
extension block (read from a Tahoe server's disk with ``grid debug
dump-share``) shows the segment size both used, so the settings did apply. Sizes sit on the
boundaries that change the encoding: the literal limit (55/56 bytes), one
segment and the next (the segment size is rounded up to a multiple of k:
131072 becomes 131073 for k=3), two segments, many segments, 20 MiB. A
second pair with 4 KiB segments and k=2, N=5 reaches many-segment files
(and hash trees of many leaves) cheaply.
"""

import json
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

pytestmark = [pytest.mark.interop, pytest.mark.slow]

MIB = 1 << 20
SEGMENT_128K = 131072
ROUNDED_128K = 131073  # the 128 KiB maximum rounded up to a multiple of k=3
SETTINGS_128K = ClientSettings(
    needed=3,
    happy=4,
    total=10,
    max_segment_size=SEGMENT_128K,
    convergence_secret=sample_bytes(32, seed=128),
)
SIZES_128K = (
    0,
    1,
    LITERAL_LIMIT,
    LITERAL_LIMIT + 1,
    SEGMENT_128K - 1,
    SEGMENT_128K,
    ROUNDED_128K,
    ROUNDED_128K + 1,
    2 * SEGMENT_128K,
    2 * ROUNDED_128K,
    2 * ROUNDED_128K + 1,
    3 * MIB + 7,
    20 * MIB,
)
SEGMENT_4K = 4096
SETTINGS_4K = ClientSettings(
    needed=2,
    happy=3,
    total=5,
    max_segment_size=SEGMENT_4K,
    convergence_secret=sample_bytes(32, seed=4),
)
SIZES_4K = (
    SEGMENT_4K - 1,
    SEGMENT_4K,
    SEGMENT_4K + 1,
    2 * SEGMENT_4K,
    2 * SEGMENT_4K + 1,
    5 * SEGMENT_4K + 3,
    100 * SEGMENT_4K + 1,
    333_333,
)


@attrs.frozen
class ClientPair:
    """Our client and a Tahoe client with the same cap-deciding settings, and their grid."""

    ours: GridClient
    tahoe: TahoeClient
    grid: StorageGrid
    settings: ClientSettings


def start_pair(
    supervisor: NodeSupervisor,
    tahoe_env: TahoeEnv,
    grid_program: Path,
    tahoe_grid: StorageGrid,
    base: Path,
    settings: ClientSettings,
) -> ClientPair:
    """Start our client and a Tahoe client with ``settings`` side by side on the Tahoe grid."""
    furl, server_ids = tahoe_grid.introducer.furl, tahoe_grid.server_ids
    ours, tahoe = start_together(
        lambda: start_grid_client(
            supervisor,
            grid_program,
            base / "grid-client",
            settings,
            introducer_furl=furl,
            server_ids=server_ids,
        ),
        lambda: start_tahoe_client(
            supervisor,
            tahoe_env,
            base / "tahoe-client",
            settings,
            introducer_furl=furl,
            server_ids=server_ids,
        ),
    )
    assert isinstance(ours, GridClient)
    assert isinstance(tahoe, TahoeClient)
    return ClientPair(ours, tahoe, tahoe_grid, settings)


@pytest.fixture(scope="module")
def pair_128k(
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tahoe_grid: StorageGrid,
    tmp_path_factory: pytest.TempPathFactory,
) -> ClientPair:
    """Both clients with k=3, N=10, 128 KiB segments and one convergence secret."""
    base = tmp_path_factory.mktemp("same-caps-128k")
    return start_pair(supervisor, tahoe_env, grid_program, tahoe_grid, base, SETTINGS_128K)


@pytest.fixture(scope="module")
def pair_4k(
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tahoe_grid: StorageGrid,
    tmp_path_factory: pytest.TempPathFactory,
) -> ClientPair:
    """Both clients with k=2, N=5, 4 KiB segments and one convergence secret."""
    base = tmp_path_factory.mktemp("same-caps-4k")
    return start_pair(supervisor, tahoe_env, grid_program, tahoe_grid, base, SETTINGS_4K)


def expected_segment_size(size: int, settings: ClientSettings) -> int:
    """The segment size of a ``size``-byte file: the maximum or less, rounded up to k's multiple."""
    assert settings.max_segment_size is not None
    largest = min(settings.max_segment_size, size)
    return -(-largest // settings.needed) * settings.needed


def stored_segment_size(pair: ClientPair, cap: str) -> int:
    """The segment size in the URI extension block of one share of ``cap`` on the grid's disks."""
    server = next(server for server in pair.grid.servers if pair.grid.share_numbers(server, cap))
    bucket = pair.grid.share_path(server, cap, pair.grid.share_numbers(server, cap)[0])
    dump = pair.ours.cli.run("debug", "dump-share", "--json", str(bucket))
    segment_size: int = json.loads(dump)["uri_extension"]["segment_size"]
    return segment_size


def assert_same_cap(pair: ClientPair, work_dir: Path, size: int, *, ours_first: bool) -> None:
    """Both clients put the same ``size`` bytes and print the same cap; ``grid get`` reads it."""
    contents = sample_bytes(size, seed=size)
    source = work_dir / "in"
    source.write_bytes(contents)
    if ours_first:
        ours, tahoe = pair.ours.cli.put(source), pair.tahoe.cli.put(source)
    else:
        tahoe, ours = pair.tahoe.cli.put(source), pair.ours.cli.put(source)
    assert ours == tahoe
    assert ours.startswith("URI:LIT:" if size <= LITERAL_LIMIT else "URI:CHK:"), ours
    if size > LITERAL_LIMIT:
        assert stored_segment_size(pair, ours) == expected_segment_size(size, pair.settings)
    assert pair.ours.cli.get(ours, work_dir / "out") == contents


@pytest.mark.parametrize("size", SIZES_128K)
def test_same_cap_with_128k_segments(pair_128k: ClientPair, tmp_path: Path, size: int) -> None:
    """With 128 KiB segments, k=3, N=10: the same cap from both clients, at every boundary."""
    assert_same_cap(pair_128k, tmp_path, size, ours_first=SIZES_128K.index(size) % 2 == 0)


@pytest.mark.parametrize("size", SIZES_4K)
def test_same_cap_with_4k_segments(pair_4k: ClientPair, tmp_path: Path, size: int) -> None:
    """With 4 KiB segments, k=2, N=5: the same cap from both clients, up to 82 segments."""
    assert_same_cap(pair_4k, tmp_path, size, ours_first=SIZES_4K.index(size) % 2 == 0)
