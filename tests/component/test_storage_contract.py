"""The storage contract: every backend in storage_backends.BACKENDS must pass these."""

import hashlib
from pathlib import Path

import pytest

from grid.base32 import b2a
from grid.formats.immutable_container import (
    lease_matches_renew_secret,
    parse_container,
)
from grid.formats.mutable_container import (
    CONTAINER_V2,
    lease_secret_matches,
    parse_mutable_container,
)
from storage_server.layout import StorageLayout
from storage_server.server import LEASE_DURATION, MAX_MUTABLE_SHARE_SIZE
from tests.component.storage_backends import (
    DEFAULT_FREE_SPACE,
    RemoteFailure,
    StorageBackend,
    TestAndWriteVectors,
)

V1_KEY = b"http://allmydata.org/tahoe/protocols/storage/v1"
ABSENT = (0, 1, b"eq", b"")


def make_si(label: str) -> bytes:
    """A storage index derived from a label."""
    return hashlib.sha256(b"si:" + label.encode()).digest()[:16]


def make_secret(label: str) -> bytes:
    """A 32-byte secret derived from a label."""
    return hashlib.sha256(b"secret:" + label.encode()).digest()


def lease_pair(label: str) -> tuple[bytes, bytes]:
    """A (renew, cancel) secret pair."""
    return make_secret("renew" + label), make_secret("cancel" + label)


def slot_secrets(label: str, enabler: str = "we") -> tuple[bytes, bytes, bytes]:
    """(write enabler, renew, cancel) for a slot."""
    return (make_secret(enabler), *lease_pair(label))


def share_bytes(label: str, size: int) -> bytes:
    """Deterministic share data."""
    stream = b"".join(
        hashlib.sha256(f"{label}:{i}".encode()).digest() for i in range(size // 32 + 1)
    )
    return stream[:size]


def share_path(api: StorageBackend, storage_index: bytes, shnum: int) -> Path:
    """Where the server keeps a final share."""
    return StorageLayout(api.storage_dir).share_path(storage_index, shnum)


def upload(
    api: StorageBackend, storage_index: bytes, shares: dict[int, bytes], lease: str = "a"
) -> set[int]:
    """Upload complete shares of equal size; return the server's alreadygot."""
    size = len(next(iter(shares.values())))
    already, writers = api.allocate_buckets(storage_index, *lease_pair(lease), set(shares), size)
    assert set(writers) == set(shares) - already
    for shnum, writer in writers.items():
        writer.write(0, shares[shnum])
        writer.close()
    return already


def write_slot(
    api: StorageBackend,
    storage_index: bytes,
    shares: dict[int, bytes],
    *,
    lease: str = "a",
    enabler: str = "we",
) -> None:
    """Create or overwrite mutable shares with whole new contents, unconditionally."""
    vectors: TestAndWriteVectors = {
        shnum: ([], [(0, data)], len(data)) for shnum, data in shares.items()
    }
    passed, _ = api.slot_testv_and_readv_and_writev(
        storage_index, slot_secrets(lease, enabler), vectors, []
    )
    assert passed


def read_slot(api: StorageBackend, storage_index: bytes) -> dict[int, bytes]:
    """Whole contents of every mutable share of a slot."""
    return {
        shnum: data for shnum, (data,) in api.slot_readv(storage_index, [], [(0, 10**6)]).items()
    }


def test_get_version_has_exactly_the_tahoe_keys(storage_api: StorageBackend) -> None:
    """get_version returns §9.2's keys and values, with space from the disk."""
    version = storage_api.get_version()
    assert set(version) == {V1_KEY, b"application-version"}
    assert isinstance(version[b"application-version"], bytes)
    assert version[V1_KEY] == {
        b"maximum-immutable-share-size": DEFAULT_FREE_SPACE,
        b"maximum-mutable-share-size": MAX_MUTABLE_SHARE_SIZE,
        b"available-space": DEFAULT_FREE_SPACE,
        b"tolerates-immutable-read-overrun": True,
        b"delete-mutable-shares-with-zero-length-writev": True,
        b"fills-holes-with-zero-bytes": True,
        b"prevents-read-past-end-of-share-data": True,
    }


def test_get_version_space_rules(storage_api: StorageBackend) -> None:
    """Available space is free less reserved, never negative, 0 read-only, 2**64 unknown."""
    storage_api.set_free_space(1000)
    storage_api.restart(reserved_space=300)
    assert storage_api.get_version()[V1_KEY][b"available-space"] == 700
    storage_api.restart(reserved_space=5000)
    assert storage_api.get_version()[V1_KEY][b"maximum-immutable-share-size"] == 0
    storage_api.restart(readonly=True)
    assert storage_api.get_version()[V1_KEY][b"available-space"] == 0
    storage_api.set_free_space(None)
    storage_api.restart()
    v1 = storage_api.get_version()[V1_KEY]
    assert v1[b"available-space"] == v1[b"maximum-immutable-share-size"] == 2**64


def test_upload_then_read_back(storage_api: StorageBackend) -> None:
    """Shares written and closed are served by get_buckets with the same bytes."""
    si = make_si("upload")
    shares = {shnum: share_bytes(f"s{shnum}", 1000) for shnum in (0, 3, 7)}
    assert upload(storage_api, si, shares) == set()
    readers = storage_api.get_buckets(si)
    assert set(readers) == {0, 3, 7}
    for shnum, reader in readers.items():
        assert reader.read(0, 1000) == shares[shnum]
        assert reader.read(100, 50) == shares[shnum][100:150]


def test_writes_in_pieces_and_out_of_order(storage_api: StorageBackend) -> None:
    """A share written in out-of-order pieces reads back whole."""
    si = make_si("pieces")
    data = share_bytes("pieces", 300)
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 300)
    for offset in (200, 0, 100):
        writers[0].write(offset, data[offset : offset + 100])
    writers[0].close()
    assert storage_api.get_buckets(si)[0].read(0, 300) == data


