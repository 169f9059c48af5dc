"""What the directory commands print: ls lines, deep-stats, status tables, gateway errors."""

import argparse
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.cli.count_progress import CountProgress
from grid.cli.ls import Entry, format_entries, link_date, mode
from grid.cli.manifest import format_stats
from grid.cli.node_info import format_operations
from grid.cli.web_client import GatewayError, best_cap, error_detail, node_description
from tests.unit.test_progress import TerminalStream

NOW = 1_700_000_000.0
FILE = Entry("a.txt", "filenode", {"ro_uri": "URI:LIT:x", "size": 6, "metadata": {}})
DIRECTORY = Entry(
    "docs",
    "dirnode",
    {"rw_uri": "URI:DIR2:x", "ro_uri": "URI:DIR2-RO:x", "metadata": {"tahoe": {"linkmotime": NOW}}},
)


def options(**flags: bool) -> argparse.Namespace:
    """Options of ``ls``, all off unless given."""
    names = ("long", "classify", "uri", "readonly_uri")
    return argparse.Namespace(**{name: flags.get(name, False) for name in names})


def test_plain_classified_and_with_caps() -> None:
    """Plain names; -F marks directories; --uri adds the best cap, --readonly-uri the reader."""
    assert format_entries([DIRECTORY, FILE], options(), now=NOW) == ["docs", "a.txt"]
    assert format_entries([DIRECTORY, FILE], options(classify=True), now=NOW) == ["docs/", "a.txt"]
    assert format_entries([DIRECTORY, FILE], options(uri=True), now=NOW) == [
        "docs  URI:DIR2:x",
        "a.txt URI:LIT:x",
    ]
    assert format_entries([DIRECTORY], options(readonly_uri=True), now=NOW) == [
        "docs URI:DIR2-RO:x"
    ]


def test_long_listing_columns() -> None:
    """-l gives mode, right-aligned size, date and name."""
    lines = format_entries([DIRECTORY, FILE], options(long=True), now=NOW)
    date = time.strftime("%b %d %H:%M", time.localtime(NOW))
    assert lines == [f"drwx - {date} docs", f"-r-- 6 {' ' * len(date)} a.txt"]
    assert format_entries([], options(long=True), now=NOW) == []


def test_modes_and_dates() -> None:
    """Modes follow writability and kind; old dates show the year."""
    assert mode(Entry("x", "dirnode", {"ro_uri": "r"})) == "dr-x"
    assert mode(Entry("x", "filenode", {"rw_uri": "w"})) == "-rw-"
    assert mode(Entry("x", "unknown", {})) == "?r--"
    old = Entry("x", "filenode", {"metadata": {"mtime": NOW - 400 * 24 * 3600}})
    assert link_date(old, NOW).endswith(time.strftime("%Y", time.localtime(NOW - 400 * 86400)))


def test_stats_lines() -> None:
    """Counts right-aligned by name, then the histogram."""
    lines = format_stats(
        {"count-files": 3, "largest-directory": 1397, "size-files-histogram": [[1, 3, 2]]}
    )
    assert lines[0] == "      count-files: 3"
    assert lines[1] == "largest-directory: 1397"
    assert lines[2] == "size-files-histogram:"
    assert lines[3].split() == ["1", "-", "3", ":", "2"]


def test_operations_table() -> None:
    """No operations is 'none'; otherwise a header and one aligned row each."""
    assert format_operations([]) == ["none"]
    rows = format_operations(
        [
            {
                "type": "upload",
                "storage-index-string": "abc",
                "total-size": 5,
                "status": "Running",
                "progress": 0.5,
            }
        ]
    )
    assert rows[0].split() == ["Type", "Storage", "Index", "Size", "Status"]
    assert rows[1].split() == ["upload", "abc", "5", "Running", "(50%)"]


def test_error_detail_from_text_and_html() -> None:
    """A plain answer's first line; an HTML page's first line of text after the heading."""
    assert error_detail("No such child: x\nmore\n") == "No such child: x"
    page = (
        "<html><head><title>404 - Error</title></head><body><h1>Error</h1>"
        "<p>No such child: &quot;x&quot;</p></body></html>"
    )
    assert error_detail(page) == 'No such child: "x"'
    assert error_detail("") == ""


def test_count_progress_only_on_a_terminal() -> None:
    """A terminal gets the count line once drawn; a pipe gets nothing."""
    ticks = iter([0.0, 1.0, 1.0, 1.1])
    terminal = TerminalStream()
    progress = CountProgress("copied", quiet=False, stream=terminal, clock=lambda: next(ticks))
    progress.advance()
    progress.advance()
    progress.finish()
    assert terminal.getvalue() == "\rcopied: 1 files\rcopied: 2 files\n"
    quiet = TerminalStream()
    muted = CountProgress("copied", quiet=True, stream=quiet, clock=iter([0.0, 9.0]).__next__)
    muted.advance()
    muted.finish()
    assert quiet.getvalue() == ""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(json_values)
def test_node_description_takes_any_json(document: object) -> None:
    """Garbage in: any JSON is either a [kind, details] pair or a GatewayError."""
    try:
        kind, details = node_description(document)
    except GatewayError:
        return
    assert isinstance(kind, str)
    assert isinstance(details, dict)


def test_node_description_and_best_cap() -> None:
    """A well-formed description passes; best_cap prefers the write cap and needs one."""
    kind, details = node_description(["dirnode", {"rw_uri": "W", "ro_uri": "R", "children": {}}])
    assert (kind, best_cap(details)) == ("dirnode", "W")
    assert best_cap({"ro_uri": "R"}) == "R"
    with pytest.raises(GatewayError):
        best_cap({})
    with pytest.raises(GatewayError):
        node_description(["dirnode", {"children": {"x": "not a pair"}}])
