import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import ensureDeferred

from client.upload import UploadParameters, UploadTuning, UploadUnhappinessError
from client.upload.uploader import convergent_upload_key
from grid.caps import CHKReadCap, LiteralCap
from grid.chk_decode import decode_chk
from grid.chk_encode import ChkEncoder, convergent_key, encode_chk, plaintext_segments
from grid.chk_plan import ChkPlan
from grid.hashing import immutable_storage_index, lease_secrets
from tests.chk_samples import MemorySink, chk_vectors, vector_inputs
from tests.component.upload_fakes import FakeUploadServer, InlineRunner, RecordingSource, all_shares
from tests.component.upload_harness import (
    LEASE_SECRET,
    SECRET,
    SMALL_SEGMENTS,
    decoded,
    make_servers,
    outcome,
    start_upload,
    upload,
)

SMALL_TAHOE_VECTORS = [
    entry
    for entry in chk_vectors()
    if 56 <= entry["sample"]["length"] <= 4096 and entry["zfec"]["total"] <= 20
]


@st.composite
def upload_parameters(draw: st.DrawFn) -> UploadParameters:
    """Encoding parameters with small segments, so files span several segments."""
    total = draw(st.integers(1, 12))
    return UploadParameters(
        needed=draw(st.integers(1, total)),
        happy=draw(st.integers(1, total)),
        total=total,
        max_segment_size=draw(st.integers(1, 700)),
    )


def offline_encoding(
    data: bytes, secret: bytes, params: UploadParameters
) -> tuple[CHKReadCap, dict[int, bytes]]:
    """The cap and share bodies grid.chk_encode gives for the same inputs."""
    plan = ChkPlan(
        size=len(data),
        needed=params.needed,
        total=params.total,
        max_segment_size=params.max_segment_size,
    )
    key = convergent_key(secret, plan, [data])
    sink = MemorySink()
    result = encode_chk(key, plan, plaintext_segments(plan, data), sink)
    cap = CHKReadCap(
        key=key,
        uri_extension_hash=result.uri_extension_hash,
        needed_shares=plan.needed,
        total_shares=plan.total,
        size=plan.size,
    )
    return cap, sink.bodies()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(min_size=56, max_size=3000),
    params=upload_parameters(),
    secret=st.binary(max_size=32),
    server_count=st.integers(1, 14),
)
def test_cap_and_shares_equal_the_offline_encoder(
    data: bytes, params: UploadParameters, secret: bytes, server_count: int
) -> None:
    """Whatever the servers, the cap and every stored share equal grid.chk_encode's."""
    servers = make_servers(server_count)
    deferred = start_upload(data, servers, params=params, secret=secret)
    cap, bodies = offline_encoding(data, secret, params)
    if min(server_count, params.total) < params.happy:
        with pytest.raises(UploadUnhappinessError):
            outcome(deferred)
        return
    result = outcome(deferred)
    assert result.cap == cap
    assert result.storage_index == cap.storage_index
    stored = all_shares(servers, cap.storage_index)
    assert stored == bodies
    assert decode_chk(result.cap, stored) == data


def test_tahoe_vectors_give_tahoe_caps() -> None:
    """Uploading Tahoe's small CHK test vectors gives exactly Tahoe's caps."""
    assert SMALL_TAHOE_VECTORS
    for entry in SMALL_TAHOE_VECTORS:
        plaintext, secret, plan = vector_inputs(entry)
        params = UploadParameters(
            needed=plan.needed, happy=1, total=plan.total, max_segment_size=plan.max_segment_size
        )
        result = upload(plaintext, make_servers(plan.total), params=params, secret=secret)
        assert result.cap.to_string() == entry["expected"]


@given(data=st.binary(max_size=55))
def test_small_files_become_literal_caps(data: bytes) -> None:
    """Up to 55 bytes the cap is URI:LIT: with the data and no server is touched."""
    servers = make_servers(10)
    result = upload(data, servers)
    assert result.cap == LiteralCap(data)
    assert result.storage_index is None
    assert result.sharemap == {}
    assert all(server.get_buckets_calls == 0 for server in servers)


def test_random_key_is_used_when_there_is_no_convergence_secret() -> None:
    """Without a convergence secret the cap's key is the injected random key."""
    result = upload(b"x" * 500, make_servers(10), secret=None, random_key=b"K" * 16)
    assert isinstance(result.cap, CHKReadCap)
    assert result.cap.key == b"K" * 16
    assert result.storage_index == immutable_storage_index(b"K" * 16)


@settings(max_examples=20, deadline=None)
@given(
    data=st.binary(min_size=56, max_size=5000),
    chunk=st.integers(1, 6000),
    params=upload_parameters(),
)
def test_convergent_key_pass_matches_grid(
    data: bytes, chunk: int, params: UploadParameters
) -> None:
    """Hashing the source in any chunk size gives grid.chk_encode.convergent_key."""
    plan = ChkPlan(
        size=len(data),
        needed=params.needed,
        total=params.total,
        max_segment_size=params.max_segment_size,
    )
    source_key = outcome(
        ensureDeferred(
            convergent_upload_key(RecordingSource(data), SECRET, plan, InlineRunner(), chunk)
        )
    )
    assert source_key == convergent_key(SECRET, plan, [data])


