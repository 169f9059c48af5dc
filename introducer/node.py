"""The introducer node: a Tub serving the introducer, and its status page.

Rules: the introducer's FURL is kept in ``private/introducer.furl`` (so
nodes that were given it keep reaching it across restarts); the status page
listens on ``[node] web.port`` only when that is set.
"""

from pathlib import Path
from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Site

from grid import __version__
from grid.config import NodeConfig
from grid.errors import ConfigError
from grid.metrics_web import StatisticsPage
from introducer.node_identity import NodeIdentity
from introducer.registry import IntroducerRegistry
from introducer.server_adapter import FoolscapIntroducerService
from introducer.statistics import introducer_metrics
from introducer.tub import build_tub, parse_tub_address
from introducer.web import IntroducerStatusPage

log = Logger()


class IntroducerNodeService(MultiService):
    """Runs an introducer on a Tub (and its status page) while the service runs."""

    def __init__(
        self, node_dir: Path, config: NodeConfig, identity: NodeIdentity, reactor: Any
    ) -> None:
        """Prepare an introducer from its directory, config and identity; nothing starts yet."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.node_dir = node_dir
        self.config = config
        self.identity = identity
        self.reactor: IReactorTime = reactor
        self.furl: str | None = None
        self.registry: IntroducerRegistry | None = None

    def startService(self) -> None:  # noqa: N802  Twisted's name
        """Listen, register the introducer, start the status page if configured."""
        address = parse_tub_address(
            self.config.get("node", "tub.port"), self.config.get("node", "tub.location")
        )
        if address.listen is None:
            raise ConfigError("an introducer must listen: set [node] tub.port and tub.location")
        tub = build_tub(self.identity.tub_certificate, address)
        tub.setServiceParent(self)
        registry = IntroducerRegistry(self.reactor.seconds)
        self.registry = registry
        furl_file = self.node_dir / "private" / "introducer.furl"
        self.furl = tub.registerReference(
            FoolscapIntroducerService(registry, f"grid/{__version__}".encode()),
            furlFile=str(furl_file),
        )
        furl_file.chmod(0o600)
        web_port = (self.config.get("node", "web.port") or "").strip()
        if web_port:
            root = Resource()  # type: ignore[no-untyped-call]
            root.putChild(
                b"", IntroducerStatusPage(registry, self.reactor.seconds, self.identity.node_id)
            )
            root.putChild(b"statistics", StatisticsPage([introducer_metrics(registry)]))
            endpoint = serverFromString(self.reactor, web_port)  # type: ignore[no-untyped-call]
            site = Site(root)  # type: ignore[no-untyped-call]
            StreamServerEndpointService(endpoint, site).setServiceParent(self)  # type: ignore[no-untyped-call]
        super().startService()  # type: ignore[no-untyped-call]
        log.info("introducer listening on {listen}", listen=address.listen)
