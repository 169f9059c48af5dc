"""What the harness knows of any running client node, Tahoe's or ours: its web API and servers.

Rules: a client counts as started only once its web API answers and it
reports a live connection to every server the caller expects; a timeout
raises :class:`~tests.interop.tahoe_nodes.NodeStartError` with the node's
log tails and the statuses it reported.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import attrs

from tests.interop.tahoe_nodes import NodeProcess, NodeStartError, wait_for
from tests.interop.web_api import is_connected, server_statuses, web_answers


class FileCli(Protocol):
    """The file commands both programs' CLIs share: put an immutable file, get a file."""

    def put(self, source: Path) -> str:
        """Upload a local file unlinked and immutable; return its cap."""
        ...

    def get(self, cap: str, destination: Path) -> bytes:
        """Download ``cap`` to a local file and return its bytes."""
        ...


@attrs.frozen
class ClientNode:
    """A running client node and the URL of its web API."""

    node: NodeProcess
    web_url: str

    def server_statuses(self) -> dict[str, str]:
        """Each known server's id mapped to its connection status, from ``GET /?t=json``."""
        return server_statuses(self.web_url)

    def connected_to(self, server_ids: Sequence[str]) -> bool:
        """Whether the client reports a live connection to every one of ``server_ids``."""
        statuses = self.server_statuses()
        return all(is_connected(statuses.get(server_id, "")) for server_id in server_ids)


def wait_for_web_api(node: NodeProcess, web_url: str) -> None:
    """Wait until a client has written ``node.url`` and its web API answers."""
    wait_for(
        lambda: (node.node_dir / "node.url").exists() and web_answers(web_url),
        what=f"node.url and the web API at {web_url}",
        node=node,
    )


def wait_until_connected(client: ClientNode, server_ids: Sequence[str]) -> None:
    """Wait until ``client`` reports a live connection to every one of ``server_ids``."""
    try:
        wait_for(
            lambda: client.connected_to(server_ids),
            what=f"connections to all {len(server_ids)} storage servers",
            node=client.node,
        )
    except NodeStartError as error:
        raise NodeStartError(f"{error}\nserver statuses: {client.server_statuses()}") from error