def test_reads_are_truncated_at_the_end(storage_api: StorageBackend) -> None:
    """A read past the end is cut; a read starting past the end is empty."""
    si = make_si("truncate")
    data = share_bytes("t", 100)
    upload(storage_api, si, {0: data})
    reader = storage_api.get_buckets(si)[0]
    assert reader.read(90, 1000) == data[90:]
    assert reader.read(100, 10) == b""
    assert reader.read(5000, 10) == b""
    assert reader.read(0, 0) == b""


def test_unwritten_holes_read_as_zeros(storage_api: StorageBackend) -> None:
    """Close does not check completeness: unwritten bytes read as zeros."""
    si = make_si("holes")
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 100)
    writers[0].write(10, b"x" * 10)
    writers[0].close()
    assert storage_api.get_buckets(si)[0].read(0, 100) == bytes(10) + b"x" * 10 + bytes(80)


def test_get_buckets_of_unknown_storage_index_is_empty(storage_api: StorageBackend) -> None:
    """get_buckets of a storage index the server never saw is empty."""
    assert storage_api.get_buckets(make_si("nothing")) == {}


def test_alreadygot_reports_every_complete_share(storage_api: StorageBackend) -> None:
    """All complete shares are reported as already held, and none is allocated again."""
    si = make_si("already")
    upload(storage_api, si, {0: b"a" * 10, 1: b"b" * 10})
    already, writers = storage_api.allocate_buckets(si, *lease_pair("b"), {1, 2, 3}, 10)
    assert already == {0, 1}
    assert set(writers) == {2, 3}


def test_incoming_shares_are_not_reallocated(storage_api: StorageBackend) -> None:
    """A share still being uploaded is neither allocated again nor reported as held."""
    si = make_si("incoming")
    _, first = storage_api.allocate_buckets(si, *lease_pair("a"), {0, 1}, 10)
    already, second = storage_api.allocate_buckets(si, *lease_pair("b"), {0, 1, 2}, 10)
    assert already == set()
    assert set(second) == {2}
    first[0].write(0, b"z" * 10)
    first[0].close()
    already, third = storage_api.allocate_buckets(si, *lease_pair("c"), {0, 1}, 10)
    assert already == {0}
    assert third == {}


def test_abort_discards_the_share(storage_api: StorageBackend) -> None:
    """An aborted upload leaves no share and its number can be allocated again."""
    si = make_si("abort")
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 10)
    writers[0].write(0, b"q" * 10)
    writers[0].abort()
    writers[0].abort()
    assert storage_api.get_buckets(si) == {}
    _, again = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 10)
    assert set(again) == {0}


