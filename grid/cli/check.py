"""``grid check`` and ``grid deep-check``: is a file or a tree healthy, and repair it if asked.

Rules (what Tahoe-LAFS 1.20's ``tahoe check`` and ``tahoe deep-check`` print):

- Both take any number of ``ALIAS:PATH`` or caps (none means ``tahoe:``)
  and ``--verify``, ``--repair``, ``--add-lease``, ``--raw``; they ask the
  gateway (``t=check&output=JSON``, ``t=stream-deep-check``) and stop at
  the first location that fails.
- ``check`` prints ``Summary: ...``, `` storage index: ...``, the good and
  wrong share counts when the answer has them, and the corrupt shares; with
  ``--repair`` the summary is ``healthy`` or ``not healthy`` before repair
  and a last line says whether the repair worked. ``--raw`` prints the
  gateway's JSON.
- ``deep-check`` prints, per object, ``'path': summary`` with ``-v``
  (``'<root>'`` for the start), ` corrupt: server ..., SI ..., shnum N``
  for every corrupt share and, with ``--repair``, `` repair successful``
  or `` repair failed``; then a ``done:`` line with the counts (and the
  pre-repair, repair and post-repair counts with ``--repair``). Literal
  files count as healthy objects here. ``--raw`` prints the gateway's
  JSON lines as they come.
- Unhealthy objects are reported, not failed: the exit status is non-zero
  only for errors (a bad path, an HTTP error, an ``ERROR:`` line from the
  gateway), each reported as one line by :mod:`grid.cli.main`.
- Progress: while stderr is a terminal (and ``-q`` was not given) a live
  ``deep-check: N objects checked`` line is kept on stderr, erased before
  each line of output and at the end; otherwise, as Tahoe-LAFS does, a
  ``N objects checked..`` line goes to stdout every 100 objects.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from grid.cli.alias_path import GridPath, parse_grid_path
from grid.cli.aliases import command_aliases
from grid.cli.web_client import GatewayError, WebClient
from grid.errors import GridError

_ERROR_PREFIX = "ERROR:"
_MARKER_EVERY = 100
_REDRAW_INTERVAL = 0.2
_ERASE_LINE = "\r\x1b[K"


class DeepCheckError(GridError):
    """The gateway stopped a deep-check part way with an ``ERROR:`` line."""


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid check`` and ``grid deep-check``."""
    check = commands.add_parser("check", help="check the health of a file or directory")
    deep = commands.add_parser("deep-check", help="check everything under a directory")
    for command in (check, deep):
        command.add_argument("where", nargs="*", metavar="ALIAS:PATH", help="default: tahoe:")
        command.add_argument("--verify", action="store_true", help="read and verify every share")
        command.add_argument("--repair", action="store_true", help="repair what is not healthy")
        command.add_argument("--add-lease", action="store_true", help="renew this node's leases")
        command.add_argument("--raw", action="store_true", help="print the gateway's JSON")
    deep.add_argument("-v", "--verbose", action="store_true", help="one line per object")
    check.set_defaults(handler=run_check)
    deep.set_defaults(handler=run_deep_check)


def _query(arguments: argparse.Namespace, what: str) -> dict[str, str]:
    query = {"t": what}
    if what == "check":
        query["output"] = "JSON"
    for option, name in (("verify", "verify"), ("repair", "repair"), ("add_lease", "add-lease")):
        if getattr(arguments, option):
            query[name] = "true"
    return query


def _locations(arguments: argparse.Namespace) -> Iterator[GridPath]:
    aliases = command_aliases(arguments)
    for text in arguments.where or [""]:
        yield parse_grid_path(text, aliases)


def _quote_path(path: list[str]) -> str:
    """A path as Tahoe-LAFS quotes it: ``'a/b'``, or escaped in double quotes if it must be."""
    text = "/".join(path)
    if text.isprintable() and not any(mark in text for mark in "'\"\\"):
        return f"'{text}'"
    return json.dumps(text)


