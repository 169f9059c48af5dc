"""Where a repair puts the shares it rebuilds: pure, no I/O.

Rules: each share to place, in ascending order, goes to a writable server
that holds no copy of it (good, corrupt or just placed) and is not excluded
for it, choosing the server that will then hold the fewest shares of the
file, the earlier in permuted order on ties. So servers holding nothing get
shares first, one each in permuted order, which raises servers-of-happiness
as far as the servers allow; after that shares spread evenly. A share with
no eligible server is left out of the plan; the caller reports it.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence


def place_rebuilt_shares(
    shares: Iterable[int],
    *,
    servers: Sequence[str],
    holdings: Mapping[str, Collection[int]],
    excluded: Mapping[str, Collection[int]] | None = None,
) -> dict[str, frozenset[int]]:
    """Plan where ``shares`` go among ``servers`` (writable, in permuted order).

    ``holdings`` are the share numbers each server reported, good or not;
    ``excluded`` the shares a server must not be asked for again.
    """
    assigned: dict[str, set[int]] = {}
    for shnum in sorted(set(shares)):
        eligible = [
            (len(holdings.get(server, ())) + len(assigned.get(server, ())), position, server)
            for position, server in enumerate(servers)
            if shnum not in holdings.get(server, ())
            and shnum not in (excluded or {}).get(server, ())
        ]
        if eligible:
            _, _, chosen = min(eligible)
            assigned.setdefault(chosen, set()).add(shnum)
    return {server: frozenset(assigned[server]) for server in servers if server in assigned}
