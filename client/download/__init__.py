"""Immutable (CHK) download: stream a file's verified plaintext from storage servers.

Data flow: cap → storage index → every server asked for its shares
(:mod:`~client.download.share_finder`) → one share's URI extension block
proven against the cap → per segment, k blocks from the best shares with
their hash-tree proofs (:mod:`~client.download.segment_fetcher`, reading
through :mod:`~client.download.share_source`) → decode → crypttext check →
decrypt → consumer (:mod:`~client.download.downloader`). Servers are seen
through the Protocols of :mod:`~client.download.servers`; a broker's
connections fit them through :class:`ConnectionStorageServer`.
"""

from client.download.downloader import (
    DEFAULT_READ_TIMEOUT,
    DEFAULT_WINDOW,
    Consumer,
    covered_range,
    download_chk,
)
from client.download.errors import (
    CapMismatchError,
    CorruptShareError,
    DownloadError,
    ServerFailedError,
    ServerTimeoutError,
    ShareUnusableError,
)
from client.download.servers import (
    BucketReaderLike,
    ConnectionStorageServer,
    RemoteBucketReader,
    StorageServerLike,
    download_servers,
)

__all__ = [
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_WINDOW",
    "BucketReaderLike",
    "CapMismatchError",
    "ConnectionStorageServer",
    "Consumer",
    "CorruptShareError",
    "DownloadError",
    "RemoteBucketReader",
    "ServerFailedError",
    "ServerTimeoutError",
    "ShareUnusableError",
    "StorageServerLike",
    "covered_range",
    "download_chk",
    "download_servers",
]
