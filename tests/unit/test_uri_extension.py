import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.base32 import a2b, b2a
from grid.errors import ShareFormatError
from grid.formats.uri_extension import (
    CodecParams,
    UriExtension,
    check_consistent_with_cap,
    codec_params,
    make_uri_extension,
    pack_uri_extension,
    parse_codec_params,
    parse_uri_extension,
    parse_uri_extension_fields,
)
from grid.hashing import uri_extension_hash
from tests.strategies.immutable_formats import uri_extensions

# tahoe-vectors.md section 7.1: 1024 bytes of b"a", 3 of 10.
UEB_1024 = make_uri_extension(
    size=1024,
    segment_size=1026,
    needed_shares=3,
    total_shares=10,
    crypttext_hash=a2b("kger2gaay7xwqgbjapwvmellt7eikz5kwcfb55s6rbtqhhyvwg5a"),
    crypttext_root_hash=a2b("vjg64hnsyo4ht2kymlha3unguxvipmd4gpisiku43rjtg3imgq3a"),
    share_root_hash=a2b("37f3grchgd2ibgluq6mhnhz5kuaghnutdhqxfbr5gylbahnnjzua"),
)
PACKED_1024 = pack_uri_extension(UEB_1024)


def _replace_value(key: bytes, new_value: bytes) -> bytes:
    """PACKED_1024 with one key's netstring replaced."""
    fields = parse_uri_extension_fields(PACKED_1024)
    fields[key.decode()] = new_value
    return b"".join(k.encode() + b":%d:%s," % (len(v), v) for k, v in fields.items())


def test_known_ueb_1024_bytes() -> None:
    """Tahoe-vectors 7.1: the 316-byte UEB hashes to the value in the Tahoe cap."""
    assert len(PACKED_1024) == 316
    assert PACKED_1024.startswith(b"codec_name:3:crs,codec_params:9:1026-3-10,crypttext_hash:32:")
    assert PACKED_1024.endswith(b"size:4:1024,tail_codec_params:9:1026-3-10,total_shares:2:10,")
    expected = "tiy4qh2g6lqejxcaym3rr7ymkdkinn4qised6kgxloj7sptsqu4a"
    assert b2a(uri_extension_hash(PACKED_1024)) == expected


def test_known_ueb_2_mib_plus_1() -> None:
    """Tahoe-vectors 7.2: a 16-segment UEB of 328 bytes with the cap's UEB hash."""
    ueb = make_uri_extension(
        size=2097153,
        segment_size=131073,
        needed_shares=3,
        total_shares=10,
        crypttext_hash=a2b("cz3tj7gzolrsac3fc47ib3idk6iomoyp7bpu4urtdeddr5sw5o6q"),
        crypttext_root_hash=a2b("svxy6qgd3egzgbvpruflswwlazspcobctbuf4emqnfocwcs3xspa"),
        share_root_hash=a2b("mpvydjxp5pr5bnd5sbvzlvdjrgug6pxrt6abw7vxewfztilfgj4a"),
    )
    packed = pack_uri_extension(ueb)
    assert len(packed) == 328
    assert ueb.num_segments == 16
    assert ueb.tail_codec_params == "131058-3-10"
    assert (ueb.block_size, ueb.tail_block_size) == (43691, 43686)
    expected = "ky2fs7xrlke64w6kfmhzsuilzxbhfrwwzkxih4rykpbxrr3bxhiq"
    assert b2a(uri_extension_hash(packed)) == expected


@given(uri_extensions())
def test_round_trip(ueb: UriExtension) -> None:
    """Packing then parsing gives the same UEB, extra keys included."""
    packed = pack_uri_extension(ueb)
    assert parse_uri_extension(packed) == ueb
    assert pack_uri_extension(parse_uri_extension(packed)) == packed


@given(st.binary(max_size=400))
def test_garbage(data: bytes) -> None:
    """Arbitrary bytes raise only ShareFormatError, or parse and repack identically."""
    try:
        ueb = parse_uri_extension(data)
    except ShareFormatError:
        return
    assert pack_uri_extension(ueb) == data


@given(st.data())
def test_mutated_known_ueb(draw: st.DataObject) -> None:
    """Any single-byte change or truncation of a real UEB raises or repacks identically."""
    position = draw.draw(st.integers(0, len(PACKED_1024) - 1))
    byte = draw.draw(st.integers(0, 255))
    for data in (
        PACKED_1024[:position] + bytes([byte]) + PACKED_1024[position + 1 :],
        PACKED_1024[:position],
    ):
        try:
            ueb = parse_uri_extension(data)
        except ShareFormatError:
            continue
        assert pack_uri_extension(ueb) == data


