"""Netstrings: ``b"5:hello,"``.

Rules: the length is ASCII decimal with no sign, no spaces and no leading
zeros (except ``0`` itself); exactly that many bytes follow, then ``,``.
Parsers raise :class:`~grid.errors.EncodingError` on anything else.
"""

from grid.errors import EncodingError

_MAX_LENGTH_DIGITS = 20


def netstring(data: bytes) -> bytes:
    """Wrap bytes as a netstring."""
    return b"%d:%s," % (len(data), data)


def parse_netstring(data: bytes, position: int = 0) -> tuple[bytes, int]:
    """Read one netstring at ``position``; return its payload and the next position."""
    colon = data.find(b":", position, position + _MAX_LENGTH_DIGITS + 1)
    if colon == -1:
        raise EncodingError(f"no netstring length at offset {position}")
    digits = data[position:colon]
    if not digits.isdigit() or (len(digits) > 1 and digits.startswith(b"0")):
        raise EncodingError(f"bad netstring length {digits[:20]!r} at offset {position}")
    end = colon + 1 + int(digits)
    if end >= len(data) or data[end : end + 1] != b",":
        raise EncodingError(f"netstring at offset {position} is truncated or unterminated")
    return data[colon + 1 : end], end + 1


def parse_netstrings(data: bytes) -> list[bytes]:
    """Split bytes that are nothing but consecutive netstrings."""
    items: list[bytes] = []
    position = 0
    while position < len(data):
        item, position = parse_netstring(data, position)
        items.append(item)
    return items
