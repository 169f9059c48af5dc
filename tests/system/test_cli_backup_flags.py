"""Tahoe 1.20's ``backup`` and ``cp`` flags as a user runs them, against both gateways.

The grids and the ``grid`` runner come from ``test_cli_directories`` (our
grid of real processes, and a real Tahoe-LAFS 1.20 client node marked
``interop``).
"""

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.system.test_cli_directories import cli, client_dir, ok

__all__ = ["client_dir"]

pytestmark = pytest.mark.slow


def light_node_dir(client_dir: Path, where: Path) -> Path:
    """A node directory holding only the gateway URL and the aliases (no backup database)."""
    (where / "private").mkdir(parents=True)
    shutil.copy(client_dir / "node.url", where / "node.url")
    shutil.copy(client_dir / "private" / "aliases", where / "private" / "aliases")
    return where


def latest_cap(node_dir: Path, target: str) -> str:
    """The read cap linked as ``TARGET/Latest``."""
    kind, details = json.loads(ok(node_dir, "ls", "--json", f"{target}/Latest"))
    assert kind == "dirnode"
    return str(details["ro_uri"])


def write_files(root: Path, contents: dict[str, bytes]) -> None:
    """Write each relative path's bytes under ``root``, making directories as needed."""
    for relative, data in contents.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)


def rewrite_keeping_size_and_mtime(path: Path, data: bytes) -> os.stat_result:
    """Replace the content of ``path`` by same-sized ``data``, putting its mtime back."""
    before = path.stat()
    assert len(data) == before.st_size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    return after


def test_no_backupdb_uploads_every_file_and_creates_no_database(
    client_dir: Path, tmp_path: Path
) -> None:
    """--no-backupdb uploads every file on every run, writes no database, and converges."""
    node_dir = light_node_dir(client_dir, tmp_path / "node")
    home = tmp_path / "home"
    write_files(home, {f"d{index % 2}/f{index}.bin": os.urandom(100 + index) for index in range(5)})
    first = ok(node_dir, "backup", "--no-backupdb", "-v", str(home), "tahoe:nodb")
    assert "5 files uploaded (0 reused), 0 files skipped, 3 directories created (0" in first
    assert first.count("uploading ") == 5
    first_cap = latest_cap(node_dir, "nodb")
    second = ok(node_dir, "backup", "--no-backupdb", "-v", str(home), "tahoe:nodb")
    assert "5 files uploaded (0 reused), 0 files skipped, 3 directories created (0" in second
    assert second.count("uploading ") == 5
    assert latest_cap(node_dir, "nodb") == first_cap
    assert sorted(path.name for path in node_dir.rglob("*")) == ["aliases", "node.url", "private"]


def test_ignore_timestamps_reads_every_file(client_dir: Path, tmp_path: Path) -> None:
    """--ignore-timestamps re-reads every file: it finds a change the recorded stat hides."""
    home = tmp_path / "home"
    write_files(home, {"a.txt": b"first  version", "b.txt": os.urandom(700), "s/c": os.urandom(9)})
    assert ok(client_dir, "backup", str(home), "tahoe:stamps").startswith("3 files uploaded")

    unchanged = ok(client_dir, "backup", "-v", "--ignore-timestamps", str(home), "stamps")
    assert "0 files uploaded (3 reused)" in unchanged
    assert "0 directories created" in unchanged
    assert unchanged.count("re-reading ") == 3

    after = rewrite_keeping_size_and_mtime(home / "a.txt", b"second version")
    # The rewrite moved ctime, which the database also compares; put the recorded
    # ctime level with it, as on a file system whose ctime did not move.
    database = client_dir / "private" / "backupdb.sqlite"
    with sqlite3.connect(database) as connection:
        updated = connection.execute(
            "UPDATE local_files SET ctime = ? WHERE path = ?",
            (after.st_ctime, str((home / "a.txt").absolute())),
        )
        assert updated.rowcount == 1
    connection.close()

    trusting = ok(client_dir, "backup", "-v", str(home), "stamps")
    assert "0 files uploaded (3 reused)" in trusting
    assert "re-reading" not in trusting
    assert "uploading" not in trusting
    ok(client_dir, "get", "stamps/Latest/a.txt", str(tmp_path / "missed"))
    assert (tmp_path / "missed").read_bytes() == b"first  version"

    checking = ok(client_dir, "backup", "-v", "--ignore-timestamps", str(home), "stamps")
    assert "1 files uploaded (2 reused)" in checking
    assert checking.count("re-reading ") == 3
    ok(client_dir, "get", "stamps/Latest/a.txt", str(tmp_path / "found"))
    assert (tmp_path / "found").read_bytes() == b"second version"

    again = ok(client_dir, "backup", str(home), "stamps")
    assert "0 files uploaded (3 reused)" in again
    assert "0 directories created" in again


