"""Aliases: names for directory caps, kept in ``NODEDIR/private/aliases`` as Tahoe keeps them.

Rules: the file is UTF-8 text, one ``name: cap`` per line; blank lines and
lines starting with ``#`` are ignored, and so is a line without a colon.
``private/root_dir.cap``, if present, defines the ``tahoe`` alias, and the
aliases file may override it; a command's ``--dir-cap`` overrides both for
that command, as Tahoe's does. New aliases are appended as ``name: cap``
lines (after a newline if the file lacks a final one), so a file Tahoe wrote
stays as it was. An alias name holds no colon and no space (one trailing
colon on the command line is dropped); an alias cap must be a directory cap.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from grid.caps.parse import parse_cap
from grid.cli.alias_path import DEFAULT_ALIAS, directory_cap
from grid.cli.web_client import WebClient
from grid.errors import GridError

ALIASES_FILE = Path("private") / "aliases"
ROOT_DIR_CAP_FILE = Path("private") / "root_dir.cap"


class AliasError(GridError, ValueError):
    """An alias cannot be created or added as asked."""


def aliases_path(node_dir: Path) -> Path:
    """Where the node keeps its aliases."""
    return node_dir.expanduser() / ALIASES_FILE


def parse_aliases(text: str) -> dict[str, str]:
    """The ``name: cap`` lines of an aliases file, in file order."""
    aliases: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or ":" not in stripped:
            continue
        name, cap = stripped.split(":", 1)
        aliases[name.strip()] = cap.strip()
    return aliases


def read_aliases(node_dir: Path) -> dict[str, str]:
    """Every alias the node defines: ``root_dir.cap`` as ``tahoe``, then the aliases file."""
    aliases: dict[str, str] = {}
    root_file = node_dir.expanduser() / ROOT_DIR_CAP_FILE
    if root_file.exists():
        aliases[DEFAULT_ALIAS] = root_file.read_text(encoding="utf-8").strip()
    path = aliases_path(node_dir)
    if path.exists():
        aliases.update(parse_aliases(path.read_text(encoding="utf-8")))
    return aliases


def command_aliases(arguments: argparse.Namespace) -> dict[str, str]:
    """The aliases a command sees: the node's, with ``--dir-cap`` (if given) as ``tahoe``."""
    aliases = read_aliases(arguments.node_directory)
    dir_cap = getattr(arguments, "dir_cap", None)
    if dir_cap:
        aliases[DEFAULT_ALIAS] = directory_cap(dir_cap)
    return aliases


def check_alias_name(name: str) -> str:
    """The alias name without one trailing colon; raise AliasError if it cannot be an alias."""
    name = name.removesuffix(":")
    if not name:
        raise AliasError("an alias name cannot be empty")
    if ":" in name:
        raise AliasError(f"alias names cannot contain colons: {name!r}")
    if " " in name:
        raise AliasError(f"alias names cannot contain spaces: {name!r}")
    return name


def append_alias(node_dir: Path, name: str, cap: str) -> None:
    """Add ``name: cap`` to the aliases file; raise AliasError if the name is taken."""
    if name in read_aliases(node_dir):
        raise AliasError(f"alias {name!r} already exists")
    path = aliases_path(node_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_bytes() if path.exists() else b""
    with path.open("ab") as output:
        if existing and not existing.endswith(b"\n"):
            output.write(b"\n")
        output.write(f"{name}: {cap}\n".encode())


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``create-alias``, ``add-alias`` and ``list-aliases``."""
    create = commands.add_parser("create-alias", help="create a directory and name it")
    create.add_argument("alias", metavar="ALIAS")
    create.set_defaults(handler=run_create_alias)
    add = commands.add_parser("add-alias", help="name an existing directory cap")
    add.add_argument("alias", metavar="ALIAS")
    add.add_argument("cap", metavar="DIRCAP")
    add.set_defaults(handler=run_add_alias)
    listing = commands.add_parser("list-aliases", help="show every alias and its cap")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.add_argument("--readonly-uri", action="store_true", help="show read-only caps instead")
    listing.set_defaults(handler=run_list_aliases)


def run_create_alias(arguments: argparse.Namespace) -> int:
    """Make a new directory and record it under ALIAS."""
    name = check_alias_name(arguments.alias)
    if name in read_aliases(arguments.node_directory):
        raise AliasError(f"alias {name!r} already exists")
    cap = WebClient.for_node(arguments.node_directory, arguments.node_url).create_directory()
    append_alias(arguments.node_directory, name, cap)
    print(f"Alias {name!r} created")
    return 0


def run_add_alias(arguments: argparse.Namespace) -> int:
    """Record an existing directory cap under ALIAS."""
    name = check_alias_name(arguments.alias)
    append_alias(arguments.node_directory, name, directory_cap(arguments.cap))
    print(f"Alias {name!r} added")
    return 0


def run_list_aliases(arguments: argparse.Namespace) -> int:
    """Print each alias and its cap (right-aligned names), or all of them as JSON."""
    aliases = read_aliases(arguments.node_directory)
    details = {
        name: {"readwrite": cap, "readonly": _readonly(cap)} for name, cap in aliases.items()
    }
    if arguments.json:
        print(json.dumps(details, indent=4))
        return 0
    width = max((len(name) for name in details), default=0)
    kind = "readonly" if arguments.readonly_uri else "readwrite"
    for name, caps in details.items():
        print(f"{name:>{width}}: {caps[kind]}")
    return 0


def _readonly(cap: str) -> str:
    try:
        return parse_cap(cap).read_only().to_string()
    except GridError:
        return cap
