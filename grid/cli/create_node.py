"""``grid create-node`` and ``grid create-client``: write a new node directory.

Rules: the directory is laid out as Tahoe-LAFS lays out its own (``tahoe.cfg``,
``tahoe-client.tac``, ``node.pubkey``, ``private/`` with ``node.privkey``,
``node.pem``, ``secret`` and ``convergence`` at mode 0600), with the same
flags and the same config keys as ``tahoe create-node`` for what we support,
so either program can run it. An existing, non-empty directory is refused.
"""

import argparse
import os
import socket
from pathlib import Path
from typing import Any

from grid.base32 import b2a
from grid.cli.parsing import UsageError
from grid.config import render_config
from introducer.node_identity import create_node_identity, write_private_file

DEFAULT_WEB_PORT = "tcp:3456:interface=127.0.0.1"
CLIENT_TAC = "# Tahoe-LAFS and grid detect a client node by this file's presence.\n"


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid create-node`` and ``grid create-client``."""
    node = commands.add_parser("create-node", help="create a node directory (storage and client)")
    _add_common_arguments(node)
    node.add_argument("--no-storage", action="store_true", help="do not offer storage")
    node.add_argument("--storage-dir", metavar="PATH", help="keep shares here, not in DIR/storage")
    node.set_defaults(handler=run_create_node, storage=True)
    client = commands.add_parser("create-client", help="create a client node (no storage)")
    _add_common_arguments(client)
    client.set_defaults(handler=run_create_node, no_storage=True, storage_dir=None)


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nickname", default="", help="a name other nodes show for this one")
    parser.add_argument("--introducer", metavar="FURL", help="the introducer to join")
    parser.add_argument(
        "--webport",
        default=DEFAULT_WEB_PORT,
        help=f"where the web gateway listens, or 'none' ({DEFAULT_WEB_PORT})",
    )
    parser.add_argument("--hostname", help="the name others reach this node by (picks a port)")
    parser.add_argument("--location", help="location hints, e.g. tcp:example.net:3457")
    parser.add_argument("--port", help="where to listen, e.g. tcp:3457:interface=127.0.0.1")
    parser.add_argument(
        "--listen", choices=["tcp", "none"], default="tcp", help="listen on TCP or not at all"
    )
    parser.add_argument("--shares-needed", type=int, default=3, metavar="K", help="k (3)")
    parser.add_argument("--shares-happy", type=int, default=7, metavar="H", help="happy (7)")
    parser.add_argument("--shares-total", type=int, default=10, metavar="N", help="N (10)")
    parser.add_argument("node_dir", type=Path, metavar="DIR", help="the directory to create")


def run_create_node(arguments: argparse.Namespace) -> int:
    """Create the node directory and say where it is."""
    node_dir: Path = arguments.node_dir
    if node_dir.exists() and any(node_dir.iterdir()):
        raise UsageError(f"grid: {node_dir} already exists and is not empty")
    _check_shares(arguments)
    tub_port, tub_location = tub_settings(arguments)
    sections: dict[str, dict[str, str]] = {
        "node": {
            "nickname": arguments.nickname,
            "web.port": "" if arguments.webport == "none" else arguments.webport,
            "tub.port": tub_port,
            "tub.location": tub_location,
        },
        "client": {
            "shares.needed": str(arguments.shares_needed),
            "shares.happy": str(arguments.shares_happy),
            "shares.total": str(arguments.shares_total),
        },
        "storage": {"enabled": "false" if arguments.no_storage else "true", "reserved_space": "1G"},
    }
    if arguments.storage_dir:
        sections["storage"]["storage_dir"] = str(Path(arguments.storage_dir).resolve())
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "tahoe.cfg").write_text(render_config(sections))
    (node_dir / "tahoe-client.tac").write_text(CLIENT_TAC)
    create_node_identity(node_dir, os.urandom(32))
    write_private_file(node_dir / "private" / "secret", b2a(os.urandom(32)).encode() + b"\n")
    write_private_file(node_dir / "private" / "convergence", b2a(os.urandom(32)).encode() + b"\n")
    if arguments.introducer:
        (node_dir / "private" / "introducers.yaml").write_text(
            f"introducers:\n  default:\n    furl: {arguments.introducer}\n"
        )
    print(f"Node created in {node_dir}")
    print(f"Start it with: grid run {node_dir}")
    return 0


def _check_shares(arguments: argparse.Namespace) -> None:
    needed, happy, total = arguments.shares_needed, arguments.shares_happy, arguments.shares_total
    if not 1 <= needed <= total <= 256 or not 1 <= happy <= total:
        raise UsageError(
            "grid: need 1 <= shares-needed <= shares-total <= 256 and 1 <= shares-happy <= total"
        )


def tub_settings(arguments: argparse.Namespace) -> tuple[str, str]:
    """Turn --listen, --hostname, --location and --port into tub.port and tub.location."""
    if arguments.listen == "none":
        if arguments.hostname or arguments.location or arguments.port:
            raise UsageError("grid: --listen=none takes no --hostname, --location or --port")
        return "disabled", "disabled"
    if arguments.hostname:
        if arguments.location or arguments.port:
            raise UsageError("grid: --hostname cannot be combined with --location or --port")
        port = free_port()
        return f"tcp:{port}", f"tcp:{arguments.hostname}:{port}"
    if bool(arguments.location) != bool(arguments.port):
        raise UsageError("grid: --location and --port go together")
    if not arguments.location:
        raise UsageError(
            "grid: say how others reach this node: --hostname, or --location and --port"
        )
    return arguments.port, arguments.location


def free_port() -> int:
    """Return a TCP port that is free right now."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        port: int = probe.getsockname()[1]
    return port
