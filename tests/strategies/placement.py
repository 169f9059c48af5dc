"""Hypothesis strategies for share placement: bipartite graphs and upload situations."""

from collections.abc import Mapping

import attrs
from hypothesis import strategies as st

from grid.placement import PlacementPlan, place_shares


def server_ids(count: int) -> list[str]:
    """``count`` distinct server ids, in a fixed order."""
    return [f"server-{index:03d}" for index in range(count)]


@st.composite
def bipartite_graphs(
    draw: st.DrawFn, max_servers: int = 6, max_shares: int = 6
) -> dict[str, frozenset[int]]:
    """Server id → share numbers, small enough for a brute-force matcher, in random order."""
    servers = draw(st.permutations(server_ids(draw(st.integers(0, max_servers)))))
    shares = st.frozensets(st.integers(0, max_shares - 1), max_size=max_shares)
    return {server: draw(shares) for server in servers}


@attrs.frozen
class PlacementCase:
    """The arguments of one :func:`place_shares` call."""

    total_shares: int
    servers: tuple[str, ...]
    writable: frozenset[str]
    existing: Mapping[str, frozenset[int]]
    happy: int

    def plan(self) -> PlacementPlan:
        """Run :func:`place_shares` on this case."""
        return place_shares(
            total_shares=self.total_shares,
            servers=self.servers,
            writable=self.writable,
            existing=self.existing,
            happy=self.happy,
        )


@st.composite
def placement_cases(
    draw: st.DrawFn, max_servers: int = 14, max_total_shares: int = 12
) -> PlacementCase:
    """An upload situation: candidates, which are writable, and shares already out there.

    Existing share numbers may fall outside ``0 .. N-1``, as a misbehaving
    server could report.
    """
    total_shares = draw(st.integers(1, max_total_shares))
    servers = tuple(draw(st.permutations(server_ids(draw(st.integers(0, max_servers))))))
    writable = frozenset(server for server in servers if draw(st.booleans()))
    reported = st.frozensets(st.integers(-1, total_shares), max_size=total_shares + 2)
    holders = draw(st.lists(st.sampled_from(servers), unique=True)) if servers else []
    existing = {server: draw(reported) for server in holders}
    happy = draw(st.integers(1, total_shares))
    return PlacementCase(total_shares, servers, writable, existing, happy)
