"""Tahoe 1.20's backup and cp flags: how they parse, and the database calls behind them."""

from pathlib import Path

import pytest

from grid.cli.backup import VCS_PATTERNS, exclude_patterns
from grid.cli.backupdb import FileState, NoBackupDB, open_backupdb
from grid.cli.main import build_parser

CAP = (
    "URI:CHK:rc4ws3mdto3ciiprxbqma7mlee:"
    "5pitaxpp56xqvhtuzuu2d6mk5qlsmui6gpjucwxspbv5latxqxya:1:2:30000"
)
STATE = FileState(size=30000, mtime=1700000000.25, ctime=1700000001.5)


def parse(*argv: str) -> dict[str, object]:
    """Parse a ``grid`` command line; return its arguments as a dict."""
    return vars(build_parser(argv).parse_args(argv))


def test_recorded_cap_ignores_the_state(tmp_path: Path) -> None:
    """recorded_cap answers the last cap whatever the file's size and times are now."""
    with open_backupdb(tmp_path / "db") as backupdb:
        assert backupdb.recorded_cap("/a") is None
        backupdb.record_file("/a", STATE, CAP, 1.0)
        assert backupdb.lookup_file("/a", FileState(1, 2.0, 3.0)) is None
        assert backupdb.recorded_cap("/a") == CAP
        assert backupdb.recorded_cap("/b") is None


def test_no_backupdb_remembers_nothing() -> None:
    """The stand-in for no database forgets every file and directory it is told about."""
    memory = NoBackupDB()
    memory.record_file("/a", STATE, CAP, 1.0)
    memory.record_directory("ab" * 32, "URI:DIR2-CHK:x", 1.0)
    assert memory.lookup_file("/a", STATE) is None
    assert memory.recorded_cap("/a") is None
    assert memory.lookup_directory("ab" * 32) is None


def test_backup_flags_default_off() -> None:
    """Without the flags, a backup uses its database and trusts the recorded times."""
    arguments = parse("backup", "home", "tahoe:bk")
    assert arguments["no_backupdb"] is False
    assert arguments["ignore_timestamps"] is False
    assert arguments["exclude_from"] is None


def test_backup_flags_parse() -> None:
    """--no-backupdb and --ignore-timestamps are plain switches."""
    arguments = parse("backup", "--no-backupdb", "--ignore-timestamps", "home", "tahoe:bk")
    assert arguments["no_backupdb"] is True
    assert arguments["ignore_timestamps"] is True


@pytest.mark.parametrize("flag", ["--exclude-from-utf-8", "--exclude-from"])
def test_exclude_from_has_two_names(flag: str) -> None:
    """Tahoe's --exclude-from-utf-8 and our older --exclude-from set the same thing."""
    arguments = parse("backup", flag, "patterns.txt", "home", "tahoe:bk")
    assert arguments["exclude_from"] == Path("patterns.txt")


@pytest.mark.parametrize(
    ("argv", "caps_only", "verbose"),
    [
        ((), False, False),
        (("--caps-only",), True, False),
        (("-v",), False, True),
        (("--caps-only", "--verbose"), True, True),
    ],
)
def test_cp_flags_parse(argv: tuple[str, ...], caps_only: bool, verbose: bool) -> None:
    """Cp takes --caps-only and -v/--verbose as switches."""
    arguments = parse("cp", *argv, "tahoe:a", "b")
    assert arguments["caps_only"] is caps_only
    assert arguments["verbose"] is verbose


def test_exclude_vcs_adds_every_version_control_name() -> None:
    """--exclude-vcs skips the same eighteen names Tahoe 1.20 does, after the user's own."""
    arguments = build_parser(["backup"]).parse_args(
        ["backup", "--exclude", "*.tmp", "--exclude-vcs", "home", "tahoe:bk"]
    )
    patterns = exclude_patterns(arguments)
    assert patterns[0] == "*.tmp"
    assert set(patterns[1:]) == set(VCS_PATTERNS)
    for name in ("CVS", "RCS", "SCCS", ".cvsignore", "{arch}", "=RELEASE-ID", ".bzrtags", "_darcs"):
        assert name in VCS_PATTERNS
    assert len(set(VCS_PATTERNS)) == 18


def test_without_exclude_vcs_version_control_names_are_kept() -> None:
    """Without the flag, no version-control name is excluded."""
    arguments = build_parser(["backup"]).parse_args(["backup", "home", "tahoe:bk"])
    assert exclude_patterns(arguments) == []
