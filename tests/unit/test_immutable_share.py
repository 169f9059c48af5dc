import struct
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import EncodingParametersError, ShareFormatError
from grid.formats.immutable_share import (
    LAYOUT_VERSIONS,
    ShareLayout,
    build_share,
    num_share_hashes,
    pack_share_hashes,
    pack_uri_extension_field,
    parse_share,
    parse_share_hashes,
    parse_share_header,
    parse_uri_extension_field,
    plan_share_layout,
)
from tests.strategies.immutable_formats import (
    layout_versions,
    share_hash_entries,
    share_layouts,
    share_parts,
    small_shares,
)

V1_1024 = {
    "block_size": 342,
    "data_size": 342,
    "num_segments": 1,
    "num_share_hashes": 5,
    "ueb_length": 316,
}


def offsets(layout: ShareLayout) -> tuple[int, ...]:
    """The six section offsets of a layout."""
    return (
        layout.data,
        layout.plaintext_hash_tree,
        layout.crypttext_hash_tree,
        layout.block_hashes,
        layout.share_hashes,
        layout.uri_extension,
    )


def test_plan_1024_bytes_3_of_10() -> None:
    """Tahoe-vectors 7.1: offsets and allocated size of a one-segment 3/10 file."""
    layout = plan_share_layout(**V1_1024)
    assert layout.version == 1
    assert offsets(layout) == (36, 378, 410, 442, 474, 644)
    assert layout.allocated_size == 964


def test_plan_2_mib_plus_1_3_of_10() -> None:
    """Tahoe-vectors 7.2: 16 segments give 992-byte trees and allocated size 702565."""
    layout = plan_share_layout(
        block_size=43691,
        data_size=699051,
        num_segments=16,
        num_share_hashes=num_share_hashes(10),
        ueb_length=328,
    )
    assert offsets(layout) == (36, 699087, 700079, 701071, 702063, 702233)
    assert layout.tree_node_count == 31
    assert layout.allocated_size == 702565


def test_plan_header_bytes_v1() -> None:
    """A v1 header packs as >LLLLLLLLL with the planned values."""
    layout = plan_share_layout(**V1_1024)
    expected = struct.pack(">LLLLLLLLL", 1, 342, 342, 36, 378, 410, 442, 474, 644)
    assert layout.pack_header() == expected


def test_plan_picks_v2_only_when_needed() -> None:
    """Layout v2 is chosen exactly when an offset would reach 2**32."""
    fits = {"block_size": 2**31, "num_segments": 2, "num_share_hashes": 1, "ueb_length": 300}
    largest_v1_data = 2**32 - 1 - 36 - 3 * 96 - 34
    small = plan_share_layout(**fits, data_size=largest_v1_data)
    assert small.version == 1
    assert small.uri_extension == 2**32 - 1
    big = plan_share_layout(**fits, data_size=largest_v1_data + 1)
    assert big.version == 2
    assert big.data == 0x44
    assert len(big.pack_header()) == 0x44
    assert big.allocated_size == big.uri_extension + 8 + 300


def test_plan_explicit_v1_too_large_raises() -> None:
    """Asking for v1 when a value does not fit in 32 bits is refused."""
    with pytest.raises(ShareFormatError):
        plan_share_layout(
            block_size=2**32,
            data_size=2**32,
            num_segments=1,
            num_share_hashes=1,
            ueb_length=1,
            version=1,
        )


def test_plan_explicit_v2_small() -> None:
    """A small share can be forced into layout v2, offsets shifted by 0x20."""
    layout = plan_share_layout(**V1_1024, version=2)
    assert offsets(layout) == (68, 410, 442, 474, 506, 676)
    assert layout.allocated_size == 676 + 8 + 316


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(V1_1024, block_size=-1),
        dict(V1_1024, num_share_hashes=0),
        dict(V1_1024, ueb_length=-1),
        dict(V1_1024, version=3),
        dict(V1_1024, data_size=-2),
    ],
)
def test_plan_rejects_impossible_values(kwargs: dict[str, int]) -> None:
    """Negative sizes, no share hashes, unknown versions and oversize blocks are refused."""
    with pytest.raises(ShareFormatError):
        plan_share_layout(**kwargs)


@pytest.mark.parametrize(
    ("total", "expected"),
    [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (7, 4), (8, 4), (10, 5), (255, 9), (256, 9)],
)
def test_num_share_hashes(total: int, expected: int) -> None:
    """Each share carries log2(next_pow2(N)) + 1 share hashes (1 when N = 1)."""
    assert num_share_hashes(total) == expected


