"""``grid create-introducer``: write a new introducer node directory.

Rules: the layout is Tahoe-LAFS's (``tahoe.cfg`` with only ``[node]``,
``tahoe-introducer.tac``, ``node.pubkey``, ``private/node.privkey`` and
``private/node.pem``), so either program can run it. The introducer's FURL
appears in ``private/introducer.furl`` when it first runs.
"""

import argparse
import os
from pathlib import Path
from typing import Any

from grid.cli.create_node import tub_settings
from grid.cli.parsing import UsageError
from grid.config import render_config
from introducer.node_identity import create_node_identity

INTRODUCER_TAC = "# Tahoe-LAFS and grid detect an introducer node by this file's presence.\n"


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid create-introducer``."""
    parser = commands.add_parser("create-introducer", help="create an introducer node directory")
    parser.add_argument("--nickname", default="", help="a name for this introducer")
    parser.add_argument(
        "--webport", default="none", help="where the status page listens, or 'none' (none)"
    )
    parser.add_argument("--hostname", help="the name others reach this node by (picks a port)")
    parser.add_argument("--location", help="location hints, e.g. tcp:example.net:3458")
    parser.add_argument("--port", help="where to listen, e.g. tcp:3458:interface=127.0.0.1")
    parser.add_argument("--listen", choices=["tcp"], default="tcp", help="listen on TCP")
    parser.add_argument("node_dir", type=Path, metavar="DIR", help="the directory to create")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    """Create the introducer directory and say how to start it."""
    node_dir: Path = arguments.node_dir
    if node_dir.exists() and any(node_dir.iterdir()):
        raise UsageError(f"grid: {node_dir} already exists and is not empty")
    tub_port, tub_location = tub_settings(arguments)
    sections = {
        "node": {
            "nickname": arguments.nickname,
            "web.port": "" if arguments.webport == "none" else arguments.webport,
            "tub.port": tub_port,
            "tub.location": tub_location,
        }
    }
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "tahoe.cfg").write_text(render_config(sections))
    (node_dir / "tahoe-introducer.tac").write_text(INTRODUCER_TAC)
    create_node_identity(node_dir, os.urandom(32))
    print(f"Introducer created in {node_dir}")
    print(f"Start it with: grid run {node_dir}  (its FURL: {node_dir}/private/introducer.furl)")
    return 0
