import pytest
from twisted.internet.task import Clock

from client.upload import (
    UploadParameters,
    UploadSourceError,
    UploadTuning,
    UploadUnhappinessError,
)
from grid.chk_encode import ChkEncoder
from grid.chk_plan import ChkPlan
from tests.component.upload_fakes import FakeUploadServer, RecordingSource
from tests.component.upload_harness import decoded, make_servers, outcome, start_upload, upload

DATA = bytes(range(256)) * 12
HAPPY_10 = UploadParameters(needed=3, happy=10, total=10, max_segment_size=1024)


def holders(result_sharemap: object, server: FakeUploadServer) -> bool:
    """Whether ``server`` appears in a share map."""
    assert isinstance(result_sharemap, dict)
    return any(server.server_id in ids for ids in result_sharemap.values())


def test_full_server_is_skipped_and_its_shares_go_elsewhere() -> None:
    """A server with no space refuses its bucket; the share goes to a later server."""
    servers = [FakeUploadServer(1, space=0), *make_servers(11)[1:]]
    result = upload(DATA, servers)
    assert result.happiness == 10
    assert servers[0].buckets == []
    assert servers[0].allocations
    assert not holders(result.sharemap, servers[0])
    assert decoded(result, servers) == DATA


def test_partly_full_server_keeps_what_fits() -> None:
    """A server that takes one of its two shares keeps it; the other is placed again."""
    plan = ChkPlan(size=len(DATA), needed=3, total=10, max_segment_size=1024)
    size = ChkEncoder(b"k" * 16, plan).layout.allocated_size
    servers = [FakeUploadServer(1, space=size), *make_servers(5)[1:]]
    params = UploadParameters(happy=5, max_segment_size=1024)
    result = upload(DATA, servers, params=params)
    assert len(servers[0].buckets) == 1
    assert sorted(result.sharemap) == list(range(10))
    assert result.happiness == 5
    assert len(servers[0].allocations) == 1


def test_no_space_anywhere_fails_saying_what_happened() -> None:
    """When every server is full the error says asked, answered and placed."""
    servers = make_servers(10, space=0)
    with pytest.raises(UploadUnhappinessError) as raised:
        upload(DATA, servers)
    error = raised.value
    assert (error.asked, error.answered, error.placed, error.happiness) == (10, 10, 0, 0)
    assert "asked 10 servers, 10 answered, 0 shares placed" in str(error)


def test_read_only_servers_keep_their_shares_and_get_no_allocations() -> None:
    """Shares on read-only servers count and are not re-sent; the rest go to writable ones."""
    servers = make_servers(10)
    first = upload(DATA, servers)
    for server in servers[:5]:
        server.maximum_share_size = 0
    for server in servers[5:]:
        server.shares.clear()
    second = upload(DATA, servers)
    assert second.cap == first.cap
    assert all(len(server.allocations) == 1 for server in servers[:5])
    assert second.pushed_shares == 5
    assert second.happiness == 10
    assert decoded(second, servers) == DATA


def test_servers_failing_get_buckets_take_no_part() -> None:
    """A server whose get_buckets fails is left out: its first-round buckets are aborted."""
    servers = [*make_servers(2, faults={"get_buckets": "error"}), *make_servers(12)[2:]]
    result = upload(DATA, servers)
    assert result.happiness == 10
    assert not result.servers_used & {server.server_id for server in servers[:2]}
    for server in servers[:2]:
        assert all(bucket.aborted and not bucket.closed for bucket in server.buckets)
        assert server.shares.get(result.storage_index or b"", {}) == {}


def test_hung_server_is_given_up_after_the_query_timeout() -> None:
    """A server that never answers get_buckets delays the upload by the time limit only."""
    clock = Clock()
    servers = [FakeUploadServer(1, faults={"get_buckets": "hang"}), *make_servers(11)[1:]]
    deferred = start_upload(DATA, servers, clock=clock)
    assert not deferred.called
    clock.advance(14.9)
    assert not deferred.called
    clock.advance(0.1)
    result = outcome(deferred)
    assert result.happiness == 10
    assert servers[0].server_id not in result.servers_used
    assert all(bucket.aborted and not bucket.closed for bucket in servers[0].buckets)


