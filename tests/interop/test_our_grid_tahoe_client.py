"""A Tahoe-LAFS 1.20 client on our grid: immutable, SDMF and MDMF files and directories.

Rules: the grid is our introducer and four of our storage nodes, all run
with ``grid run``; the Tahoe client has no ``servers.yaml`` and learns the
servers from our introducer (k=2, happy=4, N=4, so every server holds a
share of every file). Everything is done through the ``tahoe`` CLI as a
user would: put/get, mutable create/overwrite/read, ``create-alias``,
``mkdir``, ``cp -r`` in and out, ``ls``, and finally ``deep-check --verify``
over everything stored, which must find every object healthy.
"""

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from grid import __version__
from tests.interop.client_settings import ClientSettings
from tests.interop.grids import StorageGrid, start_storage_grid
from tests.interop.scenarios import (
    MUTABLE_FORMATS,
    immutable_round_trip,
    mutable_round_trip,
    sample_bytes,
)
from tests.interop.tahoe_client import TahoeCli, TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import NodeSupervisor
from tests.interop.web_api import fetch_json, is_connected

pytestmark = [pytest.mark.interop, pytest.mark.slow]

SETTINGS = ClientSettings(needed=2, happy=4, total=4)
SERVERS = 4
ALIAS = "tahoe:"
TREE_FILES = {
    "small.txt": 20,
    "medium.bin": 100_000,
    "sub/big.bin": 1_500_000,
    "sub/deeper/note.txt": 500,
}
TREE_EMPTY_DIRS = ("empty",)
MUTABLE_FILES = {"SDMF": "sdmf.bin", "MDMF": "mdmf.bin"}
MADE_DIRS = {"SDMF": "made-sdmf", "MDMF": "made-mdmf"}
# One-segment and three-segment CHK files; literal files never reach a server, and the
# other sizes run on our storage in test_tahoe_client_our_storage.py.
IMMUTABLE_SIZES = (56, (5 << 19) + 1)


@attrs.frozen
class TahoeOnOurGrid:
    """Our grid and the Tahoe client that joined it."""

    grid: StorageGrid
    client: TahoeClient


@attrs.frozen
class PopulatedAlias:
    """What the Tahoe client stored under its ``tahoe:`` alias, and the local tree it copied in."""

    local_tree: Path
    mutable_contents: dict[str, bytes]
    object_count: int


@pytest.fixture(scope="module")
def tahoe_on_our_grid(
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tmp_path_factory: pytest.TempPathFactory,
) -> TahoeOnOurGrid:
    """Our introducer and storage nodes, and a Tahoe client that found them through it."""
    base = tmp_path_factory.mktemp("our-grid")
    grid = start_storage_grid(
        supervisor,
        base,
        grid_program,
        [(grid_program, f"grid-storage-{index}") for index in range(SERVERS)],
        introducer_web=True,
    )
    client = start_tahoe_client(
        supervisor,
        tahoe_env,
        base / "tahoe-client",
        SETTINGS,
        introducer_furl=grid.introducer.furl,
        server_ids=grid.server_ids,
    )
    return TahoeOnOurGrid(grid, client)


def write_local_tree(root: Path) -> None:
    """Make the local tree that is copied into the grid and back."""
    for index, (relative, size) in enumerate(sorted(TREE_FILES.items())):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample_bytes(size, seed=300 + index))
    for relative in TREE_EMPTY_DIRS:
        (root / relative).mkdir(parents=True)


