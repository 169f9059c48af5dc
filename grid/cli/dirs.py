"""``grid mkdir``, ``ln``, ``mv`` and ``unlink`` (alias ``rm``): changing directories' links.

Rules: paths without an alias use ``tahoe:``. ``mkdir`` with no path (or a
bare alias or cap) makes an unlinked directory; either way it prints the new
directory's write cap. ``ln`` and ``mv`` link the source's best cap (its
write cap if it has one) at the target, or inside the target when that is a
directory or ends with ``/``; they never replace a directory
(``replace=only-files``). ``mv`` then unlinks the source. ``unlink`` removes
one name and never a root.
"""

import argparse
from typing import Any

from grid.cli.alias_path import GridPath, parse_grid_path
from grid.cli.aliases import command_aliases
from grid.cli.web_client import WebClient, best_cap
from grid.errors import GridError

DIRECTORY_FORMATS = ("SDMF", "MDMF")


class PathError(GridError, ValueError):
    """A path names something a command cannot act on (a root, nothing at all)."""


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``mkdir``, ``ln``, ``mv``, ``unlink`` and ``rm``."""
    mkdir = commands.add_parser("mkdir", help="create a directory; print its cap")
    mkdir.add_argument("where", nargs="?", metavar="ALIAS:PATH", help="where to link it")
    mkdir.add_argument(
        "--format", type=str.upper, choices=DIRECTORY_FORMATS, help="mutable format (SDMF)"
    )
    mkdir.set_defaults(handler=run_mkdir)
    for name, help_text, handler in (
        ("ln", "add another link to a file or directory", run_ln),
        ("mv", "move or rename a file or directory", run_mv),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("source", metavar="FROM")
        command.add_argument("target", metavar="TO")
        command.set_defaults(handler=handler)
    for name in ("unlink", "rm"):
        unlink = commands.add_parser(name, help="remove a name from its directory")
        unlink.add_argument("where", nargs="+", metavar="ALIAS:PATH")
        unlink.set_defaults(handler=run_unlink)


def run_mkdir(arguments: argparse.Namespace) -> int:
    """Create a directory, linked at the path if there is one, and print its write cap."""
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    where = None
    if arguments.where is not None:
        where = parse_grid_path(arguments.where, command_aliases(arguments))
        if not where.segments:
            where = None
    print(client.create_directory(where, directory_format=arguments.format))
    return 0


def run_ln(arguments: argparse.Namespace) -> int:
    """Link the source at the target too."""
    _relink(arguments, move=False)
    return 0


def run_mv(arguments: argparse.Namespace) -> int:
    """Link the source at the target, then unlink the source."""
    _relink(arguments, move=True)
    print("OK")
    return 0


def _relink(arguments: argparse.Namespace, *, move: bool) -> None:
    aliases = command_aliases(arguments)
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    source = parse_grid_path(arguments.source, aliases)
    if not source.segments:
        raise PathError(f"{arguments.source}: cannot move or link a root, only a named entry")
    cap = best_cap(client.info(source)[1])
    target = parse_grid_path(arguments.target, aliases)
    if arguments.target.endswith("/") or not target.segments or _is_directory(client, target):
        target = target.child(source.name)
    client.link(target, cap, replace="only-files")
    if move:
        client.unlink(source)


def _is_directory(client: WebClient, where: GridPath) -> bool:
    info = client.info_or_none(where)
    return info is not None and info[0] == "dirnode"


def run_unlink(arguments: argparse.Namespace) -> int:
    """Remove each named entry from its directory."""
    aliases = command_aliases(arguments)
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    for text in arguments.where:
        where = parse_grid_path(text, aliases)
        if not where.segments:
            raise PathError(f"{text}: unlink removes an entry in a directory, not a root")
        client.unlink(where)
    return 0