def test_allocations_use_lease_secrets_and_the_exact_allocated_size() -> None:
    """Each server gets its own lease secrets and the layout's exact allocated size."""
    servers = make_servers(10)
    data = b"a" * 1024
    result = upload(data, servers, params=UploadParameters(max_segment_size=131072))
    plan = ChkPlan(size=1024, needed=3, total=10, max_segment_size=131072)
    assert result.storage_index is not None
    for server in servers:
        (allocation,) = server.allocations
        renew, cancel, _, allocated_size = allocation
        assert (renew, cancel) == lease_secrets(
            LEASE_SECRET, result.storage_index, server.lease_seed
        )
        assert allocated_size == 964 == ChkEncoder(b"k" * 16, plan).layout.allocated_size
        assert all(len(body) == 964 for body in server.share_bodies(result.storage_index).values())


def test_every_bucket_is_closed_after_its_last_write() -> None:
    """Every bucket is closed once, after all of its bytes (trailer included) arrived."""
    servers = make_servers(4)
    params = UploadParameters(needed=2, happy=4, total=6, max_segment_size=300)
    tuning = UploadTuning(write_batch_size=100)
    upload(bytes(range(256)) * 8, servers, params=params, tuning=tuning)
    buckets = [bucket for server in servers for bucket in server.buckets]
    assert len(buckets) == 6
    for bucket in buckets:
        assert bucket.closed
        assert bucket.writes_at_close == len(bucket.writes) > 1
        assert sum(length for _, length in bucket.writes) == len(bucket.data)


def test_shares_already_stored_are_not_sent_again() -> None:
    """A second upload of the same file writes nothing and still renews leases."""
    servers = make_servers(10)
    data = b"repeat" * 300
    first = upload(data, servers)
    writes_before = [server.write_calls for server in servers]
    second = upload(data, servers)
    assert second.cap == first.cap
    assert second.pushed_shares == 0
    assert second.preexisting_shares == 10
    assert second.happiness == 10
    assert [server.write_calls for server in servers] == writes_before
    assert all(len(server.allocations) == 2 for server in servers)


def test_only_missing_shares_are_sent() -> None:
    """When some shares survive, only the lost ones are uploaded, and all decode."""
    servers = make_servers(10)
    data = b"partial" * 400
    first = upload(data, servers)
    assert first.storage_index is not None
    lost = [server for server in servers if server.number in {2, 5, 9}]
    for server in lost:
        server.shares.clear()
    second = upload(data, servers)
    assert second.pushed_shares == 3
    assert second.preexisting_shares == 7
    assert sorted(second.sharemap) == list(range(10))
    assert all(server.shares for server in lost)
    assert decoded(second, servers) == data


def test_cpu_work_runs_on_the_runner() -> None:
    """Hashing, encoding each job of segments and building the trees all go through the runner."""
    runner = InlineRunner()
    plan = ChkPlan(size=5000, needed=3, total=10, max_segment_size=1024)
    tuning = UploadTuning(job_size=2 * plan.segment_size)
    upload(b"z" * 5000, make_servers(10), runner=runner, params=SMALL_SEGMENTS, tuning=tuning)
    jobs = -(-plan.num_segments // 2)
    assert plan.num_segments == 5
    assert runner.calls["encode_chk_segments"] == jobs
    assert runner.calls["add_segments"] == jobs
    assert runner.calls["finish"] == 1
    assert runner.calls["update"] >= 1


def test_fewer_servers_than_shares_still_place_every_share() -> None:
    """With 4 servers and N=10, every share is placed, spread 3/3/2/2."""
    servers = make_servers(4)
    params = UploadParameters(needed=3, happy=4, total=10, max_segment_size=1024)
    result = upload(b"q" * 2000, servers, params=params)
    assert result.happiness == 4
    assert sorted(result.sharemap) == list(range(10))
    assert sorted(len(server.buckets) for server in servers) == [2, 2, 3, 3]


def test_the_source_is_read_a_job_at_a_time() -> None:
    """No read asks for more than one job or hash chunk: the file is never held whole."""
    data = bytes(range(256)) * 40
    source = RecordingSource(data)
    tuning = UploadTuning(hash_chunk_size=2048, job_size=2048)
    servers = make_servers(10)
    result = outcome(start_upload(source, servers, tuning=tuning))
    assert decoded(result, servers) == data
    assert max(length for _, length in source.reads) <= 2048
    assert len(source.reads) > 10


def test_unused_server_holds_no_buckets() -> None:
    """With more servers than shares, later servers in permuted order get nothing."""
    servers = make_servers(14)
    upload(b"w" * 800, servers)
    assert [len(server.buckets) for server in servers] == [1] * 10 + [0] * 4
    assert isinstance(servers[0], FakeUploadServer)
