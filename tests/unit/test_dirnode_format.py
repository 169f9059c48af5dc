import base64
import contextlib
import json
import unicodedata
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid.base32 import a2b
from grid.caps import ChildCap, DirectoryCap, LiteralCap, UnknownCap, parse_cap
from grid.formats.dirnode import (
    DirectoryEntry,
    decrypt_write_cap,
    encrypt_write_cap,
    pack_directory,
    unpack_directory,
)
from grid.formats.dirnode_errors import DirectoryFormatError
from grid.hashing import dirnode_child_key, dirnode_child_salt, tahoe_hmac
from grid.netstring import netstring, parse_netstrings
from tests.strategies.caps import any_caps, child_cap_texts

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "dirnode_vectors.json").read_text())
KNOWN_TREE = VECTORS["known_tree"]
KNOWN_TREE_BODY = base64.b32decode(KNOWN_TREE["body_base32"])
ENCRYPTION = VECTORS["child_writecap_encryption"]
WRITEKEY = a2b(ENCRYPTION["dir_writekey_base32"])
OTHER_WRITEKEY = bytes(range(16))
CHK = ENCRYPTION["rw_uri"]
SSK = "URI:SSK:fs6ul2fju2fvb2cfx7gt6ngycm:hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq"
DIR2 = "URI:DIR2:fs6ul2fju2fvb2cfx7gt6ngycm:hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq"


def raw_entry(name: bytes, read: bytes, rwcapdata: bytes, metadata: bytes = b"{}") -> bytes:
    """One entry's netstring, built by hand from its four fields."""
    return netstring(netstring(name) + netstring(read) + netstring(rwcapdata) + netstring(metadata))


def linked(name: str, cap: ChildCap, metadata: dict[str, Any] | None = None) -> DirectoryEntry:
    """An entry for ``cap`` as a writable directory stores it."""
    if isinstance(cap, UnknownCap) or cap.is_readonly:
        return DirectoryEntry(name, cap, None, metadata or {})
    return DirectoryEntry(name, cap.read_only(), cap, metadata or {})


# --- Known answers -------------------------------------------------------------------------


def test_known_tree_decodes_to_its_three_children() -> None:
    """Tahoe's known_tree body reads (read-only) as three CHK children with their metadata."""
    unpacked = unpack_directory(KNOWN_TREE_BODY, mutable=True)
    assert list(unpacked.entries) == ["file1", "file2", "file3"]
    for name, expected in KNOWN_TREE["children"].items():
        entry = unpacked.entries[name]
        assert entry.read_cap == parse_cap(expected["ro_uri"])
        assert entry.write_cap is None
        assert entry.cap == entry.read_cap
        assert set(entry.metadata) == {"ctime", "mtime", "tahoe"}
        assert set(entry.metadata["tahoe"]) == {"linkcrtime", "linkmotime"}
    assert unpacked.entries["file1"].metadata == json.loads(
        KNOWN_TREE["children"]["file1"]["metadata"]
    )


def test_known_tree_fields_have_the_documented_sizes() -> None:
    """Each known_tree entry's rwcapdata is salt + cap-sized ciphertext + MAC."""
    unpacked = unpack_directory(KNOWN_TREE_BODY, mutable=True)
    for name, expected in KNOWN_TREE["children"].items():
        fields = parse_netstrings(unpacked.entry_bytes[name])
        assert len(fields[2]) == expected["rwcapdata_size"] == 16 + len(expected["ro_uri"]) + 32


def test_known_tree_reencodes_byte_for_byte() -> None:
    """Decoding known_tree and packing its entries again gives Tahoe's exact bytes."""
    unpacked = unpack_directory(KNOWN_TREE_BODY, mutable=True)
    packed = pack_directory(
        reversed(list(unpacked.entries.values())), mutable=True, unchanged_from=unpacked
    )
    assert packed == KNOWN_TREE_BODY


