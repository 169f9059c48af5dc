"""``grid ls``: list a directory (or describe one file) from the gateway's ``t=json``.

Rules: entries are sorted by name. Plain output is one name per line
(``-F`` marks directories with ``/``); ``--uri`` / ``--readonly-uri`` add
the cap after the name. ``-l`` gives ``mode size date name`` columns: mode
``drwx``/``dr-x`` for directories, ``-rw-`` for writable mutable files,
``-r--`` for other files and ``?r--`` for unknown caps; size ``-`` where
unknown; the date is the link's modification time (``tahoe.linkmotime``,
else ``mtime``) as ``Mon DD HH:MM`` within half a year of now, else
``Mon DD  YYYY``. ``--json`` prints the gateway's JSON untouched. Listing a
file shows that one entry, named by the path's last component.
"""

import argparse
import time
from collections.abc import Mapping
from typing import Any

import attrs

from grid.cli.alias_path import parse_grid_path
from grid.cli.aliases import command_aliases
from grid.cli.web_client import WebClient, node_description

HALF_YEAR = 180 * 24 * 3600


@attrs.frozen
class Entry:
    """One listed name, with what ``t=json`` says of it."""

    name: str
    kind: str
    details: Mapping[str, Any]


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid ls``."""
    ls = commands.add_parser("ls", help="list a directory")
    ls.add_argument("where", nargs="?", default="", metavar="ALIAS:PATH")
    ls.add_argument("-l", "--long", action="store_true", help="mode, size and date too")
    ls.add_argument("-F", "--classify", action="store_true", help="append / to directories")
    ls.add_argument("--json", action="store_true", help="the gateway's JSON description")
    ls.add_argument("--uri", action="store_true", help="show each entry's cap")
    ls.add_argument("--readonly-uri", action="store_true", help="show read-only caps")
    ls.set_defaults(handler=run_ls)


def run_ls(arguments: argparse.Namespace) -> int:
    """List the directory (or file) at the path."""
    where = parse_grid_path(arguments.where, command_aliases(arguments))
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    url = client.url(where, {"t": "json"})
    if arguments.json:
        print(client.read_text(url).rstrip("\n"))
        return 0
    kind, details = node_description(client.read_json(url))
    if kind == "dirnode":
        children = details.get("children", {})
        entries = [Entry(name, *children[name]) for name in sorted(children)]
    else:
        entries = [Entry(where.name, kind, details)]
    for line in format_entries(entries, arguments, now=time.time()):
        print(line)
    return 0


def format_entries(entries: list[Entry], options: argparse.Namespace, *, now: float) -> list[str]:
    """The lines ``ls`` prints for ``entries`` with the given options."""
    rows = [_row(entry, options, now) for entry in entries]
    if not rows:
        return []
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if column == 1 and options.long else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        cells[-1] = row[-1]
        lines.append(" ".join(cells))
    return lines


def _row(entry: Entry, options: argparse.Namespace, now: float) -> list[str]:
    name = entry.name + ("/" if options.classify and entry.kind == "dirnode" else "")
    cells = [mode(entry), _size(entry), link_date(entry, now), name] if options.long else [name]
    if options.readonly_uri:
        cells.append(str(entry.details.get("ro_uri", "")))
    elif options.uri:
        cells.append(str(entry.details.get("rw_uri") or entry.details.get("ro_uri", "")))
    return cells


def mode(entry: Entry) -> str:
    """The four-letter mode of an entry."""
    writable = bool(entry.details.get("rw_uri"))
    if entry.kind == "dirnode":
        return "drwx" if writable else "dr-x"
    if entry.kind == "filenode":
        return "-rw-" if writable else "-r--"
    return "?r--"


def _size(entry: Entry) -> str:
    size = entry.details.get("size")
    return str(size) if isinstance(size, int) and entry.kind == "filenode" else "-"


def link_date(entry: Entry, now: float) -> str:
    """When the entry's link last changed, in ``ls -l`` style ("" if unknown)."""
    metadata = entry.details.get("metadata", {})
    stamp = metadata.get("tahoe", {}).get("linkmotime", metadata.get("mtime"))
    if not isinstance(stamp, int | float):
        return ""
    moment = time.localtime(stamp)
    if abs(now - stamp) < HALF_YEAR:
        return time.strftime("%b %d %H:%M", moment)
    return time.strftime("%b %d  %Y", moment)
