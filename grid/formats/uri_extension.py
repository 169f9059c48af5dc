"""The URI extension block (UEB) of an immutable file: the record a CHK cap hashes.

Rules:

- Packed form: for each key in bytewise ascending order, ``key + b":" +
  netstring(value)``, concatenated with nothing between. Keys match
  ``[a-zA-Z_-]+``; integers are ASCII decimal without sign or leading zeros.
- A standard UEB has exactly Tahoe's 11 keys (the fields of
  :class:`UriExtension`). Keys we do not know are kept, as raw bytes, in
  ``extra``, so packing a parsed UEB gives back the same bytes.
- The parser is strict about syntax (charset, order, duplicates, decimals,
  trailing junk, missing keys, hash sizes, codec parameter syntax) and raises
  only :class:`~grid.errors.ShareFormatError`. It does not compare the UEB with
  a cap; :func:`check_consistent_with_cap` does that, for a verifier.
"""

import re
from collections.abc import Iterable, Mapping

import attrs

from grid.errors import EncodingError, ShareFormatError
from grid.hashing import HASH_SIZE
from grid.netstring import netstring, parse_netstring

CODEC_NAME = "crs"
_KEY_RE = re.compile(rb"[a-zA-Z_\-]+")
_CODEC_PARAMS_RE = re.compile(r"(0|[1-9][0-9]{0,19})-([1-9][0-9]{0,2})-([1-9][0-9]{0,2})")
_MAX_DECIMAL_DIGITS = 20

_STRING_KEYS = ("codec_name", "codec_params", "tail_codec_params")
_HASH_KEYS = ("crypttext_hash", "crypttext_root_hash", "share_root_hash")
_INT_KEYS = ("needed_shares", "total_shares", "num_segments", "segment_size", "size")
STANDARD_KEYS = frozenset(_STRING_KEYS + _HASH_KEYS + _INT_KEYS)


def _div_ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


@attrs.frozen
class CodecParams:
    """Parsed ``"segsize-k-N"`` codec parameters of a UEB."""

    segment_size: int
    needed_shares: int
    total_shares: int

    @property
    def block_size(self) -> int:
        """Bytes per block when a segment of this size is erasure-coded."""
        return _div_ceil(self.segment_size, self.needed_shares)


def codec_params(segment_size: int, needed_shares: int, total_shares: int) -> str:
    """Format codec parameters the way a UEB stores them: ``"segsize-k-N"``."""
    return f"{segment_size}-{needed_shares}-{total_shares}"


def parse_codec_params(text: str) -> CodecParams:
    """Parse ``"segsize-k-N"`` with 1 <= k <= N <= 256; else ShareFormatError."""
    match = _CODEC_PARAMS_RE.fullmatch(text)
    if match is None:
        raise ShareFormatError(f"bad codec parameters {text[:60]!r}")
    params = CodecParams(*(int(group) for group in match.groups()))
    if not 1 <= params.needed_shares <= params.total_shares <= 256:
        raise ShareFormatError(f"bad k/N in codec parameters {text!r}")
    return params


def _extra_items(
    value: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
) -> tuple[tuple[str, bytes], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted(items))


@attrs.frozen
class UriExtension:
    """A URI extension block, typed; ``extra`` holds unknown keys, sorted."""

    codec_name: str
    codec_params: str
    tail_codec_params: str
    crypttext_hash: bytes
    crypttext_root_hash: bytes
    needed_shares: int
    total_shares: int
    num_segments: int
    segment_size: int
    share_root_hash: bytes
    size: int
    extra: tuple[tuple[str, bytes], ...] = attrs.field(default=(), converter=_extra_items)

    def __attrs_post_init__(self) -> None:
        """Check field types, sizes and syntax (not consistency with a cap)."""
        if self.codec_name != CODEC_NAME:
            raise ShareFormatError(f"unknown codec {self.codec_name[:40]!r}")
        parse_codec_params(self.codec_params)
        parse_codec_params(self.tail_codec_params)
        for key in _HASH_KEYS:
            value = getattr(self, key)
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                raise ShareFormatError(f"UEB {key} is not {HASH_SIZE} bytes")
        for key in _INT_KEYS:
            value = getattr(self, key)
            if not isinstance(value, int) or not 0 <= value < 10**_MAX_DECIMAL_DIGITS:
                raise ShareFormatError(f"UEB {key} is not an integer of at most 20 digits")
        keys = [key for key, _ in self.extra]
        if len(set(keys)) != len(keys):
            raise ShareFormatError("UEB extra keys repeat")
        for key, value in self.extra:
            if key in STANDARD_KEYS or _KEY_RE.fullmatch(key.encode("ascii", "replace")) is None:
                raise ShareFormatError(f"bad extra UEB key {key[:40]!r}")
            if not isinstance(value, bytes):
                raise ShareFormatError(f"UEB extra value for {key!r} is not bytes")

    @property
    def codec(self) -> CodecParams:
        """The parsed ``codec_params``."""
        return parse_codec_params(self.codec_params)

    @property
    def tail_codec(self) -> CodecParams:
        """The parsed ``tail_codec_params`` (segment size is the padded tail)."""
        return parse_codec_params(self.tail_codec_params)

    @property
    def block_size(self) -> int:
        """Size of every block but the last, as the codec parameters say."""
        return self.codec.block_size

    @property
    def tail_block_size(self) -> int:
        """Size of the last block, as the tail codec parameters say."""
        return self.tail_codec.block_size

    def packed_values(self) -> dict[str, bytes]:
        """Every key with its packed value (standard keys and ``extra``)."""
        values: dict[str, bytes] = {key: getattr(self, key).encode("ascii") for key in _STRING_KEYS}
        values.update({key: getattr(self, key) for key in _HASH_KEYS})
        values.update({key: b"%d" % getattr(self, key) for key in _INT_KEYS})
        values.update(self.extra)
        return values


