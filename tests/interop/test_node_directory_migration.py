"""A storage node directory moves between Tahoe-LAFS 1.20 and grid, in both directions.

Rules: one program (``tahoe`` or ``grid``) creates and runs three storage
nodes, a real Tahoe client stores immutable files (single- and
multi-segment), an SDMF and an MDMF file through them; the nodes are stopped
and the *same* directories are run by the other program. The client keeps
its ``servers.yaml``: it reaches the restarted nodes only because they keep
their FURLs (tub id from ``private/node.pem``, swissnum from
``private/storage.furl``). It must then read every file back byte for byte,
overwrite the mutable files (the write enablers in the containers are bound
to the tub id) and find every file healthy with ``tahoe check --verify``.

After the restart the client counts as reconnected only when every server is
"Connected" *and* announces the new program's version: Foolscap reports
"Connected" a moment before Tahoe has fetched the server's version, and only
then does Tahoe use the new connection. Foolscap retries a lost connection
after 1 s, then waits e times longer after each failed attempt, so nodes that
restart within seconds are reached again well within the harness timeout.
"""

import re
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import attrs
import pytest
from foolscap.api import Tub

from storage_server.crawler import lease_checking_crawler
from storage_server.expiry import parse_expiry_config
from tests.interop.client_settings import ClientSettings
from tests.interop.scenarios import MUTABLE_CAP_PREFIXES, assert_healthy, sample_bytes
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import (
    NodeProcess,
    NodeStartError,
    NodeSupervisor,
    create_storage_node,
    port_answers,
    start_storage_nodes,
    wait_for,
)
from tests.interop.web_api import server_versions

pytestmark = [pytest.mark.interop, pytest.mark.slow]

NEEDED, HAPPY, TOTAL = 2, 3, 3
IMMUTABLE_SIZES = (1 << 10, 200 << 10, 3 << 20)
MUTABLE_SIZES = {"SDMF": (20_000, 60_000), "MDMF": (300_000, 400_000)}
DIRECTIONS = {"tahoe-to-grid": ("tahoe", "grid"), "grid-to-tahoe": ("grid", "tahoe")}
VERSION_PREFIXES = {"tahoe": "tahoe-lafs/", "grid": "grid/"}
FURL_RE = re.compile(r"pb://(?P<tub_id>[a-z2-7]+)@(?P<hints>[^/]+)/(?P<swissnum>[^/\s]+)")
PORT_HINT_RE = re.compile(r"tcp:127\.0\.0\.1:(\d+)")
CRAWL_TIME = 1_700_000_000.0


@attrs.frozen
class StoredFile:
    """A file the client stored before the move, and the bytes it holds."""

    label: str
    cap: str
    contents: bytes
    mutable_format: str | None


@attrs.frozen
class NodeIdentityFiles:
    """What a storage node's identity on disk says, read in one go."""

    furl: str
    node_pubkey: str
    permutation_seed: str
    tub_id_from_certificate: str

    @classmethod
    def read(cls, node_dir: Path) -> "NodeIdentityFiles":
        """Read the identity files of ``node_dir`` and derive the tub id from its certificate."""
        certificate = (node_dir / "private" / "node.pem").read_bytes()
        return cls(
            furl=(node_dir / "private" / "storage.furl").read_text().strip(),
            node_pubkey=(node_dir / "node.pubkey").read_text().strip(),
            permutation_seed=(node_dir / "permutation-seed").read_text().strip(),
            tub_id_from_certificate=Tub(certData=certificate).getTubID(),
        )


@attrs.frozen
class MigratedGrid:
    """A Tahoe client whose storage node directories were moved to the other program."""

    client: TahoeClient
    files: tuple[StoredFile, ...]
    identities_before: tuple[NodeIdentityFiles, ...]
    identities_after: tuple[NodeIdentityFiles, ...]


def furl_port(furl: str) -> int:
    """The loopback TCP port a harness node's FURL points at."""
    match = PORT_HINT_RE.search(furl)
    if match is None:
        raise AssertionError(f"{furl!r} has no tcp:127.0.0.1:PORT hint")
    return int(match.group(1))


def store_files(client: TahoeClient, work_dir: Path) -> tuple[StoredFile, ...]:
    """Store the immutable and mutable test files through ``client``."""
    stored = []
    for size in IMMUTABLE_SIZES:
        contents = sample_bytes(size, seed=size)
        source = work_dir / f"immutable-{size}.in"
        source.write_bytes(contents)
        cap = client.cli.put(source)
        assert cap.startswith("URI:CHK:"), cap
        stored.append(StoredFile(f"immutable-{size}", cap, contents, None))
    for mutable_format, (size, _) in MUTABLE_SIZES.items():
        contents = sample_bytes(size, seed=size)
        source = work_dir / f"{mutable_format}.in"
        source.write_bytes(contents)
        cap = client.cli.put(source, mutable_format=mutable_format)
        assert cap.startswith(MUTABLE_CAP_PREFIXES[mutable_format]), cap
        stored.append(StoredFile(mutable_format, cap, contents, mutable_format))
    return tuple(stored)


def restart_with(
    supervisor: NodeSupervisor, program: Path, label: str, node_dirs: Sequence[Path]
) -> list[NodeProcess]:
    """Run ``PROGRAM run DIR`` on existing node directories; return once each port answers.

    ``private/storage.furl`` exists from the first run, so it cannot signal
    readiness; a node's listener only opens after its storage server is
    registered, in both programs.
    """
    started = []
    for node_dir in node_dirs:
        argv = [str(program), "run", str(node_dir)]
        started.append(
            (supervisor.start(f"{node_dir.name} ({label} run)", argv, node_dir), node_dir)
        )
    for node, node_dir in started:
        port = furl_port((node_dir / "private" / "storage.furl").read_text())
        wait_for(partial(port_answers, port), what=f"a listener on port {port}", node=node)
    return [node for node, _ in started]


