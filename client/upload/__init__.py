"""Immutable (CHK) upload: choose servers, encode segment by segment, push shares.

Rules: the cap depends only on the file, the convergence secret and the
encoding parameters, exactly as in :mod:`grid.chk_encode`; everything else
(windows, timeouts, threads) changes only speed and memory. CPU work runs
on an injected :class:`CpuRunner`, time on an injected clock, and servers
are reached through the narrow :class:`UploadServer` protocol, so the whole
upload runs in tests with in-memory servers and a ``task.Clock``. The
modules: ``plaintext_source`` (what is uploaded), ``servers`` (the server
protocol), ``remote_server`` (that protocol over a broker's Foolscap
connections), ``server_selection`` (ask, place, allocate), ``share_writer``
(windowed writes per server), ``uploader`` (the whole upload), ``cpu``
(thread-pool runner), ``deadline`` (time limits), ``parameters`` and
``errors`` (the upload's own errors, under :class:`~client.errors.ClientError`).
"""

from client.upload.cpu import CpuRunner, ThreadPoolRunner
from client.upload.errors import (
    ServerTimeoutError,
    UploadError,
    UploadSourceError,
    UploadUnhappinessError,
)
from client.upload.parameters import UploadParameters, UploadTuning
from client.upload.plaintext_source import BytesSource, FileSource, PlaintextSource
from client.upload.remote_server import RemoteUploadServer, broker_upload_servers
from client.upload.servers import BucketWriter, UploadServer
from client.upload.uploader import UploadResult, UploadTimings, upload_chk

__all__ = [
    "BucketWriter",
    "BytesSource",
    "CpuRunner",
    "FileSource",
    "PlaintextSource",
    "RemoteUploadServer",
    "ServerTimeoutError",
    "ThreadPoolRunner",
    "UploadError",
    "UploadParameters",
    "UploadResult",
    "UploadServer",
    "UploadSourceError",
    "UploadTimings",
    "UploadTuning",
    "UploadUnhappinessError",
    "broker_upload_servers",
    "upload_chk",
]
