"""``grid create-repair-agent DIR``: write a new repair agent directory.

Rules: the layout follows a Tahoe-LAFS node's (``tahoe.cfg``, ``node.pubkey``,
``private/`` with ``node.privkey``, ``node.pem`` and the lease ``secret`` at
mode 0600, ``private/introducers.yaml``), plus the marker file
``repair-agent.tac``. The agent only connects out (``tub.port`` and
``tub.location`` are ``disabled``); its reports are served only if
``--webport`` is given. Its schedule is ``[repair-agent]`` (see
:mod:`client.repair_agent.settings`). An existing, non-empty directory is
refused, and so are a threshold below 1 and a non-positive interval or rate.
"""

import argparse
import os
from pathlib import Path
from typing import Any

from client.repair_agent.settings import DEFAULT_INTERVAL, DEFAULT_RATE
from grid.base32 import b2a
from grid.cli.parsing import UsageError
from grid.config import render_config
from introducer.node_identity import create_node_identity, write_private_file

AGENT_TAC = "# grid detects a repair agent directory by this file's presence.\n"


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid create-repair-agent``."""
    parser = commands.add_parser("create-repair-agent", help="create a repair agent directory")
    parser.add_argument("--nickname", default="", help="a name for this agent")
    parser.add_argument("--introducer", metavar="FURL", help="the introducer to join")
    parser.add_argument(
        "--threshold",
        type=int,
        metavar="N",
        help="repair when fewer good shares than this remain (default: the file's N)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"check each file once this often ({DEFAULT_INTERVAL:.0f})",
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, metavar="R", help="checks a second at most (1)"
    )
    parser.add_argument(
        "--min-servers",
        type=int,
        default=1,
        metavar="COUNT",
        help="check nothing while fewer servers are connected (1)",
    )
    parser.add_argument(
        "--verify", action="store_true", help="read and prove every share on each check"
    )
    parser.add_argument(
        "--webport",
        default="none",
        help="where the reports are served, e.g. tcp:3460:interface=127.0.0.1, or 'none'",
    )
    parser.add_argument("node_dir", type=Path, metavar="DIR", help="the directory to create")
    parser.set_defaults(handler=run)


def _check(arguments: argparse.Namespace) -> None:
    if arguments.threshold is not None and arguments.threshold < 1:
        raise UsageError("grid: --threshold must be at least 1")
    if not arguments.interval > 0 or not arguments.rate > 0:
        raise UsageError("grid: --interval and --rate must be positive")
    if arguments.min_servers < 1:
        raise UsageError("grid: --min-servers must be at least 1")


def run(arguments: argparse.Namespace) -> int:
    """Create the agent directory and say how to start it."""
    node_dir: Path = arguments.node_dir
    if node_dir.exists() and any(node_dir.iterdir()):
        raise UsageError(f"grid: {node_dir} already exists and is not empty")
    _check(arguments)
    sections = {
        "node": {
            "nickname": arguments.nickname,
            "web.port": "" if arguments.webport == "none" else arguments.webport,
            "tub.port": "disabled",
            "tub.location": "disabled",
        },
        "repair-agent": {
            "threshold": "" if arguments.threshold is None else str(arguments.threshold),
            "interval": repr(arguments.interval),
            "rate": repr(arguments.rate),
            "min_servers": str(arguments.min_servers),
            "verify": "true" if arguments.verify else "false",
        },
    }
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "tahoe.cfg").write_text(render_config(sections))
    (node_dir / "repair-agent.tac").write_text(AGENT_TAC)
    create_node_identity(node_dir, os.urandom(32))
    write_private_file(node_dir / "private" / "secret", b2a(os.urandom(32)).encode() + b"\n")
    if arguments.introducer:
        (node_dir / "private" / "introducers.yaml").write_text(
            f"introducers:\n  default:\n    furl: {arguments.introducer}\n"
        )
    print(f"Repair agent created in {node_dir}")
    print(f"Add caps with: grid repair-agent import {node_dir} FILE")
    print(f"Start it with: grid repair-agent {node_dir}")
    return 0
