import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.download import CapMismatchError
from grid.caps import CHKReadCap
from grid.errors import IntegrityError, NotEnoughSharesError
from grid.formats.immutable_share import parse_share
from grid.formats.uri_extension import pack_uri_extension, parse_uri_extension
from grid.hashing import uri_extension_hash
from tests.component.test_download_fakes import (
    READ_TIMEOUT,
    FakeServer,
    block_segments_read,
    encode_file,
    start_download,
)

FILE = encode_file(20_000, needed=3, total=6, segment_size=2400)
LAYOUT = parse_share(FILE.bodies[0]).layout
UEB = parse_uri_extension(parse_share(FILE.bodies[0]).uri_extension)


def _region_offsets() -> dict[str, int]:
    """One byte inside each region of share 0 that a download must check."""
    return {
        "header": 0x14,
        "block": LAYOUT.data + 5,
        "tail block": LAYOUT.plaintext_hash_tree - 1,
        "crypttext tree": LAYOUT.crypttext_hash_tree + 32 * 2 + 1,
        "block tree": LAYOUT.block_hashes + 32 * 4 + 1,
        "share hash chain": LAYOUT.share_hashes + 3,
        "UEB": LAYOUT.ueb_offset + 20,
        "UEB length field": LAYOUT.uri_extension,
    }


@pytest.mark.parametrize(("region", "offset"), sorted(_region_offsets().items()))
def test_corrupt_region_is_reported_and_survived(region: str, offset: int) -> None:
    """A corrupt byte in any checked region is reported to its server; the bytes are still right."""
    servers = FILE.servers()
    servers[0].corrupt(0, offset)
    download = start_download(FILE, servers)
    assert download.succeeded(), region
    assert download.data == FILE.plaintext
    assert [shnum for shnum, _ in servers[0].advisories] == [0]
    (_, reason) = servers[0].advisories[0]
    assert reason.startswith(b"grid download: share 0: ")
    assert all(not server.advisories for server in servers[1:])


def test_corrupt_block_reason_names_the_block() -> None:
    """The advice for a bad block says which block failed which check."""
    servers = FILE.servers()
    servers[1].corrupt(1, LAYOUT.data + UEB.block_size * 2 + 7)
    download = start_download(FILE, servers)
    assert download.data == FILE.plaintext
    (_, reason) = servers[1].advisories[0]
    assert b"block 2 fails its block hash tree" in reason


def test_corrupt_share_is_not_used_again() -> None:
    """After its block 0 fails, a share is read no more, and other shares carry the file."""
    servers = FILE.servers()
    servers[2].corrupt(2, LAYOUT.data + 1)
    download = start_download(FILE, servers, window=1)
    assert download.data == FILE.plaintext
    block_reads = [read for read in servers[2].reads if LAYOUT.data <= read.offset]
    assert len([read for read in block_reads if read.offset < LAYOUT.plaintext_hash_tree]) == 1
    assert servers[3].reads


def test_same_share_on_two_servers_one_corrupt() -> None:
    """When the first holder of a share is corrupt, the same share from another server is used."""
    good = FakeServer("good", {0: FILE.bodies[0]})
    bad = FakeServer("bad", {0: FILE.bodies[0]})
    bad.corrupt(0, LAYOUT.data + 3)
    others = FILE.servers([1, 2])
    download = start_download(FILE, [bad, *others, good])
    assert download.data == FILE.plaintext
    assert len(bad.advisories) == 1
    assert good.reads


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_corrupt_byte_with_a_spare_share_is_survived(data: st.DataObject) -> None:
    """One byte changed anywhere in one share: with spares available the file comes out right."""
    victim = data.draw(st.integers(min_value=0, max_value=5))
    size = len(FILE.bodies[victim])
    offset = data.draw(st.integers(min_value=0, max_value=size - 1))
    servers = FILE.servers()
    servers[victim].corrupt(victim, offset)
    download = start_download(FILE, servers, window=data.draw(st.integers(1, 3)))
    assert download.succeeded()
    assert download.data == FILE.plaintext


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corruption_with_only_k_shares_never_yields_wrong_bytes(data: st.DataObject) -> None:
    """With exactly k shares and one byte changed, the download is right or fails cleanly.

    Whatever it delivered before failing is a true prefix of the file.
    """
    chosen = data.draw(st.permutations(range(6)))[:3]
    victim = data.draw(st.sampled_from(chosen))
    offset = data.draw(st.integers(min_value=0, max_value=len(FILE.bodies[victim]) - 1))
    servers = FILE.servers(chosen)
    servers[chosen.index(victim)].corrupt(victim, offset)
    download = start_download(FILE, servers)
    if download.succeeded():
        assert download.data == FILE.plaintext
    else:
        assert download.failure().check(NotEnoughSharesError)
        assert FILE.plaintext.startswith(download.data)


