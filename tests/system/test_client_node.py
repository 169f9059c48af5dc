import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.interop.tahoe_nodes import LOOPBACK, NodeSupervisor, free_port, port_answers, wait_for

GRID = Path(sys.executable).with_name("grid")
pytestmark = pytest.mark.slow


def grid(*argv: str) -> None:
    """Run a one-shot grid command and require success."""
    subprocess.run([str(GRID), *argv], check=True, capture_output=True, timeout=60)  # noqa: S603  our own console script


def listen_args(port: int) -> list[str]:
    """The flags for a node listening on loopback only."""
    return ["--port", f"tcp:{port}:interface={LOOPBACK}", "--location", f"tcp:{LOOPBACK}:{port}"]


def welcome(node_dir: Path) -> dict[str, Any]:
    """Fetch the node's welcome page as JSON."""
    url = (node_dir / "node.url").read_text().strip() + "?t=json"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  a loopback URL we wrote
        result: dict[str, Any] = json.loads(response.read())
    return result


@pytest.fixture
def supervisor() -> Any:
    """Start grid nodes and stop every one of them afterwards."""
    nodes = NodeSupervisor()
    try:
        yield nodes
    finally:
        nodes.stop_all()


def test_client_finds_storage_nodes_through_introducer(
    tmp_path: Path, supervisor: NodeSupervisor
) -> None:
    """An introducer, two storage nodes and a client: the welcome page shows both connected."""
    intro_port = free_port()
    grid("create-introducer", *listen_args(intro_port), str(tmp_path / "intro"))
    intro = supervisor.start(
        "intro", [str(GRID), "run", str(tmp_path / "intro")], tmp_path / "intro"
    )
    furl_file = tmp_path / "intro" / "private" / "introducer.furl"
    wait_for(lambda: furl_file.exists() and port_answers(intro_port), what="introducer", node=intro)
    furl = furl_file.read_text().strip()
    for name in ("s1", "s2"):
        port = free_port()
        node_dir = tmp_path / name
        grid(
            "create-node",
            "--introducer",
            furl,
            "--webport",
            "none",
            *listen_args(port),
            str(node_dir),
        )
        supervisor.start(name, [str(GRID), "run", str(node_dir)], node_dir)
    client_dir = tmp_path / "client"
    web_port = free_port()
    grid(
        "create-client",
        "--introducer",
        furl,
        "--listen",
        "none",
        "--webport",
        f"tcp:{web_port}:interface={LOOPBACK}",
        str(client_dir),
    )
    client = supervisor.start("client", [str(GRID), "run", str(client_dir)], client_dir)
    wait_for(
        lambda: port_answers(web_port) and (client_dir / "node.url").exists(),
        what="the web gateway and node.url",
        node=client,
    )
    wait_for(
        lambda: (
            [s["connection_status"] for s in welcome(client_dir)["servers"]]
            == ["connected", "connected"]
        ),
        what="both storage servers connected",
        node=client,
    )
    facts = welcome(client_dir)
    assert facts["introducers"]["statuses"][0].startswith("Connected to")
    assert {server["version"] for server in facts["servers"]} == {"grid/0.1.0"}
    assert (client_dir / "private" / "introducer_default_cache.yaml").exists()


def test_taken_web_port_stops_the_client_in_one_line(tmp_path: Path) -> None:
    """A client whose web port is taken exits 1 with one line naming the port."""
    web_port = free_port()
    client_dir = tmp_path / "client"
    grid(
        "create-client",
        "--listen",
        "none",
        "--webport",
        f"tcp:{web_port}:interface={LOOPBACK}",
        str(client_dir),
    )
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, web_port))
        squatter.listen()
        result = subprocess.run(  # noqa: S603  our own console script
            [str(GRID), "run", str(client_dir)], capture_output=True, timeout=60, check=False
        )
    assert result.returncode == 1
    assert result.stderr.count(b"\n") == 1
    assert str(web_port).encode() in result.stderr