def _share_line(share: list[Any]) -> str:
    server, storage_index, shnum = share
    return f"server {server}, SI {storage_index}, shnum {shnum!r}"


def format_check(data: dict[str, Any], *, repair: bool) -> list[str]:
    """``grid check``'s lines for one ``t=check&output=JSON`` answer."""
    if repair:
        before = data.get("pre-repair-results", {"results": {"healthy": True}})
        results = before.get("results", {})
        lines = [f"Summary: {'healthy' if results.get('healthy') else 'not healthy'}"]
    else:
        results = data.get("results", {})
        lines = [f"Summary: {data.get('summary', 'Healthy (LIT)')}"]
    lines.append(f" storage index: {data.get('storage-index', '')}")
    counts = ("count-shares-good", "count-shares-needed", "count-shares-expected")
    if all(key in results for key in (*counts, "count-wrong-shares")):
        good, needed, expected = (results[key] for key in counts)
        lines.append(f" good-shares: {good!r} (encoding is {needed!r}-of-{expected!r})")
        lines.append(f" wrong-shares: {results['count-wrong-shares']!r}")
    corrupt = results.get("list-corrupt-shares", [])
    if corrupt:
        lines.append(" corrupt shares:")
        lines.extend(f"  {_share_line(share)}" for share in corrupt)
    if repair and data.get("repair-attempted"):
        lines.append(" repair successful" if data.get("repair-successful") else " repair failed")
    return lines


def run_check(arguments: argparse.Namespace) -> int:
    """Check each location and print what was found."""
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    for where in _locations(arguments):
        text = client.read_text(client.url(where, _query(arguments, "check")), method="POST")
        if arguments.raw:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            continue
        try:
            data = json.loads(text)
        except ValueError:
            raise GatewayError(200, "OK", "the gateway's check answer is not JSON") from None
        for line in format_check(data, repair=arguments.repair):
            print(line)
    return 0


class DeepCheckReport:
    """Counts a streamed deep-check's objects and words each one as Tahoe-LAFS does."""

    def __init__(self, *, repair: bool, verbose: bool) -> None:
        """Report a deep-check (``repair``: a deep check-and-repair)."""
        self.repair = repair
        self.verbose = verbose
        self.objects = 0
        self.healthy = [0, 0]
        self.unhealthy = [0, 0]
        self.repairs_attempted = 0
        self.repairs_successful = 0

    def add(self, unit: dict[str, Any]) -> list[str]:
        """Count one unit of the stream; the lines to print for it (stats units count nothing)."""
        if unit.get("type") not in ("file", "directory"):
            return []
        self.objects += 1
        if self.repair:
            return self._add_repaired(unit)
        check = unit.get("check-results", {})
        healthy = bool(check.get("results", {}).get("healthy"))
        self._count(0, healthy)
        lines = []
        if self.verbose:
            lines.append(f"{self._path(unit)}: {check.get('summary', 'Healthy (LIT)')}")
        corrupt = check.get("results", {}).get("list-corrupt-shares", [])
        lines.extend(f" corrupt: {_share_line(share)}" for share in corrupt)
        return lines

    def _add_repaired(self, unit: dict[str, Any]) -> list[str]:
        answer = unit.get("check-and-repair-results", {})
        before = answer.get("pre-repair-results", {}).get("results", {})
        after = answer.get("post-repair-results", {}).get("results", {})
        literal = not unit.get("storage-index")
        was_healthy = literal or bool(before.get("healthy"))
        self._count(0, was_healthy)
        self._count(1, literal or bool(after.get("healthy")))
        lines = []
        if self.verbose:
            lines.append(f"{self._path(unit)}: {'healthy' if was_healthy else 'not healthy'}")
        lines.extend(
            f" corrupt: {_share_line(share)}" for share in before.get("list-corrupt-shares", [])
        )
        if answer.get("repair-attempted"):
            self.repairs_attempted += 1
            if answer.get("repair-successful"):
                self.repairs_successful += 1
                lines.append(" repair successful")
            else:
                lines.append(" repair failed")
        return lines

    def _count(self, when: int, healthy: bool) -> None:
        if healthy:
            self.healthy[when] += 1
        else:
            self.unhealthy[when] += 1

    @staticmethod
    def _path(unit: dict[str, Any]) -> str:
        return _quote_path(list(unit.get("path") or ["<root>"]))

    def done(self) -> list[str]:
        """The closing lines: how many objects, how many healthy, what repair did."""
        objects, (healthy, healthy_after), (unhealthy, unhealthy_after) = (
            self.objects,
            self.healthy,
            self.unhealthy,
        )
        if not self.repair:
            return [f"done: {objects} objects checked, {healthy} healthy, {unhealthy} unhealthy"]
        attempted, successful = self.repairs_attempted, self.repairs_successful
        failed = attempted - successful
        return [
            f"done: {objects} objects checked",
            f" pre-repair: {healthy} healthy, {unhealthy} unhealthy",
            f" {attempted} repairs attempted, {successful} successful, {failed} failed",
            f" post-repair: {healthy_after} healthy, {unhealthy_after} unhealthy",
        ]