def test_hung_servers_can_make_an_upload_unhappy() -> None:
    """With two of eight servers hung and happy=7, the error counts six answers."""
    clock = Clock()
    servers = [*make_servers(2, faults={"get_buckets": "hang"}), *make_servers(8)[2:]]
    deferred = start_upload(DATA, servers, clock=clock)
    clock.advance(15)
    with pytest.raises(UploadUnhappinessError) as raised:
        outcome(deferred)
    assert (raised.value.asked, raised.value.answered, raised.value.happiness) == (8, 6, 6)
    assert "no answer within 15 s" in str(raised.value)
    assert all(bucket.aborted for server in servers for bucket in server.buckets)


def test_failed_allocation_is_placed_again() -> None:
    """A server whose allocate_buckets fails is dropped and its share placed elsewhere."""
    servers = [FakeUploadServer(1, faults={"allocate": "error"}), *make_servers(12)[1:]]
    result = upload(DATA, servers)
    assert result.happiness == 10
    assert not holders(result.sharemap, servers[0])
    assert sum(len(server.buckets) for server in servers) == 10


def test_write_failure_drops_the_server_when_happiness_survives() -> None:
    """A server that fails a write is dropped, its bucket aborted, the upload succeeds."""
    servers = make_servers(10)
    servers[2].faults["write"] = "error"
    result = upload(DATA, servers)
    assert result.happiness == 9
    assert not holders(result.sharemap, servers[2])
    assert all(bucket.aborted for bucket in servers[2].buckets)
    assert result.storage_index is not None
    assert decoded(result, servers) == DATA


def test_write_failure_below_happiness_fails_cleanly() -> None:
    """If dropping a failed server leaves too few, the upload fails and aborts every bucket."""
    servers = make_servers(10)
    servers[2].faults["write"] = "error"
    servers[2].fail_writes_after = 1
    with pytest.raises(UploadUnhappinessError) as raised:
        upload(
            DATA * 4,
            servers,
            params=HAPPY_10,
            tuning=UploadTuning(write_batch_size=100, job_size=1),
        )
    message = str(raised.value)
    assert "asked 10 servers, 10 answered, 9 shares placed" in message
    assert "server-3" in message
    assert "injected failure of write" in message
    buckets = [bucket for server in servers for bucket in server.buckets]
    assert len(buckets) == 10
    assert all(bucket.aborted and not bucket.closed for bucket in buckets)
    assert all(not server.shares for server in servers)


def test_hung_write_times_out_and_drops_the_server() -> None:
    """A write that never answers fails after the write timeout; the server is dropped."""
    clock = Clock()
    servers = make_servers(10)
    servers[0].faults["write"] = "hang"
    deferred = start_upload(DATA, servers, clock=clock, tuning=UploadTuning(write_timeout=60))
    assert not deferred.called
    clock.advance(60)
    result = outcome(deferred)
    assert result.happiness == 9
    assert all(bucket.aborted for bucket in servers[0].buckets)


def test_hung_write_below_happiness_fails_after_the_timeout() -> None:
    """With happy=N a hung write ends the upload with a timeout in the error."""
    clock = Clock()
    servers = make_servers(10)
    servers[0].faults["write"] = "hang"
    deferred = start_upload(
        DATA, servers, clock=clock, params=HAPPY_10, tuning=UploadTuning(write_timeout=60)
    )
    clock.advance(60)
    with pytest.raises(UploadUnhappinessError, match="no answer within 60 s"):
        outcome(deferred)


