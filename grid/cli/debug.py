"""``grid debug``: tools for looking inside caps and shares, for people and scripts."""

import argparse
from typing import Any

from grid.cli import dump_cap, dump_share, encode_chk


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid debug`` and its subcommands."""
    parser = commands.add_parser("debug", help="look inside caps and shares")
    subcommands = parser.add_subparsers(dest="debug_command", metavar="DEBUG_COMMAND")
    subcommands.required = True
    dump_cap.add_parser(subcommands)
    dump_share.add_parser(subcommands)
    encode_chk.add_parser(subcommands)
