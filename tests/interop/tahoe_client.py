"""A real Tahoe-LAFS client node: its servers, readiness, and the ``tahoe`` CLI.

Rules: the client learns its storage servers from an introducer, or from a
static ``private/servers.yaml`` naming each by FURL with no NURLs (so Tahoe
talks Foolscap to them), or both. It is driven only as a user would drive
it, through ``tahoe -d NODEDIR ...`` and its web API on 127.0.0.1; every
command has a timeout.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from tests.interop.client_node import ClientNode, wait_for_web_api, wait_until_connected
from tests.interop.client_settings import ClientSettings, apply_client_settings
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import (
    COMMAND_TIMEOUT,
    LOOPBACK,
    NodeSupervisor,
    StorageServerInfo,
    free_port,
    run_command,
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
    """The parts of ``tahoe check --raw`` output (the web API's ``t=check`` JSON) the tests look at.

    Literal (``URI:LIT:``) files have no shares, so their counts are None.
    """

    healthy: bool
    summary: str
    shares_good: int | None
    shares_expected: int | None
    shares_needed: int | None = None


def _optional_count(results: dict[str, Any], key: str) -> int | None:
    """The count under ``key``, or None when the results have none (literal files)."""
    value = results.get(key)
    return None if value is None else int(value)


def parse_check_report(document: dict[str, Any]) -> CheckReport:
    """Read a ``t=check&output=JSON`` document (Tahoe's shape, which our client also answers)."""
    results = document["results"]
    return CheckReport(
        healthy=bool(results["healthy"]),
        summary=str(document.get("summary", "")),
        shares_good=_optional_count(results, "count-shares-good"),
        shares_expected=_optional_count(results, "count-shares-expected"),
        shares_needed=_optional_count(results, "count-shares-needed"),
    )


@attrs.frozen
class RepairReport:
    """The parts of a ``t=check&repair=true&output=JSON`` document the tests look at."""

    attempted: bool
    successful: bool
    before: CheckReport
    after: CheckReport


def parse_repair_report(document: dict[str, Any]) -> RepairReport:
    """Read a check-and-repair JSON document (``tahoe check --repair --raw``, or ours)."""
    return RepairReport(
        attempted=bool(document["repair-attempted"]),
        successful=bool(document.get("repair-successful", False)),
        before=parse_check_report(document["pre-repair-results"]),
        after=parse_check_report(document["post-repair-results"]),
    )


@attrs.frozen
class TahoeCli:
    """The ``tahoe`` command line aimed at one client node directory."""

    tahoe: Path
    node_dir: Path

    def run(self, *arguments: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run ``tahoe -d NODEDIR ARGUMENTS...`` and return its stdout."""
        return run_command([str(self.tahoe), "-d", str(self.node_dir), *arguments], timeout=timeout)

    def put(
        self,
        source: Path,
        *,
        mutable_format: str | None = None,
        private_key_pem: Path | None = None,
    ) -> str:
        """Upload a local file unlinked (immutable, or SDMF/MDMF); return its cap.

        ``private_key_pem`` names a PEM file holding the new mutable file's RSA key.
        """
        options = [] if mutable_format is None else ["--mutable", f"--format={mutable_format}"]
        if private_key_pem is not None:
            options.append(f"--private-key-path={private_key_pem}")
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
        return parse_check_report(json.loads(self.run("check", *options, "--raw", cap)))

    def check_and_repair(self, cap: str, *, verify: bool = True) -> RepairReport:
        """Run ``tahoe check [--verify] --repair --raw`` and parse its JSON."""
        options = ["--verify"] if verify else []
        document = json.loads(self.run("check", *options, "--repair", "--raw", cap))
        return parse_repair_report(document)


@attrs.frozen
class TahoeClient(ClientNode):
    """A running Tahoe client node with its web API and CLI."""

    cli: TahoeCli


def start_tahoe_client(
    supervisor: NodeSupervisor,
    env: TahoeEnv,
    node_dir: Path,
    settings: ClientSettings,
    *,
    static_servers: Sequence[StorageServerInfo] = (),
    introducer_furl: str | None = None,
    server_ids: Sequence[str] = (),
) -> TahoeClient:
    """Create and run a Tahoe client; wait until it is connected to every server it should know.

    Those are the ``static_servers`` (written to ``servers.yaml``) and the
    ``server_ids`` it is to learn from the introducer at ``introducer_furl``.
    """
    web_port = free_port()
    introducer_flags = [] if introducer_furl is None else ["--introducer", introducer_furl]
    run_command(
        [
            str(env.tahoe),
            "create-client",
            *introducer_flags,
            "--webport",
            f"tcp:{web_port}:interface={LOOPBACK}",
            *settings.create_flags(),
            "--nickname",
            node_dir.name,
            str(node_dir),
        ]
    )
    apply_client_settings(node_dir, settings)
    if static_servers:
        write_static_servers(node_dir, static_servers)
    node = supervisor.start(node_dir.name, [str(env.tahoe), "run", str(node_dir)], node_dir)
    web_url = f"http://{LOOPBACK}:{web_port}/"
    wait_for_web_api(node, web_url)
    client = TahoeClient(node, web_url, TahoeCli(env.tahoe, node_dir))
    wait_until_connected(client, [*(server.server_id for server in static_servers), *server_ids])
    return client
