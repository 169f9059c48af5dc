"""Servers-of-happiness: where the shares of an immutable upload go.

Rules:

- *Happiness* is the size of a maximum matching in the bipartite graph
  between servers and the share numbers they hold (or will hold): the number
  of servers that can each be credited with a share no other counted server
  is credited with. A server holding many shares counts once.
- :func:`place_shares` follows Tahoe-LAFS 1.20's "Upload Strategy of
  Happiness" in three matchings, then spreads what is left:

  1. **M1**: read-only servers ↔ the shares they already hold.
  2. **M2**: writable servers ↔ the shares they already hold, leaving out the
     shares M1 used.
  3. **M3**: writable servers unmatched by M2 ↔ shares matched by neither.
     The graph is complete (a writable server can take any share), so the
     i-th open server in order gets the i-th open share, where open shares
     are ordered: shares no server holds first, then shares held only by
     servers outside M1/M2, each group ascending. (A server left open by M2
     holds no open share, so M3 never assigns a share where it already is.)
  4. **Leftovers**, the open shares M3 had no server for: one that some
     server already holds stays where it is (not uploaded again); one no
     server holds goes to the writable server that will then hold the fewest
     shares of this file, the earlier server on ties. From empty servers this
     is round-robin in server order (10 shares on 3 servers: 4/3/3).

- Earlier servers are preferred: :func:`maximum_matching` takes servers in
  order, and matches each one if any augmenting path reaches a free share,
  so the set of matched servers is the greedy (lexicographically first)
  one among all maximum matchings: for every prefix of the server order, as
  many of its servers are matched as the prefix alone could match.
- So the plan's happiness is exactly ``min(|M1| + #writable, total_shares)``;
  M2 only decides which existing shares are reused.
- A share may end up on a second server: M3 gives an open share to a new
  server even if an unmatched server holds it, because that raises
  happiness (Tahoe does the same). The plan adds no other second copies.
- Where Tahoe differs, on purpose: Tahoe uploads a leftover share again when
  only read-only servers hold it, and leaves out of M3 a writable server
  whose existing shares M1 all took; neither changes happiness here.
- Existing share numbers outside ``0 .. total_shares-1`` (a server may report
  anything) are ignored.
- Pure: no I/O, no clock, no randomness; the same arguments in the same
  order give the same plan. Whether the plan is good enough is the caller's
  decision (compare ``plan.happiness`` with ``happy``).
"""

import heapq
from collections.abc import Collection, Mapping, Sequence

import attrs

from grid.codec import MAX_SHARES
from grid.errors import EncodingParametersError, GridError


class ServerListError(GridError, ValueError):
    """The server arguments to :func:`place_shares` contradict each other."""


@attrs.frozen
class PlacementPlan:
    """Where an upload's shares will live: existing shares and new allocations.

    Both mappings list servers in the order they were given, and only servers
    with at least one share.
    """

    assignments: Mapping[str, frozenset[int]]
    """Server id → share numbers to allocate there (new shares only)."""
    existing: Mapping[str, frozenset[int]]
    """Server id → valid share numbers the server already holds; all count."""
    happiness: int
    """Maximum-matching size of ``existing`` and ``assignments`` together."""


def maximum_matching(placements: Mapping[str, Collection[int]]) -> dict[str, int]:
    """Return a maximum matching, server id → share number, preferring earlier servers.

    Servers are taken in the mapping's order. Each takes its lowest-numbered
    unmatched share if it has one; otherwise a depth-first search over its
    shares in ascending order looks for an augmenting path. Matched servers
    stay matched, so earlier servers win ties. A failed search's shares are
    dead for good (no later augmenting path can pass through them), which
    keeps the whole run near O(matching size · edges).
    """
    edges = {server: sorted(set(shares)) for server, shares in placements.items()}
    share_count = len(set[int]().union(*edges.values()))
    owner: dict[int, str] = {}
    matched: dict[str, int] = {}
    dead: set[int] = set()
    for server, shares in edges.items():
        if len(owner) == share_count:
            break
        free = next((share for share in shares if share not in owner), None)
        if free is not None:
            owner[free] = server
            matched[server] = free
        else:
            _augment(server, edges, owner, matched, dead)
    return {server: matched[server] for server in edges if server in matched}


