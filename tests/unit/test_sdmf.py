import struct

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import ShareFormatError
from grid.formats.mutable_common import (
    check_share_hash_chain,
    mutable_share_version,
    pack_share_hash_chain,
    parse_share_hash_chain,
)
from grid.formats.sdmf import (
    SDMF_CHECKSTRING_SIZE,
    SDMF_HEADER_SIZE,
    SDMF_SIGNED_PREFIX_SIZE,
    SdmfShare,
    pack_sdmf_share,
    parse_sdmf_header,
    parse_sdmf_share,
    sdmf_checkstring,
    sdmf_layout,
    sdmf_signed_prefix,
)
from tests.strategies.mutable_formats import sdmf_shares, share_hash_chains


def small_share() -> SdmfShare:
    """A fixed, small SDMF share used by the example-based tests."""
    return SdmfShare(
        seqnum=3,
        root_hash=b"R" * 32,
        salt=b"S" * 16,
        needed_shares=2,
        total_shares=4,
        segment_size=10,
        data_length=9,
        verification_key=b"K" * 5,
        signature=b"G" * 4,
        share_hash_chain=[(1, b"a" * 32), (5, b"b" * 32)],
        block_hash_tree=[b"t" * 32],
        share_data=b"D" * 5,
        encrypted_private_key=b"P" * 7,
    )


def test_struct_sizes() -> None:
    """The header is 107 bytes, the signed prefix 75 and the checkstring 57."""
    assert SDMF_HEADER_SIZE == 107
    assert SDMF_SIGNED_PREFIX_SIZE == 75
    assert SDMF_CHECKSTRING_SIZE == 57


def test_small_share_layout() -> None:
    """Sections are packed tightly after the header in the order of the format."""
    share = small_share()
    packed = pack_sdmf_share(share)
    offsets = sdmf_layout(share)
    assert (offsets.signature, offsets.share_hash_chain, offsets.block_hash_tree) == (
        112,
        116,
        184,
    )
    assert (offsets.share_data, offsets.enc_privkey, offsets.eof) == (216, 221, 228)
    assert len(packed) == 228
    assert packed[107:112] == b"K" * 5
    assert packed[216:221] == b"D" * 5
    assert struct.unpack(">H", packed[150:152]) == (5,)
    header = parse_sdmf_header(packed[:123])
    assert header.offsets == offsets
    assert header.signed_prefix() == share.signed_prefix()


@given(sdmf_shares())
def test_sdmf_round_trip(share: SdmfShare) -> None:
    """parse(pack(share)) == share, and the packed share starts with its signed prefix."""
    packed = pack_sdmf_share(share)
    assert parse_sdmf_share(packed) == share
    assert packed[:SDMF_SIGNED_PREFIX_SIZE] == share.signed_prefix()
    assert packed[:SDMF_CHECKSTRING_SIZE] == share.checkstring()
    assert mutable_share_version(packed) == 0


@given(sdmf_shares(), st.binary(min_size=1, max_size=50))
def test_trailing_bytes_are_ignored(share: SdmfShare, tail: bytes) -> None:
    """Bytes after the end offset (an older, longer share's tail) do not change the parse."""
    assert parse_sdmf_share(pack_sdmf_share(share) + tail) == share


def test_signed_prefix_and_checkstring_values() -> None:
    """The signed prefix and checkstring pack version 0 and the fields in order."""
    prefix = sdmf_signed_prefix(
        seqnum=1,
        root_hash=b"r" * 32,
        salt=b"s" * 16,
        needed_shares=3,
        total_shares=10,
        segment_size=390,
        data_length=390,
    )
    assert prefix == struct.pack(">BQ32s16sBBQQ", 0, 1, b"r" * 32, b"s" * 16, 3, 10, 390, 390)
    assert sdmf_checkstring(1, b"r" * 32, b"s" * 16) == prefix[:57]


@given(st.binary(max_size=400))
def test_sdmf_garbage_raises_only_share_format_error(data: bytes) -> None:
    """Arbitrary bytes either parse consistently or raise ShareFormatError."""
    check_sdmf_bytes(data)


@given(st.binary(min_size=106, max_size=400))
def test_sdmf_garbage_with_version_zero(data: bytes) -> None:
    """Arbitrary bytes after a 0 version byte parse consistently or raise ShareFormatError."""
    check_sdmf_bytes(b"\x00" + data)


def check_sdmf_bytes(data: bytes) -> None:
    """Parse ``data``; on success the share must survive a pack/parse round trip."""
    try:
        share = parse_sdmf_share(data)
    except ShareFormatError:
        return
    assert parse_sdmf_share(pack_sdmf_share(share)) == share


def test_header_errors() -> None:
    """A short header, another version byte or out-of-order offsets are rejected."""
    packed = pack_sdmf_share(small_share())
    with pytest.raises(ShareFormatError):
        parse_sdmf_header(packed[:106])
    with pytest.raises(ShareFormatError):
        parse_sdmf_header(b"\x01" + packed[1:])
    swapped = packed[:75] + struct.pack(">LLLLQQ", 116, 112, 184, 216, 221, 228) + packed[107:]
    with pytest.raises(ShareFormatError):
        parse_sdmf_share(swapped)
    with pytest.raises(ShareFormatError):
        parse_sdmf_share(packed[:-1])


@pytest.mark.parametrize(
    "changes",
    [
        {"needed_shares": 0},
        {"needed_shares": 5, "total_shares": 4},
        {"total_shares": 256},
        {"root_hash": b"short"},
        {"salt": b"s" * 15},
        {"seqnum": -1},
        {"seqnum": 2**64},
        {"share_hash_chain": [(5, b"b" * 32), (1, b"a" * 32)]},
        {"share_hash_chain": [(1, b"a" * 32), (1, b"b" * 32)]},
        {"share_hash_chain": [(70000, b"a" * 32)]},
        {"block_hash_tree": [b"t" * 31]},
        {"share_data": "text"},
    ],
)
def test_record_validation(changes: dict[str, object]) -> None:
    """Out-of-range fields, an unsorted chain or wrong sizes are rejected on construction."""
    with pytest.raises(ShareFormatError):
        attrs.evolve(small_share(), **changes)


@given(share_hash_chains(max_entries=20))
def test_share_hash_chain_round_trip(chain: tuple[tuple[int, bytes], ...]) -> None:
    """A sorted chain packs into 34-byte entries and parses back."""
    packed = pack_share_hash_chain(chain)
    assert len(packed) == 34 * len(chain)
    assert parse_share_hash_chain(packed) == chain
    assert check_share_hash_chain(chain) == chain


def test_share_hash_chain_errors() -> None:
    """A ragged length or unsorted indexes are rejected."""
    with pytest.raises(ShareFormatError):
        parse_share_hash_chain(bytes(33))
    unsorted = struct.pack(">H32s", 4, bytes(32)) + struct.pack(">H32s", 2, bytes(32))
    with pytest.raises(ShareFormatError):
        parse_share_hash_chain(unsorted)
