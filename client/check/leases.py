"""Adding (or renewing) this client's leases on the shares of a file, CHK or mutable alike.

Rules:

- ``add_lease(storage_index, renew_secret, cancel_secret)`` renews every
  share of the storage index a server holds, immutable or mutable, and
  adds a lease where this client has none; a server holding no share
  ignores it. The secrets are this client's for that file on that server
  (tahoe-formats.md §9.3: derived from the client's lease secret, the
  storage index and the server's lease seed, its tub id).
- A check with ``add-lease`` asks exactly the servers the check found
  holding any share of the file, good, of another version, or corrupt
  (:func:`share_holders`), all at once, each within the timeout.
- A server that fails or does not answer is counted as failed and logged;
  nothing here raises on a server's account.
- :class:`LeaseServer` is the seam, declared here beside its consumer;
  :class:`ConnectionLeaseServer` puts a broker's connection behind it.
"""

import logging
from collections.abc import Collection, Sequence
from typing import Protocol

import attrs
from twisted.internet.interfaces import IReactorTime

from client.check.mutable_results import MutableCheckResults
from client.check.results import CheckResults
from client.download.errors import ServerFailedError, ServerTimeoutError
from client.download.remote_calls import call_remote, gather
from client.server_connection import StorageServerConnection
from client.storage_broker import StorageBroker
from grid.base32 import b2a
from grid.hashing import lease_secrets

DEFAULT_LEASE_TIMEOUT = 60.0

_log = logging.getLogger(__name__)


class LeaseServer(Protocol):
    """A storage server, as adding leases uses it."""

    @property
    def server_id(self) -> str:
        """The announced server id (``v0-…``)."""

    @property
    def name(self) -> str:
        """A short name for logs (never a secret)."""

    @property
    def lease_seed(self) -> bytes:
        """The value this server's lease secrets are derived from (its 20-byte tub id)."""

    async def add_lease(
        self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes
    ) -> None:
        """Add or renew a lease on every share of ``storage_index`` the server holds."""


class ConnectionLeaseServer:
    """A broker's :class:`StorageServerConnection`, as a :class:`LeaseServer`."""

    def __init__(self, connection: StorageServerConnection) -> None:
        """Use ``connection`` for every call."""
        self._connection = connection

    @property
    def server_id(self) -> str:
        """The announced server id."""
        return self._connection.server_id

    @property
    def name(self) -> str:
        """The server's short name."""
        return self._connection.description.short_name

    @property
    def lease_seed(self) -> bytes:
        """The server's tub id."""
        return self._connection.description.lease_seed

    async def add_lease(
        self, storage_index: bytes, renew_secret: bytes, cancel_secret: bytes
    ) -> None:
        """Call ``add_lease``."""
        await self._connection.call("add_lease", storage_index, renew_secret, cancel_secret)


@attrs.frozen
class LeaseResults:
    """Which servers renewed this client's leases on a file, and which failed to."""

    storage_index: bytes
    renewed: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def count_renewed(self) -> int:
        """How many servers renewed."""
        return len(self.renewed)

    @property
    def count_failed(self) -> int:
        """How many servers failed or did not answer."""
        return len(self.failed)


def share_holders(results: CheckResults | MutableCheckResults) -> frozenset[str]:
    """The ids of the servers a check found holding any share of the file."""
    if isinstance(results, MutableCheckResults):
        return results.share_hosts
    located = (*results.corrupt_shares, *results.incompatible_shares)
    return frozenset(results.server_shares()) | {location.server_id for location in located}


def lease_servers(
    broker: StorageBroker, storage_index: bytes, server_ids: Collection[str]
) -> list[ConnectionLeaseServer]:
    """The broker's connected servers among ``server_ids``, in permuted order."""
    return [
        ConnectionLeaseServer(connection)
        for connection in broker.permuted_servers(storage_index)
        if connection.server_id in server_ids
    ]


async def add_leases(
    storage_index: bytes,
    servers: Sequence[LeaseServer],
    *,
    lease_secret: bytes,
    clock: IReactorTime,
    timeout: float = DEFAULT_LEASE_TIMEOUT,
) -> LeaseResults:
    """Send ``add_lease`` with this client's secrets to every server in ``servers``."""
    outcomes = await gather(
        *(
            _add_lease(server, storage_index, lease_secret, clock=clock, timeout=timeout)
            for server in servers
        )
    )
    renewed = tuple(server.server_id for server, ok in zip(servers, outcomes, strict=True) if ok)
    failed = tuple(server.server_id for server, ok in zip(servers, outcomes, strict=True) if not ok)
    _log.info(
        "check.add-lease si=%s renewed=%d failed=%d", b2a(storage_index), len(renewed), len(failed)
    )
    return LeaseResults(storage_index, renewed, failed)


async def _add_lease(
    server: LeaseServer,
    storage_index: bytes,
    lease_secret: bytes,
    *,
    clock: IReactorTime,
    timeout: float,
) -> bool:
    """Renew on one server; False if it failed or did not answer."""
    renew_secret, cancel_secret = lease_secrets(lease_secret, storage_index, server.lease_seed)
    try:
        await call_remote(
            clock,
            timeout,
            f"add_lease to {server.name}",
            lambda: server.add_lease(storage_index, renew_secret, cancel_secret),
        )
    except (ServerFailedError, ServerTimeoutError) as error:
        _log.info("check.add-lease.failed server=%s error=%s", server.name, error)
        return False
    return True