def test_known_tree_fresh_fields_match_tahoes() -> None:
    """Packed afresh, each entry's name, read cap and metadata bytes are Tahoe's.

    The metadata floats were written by Python 2's 17-digit repr; Python 3's
    shortest repr gives the same numbers, so the JSON decodes equal.
    """
    unpacked = unpack_directory(KNOWN_TREE_BODY, mutable=True)
    fresh = unpack_directory(
        pack_directory(unpacked.entries.values(), mutable=True, writekey=OTHER_WRITEKEY),
        mutable=True,
    )
    for name in unpacked.entries:
        old_fields = parse_netstrings(unpacked.entry_bytes[name])
        new_fields = parse_netstrings(fresh.entry_bytes[name])
        assert new_fields[:2] == old_fields[:2]
        assert json.loads(new_fields[3]) == json.loads(old_fields[3])
    assert fresh.entries == unpacked.entries


def test_known_tree_is_not_an_immutable_directory() -> None:
    """Read as an immutable directory, known_tree's non-empty rwcapdata is refused."""
    with pytest.raises(DirectoryFormatError, match="rwcapdata is not empty"):
        unpack_directory(KNOWN_TREE_BODY, mutable=False)


def test_child_write_cap_encryption_vector() -> None:
    """A child write cap is sealed exactly as the §8 known answer says."""
    sealed = encrypt_write_cap(WRITEKEY, ENCRYPTION["rw_uri"].encode())
    assert len(sealed) == ENCRYPTION["rwcapdata_size"]
    assert sealed[:16].hex() == ENCRYPTION["salt_hex"]
    assert dirnode_child_key(sealed[:16], WRITEKEY).hex() == ENCRYPTION["key_hex"]
    assert sealed[16:32].hex() == ENCRYPTION["ciphertext_first16_hex"]
    assert sealed[-32:].hex() == ENCRYPTION["mac_hex"]
    assert decrypt_write_cap(WRITEKEY, sealed) == ENCRYPTION["rw_uri"].encode()


def test_read_only_child_encryption_vector() -> None:
    """A read-only child's empty write cap is sealed as the known 48 bytes."""
    sealed = encrypt_write_cap(WRITEKEY, b"")
    assert sealed.hex() == ENCRYPTION["empty_salt_hex"] + ENCRYPTION["empty_mac_hex"]


def test_a_packed_entry_is_built_as_tahoe_builds_it() -> None:
    """One child of a writable directory packs to hand-assembled Tahoe bytes."""
    metadata = {"tahoe": {"linkcrtime": 1.5, "linkmotime": 2.25}, "é": [1, None, True]}
    body = pack_directory(
        [DirectoryEntry("b\u00e9", parse_cap(CHK), None, metadata)],
        mutable=True,
        writekey=WRITEKEY,
    )
    expected_metadata = (
        b'{"tahoe": {"linkcrtime": 1.5, "linkmotime": 2.25}, "\\u00e9": [1, null, true]}'
    )
    salt = dirnode_child_salt(b"")
    mac = tahoe_hmac(dirnode_child_key(salt, WRITEKEY), salt)
    assert body == raw_entry("bé".encode(), CHK.encode(), salt + mac, expected_metadata)


def test_write_caps_round_trip_through_the_writekey() -> None:
    """A write cap packed under a writekey reads back only with that writekey."""
    entry = linked("dir", parse_cap(DIR2))
    body = pack_directory([entry], mutable=True, writekey=WRITEKEY)
    assert unpack_directory(body, mutable=True, writekey=WRITEKEY).entries["dir"] == entry
    hidden = unpack_directory(body, mutable=True).entries["dir"]
    assert hidden.write_cap is None
    assert hidden.cap == parse_cap(DIR2).read_only()
    assert SSK.encode() not in body
    assert DIR2.encode() not in body


# --- Order, names, slots -------------------------------------------------------------------


def test_entries_are_sorted_by_normalized_name() -> None:
    """Entries are written in code point order of their NFC names, whatever the input order."""
    names = ["zeta", "Zeta", "\u00e9", "e\u0301x", "a", "\U0001f600", "\u4e2d"]
    entries = [linked(unicodedata.normalize("NFC", name), LiteralCap(b"x")) for name in names]
    body = pack_directory(entries, mutable=False)
    written = [parse_netstrings(item)[0].decode() for item in parse_netstrings(body)]
    assert written == sorted(unicodedata.normalize("NFC", name) for name in names)


