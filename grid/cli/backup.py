"""``grid backup FROM ALIAS:TO``: an incremental snapshot of a local directory.

Rules: each run makes a deep-immutable copy of FROM and links it as
``TO/Archives/<UTC time, YYYY-MM-DD_HH:MM:SSZ>`` and as ``TO/Latest``
(creating TO and Archives if missing). A file whose size, mtime and ctime
match the backup database is not read again: its recorded cap is reused.
A directory whose children (names, caps, metadata) hash to a recorded
value reuses its recorded directory cap, so a second run over unchanged
files uploads nothing and creates no directory. Files keep their ``mtime``
and ``ctime`` as link metadata. Names matching an ``--exclude`` glob (or
``--exclude-vcs``'s list) are skipped, as are symlinks and special files.
``-v`` names every file as it is handled; the summary line is always printed.
"""

import argparse
import fnmatch
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from grid.cli.alias_path import GridPath, parse_grid_path
from grid.cli.aliases import read_aliases
from grid.cli.backupdb import BACKUPDB_FILE, BackupDB, FileState, open_backupdb
from grid.cli.count_progress import CountProgress, count_progress
from grid.cli.web_client import WebClient
from grid.errors import GridError

VCS_PATTERNS = (".git", ".hg", ".svn", ".bzr", "CVS", "_darcs", ".gitignore", ".hgignore")


class BackupError(GridError, ValueError):
    """A backup cannot start: its source or target is not what it must be."""


@attrs.define
class Counts:
    """What a backup did, for its summary line."""

    files_uploaded: int = 0
    files_reused: int = 0
    files_skipped: int = 0
    directories_created: int = 0
    directories_reused: int = 0

    def summary(self) -> str:
        """One line saying what was done."""
        return (
            f"{self.files_uploaded} files uploaded ({self.files_reused} reused), "
            f"{self.files_skipped} files skipped, "
            f"{self.directories_created} directories created "
            f"({self.directories_reused} reused)"
        )


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid backup``."""
    backup = commands.add_parser("backup", help="back up a local directory incrementally")
    backup.add_argument("source", metavar="FROM", help="the local directory")
    backup.add_argument("target", metavar="ALIAS:TO", help="where Archives/ and Latest go")
    backup.add_argument("-v", "--verbose", action="store_true", help="name every file")
    backup.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="skip matching names"
    )
    backup.add_argument(
        "--exclude-from", type=Path, metavar="FILE", help="skip names matching FILE's patterns"
    )
    backup.add_argument(
        "--exclude-vcs", action="store_true", help="skip version-control files and directories"
    )
    backup.set_defaults(handler=run_backup)


def run_backup(arguments: argparse.Namespace) -> int:
    """Back up FROM into TO/Archives and TO/Latest."""
    source = Path(arguments.source).expanduser()
    if not source.is_dir():
        raise BackupError(f"{arguments.source}: not a local directory")
    target = parse_grid_path(arguments.target, read_aliases(arguments.node_directory))
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    _ensure_directory(client, target, arguments.target)
    archives = target.child("Archives")
    _ensure_directory(client, archives, "Archives")
    started = time.time()
    db_path = arguments.node_directory.expanduser() / BACKUPDB_FILE
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open_backupdb(db_path) as backupdb:
        backer = Backer(
            client,
            backupdb,
            exclude=_patterns(arguments),
            verbose=arguments.verbose,
            progress=count_progress("backed up", quiet=arguments.quiet),
        )
        root_cap = backer.back_up_directory(source)
        backer.progress.finish()
    stamp = time.strftime("%Y-%m-%d_%H:%M:%SZ", time.gmtime(started))
    client.link(archives.child(stamp), root_cap)
    client.link(target.child("Latest"), root_cap)
    print(backer.counts.summary())
    return 0


def _ensure_directory(client: WebClient, where: GridPath, text: str) -> None:
    info = client.info_or_none(where)
    if info is None:
        client.create_directory(where)
    elif info[0] != "dirnode":
        raise BackupError(f"{text}: exists and is not a directory")


def _patterns(arguments: argparse.Namespace) -> list[str]:
    patterns = list(arguments.exclude)
    if arguments.exclude_from is not None:
        lines = arguments.exclude_from.read_text(encoding="utf-8").splitlines()
        patterns.extend(line.strip() for line in lines if line.strip())
    if arguments.exclude_vcs:
        patterns.extend(VCS_PATTERNS)
    return patterns


class Backer:
    """Backs up local directories into immutable grid directories, reusing what it can."""

    def __init__(
        self,
        client: WebClient,
        backupdb: BackupDB,
        *,
        exclude: Sequence[str],
        verbose: bool,
        progress: CountProgress,
    ) -> None:
        """Back up through ``client``, remembering in ``backupdb``."""
        self.client = client
        self.backupdb = backupdb
        self.exclude = exclude
        self.verbose = verbose
        self.progress = progress
        self.counts = Counts()

    def back_up_directory(self, directory: Path) -> str:
        """Store ``directory`` (recursively) as an immutable directory; return its cap."""
        children: dict[str, Any] = {}
        for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
            if any(fnmatch.fnmatch(entry.name, pattern) for pattern in self.exclude):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                cap = self.back_up_directory(path)
                children[entry.name] = ["dirnode", {"ro_uri": cap}]
            elif entry.is_file(follow_symlinks=False):
                state = _state(entry.stat(follow_symlinks=False))
                cap = self.back_up_file(path, state)
                metadata = {"mtime": state.mtime, "ctime": state.ctime}
                children[entry.name] = ["filenode", {"ro_uri": cap, "metadata": metadata}]
            else:
                self.counts.files_skipped += 1
                self._say(f"skipping {path}: not a regular file or directory")
        dirhash = hashlib.sha256(json.dumps(children, sort_keys=True).encode()).hexdigest()
        known = self.backupdb.lookup_directory(dirhash)
        if known is not None:
            self.counts.directories_reused += 1
            return known
        cap = self.client.create_immutable_directory(children)
        self.backupdb.record_directory(dirhash, cap, time.time())
        self.counts.directories_created += 1
        return cap

    def back_up_file(self, path: Path, state: FileState) -> str:
        """The cap of ``path``: the recorded one if unchanged, else a fresh upload."""
        key = str(path.absolute())
        known = self.backupdb.lookup_file(key, state)
        self.progress.advance()
        if known is not None:
            self.counts.files_reused += 1
            self._say(f"reusing {path}")
            return known
        self._say(f"uploading {path}")
        with path.open("rb") as body:
            cap = self.client.upload(None, body, state.size)
        self.backupdb.record_file(key, state, cap, time.time())
        self.counts.files_uploaded += 1
        return cap

    def _say(self, line: str) -> None:
        if self.verbose:
            print(line, file=sys.stdout, flush=True)


def _state(stat: os.stat_result) -> FileState:
    return FileState(size=stat.st_size, mtime=stat.st_mtime, ctime=stat.st_ctime)