def test_fewer_than_k_shares_raise_and_emit_nothing() -> None:
    """With k-1 shares the download raises NotEnoughSharesError before delivering any byte."""
    download = start_download(FILE, FILE.servers([1, 4]))
    failure = download.failure()
    assert failure.check(NotEnoughSharesError)
    assert failure.value.needed == 3
    assert download.chunks == []


def test_no_servers_raise_not_enough_shares() -> None:
    """With no servers at all the download raises NotEnoughSharesError."""
    assert start_download(FILE, []).failure().check(NotEnoughSharesError)


def test_missing_shares_are_skipped() -> None:
    """Servers without shares and servers with a few shares still make up k."""
    empty = FakeServer("empty", {})
    two = FakeServer("two", {4: FILE.bodies[4], 5: FILE.bodies[5]})
    download = start_download(FILE, [empty, *FILE.servers([2]), two])
    assert download.data == FILE.plaintext
    assert empty.bucket_queries == 1


def test_corruption_below_k_raises_after_a_true_prefix() -> None:
    """When a later block is corrupt and no spare exists, the bytes before it were right."""
    servers = FILE.servers([0, 1, 2])
    servers[1].corrupt(1, LAYOUT.data + UEB.block_size * 5 + 1)
    download = start_download(FILE, servers, window=1)
    assert download.failure().check(NotEnoughSharesError)
    assert download.data == FILE.plaintext[: 5 * UEB.segment_size]
    assert len(servers[1].advisories) == 1


def test_server_hung_at_get_buckets_does_not_delay_download() -> None:
    """A server that never answers get_buckets is not waited for when others have k shares."""
    servers = FILE.servers()
    servers[0].hang()
    download = start_download(FILE, servers)
    assert download.succeeded()
    assert download.data == FILE.plaintext


def test_hung_reads_time_out_and_are_replaced() -> None:
    """A server that stops answering reads is dropped after the read timeout and replaced."""
    servers = FILE.servers()
    servers[1].hang_after(6)
    download = start_download(FILE, servers, window=2)
    assert not download.deferred.called
    download.clock.advance(READ_TIMEOUT)
    assert download.succeeded()
    assert download.data == FILE.plaintext
    assert servers[3].reads
    assert not servers[1].advisories
    assert all(hung.called for hung in servers[1].hung_calls)


def test_dropped_server_is_not_asked_again() -> None:
    """After a timeout, no more calls go to that server."""
    servers = FILE.servers()
    servers[0].hang_after(3)
    download = start_download(FILE, servers, window=1)
    asked = len(servers[0].reads)
    download.clock.advance(READ_TIMEOUT)
    assert download.succeeded()
    assert len(servers[0].reads) == asked


def test_all_servers_hung_raise_after_the_timeout() -> None:
    """When every server hangs, the download fails with NotEnoughSharesError once they time out."""
    servers = FILE.servers()
    for server in servers:
        server.hang()
    download = start_download(FILE, servers)
    download.clock.advance(READ_TIMEOUT - 1)
    assert not download.deferred.called
    download.clock.advance(1)
    assert download.failure().check(NotEnoughSharesError)
    assert download.clock.getDelayedCalls() == []


def test_broken_server_is_replaced() -> None:
    """A server whose calls fail is replaced at once, without waiting for a timeout."""
    servers = FILE.servers()
    servers[2].break_()
    download = start_download(FILE, servers)
    assert download.succeeded()
    assert download.data == FILE.plaintext
    assert not servers[2].advisories