@pytest.mark.parametrize("total", [0, 257, -1])
def test_num_share_hashes_out_of_range(total: int) -> None:
    """N outside 1..256 is refused."""
    with pytest.raises(EncodingParametersError):
        num_share_hashes(total)


@given(share_layouts())
def test_header_round_trip(layout: ShareLayout) -> None:
    """Parsing a packed header gives the layout back, without the UEB length."""
    packed = layout.pack_header()
    assert len(packed) == layout.header_size == LAYOUT_VERSIONS[layout.version].header_size
    assert parse_share_header(packed + b"trailing") == attrs.evolve(layout, ueb_length=None)


@given(st.binary(max_size=100))
def test_header_garbage(data: bytes) -> None:
    """Arbitrary bytes either parse as a header that repacks to its prefix, or raise."""
    try:
        layout = parse_share_header(data)
    except ShareFormatError:
        return
    assert data.startswith(layout.pack_header())


def test_allocated_size_needs_ueb_length() -> None:
    """A header read on its own has no UEB length, so no allocated size."""
    layout = parse_share_header(plan_share_layout(**V1_1024).pack_header())
    assert layout.ueb_length is None
    with pytest.raises(ValueError, match="UEB length"):
        _ = layout.allocated_size


def _header_with(**changes: int) -> bytes:
    layout = plan_share_layout(**V1_1024)
    values = attrs.asdict(layout)
    values.pop("ueb_length")
    values.update(changes)
    return struct.pack(">LLLLLLLLL", *values.values())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x00\x00",
        b"\x00\x00\x00\x03" + bytes(64),
        b"\x00\x00\x00\x00" + bytes(64),
        _header_with()[:35],
        _header_with(data=40),
        _header_with(crypttext_hash_tree=300),
        _header_with(block_hashes=474),
        _header_with(share_hashes=441),
        _header_with(uri_extension=475),
        _header_with(uri_extension=474),
        _header_with(plaintext_hash_tree=379),
    ],
)
def test_header_rejects_bad_headers(data: bytes) -> None:
    """Short input, unknown versions and inconsistent offsets raise ShareFormatError."""
    with pytest.raises(ShareFormatError):
        parse_share_header(data)


@given(share_hash_entries())
def test_share_hashes_round_trip(entries: list[tuple[int, bytes]]) -> None:
    """Share hash entries survive packing, in their order."""
    packed = pack_share_hashes(entries)
    assert len(packed) == 34 * len(entries)
    assert parse_share_hashes(packed) == entries


@given(st.binary(max_size=200))
def test_share_hashes_garbage(data: bytes) -> None:
    """Arbitrary bytes parse to entries that repack identically, or raise ShareFormatError."""
    try:
        entries = parse_share_hashes(data)
    except ShareFormatError:
        return
    assert pack_share_hashes(entries) == data


def test_share_hashes_reject_repeats_and_bad_sizes() -> None:
    """A repeated node, a short hash or an out-of-range index is refused."""
    entry = struct.pack(">H", 7) + bytes(32)
    with pytest.raises(ShareFormatError):
        parse_share_hashes(entry + entry)
    with pytest.raises(ShareFormatError):
        pack_share_hashes([(1, b"short")])
    with pytest.raises(ShareFormatError):
        pack_share_hashes([(0x10000, bytes(32))])


@given(layout_versions, st.binary(max_size=300), st.binary(max_size=20))
def test_ueb_field_round_trip(version: int, ueb: bytes, padding: bytes) -> None:
    """The UEB field gives back the UEB and ignores whatever follows it."""
    field = pack_uri_extension_field(version, ueb)
    assert len(field) == LAYOUT_VERSIONS[version].length_field_size + len(ueb)
    assert parse_uri_extension_field(version, field + padding) == ueb


@given(layout_versions, st.binary(max_size=40))
def test_ueb_field_garbage(version: int, data: bytes) -> None:
    """Arbitrary bytes give a UEB that is a prefix of what follows the length, or raise."""
    try:
        ueb = parse_uri_extension_field(version, data)
    except ShareFormatError:
        return
    assert data.startswith(pack_uri_extension_field(version, ueb))


