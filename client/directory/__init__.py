"""Directories on the client: nodes over a backing file, links, paths and new bodies.

Rules: the body format lives in :mod:`grid.formats.dirnode`; this package
adds what a client node does with it. A :class:`DirectoryNode` reads and
changes one directory through a :class:`DirectoryBacking` (a mutable file,
or an immutable one that refuses changes), so it depends on no particular
file implementation. Every error is a :class:`DirectoryError`, except a
corrupt body, which is the format's
:class:`~grid.formats.dirnode_errors.DirectoryFormatError`.
"""

from client.directory.backing import BodyChange, DirectoryBacking, LiteralDirectoryBacking
from client.directory.creation import build_immutable_directory_body, build_mutable_directory_body
from client.directory.errors import (
    CannotLinkError,
    ChildOfWrongTypeError,
    DirectoryError,
    ExistingChildError,
    InvalidChildNameError,
    NoSuchChildError,
    NotWritableError,
)
from client.directory.links import ChildLink, make_entry
from client.directory.metadata import update_link_metadata
from client.directory.node import ChildKind, Clock, DirectoryNode, Replace, child_name
from client.directory.paths import (
    DirectoryOpener,
    get_child_at_path,
    open_directory_at_path,
    split_path,
)

__all__ = [
    "BodyChange",
    "CannotLinkError",
    "ChildKind",
    "ChildLink",
    "ChildOfWrongTypeError",
    "Clock",
    "DirectoryBacking",
    "DirectoryError",
    "DirectoryNode",
    "DirectoryOpener",
    "ExistingChildError",
    "InvalidChildNameError",
    "LiteralDirectoryBacking",
    "NoSuchChildError",
    "NotWritableError",
    "Replace",
    "build_immutable_directory_body",
    "build_mutable_directory_body",
    "child_name",
    "get_child_at_path",
    "make_entry",
    "open_directory_at_path",
    "split_path",
    "update_link_metadata",
]
