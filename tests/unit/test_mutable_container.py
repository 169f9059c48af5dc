import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import ShareFormatError
from grid.formats.mutable_container import (
    CONTAINER_V1,
    CONTAINER_V2,
    DATA_OFFSET,
    EMPTY_CONTAINER_SIZE,
    LEASE_SIZE,
    ContainerVersion,
    MutableContainer,
    MutableContainerHeader,
    MutableLease,
    create_empty_container,
    data_read_range,
    extra_lease_block_size,
    is_mutable_container,
    lease_secret_matches,
    lease_slot_offset,
    make_lease,
    pack_lease_slot,
    pack_mutable_container,
    parse_container_header,
    parse_lease_slot,
    parse_mutable_container,
    plan_add_lease,
    plan_data_write,
    truncate_header,
)
from tests.strategies.mutable_formats import (
    container_versions,
    hashes,
    mutable_containers,
    mutable_leases,
    nodeids,
)

V1_MAGIC_HEX = "5461686f65206d757461626c6520636f6e7461696e65722076310a750944038e"
V2_MAGIC_HEX = "5461686f65206d757461626c6520636f6e7461696e65722076320ac355219925"
NODEID = b"N" * 20
WRITE_ENABLER = b"W" * 32


def apply_patches(buffer: bytearray, patches: list[tuple[int, bytes]]) -> None:
    """Write each (offset, bytes) into ``buffer`` in order, growing it with zeros like a file."""
    for offset, data in patches:
        if len(buffer) < offset:
            buffer.extend(bytes(offset - len(buffer)))
        buffer[offset : offset + len(data)] = data


def test_magic_strings_match_the_vectors() -> None:
    """The v1 magic is Tahoe's constant and the derived v2 magic equals the known hex."""
    assert CONTAINER_V1.magic.hex() == V1_MAGIC_HEX
    assert CONTAINER_V2.magic.hex() == V2_MAGIC_HEX


@pytest.mark.parametrize("version", [1, 2])
def test_empty_container_is_472_bytes_and_parses(version: int) -> None:
    """A new container is 472 bytes: no data, four empty slots, zero extra leases."""
    raw = create_empty_container(version, NODEID, WRITE_ENABLER)
    assert len(raw) == EMPTY_CONTAINER_SIZE == 472
    container = parse_mutable_container(raw)
    assert container.header.version.number == version
    assert container.header.write_enabler_nodeid == NODEID
    assert container.header.write_enabler_matches(WRITE_ENABLER)
    assert not container.header.write_enabler_matches(b"X" * 32)
    assert container.header.data_length == 0
    assert container.header.extra_lease_offset == DATA_OFFSET == 468
    assert container.lease_slots == (None, None, None, None)
    assert container.leases == ()
    assert pack_mutable_container(container) == raw


def test_unknown_container_version_is_rejected() -> None:
    """Only versions 1 and 2 can be created."""
    with pytest.raises(ShareFormatError):
        create_empty_container(3, NODEID, WRITE_ENABLER)


def test_is_mutable_container_recognises_both_magics_only() -> None:
    """Either magic is recognised; an immutable header, garbage or a short prefix is not."""
    assert is_mutable_container(CONTAINER_V1.magic + b"rest")
    assert is_mutable_container(CONTAINER_V2.magic)
    assert not is_mutable_container(b"\x00\x00\x00\x02" + bytes(28))
    assert not is_mutable_container(CONTAINER_V2.magic[:20])
    assert not is_mutable_container(b"")


def test_secrets_are_not_in_reprs() -> None:
    """Write enablers and lease secrets never appear in a repr."""
    header = parse_container_header(create_empty_container(2, NODEID, WRITE_ENABLER))
    lease = make_lease(
        CONTAINER_V1,
        owner_num=1,
        expiration_time=5,
        renew_secret=b"R" * 32,
        cancel_secret=b"C" * 32,
        nodeid=NODEID,
    )
    assert "WWWW" not in repr(header)
    assert "RRRR" not in repr(lease)
    assert "CCCC" not in repr(lease)


