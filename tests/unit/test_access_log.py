from types import SimpleNamespace

import pytest

from client.web.access_log import access_log_line, redact_caps


@pytest.mark.parametrize(
    "path",
    [
        "/uri/URI:CHK:aeaqcaibaeaqcaibaeaqcaibae:nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa:3:10:1",
        "/uri/URI%3ACHK%3Aaeaqcaibaeaqcaibaeaqcaibae%3Anf3n%3A3%3A10%3A1?t=json",
        "/uri?uri=URI:SSK:fs6ul2fju2fvb2cfx7gt6ngycm:hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq",
        "/uri/uri%3adir2%3aabc/sub/file",
    ],
)
def test_caps_never_reach_the_access_log(path: str) -> None:
    """Plain and percent-encoded caps in paths and queries are replaced by [cap]."""
    request = SimpleNamespace(uri=path.encode(), method=b"GET", code=200, sentLength=10)
    line = access_log_line("now", request)
    assert "[cap]" in line
    assert "aeaqcaib" not in line
    assert "fs6ul2" not in line
    assert "abc" not in line


def test_paths_without_caps_are_kept() -> None:
    """Ordinary paths are logged as they are."""
    assert redact_caps("/?t=json") == "/?t=json"
