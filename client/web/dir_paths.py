"""Finding (and making) what a ``/uri/$DIRCAP/a/b/c`` request names.

Rules: the path is the list of decoded segments after the cap; one empty
last segment (a trailing ``/``) names the directory itself, any other empty
segment or a segment holding ``/`` is a bad name (400). A request reaches a
:class:`Target`: the starting directory (empty path) or a name in a parent
directory, which may be missing. Walking through a missing or non-directory
component is an error (404, 400); only requests that create (``PUT``,
``t=mkdir``) make missing intermediate directories, in the node's default
mutable format, linked without replacing anything a concurrent writer put
there first.
"""

from collections.abc import Sequence

import attrs

from client.directory import (
    ChildOfWrongTypeError,
    DirectoryNode,
    ExistingChildError,
    NoSuchChildError,
    Replace,
    open_directory_at_path,
    split_path,
)
from client.node_maker import Node, NodeMaker
from grid.caps import DirectoryCap
from grid.formats.dirnode import DirectoryEntry


def request_names(path: Sequence[str]) -> list[str]:
    """The child names a request's path segments give (a trailing ``/`` dropped)."""
    segments = list(path)
    if segments and segments[-1] == "":
        segments.pop()
    return split_path(segments)


@attrs.frozen
class Target:
    """What a request names: a directory itself, or ``name`` in ``parent`` (maybe missing)."""

    node: Node | None
    parent: DirectoryNode | None = None
    name: str | None = None
    entry: DirectoryEntry | None = None

    @property
    def missing(self) -> bool:
        """Whether the path names a child that does not exist."""
        return self.name is not None and self.entry is None

    def require(self) -> DirectoryEntry | None:
        """The child's entry (None for the starting directory); NoSuchChildError if missing."""
        if self.missing:
            raise NoSuchChildError(f"no child named {self.name!r}")
        return self.entry


async def child_entry(directory: DirectoryNode, name: str) -> DirectoryEntry | None:
    """The entry ``name`` in ``directory``, or None."""
    return (await directory.list_children()).get(name)


async def locate(maker: NodeMaker, root: DirectoryNode, names: Sequence[str]) -> Target:
    """The target of ``names`` below ``root``; intermediate directories must exist."""
    if not names:
        return Target(root)
    parent = await open_directory_at_path(root, names[:-1], maker.directory_for_cap)
    return await _target_in(maker, parent, names[-1])


async def _target_in(maker: NodeMaker, parent: DirectoryNode, name: str) -> Target:
    """The target ``name`` in ``parent``."""
    entry = await child_entry(parent, name)
    cap = None if entry is None else entry.cap
    node = None if cap is None else maker.node_for_cap(cap)
    return Target(node, parent, name, entry)


def _open_child_directory(maker: NodeMaker, entry: DirectoryEntry, name: str) -> DirectoryNode:
    """The directory ``entry`` links, or ChildOfWrongTypeError."""
    cap = entry.cap
    directory = maker.directory_for_cap(cap) if isinstance(cap, DirectoryCap) else None
    if directory is None:
        raise ChildOfWrongTypeError(f"{name!r} is not a directory")
    return directory


async def make_directories(
    maker: NodeMaker, root: DirectoryNode, names: Sequence[str]
) -> DirectoryNode:
    """The directory at ``names`` below ``root``, making every missing one on the way."""
    directory = root
    for name in names:
        entry = await child_entry(directory, name)
        if entry is None:
            directory.require_writable()
            created = await maker.create_directory()
            try:
                await directory.set_child(name, created.cap, replace=Replace.NEVER)
            except ExistingChildError:
                entry = await child_entry(directory, name)
            else:
                directory = created
                continue
        if entry is None:
            raise NoSuchChildError(f"{name!r} vanished while being made")
        directory = _open_child_directory(maker, entry, name)
    return directory


async def locate_creating(maker: NodeMaker, root: DirectoryNode, names: Sequence[str]) -> Target:
    """The target of ``names`` below ``root``, making missing intermediate directories."""
    if not names:
        return Target(root)
    parent = await make_directories(maker, root, names[:-1])
    return await _target_in(maker, parent, names[-1])
