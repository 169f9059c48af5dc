"""Mutable check results: counts, health, Tahoe's summary wording and its JSON shape."""

from client.check import (
    MutableCheckAndRepairResults,
    MutableCheckResults,
    VersionShares,
    check_and_repair_results_json,
    check_results_json,
)
from client.check.results import ShareLocation
from grid.base32 import b2a

STORAGE_INDEX = b"s" * 16
ROOT_1 = b"\x01" * 32
ROOT_2 = b"\x02" * 32
JSON_KEYS = {
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


def _server(index: int) -> str:
    return "v0-" + b2a(bytes([index]) * 32)


def _version(
    seqnum: int, root: bytes, shnums: range | list[int], *, offset: int = 0
) -> VersionShares:
    """A 3-of-10 version whose share ``n`` sits on server ``n + offset``."""
    return VersionShares(
        seqnum=seqnum,
        root_hash=root,
        needed_shares=3,
        total_shares=10,
        holders={shnum: frozenset({_server(shnum + offset)}) for shnum in shnums},
    )


def _results(
    *versions: VersionShares, corrupt: tuple[ShareLocation, ...] = ()
) -> MutableCheckResults:
    return MutableCheckResults(
        storage_index=STORAGE_INDEX,
        versions=versions,
        servers_responding=tuple(_server(index) for index in range(20)),
        corrupt_shares=corrupt,
    )


def test_all_shares_of_one_version_is_healthy() -> None:
    """Ten distinct shares of the only version: Healthy, full counts, Tahoe's share ids."""
    results = _results(_version(4, ROOT_1, range(10)))
    assert results.healthy
    assert results.recoverable
    assert results.summary == "Healthy"
    assert (results.count_shares_good, results.count_good_share_hosts) == (10, 10)
    assert results.count_wrong_shares == 0
    assert results.happiness == 10
    name = f"seq4-{b2a(ROOT_1)[:4]}"
    assert set(results.sharemap) == {f"{name}-sh{shnum}" for shnum in range(10)}


def test_missing_shares_are_worded_as_tahoe_words_them() -> None:
    """Seven of ten shares: not healthy, still recoverable, "7 shares (enc 3-of-10)"."""
    results = _results(_version(1, ROOT_1, range(7)))
    assert not results.healthy
    assert results.recoverable
    assert results.summary == "Unhealthy: 7 shares (enc 3-of-10)"


def test_two_recoverable_versions_count_the_newest_and_call_the_rest_wrong() -> None:
    """The higher seqnum is counted; the other version's copies are wrong shares."""
    old = _version(1, ROOT_2, range(6))
    new = _version(2, ROOT_1, range(6, 10), offset=0)
    results = _results(old, new)
    assert results.versions == (new, old)
    assert results.best_version == new
    assert results.count_shares_good == 4
    assert results.count_wrong_shares == 6
    assert len(results.recoverable_versions) == 2
    assert results.summary == "Unhealthy: multiple versions are recoverable 4 shares (enc 3-of-10)"
    counts = check_results_json(results)["results"]
    assert counts["count-recoverable-versions"] == 2
    assert counts["count-unrecoverable-versions"] == 0
    assert counts["count-wrong-shares"] == 6


def test_same_seqnum_versions_rank_by_root_hash() -> None:
    """Two versions with one seqnum: the higher root hash is the best, as Tahoe picks."""
    low = _version(3, ROOT_1, range(10))
    high = _version(3, ROOT_2, range(10), offset=10)
    assert _results(low, high).best_version == high


def test_an_unrecoverable_newer_version_makes_the_file_unhealthy() -> None:
    """All ten shares of seq1 and two of seq2: unhealthy, seq1 counted."""
    results = _results(_version(1, ROOT_1, range(10)), _version(2, ROOT_2, [0, 1], offset=10))
    assert not results.healthy
    assert results.recoverable
    assert results.best_version is not None
    assert results.best_version.seqnum == 1
    assert results.count_shares_good == 10
    assert results.count_wrong_shares == 2
    assert results.summary == "Unhealthy: some versions are unrecoverable"


def test_only_unrecoverable_versions_count_the_newest_of_them() -> None:
    """Two shares of the only version: counted, but neither recoverable nor healthy."""
    results = _results(_version(5, ROOT_1, [3, 4]))
    assert not results.recoverable
    assert results.count_shares_good == 2
    assert (
        results.summary == "Unhealthy: some versions are unrecoverable no versions are recoverable"
    )
    counts = check_results_json(results)["results"]
    assert (counts["count-recoverable-versions"], counts["count-unrecoverable-versions"]) == (0, 1)


def test_nothing_found_uses_tahoes_default_encoding() -> None:
    """No share anywhere: 3-of-10 as Tahoe reports it, no versions recoverable."""
    results = _results()
    assert (results.needed_shares, results.total_shares) == (3, 10)
    assert results.count_shares_good == 0
    assert results.count_good_share_hosts == 0
    assert results.happiness == 0
    assert results.summary == "Unhealthy: no versions are recoverable"


def test_corrupt_shares_are_named_in_an_unhealthy_summary_only() -> None:
    """Corrupt shares append "Corrupt Shares:" and short names, but a healthy file says Healthy."""
    corrupt = (ShareLocation(_server(40), STORAGE_INDEX, 9),)
    unhealthy = _results(_version(1, ROOT_1, range(9)), corrupt=corrupt)
    short = _server(40)[3:11]
    assert unhealthy.summary == f"Unhealthy: 9 shares (enc 3-of-10) Corrupt Shares: {short}-sh9"
    healthy = _results(_version(1, ROOT_1, range(10)), corrupt=corrupt)
    assert healthy.summary == "Healthy"
    assert _server(40) in healthy.share_hosts
    counts = check_results_json(healthy)["results"]
    assert counts["count-corrupt-shares"] == 1
    assert counts["list-corrupt-shares"] == [[_server(40), b2a(STORAGE_INDEX), 9]]


def test_happiness_matches_share_ids_to_distinct_servers() -> None:
    """Four shares on two servers match at most two of them."""
    version = VersionShares(
        seqnum=1,
        root_hash=ROOT_1,
        needed_shares=2,
        total_shares=4,
        holders={
            0: frozenset({_server(1)}),
            1: frozenset({_server(1)}),
            2: frozenset({_server(2)}),
            3: frozenset({_server(2)}),
        },
    )
    results = _results(version)
    assert results.count_good_share_hosts == 2
    assert results.happiness == 2
    assert results.healthy


def test_check_json_has_tahoes_keys_and_sorted_servers() -> None:
    """The JSON has exactly Tahoe's keys; share ids map to sorted server ids."""
    version = VersionShares(
        seqnum=1,
        root_hash=ROOT_1,
        needed_shares=1,
        total_shares=1,
        holders={0: frozenset({_server(9), _server(3)})},
    )
    data = check_results_json(_results(version))
    assert set(data) == {"storage-index", "summary", "results"}
    assert data["storage-index"] == b2a(STORAGE_INDEX)
    assert set(data["results"]) == JSON_KEYS
    assert data["results"]["sharemap"] == {f"seq1-{b2a(ROOT_1)[:4]}-sh0": [_server(3), _server(9)]}
    assert data["results"]["servers-responding"] == [_server(index) for index in range(20)]


def test_check_and_repair_json_nests_both_checks() -> None:
    """A repair's JSON says what was attempted and holds the checks before and after."""
    before = _results(_version(1, ROOT_1, range(7)))
    after = _results(_version(2, ROOT_2, range(10)))
    data = check_and_repair_results_json(
        MutableCheckAndRepairResults(before, after, repair_attempted=True, repair_successful=True)
    )
    assert data["storage-index"] == b2a(STORAGE_INDEX)
    assert (data["repair-attempted"], data["repair-successful"]) == (True, True)
    assert data["pre-repair-results"]["summary"] == "Unhealthy: 7 shares (enc 3-of-10)"
    assert data["post-repair-results"]["summary"] == "Healthy"