@given(st.binary(min_size=32, max_size=32))
def test_lease_secrets_stored_per_version(secret: bytes) -> None:
    """v1 stores lease secrets in clear, v2 as BLAKE2b-256, and both match the presented secret."""
    assert CONTAINER_V1.stored_lease_secret(secret) == secret
    hashed = hashlib.blake2b(secret, digest_size=32).digest()
    assert CONTAINER_V2.stored_lease_secret(secret) == hashed
    assert lease_secret_matches(CONTAINER_V2, hashed, secret)
    assert lease_secret_matches(CONTAINER_V1, secret, secret)
    assert not lease_secret_matches(CONTAINER_V2, secret, secret)
    assert not lease_secret_matches(CONTAINER_V1, secret, secret[:31])


@given(mutable_leases())
def test_lease_slot_round_trip(lease: MutableLease) -> None:
    """A lease packs into 92 bytes and parses back to itself."""
    packed = pack_lease_slot(lease)
    assert len(packed) == LEASE_SIZE
    assert parse_lease_slot(packed) == lease


def test_empty_lease_slot() -> None:
    """An empty slot packs as zeros, owner 0 parses as empty, and a short slot is rejected."""
    assert pack_lease_slot(None) == bytes(92)
    assert parse_lease_slot(bytes(4) + b"\xff" * 88) is None
    with pytest.raises(ShareFormatError):
        parse_lease_slot(bytes(91))
    with pytest.raises(ShareFormatError):
        MutableLease(0, 0, bytes(32), bytes(32), NODEID)


def test_header_rejects_data_past_the_extra_leases() -> None:
    """A header whose data length runs past the extra-lease offset is rejected."""
    with pytest.raises(ShareFormatError):
        MutableContainerHeader(CONTAINER_V2, NODEID, WRITE_ENABLER, 10, DATA_OFFSET + 9)


@given(mutable_containers())
def test_container_round_trip(container: MutableContainer) -> None:
    """parse(pack(container)) gives the same container back."""
    assert parse_mutable_container(pack_mutable_container(container)) == container


@given(st.binary(max_size=600))
def test_container_garbage_raises_only_share_format_error(data: bytes) -> None:
    """Arbitrary bytes either parse consistently or raise ShareFormatError."""
    check_container_bytes(data)


@given(container_versions, st.binary(max_size=600))
def test_container_garbage_after_magic(version: ContainerVersion, tail: bytes) -> None:
    """Arbitrary bytes after a valid magic either parse consistently or raise ShareFormatError."""
    check_container_bytes(version.magic + tail)


def check_container_bytes(data: bytes) -> None:
    """Parse ``data``; on success the container must survive a pack/parse round trip."""
    try:
        container = parse_mutable_container(data)
    except ShareFormatError:
        return
    assert parse_mutable_container(pack_mutable_container(container)) == container


def test_lease_slot_offsets() -> None:
    """Fixed slots sit at 100 + 92 i; extra lease j sits after the 4-byte count."""
    header = MutableContainerHeader(CONTAINER_V2, NODEID, WRITE_ENABLER, 10, 500)
    assert [lease_slot_offset(header, slot) for slot in range(4)] == [100, 192, 284, 376]
    assert lease_slot_offset(header, 4) == 504
    assert lease_slot_offset(header, 6) == 504 + 2 * 92
    assert extra_lease_block_size(3) == 4 + 3 * 92


def test_data_read_range_truncates_at_the_data_length() -> None:
    """Reads are cut at the data length, and a read past the end is empty."""
    header = MutableContainerHeader(CONTAINER_V2, NODEID, WRITE_ENABLER, 10, 500)
    assert data_read_range(header, 2, 5) == (470, 5)
    assert data_read_range(header, 8, 5) == (476, 2)
    assert data_read_range(header, 20, 5) == (488, 0)


def test_truncate_only_shortens() -> None:
    """Truncation lowers the data length, keeps the container size, and ignores a longer length."""
    header = MutableContainerHeader(CONTAINER_V2, NODEID, WRITE_ENABLER, 10, 500)
    shorter = truncate_header(header, 4)
    assert shorter.data_length == 4
    assert shorter.extra_lease_offset == 500
    assert truncate_header(header, 40) == header


