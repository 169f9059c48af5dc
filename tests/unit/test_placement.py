from collections.abc import Collection, Mapping

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import EncodingParametersError
from grid.placement import (
    PlacementPlan,
    ServerListError,
    happiness,
    maximum_matching,
    place_shares,
)
from tests.strategies.placement import (
    PlacementCase,
    bipartite_graphs,
    placement_cases,
    server_ids,
)


def brute_force_matching_size(graph: Mapping[str, Collection[int]]) -> int:
    """Largest matching, by trying every choice for every server."""
    servers = list(graph)

    def best(index: int, used: frozenset[int]) -> int:
        if index == len(servers):
            return 0
        size = best(index + 1, used)
        for share in set(graph[servers[index]]) - used:
            size = max(size, 1 + best(index + 1, used | {share}))
        return size

    return best(0, frozenset())


def combined(plan: PlacementPlan) -> dict[str, frozenset[int]]:
    """Every server's shares after the plan is carried out."""
    servers = set(plan.existing) | set(plan.assignments)
    return {
        server: plan.existing.get(server, frozenset()) | plan.assignments.get(server, frozenset())
        for server in servers
    }


def valid_held(case: PlacementCase) -> dict[str, frozenset[int]]:
    """The existing shares of a case that have a share number in range, by server."""
    held = {
        server: frozenset(share for share in shares if 0 <= share < case.total_shares)
        for server, shares in case.existing.items()
    }
    return {server: shares for server, shares in held.items() if shares}


# Known cases, worked by hand.


def test_ten_shares_on_ten_empty_servers_one_each() -> None:
    """Ten shares over ten writable servers put share i on the i-th server; happiness 10."""
    servers = server_ids(10)
    plan = place_shares(total_shares=10, servers=servers, writable=servers, existing={}, happy=7)
    assert plan.assignments == {server: {index} for index, server in enumerate(servers)}
    assert plan.existing == {}
    assert plan.happiness == 10


def test_ten_shares_on_three_servers_spread_four_three_three() -> None:
    """Ten shares over three writable servers go round-robin: 4/3/3, happiness 3."""
    plan = place_shares(
        total_shares=10, servers=["a", "b", "c"], writable={"a", "b", "c"}, existing={}, happy=3
    )
    assert plan.assignments == {"a": {0, 3, 6, 9}, "b": {1, 4, 7}, "c": {2, 5, 8}}
    assert plan.happiness == 3


def test_read_only_existing_share_is_counted_not_replaced() -> None:
    """A share on a read-only server counts toward happiness and is not uploaded again."""
    plan = place_shares(
        total_shares=5,
        servers=["r", "w1", "w2", "w3", "w4"],
        writable={"w1", "w2", "w3", "w4"},
        existing={"r": {0}},
        happy=5,
    )
    assert plan.existing == {"r": {0}}
    assert plan.assignments == {"w1": {1}, "w2": {2}, "w3": {3}, "w4": {4}}
    assert plan.happiness == 5


def test_server_holding_many_shares_counts_once() -> None:
    """One server holding every share gives happiness 1, and nothing is uploaded again."""
    assert happiness({"a": range(10)}) == 1
    plan = place_shares(
        total_shares=10, servers=["a"], writable={"a"}, existing={"a": range(10)}, happy=1
    )
    assert plan.assignments == {}
    assert plan.happiness == 1


def test_read_only_server_with_two_shares_keeps_the_unmatched_one() -> None:
    """A read-only server's second share stays put; M3 uploads a share stored nowhere first."""
    plan = place_shares(
        total_shares=3, servers=["r", "w"], writable={"w"}, existing={"r": {0, 1}}, happy=2
    )
    assert plan.assignments == {"w": {2}}
    assert plan.happiness == 2


def test_share_on_unmatched_server_is_copied_when_it_raises_happiness() -> None:
    """A share held only where M1 could not count it is copied to a new server, as Tahoe does."""
    plan = place_shares(
        total_shares=2, servers=["r", "w"], writable={"w"}, existing={"r": {0, 1}}, happy=2
    )
    assert plan.assignments == {"w": {1}}
    assert plan.happiness == 2


def test_writable_servers_reuse_existing_shares() -> None:
    """M2 rearranges existing shares on writable servers; the leftover goes to the emptiest."""
    plan = place_shares(
        total_shares=4,
        servers=["w1", "w2", "w3"],
        writable={"w1", "w2", "w3"},
        existing={"w1": {0, 1}, "w2": {0}},
        happy=3,
    )
    assert plan.assignments == {"w2": {3}, "w3": {2}}
    assert plan.happiness == 3


