"""``grid manifest`` and ``grid stats``: walk everything under a directory through the gateway.

Rules: both read the gateway's ``t=stream-manifest`` answer, one JSON unit
per line, the last of type ``stats``; a line starting ``ERROR:`` ends the
command with that error. ``manifest`` prints ``CAP PATH`` per object (only
the cap for the starting point), or the storage index, verify cap or repair
cap instead with the matching option (objects without one, such as literal
files, print nothing); ``--raw`` prints the units as they came. ``stats``
prints the stats unit's counts and sizes, one ``name: value`` per line and
the file-size histogram below; ``--raw`` prints it as JSON. (The stats unit
carries the deep-stats under its ``stats`` key.)
"""

import argparse
import json
from collections.abc import Iterator
from typing import Any

from grid.cli.alias_path import parse_grid_path
from grid.cli.aliases import command_aliases
from grid.cli.web_client import GatewayError, WebClient

_ERROR_PREFIX = "ERROR:"


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid manifest`` and ``grid stats``."""
    manifest = commands.add_parser("manifest", help="list every object under a directory")
    manifest.add_argument("where", nargs="?", default="", metavar="ALIAS:PATH")
    shown = manifest.add_mutually_exclusive_group()
    shown.add_argument("--storage-index", action="store_true", help="storage indexes")
    shown.add_argument("--verify-cap", action="store_true", help="verify caps")
    shown.add_argument("--repair-cap", action="store_true", help="repair caps")
    shown.add_argument("--raw", action="store_true", help="the gateway's JSON lines")
    manifest.set_defaults(handler=run_manifest)
    stats = commands.add_parser("stats", help="count and size everything under a directory")
    stats.add_argument("where", nargs="?", default="", metavar="ALIAS:PATH")
    stats.add_argument("--raw", action="store_true", help="as JSON")
    stats.set_defaults(handler=run_stats)


def stream_units(arguments: argparse.Namespace) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each manifest unit under the path: its raw line and its parsed JSON."""
    where = parse_grid_path(arguments.where, command_aliases(arguments))
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    with client.request(client.url(where, {"t": "stream-manifest"}), method="POST") as response:
        for raw in response:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith(_ERROR_PREFIX):
                raise GatewayError(200, "OK", line.removeprefix(_ERROR_PREFIX).strip())
            if not line:
                continue
            try:
                unit = json.loads(line)
            except ValueError:
                raise GatewayError(200, "OK", "a manifest line is not JSON") from None
            yield line, unit


def run_manifest(arguments: argparse.Namespace) -> int:
    """Print one line per object under the path."""
    for line, unit in stream_units(arguments):
        if arguments.raw:
            print(line)
        elif unit.get("type") == "stats":
            continue
        elif arguments.storage_index or arguments.verify_cap or arguments.repair_cap:
            key = (
                "storage-index"
                if arguments.storage_index
                else "verifycap"
                if arguments.verify_cap
                else "repaircap"
            )
            if unit.get(key):
                print(unit[key])
        else:
            path = "/".join(unit.get("path", []))
            print(f"{unit.get('cap', '')} {path}" if path else unit.get("cap", ""))
    return 0


def run_stats(arguments: argparse.Namespace) -> int:
    """Print counts and sizes of everything under the path."""
    unit = next((unit for _, unit in stream_units(arguments) if unit.get("type") == "stats"), {})
    stats = dict(unit.get("stats", {}))
    if arguments.raw:
        print(json.dumps(stats, indent=1))
        return 0
    for line in format_stats(stats):
        print(line)
    return 0


def format_stats(stats: dict[str, Any]) -> list[str]:
    """Deep-stats as ``name: value`` lines, names right-aligned, then the size histogram."""
    histogram = stats.pop("size-files-histogram", [])
    width = max((len(name) for name in stats), default=0)
    lines = [f"{name:>{width}}: {value}" for name, value in sorted(stats.items())]
    if histogram:
        lines.append("size-files-histogram:")
        lines.extend(f"  {low:>12} - {high:<12}: {count}" for low, high, count in histogram)
    return lines
