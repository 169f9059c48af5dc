"""The repair agent's node service: join the grid, run the scheduler, serve reports.

Rules: everything comes in through the constructor; starting the service
makes a Tub that only connects out (with the node's certificate, so its
tub id stays the same across restarts), a :class:`~client.storage_broker.StorageBroker`
fed by every configured introducer (cached announcements are used at once,
as the client node does) and by ``private/servers.yaml``, a
:class:`~client.checking.CheckService` using the lease secret in
``private/secret``, and a :class:`~client.repair_agent.scheduler.Scheduler`
over the state file, which checks nothing until ``min_servers`` servers are
connected. With ``[node] web.port`` set, the reports are served there and
the URL is written to ``node.url``. Stopping waits for a check in progress
to finish, so its outcome reaches the state file.
"""

from pathlib import Path
from typing import Any

from foolscap.api import Tub
from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.web.server import Site

from client.checking import CheckService
from client.node_url import write_node_url
from client.repair_agent.checker import CheckServiceChecker
from client.repair_agent.metrics import AgentMetrics
from client.repair_agent.scheduler import Scheduler
from client.repair_agent.settings import agent_settings
from client.repair_agent.store import StateStore, state_path
from client.repair_agent.web import agent_site_root
from client.storage_broker import StorageBroker
from client.storage_subscriptions import storage_introducer_clients
from client.upload.cpu import ThreadPoolRunner
from client.web.statistics import broker_metrics
from grid.base32 import a2b
from grid.config import NodeConfig
from grid.errors import ConfigError, EncodingError
from introducer.client import IntroducerClient
from introducer.node_identity import NodeIdentity
from introducer.static_servers import load_static_servers
from introducer.tub import TubAddress, check_port_free

log = Logger()


def read_lease_secret(node_dir: Path) -> bytes:
    """The lease secret in ``private/secret``; ConfigError if it is missing or not base32."""
    path = node_dir / "private" / "secret"
    try:
        return a2b(path.read_text().strip())
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing; is this a repair agent directory?") from None
    except EncodingError:
        raise ConfigError(f"{path} does not hold base32") from None


class RepairAgentService(MultiService):
    """Runs a repair agent while the service runs."""

    def __init__(
        self, node_dir: Path, config: NodeConfig, identity: NodeIdentity, reactor: Any
    ) -> None:
        """Prepare the agent from its directory, config and identity; nothing starts yet."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.node_dir = node_dir
        self.config = config
        self.identity = identity
        self._reactor = reactor
        self.store = StateStore(state_path(node_dir))
        self.metrics = AgentMetrics.register()
        self.broker: StorageBroker | None = None
        self.scheduler: Scheduler | None = None
        self.introducer_clients: list[IntroducerClient] = []
        self._web_port: Any = None

    def startService(self) -> None:  # noqa: N802  Twisted's name
        """Join the grid, start checking, and serve the reports."""
        settings = agent_settings(self.config)
        lease_secret = read_lease_secret(self.node_dir)
        self.store.load()
        tub = Tub(certData=self.identity.tub_certificate)
        tub.setServiceParent(self)
        broker = StorageBroker(tub, self._reactor)
        broker.add_static_servers(load_static_servers(self.node_dir))
        self.broker = broker
        runner = ThreadPoolRunner(self._reactor, self._reactor.getThreadPool())
        checks = CheckService(broker, self._reactor, runner, lease_secret)
        self.scheduler = Scheduler(
            self._reactor,
            self.store,
            CheckServiceChecker(checks, verify=settings.verify),
            settings.schedule,
            ready=lambda: len(broker.connected_servers()) >= settings.min_servers,
            metrics=self.metrics,
        )
        self.introducer_clients = storage_introducer_clients(
            self.node_dir, self.config, tub, self._reactor, broker
        )
        broker.start()
        for client in self.introducer_clients:
            client.start()
        self._start_web(broker)
        self.scheduler.start()
        super().startService()  # type: ignore[no-untyped-call]

    def stopService(self) -> Any:  # noqa: N802  Twisted's name
        """Stop checking (letting a check in progress finish), then discovery and the Tub."""
        finished = self.scheduler.stop() if self.scheduler is not None else None
        for client in self.introducer_clients:
            client.stop()
        if self._web_port is not None:
            self._web_port.stopListening()

        def stop_rest(_: object) -> Any:
            if self.broker is not None:
                self.broker.stop()
            return super(RepairAgentService, self).stopService()  # type: ignore[no-untyped-call]

        if finished is None:
            return stop_rest(None)
        return finished.addCallback(stop_rest)

    def _start_web(self, broker: StorageBroker) -> None:
        web_port = (self.config.get("node", "web.port") or "").strip()
        if not web_port:
            return
        check_port_free(TubAddress(web_port, None))
        endpoint = serverFromString(self._reactor, web_port)  # type: ignore[no-untyped-call]
        root = agent_site_root(self.store, (self.metrics.registry, broker_metrics(broker)))
        site = Site(root)  # type: ignore[no-untyped-call]
        endpoint.listen(site).addCallbacks(self._web_listening, self._web_failed)

    def _web_failed(self, failure: Any) -> None:
        log.failure("the repair agent's web port could not listen", failure)
        self._reactor.stop()

    def _web_listening(self, port: Any) -> None:
        self._web_port = port
        url = write_node_url(self.node_dir, port.getHost())
        log.info("repair agent reports at {url}", url=url)
