"""What a check of an immutable file found, and what a repair did: frozen records.

Rules (Tahoe-LAFS 1.20's immutable checker):

- Only *good* shares are in the share map: every share a server reports,
  for a plain check; only shares that passed every hash check, for a verify.
- A file is *healthy* when all N share numbers have a good copy somewhere,
  and *recoverable* when at least k do. Happiness (the servers-of-happiness
  matching size of the share map) is reported but does not decide health.
- The summary is ``"Healthy"``, else ``"Not Healthy: <good> shares (enc
  <k>-of-<N>)"``, whether or not the file is recoverable.
- An immutable file has exactly one version, so there are no wrong shares:
  ``count-wrong-shares`` is always 0, and the version counters are 1/0 or
  0/1 as the file is recoverable or not.
- A LIT file keeps its data in the cap: it is healthy without any server,
  and is described by :class:`LiteralCheckResults`.
"""

from collections.abc import Mapping

import attrs

from grid.placement import happiness


def _sorted_sharemap(value: Mapping[int, frozenset[str]]) -> dict[int, frozenset[str]]:
    return {shnum: frozenset(value[shnum]) for shnum in sorted(value) if value[shnum]}


@attrs.frozen
class ShareLocation:
    """One share on one server: where a corrupt or incompatible share was found."""

    server_id: str
    storage_index: bytes
    shnum: int


@attrs.frozen
class CheckResults:
    """The shares of one CHK file that a check or verify found.

    ``sharemap`` maps share numbers to the ids of the servers holding a good
    copy; ``servers_responding`` lists, in permuted order, the servers that
    answered the question which shares they hold.
    """

    storage_index: bytes
    needed_shares: int
    total_shares: int
    sharemap: Mapping[int, frozenset[str]] = attrs.field(converter=_sorted_sharemap)
    servers_responding: tuple[str, ...]
    corrupt_shares: tuple[ShareLocation, ...] = ()
    incompatible_shares: tuple[ShareLocation, ...] = ()

    @property
    def count_shares_good(self) -> int:
        """How many distinct share numbers have a good copy."""
        return len(self.sharemap)

    @property
    def count_good_share_hosts(self) -> int:
        """How many servers hold at least one good share."""
        return len(frozenset[str]().union(*self.sharemap.values()))

    @property
    def happiness(self) -> int:
        """The servers-of-happiness of the good shares."""
        return happiness(self.server_shares())

    @property
    def healthy(self) -> bool:
        """Whether every one of the N shares has a good copy."""
        return self.count_shares_good >= self.total_shares

    @property
    def recoverable(self) -> bool:
        """Whether at least k distinct shares have a good copy."""
        return self.count_shares_good >= self.needed_shares

    @property
    def summary(self) -> str:
        """One line, worded as Tahoe-LAFS words it."""
        if self.healthy:
            return "Healthy"
        return (
            f"Not Healthy: {self.count_shares_good} shares "
            f"(enc {self.needed_shares}-of-{self.total_shares})"
        )

    def server_shares(self) -> dict[str, frozenset[int]]:
        """The good shares, grouped by server (servers in id order)."""
        by_server: dict[str, set[int]] = {}
        for shnum, servers in self.sharemap.items():
            for server_id in servers:
                by_server.setdefault(server_id, set()).add(shnum)
        return {server_id: frozenset(by_server[server_id]) for server_id in sorted(by_server)}

    def with_shares_added(self, placed: Mapping[str, frozenset[int]]) -> "CheckResults":
        """These results with ``placed`` (server id → share numbers) counted as good too.

        Servers that took shares count as responding; the corrupt and
        incompatible shares found before stay listed.
        """
        holders = {shnum: set(servers) for shnum, servers in self.sharemap.items()}
        responding = list(self.servers_responding)
        for server_id, shnums in placed.items():
            for shnum in shnums:
                holders.setdefault(shnum, set()).add(server_id)
            if shnums and server_id not in responding:
                responding.append(server_id)
        return attrs.evolve(
            self,
            sharemap={shnum: frozenset(servers) for shnum, servers in holders.items()},
            servers_responding=tuple(responding),
        )


@attrs.frozen
class CheckAndRepairResults:
    """A check, whether a repair was attempted, and the file's state after it.

    ``failure`` says, for people, why an attempted repair did not finish.
    """

    pre_repair: CheckResults
    post_repair: CheckResults
    repair_attempted: bool
    repair_successful: bool
    failure: str | None = None

    @property
    def storage_index(self) -> bytes:
        """The file's storage index."""
        return self.pre_repair.storage_index


@attrs.frozen
class LiteralCheckResults:
    """A LIT file: its data is in the cap, so it is healthy and no server is asked."""

    @property
    def healthy(self) -> bool:
        """Always true."""
        return True