def test_the_empty_directory_is_the_empty_body() -> None:
    """No children pack to b"", and b"" reads as no children, in both kinds of directory."""
    assert pack_directory([], mutable=True, writekey=WRITEKEY) == b""
    assert pack_directory([], mutable=False) == b""
    assert unpack_directory(b"", mutable=True, writekey=WRITEKEY).entries == {}
    assert unpack_directory(b"", mutable=False).entries == {}


@pytest.mark.parametrize("form", ["NFC", "NFD", "NFKC", "NFKD"])
def test_names_in_the_body_are_read_nfc_normalized(
    form: Literal["NFC", "NFD", "NFKC", "NFKD"],
) -> None:
    """A name written in any normal form by someone else is read as its NFC form."""
    name = unicodedata.normalize(form, "Cafe\u0301 \u00c5ngstr\u00f6m")
    body = raw_entry(name.encode(), b"URI:LIT:", b"")
    assert list(unpack_directory(body, mutable=False).entries) == ["Caf\u00e9 \u00c5ngstr\u00f6m"]


def test_names_differing_only_in_normal_form_collapse_to_the_later() -> None:
    """Two stored names with the same NFC form are one child: the later entry wins."""
    body = raw_entry("e\u0301".encode(), b"URI:LIT:", b"") + raw_entry(
        "\u00e9".encode(), b"URI:LIT:nbswy3dp", b""
    )
    entries = unpack_directory(body, mutable=False).entries
    assert list(entries) == ["\u00e9"]
    assert entries["\u00e9"].cap == LiteralCap(b"hello")


@pytest.mark.parametrize("name", ["", "a/b", "/", "trailing/"])
def test_bad_names_are_refused_when_packing(name: str) -> None:
    """Empty names and names with '/' cannot be built into an entry."""
    with pytest.raises(DirectoryFormatError):
        DirectoryEntry(name, LiteralCap(b""), None, {})


@pytest.mark.parametrize("name", [b"", b"a/b", b"\xff\xfe", b"\xed\xa0\x80"])
def test_bad_names_are_refused_when_reading(name: bytes) -> None:
    """A body holding an empty, slashed or non-UTF-8 name is refused."""
    with pytest.raises(DirectoryFormatError):
        unpack_directory(raw_entry(name, b"URI:LIT:", b""), mutable=False)


def test_unnormalized_names_are_refused_in_entries() -> None:
    """An entry's name must already be NFC: the caller normalizes, not the packer."""
    with pytest.raises(DirectoryFormatError, match="NFC"):
        DirectoryEntry("e\u0301", LiteralCap(b""), None, {})


def test_two_entries_with_one_name_are_refused() -> None:
    """Packing two entries of the same name is an error, not a silent choice."""
    entries = [linked("a", LiteralCap(b"1")), linked("a", LiteralCap(b"2"))]
    with pytest.raises(DirectoryFormatError, match="two children"):
        pack_directory(entries, mutable=False)


def test_trailing_spaces_are_stripped_from_both_caps() -> None:
    """Old writers padded caps with spaces; readers strip them from both slots."""
    sealed = encrypt_write_cap(WRITEKEY, SSK.encode() + b"   ")
    body = raw_entry(b"f", parse_cap(SSK).read_only().to_string().encode() + b"  ", sealed)
    entry = unpack_directory(body, mutable=True, writekey=WRITEKEY).entries["f"]
    assert entry.write_cap == parse_cap(SSK)
    assert entry.read_cap == parse_cap(SSK).read_only()


def test_empty_slots_mean_no_cap() -> None:
    """An empty (or all-space) read slot and an empty rwcapdata mean "no cap"."""
    entries = unpack_directory(
        raw_entry(b"a", b"   ", b"") + raw_entry(b"b", b"", encrypt_write_cap(WRITEKEY, b"")),
        mutable=True,
        writekey=WRITEKEY,
    ).entries
    assert entries["a"].cap is None
    assert entries["b"].cap is None


