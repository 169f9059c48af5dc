"""``grid cp``: copy files and directory trees between the local disk and the grid.

Rules (Tahoe 1.20's): an argument naming an alias (``name:path``) or a cap
is in the grid; anything else is a local path. Sources must exist. The
target is a directory when it exists as one, ends with ``/``, or receives
several sources or any directory; otherwise it is a file (and then the one
source must be a file). Directories need ``-r``. A named directory source
is copied *into* a directory target under its own name (``cp -r docs
tahoe:x`` makes ``tahoe:x/docs``); an unnamed one (a bare cap, a bare alias)
has its contents copied into the target. A file without a name (a bare file
cap) can only go to a file target. Grid-to-grid copies link the existing
file caps (nothing is uploaded again) into new directories. Directories
already at the target are merged into, files there are replaced. Each grid
directory gets its new children in one ``t=set_children`` request.
``--caps-only`` changes only copies to local files: each gets its source's
read cap (no newline) instead of the data, for debugging and comparing
trees. ``-v`` names every file on stderr as it is copied.
"""

import argparse
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from grid.cli.alias_path import GridPath, LocalPath, parse_cp_path
from grid.cli.aliases import command_aliases
from grid.cli.count_progress import CountProgress, count_progress
from grid.cli.web_client import WebClient, best_cap
from grid.errors import GridError

_CHUNK = 1024 * 1024


class CopyError(GridError, ValueError):
    """The sources and target of a copy do not fit together."""


@attrs.frozen
class LocalFile:
    """A local file to copy."""

    path: Path
    name: str


@attrs.frozen
class LocalDirectory:
    """A local directory to copy."""

    path: Path
    name: str


@attrs.frozen
class GridFile:
    """A file in the grid: its best cap (write cap if any) and name (None for a bare cap)."""

    cap: str
    name: str | None
    details: dict[str, Any]


@attrs.frozen
class GridDirectory:
    """A directory in the grid: its best cap and name (None for a bare cap or alias root)."""

    cap: str
    name: str | None


