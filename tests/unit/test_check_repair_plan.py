"""Where a repair places rebuilt shares: empty servers first, never beside a copy."""

from hypothesis import given
from hypothesis import strategies as st

from client.check.repair_plan import place_rebuilt_shares


def test_empty_servers_get_one_share_each_in_permuted_order() -> None:
    """Three lost shares, three empty servers among full ones: one each, in server order."""
    holdings = {f"s{i}": {i} for i in range(7)}
    servers = ["s0", "e1", "s1", "e2", "s2", "e3", "s3", "s4", "s5", "s6"]
    plan = place_rebuilt_shares([9, 7, 8], servers=servers, holdings=holdings)
    assert plan == {"e1": frozenset({7}), "e2": frozenset({8}), "e3": frozenset({9})}


def test_a_share_never_goes_to_a_server_holding_a_copy() -> None:
    """The holder of a (corrupt) copy of share 3 is passed over for it."""
    holdings = {"a": {3}, "b": {0, 1}}
    plan = place_rebuilt_shares([3], servers=["a", "b"], holdings=holdings)
    assert plan == {"b": frozenset({3})}


def test_excluded_pairs_and_no_eligible_server_leave_shares_out() -> None:
    """Excluded (server, share) pairs are avoided; a share with nowhere to go is left out."""
    plan = place_rebuilt_shares(
        [1, 2], servers=["a", "b"], holdings={"b": {2}}, excluded={"a": {2}, "b": {1}}
    )
    assert plan == {"a": frozenset({1})}


@given(
    shares=st.sets(st.integers(0, 9)),
    holdings=st.dictionaries(
        st.sampled_from([f"s{i}" for i in range(6)]), st.sets(st.integers(0, 9))
    ),
)
def test_every_share_is_placed_once_on_a_server_without_it(
    shares: set[int], holdings: dict[str, set[int]]
) -> None:
    """Each share lands once, never beside a copy; it is left out only if every server has it."""
    servers = [f"s{i}" for i in range(6)]
    plan = place_rebuilt_shares(shares, servers=servers, holdings=holdings)
    placed = [shnum for shnums in plan.values() for shnum in shnums]
    assert len(placed) == len(set(placed))
    assert set(placed) <= shares
    for server, shnums in plan.items():
        assert not shnums & holdings.get(server, set())
    for shnum in shares - set(placed):
        assert all(shnum in holdings.get(server, set()) for server in servers)
