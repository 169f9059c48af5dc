"""Introducers and nodes that join one, for the introducer interop tests.

Rules: like the rest of the harness, every node listens on 127.0.0.1 only,
runs under the module's :class:`~tests.interop.tahoe_nodes.NodeSupervisor`,
is created with the same flags whether the program is ``tahoe`` or ``grid``
(``create-node --introducer FURL``, ``create-introducer``), and is waited
for by polling with a timeout that raises with the node's log tails.
"""

import json
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from tests.interop.tahoe_client import TahoeCli, TahoeClient
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import (
    LOOPBACK,
    NodeProcess,
    NodeStartError,
    NodeSupervisor,
    StorageServerInfo,
    free_port,
    port_answers,
    read_storage_server_info,
    run_command,
    wait_for,
    wait_until_serving,
)

WEB_TIMEOUT = 10.0


@attrs.frozen
class RunningIntroducer:
    """An introducer process and how to reach it."""

    node: NodeProcess
    furl: str
    web_url: str | None


def fetch_json(url: str) -> Any:
    """``GET url?t=json`` on loopback, parsed."""
    with urllib.request.urlopen(  # noqa: S310  http URL on loopback built by the harness
        f"{url}?t=json", timeout=WEB_TIMEOUT
    ) as response:
        return json.load(response)


def fetch_text(url: str) -> str:
    """``GET url`` on loopback, as text."""
    with urllib.request.urlopen(url, timeout=WEB_TIMEOUT) as response:  # noqa: S310  loopback URL
        text: str = response.read().decode("utf-8")
    return text


def web_answers(url: str) -> bool:
    """Whether a web server answers ``GET url``."""
    try:
        fetch_text(url)
    except OSError:
        return False
    return True


def _listen_flags(port: int) -> list[str]:
    return ["--port", f"tcp:{port}:interface={LOOPBACK}", "--location", f"tcp:{LOOPBACK}:{port}"]


def start_introducer(
    supervisor: NodeSupervisor, program: Path, node_dir: Path, *, with_web: bool
) -> RunningIntroducer:
    """Create and run an introducer with ``program``; wait for its FURL (and status page).

    ``with_web`` adds ``--webport``, which ``grid create-introducer`` takes
    and ``tahoe create-introducer`` does not.
    """
    port = free_port()
    web_port = free_port() if with_web else None
    web_flags = [] if web_port is None else ["--webport", f"tcp:{web_port}:interface={LOOPBACK}"]
    run_command(
        [str(program), "create-introducer", *_listen_flags(port), *web_flags, str(node_dir)]
    )
    node = supervisor.start(node_dir.name, [str(program), "run", str(node_dir)], node_dir)
    furl_file = node_dir / "private" / "introducer.furl"
    wait_for(
        lambda: furl_file.exists() and furl_file.stat().st_size > 0 and port_answers(port),
        what=f"private/introducer.furl and a listener on port {port}",
        node=node,
    )
    web_url = None if web_port is None else f"http://{LOOPBACK}:{web_port}/"
    if web_url is not None:
        wait_for(lambda: web_answers(web_url), what=f"the status page at {web_url}", node=node)
    return RunningIntroducer(node, furl_file.read_text().strip(), web_url)


def start_storage_nodes_joining(
    supervisor: NodeSupervisor,
    program: Path,
    base_dir: Path,
    nicknames: Sequence[str],
    introducer_furl: str,
) -> list[StorageServerInfo]:
    """Create (``create-node --introducer``) and run one storage node per nickname.

    Returns once every node serves its FURL and has written its identity files.
    """
    started: list[tuple[NodeProcess, int]] = []
    for nickname in nicknames:
        node_dir = base_dir / nickname
        port = free_port()
        run_command(
            [
                str(program),
                "create-node",
                "--introducer",
                introducer_furl,
                *_listen_flags(port),
                "--nickname",
                nickname,
                "--webport",
                "none",
                str(node_dir),
            ]
        )
        node = supervisor.start(nickname, [str(program), "run", str(node_dir)], node_dir)
        started.append((node, port))
    for node, port in started:
        wait_until_serving(node, port)
    return [read_storage_server_info(node.node_dir, node.name) for node, _ in started]


def start_tahoe_client_joining(
    supervisor: NodeSupervisor,
    env: TahoeEnv,
    node_dir: Path,
    introducer_furl: str,
    server_ids: Sequence[str],
    *,
    needed: int,
    happy: int,
    total: int,
) -> TahoeClient:
    """Run a Tahoe client that learns its servers from an introducer; wait until connected."""
    web_port = free_port()
    run_command(
        [
            str(env.tahoe),
            "create-client",
            "--introducer",
            introducer_furl,
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
    node = supervisor.start("tahoe-client", [str(env.tahoe), "run", str(node_dir)], node_dir)
    web_url = f"http://{LOOPBACK}:{web_port}/"
    wait_for(
        lambda: (node_dir / "node.url").exists() and web_answers(web_url),
        what=f"node.url and the web API at {web_url}",
        node=node,
    )
    client = TahoeClient(node, web_url, TahoeCli(env.tahoe, node_dir))
    try:
        wait_for(
            lambda: client.connected_to(server_ids),
            what=f"connections to all {len(server_ids)} announced storage servers",
            node=node,
        )
    except NodeStartError as error:
        raise NodeStartError(f"{error}\nserver statuses: {client.server_statuses()}") from error
    return client
