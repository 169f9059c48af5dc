import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.caps import DirectoryCap, LiteralCap, UnknownCap, parse_cap, parse_child_cap
from grid.errors import CapError
from tests.strategies.caps import child_cap_texts

KEY = "aeaqcaibaeaqcaibaeaqcaibae"
SI = "xdjlalot2gbbkllavjv26e4xwm"
HASH = "nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa"
CHK_FIELDS = f"{KEY}:{HASH}:3:10:1234"
MUTABLE_FIELDS = f"{KEY}:{HASH}"
PREFIXES = ("ro.", "imm.")

WRITE_CAPS = [
    f"URI:SSK:{MUTABLE_FIELDS}",
    f"URI:MDMF:{MUTABLE_FIELDS}",
    f"URI:DIR2:{MUTABLE_FIELDS}",
    f"URI:DIR2-MDMF:{MUTABLE_FIELDS}",
]
MUTABLE_READ_CAPS = [
    f"URI:SSK-RO:{MUTABLE_FIELDS}",
    f"URI:MDMF-RO:{MUTABLE_FIELDS}",
    f"URI:DIR2-RO:{MUTABLE_FIELDS}",
    f"URI:DIR2-MDMF-RO:{MUTABLE_FIELDS}",
]
IMMUTABLE_CAPS = [
    f"URI:CHK:{CHK_FIELDS}",
    f"URI:CHK-Verifier:{SI}:{HASH}:3:10:1234",
    "URI:LIT:nbswy3dp",
    f"URI:DIR2-CHK:{CHK_FIELDS}",
    f"URI:DIR2-CHK-Verifier:{SI}:{HASH}:3:10:1234",
    "URI:DIR2-LIT:mrqxiyi",
    f"URI:SSK-Verifier:{SI}:{HASH}",
    f"URI:MDMF-Verifier:{SI}:{HASH}",
    f"URI:DIR2-Verifier:{SI}:{HASH}",
    f"URI:DIR2-MDMF-Verifier:{SI}:{HASH}",
]


@pytest.mark.parametrize("text", WRITE_CAPS + MUTABLE_READ_CAPS + IMMUTABLE_CAPS)
def test_plain_caps_parse_as_parse_cap_does(text: str) -> None:
    """Without a prefix, a valid cap parses to the same cap as the strict parser gives."""
    assert parse_child_cap(text) == parse_cap(text)


@pytest.mark.parametrize("text", MUTABLE_READ_CAPS + IMMUTABLE_CAPS)
def test_ro_prefix_is_stripped_from_read_only_caps(text: str) -> None:
    """``ro.`` before a read-only cap is stripped: the cap is the bare one."""
    assert parse_child_cap("ro." + text) == parse_cap(text)


@pytest.mark.parametrize("text", IMMUTABLE_CAPS)
def test_imm_prefix_is_stripped_from_immutable_caps(text: str) -> None:
    """``imm.`` before an immutable cap (verify caps included) is stripped."""
    assert parse_child_cap("imm." + text) == parse_cap(text)


@pytest.mark.parametrize("text", IMMUTABLE_CAPS)
def test_immutable_caps_are_allowed_deep_immutable(text: str) -> None:
    """In a deep-immutable directory, immutable caps parse normally."""
    assert parse_child_cap(text, deep_immutable=True) == parse_cap(text)


@pytest.mark.parametrize(
    "text",
    ["ro." + cap for cap in WRITE_CAPS] + ["imm." + cap for cap in WRITE_CAPS + MUTABLE_READ_CAPS],
)
def test_prefix_constraint_violation_is_unknown_with_error(text: str) -> None:
    """A write cap under ``ro.``/``imm.``, or a mutable cap under ``imm.``, is kept as unknown."""
    cap = parse_child_cap(text)
    assert isinstance(cap, UnknownCap)
    assert cap.to_string() == text
    assert cap.error is not None
    assert "context" in cap.error


@pytest.mark.parametrize("text", WRITE_CAPS + MUTABLE_READ_CAPS)
def test_deep_immutable_refuses_mutable_caps(text: str) -> None:
    """In a deep-immutable directory a mutable cap becomes unknown, even without ``imm.``."""
    cap = parse_child_cap(text, deep_immutable=True)
    assert isinstance(cap, UnknownCap)
    assert cap.error is not None


