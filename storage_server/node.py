"""The storage node: a Tub serving the storage core, with its upkeep timers.

Rules: everything the node needs comes in through the constructor (node
directory, parsed config, identity, reactor); starting the service creates
what is missing on disk, listens, registers the storage server under the
FURL kept in ``private/storage.furl`` (so clients' FURLs stay valid across
restarts), and writes ``my_nodeid`` and ``permutation-seed`` as Tahoe does (a new
node's seed is the base32 of its public key's base32 text, byte for byte
what Tahoe 1.20 writes). The lease checker crawls the shares in the
background and deletes expired ones only when ``[storage] expire.enabled``.
Each start publishes a newly signed storage announcement (seqnum one higher
than the last, a fresh nonce) to every introducer in
``private/introducers.yaml`` and ``[client] introducer.furl``.
Every remote call is counted and timed (:mod:`storage_server.statistics`);
the statistics are in :attr:`StorageNodeService.metrics` once started, and
the node's web gateway (the client service in the same process) serves them
at ``/statistics``.
"""

import os
from functools import partial
from pathlib import Path
from typing import Any

import attrs
from twisted.application.service import MultiService
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from grid import __version__
from grid.base32 import a2b, b2a
from grid.config import NodeConfig
from grid.errors import ConfigError
from introducer.announcements import sign_announcement, storage_announcement_fields
from introducer.cache import AnnouncementCache, cache_path
from introducer.client import IntroducerClient
from introducer.introducers_file import load_introducers
from introducer.node_identity import NodeIdentity
from introducer.seqnum import next_seqnum
from introducer.tub import build_tub, parse_tub_address
from storage_server.crawler import lease_checking_crawler
from storage_server.crawler_service import CrawlerService
from storage_server.expiry import parse_expiry_config
from storage_server.server import StorageServer
from storage_server.statistics import (
    MeteredStorageServer,
    ShareCensus,
    StorageMetrics,
    read_disk_usage,
)

IDLE_BUCKET_CHECK_INTERVAL = 300.0

log = Logger()


@attrs.frozen
class StorageSettings:
    """The ``[storage]`` settings the node runs with."""

    storage_dir: Path
    reserved_space: int
    readonly: bool


def storage_settings(node_dir: Path, config: NodeConfig) -> StorageSettings:
    """Read ``[storage]`` from the config; raise ConfigError for bad values."""
    storage_dir = Path(config.get("storage", "storage_dir") or "storage")
    if not storage_dir.is_absolute():
        storage_dir = node_dir / storage_dir
    return StorageSettings(
        storage_dir=storage_dir,
        reserved_space=config.get_size("storage", "reserved_space", 0),
        readonly=config.get_bool("storage", "readonly", default=False),
    )


class StorageNodeService(MultiService):
    """Runs a storage server on a Tub for as long as the service runs."""

    def __init__(
        self,
        node_dir: Path,
        config: NodeConfig,
        identity: NodeIdentity,
        reactor: IReactorTime,
    ) -> None:
        """Prepare a node from its directory, config and identity; nothing starts yet."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.node_dir = node_dir
        self.config = config
        self.identity = identity
        self.reactor = reactor
        self.furl: str | None = None
        self.server: StorageServer | None = None
        self.metrics: StorageMetrics | None = None
        self.introducer_clients: list[IntroducerClient] = []

    def startService(self) -> None:  # noqa: N802  Twisted's name
        """Listen, register the storage server, write the node files, start upkeep."""
        address = parse_tub_address(
            self.config.get("node", "tub.port"), self.config.get("node", "tub.location")
        )
        if address.listen is None:
            raise ConfigError("a storage node must listen: set [node] tub.port and tub.location")
        settings = storage_settings(self.node_dir, self.config)
        tub = build_tub(self.identity.tub_certificate, address)
        tub.setServiceParent(self)
        nodeid = a2b(tub.getTubID())
        server = StorageServer(
            settings.storage_dir,
            nodeid,
            clock=self.reactor.seconds,
            reserved_space=settings.reserved_space,
            readonly=settings.readonly,
            application_version=f"grid/{__version__}".encode(),
        )
        server.start()
        self.server = server
        policy = parse_expiry_config(self.config.sections.get("storage", {}))
        crawler = lease_checking_crawler(settings.storage_dir, policy, self.reactor.seconds)
        metrics = StorageMetrics(
            server,
            ShareCensus(settings.storage_dir, crawler.history, self.reactor.seconds),
            partial(read_disk_usage, settings.storage_dir),
            reserved_space=settings.reserved_space,
        )
        self.metrics = metrics
        private = self.node_dir / "private"
        self.furl = tub.registerReference(
            MeteredStorageServer(server, metrics, self.reactor.seconds),
            furlFile=str(private / "storage.furl"),
        )
        (private / "storage.furl").chmod(0o600)
        (self.node_dir / "my_nodeid").write_text(b2a(nodeid) + "\n")
        CrawlerService(crawler, self.reactor).setServiceParent(self)  # type: ignore[no-untyped-call]
        self._announce(tub, settings.storage_dir)
        upkeep = LoopingCall(server.abort_idle_buckets)
        upkeep.clock = self.reactor
        upkeep.start(IDLE_BUCKET_CHECK_INTERVAL, now=False)
        self._upkeep = upkeep
        super().startService()  # type: ignore[no-untyped-call]
        log.info(
            "storage server {nodeid} listening on {listen}, shares in {storage_dir}",
            nodeid=b2a(nodeid),
            listen=address.listen,
            storage_dir=str(settings.storage_dir),
        )

    def stopService(self) -> Any:  # noqa: N802  Twisted's name
        """Stop announcing and the upkeep timer, then the Tub."""
        for client in self.introducer_clients:
            client.stop()
        if self._upkeep.running:
            self._upkeep.stop()
        return super().stopService()  # type: ignore[no-untyped-call]

    def _announce(self, tub: Any, storage_dir: Path) -> None:
        """Publish a freshly signed storage announcement to every introducer."""
        seed = self._write_permutation_seed(storage_dir)
        nickname = self.config.get("node", "nickname") or ""
        app_version = f"grid/{__version__}"
        fields = storage_announcement_fields(
            nickname=nickname,
            furl=self.furl or "",
            permutation_seed_b32=seed,
            seqnum=next_seqnum(self.node_dir),
            nonce=b2a(os.urandom(32)),
            app_version=app_version,
        )
        announcement = sign_announcement(fields, self.identity.signing_key)
        for petname, furl in load_introducers(self.node_dir, self.config).items():
            client = IntroducerClient(
                petname,
                furl,
                tub,
                self.reactor,
                AnnouncementCache(cache_path(self.node_dir, petname)),
                nickname=nickname,
                app_version=app_version,
                on_announcement=lambda _announcement: None,
            )
            client.publish(announcement)
            client.start()
            self.introducer_clients.append(client)

    def _write_permutation_seed(self, storage_dir: Path) -> str:
        seed_file = self.node_dir / "permutation-seed"
        if seed_file.exists():
            return seed_file.read_text().strip()
        key_text = self.identity.signing_key.verifying_key.to_id().removeprefix("v0-")
        seed = b2a(key_text.encode("ascii"))
        shares = storage_dir / "shares"
        if shares.is_dir() and any(path.name != "incoming" for path in shares.iterdir()):
            seed = (self.node_dir / "my_nodeid").read_text().strip()
        seed_file.write_text(seed + "\n")
        return seed
