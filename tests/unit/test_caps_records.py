from collections.abc import Callable

import attrs
import pytest
from hypothesis import given

from grid.base32 import b2a
from grid.caps import (
    DIRECTORY_KINDS,
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
    UnknownCap,
    cap_kind,
    parse_cap,
)
from grid.errors import CapError
from grid.hashing import mutable_readkey, mutable_storage_index
from tests.strategies.caps import any_caps, file_caps

KEY = b"\x01" * 16
HASH = b"\x02" * 32
SDMF = MutableFormat.SDMF
MDMF = MutableFormat.MDMF

# kind: (a cap of that kind, is_mutable, is_readonly, is_directory)
KINDS = {
    "CHK": (CHKReadCap(KEY, HASH, 3, 10, 1234), False, True, False),
    "CHK-Verifier": (CHKVerifyCap(KEY, HASH, 3, 10, 1234), False, True, False),
    "LIT": (LiteralCap(b"hello"), False, True, False),
    "SSK": (MutableWriteCap(SDMF, KEY, HASH), True, False, False),
    "SSK-RO": (MutableReadCap(SDMF, KEY, HASH), True, True, False),
    "SSK-Verifier": (MutableVerifyCap(SDMF, KEY, HASH), False, True, False),
    "MDMF": (MutableWriteCap(MDMF, KEY, HASH), True, False, False),
    "MDMF-RO": (MutableReadCap(MDMF, KEY, HASH), True, True, False),
    "MDMF-Verifier": (MutableVerifyCap(MDMF, KEY, HASH), False, True, False),
}
KINDS.update(
    {
        DIRECTORY_KINDS[kind]: (DirectoryCap(cap), mutable, readonly, True)
        for kind, (cap, mutable, readonly, _) in list(KINDS.items())
    }
)


def test_every_kind_of_section_3_is_covered() -> None:
    """The kind table covers the 18 kinds that tahoe-formats.md §3 lists."""
    assert len(KINDS) == 18


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_kind_and_predicates(kind: str) -> None:
    """Each kind reports its name, its tag in the text, and Tahoe's predicates."""
    cap, mutable, readonly, directory = KINDS[kind]
    assert cap.kind == cap_kind(cap) == kind
    assert cap.to_string().startswith(f"URI:{kind}:")
    assert (cap.is_mutable, cap.is_readonly, cap.is_directory) == (mutable, readonly, directory)
    assert parse_cap(cap.to_string()) == cap


def test_unknown_kind_name() -> None:
    """An unknown cap's kind is ``unknown``."""
    assert cap_kind(UnknownCap("URI:X:y")) == "unknown"


@pytest.mark.parametrize(
    "build",
    [
        lambda: CHKReadCap(KEY[:15], HASH, 3, 10, 1),
        lambda: CHKReadCap(KEY, HASH + b"\x00", 3, 10, 1),
        lambda: CHKReadCap("k" * 16, HASH, 3, 10, 1),
        lambda: CHKReadCap(KEY, HASH, 0, 10, 1),
        lambda: CHKReadCap(KEY, HASH, 4, 3, 1),
        lambda: CHKReadCap(KEY, HASH, 3, 257, 1),
        lambda: CHKReadCap(KEY, HASH, 3, 10, -1),
        lambda: CHKReadCap(KEY, HASH, 3, 10, 2**64),
        lambda: CHKReadCap(KEY, HASH, True, 10, 1),
        lambda: CHKReadCap(KEY, HASH, 3, 10, 1.0),
        lambda: CHKVerifyCap(KEY + KEY, HASH, 3, 10, 1),
        lambda: CHKVerifyCap(KEY, HASH, 3, 2, 1),
        lambda: LiteralCap("hello"),
        lambda: MutableWriteCap(SDMF, KEY, HASH[:31]),
        lambda: MutableWriteCap("SDMF", KEY, HASH),
        lambda: MutableWriteCap(SDMF, KEY, HASH, ":3:131073"),
        lambda: MutableWriteCap(MDMF, KEY, HASH, "3:131073"),
        lambda: MutableWriteCap(MDMF, KEY, HASH, ": x"),
        lambda: MutableReadCap(MDMF, b"", HASH),
        lambda: MutableVerifyCap(SDMF, KEY, HASH, ":"),
        lambda: DirectoryCap(DirectoryCap(LiteralCap(b""))),
        lambda: DirectoryCap(UnknownCap("URI:X:")),
        lambda: DirectoryCap("URI:LIT:"),
        lambda: UnknownCap(b"URI:X:"),
    ],
)
def test_invalid_fields_are_refused_when_built(build: Callable[[], object]) -> None:
    """Building a cap with a field of the wrong size, range or type raises CapError."""
    with pytest.raises(CapError):
        build()


