"""Mutable files on the in-process grid: a MutableService over its broker, called synchronously.

Rules: every call runs on the reactor thread through :func:`in_reactor`;
the service uses the grid's lease secret, k=3 and N=10, the reactor as its
clock and the reactor's thread pool as its CPU runner. Shares can be put on
and read off the servers' disks directly (for real Tahoe shares, and to
look at what was written).
"""

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from twisted.internet import reactor

from client.mutable import MutableService
from client.storage_broker import StorageBroker
from client.upload import ThreadPoolRunner
from grid.caps.mutable import MutableFormat, MutableReadCap, MutableWriteCap
from grid.crypto.rsa import RsaPrivateKey
from grid.formats.mutable_container import parse_mutable_container
from tests.integration.inprocess_grid import LEASE_SECRET, InProcessGrid
from tests.integration.reactor_thread import in_reactor

NEEDED = 3
TOTAL = 10
FAST_TIMEOUT = 5.0


def _runner() -> ThreadPoolRunner:
    return ThreadPoolRunner(reactor, reactor.getThreadPool())  # type: ignore[arg-type, attr-defined]


@attrs.define
class MutableGrid:
    """An in-process grid seen through a :class:`MutableService`."""

    grid: InProcessGrid

    def service(self, broker: StorageBroker | None = None, **options: Any) -> MutableService:
        """A service over ``broker`` (the grid's own by default)."""
        return MutableService(
            broker or self.grid.broker,
            reactor,
            _runner(),
            needed=NEEDED,
            total=TOTAL,
            lease_secret=LEASE_SECRET,
            **options,
        )

    def create(
        self,
        data: bytes,
        fmt: MutableFormat,
        private_key: RsaPrivateKey | None = None,
        service: MutableService | None = None,
    ) -> MutableWriteCap:
        """Create a mutable file; return its write cap."""
        chosen = service or self.service()
        cap: MutableWriteCap = in_reactor(chosen.create, data, fmt, private_key)
        return cap

    def read(
        self,
        cap: MutableWriteCap | MutableReadCap,
        service: MutableService | None = None,
        **options: Any,
    ) -> bytes:
        """Read a mutable file (or a range of it) through the service."""
        chosen = service or self.service()
        chunks: list[bytes] = []
        in_reactor(chosen.read, cap, chunks.append, **options)
        return b"".join(chunks)

    def size(self, cap: MutableWriteCap | MutableReadCap) -> int:
        """The file's size."""
        size: int = in_reactor(self.service().size, cap)
        return size

    def overwrite(self, cap: MutableWriteCap, data: bytes) -> None:
        """Replace the file's contents."""
        in_reactor(self.service().overwrite, cap, data)

    def write_at(self, cap: MutableWriteCap, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``."""
        in_reactor(self.service().write_at, cap, offset, data)

    def modify(self, cap: MutableWriteCap, change: Callable[[bytes], bytes | None]) -> None:
        """Read, change and publish."""
        in_reactor(self.service().modify, cap, change)

    def share_data(self, server: int, storage_index: bytes) -> dict[int, bytes]:
        """The share data (container stripped) server ``server`` holds for a storage index."""
        return {
            shnum: parse_mutable_container(path.read_bytes()).data
            for shnum, path in self.grid.servers[server].share_paths(storage_index).items()
        }

    def all_share_data(self, storage_index: bytes) -> dict[tuple[int, int], bytes]:
        """Every share of a storage index on the grid, by (server, shnum)."""
        return {
            (server.index, shnum): data
            for server in self.grid.servers
            for shnum, data in self.share_data(server.index, storage_index).items()
        }

    def place_share_files(self, storage_index: bytes, files: dict[int, Path]) -> None:
        """Copy container files onto the servers: share ``shnum`` onto server ``shnum``."""
        for shnum, source in files.items():
            server = self.grid.servers[shnum]
            bucket = server.layout.bucket_dir(storage_index)
            bucket.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, bucket / str(shnum))

    def remove_shares(self, storage_index: bytes) -> None:
        """Delete every share of a storage index from every server's disk."""
        for server in self.grid.servers:
            bucket = server.layout.bucket_dir(storage_index)
            if bucket.is_dir():
                shutil.rmtree(bucket)
