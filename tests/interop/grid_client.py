"""Our client node (``grid create-client``, ``grid run``) and the ``grid`` CLI aimed at it.

Rules: the client learns its storage servers from an introducer (ours or
Tahoe's) named by ``--introducer FURL``; it does not listen (``--listen
none``) and serves its web API on 127.0.0.1 only. It is driven as a user
drives it: ``grid -d NODEDIR put|get`` and ``GET /?t=json``; every command
has a timeout.
"""

from pathlib import Path

import attrs

from tests.interop.client_node import ClientNode, wait_for_web_api, wait_until_connected
from tests.interop.client_settings import ClientSettings, apply_client_settings
from tests.interop.tahoe_nodes import (
    COMMAND_TIMEOUT,
    LOOPBACK,
    NodeSupervisor,
    free_port,
    run_command,
)


@attrs.frozen
class GridCli:
    """The ``grid`` command line aimed at one client node directory."""

    program: Path
    node_dir: Path

    def run(self, *arguments: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run ``grid -d NODEDIR -q ARGUMENTS...`` and return its stdout."""
        return run_command(
            [str(self.program), "-d", str(self.node_dir), "-q", *arguments], timeout=timeout
        )

    def put(self, source: Path) -> str:
        """Upload a local file unlinked and immutable; return its cap."""
        return self.run("put", str(source)).strip()

    def get(self, cap: str, destination: Path) -> bytes:
        """Download ``cap`` to a local file and return its bytes."""
        self.run("get", cap, str(destination))
        return destination.read_bytes()


@attrs.frozen
class GridClient(ClientNode):
    """One of our running client nodes with its web API and CLI."""

    cli: GridCli


def start_grid_client(
    supervisor: NodeSupervisor,
    program: Path,
    node_dir: Path,
    settings: ClientSettings,
    *,
    introducer_furl: str,
    server_ids: list[str],
) -> GridClient:
    """Create and run our client joined to ``introducer_furl``; wait for ``server_ids``."""
    web_port = free_port()
    run_command(
        [
            str(program),
            "create-client",
            "--introducer",
            introducer_furl,
            "--listen",
            "none",
            "--webport",
            f"tcp:{web_port}:interface={LOOPBACK}",
            *settings.create_flags(),
            "--nickname",
            node_dir.name,
            str(node_dir),
        ]
    )
    apply_client_settings(node_dir, settings)
    node = supervisor.start(node_dir.name, [str(program), "run", str(node_dir)], node_dir)
    web_url = f"http://{LOOPBACK}:{web_port}/"
    wait_for_web_api(node, web_url)
    client = GridClient(node, web_url, GridCli(program, node_dir))
    wait_until_connected(client, server_ids)
    return client