def test_wrong_ueb_hash_finds_no_share() -> None:
    """A cap naming another UEB accepts no share, and blames none: NotEnoughSharesError."""
    cap = attrs.evolve(FILE.cap, uri_extension_hash=b"\x01" * 32)
    servers = FILE.servers()
    download = start_download(cap, servers)
    assert download.failure().check(NotEnoughSharesError)
    assert download.chunks == []
    assert all(not server.advisories for server in servers)


def test_cap_contradicting_its_ueb_is_a_cap_mismatch() -> None:
    """A cap whose UEB hash is right but whose size is not raises CapMismatchError."""
    ueb = attrs.evolve(UEB, size=UEB.size + 1)
    packed = pack_uri_extension(ueb)
    body = bytearray(FILE.bodies[0][: LAYOUT.uri_extension])
    body += len(packed).to_bytes(4, "big") + packed
    cap = CHKReadCap(
        key=FILE.cap.key,
        uri_extension_hash=uri_extension_hash(packed),
        needed_shares=3,
        total_shares=6,
        size=FILE.cap.size,
    )
    download = start_download(cap, [FakeServer("odd", {0: bytes(body)})])
    failure = download.failure()
    assert failure.check(CapMismatchError)
    assert failure.check(IntegrityError)


def test_consumer_error_stops_the_download() -> None:
    """An exception from the consumer ends the download with it, and cancels every call."""

    class ConsumerFullError(Exception):
        pass

    def consumer(data: bytes) -> None:
        raise ConsumerFullError(len(data))

    servers = FILE.servers()
    servers[5].hang()
    download = start_download(FILE, servers, consumer=consumer)
    assert download.failure().check(ConsumerFullError)
    assert download.clock.getDelayedCalls() == []


CRYPTTEXT_NODE_2 = LAYOUT.crypttext_hash_tree + 32 * 2 + 4


def test_crypttext_nodes_wrong_everywhere_is_an_integrity_error() -> None:
    """If no share's crypttext tree proves a segment, IntegrityError, and no server is blamed."""
    servers = FILE.servers([0, 1, 2])
    for shnum, server in enumerate(servers):
        server.corrupt(shnum, CRYPTTEXT_NODE_2)
    download = start_download(FILE, servers)
    failure = download.failure()
    assert failure.check(IntegrityError)
    assert not failure.check(NotEnoughSharesError)
    assert download.chunks == []
    assert all(not server.advisories for server in servers)


def test_wrong_crypttext_nodes_are_blamed_once_another_share_proves_the_segment() -> None:
    """Shares whose crypttext nodes failed are reported once a spare's nodes prove the segment.

    They are still used for blocks, but not asked for crypttext nodes again.
    """
    servers = FILE.servers([0, 1, 2, 3])
    for shnum, server in enumerate(servers[:3]):
        server.corrupt(shnum, CRYPTTEXT_NODE_2)
    download = start_download(FILE, servers, window=1)
    assert download.succeeded()
    assert download.data == FILE.plaintext
    assert [len(server.advisories) for server in servers] == [1, 1, 1, 0]
    assert b"crypttext hash tree" in servers[0].advisories[0][1]
    every_segment = set(range(UEB.num_segments))
    assert block_segments_read(servers[0], 0, UEB.block_size) == every_segment


def test_server_breaking_mid_download_is_replaced() -> None:
    """A server whose reads start failing mid-download is replaced; nothing is reported."""
    servers = FILE.servers()
    servers[1].break_after(5)
    download = start_download(FILE, servers)
    assert download.succeeded()
    assert download.data == FILE.plaintext
    assert servers[3].reads
    assert not servers[1].advisories


@pytest.mark.parametrize(
    "length", [10, LAYOUT.data + 100, LAYOUT.crypttext_hash_tree, LAYOUT.ueb_offset + 2]
)
def test_truncated_share_is_reported_and_replaced(length: int) -> None:
    """A share cut short anywhere is reported as corrupt and another share is used."""
    servers = FILE.servers()
    servers[0].truncate(0, length)
    download = start_download(FILE, servers)
    assert download.succeeded()
    assert download.data == FILE.plaintext
    assert len(servers[0].advisories) == 1
