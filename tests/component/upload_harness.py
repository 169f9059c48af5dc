"""Running an upload against fake servers on a fake clock, for the upload tests."""

from collections.abc import Sequence
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from client.upload import BytesSource, UploadParameters, UploadResult, UploadTuning, upload_chk
from client.upload.plaintext_source import PlaintextSource
from grid.caps import CHKReadCap
from grid.chk_decode import decode_chk
from tests.component.upload_fakes import FakeUploadServer, InlineRunner

ResultT = TypeVar("ResultT")

LEASE_SECRET = b"L" * 32
SECRET = b"s" * 16
SMALL_SEGMENTS = UploadParameters(needed=3, happy=7, total=10, max_segment_size=1024)


def make_servers(count: int, **options: Any) -> list[FakeUploadServer]:
    """``count`` healthy servers numbered from 1."""
    return [FakeUploadServer(number, **options) for number in range(1, count + 1)]


def start_upload(
    data: bytes | PlaintextSource,
    servers: Sequence[FakeUploadServer],
    *,
    params: UploadParameters = SMALL_SEGMENTS,
    secret: bytes | None = SECRET,
    clock: Clock | None = None,
    runner: InlineRunner | None = None,
    tuning: UploadTuning = UploadTuning(),  # noqa: B008  frozen record
    random_key: bytes = b"R" * 16,
) -> "Deferred[UploadResult]":
    """Start an upload; with healthy fakes it has finished when this returns."""
    source = BytesSource(data) if isinstance(data, bytes) else data
    return ensureDeferred(
        upload_chk(
            source,
            broker_servers=lambda _storage_index: list(servers),
            convergence_secret=secret,
            random_key=lambda: random_key,
            params=params,
            lease_secret=LEASE_SECRET,
            clock=clock or Clock(),
            runner=runner or InlineRunner(),
            tuning=tuning,
        )
    )


def outcome(deferred: "Deferred[ResultT]") -> ResultT:
    """The result of a fired Deferred; its exception if it failed."""
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, "the upload has not finished"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    value: ResultT = results[0]
    return value


def upload(data: bytes, servers: Sequence[FakeUploadServer], **options: Any) -> UploadResult:
    """Upload and return the result (the upload must finish at once)."""
    return outcome(start_upload(data, servers, **options))


def decoded(result: UploadResult, servers: Sequence[FakeUploadServer]) -> bytes:
    """Decode a CHK upload from the complete shares on ``servers``."""
    assert isinstance(result.cap, CHKReadCap)
    found: dict[int, bytes] = {}
    for server in servers:
        found.update(server.share_bodies(result.cap.storage_index))
    return decode_chk(result.cap, found)
