"""``grid backup FROM ALIAS:TO``: an incremental snapshot of a local directory.

Rules: each run makes a deep-immutable copy of FROM and links it as
``TO/Archives/<UTC time, YYYY-MM-DD_HH:MM:SSZ>`` and as ``TO/Latest``
(creating TO and Archives if missing). A file whose size, mtime and ctime
match the backup database is not read again: its recorded cap is reused.
With ``--ignore-timestamps`` those facts are not trusted: every file is
read and uploaded again (convergent encryption gives unchanged content its
old cap, and the servers already hold its shares, so nothing new is
stored); a file whose cap comes back unchanged counts as reused.
``--no-backupdb`` neither opens nor creates the database: every file is
uploaded and every directory created (identical content still gets
identical caps). A directory whose children (names, caps, metadata) hash
to a recorded value reuses its recorded directory cap, so a second run over
unchanged files uploads nothing and creates no directory. Files keep their
``mtime`` and ``ctime`` as link metadata. Names matching an ``--exclude``
glob, a line of the ``--exclude-from-utf-8`` file (alias
``--exclude-from``) or ``--exclude-vcs``'s list (the names Tahoe's and GNU
tar's ``--exclude-vcs`` skip) are skipped, as are
symlinks and special files. ``-v`` names every file as it is handled; the
summary line is always printed.
"""

import argparse
import contextlib
import fnmatch
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from grid.cli.alias_path import GridPath, parse_grid_path
from grid.cli.aliases import command_aliases
from grid.cli.backupdb import BACKUPDB_FILE, FileState, NoBackupDB, open_backupdb
from grid.cli.count_progress import CountProgress, count_progress
from grid.cli.web_client import WebClient
from grid.errors import GridError

VCS_PATTERNS = (
    "CVS",
    "RCS",
    "SCCS",
    ".git",
    ".gitignore",
    ".cvsignore",
    ".svn",
    ".arch-ids",
    "{arch}",
    "=RELEASE-ID",
    "=meta-update",
    "=update",
    ".bzr",
    ".bzrignore",
    ".bzrtags",
    ".hg",
    ".hgignore",
    "_darcs",
)


class BackupError(GridError, ValueError):
    """A backup cannot start: its source or target is not what it must be."""


class BackupMemory(Protocol):
    """What a backup remembers between runs (a BackupDB, or a NoBackupDB that remembers nothing)."""

    def lookup_file(self, path: str, state: FileState) -> str | None:
        """The cap ``path`` got when it last had exactly ``state``."""

    def recorded_cap(self, path: str) -> str | None:
        """The cap ``path`` got at its last upload, whatever its state."""

    def record_file(self, path: str, state: FileState, cap: str, now: float) -> None:
        """Remember that ``path``, as ``state``, was uploaded as ``cap``."""

    def lookup_directory(self, dirhash: str) -> str | None:
        """The directory cap made from children hashing to ``dirhash``."""

    def record_directory(self, dirhash: str, cap: str, now: float) -> None:
        """Remember the directory cap made from children hashing to ``dirhash``."""


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
        "--exclude-from-utf-8",
        "--exclude-from",
        dest="exclude_from",
        type=Path,
        metavar="FILE",
        help="skip names matching the patterns in FILE (UTF-8, one per line)",
    )
    backup.add_argument(
        "--exclude-vcs", action="store_true", help="skip version-control files and directories"
    )
    backup.add_argument(
        "--no-backupdb",
        action="store_true",
        help="use no backup database (do not create one): upload every file",
    )
    backup.add_argument(
        "--ignore-timestamps",
        action="store_true",
        help="do not trust recorded size and times: read and upload every file again",
    )
    backup.set_defaults(handler=run_backup)


def run_backup(arguments: argparse.Namespace) -> int:
    """Back up FROM into TO/Archives and TO/Latest."""
    source = Path(arguments.source).expanduser()
    if not source.is_dir():
        raise BackupError(f"{arguments.source}: not a local directory")
    target = parse_grid_path(arguments.target, command_aliases(arguments))
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    _ensure_directory(client, target, arguments.target)
    archives = target.child("Archives")
    _ensure_directory(client, archives, "Archives")
    started = time.time()
    with _backup_memory(arguments) as memory:
        backer = Backer(
            client,
            memory,
            use_timestamps=not arguments.ignore_timestamps,
            exclude=exclude_patterns(arguments),
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


def _backup_memory(
    arguments: argparse.Namespace,
) -> contextlib.AbstractContextManager[BackupMemory]:
    if arguments.no_backupdb:
        return contextlib.nullcontext(NoBackupDB())
    db_path = arguments.node_directory.expanduser() / BACKUPDB_FILE
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return open_backupdb(db_path)


def _ensure_directory(client: WebClient, where: GridPath, text: str) -> None:
    info = client.info_or_none(where)
    if info is None:
        client.create_directory(where)
    elif info[0] != "dirnode":
        raise BackupError(f"{text}: exists and is not a directory")


def exclude_patterns(arguments: argparse.Namespace) -> list[str]:
    """The globs a backup skips: --exclude, then --exclude-from-utf-8 lines, then the VCS names."""
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
        memory: BackupMemory,
        *,
        use_timestamps: bool,
        exclude: Sequence[str],
        verbose: bool,
        progress: CountProgress,
    ) -> None:
        """Back up through ``client``, remembering in ``memory``.

        With ``use_timestamps`` false, a file is never taken as unchanged
        from its recorded size and times: it is read and uploaded again.
        """
        self.client = client
        self.memory = memory
        self.use_timestamps = use_timestamps
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
        known = self.memory.lookup_directory(dirhash)
        if known is not None:
            self.counts.directories_reused += 1
            return known
        cap = self.client.create_immutable_directory(children)
        self.memory.record_directory(dirhash, cap, time.time())
        self.counts.directories_created += 1
        return cap

    def back_up_file(self, path: Path, state: FileState) -> str:
        """The cap of ``path``: the recorded one if unchanged, else a fresh upload."""
        key = str(path.absolute())
        self.progress.advance()
        if self.use_timestamps:
            known = self.memory.lookup_file(key, state)
            if known is not None:
                self.counts.files_reused += 1
                self._say(f"reusing {path}")
                return known
            previous = None
        else:
            previous = self.memory.recorded_cap(key)
        self._say(f"{'re-reading' if previous else 'uploading'} {path}")
        with path.open("rb") as body:
            cap = self.client.upload(None, body, state.size)
        self.memory.record_file(key, state, cap, time.time())
        if cap == previous:
            self.counts.files_reused += 1
        else:
            self.counts.files_uploaded += 1
        return cap

    def _say(self, line: str) -> None:
        if self.verbose:
            print(line, file=sys.stdout, flush=True)


def _state(stat: os.stat_result) -> FileState:
    return FileState(size=stat.st_size, mtime=stat.st_mtime, ctime=stat.st_ctime)
