"""What a check of a mutable file found, and what a repair did: frozen records.

Rules (Tahoe-LAFS 1.20's mutable checker):

- A mutable file may hold several *versions* at once. A version is named
  ``seq<seqnum>-<first 4 base32 characters of its root hash>``; the share
  map's keys are ``<version name>-sh<shnum>``, for the good shares of every
  version, each mapped to the ids of the servers holding that copy.
- The counted version is the best recoverable one (the highest seqnum, then
  root hash, among versions with at least k distinct shares); failing that
  the newest unrecoverable one; failing that nothing, and k and N are
  Tahoe's defaults, 3 and 10. ``count-shares-good``, ``-needed``,
  ``-expected`` and ``count-good-share-hosts`` describe the counted version;
  ``count-wrong-shares`` is how many share copies belong to other versions.
- A file is *healthy* when exactly one version exists, it is recoverable
  and all N of its share numbers have a good copy. It is *recoverable* when
  any version is.
- The summary is ``"Healthy"``, else ``"Unhealthy: "`` and then, space
  separated and in this order: ``some versions are unrecoverable``,
  ``no versions are recoverable``, ``multiple versions are recoverable``,
  ``<good> shares (enc <k>-of-<N>)`` (when the best version lacks shares),
  and ``Corrupt Shares:`` followed by ``<server short name>-sh<shnum>`` for
  each corrupt share.
"""

from collections.abc import Iterable, Mapping

import attrs

from client.check.results import ShareLocation
from grid.base32 import b2a
from grid.placement import happiness

DEFAULT_NEEDED_SHARES = 3
DEFAULT_TOTAL_SHARES = 10


def server_short_name(server_id: str) -> str:
    """A server's name for people, as Tahoe shortens it: eight characters of its id."""
    return server_id.removeprefix("v0-")[:8]


def _frozen_holders(value: Mapping[int, frozenset[str]]) -> dict[int, frozenset[str]]:
    return {shnum: frozenset(value[shnum]) for shnum in sorted(value) if value[shnum]}


def _newest_first(value: "Iterable[VersionShares]") -> "tuple[VersionShares, ...]":
    return tuple(sorted(value, key=lambda version: version.rank, reverse=True))


@attrs.frozen
class VersionShares:
    """One version of the file and the servers holding a good copy of each of its shares."""

    seqnum: int
    root_hash: bytes
    needed_shares: int
    total_shares: int
    holders: Mapping[int, frozenset[str]] = attrs.field(converter=_frozen_holders)

    @property
    def name(self) -> str:
        """``seq<seqnum>-<root hash prefix>``, as Tahoe names versions."""
        return f"seq{self.seqnum}-{b2a(self.root_hash)[:4]}"

    @property
    def rank(self) -> tuple[int, bytes]:
        """Newer versions rank higher: by seqnum, then by root hash."""
        return (self.seqnum, self.root_hash)

    @property
    def distinct_shares(self) -> int:
        """How many share numbers have a good copy."""
        return len(self.holders)

    @property
    def copies(self) -> int:
        """How many good share copies there are, counting every server."""
        return sum(len(servers) for servers in self.holders.values())

    @property
    def hosts(self) -> frozenset[str]:
        """The servers holding at least one good share of this version."""
        return frozenset[str]().union(*self.holders.values())

    @property
    def recoverable(self) -> bool:
        """Whether at least k distinct shares have a good copy."""
        return self.distinct_shares >= self.needed_shares


