"""Tahoe's base32: RFC 4648 alphabet, lowercase, no padding.

Rules: :func:`b2a` never emits ``=``; :func:`a2b` accepts only the canonical
encoding of some byte string (lowercase alphabet characters, a length that
some byte count produces, and zero bits in the unused low bits of the last
character), so every accepted text decodes to exactly one value and
re-encodes to itself. Anything else raises :class:`~grid.errors.EncodingError`.
"""

import base64
import re

from grid.errors import EncodingError

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"

_ALPHABET_RE = re.compile("[a-z2-7]*")
_VALID_TAIL_LENGTHS = frozenset({0, 2, 4, 5, 7})


def b2a(data: bytes) -> str:
    """Encode bytes as lowercase, unpadded base32."""
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def encoded_length(byte_count: int) -> int:
    """Return how many base32 characters encode ``byte_count`` bytes."""
    return (byte_count * 8 + 4) // 5


def is_canonical(text: str) -> bool:
    """Tell whether ``text`` is the exact :func:`b2a` output of some bytes."""
    if _ALPHABET_RE.fullmatch(text) is None or len(text) % 8 not in _VALID_TAIL_LENGTHS:
        return False
    if not text:
        return True
    unused_bits = (len(text) * 5) % 8
    return ALPHABET.index(text[-1]) & ((1 << unused_bits) - 1) == 0


def a2b(text: str) -> bytes:
    """Decode canonical lowercase base32; raise EncodingError on anything else."""
    if not is_canonical(text):
        raise EncodingError(f"not canonical base32: {text[:40]!r}")
    padded = text.upper() + "=" * (-len(text) % 8)
    return base64.b32decode(padded)


def a2b_sized(text: str, byte_count: int) -> bytes:
    """Decode base32 that must encode exactly ``byte_count`` bytes."""
    if len(text) != encoded_length(byte_count):
        raise EncodingError(
            f"base32 value has {len(text)} characters, expected {encoded_length(byte_count)}"
        )
    return a2b(text)
