"""Our client node (``grid create-client``, ``grid run``) and the ``grid`` CLI aimed at it.

Rules: the client learns its storage servers from an introducer (ours or
Tahoe's) named by ``--introducer FURL``; it does not listen (``--listen
none``) and serves its web API on 127.0.0.1 only. It is driven as a user
drives it: ``grid -d NODEDIR put|get`` and its web API (``GET /?t=json``,
and ``t=check``, ``private-key=`` and ``offset=`` where the CLI has no
command or flag for them); every command and request has a timeout. The
web helpers here speak Tahoe's web API, so they serve a Tahoe client too.
"""

import base64
import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import attrs

from tests.interop.client_node import ClientNode, wait_for_web_api, wait_until_connected
from tests.interop.client_settings import ClientSettings, apply_client_settings
from tests.interop.tahoe_client import (
    CheckReport,
    RepairReport,
    parse_check_report,
    parse_repair_report,
)
from tests.interop.tahoe_nodes import (
    COMMAND_TIMEOUT,
    LOOPBACK,
    NodeSupervisor,
    free_port,
    run_command,
)
from tests.interop.web_api import WEB_TIMEOUT


def web_request(method: str, url: str, body: bytes | None = None) -> bytes:
    """Send one request to a loopback web API (ours or Tahoe's) and return the response body."""
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310  loopback URL
    with urllib.request.urlopen(request, timeout=WEB_TIMEOUT) as response:  # noqa: S310
        answer: bytes = response.read()
    return answer


def cap_url(web_url: str, cap: str, **query: str) -> str:
    """The ``/uri/$CAP`` URL of ``cap`` on a web API, with a query string if any."""
    url = f"{web_url}uri/{urllib.parse.quote(cap, safe='')}"
    return f"{url}?{urllib.parse.urlencode(query)}" if query else url


def write_at(web_url: str, cap: str, offset: int, data: bytes) -> None:
    """Write ``data`` into the mutable file ``cap`` at ``offset`` (``PUT /uri/$CAP?offset=N``)."""
    web_request("PUT", cap_url(web_url, cap, offset=str(offset)), data)


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


@attrs.frozen
class GridClient(ClientNode):
    """One of our running client nodes with its web API and CLI."""

    cli: GridCli

    def create_mutable(self, contents: bytes, mutable_format: str, private_key_der: bytes) -> str:
        """Make a mutable file signed with the given RSA key (``PUT /uri?private-key=``)."""
        key = urllib.parse.quote(base64.urlsafe_b64encode(private_key_der).decode("ascii"))
        url = f"{self.web_url}uri?format={mutable_format}&private-key={key}"
        return web_request("PUT", url, contents).decode("ascii").strip()

    def check(self, cap: str, *, verify: bool = True) -> CheckReport:
        """``POST /uri/$CAP?t=check&output=JSON[&verify=true]``, parsed."""
        document = self._post_check(cap, verify=verify, repair=False)
        return parse_check_report(document)

    def check_and_repair(self, cap: str, *, verify: bool = True) -> RepairReport:
        """``POST /uri/$CAP?t=check&repair=true&output=JSON[&verify=true]``, parsed."""
        return parse_repair_report(self._post_check(cap, verify=verify, repair=True))

    def _post_check(self, cap: str, *, verify: bool, repair: bool) -> dict[str, Any]:
        """Post a ``t=check`` with the given options and return the parsed JSON answer."""
        query = {"t": "check", "output": "JSON"}
        if verify:
            query["verify"] = "true"
        if repair:
            query["repair"] = "true"
        document: dict[str, Any] = json.loads(
            web_request("POST", cap_url(self.web_url, cap, **query))
        )
        return document


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
