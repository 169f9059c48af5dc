"""Immutable file caps: CHK read caps, CHK verify caps and literal (LIT) caps.

Rules: ``URI:CHK:<key>:<UEB hash>:<k>:<N>:<size>`` names a file stored as
erasure-coded shares; its storage index is derived from the key, and its
verify cap swaps the key for that storage index
(``URI:CHK-Verifier:<SI>:<UEB hash>:<k>:<N>:<size>``). ``URI:LIT:<data>``
carries the whole (small) file in base32 and has no storage index and no
verify cap. Every immutable cap is read-only and is its own read-only cap.
Parsing is exact: Tahoe tolerates text after a CHK verify cap's size (its
pattern is not end-anchored), but nothing writes such caps, so here any extra
field is an error, which keeps ``to_string`` an exact inverse of parsing.
"""

import functools
from typing import ClassVar

import attrs

from grid.base32 import b2a
from grid.caps.fields import (
    any_bytes_field,
    check_encoding_numbers,
    decode_any,
    decode_sized,
    hash_field,
    key_field,
    parse_number,
    split_fields,
    storage_index_field,
)
from grid.hashing import HASH_SIZE, KEY_SIZE, STORAGE_INDEX_SIZE, immutable_storage_index


def _chk_fields(
    body: str, kind: str, first_size: int, first_name: str
) -> tuple[bytes, bytes, int, int, int]:
    """Parse the five fields shared by CHK read and verify caps."""
    first, ueb_hash, needed, total, size = split_fields(body, 5, kind)
    return (
        decode_sized(first, first_size, f"{kind} {first_name}"),
        decode_sized(ueb_hash, HASH_SIZE, f"{kind} UEB hash"),
        parse_number(needed, f"{kind} needed shares"),
        parse_number(total, f"{kind} total shares"),
        parse_number(size, f"{kind} size"),
    )


@attrs.frozen
class CHKVerifyCap:
    """``URI:CHK-Verifier:``: lets a checker find and verify shares, not read them."""

    storage_index: bytes = attrs.field(validator=storage_index_field)
    uri_extension_hash: bytes = attrs.field(validator=hash_field)
    needed_shares: int
    total_shares: int
    size: int

    kind: ClassVar[str] = "CHK-Verifier"
    is_mutable: ClassVar[bool] = False
    is_readonly: ClassVar[bool] = True
    is_directory: ClassVar[bool] = False

    def __attrs_post_init__(self) -> None:
        """Check k, N and size."""
        check_encoding_numbers(self.needed_shares, self.total_shares, self.size)

    @classmethod
    def from_fields(cls, body: str) -> "CHKVerifyCap":
        """Build from the text after ``URI:CHK-Verifier:``; raise CapError if malformed."""
        return cls(*_chk_fields(body, cls.kind, STORAGE_INDEX_SIZE, "storage index"))

    def read_only(self) -> "CHKVerifyCap":
        """A verify cap grants no reading: it is its own read-only form."""
        return self

    def verify_cap(self) -> "CHKVerifyCap":
        """A verify cap is its own verify cap."""
        return self

    def to_string(self) -> str:
        """The cap's text, ``URI:CHK-Verifier:...``."""
        return (
            f"URI:{self.kind}:{b2a(self.storage_index)}:{b2a(self.uri_extension_hash)}:"
            f"{self.needed_shares}:{self.total_shares}:{self.size}"
        )


@attrs.frozen
class CHKReadCap:
    """``URI:CHK:``: the read cap of an immutable file stored as shares."""

    key: bytes = attrs.field(validator=key_field, repr=False)
    uri_extension_hash: bytes = attrs.field(validator=hash_field)
    needed_shares: int
    total_shares: int
    size: int

    kind: ClassVar[str] = "CHK"
    is_mutable: ClassVar[bool] = False
    is_readonly: ClassVar[bool] = True
    is_directory: ClassVar[bool] = False

    def __attrs_post_init__(self) -> None:
        """Check k, N and size."""
        check_encoding_numbers(self.needed_shares, self.total_shares, self.size)

    @classmethod
    def from_fields(cls, body: str) -> "CHKReadCap":
        """Build from the text after ``URI:CHK:``; raise CapError if malformed."""
        return cls(*_chk_fields(body, cls.kind, KEY_SIZE, "key"))

    @functools.cached_property
    def storage_index(self) -> bytes:
        """Storage index derived from the key (computed once)."""
        return immutable_storage_index(self.key)

    def read_only(self) -> "CHKReadCap":
        """An immutable read cap is already read-only."""
        return self

    def verify_cap(self) -> CHKVerifyCap:
        """The verify cap: the same fields with the storage index for the key."""
        return CHKVerifyCap(
            storage_index=self.storage_index,
            uri_extension_hash=self.uri_extension_hash,
            needed_shares=self.needed_shares,
            total_shares=self.total_shares,
            size=self.size,
        )

    def to_string(self) -> str:
        """The cap's text, ``URI:CHK:...``."""
        return (
            f"URI:{self.kind}:{b2a(self.key)}:{b2a(self.uri_extension_hash)}:"
            f"{self.needed_shares}:{self.total_shares}:{self.size}"
        )


@attrs.frozen
class LiteralCap:
    """``URI:LIT:``: a small immutable file whose whole content is in the cap."""

    data: bytes = attrs.field(validator=any_bytes_field, repr=False)

    kind: ClassVar[str] = "LIT"
    is_mutable: ClassVar[bool] = False
    is_readonly: ClassVar[bool] = True
    is_directory: ClassVar[bool] = False

    @classmethod
    def from_fields(cls, body: str) -> "LiteralCap":
        """Build from the text after ``URI:LIT:``; raise CapError if malformed."""
        return cls(decode_any(body, "LIT data"))

    @property
    def size(self) -> int:
        """The file's size: the length of the data."""
        return len(self.data)

    @property
    def storage_index(self) -> None:
        """A literal file is stored nowhere, so it has no storage index."""
        return None

    def read_only(self) -> "LiteralCap":
        """A literal cap is already read-only."""
        return self

    def verify_cap(self) -> None:
        """Nothing to verify: the data is in the cap, so there is no verify cap."""

    def to_string(self) -> str:
        """The cap's text, ``URI:LIT:<base32 data>``."""
        return f"URI:{self.kind}:{b2a(self.data)}"
