from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock

from client.upload.share_writer import ServerShareWriter
from tests.component.upload_fakes import FakeBucket, FakeUploadServer
from tests.component.upload_harness import outcome

STORAGE_INDEX = b"i" * 16


def writer_for(
    server: FakeUploadServer, shnums: range, *, window: int = 4, batch_size: int = 10
) -> tuple[ServerShareWriter, dict[int, FakeBucket]]:
    """A share writer over fresh 100-byte buckets of ``server``."""
    buckets = {shnum: FakeBucket(server, STORAGE_INDEX, shnum, 100) for shnum in shnums}
    writer = ServerShareWriter(
        server.name, buckets, clock=Clock(), window=window, batch_size=batch_size, timeout=30
    )
    return writer, buckets


def test_contiguous_writes_are_joined_up_to_the_batch_size() -> None:
    """Adjacent small writes to one bucket go out as one call of at least batch_size bytes."""
    writer, buckets = writer_for(FakeUploadServer(1), range(1))
    for offset in range(0, 30, 3):
        outcome(ensureDeferred(writer.write(0, offset, b"abc")))
    outcome(ensureDeferred(writer.finish()))
    assert buckets[0].writes == [(0, 12), (12, 12), (24, 6)]
    assert bytes(buckets[0].data[:30]) == b"abc" * 10
    assert buckets[0].closed


def test_a_gap_flushes_the_buffer() -> None:
    """A write that does not continue the buffered bytes sends them first."""
    writer, buckets = writer_for(FakeUploadServer(1), range(1), batch_size=50)
    outcome(ensureDeferred(writer.write(0, 0, b"xx")))
    outcome(ensureDeferred(writer.write(0, 10, b"yy")))
    outcome(ensureDeferred(writer.finish()))
    assert buckets[0].writes == [(0, 2), (10, 2)]


def test_window_bounds_calls_in_flight_and_close_waits_for_them() -> None:
    """At most ``window`` writes are outstanding, and no bucket closes before they land."""
    server = FakeUploadServer(1, faults={"write": "manual"})
    writer, buckets = writer_for(server, range(3), window=2, batch_size=1)
    writing = ensureDeferred(writer.write(0, 0, b"a"))
    assert writing.called
    outcome(ensureDeferred(writer.write(1, 0, b"b")))
    third = ensureDeferred(writer.write(2, 0, b"c"))
    assert not third.called
    assert server.in_flight == 2
    server.land_writes()
    assert third.called
    finishing = ensureDeferred(writer.finish())
    assert not finishing.called
    assert not any(bucket.closed for bucket in buckets.values())
    server.land_writes()
    outcome(finishing)
    assert all(bucket.closed for bucket in buckets.values())
    assert server.max_in_flight == 2


def test_a_failed_write_stops_the_server_and_close_is_not_sent() -> None:
    """After one failed call, later writes are dropped and finish closes nothing."""
    server = FakeUploadServer(1, faults={"write": "error"}, fail_writes_after=1)
    writer, buckets = writer_for(server, range(2), batch_size=1)
    outcome(ensureDeferred(writer.write(0, 0, b"a")))
    outcome(ensureDeferred(writer.write(1, 0, b"b")))
    assert writer.failed
    outcome(ensureDeferred(writer.write(0, 1, b"c")))
    outcome(ensureDeferred(writer.finish()))
    assert server.write_calls == 2
    assert not any(bucket.closed for bucket in buckets.values())
    assert writer.closed == frozenset()


def test_abort_abandons_unclosed_buckets_and_stops_writing() -> None:
    """Abort reaches every bucket not yet closed, and nothing is written afterwards."""
    server = FakeUploadServer(1)
    writer, buckets = writer_for(server, range(2), batch_size=1)
    outcome(ensureDeferred(writer.write(0, 0, b"a")))
    writer.abort()
    assert all(bucket.aborted for bucket in buckets.values())
    outcome(ensureDeferred(writer.write(0, 1, b"b")))
    assert server.write_calls == 1


def test_abort_after_close_leaves_closed_buckets_alone() -> None:
    """Buckets the writer closed are never aborted."""
    server = FakeUploadServer(1)
    writer, buckets = writer_for(server, range(2), batch_size=1)
    outcome(ensureDeferred(writer.write(0, 0, b"a")))
    outcome(ensureDeferred(writer.finish()))
    writer.abort()
    assert writer.closed == {0, 1}
    assert not any(bucket.aborted for bucket in buckets.values())


def test_a_hung_window_is_freed_by_the_timeout() -> None:
    """A write that never answers fails after the timeout and unblocks the writer."""
    server = FakeUploadServer(1, faults={"write": "hang"})
    clock = Clock()
    buckets = {0: FakeBucket(server, STORAGE_INDEX, 0, 100)}
    writer = ServerShareWriter(
        server.name, buckets, clock=clock, window=1, batch_size=1, timeout=30
    )
    outcome(ensureDeferred(writer.write(0, 0, b"a")))
    blocked = ensureDeferred(writer.write(0, 1, b"b"))
    assert not blocked.called
    clock.advance(30)
    outcome(blocked)
    assert writer.failed
    assert "no answer within 30 s" in str(writer.failure)
