"""The HTML page that answers ``t=check``: built from the check's JSON, everything escaped."""

import html

from hypothesis import given
from hypothesis import strategies as st

from client.check import (
    CheckAndRepairResults,
    CheckResults,
    LiteralCheckResults,
    ShareLocation,
    check_and_repair_results_json,
    check_results_json,
)
from client.web.check_page import check_page
from grid.base32 import b2a

STORAGE_INDEX = bytes(range(16))
SERVERS = [f"v0-{'a' * 51}{index}" for index in range(10)]


def _results(good: int, *, corrupt: tuple[ShareLocation, ...] = ()) -> CheckResults:
    return CheckResults(
        storage_index=STORAGE_INDEX,
        needed_shares=3,
        total_shares=10,
        sharemap={shnum: frozenset({SERVERS[shnum]}) for shnum in range(good)},
        servers_responding=tuple(SERVERS),
        corrupt_shares=corrupt,
    )


def _page(answer: dict[str, object], **options: str) -> str:
    return check_page(answer, **options).decode()


def test_a_healthy_file_shows_its_verdict_counts_and_share_map() -> None:
    """Healthy: the verdict, the k-of-N counts, and every share with its server."""
    page = _page(check_results_json(_results(10)))
    assert page.startswith("<!DOCTYPE html>")
    assert "Check: Healthy" in page
    assert "10 good (need 3 of 10)" in page
    assert b2a(STORAGE_INDEX) in page
    assert all(server in page for server in SERVERS)
    assert "Corrupt shares" not in page


def test_an_unhealthy_and_an_unrecoverable_file_say_so() -> None:
    """Fewer than N good shares is Not Healthy!; fewer than k is Not Recoverable!."""
    assert "Check: Not Healthy!" in _page(check_results_json(_results(7)))
    unrecoverable = _page(check_results_json(_results(0)))
    assert "Check: Not Recoverable!" in unrecoverable
    assert "No server holds a good share." in unrecoverable


def test_corrupt_shares_are_listed() -> None:
    """Each corrupt share is a row: server id, storage index, share number."""
    corrupt = (ShareLocation(SERVERS[9], STORAGE_INDEX, 9),)
    page = _page(check_results_json(_results(9, corrupt=corrupt)))
    assert "Corrupt shares" in page
    assert f"<code>{SERVERS[9]}</code></td><td><code>{b2a(STORAGE_INDEX)}</code>" in page


def test_a_repair_shows_the_outcome_and_both_checks() -> None:
    """An attempted repair: its outcome, the results after it and before it."""
    repaired = CheckAndRepairResults(_results(7), _results(10), True, True)
    page = _page(check_and_repair_results_json(repaired))
    assert "Repair successful" in page
    assert "After repair: Healthy" in page
    assert "Before repair: Not Healthy!" in page
    failed = CheckAndRepairResults(_results(2), _results(2), True, False, "no servers")
    assert "Repair unsuccessful" in _page(check_and_repair_results_json(failed))


def test_a_healthy_file_needs_no_repair() -> None:
    """No repair attempted: one results section, no pre-repair one."""
    healthy = CheckAndRepairResults(_results(10), _results(10), False, False)
    page = _page(check_and_repair_results_json(healthy))
    assert "No repair necessary" in page
    assert "Before repair" not in page


def test_a_literal_file_is_healthy_without_shares() -> None:
    """A LIT file's check and check-and-repair both say its data is in its cap."""
    for answer in (
        check_results_json(LiteralCheckResults()),
        check_and_repair_results_json(LiteralCheckResults()),
    ):
        page = _page(answer)
        assert "literal file" in page
        assert "Healthy" in page


def test_return_to_links_only_to_this_gateway() -> None:
    """A local return_to becomes a link back; another site's address is ignored."""
    answer = check_results_json(_results(10))
    assert 'href="/uri/URI%3ADIR2%3Aabc/"' in _page(answer, return_to="/uri/URI%3ADIR2%3Aabc/")
    for elsewhere in ("https://example.org/", "//example.org/", "javascript:alert(1)"):
        assert "example.org" not in _page(answer, return_to=elsewhere)
        assert "javascript" not in _page(answer, return_to=elsewhere)


@given(st.text())
def test_every_value_from_the_answer_is_escaped(text: str) -> None:
    """Whatever a summary or server id holds, it appears only escaped, never as markup."""
    payload = f"<i>{text}</i>"
    answer = check_results_json(_results(10))
    answer["summary"] = payload
    answer["results"]["sharemap"] = {"0": [payload]}
    page = _page(answer)
    assert html.escape(payload, quote=True) in page
    assert "<i>" not in page
