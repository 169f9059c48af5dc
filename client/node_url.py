"""The ``node.url`` file: where a node's web port can be reached.

Tools find a running node's gateway by reading this file, and may read it
while the node is starting, so it is written whole or not at all.
"""

from pathlib import Path
from typing import Any


def write_node_url(node_dir: Path, host: Any) -> str:
    """Write ``node.url`` for a listening port's host address; return the URL.

    A wildcard listener (``0.0.0.0`` or ``::``) is named by loopback, which
    always reaches it from this machine.
    """
    address = "127.0.0.1" if host.host in {"0.0.0.0", "::"} else host.host  # noqa: S104  mapping the wildcard to loopback
    url = f"http://{address}:{host.port}/"
    written = node_dir / "node.url.tmp"
    written.write_text(url + "\n")
    written.replace(node_dir / "node.url")
    return url