def wait_for_reconnection(client: TahoeClient, server_ids: Sequence[str], new_prefix: str) -> None:
    """Wait until the client uses a fresh connection to every server, run by the new program."""

    def reconnected() -> bool:
        statuses, versions = client.server_statuses(), server_versions(client.web_url)
        return all(
            statuses.get(server_id, "").startswith("Connected")
            and (versions.get(server_id) or "").startswith(new_prefix)
            for server_id in server_ids
        )

    try:
        wait_for(reconnected, what="reconnection to every moved server", node=client.node)
    except NodeStartError as error:
        versions = server_versions(client.web_url)
        raise NodeStartError(
            f"{error}\nstatuses: {client.server_statuses()}\nversions: {versions}"
        ) from error


@pytest.fixture(scope="module", params=sorted(DIRECTIONS))
def migrated_grid(
    request: pytest.FixtureRequest,
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MigratedGrid]:
    """Files stored on one program's storage nodes, whose directories the other program now runs."""
    first, second = DIRECTIONS[request.param]
    programs = {"tahoe": tahoe_env.tahoe, "grid": grid_program}
    base = tmp_path_factory.mktemp(request.param)
    nicknames = [f"{first}-made-storage-{index}" for index in range(TOTAL)]
    node_dirs = [base / nickname for nickname in nicknames]
    servers = start_storage_nodes(supervisor, programs[first], base, nicknames)
    first_nodes = supervisor.nodes[-TOTAL:]
    client = start_tahoe_client(
        supervisor,
        tahoe_env,
        base / "client",
        ClientSettings(NEEDED, HAPPY, TOTAL),
        static_servers=servers,
    )
    work_dir = base / "files"
    work_dir.mkdir()
    files = store_files(client, work_dir)
    versions = server_versions(client.web_url)
    assert all(
        (version or "").startswith(VERSION_PREFIXES[first]) for version in versions.values()
    ), versions
    identities_before = tuple(NodeIdentityFiles.read(node_dir) for node_dir in node_dirs)
    for node in first_nodes:
        node.stop()
    second_nodes = restart_with(supervisor, programs[second], second, node_dirs)
    wait_for_reconnection(client, list(versions), VERSION_PREFIXES[second])
    identities_after = tuple(NodeIdentityFiles.read(node_dir) for node_dir in node_dirs)
    yield MigratedGrid(client, files, identities_before, identities_after)
    for node in [client.node, *second_nodes]:
        node.stop()


def test_moved_node_keeps_furl_and_identity(migrated_grid: MigratedGrid) -> None:
    """The other program serves the same FURL, key and seed; the FURL's tub id is node.pem's."""
    assert migrated_grid.identities_after == migrated_grid.identities_before
    for identity in migrated_grid.identities_after:
        match = FURL_RE.fullmatch(identity.furl)
        assert match is not None, identity.furl
        assert match.group("tub_id") == identity.tub_id_from_certificate


def test_immutable_files_read_back_through_moved_nodes(
    migrated_grid: MigratedGrid, tmp_path: Path
) -> None:
    """Every immutable file stored before the move reads back byte for byte after it."""
    for stored in migrated_grid.files:
        if stored.mutable_format is None:
            read_back = migrated_grid.client.cli.get(stored.cap, tmp_path / f"{stored.label}.out")
            assert read_back == stored.contents, stored.label


def test_mutable_files_read_and_overwrite_through_moved_nodes(
    migrated_grid: MigratedGrid, tmp_path: Path
) -> None:
    """Mutable files made before the move read back, then overwrite: write enablers still match."""
    cli = migrated_grid.client.cli
    for stored in migrated_grid.files:
        if stored.mutable_format is None:
            continue
        assert cli.get(stored.cap, tmp_path / f"{stored.label}.out") == stored.contents
        new_contents = sample_bytes(MUTABLE_SIZES[stored.mutable_format][1], seed=7)
        source = tmp_path / f"{stored.label}-new.in"
        source.write_bytes(new_contents)
        cli.overwrite(source, stored.cap)
        assert cli.get(stored.cap, tmp_path / f"{stored.label}-new.out") == new_contents


def test_files_healthy_on_moved_nodes(migrated_grid: MigratedGrid) -> None:
    """``tahoe check --verify`` finds every file healthy with all its shares on the moved nodes."""
    for stored in migrated_grid.files:
        assert_healthy(migrated_grid.client.cli, stored.cap, TOTAL)


def test_tahoe_runs_a_directory_our_lease_crawler_has_crawled(
    tahoe_env: TahoeEnv, grid_program: Path, supervisor: NodeSupervisor, tmp_path: Path
) -> None:
    """Tahoe starts on a grid node directory after our lease crawler has saved its state there."""
    node_dir = tmp_path / "crawled"
    port = create_storage_node(grid_program, node_dir, "crawled")
    (node_dir / "storage" / "shares").mkdir(parents=True)
    # One slice stands in for the crawl `grid run` starts five minutes after start-up.
    lease_checking_crawler(
        node_dir / "storage", parse_expiry_config({}), lambda: CRAWL_TIME
    ).run_slice()
    node = supervisor.start(
        "crawled (tahoe run)", [str(tahoe_env.tahoe), "run", str(node_dir)], node_dir
    )
    wait_for(lambda: port_answers(port), what=f"a listener on port {port}", node=node)
    node.stop()