def test_closed_and_aborted_buckets_refuse_writes(storage_api: StorageBackend) -> None:
    """Writing after close or abort, or closing twice, fails; abort after close does nothing."""
    si = make_si("closed")
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0, 1}, 10)
    writers[0].write(0, b"c" * 10)
    writers[0].close()
    with pytest.raises(RemoteFailure):
        writers[0].write(0, b"c" * 10)
    with pytest.raises(RemoteFailure):
        writers[0].close()
    writers[0].abort()
    assert storage_api.get_buckets(si)[0].read(0, 10) == b"c" * 10
    writers[1].abort()
    with pytest.raises(RemoteFailure):
        writers[1].write(0, b"d")
    with pytest.raises(RemoteFailure):
        writers[1].close()


def test_write_past_allocated_size_fails(storage_api: StorageBackend) -> None:
    """A write reaching past the allocated size is refused and changes nothing."""
    si = make_si("too-large")
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 10)
    with pytest.raises(RemoteFailure):
        writers[0].write(5, b"x" * 6)
    writers[0].write(0, b"y" * 10)
    writers[0].close()
    assert storage_api.get_buckets(si)[0].read(0, 20) == b"y" * 10


def test_overlapping_writes_must_agree(storage_api: StorageBackend) -> None:
    """Rewriting written bytes with the same values is fine; different values fail."""
    si = make_si("overlap")
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 20)
    writers[0].write(0, b"abcdefghij")
    writers[0].write(5, b"fghij12345")
    with pytest.raises(RemoteFailure):
        writers[0].write(8, b"XX")
    writers[0].close()
    assert storage_api.get_buckets(si)[0].read(0, 20) == b"abcdefghij12345" + bytes(5)


def test_allocation_respects_free_space(storage_api: StorageBackend) -> None:
    """Buckets that do not fit, counting space promised to open uploads, are omitted."""
    storage_api.set_free_space(1000)
    storage_api.restart(reserved_space=100)
    si = make_si("space")
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0, 1, 2}, 400)
    assert set(writers) == {0, 1}
    _, more = storage_api.allocate_buckets(make_si("space2"), *lease_pair("a"), {0}, 200)
    assert more == {}
    writers[0].abort()
    _, more = storage_api.allocate_buckets(make_si("space2"), *lease_pair("a"), {0}, 200)
    assert set(more) == {0}


def test_readonly_server_allocates_nothing(storage_api: StorageBackend) -> None:
    """A read-only server still reports held shares but allocates none, even empty ones."""
    si = make_si("readonly")
    upload(storage_api, si, {0: b"r" * 10})
    storage_api.restart(readonly=True)
    already, writers = storage_api.allocate_buckets(si, *lease_pair("b"), {0, 1}, 0)
    assert already == {0}
    assert writers == {}
    assert storage_api.get_buckets(si)[0].read(0, 10) == b"r" * 10


def test_shares_survive_restart(storage_api: StorageBackend) -> None:
    """Immutable and mutable shares are served again after a restart."""
    si, slot = make_si("restart"), make_si("restart-slot")
    upload(storage_api, si, {4: b"persist" * 3})
    write_slot(storage_api, slot, {2: b"mutable data"})
    storage_api.restart()
    assert storage_api.get_buckets(si)[4].read(0, 100) == b"persist" * 3
    assert read_slot(storage_api, slot) == {2: b"mutable data"}


def test_unfinished_upload_does_not_survive_restart(storage_api: StorageBackend) -> None:
    """An upload not closed before a restart is gone and can be allocated again."""
    si = make_si("crash")
    _, writers = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 10)
    writers[0].write(0, b"w" * 10)
    storage_api.restart()
    assert storage_api.get_buckets(si) == {}
    already, again = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 10)
    assert already == set()
    assert set(again) == {0}


def test_allocation_puts_the_first_lease(storage_api: StorageBackend) -> None:
    """A new share carries one owner-0 lease for the allocating secrets, expiring in 31 days."""
    si = make_si("lease0")
    upload(storage_api, si, {0: b"l" * 10})
    container = parse_container(share_path(storage_api, si, 0).read_bytes())
    assert container.version == 2
    (lease,) = container.leases
    assert lease.owner_num == 0
    assert lease.expiration_time == int(storage_api.now()) + LEASE_DURATION
    assert lease_matches_renew_secret(2, lease, lease_pair("a")[0])


