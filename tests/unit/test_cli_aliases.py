"""The aliases file: Tahoe's ``name: cap`` lines, read and appended, and list-aliases."""

import json
from pathlib import Path

import pytest

from grid.cli.aliases import (
    AliasError,
    append_alias,
    check_alias_name,
    command_aliases,
    parse_aliases,
    read_aliases,
)
from grid.cli.main import build_parser, main
from grid.errors import CapError

ROOT = "URI:DIR2:ovjy4yhylqlfoqg2vcze36dhde:4d4voqjdoqb2dknfmspkzrk5cwm5f6ahnphsdimt3jpvvqk4uhqa"
ROOT_RO = "URI:DIR2-RO:"
WORK = "URI:DIR2:apkbjuqe42ysdppqni5oaneiky:xhte4vcame5rsrkddnwzdqw6uvec4gcodwefg7ld4f6k3vzmft4a"


def test_parse_skips_comments_blanks_and_lines_without_colons() -> None:
    """Only name: cap lines count; spaces around both are dropped; later lines win."""
    text = f"# comment\n\ntahoe: {ROOT}\n  work:{WORK}  \nnonsense\nwork: {ROOT}\n"
    assert parse_aliases(text) == {"tahoe": ROOT, "work": ROOT}


def test_root_dir_cap_is_the_tahoe_alias_and_the_file_overrides(tmp_path: Path) -> None:
    """private/root_dir.cap defines tahoe:, which private/aliases may redefine."""
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "root_dir.cap").write_text(WORK + "\n")
    assert read_aliases(tmp_path) == {"tahoe": WORK}
    (tmp_path / "private" / "aliases").write_text(f"tahoe: {ROOT}\n")
    assert read_aliases(tmp_path) == {"tahoe": ROOT}


def test_append_writes_tahoes_format_after_a_missing_newline(tmp_path: Path) -> None:
    """Appending keeps earlier bytes, adds a newline first if needed, writes 'name: cap'."""
    (tmp_path / "private").mkdir()
    aliases = tmp_path / "private" / "aliases"
    aliases.write_text(f"tahoe: {ROOT}")
    append_alias(tmp_path, "work", WORK)
    assert aliases.read_text() == f"tahoe: {ROOT}\nwork: {WORK}\n"
    with pytest.raises(AliasError, match="already exists"):
        append_alias(tmp_path, "work", ROOT)


def test_append_creates_private_and_the_file(tmp_path: Path) -> None:
    """A node directory without private/aliases gets one."""
    append_alias(tmp_path, "tahoe", ROOT)
    assert (tmp_path / "private" / "aliases").read_text() == f"tahoe: {ROOT}\n"


@pytest.mark.parametrize(("given", "expected"), [("work", "work"), ("work:", "work")])
def test_alias_names_lose_one_trailing_colon(given: str, expected: str) -> None:
    """One trailing colon is the alias syntax, not part of the name."""
    assert check_alias_name(given) == expected


@pytest.mark.parametrize("bad", ["", ":", "a:b", "a b", "a::"])
def test_bad_alias_names(bad: str) -> None:
    """Empty names, colons inside and spaces are refused."""
    with pytest.raises(AliasError):
        check_alias_name(bad)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the grid command in-process; return (status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_add_alias_and_list_aliases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """add-alias records a dircap; list-aliases aligns names and has a JSON form."""
    assert run_cli(capsys, "-d", str(tmp_path), "add-alias", "tahoe", ROOT)[0] == 0
    assert run_cli(capsys, "-d", str(tmp_path), "add-alias", "work:", WORK)[0] == 0
    status, out, _ = run_cli(capsys, "-d", str(tmp_path), "list-aliases")
    assert status == 0
    assert out.splitlines() == [f"tahoe: {ROOT}", f" work: {WORK}"]
    status, out, _ = run_cli(capsys, "-d", str(tmp_path), "list-aliases", "--readonly-uri")
    assert out.splitlines()[0].startswith("tahoe: URI:DIR2-RO:")
    status, out, _ = run_cli(capsys, "-d", str(tmp_path), "list-aliases", "--json")
    document = json.loads(out)
    assert document["work"]["readwrite"] == WORK
    assert document["work"]["readonly"].startswith(ROOT_RO)


@pytest.mark.parametrize(
    "argv",
    [
        ["add-alias", "tahoe", "URI:LIT:nbswy3dp"],
        ["add-alias", "a b", ROOT],
        ["add-alias", "tahoe", "garbage"],
        ["ls", "nope:"],
        ["cp", "nope:x", "y"],
        ["mkdir", "nope:x"],
    ],
)
def test_failures_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """Bad caps, bad names and unknown aliases: one line on stderr, status 1, no traceback."""
    (tmp_path / "node.url").write_text("http://127.0.0.1:9/\n")
    status, out, err = run_cli(capsys, "-d", str(tmp_path), *argv)
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("grid: error: ")


def test_adding_an_existing_alias_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second add-alias of the same name is refused and the file is unchanged."""
    run_cli(capsys, "-d", str(tmp_path), "add-alias", "tahoe", ROOT)
    status, _, err = run_cli(capsys, "-d", str(tmp_path), "add-alias", "tahoe", WORK)
    assert status == 1
    assert "already exists" in err
    assert read_aliases(tmp_path) == {"tahoe": ROOT}


def test_dir_cap_overrides_the_tahoe_alias_for_one_command(tmp_path: Path) -> None:
    """--dir-cap replaces tahoe: (from either file) and leaves the other aliases alone."""
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "aliases").write_text(f"tahoe: {ROOT}\nwork: {WORK}\n")
    argv = ["-d", str(tmp_path), "ls", "--dir-cap", WORK]
    arguments = build_parser(argv).parse_args(argv)
    assert command_aliases(arguments) == {"tahoe": WORK, "work": WORK}
    argv = ["-d", str(tmp_path), "ls"]
    assert command_aliases(build_parser(argv).parse_args(argv)) == {"tahoe": ROOT, "work": WORK}


def test_dir_cap_must_be_a_directory_cap(tmp_path: Path) -> None:
    """A --dir-cap that is not a directory cap is refused by name."""
    argv = ["-d", str(tmp_path), "ls", "--dir-cap", "URI:LIT:nbswy3dp"]
    with pytest.raises(CapError, match="not a directory cap"):
        command_aliases(build_parser(argv).parse_args(argv))