def test_ueb_field_too_long_for_v1() -> None:
    """A UEB whose length does not fit the field cannot be packed (checked without 4 GiB)."""

    class Huge(bytes):
        def __len__(self) -> int:
            return 2**32

    with pytest.raises(ShareFormatError):
        pack_uri_extension_field(1, Huge())


def test_ueb_field_truncated() -> None:
    """A UEB shorter than its length field says is refused."""
    with pytest.raises(ShareFormatError):
        parse_uri_extension_field(1, struct.pack(">L", 10) + b"123456789")
    with pytest.raises(ShareFormatError):
        parse_uri_extension_field(2, b"\x00" * 7)


@given(share_parts())
def test_share_round_trip(parts: dict[str, Any]) -> None:
    """build_share then parse_share gives back every section."""
    data = build_share(**parts)
    share = parse_share(data)
    blocks: list[bytes] = parts["blocks"]
    assert share.layout.allocated_size == len(data)
    assert share.layout.block_size == len(blocks[0])
    assert list(share.crypttext_hash_tree) == parts["crypttext_hash_tree"]
    assert list(share.block_hash_tree) == parts["block_hash_tree"]
    assert list(share.share_hashes) == parts["share_hashes"]
    assert share.uri_extension == parts["uri_extension"]
    geometry = {
        "block_size": len(blocks[0]),
        "tail_block_size": len(blocks[-1]),
        "num_segments": len(blocks),
    }
    assert [share.block(i, **geometry) for i in range(len(blocks))] == blocks
    assert data[share.layout.plaintext_hash_tree : share.layout.crypttext_hash_tree] == bytes(
        32 * share.layout.tree_node_count
    )


@given(small_shares(), st.binary(max_size=50))
def test_share_ignores_padding_after_ueb(data: bytes, padding: bytes) -> None:
    """Bytes after the UEB (1.2.0-style padding) do not change the parse."""
    assert parse_share(data + padding).uri_extension == parse_share(data).uri_extension


@given(st.binary(max_size=600))
def test_share_garbage(data: bytes) -> None:
    """Arbitrary bytes raise only ShareFormatError from parse_share."""
    try:
        share = parse_share(data)
    except ShareFormatError:
        return
    assert data.startswith(share.layout.pack_header())


@given(small_shares(), st.data())
def test_share_truncation_raises(data: bytes, draw: st.DataObject) -> None:
    """Any truncation of a share before the end of its UEB is refused."""
    cut = draw.draw(st.integers(min_value=0, max_value=len(data) - 1))
    with pytest.raises(ShareFormatError):
        parse_share(data[:cut])


def test_block_outside_data_region() -> None:
    """Asking for a block the data region cannot hold raises ShareFormatError."""
    share = parse_share(
        build_share(
            blocks=[b"abc", b"de"],
            crypttext_hash_tree=[bytes(32)] * 3,
            block_hash_tree=[bytes(32)] * 3,
            share_hashes=[(2, bytes(32))],
            uri_extension=b"ueb",
        )
    )
    assert share.block(1, block_size=3, tail_block_size=2, num_segments=2) == b"de"
    for index, block_size, tail, count in [(2, 3, 2, 2), (-1, 3, 2, 2), (1, 3, 3, 2), (0, 6, 6, 1)]:
        with pytest.raises(ShareFormatError):
            share.block(index, block_size=block_size, tail_block_size=tail, num_segments=count)


def test_tree_node_offsets() -> None:
    """Hash tree nodes sit 32 bytes apart from their region's start; others are refused."""
    layout = plan_share_layout(**V1_1024)
    assert layout.crypttext_hash_node_offset(0) == 410
    assert layout.block_hash_node_offset(0) == 442
    with pytest.raises(ShareFormatError):
        layout.block_hash_node_offset(1)


def test_build_share_rejects_bad_parts() -> None:
    """Unequal blocks or a wrong-sized tree are refused."""
    tree = [bytes(32)] * 3
    with pytest.raises(ShareFormatError):
        build_share(
            blocks=[b"ab", b"abc"],
            crypttext_hash_tree=tree,
            block_hash_tree=tree,
            share_hashes=[(1, bytes(32))],
            uri_extension=b"",
        )
    with pytest.raises(ShareFormatError):
        build_share(
            blocks=[b"ab", b"a"],
            crypttext_hash_tree=tree[:1],
            block_hash_tree=tree,
            share_hashes=[(1, bytes(32))],
            uri_extension=b"",
        )