def test_a_write_cap_in_the_read_slot_is_never_granted() -> None:
    """A write cap found in clear in the read slot reads as an unknown cap with an error."""
    entry = unpack_directory(raw_entry(b"a", DIR2.encode(), b""), mutable=True).entries["a"]
    assert isinstance(entry.read_cap, UnknownCap)
    assert entry.read_cap.error is not None
    assert entry.read_cap.text == "ro." + DIR2


def test_a_mutable_cap_in_an_immutable_directory_is_unknown() -> None:
    """In an immutable directory the read slot is read as 'imm.': a mutable cap is refused."""
    read_cap = parse_cap(DIR2).read_only().to_string()
    entry = unpack_directory(raw_entry(b"a", read_cap.encode(), b""), mutable=False).entries["a"]
    assert isinstance(entry.cap, UnknownCap)
    assert entry.cap.text == "imm." + read_cap
    assert entry.cap.error is not None


@pytest.mark.parametrize(
    ("mutable", "stored", "shown"),
    [
        (True, "x-future:abc", "ro.x-future:abc"),
        (True, "ro.x-future:abc", "ro.x-future:abc"),
        (True, "imm.x-future:abc", "imm.x-future:abc"),
        (False, "x-future:abc", "imm.x-future:abc"),
        (False, "imm.x-future:abc", "imm.x-future:abc"),
    ],
)
def test_unknown_read_caps_are_shown_with_their_prefix(
    mutable: bool, stored: str, shown: str
) -> None:
    """Unknown read caps read with 'ro.' (mutable) or 'imm.' (immutable), as Tahoe shows them."""
    entries = unpack_directory(raw_entry(b"u", stored.encode(), b""), mutable=mutable).entries
    assert entries["u"].cap == UnknownCap(shown)


@pytest.mark.parametrize(
    ("mutable", "shown", "written"),
    [
        (True, "ro.x-future:abc", b"x-future:abc"),
        (True, "imm.x-future:abc", b"imm.x-future:abc"),
        (False, "imm.x-future:abc", b"x-future:abc"),
    ],
)
def test_unknown_read_caps_are_written_without_the_alleged_prefix(
    mutable: bool, shown: str, written: bytes
) -> None:
    """Packing strips 'ro.' (and 'imm.' in an immutable directory) from the read slot."""
    entry = DirectoryEntry("u", UnknownCap(shown), None, {})
    writekey = WRITEKEY if mutable else None
    body = pack_directory([entry], mutable=mutable, writekey=writekey)
    assert parse_netstrings(parse_netstrings(body)[0])[1] == written
    assert unpack_directory(body, mutable=mutable, writekey=writekey).entries["u"] == entry


def test_unknown_write_caps_are_kept_verbatim() -> None:
    """A write cap of a kind we do not know survives a round trip exactly."""
    entry = DirectoryEntry("u", UnknownCap("ro.x-future-ro:1"), UnknownCap("x-future-rw:\u00e9"))
    body = pack_directory([entry], mutable=True, writekey=WRITEKEY)
    assert unpack_directory(body, mutable=True, writekey=WRITEKEY).entries["u"] == entry


def test_caps_that_are_not_utf8_text_are_refused() -> None:
    """An unknown cap holding a lone surrogate cannot be stored: it is not UTF-8 text."""
    with pytest.raises(DirectoryFormatError, match="UTF-8"):
        DirectoryEntry("u", UnknownCap("ro.x\ud800"), None, {})


def test_unknown_read_caps_need_an_alleged_prefix() -> None:
    """An entry may not put an unknown cap of unknown strength in the clear read slot."""
    with pytest.raises(DirectoryFormatError, match="unknown read cap"):
        DirectoryEntry("u", UnknownCap("x-future:abc"), None, {})


def test_write_caps_cannot_sit_in_the_read_slot() -> None:
    """An entry refuses a known write cap as its read cap."""
    with pytest.raises(DirectoryFormatError, match="write cap"):
        DirectoryEntry("w", parse_cap(SSK), None, {})