def test_add_lease_adds_then_renews(storage_api: StorageBackend) -> None:
    """An add_lease call appends an owner-1 lease for new secrets and renews it for known ones."""
    si = make_si("lease1")
    upload(storage_api, si, {0: b"l" * 10, 1: b"m" * 10})
    storage_api.add_lease(si, *lease_pair("b"))
    start = storage_api.now()
    storage_api.advance(1000)
    storage_api.add_lease(si, *lease_pair("b"))
    for shnum in (0, 1):
        container = parse_container(share_path(storage_api, si, shnum).read_bytes())
        first, second = container.leases
        assert first.expiration_time == int(start) + LEASE_DURATION
        assert second.owner_num == 1
        assert second.expiration_time == int(start) + 1000 + LEASE_DURATION
        assert lease_matches_renew_secret(2, second, lease_pair("b")[0])
        assert container.share_data == (b"l" if shnum == 0 else b"m") * 10


def test_allocate_renews_the_lease_on_held_shares(storage_api: StorageBackend) -> None:
    """Allocating again with the same secrets renews the existing lease instead of adding one."""
    si = make_si("lease-renew")
    upload(storage_api, si, {0: b"l" * 10})
    storage_api.advance(500)
    already, _ = storage_api.allocate_buckets(si, *lease_pair("a"), {0}, 10)
    assert already == {0}
    (lease,) = parse_container(share_path(storage_api, si, 0).read_bytes()).leases
    assert lease.expiration_time == int(storage_api.now()) + LEASE_DURATION


def test_add_lease_on_unknown_storage_index_is_silent(storage_api: StorageBackend) -> None:
    """An add_lease call for a storage index with no shares does nothing and raises nothing."""
    storage_api.add_lease(make_si("nobody"), *lease_pair("a"))
    assert storage_api.get_buckets(make_si("nobody")) == {}


def test_add_lease_on_mutable_shares(storage_api: StorageBackend) -> None:
    """An add_lease call also adds or renews leases on mutable shares."""
    slot = make_si("lease-mutable")
    write_slot(storage_api, slot, {0: b"data"}, lease="a")
    storage_api.add_lease(slot, *lease_pair("b"))
    container = parse_mutable_container(share_path(storage_api, slot, 0).read_bytes())
    first, second = container.leases
    assert (first.owner_num, second.owner_num) == (1, 1)
    assert second.nodeid == storage_api.nodeid
    assert lease_secret_matches(CONTAINER_V2, second.renew_secret_stored, lease_pair("b")[0])
    assert container.data == b"data"


def test_advise_corrupt_share_writes_a_report(storage_api: StorageBackend) -> None:
    """A corruption advisory on a held share leaves a report naming it; others leave none."""
    si = make_si("corrupt")
    upload(storage_api, si, {2: b"c" * 10})
    advisories = storage_api.storage_dir / "corruption-advisories"
    storage_api.advise_corrupt_share(b"immutable", si, 5, b"not held")
    assert list(advisories.iterdir()) == []
    storage_api.get_buckets(si)[2].advise_corrupt_share(b"bad hash\x1b[31m")
    storage_api.advise_corrupt_share(b"immutable", si, 2, b"again")
    reports = sorted(advisories.iterdir())
    assert len(reports) == 2
    for report in reports:
        assert report.name.endswith(f"--{b2a(si)}-2") or f"--{b2a(si)}-2." in report.name
        text = report.read_text()
        assert f"storage_index: {b2a(si)}" in text
        assert "share_number: 2" in text
        assert "\x1b" not in text


def test_new_slot_written_and_read(storage_api: StorageBackend) -> None:
    """A test-and-write creating shares succeeds and slot_readv reads them back."""
    slot = make_si("slot")
    passed, reads = storage_api.slot_testv_and_readv_and_writev(
        slot,
        slot_secrets("a"),
        {0: ([ABSENT], [(0, b"hello")], None), 1: ([ABSENT], [(0, b"world!")], None)},
        [(0, 3)],
    )
    assert passed
    assert reads == {}
    assert storage_api.slot_readv(slot, [], [(0, 3), (2, 100)]) == {
        0: [b"hel", b"llo"],
        1: [b"wor", b"rld!"],
    }


def test_mutable_container_is_v2_with_our_nodeid(storage_api: StorageBackend) -> None:
    """A new mutable share is a version-2 container recording this server's node id."""
    slot = make_si("container")
    write_slot(storage_api, slot, {0: b"abc"})
    container = parse_mutable_container(share_path(storage_api, slot, 0).read_bytes())
    assert container.header.version == CONTAINER_V2
    assert container.header.write_enabler_nodeid == storage_api.nodeid
    assert container.header.write_enabler == make_secret("we")
    (lease,) = container.leases
    assert lease.owner_num == 1
    assert lease.expiration_time == int(storage_api.now()) + LEASE_DURATION


