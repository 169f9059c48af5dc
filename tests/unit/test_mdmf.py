import struct

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import ShareFormatError
from grid.formats.mdmf import (
    MDMF_CHECKSTRING_SIZE,
    MDMF_HEADER_SIZE,
    MDMF_SHARE_DATA_OFFSET,
    MDMF_SIGNED_PREFIX_SIZE,
    MdmfGeometry,
    MdmfShare,
    mdmf_checkstring,
    mdmf_geometry,
    mdmf_layout,
    mdmf_signed_prefix,
    pack_mdmf_share,
    parse_mdmf_header,
    parse_mdmf_share,
)
from grid.formats.mutable_common import MUTABLE_HEADER_READ_SIZE, mutable_share_version
from tests.strategies.mutable_formats import mdmf_shares


def small_share() -> MdmfShare:
    """A fixed MDMF share: k=2, three segments of which the last is short."""
    return MdmfShare(
        seqnum=9,
        root_hash=b"R" * 32,
        needed_shares=2,
        total_shares=3,
        segment_size=8,
        data_length=19,
        encrypted_private_key=b"P" * 10,
        share_hash_chain=[(2, b"a" * 32)],
        signature=b"G" * 6,
        verification_key=b"K" * 7,
        blocks=[(b"1" * 16, b"x" * 4), (b"2" * 16, b"y" * 4), (b"3" * 16, b"z" * 2)],
        block_hash_tree=[b"t" * 32] * 7,
    )


def test_struct_sizes_and_reservation() -> None:
    """Header 123, signable prefix 59, checkstring 41; share data reserved to start at 2167."""
    assert MDMF_HEADER_SIZE == MUTABLE_HEADER_READ_SIZE == 123
    assert MDMF_SIGNED_PREFIX_SIZE == 59
    assert MDMF_CHECKSTRING_SIZE == 41
    assert MDMF_SHARE_DATA_OFFSET == 123 + 1220 + 260 + 292 + 272 == 2167


def test_small_share_layout() -> None:
    """Body sections are tight from 123, zeros pad to 2167, then salt||block per segment."""
    share = small_share()
    packed = pack_mdmf_share(share)
    offsets = mdmf_layout(share)
    assert attrs.astuple(offsets) == (123, 133, 167, 173, 180, 2167, 2167 + 58, 2167 + 58 + 224)
    assert len(packed) == offsets.eof
    assert packed[180:2167] == bytes(2167 - 180)
    assert packed[2167:2187] == b"1" * 16 + b"x" * 4
    assert packed[2207:2225] == b"3" * 16 + b"z" * 2
    header = parse_mdmf_header(packed[:123])
    assert header.offsets == offsets
    assert header.block_location(0) == (2167, 20)
    assert header.block_location(2) == (2207, 18)
    with pytest.raises(ShareFormatError):
        header.block_location(3)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ((3, 131073, 300000), MdmfGeometry(3, 43691, 12618)),
        ((3, 131073, 131073), MdmfGeometry(1, 43691, 43691)),
        ((3, 131073, 0), MdmfGeometry(0, 43691, 0)),
        ((1, 0, 0), MdmfGeometry(0, 0, 0)),
        ((2, 8, 17), MdmfGeometry(3, 4, 1)),
    ],
)
def test_geometry(params: tuple[int, int, int], expected: MdmfGeometry) -> None:
    """Segment count, block size and tail block size follow from k, segment size and length."""
    assert mdmf_geometry(*params) == expected


@pytest.mark.parametrize("params", [(3, 131072, 10), (2, 0, 5), (0, 8, 8)])
def test_impossible_geometry(params: tuple[int, int, int]) -> None:
    """A segment size that is not a multiple of k, or zero with data, is rejected."""
    with pytest.raises(ShareFormatError):
        mdmf_geometry(*params)


@given(mdmf_shares())
def test_mdmf_round_trip(share: MdmfShare) -> None:
    """parse(pack(share)) == share, with share data at 2167 and the prefixes first."""
    packed = pack_mdmf_share(share)
    assert parse_mdmf_share(packed) == share
    assert parse_mdmf_header(packed).offsets.share_data == 2167
    assert packed[:MDMF_SIGNED_PREFIX_SIZE] == share.signed_prefix()
    assert packed[:MDMF_CHECKSTRING_SIZE] == share.checkstring()
    assert mutable_share_version(packed) == 1


def test_signed_prefix_and_checkstring_values() -> None:
    """The signable prefix and checkstring pack version 1 and the fields in order."""
    prefix = mdmf_signed_prefix(
        seqnum=1,
        root_hash=b"r" * 32,
        needed_shares=3,
        total_shares=5,
        segment_size=131073,
        data_length=300000,
    )
    assert prefix == struct.pack(">BQ32sBBQQ", 1, 1, b"r" * 32, 3, 5, 131073, 300000)
    assert mdmf_checkstring(1, b"r" * 32) == prefix[:41]