@pytest.mark.parametrize(
    "cap",
    [
        SSK,
        "URI:SSK-RO:" + SSK.removeprefix("URI:SSK:"),
        DIR2,
        "URI:DIR2-RO:" + SSK.removeprefix("URI:SSK:"),
        "URI:CHK-Verifier:" + "a" * 26 + ":" + "a" * 52 + ":3:10:1024",
    ],
)
def test_immutable_directories_refuse_mutable_and_verify_children(cap: str) -> None:
    """Only CHK, LIT, DIR2-CHK, DIR2-LIT and 'imm.' unknowns go into an immutable directory."""
    parsed = parse_cap(cap)
    entry = DirectoryEntry("c", parsed.read_only(), None, {})
    with pytest.raises(DirectoryFormatError, match="immutable"):
        pack_directory([entry], mutable=False)


def test_immutable_directories_refuse_ro_unknowns_and_write_caps() -> None:
    """'ro.' unknowns, unknowns with errors and write caps are refused in immutable bodies."""
    for entry in [
        DirectoryEntry("c", UnknownCap("ro.x-future:1"), None, {}),
        DirectoryEntry("c", UnknownCap("imm.x", error="bad"), None, {}),
        DirectoryEntry("c", LiteralCap(b""), UnknownCap("x-future-rw:1"), {}),
        DirectoryEntry("c", None, None, {}),
    ]:
        with pytest.raises(DirectoryFormatError, match="immutable"):
            pack_directory([entry], mutable=False)


def test_immutable_directories_take_immutable_children() -> None:
    """Immutable caps of the four kinds and 'imm.' unknowns round-trip with empty rwcapdata."""
    entries = [
        DirectoryEntry("chk", parse_cap(CHK), None, {}),
        DirectoryEntry("lit", LiteralCap(b"hi"), None, {"a": 1}),
        DirectoryEntry("dchk", DirectoryCap(parse_cap(CHK)), None, {}),  # type: ignore[arg-type]
        DirectoryEntry("dlit", parse_cap("URI:DIR2-LIT:mrqxiyi"), None, {}),
        DirectoryEntry("future", UnknownCap("imm.x-future:1"), None, {}),
    ]
    body = pack_directory(entries, mutable=False)
    assert all(parse_netstrings(item)[2] == b"" for item in parse_netstrings(body))
    assert unpack_directory(body, mutable=False).entries == {e.name: e for e in entries}


def test_mutable_packing_needs_the_writekey_for_new_entries() -> None:
    """A new entry of a mutable directory cannot be sealed without the writekey."""
    with pytest.raises(DirectoryFormatError, match="writekey"):
        pack_directory([linked("a", parse_cap(CHK))], mutable=True)


def test_unchanged_entries_are_reused_only_when_equal() -> None:
    """A changed entry is packed afresh; unchanged ones keep their exact old bytes."""
    old_body = pack_directory(
        [linked(name, parse_cap(SSK)) for name in ("a", "b", "c")], mutable=True, writekey=WRITEKEY
    )
    unpacked = unpack_directory(old_body, mutable=True, writekey=WRITEKEY)
    entries = dict(unpacked.entries)
    entries["b"] = linked("b", parse_cap(SSK), {"new": True})
    body = pack_directory(
        entries.values(), mutable=True, writekey=WRITEKEY, unchanged_from=unpacked
    )
    items = parse_netstrings(body)
    assert items[0] == unpacked.entry_bytes["a"]
    assert items[2] == unpacked.entry_bytes["c"]
    assert parse_netstrings(items[1])[3] == b'{"new": true}'
    other_key = pack_directory(
        unpacked.entries.values(), mutable=True, writekey=OTHER_WRITEKEY, unchanged_from=unpacked
    )
    assert unpack_directory(other_key, mutable=True, writekey=OTHER_WRITEKEY).entries == (
        unpacked.entries
    )


def test_writekeys_must_be_16_bytes() -> None:
    """A writekey of the wrong size is refused before anything is sealed or opened."""
    with pytest.raises(ValueError, match="16 bytes"):
        unpack_directory(b"", mutable=True, writekey=b"short")
    with pytest.raises(ValueError, match="16 bytes"):
        pack_directory([], mutable=True, writekey=b"short")


