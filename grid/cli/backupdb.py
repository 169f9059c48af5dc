"""The backup database: what ``grid backup`` already stored, so it never reads an unchanged file.

Rules: one SQLite file (``NODEDIR/private/backupdb.sqlite``) with a
``version`` row and two tables. ``local_files`` maps a local file's
absolute path to the size, mtime and ctime it had when it was uploaded and
the cap it got; a lookup answers the cap only when all three still match
(:meth:`BackupDB.recorded_cap` answers it whatever they are, for a backup
that re-reads every file and only wants to know whether the cap changed).
``directories`` maps a hash of an immutable directory's children (names,
caps, metadata) to the directory cap made from them. Each record is
committed at once, so an interrupted backup keeps what it finished. Times
of upload are passed in. Every SQLite failure becomes a BackupDBError.
:class:`NoBackupDB` stands in when there must be no database at all: it
remembers nothing and touches no disk.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from grid.errors import GridError

BACKUPDB_FILE = Path("private") / "backupdb.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS version (version INTEGER);
CREATE TABLE IF NOT EXISTS local_files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    ctime REAL NOT NULL,
    filecap TEXT NOT NULL,
    uploaded REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS directories (
    dirhash TEXT PRIMARY KEY,
    dircap TEXT NOT NULL,
    uploaded REAL NOT NULL
);
"""


class BackupDBError(GridError):
    """The backup database cannot be opened, read or written."""


@attrs.frozen
class FileState:
    """What a local file's stat said: the facts that decide whether it changed."""

    size: int
    mtime: float
    ctime: float


class BackupDB:
    """An open backup database."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        """Wrap an open connection whose schema is in place (see :func:`open_backupdb`)."""
        self._connection = connection

    def lookup_file(self, path: str, state: FileState) -> str | None:
        """The cap ``path`` got when it last had exactly ``state``; None if it changed or is new."""
        row = self._query(
            "SELECT filecap FROM local_files"
            " WHERE path = ? AND size = ? AND mtime = ? AND ctime = ?",
            (path, state.size, state.mtime, state.ctime),
        )
        return None if row is None else str(row[0])

    def recorded_cap(self, path: str) -> str | None:
        """The cap ``path`` got at its last upload, whatever its state was then; None if new."""
        row = self._query("SELECT filecap FROM local_files WHERE path = ?", (path,))
        return None if row is None else str(row[0])

    def record_file(self, path: str, state: FileState, cap: str, now: float) -> None:
        """Remember that ``path``, as ``state``, was uploaded as ``cap`` at ``now``."""
        self._write(
            "INSERT OR REPLACE INTO local_files VALUES (?, ?, ?, ?, ?, ?)",
            (path, state.size, state.mtime, state.ctime, cap, now),
        )

    def lookup_directory(self, dirhash: str) -> str | None:
        """The directory cap made from children hashing to ``dirhash``, if one was made."""
        row = self._query("SELECT dircap FROM directories WHERE dirhash = ?", (dirhash,))
        return None if row is None else str(row[0])

    def record_directory(self, dirhash: str, cap: str, now: float) -> None:
        """Remember the directory cap made from children hashing to ``dirhash``."""
        self._write("INSERT OR REPLACE INTO directories VALUES (?, ?, ?)", (dirhash, cap, now))

    def _query(self, sql: str, parameters: tuple[object, ...]) -> tuple[object, ...] | None:
        try:
            row: tuple[object, ...] | None = self._connection.execute(sql, parameters).fetchone()
        except sqlite3.Error as error:
            raise BackupDBError(f"cannot read the backup database: {error}") from None
        return row

    def _write(self, sql: str, parameters: tuple[object, ...]) -> None:
        try:
            with self._connection:
                self._connection.execute(sql, parameters)
        except sqlite3.Error as error:
            raise BackupDBError(f"cannot write the backup database: {error}") from None


class NoBackupDB:
    """The stand-in for no backup database: every lookup misses, nothing is recorded."""

    def lookup_file(self, path: str, state: FileState) -> str | None:
        """Nothing is known, so every file is uploaded."""
        return None

    def recorded_cap(self, path: str) -> str | None:
        """Nothing was recorded."""
        return None

    def record_file(self, path: str, state: FileState, cap: str, now: float) -> None:
        """Forget the upload at once."""

    def lookup_directory(self, dirhash: str) -> str | None:
        """Nothing is known, so every directory is created."""
        return None

    def record_directory(self, dirhash: str, cap: str, now: float) -> None:
        """Forget the directory at once."""


@contextmanager
def open_backupdb(path: Path) -> Iterator[BackupDB]:
    """Open (creating if needed) the backup database at ``path``; close it afterwards."""
    try:
        connection = sqlite3.connect(path)
    except sqlite3.Error as error:
        raise BackupDBError(f"cannot open the backup database {path}: {error}") from None
    try:
        _prepare(connection, path)
        yield BackupDB(connection)
    finally:
        connection.close()


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    try:
        with connection:
            connection.executescript(_SCHEMA)
            versions = connection.execute("SELECT version FROM version").fetchall()
            if not versions:
                connection.execute("INSERT INTO version VALUES (?)", (SCHEMA_VERSION,))
    except sqlite3.Error as error:
        raise BackupDBError(f"{path} is not a usable backup database: {error}") from None
    if versions and versions != [(SCHEMA_VERSION,)]:
        raise BackupDBError(f"{path} has schema version {versions[0][0]}, not {SCHEMA_VERSION}")