def test_default_mode_notices_a_moved_ctime(client_dir: Path, tmp_path: Path) -> None:
    """Without --ignore-timestamps, a same-size rewrite with mtime put back is caught by ctime."""
    home = tmp_path / "home"
    write_files(home, {"a.txt": b"first  version", "b.txt": os.urandom(300)})
    assert ok(client_dir, "backup", str(home), "tahoe:ctime").startswith("2 files uploaded")
    rewrite_keeping_size_and_mtime(home / "a.txt", b"second version")
    second = ok(client_dir, "backup", "-v", str(home), "ctime")
    assert "1 files uploaded (1 reused)" in second
    assert second.count("uploading ") == 1
    ok(client_dir, "get", "ctime/Latest/a.txt", str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"second version"


@pytest.mark.parametrize(
    ("flag", "target"),
    [("--exclude-from-utf-8", "tahoe:exclude-utf8"), ("--exclude-from", "tahoe:exclude-from")],
)
def test_exclude_from_utf_8(client_dir: Path, tmp_path: Path, flag: str, target: str) -> None:
    """Each line of the UTF-8 pattern file excludes matching names (blank lines ignored)."""
    home = tmp_path / "home"
    write_files(
        home,
        {
            "keep.txt": b"kept",
            "noise.log": b"skipped",
            "build/out.bin": b"skipped",
            "naïve-draft.txt": b"skipped",
            "sub/inner.log": b"skipped",
            "sub/inner.txt": b"kept",
        },
    )
    patterns = tmp_path / "patterns"
    patterns.write_text("*.log\n\nbuild\nnaïve-*\n", encoding="utf-8")
    ok(client_dir, "backup", flag, str(patterns), str(home), target)
    assert ok(client_dir, "ls", f"{target}/Latest").split() == ["keep.txt", "sub"]
    assert ok(client_dir, "ls", f"{target}/Latest/sub").split() == ["inner.txt"]


def test_cp_caps_only_writes_read_caps_to_local_files(client_dir: Path, tmp_path: Path) -> None:
    """--caps-only puts each file's read cap, not its data, into local files; -v names them."""
    (tmp_path / "data").write_bytes(os.urandom(2000))
    immutable = ok(client_dir, "put", str(tmp_path / "data"), "tahoe:capsonly/one.bin").strip()
    write_cap = ok(client_dir, "put", "--mutable", str(tmp_path / "data"), "capsonly/two").strip()
    _, details = json.loads(ok(client_dir, "ls", "--json", "capsonly/two"))
    read_cap = details["ro_uri"]
    assert write_cap.startswith("URI:SSK:")
    assert read_cap.startswith("URI:SSK-RO:")

    ok(client_dir, "cp", "--caps-only", "tahoe:capsonly/one.bin", str(tmp_path / "one.cap"))
    assert (tmp_path / "one.cap").read_text() == immutable
    ok(client_dir, "cp", "--caps-only", write_cap, str(tmp_path / "two.cap"))
    assert (tmp_path / "two.cap").read_text() == read_cap

    result = ok(client_dir, "cp", "-r", "--caps-only", "tahoe:capsonly", str(tmp_path / "tree"))
    assert result == ""
    assert (tmp_path / "tree" / "capsonly" / "one.bin").read_text() == immutable
    assert (tmp_path / "tree" / "capsonly" / "two").read_text() == read_cap

    ok(client_dir, "cp", "-r", "tahoe:capsonly", str(tmp_path / "data-tree"))
    copied = (tmp_path / "data-tree" / "capsonly" / "one.bin").read_bytes()
    assert copied == (tmp_path / "data").read_bytes()


def test_cp_verbose_names_every_file(client_dir: Path, tmp_path: Path) -> None:
    """Copying with -v names each file on stderr as it is copied, in both directions."""
    write_files(tmp_path / "src", {"x": b"one", "y/z": b"two"})
    up = cli(client_dir, "cp", "-r", "-v", str(tmp_path / "src"), "tahoe:verbose")
    assert up.returncode == 0, up.stderr
    assert up.stderr.count("uploading ") == 2
    down = cli(client_dir, "cp", "-r", "--verbose", "tahoe:verbose", str(tmp_path / "out"))
    assert down.returncode == 0, down.stderr
    assert down.stderr.count("downloading ") == 2
    assert (tmp_path / "out" / "verbose" / "src" / "y" / "z").read_bytes() == b"two"
