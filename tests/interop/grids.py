"""Whole grids for the interop matrix: an introducer, storage nodes of either program, clients.

Rules: a grid's storage nodes all join its one introducer (no
``servers.yaml``) and live in ``base_dir/NICKNAME``, so a test can look at
the shares on their disks. Nodes are started all at once and only then
waited for; several clients are started side by side in threads, since
starting one is mostly waiting. Shares are read from disk by the path
rules Tahoe and we share (``storage/shares/<p>/<si>/<shnum>``).
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import attrs

from grid.caps.parse import parse_cap
from storage_server.layout import StorageLayout, parse_share_number
from tests.interop.introducer_helpers import RunningIntroducer, start_introducer
from tests.interop.tahoe_nodes import (
    NodeProcess,
    NodeSupervisor,
    StorageServerInfo,
    start_mixed_storage_nodes,
)

T = TypeVar("T")


@attrs.frozen
class StorageGrid:
    """An introducer and the storage nodes that announced themselves to it."""

    introducer: RunningIntroducer
    servers: tuple[StorageServerInfo, ...]
    nodes: tuple[NodeProcess, ...]
    base_dir: Path

    @property
    def server_ids(self) -> list[str]:
        """Every storage server's id, in the order the nodes were given."""
        return [server.server_id for server in self.servers]

    def node_dir(self, server: StorageServerInfo) -> Path:
        """The node directory of one of this grid's storage servers."""
        return self.base_dir / server.nickname

    def bucket_dir(self, server: StorageServerInfo, cap: str) -> Path:
        """The directory where ``server`` keeps the shares of ``cap``'s file."""
        storage_index = parse_cap(cap).storage_index
        if storage_index is None:
            raise AssertionError(f"{cap} names no storage index")
        return StorageLayout(self.node_dir(server) / "storage").bucket_dir(storage_index)

    def share_path(self, server: StorageServerInfo, cap: str, share_number: int) -> Path:
        """The file holding share ``share_number`` of ``cap``'s file on ``server``."""
        return self.bucket_dir(server, cap) / str(share_number)

    def share_numbers(self, server: StorageServerInfo, cap: str) -> list[int]:
        """The share numbers of ``cap``'s file that ``server`` holds on its disk, sorted."""
        bucket = self.bucket_dir(server, cap)
        if not bucket.is_dir():
            return []
        numbers = (parse_share_number(path.name) for path in bucket.iterdir())
        return sorted(number for number in numbers if number is not None)

    def placement(self, cap: str) -> dict[str, list[int]]:
        """Each server's nickname mapped to the share numbers of ``cap`` it holds (if any)."""
        held = {server.nickname: self.share_numbers(server, cap) for server in self.servers}
        return {nickname: numbers for nickname, numbers in held.items() if numbers}

    def node_named(self, nickname: str) -> NodeProcess:
        """The running storage node with this nickname."""
        (node,) = (node for node in self.nodes if node.name == nickname)
        return node


def start_storage_grid(
    supervisor: NodeSupervisor,
    base_dir: Path,
    introducer_program: Path,
    storage_nodes: Sequence[tuple[Path, str]],
    *,
    introducer_web: bool,
) -> StorageGrid:
    """Start an introducer with ``introducer_program``, then ``(program, nickname)`` storage nodes.

    ``introducer_web`` gives the introducer a status page (only ``grid``
    takes ``--webport`` for an introducer).
    """
    introducer = start_introducer(
        supervisor, introducer_program, base_dir / "introducer", with_web=introducer_web
    )
    servers = start_mixed_storage_nodes(
        supervisor, base_dir, storage_nodes, introducer_furl=introducer.furl
    )
    node_dirs = {base_dir / server.nickname for server in servers}
    nodes = tuple(node for node in supervisor.nodes if node.node_dir in node_dirs)
    return StorageGrid(introducer, tuple(servers), nodes, base_dir)


def start_together(*starters: Callable[[], T]) -> list[T]:
    """Run several node starters side by side; return their results in order."""
    with ThreadPoolExecutor(max_workers=len(starters)) as pool:
        futures = [pool.submit(starter) for starter in starters]
        return [future.result() for future in futures]
