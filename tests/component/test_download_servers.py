from typing import Any

import attrs
import pytest
from twisted.internet.defer import Deferred, succeed

from client.download import ConnectionStorageServer, RemoteBucketReader, ServerFailedError


@attrs.define
class StubReference:
    """A remote reference whose every call answers ``answer`` at once."""

    answer: Any
    calls: list[tuple[str, tuple[Any, ...]]] = attrs.field(factory=list)

    def callRemote(self, method: str, *args: Any) -> "Deferred[Any]":  # noqa: N802  Foolscap's name
        """Record the call and answer it."""
        self.calls.append((method, args))
        return succeed(self.answer)


@attrs.define
class StubDescription:
    """The part of a server description the adapter uses."""

    short_name: str = "stubname"


@attrs.define
class StubConnection:
    """The part of a StorageServerConnection the adapter uses."""

    answer: Any
    storage_version: dict[bytes, Any] = attrs.field(factory=dict)
    description: StubDescription = attrs.field(factory=StubDescription)

    async def call(self, method: str, *args: Any) -> Any:
        """Answer every call with ``answer``."""
        del method, args
        return self.answer


def _result(awaitable: Any) -> Any:
    deferred = Deferred.fromCoroutine(awaitable)
    assert deferred.called
    result = deferred.result  # type: ignore[attr-defined]
    deferred.addErrback(lambda _: None)
    return result


def test_get_buckets_wraps_each_reference() -> None:
    """Each share's reference becomes a reader whose reads go to that reference."""
    reference = StubReference(b"share bytes")
    server = ConnectionStorageServer(StubConnection({3: reference}))  # type: ignore[arg-type]
    readers = _result(server.get_buckets(b"s" * 16))
    assert list(readers) == [3]
    assert _result(readers[3].read(10, 20)) == b"share bytes"
    assert reference.calls == [("read", (10, 20))]
    assert server.name == "stubname"


@pytest.mark.parametrize("answer", [None, [1, 2], {"0": object()}, {True: object()}])
def test_malformed_get_buckets_answer_is_a_server_failure(answer: Any) -> None:
    """An answer that is not a map of share numbers raises ServerFailedError."""
    server = ConnectionStorageServer(StubConnection(answer))  # type: ignore[arg-type]
    failure = _result(server.get_buckets(b"s" * 16))
    assert failure.check(ServerFailedError)


def test_read_that_is_not_bytes_is_a_server_failure() -> None:
    """A read answered with anything but bytes raises ServerFailedError."""
    failure = _result(RemoteBucketReader(StubReference("text")).read(0, 4))
    assert failure.check(ServerFailedError)


def test_advice_is_forwarded() -> None:
    """advise_corrupt_share reaches the reference with the reason."""
    reference = StubReference(None)
    _result(RemoteBucketReader(reference).advise_corrupt_share(b"why"))
    assert reference.calls == [("advise_corrupt_share", (b"why",))]


@pytest.mark.parametrize(
    ("version", "tolerates"),
    [
        ({b"tolerates-immutable-read-overrun": True}, True),
        ({b"tolerates-immutable-read-overrun": False}, False),
        ({b"tolerates-immutable-read-overrun": 1}, False),
        ({}, False),
    ],
)
def test_read_overrun_tolerance_comes_from_the_version(
    version: dict[bytes, Any], tolerates: bool
) -> None:
    """Only an explicit True in the storage version allows read overrun."""
    server = ConnectionStorageServer(StubConnection({}, storage_version=version))  # type: ignore[arg-type]
    assert server.tolerates_read_overrun is tolerates