def test_failing_test_writes_nothing(storage_api: StorageBackend) -> None:
    """If any test fails nothing is written, and the reads still come back."""
    slot = make_si("testfail")
    write_slot(storage_api, slot, {0: b"version1", 1: b"other"})
    passed, reads = storage_api.slot_testv_and_readv_and_writev(
        slot,
        slot_secrets("a"),
        {
            0: ([(0, 8, b"eq", b"version1")], [(0, b"version2")], None),
            1: ([(0, 5, b"eq", b"wrong")], [(0, b"xxxxx")], None),
            2: ([], [(0, b"new")], None),
        },
        [(0, 8)],
    )
    assert not passed
    assert reads == {0: [b"version1"], 1: [b"other"]}
    assert read_slot(storage_api, slot) == {0: b"version1", 1: b"other"}


def test_missing_share_tests_as_empty(storage_api: StorageBackend) -> None:
    """A test against a missing share sees empty data: (0,1,eq,'') passes, others fail."""
    slot = make_si("empty-test")
    passed, _ = storage_api.slot_testv_and_readv_and_writev(
        slot, slot_secrets("a"), {0: ([(0, 4, b"eq", b"abcd")], [(0, b"x")], None)}, []
    )
    assert not passed
    assert read_slot(storage_api, slot) == {}
    passed, _ = storage_api.slot_testv_and_readv_and_writev(
        slot, slot_secrets("a"), {0: ([(10, 0, b"eq", b""), ABSENT], [(0, b"x")], None)}, []
    )
    assert passed


def test_test_vectors_compare_truncated_reads(storage_api: StorageBackend) -> None:
    """A test reads like a read vector: cut at the end of the data."""
    slot = make_si("trunc-test")
    write_slot(storage_api, slot, {0: b"abcdef"})
    passed, _ = storage_api.slot_testv_and_readv_and_writev(
        slot, slot_secrets("a"), {0: ([(4, 100, b"eq", b"ef")], [(6, b"gh")], None)}, []
    )
    assert passed
    assert read_slot(storage_api, slot) == {0: b"abcdefgh"}


def test_read_vector_covers_all_shares_before_writes(storage_api: StorageBackend) -> None:
    """Reads return the old data of every existing share, named or not."""
    slot = make_si("readv")
    write_slot(storage_api, slot, {0: b"zero", 1: b"one", 2: b"two"})
    passed, reads = storage_api.slot_testv_and_readv_and_writev(
        slot,
        slot_secrets("a"),
        {1: ([], [(0, b"ONE")], None), 5: ([], [(0, b"5")], None)},
        [(0, 4)],
    )
    assert passed
    assert reads == {0: [b"zero"], 1: [b"one"], 2: [b"two"]}
    assert read_slot(storage_api, slot) == {0: b"zero", 1: b"ONE", 2: b"two", 5: b"5"}


def test_writes_fill_holes_with_zeros(storage_api: StorageBackend) -> None:
    """Writing past the end fills the gap with zero bytes."""
    slot = make_si("holes")
    write_slot(storage_api, slot, {0: b"abc"})
    storage_api.slot_testv_and_readv_and_writev(
        slot, slot_secrets("a"), {0: ([], [(10, b"xyz"), (5, b"M")], None)}, []
    )
    assert read_slot(storage_api, slot) == {0: b"abc\0\0M\0\0\0\0xyz"}


def test_new_length_truncates_and_never_extends(storage_api: StorageBackend) -> None:
    """A shorter new_length cuts the data; a longer one is ignored; holes after cuts are zeros."""
    slot = make_si("truncate")
    write_slot(storage_api, slot, {0: b"0123456789"})
    storage_api.slot_testv_and_readv_and_writev(slot, slot_secrets("a"), {0: ([], [], 4)}, [])
    assert read_slot(storage_api, slot) == {0: b"0123"}
    storage_api.slot_testv_and_readv_and_writev(slot, slot_secrets("a"), {0: ([], [], 400)}, [])
    assert read_slot(storage_api, slot) == {0: b"0123"}
    storage_api.slot_testv_and_readv_and_writev(
        slot, slot_secrets("a"), {0: ([], [(8, b"ZZ")], None)}, []
    )
    assert read_slot(storage_api, slot) == {0: b"0123\0\0\0\0ZZ"}


