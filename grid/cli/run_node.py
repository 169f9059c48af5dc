"""``grid run DIR``: run a node in the foreground until SIGINT or SIGTERM.

Rules: the node's kind comes from the marker file Tahoe-LAFS uses
(``tahoe-client.tac`` or ``tahoe-introducer.tac``). The config is checked
before anything starts: keys Tahoe does not know stop the node, keys we do
not use are listed as warnings. Logs (Twisted's and the standard library's) go to stdout and
``DIR/logs/node.log``.
A failure while starting is one line on stderr and exit status 1.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from twisted.logger import Logger, globalLogBeginner, textFileLogObserver

from client.node import ClientNodeService
from client.web.gateway import build_gateway
from grid.cli.memory import tune_allocator
from grid.cli.parsing import UsageError
from grid.config import NodeConfig, parse_config
from grid.errors import ConfigError, GridError
from introducer.node import IntroducerNodeService
from introducer.node_identity import load_node_identity
from storage_server.node import StorageNodeService

log = Logger()


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid run``."""
    parser = commands.add_parser("run", help="run a node in the foreground")
    parser.add_argument("node_dir", type=Path, metavar="DIR", help="the node directory")
    parser.set_defaults(handler=run)


def load_config(node_dir: Path) -> NodeConfig:
    """Read and check a node's tahoe.cfg; report unused keys on stderr."""
    config_path = node_dir / "tahoe.cfg"
    if not config_path.is_file():
        raise UsageError(f"grid run: {node_dir} is not a node directory (no tahoe.cfg)")
    config = parse_config(config_path.read_text())
    report = config.key_report()
    if report.unknown:
        raise ConfigError(f"tahoe.cfg has unknown keys: {', '.join(report.unknown)}")
    for name in report.unsupported:
        print(
            f"grid run: warning: tahoe.cfg key {name} is not supported and is ignored",
            file=sys.stderr,
        )
    return config


def run(arguments: argparse.Namespace) -> int:
    """Start the node and run the reactor until the node is told to stop."""
    node_dir: Path = arguments.node_dir.resolve()
    config = load_config(node_dir)
    identity = load_node_identity(node_dir)
    tune_allocator()
    from twisted.internet import reactor  # noqa: PLC0415  installing the reactor is the run's job

    services: list[IntroducerNodeService | StorageNodeService | ClientNodeService] = []
    if (node_dir / "tahoe-introducer.tac").exists():
        services.append(IntroducerNodeService(node_dir, config, identity, reactor))
    else:
        storage = None
        if config.get_bool("storage", "enabled", default=True):
            storage = StorageNodeService(node_dir, config, identity, reactor)
            services.append(storage)

        def gateway(node: ClientNodeService) -> Any:
            metrics = None if storage is None else storage.metrics
            return build_gateway(node, () if metrics is None else (metrics.registry,))

        services.append(ClientNodeService(node_dir, config, identity, reactor, gateway))
    return run_services(node_dir, services, reactor, "the node")


def run_services(node_dir: Path, services: Sequence[Any], reactor: Any, what: str) -> int:
    """Log to ``DIR/logs/node.log`` and stdout, start ``services``, run until stopped.

    A service that fails to start stops the run; GridError then names ``what``
    and the first failure. Services are stopped before the reactor shuts down.
    """
    failures: list[str] = []

    def start() -> None:
        for service in services:
            try:
                service.startService()
            except Exception as error:  # noqa: BLE001  any start-up failure ends the run in one line
                failures.append(str(error) or type(error).__name__)
                reactor.stop()
                return
            reactor.addSystemEventTrigger("before", "shutdown", service.stopService)

    _begin_logging(node_dir)
    reactor.callWhenRunning(start)
    reactor.run()
    if failures:
        raise GridError(f"{what} did not start: {failures[0]}")
    return 0


def _begin_logging(node_dir: Path) -> None:
    logs = node_dir / "logs"
    logs.mkdir(exist_ok=True)
    log_file: TextIO = (logs / "node.log").open("a", encoding="utf-8")
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stdout), textFileLogObserver(log_file)],
        redirectStandardIO=False,
    )
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s [%(name)s#%(levelname)s] %(message)s",
        handlers=[logging.StreamHandler(sys.stdout), logging.StreamHandler(log_file)],
    )
