"""The storage servers a client knows, their connections, and the permuted order.

Rules (Tahoe-LAFS 1.20): servers come from introducer announcements of the
``storage`` service and from ``private/servers.yaml``; a static server
overrides any announcement for the same server id. An announcement whose
fields equal the ones held changes nothing; one with new fields and the
same FURL updates the description in place; a new FURL replaces the
server's connection. Announcements of other services, and ones that do not
describe a usable server, are logged and ignored. When one server connects,
every server waiting to reconnect tries at once, so a client that was
offline reconnects to all its servers together rather than to a subset.
The upload and download order for a storage index is the connected
servers sorted by (not preferred, SHA1(storage index + permutation seed)).
"""

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from client.errors import ServerAnnouncementError
from client.server_connection import StorageServerConnection
from client.server_description import ServerDescription, describe_storage_server
from grid.errors import ConfigError
from grid.hashing import permute_server_hash
from introducer.cache import Announcement

STORAGE_SERVICE = "storage"

_log = logging.getLogger(__name__)


class StorageBroker:
    """Knows every storage server, keeps connections to them, and orders them per file."""

    def __init__(
        self,
        tub: Any,
        clock: IReactorTime,
        *,
        preferred: Collection[str] = (),
        jitter: Callable[[], float] = lambda: 1.0,
    ) -> None:
        """Remember the Tub to connect through and the preferred server ids."""
        self._tub = tub
        self._clock = clock
        self._preferred = frozenset(preferred)
        self._jitter = jitter
        self._servers: dict[str, StorageServerConnection] = {}
        self._static_ids: set[str] = set()
        self._waiters: list[tuple[int, Deferred[None]]] = []
        self._started = False

    def add_static_servers(self, servers: Mapping[str, Mapping[str, Any]]) -> None:
        """Add servers from ``servers.yaml`` entries; raise ConfigError naming a bad one."""
        for server_id, entry in sorted(servers.items()):
            try:
                description = describe_storage_server(server_id, entry["ann"])
            except (ServerAnnouncementError, KeyError, TypeError) as error:
                raise ConfigError(f"static server {server_id}: {error}") from None
            self._static_ids.add(server_id)
            self._install(description)

    def on_announcement(self, announcement: Announcement) -> None:
        """Add or update the server a storage announcement describes; ignore the rest."""
        if announcement.service_name != STORAGE_SERVICE:
            return
        server_id = announcement.server_id
        if server_id in self._static_ids:
            _log.info("storage-broker.static-overrides-announcement server=%s", server_id)
            return
        held = self._servers.get(server_id)
        if held is not None and held.description.announcement == announcement.fields:
            return
        try:
            description = describe_storage_server(server_id, announcement.fields)
        except ServerAnnouncementError as error:
            _log.warning(
                "storage-broker.unusable-announcement server=%s error=%s", server_id, error
            )
            return
        self._install(description)

    def start(self) -> None:
        """Begin connecting to every known server (and to servers learned later)."""
        self._started = True
        for connection in self._servers.values():
            connection.start()

    def stop(self) -> None:
        """Stop every connection."""
        self._started = False
        for connection in self._servers.values():
            connection.stop()

    def get_server(self, server_id: str) -> StorageServerConnection | None:
        """The server with this id, if known."""
        return self._servers.get(server_id)

    def servers(self) -> list[StorageServerConnection]:
        """Every known server, connected or not, by server id."""
        return [self._servers[server_id] for server_id in sorted(self._servers)]

    def connected_servers(self) -> list[StorageServerConnection]:
        """The servers connected now, by server id."""
        return [connection for connection in self.servers() if connection.is_connected]

    def permuted_servers(self, storage_index: bytes) -> list[StorageServerConnection]:
        """The connected servers in the order to use them for ``storage_index``."""

        def order(connection: StorageServerConnection) -> tuple[bool, bytes]:
            return (
                connection.server_id not in self._preferred,
                permute_server_hash(storage_index, connection.description.permutation_seed),
            )

        return sorted(self.connected_servers(), key=order)

    def when_connected_enough(self, threshold: int) -> "Deferred[None]":
        """A Deferred that fires (on a later turn) once ``threshold`` servers are connected."""
        waiter: Deferred[None] = Deferred()
        self._waiters.append((threshold, waiter))
        self._wake_waiters()
        return waiter

    def _install(self, description: ServerDescription) -> None:
        """Add a server, update one in place, or replace one whose FURL changed."""
        held = self._servers.get(description.server_id)
        if held is not None and held.description.furl == description.furl:
            held.description = description
            return
        if held is not None:
            _log.info("storage-broker.replaced server=%s", description.short_name)
            held.stop()
        connection = StorageServerConnection(
            description,
            self._tub,
            self._clock,
            on_connected=self._server_connected,
            jitter=self._jitter,
        )
        self._servers[description.server_id] = connection
        if self._started:
            connection.start()

    def _server_connected(self, connected: StorageServerConnection) -> None:
        """Wake waiters, and hurry every other server that is waiting to reconnect."""
        self._wake_waiters()
        for connection in list(self._servers.values()):
            if connection is not connected:
                connection.retry_now()

    def _wake_waiters(self) -> None:
        """Fire the waiters whose threshold is met, each on a later turn of the clock."""
        count = len(self.connected_servers())
        waiting = []
        for threshold, waiter in self._waiters:
            if count >= threshold:
                self._clock.callLater(0, waiter.callback, None)
            else:
                waiting.append((threshold, waiter))
        self._waiters = waiting