def test_zero_new_length_deletes_the_share(storage_api: StorageBackend) -> None:
    """A new_length of 0 deletes the share, and the bucket directory when it is the last."""
    slot = make_si("delete")
    write_slot(storage_api, slot, {0: b"a", 1: b"b"})
    passed, _ = storage_api.slot_testv_and_readv_and_writev(
        slot, slot_secrets("a"), {0: ([], [(0, b"ignored")], 0), 7: ([], [], 0)}, []
    )
    assert passed
    assert read_slot(storage_api, slot) == {1: b"b"}
    storage_api.slot_testv_and_readv_and_writev(slot, slot_secrets("a"), {1: ([], [], 0)}, [])
    assert read_slot(storage_api, slot) == {}
    assert not share_path(storage_api, slot, 1).parent.exists()


def test_bad_write_enabler_changes_nothing(storage_api: StorageBackend) -> None:
    """A wrong write enabler is refused, names our node id, and leaves data and leases alone."""
    slot = make_si("enabler")
    write_slot(storage_api, slot, {0: b"guarded"})
    before = share_path(storage_api, slot, 0).read_bytes()
    storage_api.advance(100)
    with pytest.raises(RemoteFailure) as failure:
        storage_api.slot_testv_and_readv_and_writev(
            slot, slot_secrets("b", enabler="wrong"), {3: ([], [(0, b"x")], None)}, [(0, 7)]
        )
    assert f"The write enabler was recorded by nodeid '{b2a(storage_api.nodeid)}'." in str(
        failure.value
    )
    assert share_path(storage_api, slot, 0).read_bytes() == before
    assert read_slot(storage_api, slot) == {0: b"guarded"}


def test_slot_readv_selects_shares(storage_api: StorageBackend) -> None:
    """A slot_readv call reads the named shares that exist, or all of them for an empty list."""
    slot = make_si("select")
    write_slot(storage_api, slot, {0: b"a0", 1: b"b1", 2: b"c2"})
    assert storage_api.slot_readv(slot, [2, 0, 9], [(1, 1)]) == {0: [b"0"], 2: [b"2"]}
    assert storage_api.slot_readv(slot, [], [(5, 5)]) == {0: [b""], 1: [b""], 2: [b""]}
    assert storage_api.slot_readv(make_si("no-slot"), [], [(0, 5)]) == {}


def test_mutable_writes_add_then_renew_leases(storage_api: StorageBackend) -> None:
    """A write adds a lease for new secrets and renews the lease of known ones."""
    slot = make_si("mutable-leases")
    write_slot(storage_api, slot, {0: b"one"}, lease="a")
    storage_api.advance(50)
    write_slot(storage_api, slot, {0: b"two"}, lease="a")
    write_slot(storage_api, slot, {0: b"six"}, lease="b")
    leases = parse_mutable_container(share_path(storage_api, slot, 0).read_bytes()).leases
    assert [lease.expiration_time for lease in leases] == [
        int(storage_api.now()) + LEASE_DURATION
    ] * 2
    assert lease_secret_matches(CONTAINER_V2, leases[0].renew_secret_stored, lease_pair("a")[0])
    assert lease_secret_matches(CONTAINER_V2, leases[1].renew_secret_stored, lease_pair("b")[0])


def test_mutable_write_past_maximum_size_fails(storage_api: StorageBackend) -> None:
    """Data reaching past the maximum mutable share size is refused, nothing written."""
    slot = make_si("huge")
    with pytest.raises(RemoteFailure):
        storage_api.slot_testv_and_readv_and_writev(
            slot, slot_secrets("a"), {0: ([], [(MAX_MUTABLE_SHARE_SIZE - 1, b"xy")], None)}, []
        )
    assert read_slot(storage_api, slot) == {}


def test_only_eq_is_a_test_operator(storage_api: StorageBackend) -> None:
    """A test operator other than eq is refused."""
    slot = make_si("operator")
    with pytest.raises(RemoteFailure):
        storage_api.slot_testv_and_readv_and_writev(
            slot, slot_secrets("a"), {0: ([(0, 1, b"lt", b"z")], [(0, b"x")], None)}, []
        )
    assert read_slot(storage_api, slot) == {}


def test_empty_vectors_just_read(storage_api: StorageBackend) -> None:
    """A test-and-write with no vectors only reads."""
    slot = make_si("just-read")
    write_slot(storage_api, slot, {4: b"four"})
    assert storage_api.slot_testv_and_readv_and_writev(slot, slot_secrets("a"), {}, [(0, 2)]) == (
        True,
        {4: [b"fo"]},
    )