def _augment(
    root: str,
    edges: Mapping[str, Sequence[int]],
    owner: dict[int, str],
    matched: dict[str, int],
    dead: set[int],
) -> None:
    """Extend the matching by an augmenting path from ``root``, or mark its tree dead."""
    visited: set[int] = set()
    path_servers = [root]
    path_shares: list[int] = []
    cursors = [iter(edges[root])]
    while cursors:
        for share in cursors[-1]:
            if share in visited or share in dead:
                continue
            visited.add(share)
            path_shares.append(share)
            holder = owner.get(share)
            if holder is None:
                for server, taken in zip(path_servers, path_shares, strict=True):
                    owner[taken] = server
                    matched[server] = taken
                return
            path_servers.append(holder)
            cursors.append(iter(edges[holder]))
            break
        else:
            cursors.pop()
            path_servers.pop()
            if path_shares:
                path_shares.pop()
    dead.update(visited)


def happiness(placements: Mapping[str, Collection[int]]) -> int:
    """Size of a maximum matching between servers and the share numbers they hold."""
    return len(maximum_matching(placements))


def place_shares(
    *,
    total_shares: int,
    servers: Sequence[str],
    writable: Collection[str],
    existing: Mapping[str, Collection[int]],
    happy: int,
) -> PlacementPlan:
    """Plan where ``total_shares`` shares go, as Tahoe's happiness strategy does.

    ``servers`` are the candidates in permuted order (earlier preferred);
    ``writable`` those that accept new shares; ``existing`` the shares each
    server reported holding. ``happy`` is checked (1 ≤ happy ≤ total_shares)
    but does not change the plan. See the module docstring for the rules.
    Raises :class:`EncodingParametersError` or :class:`ServerListError`.
    """
    _check_arguments(total_shares, servers, writable, existing, happy)
    held = {
        server: frozenset(share for share in existing.get(server, ()) if 0 <= share < total_shares)
        for server in servers
    }
    writable_set = set(writable)
    read_only_servers = [server for server in servers if server not in writable_set]
    writable_servers = [server for server in servers if server in writable_set]

    first = maximum_matching({server: held[server] for server in read_only_servers})
    kept = set(first.values())
    second = maximum_matching({server: held[server] - kept for server in writable_servers})
    kept.update(second.values())

    stored = frozenset[int]().union(*held.values())
    open_shares = sorted(
        set(range(total_shares)) - kept, key=lambda share: (share in stored, share)
    )
    open_servers = [server for server in writable_servers if server not in second]
    assignments = {
        server: {share} for server, share in zip(open_servers, open_shares, strict=False)
    }
    homeless = [share for share in open_shares[len(open_servers) :] if share not in stored]
    _spread(homeless, writable_servers, held, assignments)

    plan_existing = {server: shares for server, shares in held.items() if shares}
    plan_assignments = {
        server: frozenset(assignments[server]) for server in servers if server in assignments
    }
    combined = {
        server: plan_existing.get(server, frozenset()) | plan_assignments.get(server, frozenset())
        for server in servers
    }
    return PlacementPlan(
        assignments=plan_assignments,
        existing=plan_existing,
        happiness=happiness(combined),
    )


def _spread(
    homeless: Sequence[int],
    writable_servers: Sequence[str],
    held: Mapping[str, frozenset[int]],
    assignments: dict[str, set[int]],
) -> None:
    """Give each homeless share to the least-loaded writable server, earlier on ties."""
    if not writable_servers:
        return
    loads = [
        (len(held[server]) + len(assignments.get(server, ())), position, server)
        for position, server in enumerate(writable_servers)
    ]
    heapq.heapify(loads)
    for share in homeless:
        load, position, server = loads[0]
        assignments.setdefault(server, set()).add(share)
        heapq.heapreplace(loads, (load + 1, position, server))


def _check_arguments(
    total_shares: int,
    servers: Sequence[str],
    writable: Collection[str],
    existing: Mapping[str, Collection[int]],
    happy: int,
) -> None:
    """Raise unless the arguments of :func:`place_shares` are consistent."""
    if not 1 <= total_shares <= MAX_SHARES:
        raise EncodingParametersError(f"need 1 <= N <= {MAX_SHARES}, got N={total_shares}")
    if not 1 <= happy <= total_shares:
        raise EncodingParametersError(f"need 1 <= happy <= N={total_shares}, got happy={happy}")
    known = set(servers)
    if len(known) != len(servers):
        raise ServerListError("a server appears more than once among the candidates")
    if not known.issuperset(writable):
        raise ServerListError("a writable server is not among the candidates")
    if not known.issuperset(existing):
        raise ServerListError("existing shares are reported for a server not among the candidates")
