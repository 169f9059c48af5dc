"""Deep operations on a directory tree: manifest, deep size, deep stats and deep-check.

Rules (Tahoe-LAFS 1.20's web API):

- ``t=start-manifest`` / ``start-deep-size`` / ``start-deep-stats`` /
  ``start-deep-check`` need ``ophandle=``; they start the walk in the
  gateway's :class:`~client.web.operations.OperationTable` and redirect
  (302) to ``/operations/H`` (keeping ``output=``).
- A manifest's status: ``origin`` (the start's storage index),
  ``manifest`` (``[path, cap]`` pairs, the path ``/``-joined, the start
  being ``""``), ``verifycaps`` and ``storage-index`` (sorted, no
  duplicates), ``stats``. Deep size: ``size``. Deep stats: the statistics
  of :mod:`client.web.dir_walk`.
- A deep-check checks every node the walk reaches, as ``t=check`` would
  (``verify``, ``repair``, ``add-lease``), and reports
  ``root-storage-index`` (``<none>`` for a literal directory),
  ``count-objects-checked`` / ``-healthy`` / ``-unhealthy``,
  ``count-corrupt-shares``, ``list-corrupt-shares`` (``[server id, storage
  index, share number]``), ``list-unhealthy-files`` (``[path list, check
  JSON]``) and ``stats``. Literal files and directories hold their data in
  their caps: they are walked and counted in the stats but not checked.
  With ``repair=true`` the counts are split ``-pre-repair`` /
  ``-post-repair``, with ``count-repairs-attempted`` / ``-successful`` /
  ``-unsuccessful``, ``count-corrupt-shares-pre-repair`` / ``-post-repair``
  and ``list-remaining-corrupt-shares`` (the corrupt shares the post-repair
  check still found); ``list-unhealthy-files`` then lists the files that
  were unhealthy before repair, with their pre-repair check JSON (as
  Tahoe-LAFS does). Unlike Tahoe-LAFS 1.20, which repeats the pre-repair
  number, ``count-corrupt-shares-post-repair`` counts what is left after
  repair.
- ``t=stream-manifest`` and ``t=stream-deep-check`` answer
  newline-delimited JSON, one unit per node as it is reached (``type``
  file or directory, ``path`` as a list, ``cap``, ``verifycap``,
  ``repaircap``, ``storage-index``; a deep-check unit also carries
  ``check-results``, or ``check-and-repair-results`` with ``repair=true``,
  and gives ``""`` where a node has no verify cap, repair cap or storage
  index, as Tahoe-LAFS does), then a ``{"type": "stats", "stats": {...}}``
  unit; an error after the answer has begun is one last line starting
  ``ERROR:``.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import attrs
from twisted.web.server import Request

from client.checking import CheckService, UncheckableCapError
from client.directory import DirectoryNode
from client.node_maker import NodeMaker
from client.web.common import BadRequestError, argument, boolean_argument
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
from grid.caps import UnknownCap
from grid.errors import GridError

START_OPERATIONS = ("start-manifest", "start-deep-size", "start-deep-stats", "start-deep-check")
NO_ROOT_STORAGE_INDEX = "<none>"


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


@attrs.frozen
class CheckOptions:
    """What each check of a deep-check does: ``verify``, ``repair``, ``add-lease``."""

    verify: bool = False
    repair: bool = False
    add_lease: bool = False

    @classmethod
    def from_request(cls, request: Request) -> "CheckOptions":
        """The options a request's arguments ask for."""
        return cls(
            verify=boolean_argument(request, "verify"),
            repair=boolean_argument(request, "repair"),
            add_lease=boolean_argument(request, "add-lease"),
        )

    async def check(self, checker: CheckService, visit: Visit) -> dict[str, Any]:
        """Check (or check and repair) one node; its Tahoe JSON."""
        cap = visit.cap
        if isinstance(cap, UnknownCap):
            raise UncheckableCapError(
                f"{'/'.join(visit.path)!r} is of a kind that cannot be checked"
            )
        answer = await checker.check(
            cap, verify=self.verify, repair=self.repair, add_lease=self.add_lease
        )
        return answer.json


def _healthy(check_json: dict[str, Any]) -> bool:
    return bool(check_json.get("results", {}).get("healthy"))


def _corrupt_shares(check_json: dict[str, Any]) -> list[Any]:
    return list(check_json.get("results", {}).get("list-corrupt-shares", []))


