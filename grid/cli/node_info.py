"""``grid webopen`` and ``grid status``: the node's web pages, for people.

Rules: ``webopen`` opens the gateway's page for a path (the welcome page
with no path; ``--info`` for the info page) in the user's web browser, and
prints the URL instead when there is no browser to open or it fails.
``status`` reads ``/status/?t=json`` and prints the active and then the
recent operations as a table (type, storage index, size, status), or the
JSON itself with ``--json``.
"""

import argparse
import json
import webbrowser
from typing import Any

from grid.cli.alias_path import parse_grid_path
from grid.cli.aliases import command_aliases
from grid.cli.web_client import WebClient

_COLUMNS = (("type", "Type"), ("storage-index-string", "Storage Index"), ("total-size", "Size"))


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid webopen`` and ``grid status``."""
    webopen = commands.add_parser("webopen", help="open a directory or file in the web browser")
    webopen.add_argument("where", nargs="?", metavar="ALIAS:PATH")
    webopen.add_argument("--info", action="store_true", help="open the info page")
    webopen.set_defaults(handler=run_webopen)
    status = commands.add_parser("status", help="show the node's current and recent operations")
    status.add_argument("--json", action="store_true", help="the gateway's JSON")
    status.set_defaults(handler=run_status)


def run_webopen(arguments: argparse.Namespace) -> int:
    """Open the page in a browser, or print its URL."""
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    url = client.base_url
    if arguments.where is not None:
        where = parse_grid_path(arguments.where, command_aliases(arguments))
        url = client.url(where, {"t": "info"} if arguments.info else None)
    try:
        opened = webbrowser.get().open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        print(url)
    return 0


def run_status(arguments: argparse.Namespace) -> int:
    """Print the node's active and recent operations."""
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    document = client.read_json(client.base_url + "status/?t=json")
    if arguments.json:
        print(json.dumps(document, indent=1))
        return 0
    for heading, key in (("Active operations", "active"), ("Recent operations", "recent")):
        print(f"{heading}:")
        for line in format_operations(document.get(key, [])):
            print(f"  {line}")
    return 0


def format_operations(operations: list[dict[str, Any]]) -> list[str]:
    """A table of operations (header first), or ``none``."""
    if not operations:
        return ["none"]
    rows = [[title for _, title in _COLUMNS] + ["Status"]]
    for operation in operations:
        status = str(operation.get("status", ""))
        progress = operation.get("progress")
        if isinstance(progress, int | float):
            status = f"{status} ({progress:.0%})"
        rows.append([str(operation.get(key, "")) for key, _ in _COLUMNS] + [status])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
