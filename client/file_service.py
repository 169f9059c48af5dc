"""What a client node does with immutable files: upload, download, check and repair.

Rules: encoding parameters come from ``[client] shares.needed / shares.happy
/ shares.total`` and ``shares._max_immutable_segment_size_for_testing``;
convergent encryption uses ``private/convergence`` and leases use
``private/secret``, both read once when the service is made. CPU work runs
on the reactor's thread pool. LIT caps are answered without any server.
Every upload and download is counted in :attr:`FileService.metrics`: files
and bytes that finished, failures, and seconds taken (timed by the reactor).
"""

import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from client.download.downloader import Consumer, download_chk
from client.download.servers import ConnectionStorageServer
from client.storage_broker import StorageBroker
from client.upload.cpu import ThreadPoolRunner
from client.upload.parameters import UploadParameters
from client.upload.plaintext_source import PlaintextSource
from client.upload.remote_server import broker_upload_servers
from client.upload.uploader import UploadResult, upload_chk
from grid.base32 import a2b
from grid.caps import CHKReadCap, LiteralCap
from grid.chk_plan import DEFAULT_MAX_SEGMENT_SIZE
from grid.config import NodeConfig
from grid.errors import ConfigError, EncodingError
from grid.metrics import MetricsRegistry, TransferMetrics


def _read_secret(path: Path) -> bytes:
    try:
        return a2b(path.read_text().strip())
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing; is this a client node directory?") from None
    except EncodingError:
        raise ConfigError(f"{path} does not hold base32") from None


def upload_parameters(config: NodeConfig) -> UploadParameters:
    """The node's encoding parameters from ``[client]``."""
    return UploadParameters(
        needed=config.get_int("client", "shares.needed", 3),
        happy=config.get_int("client", "shares.happy", 7),
        total=config.get_int("client", "shares.total", 10),
        max_segment_size=config.get_int(
            "client", "shares._max_immutable_segment_size_for_testing", DEFAULT_MAX_SEGMENT_SIZE
        ),
    )


class FileService:
    """Uploads and downloads immutable files through the node's storage broker."""

    def __init__(
        self,
        node_dir: Path,
        config: NodeConfig,
        broker: StorageBroker,
        reactor: Any,
        *,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        """Read the node's secrets and parameters; raise ConfigError if they are bad.

        Transfers are counted in ``metrics`` (a new registry if None).
        """
        self._broker = broker
        self._reactor = reactor
        self.parameters = upload_parameters(config)
        self._convergence = _read_secret(node_dir / "private" / "convergence")
        self._lease_secret = _read_secret(node_dir / "private" / "secret")
        self._runner = ThreadPoolRunner(reactor, reactor.getThreadPool())
        self.metrics = MetricsRegistry() if metrics is None else metrics
        self._uploads = TransferMetrics.register(self.metrics, "uploader", "uploaded")
        self._downloads = TransferMetrics.register(self.metrics, "downloader", "downloaded")

    @property
    def runner(self) -> ThreadPoolRunner:
        """The runner CPU work goes to (the reactor's thread pool)."""
        return self._runner

    @property
    def lease_secret(self) -> bytes:
        """The node's lease secret (``private/secret``)."""
        return self._lease_secret

    async def upload(self, source: PlaintextSource, *, convergent: bool = True) -> UploadResult:
        """Upload an immutable file; return its cap and where its shares went."""
        started = self._reactor.seconds()
        try:
            result = await upload_chk(
                source,
                broker_servers=broker_upload_servers(self._broker),
                convergence_secret=self._convergence if convergent else None,
                random_key=lambda: os.urandom(16),
                params=self.parameters,
                lease_secret=self._lease_secret,
                clock=self._reactor,
                runner=self._runner,
            )
        except Exception:
            self._uploads.failures.inc()
            raise
        self._uploads.succeeded(source.size, self._reactor.seconds() - started)
        return result

    async def download(
        self,
        cap: CHKReadCap | LiteralCap,
        consumer: Consumer,
        *,
        offset: int = 0,
        length: int | None = None,
    ) -> None:
        """Deliver a file's verified bytes (or a range of them) to ``consumer``."""
        started = self._reactor.seconds()
        delivered = 0

        def counting_consumer(chunk: bytes) -> Awaitable[None] | None:
            nonlocal delivered
            delivered += len(chunk)
            return consumer(chunk)

        try:
            await self._deliver(cap, counting_consumer, offset, length)
        except Exception:
            self._downloads.failures.inc()
            raise
        self._downloads.succeeded(delivered, self._reactor.seconds() - started)

    async def _deliver(
        self, cap: CHKReadCap | LiteralCap, consumer: Consumer, offset: int, length: int | None
    ) -> None:
        if isinstance(cap, LiteralCap):
            end = len(cap.data) if length is None else offset + length
            chunk = cap.data[offset:end]
            if chunk:
                result = consumer(chunk)
                if result is not None:
                    await result
            return
        servers = [
            ConnectionStorageServer(connection)
            for connection in self._broker.permuted_servers(cap.storage_index)
        ]
        await download_chk(
            cap, servers, clock=self._reactor, consumer=consumer, offset=offset, length=length
        )