def test_unknown_keys_kept() -> None:
    """A foreign key (e.g. an old plaintext_hash) survives parse and pack unchanged."""
    data = PACKED_1024.replace(b"segment_size:", b"plaintext_hash:3:abc,segment_size:")
    ueb = parse_uri_extension(data)
    assert ueb.extra == (("plaintext_hash", b"abc"),)
    assert pack_uri_extension(ueb) == data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        PACKED_1024 + b"x",
        PACKED_1024[:-1],
        PACKED_1024.replace(b"needed_shares:1:3,", b""),
        PACKED_1024.replace(b"needed_shares:1:3,", b"needed_shares:1:3,needed_shares:1:3,"),
        PACKED_1024.replace(b"codec_name:3:crs,", b"") + b"codec_name:3:crs,",
        PACKED_1024.replace(b"size:4:1024,", b"size:4:1024,siz3:1:1,"),
        PACKED_1024.replace(b"size:4:1024,", b"size:4:1024,sizf:1:\xff,") + b"\x00:0:,",
        PACKED_1024.replace(b"size:4:1024", b"size:4:1e24"),
        PACKED_1024.replace(b"size:4:1024", b"size:4:0124"),
        PACKED_1024.replace(b"size:4:1024", b"size:4:-124"),
        PACKED_1024.replace(b"size:4:1024", b"size:30:" + b"9" * 30),
        PACKED_1024.replace(b"codec_name:3:crs", b"codec_name:3:xyz"),
        PACKED_1024.replace(b"codec_params:9:1026-3-10", b"codec_params:9:1026-0-10"),
        PACKED_1024.replace(b"codec_params:9:1026-3-10", b"codec_params:9:1026-3-01"),
        PACKED_1024.replace(b"codec_params:9:1026-3-10", b"codec_params:9:1026-3-\xe9\xe9"),
        PACKED_1024.replace(b"codec_params:9:1026-3-10", b"codec_params:9:1026-11-3"),
        _replace_value(b"share_root_hash", bytes(31)),
    ],
)
def test_rejects_malformed(data: bytes) -> None:
    """Junk, truncation, missing/repeated/unsorted keys, bad decimals, codecs and hashes raise."""
    with pytest.raises(ShareFormatError):
        parse_uri_extension(data)


def test_codec_params() -> None:
    """Codec parameters format as segsize-k-N and parse back, blocks rounding up."""
    assert codec_params(131073, 3, 10) == "131073-3-10"
    assert parse_codec_params("131073-3-10") == CodecParams(131073, 3, 10)
    assert parse_codec_params("10-3-10").block_size == 4


def test_consistent_with_cap() -> None:
    """A UEB agrees with its own cap's k, N and size, and not with another's."""
    check_consistent_with_cap(UEB_1024, needed_shares=3, total_shares=10, size=1024)
    for k, n, size in [(2, 10, 1024), (3, 9, 1024), (3, 10, 1025), (3, 10, 2000)]:
        with pytest.raises(ShareFormatError):
            check_consistent_with_cap(UEB_1024, needed_shares=k, total_shares=n, size=size)


def test_make_rejects_empty_files() -> None:
    """A zero-byte file or zero segment size cannot be described by a UEB."""
    with pytest.raises(ShareFormatError):
        make_uri_extension(
            size=0,
            segment_size=3,
            needed_shares=3,
            total_shares=10,
            crypttext_hash=bytes(32),
            crypttext_root_hash=bytes(32),
            share_root_hash=bytes(32),
        )


def test_extra_rejects_standard_or_bad_keys() -> None:
    """Extra keys may not shadow a standard key nor break the key charset."""
    for key in ("size", "bad key", "é", ""):
        with pytest.raises(ShareFormatError):
            attrs.evolve(UEB_1024, extra={key: b"1"})


@pytest.mark.parametrize(
    "changes",
    [
        {"size": -1},
        {"num_segments": 10**20},
        {"crypttext_hash": b"x" * 33},
        {"extra": [("old_key", b"1"), ("old_key", b"2")]},
        {"extra": {"old_key": "text"}},
    ],
)
def test_record_rejects_bad_fields(changes: dict[str, object]) -> None:
    """Negative or over-long integers, wrong hash sizes and bad extras are refused."""
    with pytest.raises(ShareFormatError):
        attrs.evolve(UEB_1024, **changes)
