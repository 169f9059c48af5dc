"""Adding leases: this client's secrets per server, failures and silences counted, never raised."""

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from client.check import (
    CheckResults,
    LeaseResults,
    MutableCheckResults,
    VersionShares,
    add_leases,
    share_holders,
)
from client.check.results import ShareLocation
from grid.hashing import lease_secrets

STORAGE_INDEX = b"i" * 16
LEASE_SECRET = b"c" * 32
TIMEOUT = 30.0


@attrs.define
class FakeLeaseServer:
    """A server that records add_lease calls, and answers, fails or never answers."""

    server_id: str
    lease_seed: bytes
    behaviour: str = "answer"
    calls: list[tuple[bytes, bytes, bytes]] = attrs.Factory(list)

    @property
    def name(self) -> str:
        """The id, short enough for logs."""
        return self.server_id[:8]

    async def add_lease(
        self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes
    ) -> None:
        """Record the call; answer as this server's behaviour says."""
        self.calls.append((storage_index, renew_secret, cancel_secret))
        if self.behaviour == "fail":
            raise ConnectionError("connection lost")
        if self.behaviour == "hang":
            await Deferred()


def _run(servers: list[FakeLeaseServer], clock: Clock) -> "Deferred[LeaseResults]":
    return Deferred.fromCoroutine(
        add_leases(STORAGE_INDEX, servers, lease_secret=LEASE_SECRET, clock=clock, timeout=TIMEOUT)
    )


def _result(done: "Deferred[LeaseResults]") -> LeaseResults:
    """The results a finished run fired with."""
    results = done.result
    assert isinstance(results, LeaseResults)
    return results


def test_each_server_gets_this_clients_secrets_for_it() -> None:
    """Every server is sent the renew and cancel secrets derived from its own lease seed."""
    servers = [FakeLeaseServer(f"v0-server{index}", bytes([index]) * 20) for index in range(3)]
    clock = Clock()
    done = _run(servers, clock)
    results = _result(done)
    assert results.count_renewed == 3
    assert results.count_failed == 0
    assert results.renewed == tuple(server.server_id for server in servers)
    for server in servers:
        renew, cancel = lease_secrets(LEASE_SECRET, STORAGE_INDEX, server.lease_seed)
        assert server.calls == [(STORAGE_INDEX, renew, cancel)]
    assert len({server.calls[0][1] for server in servers}) == 3


def test_failing_and_silent_servers_are_counted_not_raised() -> None:
    """One server fails at once and one never answers: both are failures after the timeout."""
    servers = [
        FakeLeaseServer("v0-good", b"g" * 20),
        FakeLeaseServer("v0-broken", b"b" * 20, behaviour="fail"),
        FakeLeaseServer("v0-silent", b"s" * 20, behaviour="hang"),
    ]
    clock = Clock()
    done = _run(servers, clock)
    assert not done.called
    clock.advance(TIMEOUT)
    results = _result(done)
    assert results.renewed == ("v0-good",)
    assert results.failed == ("v0-broken", "v0-silent")
    assert (results.count_renewed, results.count_failed) == (1, 2)


def test_no_servers_renew_nothing() -> None:
    """With no holders nothing is sent and nothing is renewed."""
    results = _result(_run([], Clock()))
    assert (results.count_renewed, results.count_failed) == (0, 0)


def test_holders_of_a_chk_check_include_corrupt_and_incompatible_shares() -> None:
    """Servers with good, corrupt or incompatible shares all hold the file; others do not."""
    results = CheckResults(
        storage_index=STORAGE_INDEX,
        needed_shares=3,
        total_shares=10,
        sharemap={0: frozenset({"v0-a"}), 1: frozenset({"v0-a", "v0-b"})},
        servers_responding=("v0-a", "v0-b", "v0-c", "v0-d", "v0-e"),
        corrupt_shares=(ShareLocation("v0-c", STORAGE_INDEX, 2),),
        incompatible_shares=(ShareLocation("v0-d", STORAGE_INDEX, 3),),
    )
    assert share_holders(results) == {"v0-a", "v0-b", "v0-c", "v0-d"}


def test_holders_of_a_mutable_check_include_every_version_and_corrupt_shares() -> None:
    """Servers holding any version's share, or a corrupt one, hold the file."""
    versions = [
        VersionShares(1, b"\x01" * 32, 3, 10, {0: frozenset({"v0-old"})}),
        VersionShares(2, b"\x02" * 32, 3, 10, {0: frozenset({"v0-new"})}),
    ]
    results = MutableCheckResults(
        storage_index=STORAGE_INDEX,
        versions=versions,
        servers_responding=("v0-old", "v0-new", "v0-bad", "v0-empty"),
        corrupt_shares=(ShareLocation("v0-bad", STORAGE_INDEX, 1),),
    )
    assert share_holders(results) == {"v0-old", "v0-new", "v0-bad"}
