"""The HTML page of a long operation: state, refresh, tables, escaping, long lists."""

from client.web.ui_operation import LIST_ROWS_SHOWN, REFRESH_SECONDS, operation_page

MANIFEST = {
    "origin": "abc",
    "manifest": [[[], "URI:DIR2:root"], [["sub", "f"], "URI:CHK:f"]],
    "verifycaps": ["URI:CHK-Verifier:f"],
    "stats": {"count-files": 1, "size-files-histogram": [[1, 3, 1]]},
}


def test_running_operation_reloads_itself() -> None:
    """A running operation's page says so and carries a refresh of REFRESH_SECONDS."""
    page = operation_page("m1", {**MANIFEST, "finished": False}, cancelled=False).decode()
    assert "Operation m1" in page
    assert "still running" in page
    assert f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' in page


def test_finished_manifest_shows_every_part() -> None:
    """Scalars, the stats record and each list appear; paths are joined by slashes."""
    page = operation_page("m1", {**MANIFEST, "finished": True}, cancelled=False).decode()
    assert "http-equiv" not in page
    assert ">finished" in page
    assert "<th>origin</th><td>abc</td>" in page
    assert "<th>count-files</th><td>1</td>" in page
    assert "<td>[[1, 3, 1]]</td>" in page
    assert '<td class="name">sub/f</td><td class="name">URI:CHK:f</td>' in page
    assert '<tr><td class="name">URI:CHK-Verifier:f</td></tr>' in page
    assert "2 items" in page
    assert "1 items" in page
    assert 'href="?output=JSON"' in page


def test_cancelled_operation_says_so() -> None:
    """A cancelled operation that has not stopped yet is reported as stopping."""
    page = operation_page("z", {"finished": False}, cancelled=True).decode()
    assert "cancelled, stopping" in page


def test_values_are_escaped() -> None:
    """Names and values from outside cannot inject markup."""
    hostile = '<script>alert("x")</script>'
    status = {"finished": True, "origin": hostile, "list": [[[hostile], hostile]]}
    page = operation_page(hostile, status, cancelled=False).decode()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_long_lists_are_cut_with_their_count() -> None:
    """Past LIST_ROWS_SHOWN items the page shows that many rows and the full count."""
    items = [f"URI:CHK:{index}" for index in range(LIST_ROWS_SHOWN + 5)]
    page = operation_page("big", {"finished": True, "verifycaps": items}, cancelled=False)
    text = page.decode()
    assert f"the first {LIST_ROWS_SHOWN} of {LIST_ROWS_SHOWN + 5} items" in text
    assert text.count('<td class="name">URI:CHK:') == LIST_ROWS_SHOWN
    assert f"URI:CHK:{LIST_ROWS_SHOWN - 1}<" in text
    assert f"URI:CHK:{LIST_ROWS_SHOWN}<" not in text
