"""A small grid of real ``grid`` processes on loopback, for system tests."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import attrs

from tests.interop.tahoe_nodes import LOOPBACK, NodeSupervisor, free_port, port_answers, wait_for

GRID = Path(sys.executable).with_name("grid")


def grid(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a one-shot grid command as a user would."""
    return subprocess.run(  # noqa: S603  our own console script
        [str(GRID), *argv], input=stdin, capture_output=True, timeout=300, check=False
    )


def listen_args(port: int) -> list[str]:
    """The flags for a node listening on loopback only."""
    return ["--port", f"tcp:{port}:interface={LOOPBACK}", "--location", f"tcp:{LOOPBACK}:{port}"]


def welcome(node_dir: Path) -> dict[str, Any]:
    """Fetch a client node's welcome page as JSON."""
    url = (node_dir / "node.url").read_text().strip() + "?t=json"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  a loopback URL we wrote
        result: dict[str, Any] = json.loads(response.read())
    return result


@attrs.frozen
class LocalGrid:
    """An introducer, storage nodes and a client, each a real process."""

    client_dir: Path
    storage_dirs: tuple[Path, ...]

    @property
    def url(self) -> str:
        """The client's web gateway URL."""
        return (self.client_dir / "node.url").read_text().strip()


def start_grid(
    supervisor: NodeSupervisor, base: Path, *, storage_nodes: int, happy: int
) -> LocalGrid:
    """Create and run a grid; return once the client sees every storage node connected."""
    intro_port = free_port()
    intro_dir = base / "intro"
    grid("create-introducer", *listen_args(intro_port), str(intro_dir)).check_returncode()
    intro = supervisor.start("intro", [str(GRID), "run", str(intro_dir)], intro_dir)
    furl_file = intro_dir / "private" / "introducer.furl"
    wait_for(lambda: furl_file.exists() and port_answers(intro_port), what="introducer", node=intro)
    furl = furl_file.read_text().strip()
    storage_dirs = []
    for number in range(storage_nodes):
        node_dir = base / f"storage{number}"
        grid(
            "create-node",
            "--introducer",
            furl,
            "--webport",
            "none",
            *listen_args(free_port()),
            str(node_dir),
        ).check_returncode()
        supervisor.start(node_dir.name, [str(GRID), "run", str(node_dir)], node_dir)
        storage_dirs.append(node_dir)
    client_dir = base / "client"
    web_port = free_port()
    grid(
        "create-client",
        "--introducer",
        furl,
        "--listen",
        "none",
        "--shares-happy",
        str(happy),
        "--webport",
        f"tcp:{web_port}:interface={LOOPBACK}",
        str(client_dir),
    ).check_returncode()
    client = supervisor.start("client", [str(GRID), "run", str(client_dir)], client_dir)
    wait_for(
        lambda: port_answers(web_port) and (client_dir / "node.url").exists(),
        what="the web gateway and node.url",
        node=client,
    )
    wait_for(
        lambda: (
            [s["connection_status"] for s in welcome(client_dir)["servers"]]
            == ["connected"] * storage_nodes
        ),
        what="every storage server connected",
        node=client,
    )
    return LocalGrid(client_dir, tuple(storage_dirs))