def local_tree_contents(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and directory (None) under ``root``, by relative path."""
    return {
        path.relative_to(root).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in root.rglob("*")
    }


@pytest.fixture(scope="module")
def populated_alias(
    tahoe_on_our_grid: TahoeOnOurGrid, tmp_path_factory: pytest.TempPathFactory
) -> PopulatedAlias:
    """A ``tahoe:`` alias holding made directories, a copied-in tree and mutable files."""
    cli = tahoe_on_our_grid.client.cli
    work = tmp_path_factory.mktemp("alias-work")
    local_tree = work / "tree"
    write_local_tree(local_tree)
    cli.run("create-alias", ALIAS.rstrip(":"))
    for directory_format, name in MADE_DIRS.items():
        cli.run("mkdir", f"--format={directory_format}", f"{ALIAS}{name}")
    cli.run("cp", "-r", str(local_tree), ALIAS)
    mutable_contents = {}
    for index, (mutable_format, name) in enumerate(MUTABLE_FILES.items()):
        contents = sample_bytes(70_000 + index, seed=400 + index)
        source = work / name
        source.write_bytes(contents)
        cli.run("put", "--mutable", f"--format={mutable_format}", str(source), f"{ALIAS}{name}")
        mutable_contents[mutable_format] = contents
    tree_objects = 1 + len(local_tree_contents(local_tree))
    object_count = 1 + len(MADE_DIRS) + tree_objects + len(MUTABLE_FILES)
    return PopulatedAlias(local_tree, mutable_contents, object_count)


def ls_names(cli: TahoeCli, path: str) -> list[str]:
    """The names ``tahoe ls PATH`` prints, one per line."""
    return cli.run("ls", path).split()


def test_tahoe_client_learns_our_servers_from_our_introducer(
    tahoe_on_our_grid: TahoeOnOurGrid,
) -> None:
    """With no servers.yaml, the Tahoe client is connected to each of our announced servers."""
    client, grid = tahoe_on_our_grid.client, tahoe_on_our_grid.grid
    assert not (client.cli.node_dir / "private" / "servers.yaml").exists()
    servers = {server["nodeid"]: server for server in fetch_json(client.web_url)["servers"]}
    assert set(servers) == set(grid.server_ids)
    assert all(is_connected(server["connection_status"]) for server in servers.values())
    assert {server["version"] for server in servers.values()} == {f"grid/{__version__}"}
    assert grid.introducer.web_url is not None
    status = fetch_json(grid.introducer.web_url)
    assert status["announcement_summary"] == {"storage": SERVERS}


@pytest.mark.parametrize("size", IMMUTABLE_SIZES)
def test_immutable_round_trip(tahoe_on_our_grid: TahoeOnOurGrid, tmp_path: Path, size: int) -> None:
    """``tahoe put`` then ``tahoe get`` gives the same bytes; ``check --verify`` says healthy."""
    immutable_round_trip(tahoe_on_our_grid.client.cli, tmp_path, size, SETTINGS.total)


@pytest.mark.parametrize("mutable_format", MUTABLE_FORMATS)
def test_mutable_create_modify_read(
    tahoe_on_our_grid: TahoeOnOurGrid, tmp_path: Path, mutable_format: str
) -> None:
    """A mutable file reads back after creation and after an overwrite, and checks healthy."""
    mutable_round_trip(tahoe_on_our_grid.client.cli, tmp_path, mutable_format, SETTINGS.total)


def test_ls_lists_what_was_made_and_copied(
    tahoe_on_our_grid: TahoeOnOurGrid, populated_alias: PopulatedAlias
) -> None:
    """``tahoe ls`` shows the made directories, the copied tree and the linked mutable files."""
    cli = tahoe_on_our_grid.client.cli
    root_names = [*MADE_DIRS.values(), "tree", *MUTABLE_FILES.values()]
    assert ls_names(cli, ALIAS) == sorted(root_names)
    assert ls_names(cli, f"{ALIAS}tree") == ["empty", "medium.bin", "small.txt", "sub"]
    assert ls_names(cli, f"{ALIAS}tree/sub") == ["big.bin", "deeper"]
    assert ls_names(cli, f"{ALIAS}{MADE_DIRS['MDMF']}") == []


def test_ls_json_shows_directory_formats(
    tahoe_on_our_grid: TahoeOnOurGrid, populated_alias: PopulatedAlias
) -> None:
    """``tahoe ls --json`` on the root shows SDMF and MDMF children of the right kinds."""
    document: list[Any] = json.loads(tahoe_on_our_grid.client.cli.run("ls", "--json", ALIAS))
    kind, node = document
    assert kind == "dirnode"
    children = node["children"]
    assert children[MADE_DIRS["SDMF"]][1]["rw_uri"].startswith("URI:DIR2:")
    assert children[MADE_DIRS["MDMF"]][1]["rw_uri"].startswith("URI:DIR2-MDMF:")
    assert children[MUTABLE_FILES["SDMF"]][1]["rw_uri"].startswith("URI:SSK:")
    assert children[MUTABLE_FILES["MDMF"]][1]["rw_uri"].startswith("URI:MDMF:")


def test_cp_r_out_returns_the_tree_copied_in(
    tahoe_on_our_grid: TahoeOnOurGrid, populated_alias: PopulatedAlias, tmp_path: Path
) -> None:
    """``tahoe cp -r`` out of the grid recreates the local tree byte for byte."""
    tahoe_on_our_grid.client.cli.run("cp", "-r", f"{ALIAS}tree", str(tmp_path))
    copied = local_tree_contents(tmp_path / "tree")
    assert copied == local_tree_contents(populated_alias.local_tree)


def test_linked_mutable_files_modify_and_read_by_path(
    tahoe_on_our_grid: TahoeOnOurGrid, populated_alias: PopulatedAlias, tmp_path: Path
) -> None:
    """Mutable files linked into a directory read back by path, and again after an overwrite."""
    cli = tahoe_on_our_grid.client.cli
    for mutable_format, name in MUTABLE_FILES.items():
        out = tmp_path / f"{name}.out"
        assert cli.get(f"{ALIAS}{name}", out) == populated_alias.mutable_contents[mutable_format]
        new_contents = sample_bytes(90_000, seed=500)
        source = tmp_path / f"{name}.new"
        source.write_bytes(new_contents)
        cli.run("put", str(source), f"{ALIAS}{name}")
        assert cli.get(f"{ALIAS}{name}", out) == new_contents


def test_deep_check_verify_finds_everything_healthy(
    tahoe_on_our_grid: TahoeOnOurGrid, populated_alias: PopulatedAlias
) -> None:
    """``tahoe deep-check --verify`` finds every object healthy, each with all N shares."""
    cli = tahoe_on_our_grid.client.cli
    count = populated_alias.object_count
    summary = cli.run("deep-check", "--verify", ALIAS).strip().splitlines()[-1]
    assert summary == f"done: {count} objects checked, {count} healthy, 0 unhealthy"
    units = [
        json.loads(line)
        for line in cli.run("deep-check", "--verify", "--raw", ALIAS).split("\n")
        if line
    ]
    checked = [unit for unit in units if unit["type"] in {"file", "directory"}]
    assert len(checked) == count
    for unit in checked:
        results = unit["check-results"]["results"]
        assert results["healthy"], unit
        if "count-shares-good" in results:
            assert results["count-shares-good"] == SETTINGS.total, unit