def test_leftovers_go_to_the_least_loaded_writable_server() -> None:
    """Homeless shares avoid a server already full of this file's shares."""
    plan = place_shares(
        total_shares=10,
        servers=["w1", "w2", "w3"],
        writable={"w1", "w2", "w3"},
        existing={"w1": range(6)},
        happy=3,
    )
    assert plan.assignments == {"w2": {6, 8}, "w3": {7, 9}}
    assert plan.happiness == 3


def test_no_writable_servers_assigns_nothing() -> None:
    """With only read-only servers the plan uploads nothing and counts what exists."""
    plan = place_shares(
        total_shares=10,
        servers=["r1", "r2", "r3"],
        writable=set(),
        existing={"r1": {0, 1}, "r2": {1}},
        happy=7,
    )
    assert plan.assignments == {}
    assert plan.happiness == 2


def test_no_servers_gives_an_empty_plan() -> None:
    """No candidates: nothing placed, happiness 0."""
    plan = place_shares(total_shares=10, servers=[], writable=[], existing={}, happy=7)
    assert plan == PlacementPlan(assignments={}, existing={}, happiness=0)


def test_out_of_range_existing_shares_are_ignored() -> None:
    """Share numbers a server reports outside 0..N-1 neither count nor block anything."""
    plan = place_shares(
        total_shares=3, servers=["a", "b"], writable={"b"}, existing={"a": {-1, 0, 3, 99}}, happy=2
    )
    assert plan.existing == {"a": {0}}
    assert plan.assignments == {"b": {1, 2}}
    assert plan.happiness == 2


def test_matching_prefers_earlier_servers() -> None:
    """Among maximum matchings, the earlier server gets the contested share."""
    assert maximum_matching({"a": [0], "b": [0]}) == {"a": 0}
    assert maximum_matching({"b": [0], "a": [0]}) == {"b": 0}


def test_matching_augments_through_earlier_servers() -> None:
    """A later server gets a share by moving an earlier one along an augmenting path."""
    assert maximum_matching({"a": [0, 1], "b": [0]}) == {"a": 1, "b": 0}
    chain = {"a": [0, 1], "b": [1, 2], "c": [2, 3], "d": [0]}
    assert maximum_matching(chain) == {"a": 1, "b": 2, "c": 3, "d": 0}


def test_large_grid_is_planned() -> None:
    """Hundreds of servers holding every one of 256 shares are matched fully."""
    servers = server_ids(500)
    existing = {server: range(256) for server in servers[:300]}
    plan = place_shares(
        total_shares=256, servers=servers, writable=servers[250:], existing=existing, happy=200
    )
    assert plan.happiness == 256
    assert plan.assignments == {}


def test_large_sparse_grid_is_planned() -> None:
    """Hundreds of read-only servers with overlapping shares reach the full matching."""
    servers = server_ids(400)
    existing = {
        server: {index % 256, (index * 7 + 3) % 256} for index, server in enumerate(servers)
    }
    plan = place_shares(
        total_shares=256, servers=servers, writable=[], existing=existing, happy=200
    )
    assert plan.happiness == 256


@pytest.mark.parametrize(("total_shares", "happy"), [(0, 1), (257, 7), (10, 0), (10, 11), (1, 2)])
def test_bad_parameters_are_rejected(total_shares: int, happy: int) -> None:
    """N outside 1..256 or happy outside 1..N raise EncodingParametersError."""
    with pytest.raises(EncodingParametersError):
        place_shares(
            total_shares=total_shares, servers=["a"], writable=["a"], existing={}, happy=happy
        )


@pytest.mark.parametrize(
    ("servers", "writable", "existing"),
    [
        (["a", "a"], [], {}),
        (["a"], ["b"], {}),
        (["a"], [], {"b": {0}}),
    ],
)
def test_inconsistent_servers_are_rejected(
    servers: list[str], writable: list[str], existing: dict[str, set[int]]
) -> None:
    """Duplicate candidates, or writable/existing servers not among them, raise ServerListError."""
    with pytest.raises(ServerListError):
        place_shares(total_shares=3, servers=servers, writable=writable, existing=existing, happy=1)


# Properties of the matcher.


@given(bipartite_graphs())
def test_happiness_matches_brute_force(graph: dict[str, frozenset[int]]) -> None:
    """happiness() equals the largest matching found by exhaustive search."""
    assert happiness(graph) == brute_force_matching_size(graph)


@given(bipartite_graphs())
def test_matching_is_a_matching(graph: dict[str, frozenset[int]]) -> None:
    """Each matched server gets one share it holds, and no share is used twice."""
    matching = maximum_matching(graph)
    assert all(share in graph[server] for server, share in matching.items())
    assert len(set(matching.values())) == len(matching)


