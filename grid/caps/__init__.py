"""Caps (Tahoe's "URIs"): the strings that name, and grant access to, files and directories.

Rules: every kind is a frozen record that validates its fields when built;
:func:`parse_cap` is strict and :func:`parse_child_cap` is the lenient form
for directory entries; ``cap.to_string()`` is the exact inverse of parsing.
Weaker caps (read-only, verify) and storage indexes are derived offline.
The submodules hold one concept each: shared field rules, immutable caps,
mutable caps, directory caps, unknown caps, and parsing.
"""

from grid.caps.directory import DIRECTORY_KINDS, DirectoryCap, FileCap
from grid.caps.immutable import CHKReadCap, CHKVerifyCap, LiteralCap
from grid.caps.mutable import MutableFormat, MutableReadCap, MutableVerifyCap, MutableWriteCap
from grid.caps.parse import (
    ALLEGED_IMMUTABLE_PREFIX,
    ALLEGED_READONLY_PREFIX,
    Cap,
    ChildCap,
    cap_kind,
    parse_cap,
    parse_child_cap,
)
from grid.caps.unknown import UnknownCap

__all__ = [
    "ALLEGED_IMMUTABLE_PREFIX",
    "ALLEGED_READONLY_PREFIX",
    "DIRECTORY_KINDS",
    "CHKReadCap",
    "CHKVerifyCap",
    "Cap",
    "ChildCap",
    "DirectoryCap",
    "FileCap",
    "LiteralCap",
    "MutableFormat",
    "MutableReadCap",
    "MutableVerifyCap",
    "MutableWriteCap",
    "UnknownCap",
    "cap_kind",
    "parse_cap",
    "parse_child_cap",
]
