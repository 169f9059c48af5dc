"""The field rules every cap kind shares: byte sizes, share counts, text forms.

Rules: keys and storage indexes are 16 bytes, hashes and fingerprints 32
bytes; share counts satisfy ``1 <= needed <= total <= 256``; a file size is
``0 <= size <= 2**64 - 1``. In text, a byte field is the canonical base32 of
exactly its size (so it decodes to one value and re-encodes to itself) and a
number is canonical ASCII decimal: no sign, no leading zero, at most 20
digits. Every failure raises :class:`~grid.errors.CapError` with a message
naming the field, never echoing the field's value (it may be a secret).
"""

import re
from collections.abc import Callable
from typing import Any

from grid import base32
from grid.errors import CapError, EncodingError
from grid.hashing import HASH_SIZE, KEY_SIZE, STORAGE_INDEX_SIZE

MAX_SHARES = 256
MAX_FILE_SIZE = 2**64 - 1

_NUMBER_RE = re.compile("0|[1-9][0-9]{0,19}")

ByteFieldValidator = Callable[[Any, Any, bytes], None]


def _byte_field(size: int) -> ByteFieldValidator:
    """Build an attrs validator accepting only ``bytes`` of exactly ``size``."""

    def check(_instance: Any, attribute: Any, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise CapError(f"{attribute.name} must be bytes, not {type(value).__name__}")
        if len(value) != size:
            raise CapError(f"{attribute.name} must be {size} bytes, got {len(value)}")

    return check


key_field = _byte_field(KEY_SIZE)
"""attrs validator for a 16-byte AES key (CHK key, write key, read key)."""

hash_field = _byte_field(HASH_SIZE)
"""attrs validator for a 32-byte hash (UEB hash, public-key fingerprint)."""

storage_index_field = _byte_field(STORAGE_INDEX_SIZE)
"""attrs validator for a 16-byte storage index."""


def any_bytes_field(_instance: Any, attribute: Any, value: bytes) -> None:
    """Validate (for attrs) a ``bytes`` field of any length (literal data)."""
    if not isinstance(value, bytes):
        raise CapError(f"{attribute.name} must be bytes, not {type(value).__name__}")


def _is_int(value: object) -> bool:
    """Tell whether ``value`` is a real int (``bool`` does not count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_encoding_numbers(needed_shares: int, total_shares: int, size: int) -> None:
    """Check a CHK-like cap's k, N and size; raise CapError if out of range."""
    if not (_is_int(needed_shares) and _is_int(total_shares) and _is_int(size)):
        raise CapError("needed_shares, total_shares and size must be integers")
    if not 1 <= needed_shares <= total_shares <= MAX_SHARES:
        raise CapError(
            f"share counts must satisfy 1 <= needed <= total <= {MAX_SHARES}, "
            f"got needed={needed_shares} total={total_shares}"
        )
    if not 0 <= size <= MAX_FILE_SIZE:
        raise CapError(f"file size must be between 0 and 2**64 - 1, got {size}")


def decode_sized(text: str, size: int, what: str) -> bytes:
    """Decode a base32 field that must hold exactly ``size`` bytes."""
    try:
        return base32.a2b_sized(text, size)
    except EncodingError as error:
        raise CapError(f"{what} is not the canonical base32 of {size} bytes") from error


def decode_any(text: str, what: str) -> bytes:
    """Decode a base32 field of any length (literal data)."""
    try:
        return base32.a2b(text)
    except EncodingError as error:
        raise CapError(f"{what} is not canonical base32") from error


def parse_number(text: str, what: str) -> int:
    """Parse canonical ASCII decimal (no sign, no leading zero, <= 20 digits)."""
    if _NUMBER_RE.fullmatch(text) is None:
        raise CapError(f"{what} is not a canonical decimal number")
    return int(text)


def split_fields(body: str, count: int, kind: str) -> list[str]:
    """Split a cap's body on ``:`` into exactly ``count`` fields."""
    fields = body.split(":")
    if len(fields) != count:
        raise CapError(f"a {kind} cap has {count} fields after its kind, found {len(fields)}")
    return fields