@given(bipartite_graphs())
def test_matching_prefers_every_prefix(graph: dict[str, frozenset[int]]) -> None:
    """Every prefix of the server order has as many matched servers as it could match alone."""
    matching = maximum_matching(graph)
    servers = list(graph)
    for end in range(len(servers) + 1):
        prefix = {server: graph[server] for server in servers[:end]}
        assert sum(server in matching for server in prefix) == happiness(prefix)


@given(bipartite_graphs(), st.data())
def test_happiness_ignores_server_order(
    graph: dict[str, frozenset[int]], data: st.DataObject
) -> None:
    """The happiness of a graph does not depend on the order its servers are listed in."""
    servers = data.draw(st.permutations(list(graph)))
    assert happiness({server: graph[server] for server in servers}) == happiness(graph)


# Properties of the plan.


@given(placement_cases())
def test_assignments_only_to_writable_servers(case: PlacementCase) -> None:
    """New shares go only to writable servers, only in range, never where they already are."""
    plan = case.plan()
    held = valid_held(case)
    for server, shares in plan.assignments.items():
        assert server in case.writable
        assert shares
        assert all(0 <= share < case.total_shares for share in shares)
        assert shares.isdisjoint(held.get(server, frozenset()))


@given(placement_cases())
def test_every_share_is_stored_or_assigned_once(case: PlacementCase) -> None:
    """Unstored shares are assigned once (if any server is writable); stored ones at most once."""
    plan = case.plan()
    stored = frozenset[int]().union(*valid_held(case).values())
    assigned = [share for shares in plan.assignments.values() for share in shares]
    assert len(assigned) == len(set(assigned))
    if case.writable:
        assert stored | set(assigned) == set(range(case.total_shares))


@given(placement_cases())
def test_existing_is_every_valid_reported_share(case: PlacementCase) -> None:
    """The plan's existing map is exactly the in-range shares servers reported."""
    assert case.plan().existing == valid_held(case)


@given(placement_cases())
def test_happiness_is_the_matching_of_the_result(case: PlacementCase) -> None:
    """plan.happiness is the maximum matching of existing and assigned shares together."""
    plan = case.plan()
    assert plan.happiness == happiness(combined(plan))


@given(placement_cases(max_servers=6, max_total_shares=5))
def test_happiness_matches_brute_force_on_small_plans(case: PlacementCase) -> None:
    """plan.happiness agrees with exhaustive search over the resulting layout."""
    plan = case.plan()
    assert plan.happiness == brute_force_matching_size(combined(plan))


@given(placement_cases())
def test_happiness_closed_form(case: PlacementCase) -> None:
    """Happiness is the read-only servers' matching plus one per writable server, capped at N."""
    held = valid_held(case)
    read_only = {server: shares for server, shares in held.items() if server not in case.writable}
    expected = min(happiness(read_only) + len(case.writable), case.total_shares)
    assert case.plan().happiness == expected


@given(placement_cases())
def test_happiness_is_bounded(case: PlacementCase) -> None:
    """Happiness never exceeds the number of servers holding shares, nor N."""
    plan = case.plan()
    holders = [server for server, shares in combined(plan).items() if shares]
    assert plan.happiness <= min(len(holders), case.total_shares)


@given(placement_cases(), st.data())
def test_adding_a_writable_server_never_lowers_happiness(
    case: PlacementCase, data: st.DataObject
) -> None:
    """One more writable candidate, anywhere in the order, never makes the plan less happy."""
    position = data.draw(st.integers(0, len(case.servers)))
    shares = data.draw(st.frozensets(st.integers(0, case.total_shares - 1)))
    newcomer = "server-new"
    bigger = attrs.evolve(
        case,
        servers=(*case.servers[:position], newcomer, *case.servers[position:]),
        writable=case.writable | {newcomer},
        existing={**case.existing, newcomer: shares},
    )
    assert bigger.plan().happiness >= case.plan().happiness


@given(placement_cases())
def test_plan_is_deterministic(case: PlacementCase) -> None:
    """The same arguments give the same plan, mapping order included."""
    first, second = case.plan(), case.plan()
    assert first == second
    assert list(first.assignments) == list(second.assignments)
    assert list(first.existing) == list(second.existing)


@given(st.integers(1, 40), st.integers(0, 60))
def test_empty_grid_spreads_evenly(total_shares: int, server_count: int) -> None:
    """With no existing shares every share is placed once and loads differ by at most one."""
    servers = server_ids(server_count)
    plan = place_shares(
        total_shares=total_shares, servers=servers, writable=servers, existing={}, happy=1
    )
    assert plan.happiness == min(server_count, total_shares)
    if not servers:
        assert plan.assignments == {}
        return
    loads = [len(plan.assignments.get(server, ())) for server in servers]
    assert sum(loads) == total_shares
    assert max(loads) - min(loads) <= 1
    assert loads == sorted(loads, reverse=True)
