"""Check and repair results: health rules, Tahoe's summary wording and JSON shape."""

import json

import pytest

from client.check import (
    CheckAndRepairResults,
    CheckResults,
    LiteralCheckResults,
    ShareLocation,
    check_and_repair_results_json,
    check_results_json,
)
from grid.base32 import b2a

STORAGE_INDEX = bytes(range(16))
RESULTS_KEYS = {
    "count-happiness",
    "count-shares-good",
    "count-shares-needed",
    "count-shares-expected",
    "count-good-share-hosts",
    "count-corrupt-shares",
    "list-corrupt-shares",
    "servers-responding",
    "sharemap",
    "count-wrong-shares",
    "count-recoverable-versions",
    "count-unrecoverable-versions",
    "healthy",
    "recoverable",
}


def _results(sharemap: dict[int, frozenset[str]], **fields: object) -> CheckResults:
    servers = sorted(frozenset[str]().union(*sharemap.values())) if sharemap else []
    return CheckResults(
        storage_index=STORAGE_INDEX,
        needed_shares=3,
        total_shares=10,
        sharemap=sharemap,
        servers_responding=tuple(servers),
        **fields,  # type: ignore[arg-type]
    )


def _one_each(count: int) -> dict[int, frozenset[str]]:
    return {shnum: frozenset({f"v0-server{shnum}"}) for shnum in range(count)}


@pytest.mark.parametrize(
    ("good", "healthy", "recoverable", "summary"),
    [
        (10, True, True, "Healthy"),
        (9, False, True, "Not Healthy: 9 shares (enc 3-of-10)"),
        (3, False, True, "Not Healthy: 3 shares (enc 3-of-10)"),
        (2, False, False, "Not Healthy: 2 shares (enc 3-of-10)"),
        (0, False, False, "Not Healthy: 0 shares (enc 3-of-10)"),
    ],
)
def test_health_and_summary_follow_the_good_share_count(
    good: int, healthy: bool, recoverable: bool, summary: str
) -> None:
    """Healthy means all N shares good, recoverable at least k; the summary is Tahoe's."""
    results = _results(_one_each(good))
    assert results.healthy is healthy
    assert results.recoverable is recoverable
    assert results.summary == summary


def test_happiness_counts_servers_not_copies() -> None:
    """Ten shares on two servers: healthy, but happiness and share hosts are 2."""
    sharemap = {shnum: frozenset({"v0-a" if shnum % 2 else "v0-b"}) for shnum in range(10)}
    results = _results(sharemap)
    assert results.healthy
    assert results.happiness == 2
    assert results.count_good_share_hosts == 2
    assert results.server_shares() == {
        "v0-a": frozenset({1, 3, 5, 7, 9}),
        "v0-b": frozenset({0, 2, 4, 6, 8}),
    }


def test_check_json_has_tahoes_keys_and_values() -> None:
    """The JSON has exactly Tahoe's keys, base32 storage index, sorted share map values."""
    sharemap = _one_each(9) | {0: frozenset({"v0-z", "v0-server0"})}
    corrupt = (ShareLocation("v0-bad", STORAGE_INDEX, 9),)
    data = check_results_json(_results(sharemap, corrupt_shares=corrupt))
    assert set(data) == {"storage-index", "summary", "results"}
    assert data["storage-index"] == b2a(STORAGE_INDEX)
    assert data["summary"] == "Not Healthy: 9 shares (enc 3-of-10)"
    counts = data["results"]
    assert set(counts) == RESULTS_KEYS
    assert counts["sharemap"]["0"] == ["v0-server0", "v0-z"]
    assert list(counts["sharemap"]) == [str(shnum) for shnum in range(9)]
    assert counts["list-corrupt-shares"] == [["v0-bad", b2a(STORAGE_INDEX), 9]]
    assert counts["count-corrupt-shares"] == 1
    assert counts["count-wrong-shares"] == 0
    assert counts["count-shares-good"] == 9
    assert counts["count-shares-needed"] == 3
    assert counts["count-shares-expected"] == 10
    assert counts["count-good-share-hosts"] == 10
    assert counts["count-happiness"] == 9
    assert (counts["count-recoverable-versions"], counts["count-unrecoverable-versions"]) == (1, 0)
    assert (counts["healthy"], counts["recoverable"]) == (False, True)
    assert json.loads(json.dumps(data)) == data


def test_literal_files_are_healthy_without_servers() -> None:
    """A LIT file checks healthy with an empty storage index and is never repaired."""
    assert LiteralCheckResults().healthy
    assert check_results_json(LiteralCheckResults()) == {
        "storage-index": "",
        "results": {"healthy": True},
    }
    assert check_and_repair_results_json(LiteralCheckResults()) == {
        "storage-index": "",
        "repair-attempted": False,
    }


def test_repair_json_nests_both_checks() -> None:
    """Check-and-repair JSON: attempted, successful, and both checks in check JSON shape."""
    pre = _results(_one_each(7))
    post = pre.with_shares_added({"v0-new": frozenset({7, 8, 9})})
    results = CheckAndRepairResults(pre, post, repair_attempted=True, repair_successful=True)
    data = check_and_repair_results_json(results)
    assert set(data) == {
        "storage-index",
        "repair-attempted",
        "repair-successful",
        "pre-repair-results",
        "post-repair-results",
    }
    assert data["storage-index"] == b2a(STORAGE_INDEX)
    assert (data["repair-attempted"], data["repair-successful"]) == (True, True)
    assert data["pre-repair-results"] == check_results_json(pre)
    assert data["post-repair-results"]["summary"] == "Healthy"


def test_shares_added_count_as_good_and_their_servers_as_responding() -> None:
    """with_shares_added merges holders and servers, keeping corrupt shares listed."""
    corrupt = (ShareLocation("v0-bad", STORAGE_INDEX, 1),)
    pre = _results({0: frozenset({"v0-a"})}, corrupt_shares=corrupt)
    post = pre.with_shares_added({"v0-a": frozenset({1}), "v0-b": frozenset({0, 2})})
    assert post.sharemap == {
        0: frozenset({"v0-a", "v0-b"}),
        1: frozenset({"v0-a"}),
        2: frozenset({"v0-b"}),
    }
    assert post.servers_responding == ("v0-a", "v0-b")
    assert post.corrupt_shares == corrupt
    assert pre.sharemap == {0: frozenset({"v0-a"})}