def test_immutable_directories_take_no_writekey() -> None:
    """Asking to read or write an immutable directory with a writekey is an error."""
    with pytest.raises(DirectoryFormatError):
        unpack_directory(b"", mutable=False, writekey=WRITEKEY)
    with pytest.raises(DirectoryFormatError):
        pack_directory([], mutable=False, writekey=WRITEKEY)


# --- Malformed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"5:abc,",
        b"x",
        b"3:abc",
        raw_entry(b"a", b"", b"")[:-1],
        netstring(netstring(b"a") + netstring(b"")),
        raw_entry(b"a", b"", b"x" * 47),
        raw_entry(b"a", b"", b"", b"[]"),
        raw_entry(b"a", b"", b"", b"{"),
        raw_entry(b"a", b"", b"", b'"text"'),
        raw_entry(b"a", b"", b"", b"\xff"),
        raw_entry(b"a", b"", b"", b"[" * 100_000),
        raw_entry(b"a", b"", b"", b'{"n": ' + b"9" * 5000 + b"}"),
        raw_entry(b"a", b"\xff", b""),
    ],
)
def test_malformed_bodies_raise_our_error(body: bytes) -> None:
    """Broken framing, short rwcapdata, non-object or broken metadata, bad UTF-8: our error."""
    with pytest.raises(DirectoryFormatError):
        unpack_directory(body, mutable=True, writekey=WRITEKEY)


def test_garbage_write_caps_raise_our_error() -> None:
    """An rwcapdata that decrypts to non-UTF-8 (a wrong writekey) raises our error."""
    body = raw_entry(b"a", b"", b"\x00" * 16 + b"\xff" * 40 + b"\x00" * 32)
    with pytest.raises(DirectoryFormatError, match="UTF-8"):
        unpack_directory(body, mutable=True, writekey=WRITEKEY)
    assert unpack_directory(body, mutable=True).entries["a"].cap is None


def test_bytes_after_an_entrys_four_fields_are_ignored() -> None:
    """Like Tahoe's reader, extra bytes inside an entry after its fields are ignored."""
    entry = netstring(netstring(b"a") + netstring(b"URI:LIT:") + netstring(b"") + b"2:{},junk")
    assert list(unpack_directory(entry, mutable=False).entries) == ["a"]


def test_metadata_readers_accept_any_object() -> None:
    """Any JSON object is accepted as metadata, nested, unicode or with odd numbers."""
    text = b'{"a": {"b": [1.5e300, -0, "\\u00e9"]}, "tahoe": 7, "": NaN}'
    entry = unpack_directory(raw_entry(b"m", b"", b"", text), mutable=False).entries["m"]
    assert entry.metadata["a"] == {"b": [1.5e300, 0, "\u00e9"]}
    assert entry.metadata["tahoe"] == 7


def test_unserializable_metadata_is_refused_when_packing() -> None:
    """Metadata that JSON cannot hold raises our error, not TypeError."""
    entry = DirectoryEntry("m", LiteralCap(b""), None, {"bad": object()})
    with pytest.raises(DirectoryFormatError, match="JSON"):
        pack_directory([entry], mutable=False)


