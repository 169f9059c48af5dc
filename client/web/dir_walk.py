"""Walking a directory tree: manifests, deep sizes and deep statistics.

Rules (as Tahoe-LAFS 1.20 counts them):

- The walk visits the starting directory (path ``[]``) and then every child,
  depth first, children in name order; a directory reached twice (a cycle,
  or two links to one directory) is visited and counted once, a file linked
  twice is counted twice. Children this node cannot open are counted as
  unknown and not otherwise reported.
- A mutable file's size and a mutable directory's body size are asked of
  the grid; immutable sizes come from the cap. A file whose size the grid
  cannot tell (an unrecoverable mutable file) is still visited, with size
  None, so a deep-check reports it instead of stopping; such a file is
  counted but left out of the sizes and the histogram.
- Statistics: counts of immutable (CHK), literal, mutable and all files,
  directories and unknown children; their summed sizes; the largest
  directory (bytes and children) and immutable file; and a histogram of
  file sizes in buckets whose upper bounds are ``isqrt(10**k)`` (1-3,
  4-10, 11-31, 32-100, ...), empty files in ``[0, 0]``.
- ``should_stop`` is asked before each node; when it says so the walk ends
  with :class:`WalkCancelledError`.
"""

import math
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from client.directory import DirectoryNode
from client.filenodes import FileNode, ImmutableFileNode, MutableFileNode
from client.node_maker import Node, NodeMaker
from client.web.common import BadRequestError
from grid.base32 import b2a
from grid.caps import ChildCap, DirectoryCap, LiteralCap, MutableWriteCap
from grid.errors import GridError

STATS_API_VERSION = 1


class WalkCancelledError(BadRequestError):
    """The walk was cancelled before it ended."""


@attrs.frozen
class Visit:
    """One node met on a walk: its path from the start, its cap and the opened node."""

    path: tuple[str, ...]
    cap: ChildCap
    node: Node
    size: int | None
    children: int | None = None


Visitor = Callable[[Visit], Awaitable[None]]


def verify_cap_text(cap: ChildCap) -> str | None:
    """The cap's verify cap as text (None for literal files and directories)."""
    verify = cap.verify_cap()
    return None if verify is None else verify.to_string()


def repair_cap_text(cap: ChildCap) -> str | None:
    """The weakest cap that can repair the node: the verify cap, or the write cap if mutable."""
    if isinstance(cap, MutableWriteCap) or (
        isinstance(cap, DirectoryCap) and isinstance(cap.file_cap, MutableWriteCap)
    ):
        return cap.to_string()
    if cap.is_mutable:
        return None
    return verify_cap_text(cap)


def storage_index_text(cap: ChildCap) -> str | None:
    """The node's storage index in base32, if it has one."""
    index = cap.storage_index
    return None if index is None else b2a(index)


async def _directory_size(maker: NodeMaker, directory: DirectoryNode) -> int:
    """The length of a directory's body."""
    backing = maker.node_for_cap(directory.cap.file_cap)
    if backing is None or isinstance(backing, DirectoryNode):
        return 0
    return await backing.size()


async def _file_size(node: FileNode) -> int | None:
    """A file's size, or None when the grid cannot tell it."""
    try:
        return await node.size()
    except GridError:
        return None


async def walk(
    maker: NodeMaker,
    root: DirectoryNode,
    visitor: Visitor,
    on_unknown: Callable[[], None],
    should_stop: Callable[[], bool],
) -> None:
    """Visit ``root`` and everything below it (see the module rules)."""
    seen: set[bytes | str] = set()

    async def visit_directory(path: tuple[str, ...], directory: DirectoryNode) -> None:
        key = directory.cap.storage_index or directory.cap.to_string()
        if key in seen:
            return
        seen.add(key)
        if should_stop():
            raise WalkCancelledError("the operation was cancelled")
        children = await directory.list_children()
        size = await _directory_size(maker, directory)
        await visitor(Visit(path, directory.cap, directory, size, len(children)))
        for name in sorted(children):
            cap = children[name].cap
            node = None if cap is None else maker.node_for_cap(cap)
            if cap is None or node is None:
                on_unknown()
            elif isinstance(node, DirectoryNode):
                await visit_directory((*path, name), node)
            else:
                if should_stop():
                    raise WalkCancelledError("the operation was cancelled")
                await visitor(Visit((*path, name), cap, node, await _file_size(node)))

    await visit_directory((), root)


def _histogram_bucket(size: int) -> tuple[int, int]:
    """The (smallest, largest) sizes of ``size``'s histogram bucket."""
    if size == 0:
        return (0, 0)
    power = 1
    while size > math.isqrt(10**power):
        power += 1
    low = 1 if power == 1 else math.isqrt(10 ** (power - 1)) + 1
    return (low, math.isqrt(10**power))


class DeepStats:
    """Statistics of a tree, added to node by node."""

    def __init__(self) -> None:
        """Start from an empty tree."""
        self._counts: dict[str, int] = dict.fromkeys(
            [
                "count-immutable-files",
                "count-mutable-files",
                "count-literal-files",
                "count-files",
                "count-directories",
                "count-unknown",
                "size-immutable-files",
                "size-mutable-files",
                "size-literal-files",
                "size-directories",
                "largest-directory",
                "largest-directory-children",
                "largest-immutable-file",
            ],
            0,
        )
        self._histogram: dict[tuple[int, int], int] = {}

    def add_unknown(self) -> None:
        """Count a child this node cannot open."""
        self._counts["count-unknown"] += 1

    def add(self, visit: Visit) -> None:
        """Count one node."""
        counts, size = self._counts, visit.size or 0
        if isinstance(visit.node, DirectoryNode):
            counts["count-directories"] += 1
            counts["size-directories"] += size
            counts["largest-directory"] = max(counts["largest-directory"], size)
            children = visit.children or 0
            counts["largest-directory-children"] = max(
                counts["largest-directory-children"], children
            )
            return
        counts["count-files"] += 1
        if visit.size is not None:
            bucket = _histogram_bucket(size)
            self._histogram[bucket] = self._histogram.get(bucket, 0) + 1
        if isinstance(visit.node, MutableFileNode):
            counts["count-mutable-files"] += 1
            counts["size-mutable-files"] += size
        elif isinstance(visit.node, ImmutableFileNode) and isinstance(visit.cap, LiteralCap):
            counts["count-literal-files"] += 1
            counts["size-literal-files"] += size
        else:
            counts["count-immutable-files"] += 1
            counts["size-immutable-files"] += size
            counts["largest-immutable-file"] = max(counts["largest-immutable-file"], size)

    @property
    def total_size(self) -> int:
        """What ``t=start-deep-size`` reports: files and directories together."""
        counts = self._counts
        return (
            counts["size-immutable-files"]
            + counts["size-mutable-files"]
            + counts["size-literal-files"]
            + counts["size-directories"]
        )

    def as_json(self) -> dict[str, Any]:
        """The statistics in Tahoe's JSON shape."""
        result: dict[str, Any] = {"api-version": STATS_API_VERSION, **self._counts}
        result["size-files-histogram"] = [
            [low, high, count] for (low, high), count in sorted(self._histogram.items())
        ]
        return result