class DeepCheckTally:
    """Tahoe's deep-check counters, added to node by node (see the module rules)."""

    def __init__(self, root_storage_index: str | None, *, repair: bool, stats: DeepStats) -> None:
        """Count for a walk from the directory with ``root_storage_index``; report ``stats``."""
        self.root_storage_index = root_storage_index or NO_ROOT_STORAGE_INDEX
        self.repair = repair
        self.stats = stats
        self._checked = 0
        self._healthy = [0, 0]
        self._repairs = [0, 0]
        self._corrupt: list[Any] = []
        self._remaining_corrupt: list[Any] = []
        self._unhealthy: list[list[Any]] = []

    def add(self, path: tuple[str, ...], answer: dict[str, Any]) -> None:
        """Count one node's check (or check-and-repair) JSON; a literal one is not counted."""
        if not answer.get("storage-index"):
            return
        self._checked += 1
        before = answer["pre-repair-results"] if self.repair else answer
        after = answer["post-repair-results"] if self.repair else answer
        if _healthy(before):
            self._healthy[0] += 1
        else:
            self._unhealthy.append([list(path), before])
        if _healthy(after):
            self._healthy[1] += 1
        self._corrupt.extend(_corrupt_shares(before))
        self._remaining_corrupt.extend(_corrupt_shares(after))
        if answer.get("repair-attempted"):
            self._repairs[0] += 1
            self._repairs[1] += bool(answer.get("repair-successful"))

    def status(self) -> dict[str, Any]:
        """The results so far, in Tahoe's shape."""
        checked = self._checked
        healthy_before, healthy_after = self._healthy
        if not self.repair:
            return {
                "root-storage-index": self.root_storage_index,
                "count-objects-checked": checked,
                "count-objects-healthy": healthy_before,
                "count-objects-unhealthy": checked - healthy_before,
                "count-corrupt-shares": len(self._corrupt),
                "list-corrupt-shares": list(self._corrupt),
                "list-unhealthy-files": list(self._unhealthy),
                "stats": self.stats.as_json(),
            }
        attempted, successful = self._repairs
        return {
            "root-storage-index": self.root_storage_index,
            "count-objects-checked": checked,
            "count-objects-healthy-pre-repair": healthy_before,
            "count-objects-unhealthy-pre-repair": checked - healthy_before,
            "count-objects-healthy-post-repair": healthy_after,
            "count-objects-unhealthy-post-repair": checked - healthy_after,
            "count-repairs-attempted": attempted,
            "count-repairs-successful": successful,
            "count-repairs-unsuccessful": attempted - successful,
            "count-corrupt-shares-pre-repair": len(self._corrupt),
            "count-corrupt-shares-post-repair": len(self._remaining_corrupt),
            "list-corrupt-shares": list(self._corrupt),
            "list-remaining-corrupt-shares": list(self._remaining_corrupt),
            "list-unhealthy-files": list(self._unhealthy),
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
    elif what == "start-deep-check":
        options = CheckOptions.from_request(request)
        tally = DeepCheckTally(
            storage_index_text(directory.cap), repair=options.repair, stats=stats
        )
        operation = Operation(tally.status)

        async def check(visit: Visit) -> None:
            stats.add(visit)
            tally.add(visit.path, await options.check(maker.checker, visit))

        visitor = check
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


UnitMaker = Callable[[Visit], Awaitable[dict[str, Any]]]


async def _stream(
    request: Request, maker: NodeMaker, directory: DirectoryNode, describe: UnitMaker
) -> None:
    """Answer one JSON line per node (``describe`` makes it), then the statistics."""
    stats = DeepStats()
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")

    def gone() -> bool:
        return bool(request._disconnected)

    async def emit(visit: Visit) -> None:
        stats.add(visit)
        unit = await describe(visit)
        if not gone():
            request.write((json.dumps(unit) + "\n").encode("utf-8"))

    try:
        await walk(maker, directory, emit, stats.add_unknown, gone)
    except GridError as error:
        if not gone():
            request.write(f"ERROR: {' '.join(str(error).split())}\n".encode())
            request.finish()
        return
    if not gone():
        request.write((json.dumps({"type": "stats", "stats": stats.as_json()}) + "\n").encode())
        request.finish()


async def stream_manifest(request: Request, maker: NodeMaker, directory: DirectoryNode) -> None:
    """Answer ``t=stream-manifest``: one JSON line per node, then the statistics."""

    async def describe(visit: Visit) -> dict[str, Any]:
        return _unit(visit)

    await _stream(request, maker, directory, describe)


async def stream_deep_check(request: Request, maker: NodeMaker, directory: DirectoryNode) -> None:
    """Answer ``t=stream-deep-check``: each node's check as one JSON line, then the statistics."""
    options = CheckOptions.from_request(request)
    key = "check-and-repair-results" if options.repair else "check-results"

    async def describe(visit: Visit) -> dict[str, Any]:
        unit = _unit(visit)
        for name in ("verifycap", "repaircap", "storage-index"):
            unit[name] = unit[name] or ""
        unit[key] = await options.check(maker.checker, visit)
        return unit

    await _stream(request, maker, directory, describe)


STREAMS: dict[str, Callable[[Request, NodeMaker, DirectoryNode], Awaitable[None]]] = {
    "stream-manifest": stream_manifest,
    "stream-deep-check": stream_deep_check,
}
"""The streamed deep operations, by ``t=``."""