def test_close_failure_counts_against_happiness() -> None:
    """A bucket that fails to close does not count as placed."""
    servers = make_servers(10)
    servers[4].faults["close"] = "error"
    result = upload(DATA, servers)
    assert result.happiness == 9
    assert result.pushed_shares == 9
    with pytest.raises(UploadUnhappinessError, match="injected failure of close"):
        upload(
            DATA + b"!",
            [*make_servers(9), FakeUploadServer(10, faults={"close": "error"})],
            params=HAPPY_10,
        )


def test_short_source_aborts_every_bucket() -> None:
    """A source that shrinks while being read fails the upload and aborts its buckets."""

    class ShrinkingSource(RecordingSource):
        async def read(self, offset: int, length: int) -> bytes:
            data = await super().read(offset, length)
            return data[:-1] if len(self.reads) > 2 else data

    servers = make_servers(10)
    with pytest.raises(UploadSourceError):
        outcome(
            start_upload(
                ShrinkingSource(DATA),
                servers,
                tuning=UploadTuning(hash_chunk_size=1 << 20, job_size=1),
            )
        )
    buckets = [bucket for server in servers for bucket in server.buckets]
    assert buckets
    assert all(bucket.aborted for bucket in buckets)


def test_writes_in_flight_stay_within_the_window() -> None:
    """No server ever has more write calls outstanding than the window allows."""
    servers = make_servers(10, faults={"write": "manual"})
    tuning = UploadTuning(writes_in_flight=2, write_batch_size=1)
    deferred = start_upload(DATA * 3, servers, tuning=tuning)
    while not deferred.called:
        for server in servers:
            server.land_writes()
    result = outcome(deferred)
    assert all(server.max_in_flight == 2 for server in servers)
    assert decoded(result, servers) == DATA * 3


def test_reading_stops_while_servers_are_slow() -> None:
    """While no write lands, only a window's worth of jobs is read: memory stays bounded."""
    servers = make_servers(10, faults={"write": "manual"})
    data = bytes(range(256)) * 400
    plan = ChkPlan(size=len(data), needed=3, total=10, max_segment_size=1024)
    source = RecordingSource(data)
    tuning = UploadTuning(
        job_size=2 * plan.segment_size,
        writes_in_flight=2,
        write_batch_size=1,
        jobs_ahead=3,
        hash_chunk_size=len(data),
    )
    deferred = start_upload(source, servers, tuning=tuning)
    assert not deferred.called
    job_reads = source.reads[1:]
    assert 0 < len(job_reads) <= 2 + 3 + 1
    assert all(length == 2 * plan.segment_size for _offset, length in job_reads)
    while not deferred.called:
        for server in servers:
            server.land_writes()
    assert len(source.reads) == 1 + plan.num_segments // 2


def test_a_new_file_is_allocated_without_waiting_for_get_buckets() -> None:
    """The first allocate_buckets calls go out before any get_buckets answer: one round trip."""
    clock = Clock()
    servers = make_servers(10, faults={"get_buckets": "hang"})
    deferred = start_upload(DATA, servers, clock=clock)
    assert [len(server.allocations) for server in servers] == [1] * 10
    clock.advance(15)
    with pytest.raises(UploadUnhappinessError):
        outcome(deferred)
    assert all(bucket.aborted for server in servers for bucket in server.buckets)


def test_first_round_buckets_for_shares_held_elsewhere_are_aborted() -> None:
    """Shares another server holds are not sent again, though the first round allocated them."""
    servers = make_servers(12)
    first = upload(DATA, servers[:10])
    storage_index = first.storage_index or b""
    moved = servers[0].shares.pop(storage_index)
    servers[11].shares[storage_index] = moved
    earlier = len(servers[0].buckets)
    second = upload(DATA, servers)
    assert second.cap == first.cap
    assert second.pushed_shares == 0
    assert second.happiness == 10
    first_round = servers[0].buckets[earlier:]
    assert first_round
    assert all(bucket.aborted and not bucket.closed for bucket in first_round)
    assert decoded(second, servers) == DATA
