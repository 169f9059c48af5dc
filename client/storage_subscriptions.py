"""Subscribing a node's storage broker to storage announcements at every introducer.

Rules: one :class:`IntroducerClient` per introducer in
``private/introducers.yaml`` and ``[client] introducer.furl``, each with its
announcement cache (so cached servers are known at once), subscribed to the
``storage`` service and feeding the broker. Nothing starts here: the caller
starts the broker, then the clients, and stops them in reverse.
"""

from pathlib import Path
from typing import Any

from client.storage_broker import StorageBroker
from grid import __version__
from grid.config import NodeConfig
from introducer.cache import AnnouncementCache, cache_path
from introducer.client import IntroducerClient
from introducer.introducers_file import load_introducers


def storage_introducer_clients(
    node_dir: Path, config: NodeConfig, tub: Any, reactor: Any, broker: StorageBroker
) -> list[IntroducerClient]:
    """An introducer client per configured introducer, subscribed to storage for ``broker``."""
    nickname = config.get("node", "nickname") or ""
    clients = []
    for petname, furl in load_introducers(node_dir, config).items():
        client = IntroducerClient(
            petname,
            furl,
            tub,
            reactor,
            AnnouncementCache(cache_path(node_dir, petname)),
            nickname=nickname,
            app_version=f"grid/{__version__}",
            on_announcement=broker.on_announcement,
        )
        client.subscribe_to("storage")
        clients.append(client)
    return clients
