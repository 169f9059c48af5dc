"""Directories in the web API's JSON: describing them, and reading children a client sends.

Rules (Tahoe-LAFS 1.20's shapes):

- A directory is ``["dirnode", {"ro_uri", "rw_uri"? (only with a write
  cap), "verify_uri"? (not for a literal directory), "mutable",
  "children"}]``; no ``format`` key, as 1.20's code writes it.
- A child is ``[kind, details]`` with its link ``metadata`` always present:
  a file (``filenode``) has :func:`client.filenodes.describe_file`'s fields
  (``size`` is null for a mutable file: listing never asks a server); a
  directory (``dirnode``) has ``mutable`` and its caps; anything this node
  cannot open (unknown kinds, verify caps) is ``unknown`` with its caps as
  stored.
- Children sent by a client (``mkdir-with-children``, ``set_children``) are
  a JSON object ``{name: [kind, {"rw_uri"?, "ro_uri"?, "metadata"?}]}``;
  the kind is not trusted (the caps decide). Anything else is a
  :class:`~client.web.common.BadRequestError` saying what is wrong.
"""

import json
from collections.abc import Mapping
from typing import Any

from client.directory import ChildLink, DirectoryNode
from client.filenodes import FileNode, ImmutableFileNode, describe_file
from client.node_maker import NodeMaker
from client.web.common import BadRequestError
from grid.caps import ChildCap, DirectoryCap, parse_child_cap
from grid.errors import CapError
from grid.formats.dirnode import DirectoryEntry


def directory_caps(cap: DirectoryCap) -> dict[str, Any]:
    """A directory's caps and mutability, as its JSON description words them."""
    details: dict[str, Any] = {"ro_uri": cap.read_only().to_string()}
    if not cap.is_readonly:
        details["rw_uri"] = cap.to_string()
    verify = cap.verify_cap()
    if verify is not None:
        details["verify_uri"] = verify.to_string()
    details["mutable"] = cap.is_mutable
    return details


def _stored_caps(entry: DirectoryEntry) -> dict[str, Any]:
    """The caps of a child this node cannot open, as they are stored."""
    details: dict[str, Any] = {}
    if entry.write_cap is not None:
        details["rw_uri"] = entry.write_cap.to_string()
    if entry.read_cap is not None:
        details["ro_uri"] = entry.read_cap.to_string()
    return details


def describe_child(maker: NodeMaker, entry: DirectoryEntry) -> list[Any]:
    """One child's ``[kind, details]``, metadata included, without asking any server."""
    cap = entry.cap
    node = None if cap is None else maker.node_for_cap(cap)
    if isinstance(node, DirectoryNode):
        kind, details = "dirnode", directory_caps(node.cap)
    elif isinstance(node, ImmutableFileNode):
        kind, details = "filenode", describe_file(node, node.cap.size)
    elif node is not None:
        kind, details = "filenode", describe_file(node, None)
    else:
        kind, details = "unknown", _stored_caps(entry)
    details["metadata"] = dict(entry.metadata)
    return [kind, details]


def describe_directory(
    maker: NodeMaker, cap: DirectoryCap, children: Mapping[str, DirectoryEntry]
) -> list[Any]:
    """A directory's ``["dirnode", {...}]`` with every child described."""
    details = directory_caps(cap)
    details["children"] = {
        name: describe_child(maker, entry) for name, entry in sorted(children.items())
    }
    return ["dirnode", details]


async def describe_file_at_path(node: FileNode, entry: DirectoryEntry) -> list[Any]:
    """A file reached through a directory: its description with its link's metadata."""
    details = describe_file(node, await node.size())
    details["metadata"] = dict(entry.metadata)
    return ["filenode", details]


def _cap_field(name: str, details: Mapping[str, Any], key: str) -> ChildCap | None:
    """The cap under ``key`` of child ``name``'s details, if any."""
    text = details.get(key)
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise BadRequestError(f"child {name!r}: {key} must be a string")
    try:
        return parse_child_cap(text.strip())
    except CapError as error:
        raise BadRequestError(f"child {name!r}: {key} is not a cap: {error}") from None


def _child_link(name: str, value: Any) -> ChildLink:
    """The link a client asks for under ``name``."""
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict)):
        raise BadRequestError(f"child {name!r} must be [kind, {{...}}]")
    details: Mapping[str, Any] = value[1]
    metadata = details.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequestError(f"child {name!r}: metadata must be a JSON object")
    write_cap = _cap_field(name, details, "rw_uri")
    read_cap = _cap_field(name, details, "ro_uri")
    if write_cap is None and read_cap is None:
        raise BadRequestError(f"child {name!r} has neither rw_uri nor ro_uri")
    return ChildLink(write_cap, read_cap, metadata)


def children_from_json(body: bytes) -> dict[str, ChildLink]:
    """The children a request body gives as JSON, by name (names not yet normalized)."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequestError(f"the children are not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise BadRequestError("the children must be a JSON object of name: [kind, {...}]")
    return {name: _child_link(name, value) for name, value in parsed.items()}
