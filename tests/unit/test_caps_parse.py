import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from grid.caps import (
    Cap,
    CHKReadCap,
    DirectoryCap,
    MutableFormat,
    MutableReadCap,
    MutableVerifyCap,
    MutableWriteCap,
    parse_cap,
)
from grid.errors import CapError
from tests.strategies.caps import any_caps, cap_texts, damaged_cap_texts

KEY = "aeaqcaibaeaqcaibaeaqcaibae"
SI = "xdjlalot2gbbkllavjv26e4xwm"
HASH = "nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa"
CHK = f"URI:CHK:{KEY}:{HASH}:3:10:1234"
CHK_VERIFIER = f"URI:CHK-Verifier:{SI}:{HASH}:3:10:1234"
SSK = f"URI:SSK:{KEY}:{HASH}"
MDMF = f"URI:MDMF:{KEY}:{HASH}"

MALFORMED = [
    "",
    "URI",
    "URI:",
    "URI:CHK",
    "URI:CHK:",
    "uri:CHK:" + CHK[len("URI:CHK:") :],
    "URI:chk:" + CHK[len("URI:CHK:") :],
    "URI:NEWKIND:abc",
    "ro." + CHK,
    "imm." + CHK,
    " " + CHK,
    CHK + " ",
    CHK + "\n",
    CHK + ":",
    CHK + ":5",
    CHK_VERIFIER + "junk",
    CHK_VERIFIER + ":5",
    CHK_VERIFIER + "\n",
    f"URI:CHK:{KEY}:{HASH}:3:10:01234",
    f"URI:CHK:{KEY}:{HASH}:03:10:1234",
    f"URI:CHK:{KEY}:{HASH}:3:10:+1234",
    f"URI:CHK:{KEY}:{HASH}:3:10:-1",
    f"URI:CHK:{KEY}:{HASH}:3:10:",
    f"URI:CHK:{KEY}:{HASH}:3:10:1\u0662",
    f"URI:CHK:{KEY}:{HASH}:3:10:{2**64}",
    f"URI:CHK:{KEY}:{HASH}:3:10:{'9' * 5000}",
    f"URI:CHK:{KEY}:{HASH}:0:10:1234",
    f"URI:CHK:{KEY}:{HASH}:11:10:1234",
    f"URI:CHK:{KEY}:{HASH}:3:257:1234",
    f"URI:CHK:{KEY}:{HASH}:3:10",
    f"URI:CHK:{KEY.upper()}:{HASH}:3:10:1234",
    f"URI:CHK:{KEY[:-1]}b:{HASH}:3:10:1234",
    f"URI:CHK:{KEY[:-1]}:{HASH}:3:10:1234",
    f"URI:CHK:{KEY}a:{HASH}:3:10:1234",
    f"URI:CHK:{KEY}:{HASH[:-1]}b:3:10:1234",
    f"URI:CHK:{KEY}:{HASH}=:3:10:1234",
    f"URI:CHK%3A{KEY}:{HASH}:3:10:1234",
    "URI:LIT:a",
    "URI:LIT:nbswy3dpeb",
    "URI:LIT:nbswy3dp=",
    "URI:LIT:NBSWY3DP",
    "URI:LIT:nbswy3dp:",
    "URI:DIR2-LIT:mrqxiy",
    SSK + ":",
    SSK + ":3:131073",
    SSK + "\n",
    MDMF + "\n",
    MDMF + ": spaces are not visible ASCII",
    MDMF + ":\x7f",
    f"URI:SSK:{KEY}",
    f"URI:SSK:{HASH}:{KEY}",
    f"URI:SSK-RO:{KEY}:{HASH}:",
    f"URI:DIR2:{KEY}:{HASH}:x",
    f"URI:DIR2-CHK-Verifier:{SI}:{HASH}:3:10:1234junk",
    f"URI:DIR2-CHK:{KEY}:{HASH}:3:10:1234:",
    f"URI:DIR2-DIR2:{KEY}:{HASH}",
    "URI:CHK:" + "é" * 26 + f":{HASH}:3:10:1234",
    "URI:LIT:\udcff",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_text_is_refused(text: str) -> None:
    """Malformed, non-canonical or unknown cap text raises CapError."""
    with pytest.raises(CapError):
        parse_cap(text)


@pytest.mark.parametrize(
    "data", [b"\xff", CHK.encode() + b"\x80", "URI:LIT:é".encode(), b"URI:LIT:\x00"]
)
def test_malformed_bytes_are_refused(data: bytes) -> None:
    """Bytes that are not an ASCII cap raise CapError."""
    with pytest.raises(CapError):
        parse_cap(data)


def test_bytes_input_parses_like_text() -> None:
    """An ASCII cap given as bytes parses to the same cap as the str."""
    assert parse_cap(CHK.encode("ascii")) == parse_cap(CHK)


def test_non_text_input_is_a_type_error() -> None:
    """Passing something that is not text at all is a programming error, not a CapError."""
    with pytest.raises(TypeError):
        parse_cap(1234)  # type: ignore[arg-type]


def test_zero_numbers_are_canonical() -> None:
    """A lone ``0`` is canonical decimal: an empty CHK file's size parses."""
    cap = parse_cap(f"URI:CHK:{KEY}:{HASH}:1:1:0")
    assert isinstance(cap, CHKReadCap)
    assert cap.size == 0


def test_largest_values_parse() -> None:
    """Share counts of 256 and a size of 2**64 - 1 are in range."""
    cap = parse_cap(f"URI:CHK:{KEY}:{HASH}:256:256:{2**64 - 1}")
    assert isinstance(cap, CHKReadCap)
    assert (cap.needed_shares, cap.total_shares, cap.size) == (256, 256, 2**64 - 1)


@pytest.mark.parametrize("extension", [":3:131073", ":", "::", ":I-come-from-the-future!~"])
@pytest.mark.parametrize(
    ("tag", "cls"),
    [("MDMF", MutableWriteCap), ("MDMF-RO", MutableReadCap), ("MDMF-Verifier", MutableVerifyCap)],
)
def test_mdmf_extension_is_kept_verbatim(extension: str, tag: str, cls: type) -> None:
    """An MDMF cap's trailing extension parses, round-trips, and is dropped by derivation."""
    text = f"URI:{tag}:{KEY}:{HASH}{extension}"
    cap = parse_cap(text)
    assert isinstance(cap, cls)
    assert isinstance(cap, (MutableWriteCap, MutableReadCap, MutableVerifyCap))
    assert cap.format is MutableFormat.MDMF
    assert cap.extension == extension
    assert cap.to_string() == text
    if isinstance(cap, MutableVerifyCap):
        assert cap.verify_cap() is cap
    else:
        assert cap.verify_cap().extension == ""
    plain = parse_cap(f"URI:{tag}:{KEY}:{HASH}")
    assert cap != plain
    assert cap.storage_index == plain.storage_index
    directory = parse_cap(f"URI:DIR2-{tag}:{KEY}:{HASH}{extension}")
    assert directory == DirectoryCap(cap)
    assert directory.to_string() == f"URI:DIR2-{tag}:{KEY}:{HASH}{extension}"


def test_mdmf_read_cap_drops_extension() -> None:
    """Deriving the read cap of an MDMF write cap with hints gives a plain read cap."""
    cap = parse_cap(MDMF + ":3:131073")
    assert isinstance(cap, MutableWriteCap)
    assert cap.read_only() == parse_cap(MDMF).read_only()
    assert cap.read_only().extension == ""


@given(any_caps())
def test_cap_round_trips_through_text(cap: Cap) -> None:
    """Every cap prints to text that parses back to an equal cap."""
    text = cap.to_string()
    assert parse_cap(text) == cap
    assert parse_cap(text.encode("ascii")) == cap


@given(cap_texts())
def test_valid_text_round_trips_exactly(text: str) -> None:
    """Every valid cap text parses and prints back to exactly itself."""
    assert parse_cap(text).to_string() == text


@given(st.one_of(st.text(), damaged_cap_texts()))
@example("URI:CHK-Verifier:" + CHK_VERIFIER[len("URI:CHK-Verifier:") :] + "0")
@example(MDMF + ":3:131073")
def test_garbage_text_parses_exactly_or_raises_cap_error(text: str) -> None:
    """Any text either parses to a cap printing back to the same text, or raises CapError."""
    try:
        cap = parse_cap(text)
    except CapError:
        return
    assert cap.to_string() == text


@given(st.binary())
def test_garbage_bytes_parse_exactly_or_raise_cap_error(data: bytes) -> None:
    """Any bytes either parse to a cap printing back to the same bytes, or raise CapError."""
    try:
        cap = parse_cap(data)
    except CapError:
        return
    assert cap.to_string().encode("ascii") == data
