"""The backup database: a file's cap is reused only while size, mtime and ctime all match."""

import sqlite3
from pathlib import Path

import pytest

from grid.cli.backupdb import BackupDBError, FileState, open_backupdb

CAP = (
    "URI:CHK:rc4ws3mdto3ciiprxbqma7mlee:"
    "5pitaxpp56xqvhtuzuu2d6mk5qlsmui6gpjucwxspbv5latxqxya:1:2:30000"
)
STATE = FileState(size=30000, mtime=1700000000.25, ctime=1700000001.5)


def test_a_recorded_file_is_found_again_after_reopening(tmp_path: Path) -> None:
    """What one run records, the next run (a new connection) finds."""
    path = tmp_path / "backupdb.sqlite"
    with open_backupdb(path) as backupdb:
        assert backupdb.lookup_file("/home/a", STATE) is None
        backupdb.record_file("/home/a", STATE, CAP, 1.0)
    with open_backupdb(path) as backupdb:
        assert backupdb.lookup_file("/home/a", STATE) == CAP


@pytest.mark.parametrize(
    "changed",
    [
        FileState(30001, STATE.mtime, STATE.ctime),
        FileState(STATE.size, STATE.mtime + 1, STATE.ctime),
        FileState(STATE.size, STATE.mtime, STATE.ctime + 0.5),
    ],
)
def test_any_change_of_size_mtime_or_ctime_misses(tmp_path: Path, changed: FileState) -> None:
    """A changed file is not reused; recording it again replaces the old entry."""
    with open_backupdb(tmp_path / "db") as backupdb:
        backupdb.record_file("/a", STATE, CAP, 1.0)
        assert backupdb.lookup_file("/a", changed) is None
        assert backupdb.lookup_file("/b", STATE) is None
        backupdb.record_file("/a", changed, "URI:LIT:", 2.0)
        assert backupdb.lookup_file("/a", changed) == "URI:LIT:"
        assert backupdb.lookup_file("/a", STATE) is None


def test_directories_by_hash(tmp_path: Path) -> None:
    """A directory cap is found by the hash of its children."""
    with open_backupdb(tmp_path / "db") as backupdb:
        assert backupdb.lookup_directory("ab" * 32) is None
        backupdb.record_directory("ab" * 32, "URI:DIR2-CHK:x", 1.0)
        assert backupdb.lookup_directory("ab" * 32) == "URI:DIR2-CHK:x"


def test_garbage_file_is_a_backupdb_error(tmp_path: Path) -> None:
    """A file that is not SQLite gives BackupDBError, not sqlite3's own error."""
    path = tmp_path / "db"
    path.write_bytes(b"not a database at all, just some bytes" * 100)
    with pytest.raises(BackupDBError), open_backupdb(path):
        pass


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    """A database from another schema version is not used."""
    path = tmp_path / "db"
    with open_backupdb(path):
        pass
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE version SET version = 99")
    connection.close()
    with pytest.raises(BackupDBError, match="version 99"), open_backupdb(path):
        pass


def test_unwritable_place_is_a_backupdb_error(tmp_path: Path) -> None:
    """A path in a missing directory cannot be opened."""
    with pytest.raises(BackupDBError), open_backupdb(tmp_path / "missing" / "db"):
        pass