class DeepCheckOutput:
    """Lines to stdout, with a live object count on a terminal's stderr kept out of their way."""

    def __init__(
        self, *, live: bool, stderr: IO[str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Keep a live count on ``stderr`` if ``live``, redrawn as ``clock`` allows."""
        self._live = live
        self._stderr = stderr
        self._clock = clock
        self._drawn_at = clock()
        self._drawn = False

    def print(self, lines: list[str]) -> None:
        """Print ``lines`` on stdout, erasing the live count first."""
        if lines:
            self._erase()
            for line in lines:
                print(line, flush=self._live)

    def objects_checked(self, count: int) -> None:
        """Show progress after ``count`` objects."""
        if not self._live:
            if count and count % _MARKER_EVERY == 0:
                self.print([f"{count} objects checked.."])
            return
        now = self._clock()
        if now - self._drawn_at >= _REDRAW_INTERVAL:
            self._drawn_at = now
            self._drawn = True
            self._stderr.write(f"\rdeep-check: {count} objects checked")
            self._stderr.flush()

    def _erase(self) -> None:
        if self._drawn:
            self._stderr.write(_ERASE_LINE)
            self._stderr.flush()
            self._drawn = False

    def close(self) -> None:
        """Erase the live count."""
        self._erase()


def _stream_lines(client: WebClient, url: str) -> Iterator[str]:
    """The stream's lines; an ``ERROR:`` line raises DeepCheckError."""
    with client.request(url, method="POST") as response:
        for raw in response:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith(_ERROR_PREFIX):
                raise DeepCheckError(line.removeprefix(_ERROR_PREFIX).strip())
            if line:
                yield line


def run_deep_check(arguments: argparse.Namespace) -> int:
    """Deep-check each location, printing as the gateway's answer streams in."""
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    for where in _locations(arguments):
        url = client.url(where, _query(arguments, "stream-deep-check"))
        if arguments.raw:
            for line in _stream_lines(client, url):
                print(line)
            continue
        report = DeepCheckReport(repair=arguments.repair, verbose=arguments.verbose)
        output = DeepCheckOutput(
            live=not arguments.quiet and sys.stderr.isatty(), stderr=sys.stderr
        )
        try:
            for line in _stream_lines(client, url):
                try:
                    unit = json.loads(line)
                except ValueError:
                    raise GatewayError(200, "OK", "a deep-check line is not JSON") from None
                before = report.objects
                output.print(report.add(unit))
                if report.objects != before:
                    output.objects_checked(report.objects)
        finally:
            output.close()
        output.print(report.done())
    return 0