@pytest.mark.parametrize(
    "text",
    [
        "URI:NEWKIND:whatever",
        "ro.URI:NEWKIND:whatever",
        "imm.URI:NEWKIND:whatever",
        "ro.ro.URI:LIT:",
        "ro.imm.URI:LIT:",
        "",
        "http://example.org/",
        "x-tahoe-future-test-writeable:abc",
        "x-tahoe-future-test-mutable:abc",
        "ünïcödé",
    ],
)
def test_unknown_kinds_are_kept_verbatim_without_error(text: str) -> None:
    """A kind we do not know becomes an UnknownCap of the exact text, with no error."""
    cap = parse_child_cap(text)
    assert cap == UnknownCap(text)
    assert cap.to_string() == text
    assert isinstance(cap, UnknownCap)
    assert cap.error is None
    assert cap.kind == "unknown"


@pytest.mark.parametrize(
    "text",
    [
        "ro.x-tahoe-future-test-writeable:abc",
        "imm.x-tahoe-future-test-writeable:abc",
        "imm.x-tahoe-future-test-mutable:abc",
    ],
)
def test_future_test_caps_in_constrained_slots_carry_an_error(text: str) -> None:
    """Tahoe's test-only future caps under a prefix that forbids them carry an error."""
    cap = parse_child_cap(text)
    assert isinstance(cap, UnknownCap)
    assert cap.error is not None


@pytest.mark.parametrize(
    "text",
    [
        "URI:CHK:",
        f"URI:CHK:{CHK_FIELDS}:extra",
        f"URI:CHK:{KEY}:{HASH}:11:10:1234",
        f"URI:CHK:{KEY}:{HASH}:3:10:01234",
        f"URI:CHK-Verifier:{SI}:{HASH}:3:10:1234junk",
        "ro.URI:LIT:a",
        f"imm.URI:DIR2-CHK:{CHK_FIELDS}\n",
    ],
)
def test_malformed_known_kinds_are_unknown_with_error(text: str) -> None:
    """A known kind with bad fields is kept verbatim as unknown, with the parse error."""
    cap = parse_child_cap(text)
    assert isinstance(cap, UnknownCap)
    assert cap.to_string() == text
    assert cap.error


def test_unknown_cap_grants_nothing() -> None:
    """An unknown cap has no storage index, no derived caps, and all predicates False."""
    cap = UnknownCap("URI:NEWKIND:x")
    assert cap.storage_index is None
    assert cap.read_only() is None
    assert cap.verify_cap() is None
    assert (cap.is_mutable, cap.is_readonly, cap.is_directory) == (False, False, False)


def test_unknown_cap_equality_ignores_error() -> None:
    """Unknown caps compare by their text alone."""
    assert UnknownCap("x", error="a") == UnknownCap("x")


def test_child_bytes_are_utf8() -> None:
    """Bytes are decoded as UTF-8; a cap in bytes parses like its text."""
    assert parse_child_cap(b"ro.URI:DIR2-LIT:mrqxiyi") == DirectoryCap(LiteralCap(b"data"))
    assert parse_child_cap("ünï".encode()) == UnknownCap("ünï")


@pytest.mark.parametrize("text", [b"\xff", b"URI:LIT:\x80", "URI:\udcff"])
def test_child_cap_refuses_only_non_utf8(text: str | bytes) -> None:
    """parse_child_cap raises CapError only for text that cannot be UTF-8."""
    with pytest.raises(CapError):
        parse_child_cap(text)


@given(child_cap_texts())
def test_child_cap_never_raises_for_encodable_text(text: str) -> None:
    """For text encodable as UTF-8, parse_child_cap always returns a cap."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        with pytest.raises(CapError):
            parse_child_cap(text)
        return
    cap = parse_child_cap(text)
    if isinstance(cap, UnknownCap):
        assert cap.to_string() == text
    else:
        assert text.endswith(cap.to_string())


@given(st.binary())
def test_child_cap_bytes_return_a_cap_or_cap_error(data: bytes) -> None:
    """Arbitrary bytes give a cap when they are UTF-8 and CapError otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(CapError):
            parse_child_cap(data)
        return
    assert parse_child_cap(data) == parse_child_cap(text)


@given(st.one_of(st.text(), child_cap_texts()).filter(lambda text: not text.startswith(PREFIXES)))
def test_unprefixed_child_text_round_trips(text: str) -> None:
    """Without a ro./imm. prefix, a child cap prints back to exactly its text, and re-parses."""
    cap = parse_child_cap(text)
    assert cap.to_string() == text
    assert parse_child_cap(cap.to_string()) == cap
