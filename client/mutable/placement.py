"""Where a new version's shares go (pure): over the old shares, then on fresh servers.

Rules (as Tahoe's publisher places mutable shares):

- Every share the servermap found, good or bad, of any version, whose number
  is below N is rewritten where it is, with a test vector comparing the bytes
  the servermap saw at its start (so a concurrent writer is detected).
- Each share number no server holds goes to the next server, in permuted
  order, that holds no share of this file yet: one share per server where
  possible. When the servers run out, the rest go round-robin over all
  answering servers, in permuted order, to servers not holding that number.
- A new share is tested with ``(0, 1, b"eq", b"")``: it must not exist yet.
"""

from collections.abc import Collection, Mapping, Sequence

NEW_SHARE_TEST = (0, 1, b"eq", b"")

Placement = dict[str, dict[int, bytes | None]]
"""Server id -> share number -> the start the share must still have (None: must not exist)."""


def place_shares(
    servers: Sequence[str],
    found: Mapping[str, Mapping[int, bytes]],
    total: int,
    *,
    wanted: Collection[int] | None = None,
) -> Placement:
    """Plan which share numbers each server gets, and what each write must find first.

    ``servers`` are the answering servers in permuted order; ``found`` holds
    what each of them already has (share number -> bytes at its start);
    ``wanted`` limits the share numbers to place (default: all of 0..N-1).
    """
    wanted_shares = set(range(total) if wanted is None else wanted)
    plan: Placement = {server: {} for server in servers}
    held: set[int] = set()
    for server in servers:
        for shnum, start in found.get(server, {}).items():
            if shnum in wanted_shares:
                plan[server][shnum] = start
                held.add(shnum)
    missing = sorted(wanted_shares - held)
    empty = [server for server in servers if not found.get(server)]
    for server, shnum in zip(empty, missing, strict=False):
        plan[server][shnum] = None
    remaining = missing[len(empty) :]
    _round_robin(plan, servers, remaining)
    return {server: shares for server, shares in plan.items() if shares}


def _round_robin(plan: Placement, servers: Sequence[str], shnums: list[int]) -> None:
    """Give each of ``shnums`` to the next server (cycling) that does not hold it."""
    if not servers:
        return
    position = 0
    for shnum in shnums:
        for step in range(len(servers)):
            server = servers[(position + step) % len(servers)]
            if shnum not in plan[server]:
                plan[server][shnum] = None
                position = (position + step + 1) % len(servers)
                break


def write_test_vector(start: bytes | None, size: int) -> tuple[int, int, bytes, bytes]:
    """The test vector for a write: the share's old start, or "must not exist"."""
    if start is None:
        return NEW_SHARE_TEST
    return (0, size, b"eq", start[:size])
