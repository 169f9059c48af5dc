"""A real Tahoe-LAFS client node: static server list, readiness, web status and the CLI.

Rules: the client knows its storage servers only from ``private/servers.yaml``
(no introducer), each by FURL with no NURLs, so Tahoe talks Foolscap to them.
It is driven only as a user would drive it, through ``tahoe -d NODEDIR ...``
and its web API on 127.0.0.1; every command has a timeout.
"""

import json
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import (
    COMMAND_TIMEOUT,
    LOOPBACK,
    NodeProcess,
    NodeStartError,
    NodeSupervisor,
    StorageServerInfo,
    free_port,
    run_command,
    wait_for,
)


def write_static_servers(client_dir: Path, servers: Sequence[StorageServerInfo]) -> None:
    """Write ``private/servers.yaml`` naming each server by FURL only (no NURLs: Foolscap)."""
    document = {
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
    (client_dir / "private").mkdir(parents=True, exist_ok=True)
    (client_dir / "private" / "servers.yaml").write_text(yaml.safe_dump(document))


@attrs.frozen
class CheckReport:
    """The parts of ``tahoe check --raw`` output the tests look at.

    Literal (``URI:LIT:``) files have no shares, so their counts are None.
    """

    healthy: bool
    summary: str
    shares_good: int | None
    shares_expected: int | None


@attrs.frozen
class TahoeCli:
    """The ``tahoe`` command line aimed at one client node directory."""

    tahoe: Path
    node_dir: Path

    def run(self, *arguments: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run ``tahoe -d NODEDIR ARGUMENTS...`` and return its stdout."""
        return run_command([str(self.tahoe), "-d", str(self.node_dir), *arguments], timeout=timeout)

    def put(self, source: Path, *, mutable_format: str | None = None) -> str:
        """Upload a local file unlinked (immutable, or SDMF/MDMF); return its cap."""
        options = [] if mutable_format is None else ["--mutable", f"--format={mutable_format}"]
        return self.run("put", *options, str(source)).strip()

    def overwrite(self, source: Path, cap: str) -> None:
        """Replace the contents of the mutable file ``cap`` with a local file's."""
        self.run("put", str(source), cap)

    def get(self, cap: str, destination: Path) -> bytes:
        """Download ``cap`` to a local file and return its bytes."""
        self.run("get", cap, str(destination))
        return destination.read_bytes()

    def check(self, cap: str, *, verify: bool = True) -> CheckReport:
        """Run ``tahoe check [--verify] --raw`` and parse its JSON."""
        options = ["--verify"] if verify else []
        document: dict[str, Any] = json.loads(self.run("check", *options, "--raw", cap))
        results = document["results"]
        good, expected = results.get("count-shares-good"), results.get("count-shares-expected")
        return CheckReport(
            healthy=bool(results["healthy"]),
            summary=str(document.get("summary", "")),
            shares_good=None if good is None else int(good),
            shares_expected=None if expected is None else int(expected),
        )


@attrs.frozen
class TahoeClient:
    """A running Tahoe client node with its web API and CLI."""

    node: NodeProcess
    web_url: str
    cli: TahoeCli

    def server_statuses(self) -> dict[str, str]:
        """Each known server's id mapped to its connection status, from ``GET /?t=json``."""
        with urllib.request.urlopen(  # noqa: S310  http URL on loopback built by the harness
            f"{self.web_url}?t=json", timeout=10
        ) as response:
            document: dict[str, Any] = json.load(response)
        return {server["nodeid"]: server["connection_status"] for server in document["servers"]}

    def connected_to(self, server_ids: Sequence[str]) -> bool:
        """Whether the client reports a live connection to every one of ``server_ids``."""
        statuses = self.server_statuses()
        return all(statuses.get(server_id, "").startswith("Connected") for server_id in server_ids)


def _web_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):  # noqa: S310  loopback URL built here
            return True
    except OSError:
        return False


def start_tahoe_client(
    supervisor: NodeSupervisor,
    env: TahoeEnv,
    node_dir: Path,
    servers: Sequence[StorageServerInfo],
    *,
    needed: int,
    happy: int,
    total: int,
) -> TahoeClient:
    """Create and run a Tahoe client that knows ``servers`` statically; wait until connected."""
    web_port = free_port()
    run_command(
        [
            str(env.tahoe),
            "create-client",
            "--webport",
            f"tcp:{web_port}:interface={LOOPBACK}",
            f"--shares-needed={needed}",
            f"--shares-happy={happy}",
            f"--shares-total={total}",
            "--nickname",
            "tahoe-client",
            str(node_dir),
        ]
    )
    write_static_servers(node_dir, servers)
    node = supervisor.start("tahoe-client", [str(env.tahoe), "run", str(node_dir)], node_dir)
    web_url = f"http://{LOOPBACK}:{web_port}/"
    wait_for(
        lambda: (node_dir / "node.url").exists() and _web_answers(web_url),
        what=f"node.url and the web API at {web_url}",
        node=node,
    )
    client = TahoeClient(node, web_url, TahoeCli(env.tahoe, node_dir))
    server_ids = [server.server_id for server in servers]
    try:
        wait_for(
            lambda: client.connected_to(server_ids),
            what=f"connections to all {len(server_ids)} storage servers",
            node=node,
        )
    except NodeStartError as error:
        raise NodeStartError(f"{error}\nserver statuses: {client.server_statuses()}") from error
    return client