def test_growth_moves_the_extra_leases_and_zeroes_their_old_place() -> None:
    """A write past the container moves the extra-lease block to 468 + new size."""
    lease = make_lease(
        CONTAINER_V2,
        owner_num=1,
        expiration_time=7,
        renew_secret=b"r" * 32,
        cancel_secret=b"c" * 32,
        nodeid=NODEID,
    )
    buffer = bytearray(create_empty_container(2, NODEID, WRITE_ENABLER))
    for _ in range(5):
        container = parse_mutable_container(bytes(buffer))
        apply_patches(buffer, plan_add_lease(container.header, container.lease_slots, lease))
    container = parse_mutable_container(bytes(buffer))
    assert container.num_extra_leases == 1
    assert len(container.leases) == 5
    old_offset = container.header.extra_lease_offset
    block = bytes(buffer[old_offset:])
    plan = plan_data_write(container.header, 0, 50)
    assert plan.moves_extra_leases
    assert plan.new_header.extra_lease_offset == DATA_OFFSET + 50
    apply_patches(buffer, plan.patches(b"x" * 50, block))
    grown = parse_mutable_container(bytes(buffer))
    assert grown.data == b"x" * 50
    assert grown.lease_slots == container.lease_slots
    within = plan_data_write(grown.header, 10, 5)
    assert not within.moves_extra_leases
    apply_patches(buffer, within.patches(b"yyyyy"))
    assert parse_mutable_container(bytes(buffer)).data == b"x" * 10 + b"y" * 5 + b"x" * 35
    with pytest.raises(ShareFormatError):
        within.patches(b"wrong length")


def test_moving_write_needs_the_old_block() -> None:
    """A write that moves the extra leases refuses to plan patches without their bytes."""
    header = MutableContainerHeader(CONTAINER_V2, NODEID, WRITE_ENABLER, 0, DATA_OFFSET)
    with pytest.raises(ShareFormatError):
        plan_data_write(header, 0, 3).patches(b"abc")


write_steps = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 120), st.binary(max_size=60)),
        st.tuples(st.just("truncate"), st.integers(0, 150), st.just(b"")),
        st.tuples(st.just("lease"), st.integers(0, 0), st.just(b"")),
    ),
    max_size=12,
)


@given(container_versions, write_steps, st.lists(hashes, min_size=1, max_size=1), nodeids)
def test_planned_writes_match_a_simple_model(
    version: ContainerVersion,
    steps: list[tuple[str, int, bytes]],
    secrets: list[bytes],
    nodeid: bytes,
) -> None:
    """Writes, truncations and lease additions applied as patches act like a zero-filled buffer."""
    buffer = bytearray(create_empty_container(version.number, NODEID, WRITE_ENABLER))
    model = bytearray()
    leases: list[MutableLease] = []
    for kind, offset, data in steps:
        container = parse_mutable_container(bytes(buffer))
        header = container.header
        if kind == "write":
            plan = plan_data_write(header, offset, len(data))
            block = bytes(buffer[header.extra_lease_offset :])
            apply_patches(buffer, plan.patches(data, block))
            if len(model) < offset + len(data):
                model.extend(bytes(offset + len(data) - len(model)))
            model[offset : offset + len(data)] = data
        elif kind == "truncate":
            apply_patches(buffer, [(0, truncate_header(header, offset).pack())])
            del model[offset:]
        else:
            lease = make_lease(
                version,
                owner_num=len(leases) + 1,
                expiration_time=len(leases),
                renew_secret=secrets[0],
                cancel_secret=secrets[0],
                nodeid=nodeid,
            )
            apply_patches(buffer, plan_add_lease(header, container.lease_slots, lease))
            leases.append(lease)
    final = parse_mutable_container(bytes(buffer))
    assert final.data == bytes(model)
    assert list(final.leases) == leases
    assert final.header.write_enabler_nodeid == NODEID
