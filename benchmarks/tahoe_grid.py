"""A real Tahoe-LAFS 1.20 grid on loopback, shaped like ``grid local``, for benchmarks.

Rules: the grid is an introducer, ten storage nodes and one client, every one
a ``tahoe run`` process of the cached Tahoe 1.20 environment
(:mod:`tests.interop.tahoe_env`, installed on first use), listening on
127.0.0.1 only. The client uses k=3, happy=7, N=10, the shares ``grid
local`` configures, and learns its servers from the introducer; the grid
counts as up once the client reports a live connection to all ten. Nodes
are started and stopped by the interop harness's
:class:`~tests.interop.tahoe_nodes.NodeSupervisor`, which stops exactly the
processes it started, even on error.
"""

import contextlib
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import attrs

from benchmarks.local_grid import HAPPY, LOOPBACK, NEEDED, STORAGE_NODES, TOTAL
from tests.interop.client_settings import ClientSettings
from tests.interop.grids import start_storage_grid
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import cache_root, ensure_tahoe_env
from tests.interop.tahoe_nodes import NodeSupervisor


@attrs.frozen
class TahoeGrid:
    """A running Tahoe grid: its client node and that client's web address."""

    client: TahoeClient
    host: str
    port: int

    def client_pid(self) -> int:
        """The client node's pid (``tahoe run`` runs the node in its own process)."""
        return self.client.node.process.pid


@contextlib.contextmanager
def running_tahoe_grid(base: Path) -> Iterator[TahoeGrid]:
    """Start an introducer, ten storage nodes and a client under ``base``; stop them after."""
    env = ensure_tahoe_env(cache_root(os.environ))
    supervisor = NodeSupervisor()
    try:
        storage = start_storage_grid(
            supervisor,
            base,
            env.tahoe,
            [(env.tahoe, f"storage-{index}") for index in range(STORAGE_NODES)],
            introducer_web=False,
        )
        client_dir = base / "client"
        client = start_tahoe_client(
            supervisor,
            env,
            client_dir,
            ClientSettings(needed=NEEDED, happy=HAPPY, total=TOTAL),
            introducer_furl=storage.introducer.furl,
            server_ids=storage.server_ids,
        )
        url = urllib.parse.urlsplit(client.web_url)
        yield TahoeGrid(client, url.hostname or LOOPBACK, url.port or 80)
    finally:
        supervisor.stop_all()
