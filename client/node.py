"""The client node: introducer clients, the storage broker and the web gateway.

Rules: everything comes in through the constructor; starting the service
subscribes to storage announcements at every configured introducer (cached
ones are used at once), adds the static servers of ``private/servers.yaml``,
connects the broker, and serves the web gateway on ``[node] web.port``,
writing its URL to ``node.url`` as Tahoe does. The client side only makes
outgoing connections, so it uses a Tub of its own that does not listen (a
node that also stores shares keeps its listening Tub, and its tub id, for
the storage server).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from foolscap.api import Tub
from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.resource import IResource

from client.checking import CheckService
from client.file_service import FileService
from client.mutable.key_pool import KeyPool
from client.mutable.service import MutableService
from client.node_maker import NodeMaker
from client.node_url import write_node_url
from client.storage_broker import StorageBroker
from client.storage_subscriptions import storage_introducer_clients
from client.web.access_log import access_log_line
from client.web.form_body import form_site
from grid.caps import MutableFormat
from grid.config import NodeConfig
from grid.errors import ConfigError
from introducer.client import IntroducerClient
from introducer.node_identity import NodeIdentity
from introducer.static_servers import load_static_servers
from introducer.tub import TubAddress, check_port_free

log = Logger()

GatewayFactory = Callable[["ClientNodeService"], IResource]


def default_mutable_format(config: NodeConfig) -> MutableFormat:
    """``[client] mutable.format``: SDMF (the default, as in Tahoe-LAFS) or MDMF."""
    value = (config.get("client", "mutable.format") or "sdmf").strip().upper()
    try:
        return MutableFormat[value]
    except KeyError:
        raise ConfigError(
            f"[client] mutable.format must be sdmf or mdmf, not {value.lower()!r}"
        ) from None


class ClientNodeService(MultiService):
    """Runs a client node's discovery and web gateway while the service runs."""

    def __init__(
        self,
        node_dir: Path,
        config: NodeConfig,
        identity: NodeIdentity,
        reactor: Any,
        gateway: GatewayFactory,
    ) -> None:
        """Prepare a client from its directory, config and identity; nothing starts yet."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.node_dir = node_dir
        self.config = config
        self.identity = identity
        self.reactor: IReactorTime = reactor
        self._reactor = reactor
        self._gateway = gateway
        self.tub: Any = None
        self.broker: StorageBroker | None = None
        self.files: FileService | None = None
        self.node_maker: NodeMaker | None = None
        self._key_pool: KeyPool | None = None
        self.introducer_clients: list[IntroducerClient] = []
        self._web_port: Any = None

    def startService(self) -> None:  # noqa: N802  Twisted's name
        """Connect to introducers and servers, then serve the web gateway."""
        tub = Tub()
        tub.setServiceParent(self)
        self.tub = tub
        preferred = [
            server.strip()
            for server in (self.config.get("client", "peers.preferred") or "").split(",")
            if server.strip()
        ]
        broker = StorageBroker(tub, self.reactor, preferred=preferred)
        broker.add_static_servers(load_static_servers(self.node_dir))
        self.broker = broker
        files = FileService(self.node_dir, self.config, broker, self._reactor)
        self.files = files
        self._key_pool = KeyPool(files.runner, self.reactor)
        mutable = MutableService(
            broker,
            self.reactor,
            files.runner,
            needed=files.parameters.needed,
            total=files.parameters.total,
            lease_secret=files.lease_secret,
            key_pool=self._key_pool,
        )
        checker = CheckService(broker, self.reactor, files.runner, files.lease_secret)
        self.node_maker = NodeMaker(
            files, mutable, checker, default_mutable_format=default_mutable_format(self.config)
        )
        self.introducer_clients = storage_introducer_clients(
            self.node_dir, self.config, tub, self.reactor, broker
        )
        broker.start()
        for client in self.introducer_clients:
            client.start()
        self._key_pool.start()
        self._start_gateway()
        super().startService()  # type: ignore[no-untyped-call]

    def stopService(self) -> Any:  # noqa: N802  Twisted's name
        """Stop discovery and the broker, then the Tub and the gateway."""
        for client in self.introducer_clients:
            client.stop()
        if self.broker is not None:
            self.broker.stop()
        if self._key_pool is not None:
            self._key_pool.stop()
        if self._web_port is not None:
            self._web_port.stopListening()
        return super().stopService()  # type: ignore[no-untyped-call]

    def _start_gateway(self) -> None:
        web_port = (self.config.get("node", "web.port") or "").strip()
        if not web_port:
            return
        check_port_free(TubAddress(web_port, None))
        endpoint = serverFromString(self._reactor, web_port)  # type: ignore[no-untyped-call]
        site = form_site(self._gateway(self), logFormatter=access_log_line)
        endpoint.listen(site).addCallbacks(self._web_listening, self._web_failed)

    def _web_failed(self, failure: Any) -> None:
        log.failure("the web gateway could not listen", failure)
        self._reactor.stop()

    def _web_listening(self, port: Any) -> None:
        self._web_port = port
        url = write_node_url(self.node_dir, port.getHost())
        log.info("web gateway at {url}", url=url)
