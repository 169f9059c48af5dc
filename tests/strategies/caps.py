"""Hypothesis strategies for caps of every kind, their texts, and damaged texts."""

from hypothesis import strategies as st

from grid.caps import (
    ALLEGED_IMMUTABLE_PREFIX,
    ALLEGED_READONLY_PREFIX,
    Cap,
    CHKReadCap,
    CHKVerifyCap,
    DirectoryCap,
    FileCap,
    LiteralCap,
    MutableFormat,
    MutableReadCap,
    MutableVerifyCap,
    MutableWriteCap,
)

_VISIBLE_ASCII = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


def keys() -> st.SearchStrategy[bytes]:
    """16-byte keys and storage indexes."""
    return st.binary(min_size=16, max_size=16)


def hashes() -> st.SearchStrategy[bytes]:
    """32-byte hashes and fingerprints."""
    return st.binary(min_size=32, max_size=32)


def file_sizes() -> st.SearchStrategy[int]:
    """File sizes a CHK cap can carry, edges included."""
    return st.one_of(st.integers(0, 10**7), st.sampled_from([0, 1, 55, 56, 2**64 - 1]))


@st.composite
def share_counts(draw: st.DrawFn) -> tuple[int, int]:
    """(needed, total) with 1 <= needed <= total <= 256."""
    total = draw(st.integers(1, 256))
    return draw(st.integers(1, total)), total


@st.composite
def chk_read_caps(draw: st.DrawFn) -> CHKReadCap:
    """``URI:CHK:`` caps."""
    needed, total = draw(share_counts())
    return CHKReadCap(draw(keys()), draw(hashes()), needed, total, draw(file_sizes()))


@st.composite
def chk_verify_caps(draw: st.DrawFn) -> CHKVerifyCap:
    """``URI:CHK-Verifier:`` caps."""
    needed, total = draw(share_counts())
    return CHKVerifyCap(draw(keys()), draw(hashes()), needed, total, draw(file_sizes()))


@st.composite
def literal_caps(draw: st.DrawFn) -> LiteralCap:
    """``URI:LIT:`` caps, the empty file included."""
    return LiteralCap(draw(st.binary(max_size=80)))


@st.composite
def mdmf_extensions(draw: st.DrawFn) -> str:
    """What may follow an MDMF cap's fingerprint: nothing, old hints, or anything visible."""
    return draw(
        st.one_of(
            st.just(""),
            st.integers(1, 256).map(lambda needed: f":{needed}:131073"),
            st.text(_VISIBLE_ASCII, max_size=20).map(lambda text: ":" + text),
        )
    )


@st.composite
def _mutable_parts(draw: st.DrawFn) -> tuple[MutableFormat, bytes, bytes, str]:
    """A format, a key, a fingerprint and an extension valid for that format."""
    file_format = draw(st.sampled_from(MutableFormat))
    extension = draw(mdmf_extensions()) if file_format is MutableFormat.MDMF else ""
    return file_format, draw(keys()), draw(hashes()), extension


@st.composite
def mutable_write_caps(draw: st.DrawFn) -> MutableWriteCap:
    """``URI:SSK:`` and ``URI:MDMF:`` caps."""
    return MutableWriteCap(*draw(_mutable_parts()))


@st.composite
def mutable_read_caps(draw: st.DrawFn) -> MutableReadCap:
    """``URI:SSK-RO:`` and ``URI:MDMF-RO:`` caps."""
    return MutableReadCap(*draw(_mutable_parts()))


@st.composite
def mutable_verify_caps(draw: st.DrawFn) -> MutableVerifyCap:
    """``URI:SSK-Verifier:`` and ``URI:MDMF-Verifier:`` caps."""
    return MutableVerifyCap(*draw(_mutable_parts()))


@st.composite
def file_caps(draw: st.DrawFn) -> FileCap:
    """A cap naming a file, of any file kind."""
    strategy: st.SearchStrategy[FileCap] = st.one_of(
        chk_read_caps(),
        chk_verify_caps(),
        literal_caps(),
        mutable_write_caps(),
        mutable_read_caps(),
        mutable_verify_caps(),
    )
    return draw(strategy)


@st.composite
def directory_caps(draw: st.DrawFn) -> DirectoryCap:
    """A directory cap of any directory kind."""
    return DirectoryCap(draw(file_caps()))


@st.composite
def any_caps(draw: st.DrawFn) -> Cap:
    """A cap of any known kind."""
    strategy: st.SearchStrategy[Cap] = st.one_of(file_caps(), directory_caps())
    return draw(strategy)


@st.composite
def cap_texts(draw: st.DrawFn) -> str:
    """The text of a cap of any known kind."""
    return draw(any_caps()).to_string()


@st.composite
def damaged_cap_texts(draw: st.DrawFn) -> str:
    """A valid cap's text with one change: a character edited, a cut, or an addition."""
    text = draw(cap_texts())
    damage = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "append"]))
    position = draw(st.integers(0, len(text) - 1))
    characters = st.one_of(st.sampled_from(":0123456789abcz27AZ-\n"), st.characters())
    if damage == "replace":
        return text[:position] + draw(characters) + text[position + 1 :]
    if damage == "insert":
        return text[:position] + draw(characters) + text[position:]
    if damage == "delete":
        return text[:position] + text[position + 1 :]
    if damage == "truncate":
        return text[:position]
    return text + draw(st.one_of(st.text(characters, min_size=1, max_size=10), st.just(":0")))


@st.composite
def child_cap_texts(draw: st.DrawFn) -> str:
    """What a directory entry may hold: a cap, damaged or not, maybe with ro./imm."""
    text = draw(st.one_of(cap_texts(), damaged_cap_texts(), st.text(max_size=40)))
    prefix = draw(st.sampled_from(["", ALLEGED_READONLY_PREFIX, ALLEGED_IMMUTABLE_PREFIX]))
    return prefix + text