def test_caps_are_frozen_and_hashable() -> None:
    """Caps cannot be changed after building and can be used as dict keys."""
    cap = CHKReadCap(KEY, HASH, 3, 10, 1234)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cap.size = 5  # type: ignore[misc]
    assert {cap: 1}[CHKReadCap(KEY, HASH, 3, 10, 1234)] == 1


def test_repr_hides_keys_and_literal_data() -> None:
    """A cap's repr shows no key and no literal file content."""
    secret = b"\xab" * 16
    for cap in [
        CHKReadCap(secret, HASH, 3, 10, 1),
        MutableWriteCap(SDMF, secret, HASH),
        MutableReadCap(MDMF, secret, HASH),
        DirectoryCap(MutableWriteCap(SDMF, secret, HASH)),
    ]:
        assert repr(secret) not in repr(cap)
        assert b2a(secret) not in repr(cap)
    assert "hello" not in repr(LiteralCap(b"hello"))


def test_derived_values_are_computed_once() -> None:
    """The storage index and read key are cached: the same object on every access."""
    cap = MutableWriteCap(SDMF, KEY, HASH)
    assert cap.readkey is cap.readkey
    assert cap.storage_index is cap.storage_index
    assert cap.readkey == mutable_readkey(KEY)
    assert cap.storage_index == mutable_storage_index(mutable_readkey(KEY))


@given(any_caps())
def test_read_only_is_read_only_and_idempotent(cap: Cap) -> None:
    """read_only() gives a read-only cap with the same storage index, and is idempotent."""
    read_only = cap.read_only()
    assert read_only.is_readonly
    assert read_only.read_only() == read_only
    assert read_only.is_directory == cap.is_directory
    assert read_only.storage_index == cap.storage_index
    if cap.is_readonly:
        assert read_only is cap


@given(any_caps())
def test_verify_cap_agrees_with_the_read_only_cap(cap: Cap) -> None:
    """A cap and its read-only cap share one verify cap, whose storage index is theirs."""
    verify_cap = cap.verify_cap()
    assert verify_cap == cap.read_only().verify_cap()
    if verify_cap is None:
        assert cap.storage_index is None
        assert cap.kind in {"LIT", "DIR2-LIT"}
        return
    assert verify_cap.storage_index == cap.storage_index
    assert len(verify_cap.storage_index or b"") == 16
    assert verify_cap.verify_cap() == verify_cap
    assert verify_cap.read_only() == verify_cap
    assert not verify_cap.is_mutable
    assert verify_cap.kind.endswith("Verifier")


@given(file_caps())
def test_directory_wrapping_commutes_with_derivation(file_cap: FileCap) -> None:
    """Wrapping as a directory commutes with read_only(), verify_cap() and the storage index."""
    directory = DirectoryCap(file_cap)
    assert directory.read_only() == DirectoryCap(file_cap.read_only())
    file_verify_cap = file_cap.verify_cap()
    expected = None if file_verify_cap is None else DirectoryCap(file_verify_cap)
    assert directory.verify_cap() == expected
    assert directory.storage_index == file_cap.storage_index
    prefix = f"URI:{file_cap.kind}:"
    assert directory.to_string() == f"URI:{directory.kind}:" + file_cap.to_string()[len(prefix) :]
