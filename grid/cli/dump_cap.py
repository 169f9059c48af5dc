"""``grid debug dump-cap``: what a cap is and what can be derived from it offline."""

import argparse
import json
from typing import Any

from grid.base32 import b2a
from grid.caps import Cap, parse_cap
from grid.cli.parsing import UsageError
from grid.errors import CapError


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid debug dump-cap``."""
    parser = commands.add_parser(
        "dump-cap", help="show a cap's kind, storage index and weaker caps"
    )
    parser.add_argument("cap", metavar="CAP", help="the cap to describe")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def describe_cap(cap: Cap) -> dict[str, Any]:
    """Return the facts about a cap that need no network, never its secrets."""
    facts: dict[str, Any] = {
        "kind": cap.kind,
        "mutable": cap.is_mutable,
        "read_only": cap.is_readonly,
        "directory": cap.is_directory,
        "storage_index": None if cap.storage_index is None else b2a(cap.storage_index),
    }
    for field in ("needed_shares", "total_shares", "size"):
        value = getattr(cap, field, None)
        if value is not None:
            facts[field] = value
    read_only = cap.read_only()
    verify = cap.verify_cap()
    facts["read_only_cap"] = None if read_only is None else read_only.to_string()
    facts["verify_cap"] = None if verify is None else verify.to_string()
    return facts


def run(arguments: argparse.Namespace) -> int:
    """Parse the cap and print what it is."""
    try:
        cap = parse_cap(arguments.cap.strip())
    except CapError as error:
        raise UsageError(f"grid debug dump-cap: {error}") from error
    facts = describe_cap(cap)
    if arguments.json:
        print(json.dumps(facts, indent=1))
        return 0
    for name, value in facts.items():
        if value is not None:
            print(f"{name.replace('_', ' ')}: {value}")
    return 0