def test_body_larger_than_the_reservation_is_refused() -> None:
    """Packing refuses a body (keys, chain, signature) past 2167; only the total size counts."""
    nine_entries = [(index, bytes(32)) for index in range(9)]
    fits = attrs.evolve(small_share(), share_hash_chain=nine_entries)
    assert parse_mdmf_share(pack_mdmf_share(fits)) == fits
    too_big = attrs.evolve(
        small_share(),
        share_hash_chain=nine_entries,
        encrypted_private_key=bytes(1220),
        signature=bytes(260),
        verification_key=bytes(292),
    )
    with pytest.raises(ShareFormatError):
        pack_mdmf_share(too_big)
    exactly = attrs.evolve(too_big, share_hash_chain=nine_entries[:8])
    assert mdmf_layout(exactly).verification_key_end == 2167


def test_readers_use_the_offsets_not_the_reservation() -> None:
    """A share laid out tightly (share data right after the key) parses by its offsets."""
    share = small_share()
    packed = pack_mdmf_share(share)
    offsets = mdmf_layout(share)
    shift = offsets.share_data - offsets.verification_key_end
    moved = [
        *attrs.astuple(offsets)[:5],
        offsets.share_data - shift,
        offsets.block_hash_tree - shift,
        offsets.eof - shift,
    ]
    tight = (
        packed[:59]
        + struct.pack(">8Q", *moved)
        + packed[123 : offsets.verification_key_end]
        + packed[offsets.share_data :]
    )
    assert parse_mdmf_share(tight) == share


def test_header_errors() -> None:
    """A short header, another version, a wrong share-data size or truncation are rejected."""
    packed = pack_mdmf_share(small_share())
    with pytest.raises(ShareFormatError):
        parse_mdmf_header(packed[:122])
    with pytest.raises(ShareFormatError):
        parse_mdmf_header(b"\x00" + packed[1:])
    offsets = list(struct.unpack(">8Q", packed[59:123]))
    offsets[6] += 1
    with pytest.raises(ShareFormatError):
        parse_mdmf_header(packed[:59] + struct.pack(">8Q", *offsets))
    with pytest.raises(ShareFormatError):
        parse_mdmf_share(packed[:-1])


@pytest.mark.parametrize(
    "changes",
    [
        {"blocks": []},
        {"blocks": [(b"1" * 16, b"x" * 4)] * 3},
        {"blocks": [(b"1" * 15, b"x" * 4), (b"2" * 16, b"y" * 4), (b"3" * 16, b"z" * 2)]},
        {"segment_size": 9},
        {"total_shares": 1},
        {"share_hash_chain": [(3, b"a" * 32), (2, b"b" * 32)]},
        {"block_hash_tree": [b"t"]},
    ],
)
def test_record_validation(changes: dict[str, object]) -> None:
    """Blocks that do not match the geometry, bad parameters or bad hashes are rejected."""
    with pytest.raises(ShareFormatError):
        attrs.evolve(small_share(), **changes)


@pytest.mark.parametrize(("first", "version"), [(b"\x00", 0), (b"\x01rest", 1)])
def test_version_dispatch(first: bytes, version: int) -> None:
    """Byte 0 selects SDMF (0) or MDMF (1)."""
    assert mutable_share_version(first) == version


@pytest.mark.parametrize("first", [b"", b"\x02", b"\xff" * 123])
def test_version_dispatch_rejects_others(first: bytes) -> None:
    """An empty share or any other version byte is a ShareFormatError."""
    with pytest.raises(ShareFormatError):
        mutable_share_version(first)


@given(st.binary(max_size=400))
def test_mdmf_garbage_raises_only_share_format_error(data: bytes) -> None:
    """Arbitrary bytes either parse consistently or raise ShareFormatError."""
    check_mdmf_bytes(data)


@given(
    st.integers(0, 2**64 - 1),
    st.binary(min_size=32, max_size=32),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 40),
    st.integers(0, 200),
    st.lists(st.integers(123, 2600), min_size=8, max_size=8),
    st.binary(max_size=2600),
)
def test_mdmf_garbage_with_plausible_header(
    seqnum: int,
    root_hash: bytes,
    needed: int,
    total: int,
    segment_size: int,
    data_length: int,
    offsets: list[int],
    body: bytes,
) -> None:
    """Headers with small random fields and offsets parse consistently or raise ShareFormatError."""
    header = struct.pack(
        ">BQ32sBBQQ8Q", 1, seqnum, root_hash, needed, total, segment_size, data_length, *offsets
    )
    check_mdmf_bytes(header + body)
    check_mdmf_bytes(header + body[: len(body) // 2])
    check_mdmf_bytes(header[:59] + struct.pack(">8Q", *sorted(offsets)) + body)


def check_mdmf_bytes(data: bytes) -> None:
    """Parse ``data``; on success the share must survive a pack/parse round trip."""
    try:
        share = parse_mdmf_share(data)
    except ShareFormatError:
        return
    try:
        packed = pack_mdmf_share(share)
    except ShareFormatError:
        return
    assert parse_mdmf_share(packed) == share
