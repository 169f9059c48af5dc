"""Placing a new mutable version's shares: over the old ones, then one per fresh server."""

from hypothesis import given
from hypothesis import strategies as st

from client.mutable.mdmf_update import splice_region, touched_segments
from client.mutable.placement import NEW_SHARE_TEST, place_shares, write_test_vector

SERVERS = [f"s{index}" for index in range(10)]


def test_new_file_puts_one_share_on_each_server_in_order() -> None:
    """With no shares anywhere, share i goes to the i-th server, each tested as new."""
    plan = place_shares(SERVERS, {}, 10)
    assert plan == {f"s{index}": {index: None} for index in range(10)}


def test_existing_shares_are_rewritten_where_they_are() -> None:
    """Held shares are rewritten in place, tested on their start; the rest go to empty servers."""
    found = {"s3": {0: b"old-0"}, "s5": {1: b"old-1", 2: b"old-2"}, "s9": {0: b"other-0"}}
    plan = place_shares(SERVERS, found, 5)
    assert plan["s3"] == {0: b"old-0"}
    assert plan["s5"] == {1: b"old-1", 2: b"old-2"}
    assert plan["s9"] == {0: b"other-0"}
    assert plan["s0"] == {3: None}
    assert plan["s1"] == {4: None}
    assert set(plan) == {"s0", "s1", "s3", "s5", "s9"}


def test_share_numbers_past_n_are_left_alone() -> None:
    """A share numbered N or more (from a wider old version) is neither rewritten nor counted."""
    plan = place_shares(SERVERS[:3], {"s0": {7: b"x"}}, 3)
    assert all(7 not in shares for shares in plan.values())
    assert sorted(shnum for shares in plan.values() for shnum in shares) == [0, 1, 2]


def test_too_few_servers_take_several_shares_each() -> None:
    """Three servers for ten shares: round-robin in permuted order, never one number twice."""
    plan = place_shares(["a", "b", "c"], {}, 10)
    assert plan == {
        "a": {0: None, 3: None, 6: None, 9: None},
        "b": {1: None, 4: None, 7: None},
        "c": {2: None, 5: None, 8: None},
    }


@given(
    servers=st.integers(min_value=1, max_value=12),
    total=st.integers(min_value=1, max_value=12),
    held=st.dictionaries(
        st.integers(min_value=0, max_value=11),
        st.sets(st.integers(min_value=0, max_value=14), max_size=4),
        max_size=6,
    ),
)
def test_every_share_number_is_placed(servers: int, total: int, held: dict[int, set[int]]) -> None:
    """Every number below N is written somewhere; every old share below N is rewritten in place."""
    names = [f"s{index}" for index in range(servers)]
    found = {
        f"s{index}": dict.fromkeys(shnums, b"x")
        for index, shnums in held.items()
        if index < servers
    }
    plan = place_shares(names, found, total)
    placed = {shnum for shares in plan.values() for shnum in shares}
    assert placed == set(range(total))
    for server, shares in found.items():
        for shnum in shares:
            if shnum < total:
                assert plan[server][shnum] == b"x"
    fresh = [server for server in names if not found.get(server)]
    new_shares = sorted(set(range(total)) - {s for shares in found.values() for s in shares})
    if len(fresh) >= len(new_shares):
        assert all(
            len([s for s in plan.get(server, {}) if plan[server][s] is None]) <= 1
            for server in names
        )


def test_write_test_vectors() -> None:
    """A new share must not exist; an old one must still start as the servermap saw it."""
    assert write_test_vector(None, 41) == NEW_SHARE_TEST == (0, 1, b"eq", b"")
    assert write_test_vector(b"a" * 57, 41) == (0, 41, b"eq", b"a" * 41)
    assert write_test_vector(b"short", 57) == (0, 57, b"eq", b"short")


def test_touched_segments_of_a_write() -> None:
    """Touched: from the segment holding min(offset, old end) to the one holding the last byte."""
    assert touched_segments(100, 250, 0, 1) == (0, 0)
    assert touched_segments(100, 250, 99, 2) == (0, 1)
    assert touched_segments(100, 250, 100, 100) == (1, 1)
    assert touched_segments(100, 250, 260, 5) == (2, 2)
    assert touched_segments(100, 250, 420, 5) == (2, 4)
    assert touched_segments(100, 300, 300, 1) == (3, 3)


def test_splice_region_zero_fills_a_gap() -> None:
    """Writing past the end of a region zero-fills the gap; inside, it overwrites in place."""
    assert splice_region(b"abcdef", 2, b"XY") == b"abXYef"
    assert splice_region(b"abc", 5, b"Z") == b"abc\x00\x00Z"
    assert splice_region(b"abc", 2, b"XYZ") == b"abXYZ"