Source = LocalFile | LocalDirectory | GridFile | GridDirectory


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid cp``."""
    cp = commands.add_parser("cp", help="copy files and directories, local and in the grid")
    cp.add_argument("-r", "--recursive", action="store_true", help="copy directories too")
    cp.add_argument(
        "--caps-only",
        action="store_true",
        help="write each file's read cap instead of its data into local files (for debugging)",
    )
    cp.add_argument("-v", "--verbose", action="store_true", help="name every file copied")
    cp.add_argument("sources", nargs="+", metavar="FROM")
    cp.add_argument("target", metavar="TO")
    cp.set_defaults(handler=run_cp)


def run_cp(arguments: argparse.Namespace) -> int:
    """Copy every source to the target."""
    aliases = command_aliases(arguments)
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    sources = [_source(client, parse_cp_path(text, aliases), text) for text in arguments.sources]
    if not arguments.recursive and any(
        isinstance(source, LocalDirectory | GridDirectory) for source in sources
    ):
        raise CopyError("cannot copy directories without -r (--recursive)")
    copier = Copier(
        client,
        count_progress("copied", quiet=arguments.quiet),
        caps_only=arguments.caps_only,
        verbose=arguments.verbose,
    )
    copier.copy(sources, parse_cp_path(arguments.target, aliases), arguments.target)
    copier.progress.finish()
    return 0


def _source(client: WebClient, where: GridPath | LocalPath, text: str) -> Source:
    if isinstance(where, LocalPath):
        path = Path(where.path).expanduser()
        name = Path(os.path.abspath(path)).name  # noqa: PTH100  keeps ".." unresolved, like cp
        if path.is_dir():
            return LocalDirectory(path, name)
        if path.is_file():
            return LocalFile(path, name)
        raise CopyError(f"{text}: no such local file or directory")
    info = client.info_or_none(where)
    if info is None:
        raise CopyError(f"{text}: nothing is there in the grid")
    kind, details = info
    cap = best_cap(details)
    if kind == "dirnode":
        return GridDirectory(cap, where.name or None)
    if kind == "filenode":
        return GridFile(cap, where.name or None, details)
    raise CopyError(f"{text}: cannot copy an object of unknown kind")


class Copier:
    """Carries out one ``cp`` with one gateway client, counting files copied."""

    def __init__(
        self, client: WebClient, progress: CountProgress, *, caps_only: bool, verbose: bool
    ) -> None:
        """Copy through ``client``; ``caps_only`` writes read caps, not data, to local files."""
        self.client = client
        self.progress = progress
        self.caps_only = caps_only
        self.verbose = verbose

    def copy(self, sources: Sequence[Source], target: GridPath | LocalPath, text: str) -> None:
        """Copy ``sources`` to ``target`` (as given on the command line in ``text``)."""
        if isinstance(target, LocalPath):
            self._copy_to_local(sources, Path(target.path).expanduser(), text)
        else:
            self._copy_to_grid(sources, target, text)

    def _copy_to_local(self, sources: Sequence[Source], target: Path, text: str) -> None:
        if any(isinstance(source, LocalFile | LocalDirectory) for source in sources):
            raise CopyError("copying from local to local: use your system's cp")
        if target.is_dir() or _wants_directory(sources, text):
            target.mkdir(parents=True, exist_ok=True)
            self._into_local_directory(sources, target)
        else:
            source = _only_file(sources, text)
            if not isinstance(source, GridFile):
                raise CopyError("copying from local to local: use your system's cp")
            self._download(source, target)

    def _into_local_directory(self, sources: Sequence[Source], target: Path) -> None:
        for source in sources:
            if isinstance(source, GridFile):
                self._download(source, target / _named(source))
            elif isinstance(source, GridDirectory):
                inner = target / source.name if source.name else target
                inner.mkdir(exist_ok=True)
                self._into_local_directory(list(self._grid_children(source.cap)), inner)

    def _download(self, source: GridFile, target: Path) -> None:
        if self.caps_only:
            self._say(f"writing the cap of {source.name or 'a file'} to {target}")
            target.write_bytes(str(source.details.get("ro_uri", source.cap)).encode())
        else:
            self._say(f"downloading {source.name or 'a file'} to {target}")
            with (
                self.client.request(self.client.url(GridPath(source.cap, ""))) as response,
                target.open("wb") as output,
            ):
                shutil.copyfileobj(response, output, _CHUNK)
        self.progress.advance()

    def _grid_children(self, cap: str) -> Iterator[Source]:
        kind, details = self.client.info(GridPath(cap, ""))
        if kind != "dirnode":
            raise CopyError("the gateway described a directory as a file")
        for name, (child_kind, child) in sorted(details.get("children", {}).items()):
            child_cap = best_cap(child)
            if child_kind == "dirnode":
                yield GridDirectory(child_cap, name)
            elif child_kind == "filenode":
                yield GridFile(child_cap, name, child)
            else:
                raise CopyError(f"{name}: cannot copy an object of unknown kind")

    def _copy_to_grid(self, sources: Sequence[Source], target: GridPath, text: str) -> None:
        info = self.client.info_or_none(target)
        if info is None and (_wants_directory(sources, text) or not target.segments):
            self.client.create_directory(target)
            info = ("dirnode", {})
        if info is not None and info[0] == "dirnode":
            self._into_grid_directory(sources, target)
            return
        source = _only_file(sources, text)
        if isinstance(source, LocalFile):
            self._upload(source.path, target)
        else:
            self._say(f"linking {source.name or 'a file'} to {text}")
            self.client.link(target, source.cap)
            self.progress.advance()

    def _into_grid_directory(self, sources: Sequence[Source], target: GridPath) -> None:
        existing = self.client.info(target)[1].get("children", {})
        children: dict[str, Any] = {}
        for source in sources:
            if isinstance(source, LocalFile | GridFile):
                children[_named(source)] = ["filenode", self._file_entry(source)]
            elif source.name is None:
                self._into_grid_directory(self._children(source), target)
            elif existing.get(source.name, [None])[0] == "dirnode":
                self._into_grid_directory(self._children(source), target.child(source.name))
            else:
                children[source.name] = ["dirnode", {"rw_uri": self._new_tree(source)}]
        if children:
            url = self.client.url(target, {"t": "set_children"})
            self.client.read_text(url, method="POST", body=json.dumps(children).encode())

    def _children(self, source: LocalDirectory | GridDirectory) -> list[Source]:
        if isinstance(source, GridDirectory):
            return list(self._grid_children(source.cap))
        return list(_local_children(source.path))

    def _new_tree(self, source: LocalDirectory | GridDirectory) -> str:
        cap = self.client.create_directory()
        self._into_grid_directory(self._children(source), GridPath(cap, ""))
        return cap

    def _file_entry(self, source: LocalFile | GridFile) -> dict[str, str]:
        if isinstance(source, LocalFile):
            return {"ro_uri": self._upload(source.path, None)}
        self._say(f"linking {source.name}")
        self.progress.advance()
        entry = {"ro_uri": str(source.details.get("ro_uri", source.cap))}
        if source.details.get("rw_uri"):
            entry["rw_uri"] = source.cap
        return entry

    def _upload(self, path: Path, target: GridPath | None) -> str:
        self._say(f"uploading {path}")
        with path.open("rb") as body:
            cap = self.client.upload(target, body, path.stat().st_size)
        self.progress.advance()
        return cap

    def _say(self, line: str) -> None:
        if self.verbose:
            print(line, file=sys.stderr, flush=True)


def _wants_directory(sources: Sequence[Source], text: str) -> bool:
    return (
        text.endswith("/")
        or len(sources) > 1
        or any(isinstance(source, LocalDirectory | GridDirectory) for source in sources)
    )


def _only_file(sources: Sequence[Source], text: str) -> LocalFile | GridFile:
    """The one file source a file target can take."""
    if len(sources) != 1:
        raise CopyError(f"{text}: cannot copy several sources into one file")
    (source,) = sources
    if not isinstance(source, LocalFile | GridFile):
        raise CopyError(f"{text}: cannot copy a directory into a file")
    return source


def _named(source: LocalFile | GridFile) -> str:
    if source.name is None:
        raise CopyError("cannot copy a file given by a bare cap into a directory: name it")
    return source.name


def _local_children(directory: Path) -> Iterator[Source]:
    for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
        path = Path(entry.path)
        if entry.is_dir():
            yield LocalDirectory(path, entry.name)
        elif entry.is_file():
            yield LocalFile(path, entry.name)