@attrs.frozen
class MutableCheckResults:
    """The versions and shares of one mutable file that a check or verify found.

    ``versions`` holds every version with a good share, newest first;
    ``servers_responding`` lists, in permuted order, the servers that
    answered; ``corrupt_shares`` lists the shares found bad (their servers
    were told).
    """

    storage_index: bytes
    versions: tuple[VersionShares, ...] = attrs.field(converter=_newest_first)
    servers_responding: tuple[str, ...]
    corrupt_shares: tuple[ShareLocation, ...] = ()

    @property
    def recoverable_versions(self) -> tuple[VersionShares, ...]:
        """The recoverable versions, newest first."""
        return tuple(version for version in self.versions if version.recoverable)

    @property
    def unrecoverable_versions(self) -> tuple[VersionShares, ...]:
        """The versions with fewer than k distinct good shares, newest first."""
        return tuple(version for version in self.versions if not version.recoverable)

    @property
    def best_version(self) -> VersionShares | None:
        """The newest recoverable version, if any."""
        recoverable = self.recoverable_versions
        return recoverable[0] if recoverable else None

    @property
    def counted_version(self) -> VersionShares | None:
        """The version the share counts describe (see the module rules)."""
        if self.best_version is not None:
            return self.best_version
        return self.versions[0] if self.versions else None

    @property
    def needed_shares(self) -> int:
        """K of the counted version."""
        counted = self.counted_version
        return DEFAULT_NEEDED_SHARES if counted is None else counted.needed_shares

    @property
    def total_shares(self) -> int:
        """N of the counted version."""
        counted = self.counted_version
        return DEFAULT_TOTAL_SHARES if counted is None else counted.total_shares

    @property
    def count_shares_good(self) -> int:
        """How many distinct share numbers of the counted version have a good copy."""
        counted = self.counted_version
        return 0 if counted is None else counted.distinct_shares

    @property
    def count_good_share_hosts(self) -> int:
        """How many servers hold a good share of the counted version."""
        counted = self.counted_version
        return 0 if counted is None else len(counted.hosts)

    @property
    def count_wrong_shares(self) -> int:
        """How many good share copies belong to versions other than the counted one."""
        counted = self.counted_version
        return sum(version.copies for version in self.versions if version is not counted)

    @property
    def sharemap(self) -> dict[str, frozenset[str]]:
        """``<version name>-sh<shnum>`` → the servers holding that good copy."""
        shares: dict[str, frozenset[str]] = {}
        for version in self.versions:
            for shnum, servers in version.holders.items():
                key = f"{version.name}-sh{shnum}"
                shares[key] = shares.get(key, frozenset()) | servers
        return shares

    @property
    def happiness(self) -> int:
        """The servers-of-happiness of the share map (share ids matched to servers)."""
        numbers = {share_id: number for number, share_id in enumerate(sorted(self.sharemap))}
        by_server: dict[str, set[int]] = {}
        for share_id, servers in self.sharemap.items():
            for server_id in servers:
                by_server.setdefault(server_id, set()).add(numbers[share_id])
        return happiness({server_id: by_server[server_id] for server_id in sorted(by_server)})

    @property
    def share_hosts(self) -> frozenset[str]:
        """Every server holding any share of the file: good, wrong or corrupt."""
        hosts = frozenset[str]().union(*(version.hosts for version in self.versions))
        return hosts | {location.server_id for location in self.corrupt_shares}

    @property
    def recoverable(self) -> bool:
        """Whether any version is recoverable."""
        return self.best_version is not None

    @property
    def healthy(self) -> bool:
        """One version only, recoverable, with all N shares."""
        best = self.best_version
        return (
            best is not None
            and len(self.versions) == 1
            and best.distinct_shares >= best.total_shares
        )

    @property
    def summary(self) -> str:
        """One line, worded as Tahoe-LAFS words it."""
        if self.healthy:
            return "Healthy"
        parts = []
        if self.unrecoverable_versions:
            parts.append("some versions are unrecoverable")
        if not self.recoverable_versions:
            parts.append("no versions are recoverable")
        if len(self.recoverable_versions) > 1:
            parts.append("multiple versions are recoverable")
        best = self.best_version
        if best is not None and best.distinct_shares < best.total_shares:
            parts.append(
                f"{best.distinct_shares} shares (enc {best.needed_shares}-of-{best.total_shares})"
            )
        if self.corrupt_shares:
            parts.append("Corrupt Shares:")
            parts.extend(
                f"{server_short_name(location.server_id)}-sh{location.shnum}"
                for location in self.corrupt_shares
            )
        return "Unhealthy: " + " ".join(parts)


@attrs.frozen
class MutableCheckAndRepairResults:
    """A check of a mutable file, whether a repair was attempted, and the state after it.

    ``failure`` says, for people, why a repair was not attempted or did not
    finish.
    """

    pre_repair: MutableCheckResults
    post_repair: MutableCheckResults
    repair_attempted: bool
    repair_successful: bool
    failure: str | None = None

    @property
    def storage_index(self) -> bytes:
        """The file's storage index."""
        return self.pre_repair.storage_index
