"""A repair agent as a real process: import a verify cap, lose shares on disk, see them back."""

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grid.base32 import b2a
from grid.caps import parse_cap
from tests.interop.tahoe_nodes import LOOPBACK, NodeSupervisor, free_port, port_answers, wait_for
from tests.openmetrics import parse_openmetrics
from tests.system.grid_processes import GRID, LocalGrid, grid, start_grid

pytestmark = pytest.mark.slow

STORAGE_NODES = 5


@pytest.fixture
def supervisor() -> Iterator[NodeSupervisor]:
    """Start grid nodes and stop every one of them afterwards."""
    nodes = NodeSupervisor()
    try:
        yield nodes
    finally:
        nodes.stop_all()


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  a loopback URL we wrote
        body: bytes = response.read()
    return body


def _share_files(local_grid: LocalGrid, storage_index: str) -> dict[Path, list[Path]]:
    return {
        node_dir: sorted(node_dir.glob(f"storage/shares/*/{storage_index}/*"))
        for node_dir in local_grid.storage_dirs
    }


def _status(agent_dir: Path) -> dict[str, Any]:
    result = grid("repair-agent", "status", str(agent_dir), "--json")
    result.check_returncode()
    status: dict[str, Any] = json.loads(result.stdout)
    return status


def test_an_agent_repairs_shares_deleted_on_disk(
    tmp_path: Path, supervisor: NodeSupervisor
) -> None:
    """Two storage nodes lose their shares; the agent, holding the verify cap, restores all ten."""
    local_grid = start_grid(supervisor, tmp_path, storage_nodes=STORAGE_NODES, happy=3)
    put = grid("-d", str(local_grid.client_dir), "put", "-", stdin=b"durable " * 20000)
    put.check_returncode()
    read_cap = put.stdout.decode().strip()
    storage_index = b2a(parse_cap(read_cap).storage_index)  # type: ignore[arg-type]
    emptied = [node_dir for node_dir, paths in _share_files(local_grid, storage_index).items()][:2]
    for node_dir in emptied:
        for path in _share_files(local_grid, storage_index)[node_dir]:
            path.unlink()
    assert sum(len(paths) for paths in _share_files(local_grid, storage_index).values()) == 6

    furl = (tmp_path / "intro" / "private" / "introducer.furl").read_text().strip()
    agent_dir = tmp_path / "agent"
    web_port = free_port()
    grid(
        "create-repair-agent",
        "--introducer",
        furl,
        "--min-servers",
        str(STORAGE_NODES),
        "--rate",
        "5",
        "--interval",
        "3600",
        "--webport",
        f"tcp:{web_port}:interface={LOOPBACK}",
        str(agent_dir),
    ).check_returncode()
    imported = grid(
        "repair-agent", "import", str(agent_dir), "-", stdin=f"{read_cap} file\n".encode()
    )
    imported.check_returncode()
    assert read_cap not in (agent_dir / "private" / "repair-agent.json").read_text()

    agent = supervisor.start("agent", [str(GRID), "repair-agent", str(agent_dir)], agent_dir)
    wait_for(lambda: port_answers(web_port), what="the agent's web port", node=agent)
    wait_for(
        lambda: _status(agent_dir)["files"][0]["last-repair"] is not None,
        what="the repair",
        node=agent,
    )
    counts = {node: len(paths) for node, paths in _share_files(local_grid, storage_index).items()}
    assert sum(counts.values()) == 10
    assert all(counts[node_dir] for node_dir in emptied)

    (entry,) = _status(agent_dir)["files"]
    assert entry["verify-cap"] == parse_cap(read_cap).verify_cap().to_string()  # type: ignore[union-attr]
    assert entry["storage-index"] == storage_index
    assert (entry["good-shares"], entry["distinct-servers"], entry["healthy"]) == (10, 5, True)
    url = f"http://{LOOPBACK}:{web_port}"
    durability = json.loads(_fetch(f"{url}/durability?t=json"))
    assert durability["files"][0]["storage-index"] == storage_index
    samples = parse_openmetrics(_fetch(f"{url}/statistics?t=openmetrics").decode())
    label = f'{{storage_index="{storage_index}"}}'
    assert samples[f"grid_repair_agent_file_good_shares{label}"] == 10
    assert samples["grid_repair_agent_repairs_total"] == 1

    agent.stop()
    assert agent.exit_status() == 0
    assert _status(agent_dir)["files"][0]["good-shares"] == 10