def make_uri_extension(
    *,
    size: int,
    segment_size: int,
    needed_shares: int,
    total_shares: int,
    crypttext_hash: bytes,
    crypttext_root_hash: bytes,
    share_root_hash: bytes,
) -> UriExtension:
    """Build the standard UEB for a file, deriving segment count and codec strings."""
    if size < 1 or segment_size < 1 or needed_shares < 1:
        raise ShareFormatError(f"cannot describe size {size} in segments of {segment_size}")
    num_segments = _div_ceil(size, segment_size)
    tail_size = size - (num_segments - 1) * segment_size
    padded_tail = _div_ceil(tail_size, needed_shares) * needed_shares
    return UriExtension(
        codec_name=CODEC_NAME,
        codec_params=codec_params(segment_size, needed_shares, total_shares),
        tail_codec_params=codec_params(padded_tail, needed_shares, total_shares),
        crypttext_hash=crypttext_hash,
        crypttext_root_hash=crypttext_root_hash,
        needed_shares=needed_shares,
        total_shares=total_shares,
        num_segments=num_segments,
        segment_size=segment_size,
        share_root_hash=share_root_hash,
        size=size,
    )


def check_consistent_with_cap(
    ueb: UriExtension, *, needed_shares: int, total_shares: int, size: int
) -> None:
    """Raise ShareFormatError unless the UEB agrees with the cap's k, N and size.

    Checked as a verifier does: k, N, size, segment count and both codec
    parameter strings, all derived from the UEB's own segment size.
    """
    expected = make_uri_extension(
        size=size,
        segment_size=ueb.segment_size,
        needed_shares=needed_shares,
        total_shares=total_shares,
        crypttext_hash=ueb.crypttext_hash,
        crypttext_root_hash=ueb.crypttext_root_hash,
        share_root_hash=ueb.share_root_hash,
    )
    for key in ("needed_shares", "total_shares", "size", "num_segments", *_STRING_KEYS):
        if getattr(ueb, key) != getattr(expected, key):
            raise ShareFormatError(f"UEB {key} disagrees with the cap")


def pack_uri_extension(ueb: UriExtension) -> bytes:
    """Serialize a UEB: sorted keys, each ``key:netstring(value)``."""
    return b"".join(
        key.encode("ascii") + b":" + netstring(value)
        for key, value in sorted(ueb.packed_values().items())
    )


def _decimal(key: str, value: bytes) -> int:
    if (
        not value.isdigit()
        or len(value) > _MAX_DECIMAL_DIGITS
        or (len(value) > 1 and value.startswith(b"0"))
    ):
        raise ShareFormatError(f"UEB {key} is not a canonical decimal: {value[:24]!r}")
    return int(value)


def _text(key: str, value: bytes) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError as error:
        raise ShareFormatError(f"UEB {key} is not ASCII") from error


def parse_uri_extension_fields(data: bytes) -> dict[str, bytes]:
    """Split packed UEB bytes into keys and raw values, checking the syntax."""
    fields: dict[str, bytes] = {}
    previous = b""
    position = 0
    while position < len(data):
        colon = data.find(b":", position)
        key = data[position:colon] if colon != -1 else b""
        if _KEY_RE.fullmatch(key) is None:
            raise ShareFormatError(f"bad UEB key at offset {position}")
        if key <= previous:
            problem = "repeats" if key == previous else "is out of order"
            raise ShareFormatError(f"UEB key {key!r} {problem}")
        try:
            value, position = parse_netstring(data, colon + 1)
        except EncodingError as error:
            raise ShareFormatError(f"bad UEB value for {key!r}: {error}") from error
        fields[key.decode("ascii")] = value
        previous = key
    return fields


def parse_uri_extension(data: bytes) -> UriExtension:
    """Parse packed UEB bytes; any malformation raises ShareFormatError."""
    fields = parse_uri_extension_fields(data)
    missing = STANDARD_KEYS - fields.keys()
    if missing:
        raise ShareFormatError(f"UEB lacks keys {sorted(missing)}")
    return UriExtension(
        codec_name=_text("codec_name", fields["codec_name"]),
        codec_params=_text("codec_params", fields["codec_params"]),
        tail_codec_params=_text("tail_codec_params", fields["tail_codec_params"]),
        crypttext_hash=fields["crypttext_hash"],
        crypttext_root_hash=fields["crypttext_root_hash"],
        needed_shares=_decimal("needed_shares", fields["needed_shares"]),
        total_shares=_decimal("total_shares", fields["total_shares"]),
        num_segments=_decimal("num_segments", fields["num_segments"]),
        segment_size=_decimal("segment_size", fields["segment_size"]),
        share_root_hash=fields["share_root_hash"],
        size=_decimal("size", fields["size"]),
        extra={key: value for key, value in fields.items() if key not in STANDARD_KEYS},
    )
