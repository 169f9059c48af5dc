"""Deep operations on a directory tree: manifest, deep size and deep stats, polled or streamed.

Rules (Tahoe-LAFS 1.20's web API):

- ``t=start-manifest`` / ``start-deep-size`` / ``start-deep-stats`` need
  ``ophandle=``; they start the walk in the gateway's
  :class:`~client.web.operations.OperationTable` and redirect (302) to
  ``/operations/H`` (keeping ``output=``).
- A manifest's status: ``origin`` (the start's storage index),
  ``manifest`` (``[path, cap]`` pairs, the path ``/``-joined, the start
  being ``""``), ``verifycaps`` and ``storage-index`` (sorted, no
  duplicates), ``stats``. Deep size: ``size``. Deep stats: the statistics
  of :mod:`client.web.dir_walk`.
- ``t=stream-manifest`` answers newline-delimited JSON, one unit per node
  as it is reached (``type`` file or directory, ``path`` as a list,
  ``cap``, ``verifycap``, ``repaircap``, ``storage-index``), then a
  ``{"type": "stats", "stats": {...}}`` unit; an error after the answer has
  begun is one last line starting ``ERROR:``.
"""

import json
from typing import Any
from urllib.parse import quote

from twisted.web.server import Request

from client.directory import DirectoryNode
from client.node_maker import NodeMaker
from client.web.common import BadRequestError, argument
from client.web.dir_walk import (
    DeepStats,
    Visit,
    Visitor,
    repair_cap_text,
    storage_index_text,
    verify_cap_text,
    walk,
)
from client.web.operations import Operation, OperationTable
from grid.errors import GridError

START_OPERATIONS = ("start-manifest", "start-deep-size", "start-deep-stats")


class _Manifest:
    """What a manifest walk collects."""

    def __init__(self, origin: str | None) -> None:
        self.origin = origin
        self.stats = DeepStats()
        self.entries: list[list[str]] = []
        self.verifycaps: set[str] = set()
        self.storage_indexes: set[str] = set()

    async def add(self, visit: Visit) -> None:
        """Collect one node."""
        self.stats.add(visit)
        self.entries.append(["/".join(visit.path), visit.cap.to_string()])
        verify = verify_cap_text(visit.cap)
        if verify is not None:
            self.verifycaps.add(verify)
        index = storage_index_text(visit.cap)
        if index is not None:
            self.storage_indexes.add(index)

    def status(self) -> dict[str, Any]:
        """The manifest so far."""
        return {
            "origin": self.origin,
            "manifest": list(self.entries),
            "verifycaps": sorted(self.verifycaps),
            "storage-index": sorted(self.storage_indexes),
            "stats": self.stats.as_json(),
        }


def start_deep_operation(
    request: Request, maker: NodeMaker, directory: DirectoryNode, table: OperationTable
) -> None:
    """Start the walk ``t=`` names under ``ophandle=``; redirect to its status page."""
    what = argument(request, "t", "")
    handle = argument(request, "ophandle")
    if not handle:
        raise BadRequestError(f"t={what} needs ophandle=")
    manifest = _Manifest(storage_index_text(directory.cap))
    stats = manifest.stats

    async def count(visit: Visit) -> None:
        stats.add(visit)

    visitor: Visitor = count
    if what == "start-manifest":
        operation = Operation(manifest.status)
        visitor = manifest.add
    elif what == "start-deep-size":
        operation = Operation(lambda: {"size": stats.total_size})
    else:
        operation = Operation(stats.as_json)
    work = walk(maker, directory, visitor, stats.add_unknown, lambda: operation.cancelled)
    table.start(request, handle, operation, work)
    target = "/operations/" + quote(handle, safe="")
    output = argument(request, "output")
    if output:
        target += "?output=" + quote(output, safe="")
    request.redirect(target.encode("ascii"))
    request.finish()


def _unit(visit: Visit) -> dict[str, Any]:
    """One node's line of a streamed manifest."""
    return {
        "type": "directory" if isinstance(visit.node, DirectoryNode) else "file",
        "path": list(visit.path),
        "cap": visit.cap.to_string(),
        "verifycap": verify_cap_text(visit.cap),
        "repaircap": repair_cap_text(visit.cap),
        "storage-index": storage_index_text(visit.cap),
    }


async def stream_manifest(request: Request, maker: NodeMaker, directory: DirectoryNode) -> None:
    """Answer ``t=stream-manifest``: one JSON line per node, then the statistics."""
    stats = DeepStats()
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")

    async def emit(visit: Visit) -> None:
        stats.add(visit)
        request.write((json.dumps(_unit(visit)) + "\n").encode("utf-8"))

    def gone() -> bool:
        return bool(request._disconnected)

    try:
        await walk(maker, directory, emit, stats.add_unknown, gone)
    except GridError as error:
        if not request._disconnected:
            request.write(f"ERROR: {' '.join(str(error).split())}\n".encode())
            request.finish()
        return
    if not request._disconnected:
        request.write((json.dumps({"type": "stats", "stats": stats.as_json()}) + "\n").encode())
        request.finish()
