"""How ``alias:path`` arguments are read: Tahoe 1.20's rules, one case per rule."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.cli.alias_path import (
    GridPath,
    LocalPath,
    UnknownAliasError,
    directory_cap,
    parse_cp_path,
    parse_grid_path,
)
from grid.errors import CapError

ROOT = "URI:DIR2:ovjy4yhylqlfoqg2vcze36dhde:4d4voqjdoqb2dknfmspkzrk5cwm5f6ahnphsdimt3jpvvqk4uhqa"
WORK = "URI:DIR2:apkbjuqe42ysdppqni5oaneiky:xhte4vcame5rsrkddnwzdqw6uvec4gcodwefg7ld4f6k3vzmft4a"
ALIASES = {"tahoe": ROOT, "work": WORK, "C": WORK}
FILE_CAP = "URI:LIT:nbswy3dp"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("work:docs/a.txt", GridPath(WORK, "docs/a.txt")),
        ("work:", GridPath(WORK, "")),
        ("  work:x  ", GridPath(WORK, "x")),
        ("docs/a.txt", GridPath(ROOT, "docs/a.txt")),
        ("", GridPath(ROOT, "")),
        ("dir/a:b", GridPath(ROOT, "dir/a:b")),
        (f"{WORK}/sub/f", GridPath(WORK, "sub/f")),
        (f"{WORK}:./sub/f", GridPath(WORK, "sub/f")),
        (FILE_CAP, GridPath(FILE_CAP, "")),
        ("C:files", GridPath(WORK, "files")),
    ],
)
def test_grid_paths(text: str, expected: GridPath) -> None:
    """Aliases, the default alias, caps (both separators) and colons inside names."""
    assert parse_grid_path(text, ALIASES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("work:a", GridPath(WORK, "a")),
        ("local/file", LocalPath("local/file")),
        ("plain", LocalPath("plain")),
        ("dir/a:b", LocalPath("dir/a:b")),
        (f"{WORK}/x", GridPath(WORK, "x")),
        ("C:files", GridPath(WORK, "files")),
    ],
)
def test_cp_paths_without_drive_letters(text: str, expected: GridPath | LocalPath) -> None:
    """For cp, text without an alias or cap is a local path; a one-letter alias is an alias."""
    assert parse_cp_path(text, ALIASES, drive_letters=False) == expected


def test_drive_letters_are_local_paths_where_they_exist() -> None:
    """Where drive letters exist, C: then a path is local, but a longer alias still is an alias."""
    assert parse_cp_path("C:\\data", ALIASES, drive_letters=True) == LocalPath("C:\\data")
    assert parse_cp_path("work:a", ALIASES, drive_letters=True) == GridPath(WORK, "a")
    assert parse_grid_path("C:x", ALIASES) == GridPath(WORK, "x")


def test_unknown_alias_and_missing_default() -> None:
    """An undefined alias, or no alias when tahoe: is undefined, is an UnknownAliasError."""
    with pytest.raises(UnknownAliasError, match="unknown alias 'nope'"):
        parse_grid_path("nope:x", ALIASES)
    with pytest.raises(UnknownAliasError, match="default alias 'tahoe'"):
        parse_grid_path("x", {"work": WORK})
    with pytest.raises(UnknownAliasError):
        parse_cp_path("nope:x", ALIASES)


def test_grid_path_segments_name_and_child() -> None:
    """Empty components are dropped; the name is the last one; child appends one."""
    where = GridPath(ROOT, "/a//b/")
    assert where.segments == ["a", "b"]
    assert where.name == "b"
    assert where.child("c") == GridPath(ROOT, "a/b/c")
    assert GridPath(ROOT, "").name == ""


def test_directory_cap_accepts_only_directory_caps() -> None:
    """An alias must name a directory: file caps and garbage are CapErrors."""
    assert directory_cap(f" {ROOT}\n") == ROOT
    with pytest.raises(CapError):
        directory_cap(FILE_CAP)
    with pytest.raises(CapError):
        directory_cap("URI:DIR2:nonsense")


@given(st.text())
def test_any_text_parses_or_raises_unknown_alias(text: str) -> None:
    """Garbage in: parsing gives a path or an UnknownAliasError, nothing else."""
    try:
        result = parse_cp_path(text, ALIASES, drive_letters=False)
    except UnknownAliasError:
        return
    assert isinstance(result, GridPath | LocalPath)