@given(st.binary(max_size=300), st.booleans(), st.booleans())
def test_random_bytes_raise_only_our_error(body: bytes, mutable: bool, with_key: bool) -> None:
    """Arbitrary bytes either unpack or raise DirectoryFormatError, nothing else."""
    writekey = WRITEKEY if mutable and with_key else None
    with contextlib.suppress(DirectoryFormatError):
        unpack_directory(body, mutable=mutable, writekey=writekey)


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of text, lone surrogates passed through (giving invalid UTF-8)."""
    return text.encode("utf-8", "surrogatepass")


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=12) | st.text(max_size=8).map(encode_text),
            st.binary(max_size=40) | child_cap_texts().map(encode_text),
            st.binary(max_size=80),
            st.binary(max_size=20) | st.just(b"{}"),
        ),
        max_size=4,
    ),
    st.booleans(),
)
def test_well_framed_garbage_raises_only_our_error(
    fields: list[tuple[bytes, bytes, bytes, bytes]], mutable: bool
) -> None:
    """Correct framing around arbitrary fields and caps unpacks or raises only our error."""
    body = b"".join(raw_entry(*entry_fields) for entry_fields in fields)
    writekey = WRITEKEY if mutable else None
    try:
        unpacked = unpack_directory(body, mutable=mutable, writekey=writekey)
    except DirectoryFormatError:
        return
    repacked = pack_directory(
        unpacked.entries.values(), mutable=mutable, writekey=writekey, unchanged_from=unpacked
    )
    assert unpack_directory(repacked, mutable=mutable, writekey=writekey).entries == (
        unpacked.entries
    )


# --- Round trips ---------------------------------------------------------------------------


def child_names() -> st.SearchStrategy[str]:
    """Valid child names, already NFC-normalized."""
    return (
        st.text(
            st.characters(blacklist_characters="/", blacklist_categories=["Cs"]),
            min_size=1,
            max_size=12,
        )
        .map(lambda text: unicodedata.normalize("NFC", text))
        .filter(bool)
    )


def json_values() -> st.SearchStrategy[Any]:
    """JSON values that compare equal to themselves after a round trip (no NaN)."""
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )


@st.composite
def writable_entries(draw: st.DrawFn) -> DirectoryEntry:
    """Entries of a writable directory: known caps of every kind, or unknown ones."""
    name = draw(child_names())
    metadata = draw(st.dictionaries(st.text(max_size=5), json_values(), max_size=3))
    if draw(st.booleans()):
        return linked(name, draw(any_caps()), metadata)
    future = st.text(
        st.characters(min_codepoint=0x21, blacklist_categories=["Cs"]), min_size=1, max_size=20
    )
    write = draw(st.none() | future.map(lambda text: UnknownCap("x-future:" + text)))
    return DirectoryEntry(name, UnknownCap("ro.x-future:" + draw(future)), write, metadata)


@settings(max_examples=50)
@given(st.lists(writable_entries(), max_size=6, unique_by=lambda entry: entry.name))
def test_writable_directories_round_trip(entries: list[DirectoryEntry]) -> None:
    """Packed with its writekey, a directory unpacks to the same entries, in name order."""
    body = pack_directory(entries, mutable=True, writekey=WRITEKEY)
    unpacked = unpack_directory(body, mutable=True, writekey=WRITEKEY)
    assert unpacked.entries == {entry.name: entry for entry in entries}
    assert list(unpacked.entries) == sorted(entry.name for entry in entries)
    hidden = unpack_directory(body, mutable=True)
    assert all(entry.write_cap is None for entry in hidden.entries.values())
    assert {name: entry.read_cap for name, entry in hidden.entries.items()} == {
        entry.name: entry.read_cap for entry in entries
    }


@pytest.mark.parametrize("count", [0, 1, 1000])
def test_many_children_round_trip_at_a_sane_size(count: int) -> None:
    """0, 1 and 1,000 children round-trip, each entry costing a few hundred bytes."""
    entries = many_entries(count)
    body = pack_directory(entries, mutable=True, writekey=WRITEKEY)
    assert len(body) <= 450 * count
    assert unpack_directory(body, mutable=True, writekey=WRITEKEY).entries == {
        entry.name: entry for entry in entries
    }


def test_ten_thousand_children_round_trip() -> None:
    """10,000 children round-trip, and an unchanged repack reuses every entry's bytes."""
    entries = many_entries(10_000)
    body = pack_directory(entries, mutable=True, writekey=WRITEKEY)
    assert len(body) <= 450 * 10_000
    unpacked = unpack_directory(body, mutable=True, writekey=WRITEKEY)
    assert len(unpacked.entries) == 10_000
    repacked = pack_directory(
        unpacked.entries.values(), mutable=True, writekey=WRITEKEY, unchanged_from=unpacked
    )
    assert repacked == body


def many_entries(count: int) -> list[DirectoryEntry]:
    """``count`` CHK children with typical link metadata."""
    chk = parse_cap(CHK)
    metadata = {"tahoe": {"linkcrtime": 1700000000.123456, "linkmotime": 1700000000.123456}}
    return [DirectoryEntry(f"file-{index:05d}.txt", chk, None, metadata) for index in range(count)]
