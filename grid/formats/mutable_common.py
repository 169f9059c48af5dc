"""Pieces shared by the SDMF and MDMF share formats.

Rules:

- A mutable share starts with a version byte: 0 is SDMF, 1 is MDMF, anything
  else is not a mutable share. The first :data:`MUTABLE_HEADER_READ_SIZE`
  bytes (123) hold the whole header of either format, so a reader fetches
  that much, calls :func:`mutable_share_version` and then the format's own
  header parser.
- The share hash chain is a run of ``">H32s"`` entries (node index, hash):
  the siblings on the path from this share's leaf up to the root, *without*
  the leaf itself, sorted by node index. Records and parsers here insist on
  strictly increasing indexes, which is what every Tahoe writer produces.
- The block hash tree is stored whole: a run of 32-byte nodes in tree order.
- Parsers here take exactly the bytes of one section and raise only
  :class:`~grid.errors.ShareFormatError`.
"""

import itertools
import struct

from grid.errors import ShareFormatError
from grid.hashing import HASH_SIZE

SDMF_VERSION = 0
MDMF_VERSION = 1
MUTABLE_SHARE_VERSIONS = frozenset({SDMF_VERSION, MDMF_VERSION})
MUTABLE_HEADER_READ_SIZE = 123

SHARE_HASH_ENTRY = struct.Struct(">H32s")
SHARE_HASH_ENTRY_SIZE = SHARE_HASH_ENTRY.size
MAX_SHARE_HASH_INDEX = 0xFFFF

UINT32_MAX = 0xFFFF_FFFF
UINT64_MAX = 0xFFFF_FFFF_FFFF_FFFF

ShareHashChain = tuple[tuple[int, bytes], ...]
"""A share hash chain: ``(node index, 32-byte hash)`` pairs, sorted by index."""


def mutable_share_version(first_bytes: bytes) -> int:
    """Return the version byte of a mutable share (0 SDMF, 1 MDMF).

    Raises ShareFormatError if ``first_bytes`` is empty or starts with any
    other value.
    """
    if not first_bytes:
        raise ShareFormatError("mutable share is empty: no version byte")
    version = first_bytes[0]
    if version not in MUTABLE_SHARE_VERSIONS:
        raise ShareFormatError(f"unknown mutable share version byte {version}")
    return version


def check_share_hash_chain(chain: ShareHashChain) -> ShareHashChain:
    """Check a share hash chain's shape and return it as a tuple of tuples.

    Each entry must be a (0..65535 index, 32-byte hash) pair and the indexes
    must be strictly increasing. Raises ShareFormatError otherwise.
    """
    checked: list[tuple[int, bytes]] = []
    previous = -1
    for entry in chain:
        if len(entry) != 2:
            raise ShareFormatError("share hash chain entries are (index, hash) pairs")
        index, node_hash = entry
        if not isinstance(index, int) or not 0 <= index <= MAX_SHARE_HASH_INDEX:
            raise ShareFormatError(f"share hash chain index {index!r} is out of range")
        if not isinstance(node_hash, bytes) or len(node_hash) != HASH_SIZE:
            raise ShareFormatError("share hash chain hashes are 32 bytes")
        if index <= previous:
            raise ShareFormatError("share hash chain indexes must be strictly increasing")
        previous = index
        checked.append((index, node_hash))
    return tuple(checked)


def pack_share_hash_chain(chain: ShareHashChain) -> bytes:
    """Serialize a share hash chain as consecutive ``">H32s"`` entries."""
    return b"".join(SHARE_HASH_ENTRY.pack(index, node_hash) for index, node_hash in chain)


def parse_share_hash_chain(data: bytes) -> ShareHashChain:
    """Parse the bytes of a share hash chain section.

    Raises ShareFormatError if the length is not a multiple of 34 or the
    indexes are not strictly increasing.
    """
    if len(data) % SHARE_HASH_ENTRY_SIZE:
        raise ShareFormatError(
            f"share hash chain is {len(data)} bytes, not a multiple of {SHARE_HASH_ENTRY_SIZE}"
        )
    entries = tuple(
        (int(index), bytes(node_hash)) for index, node_hash in SHARE_HASH_ENTRY.iter_unpack(data)
    )
    return check_share_hash_chain(entries)


def check_hash_list(hashes: tuple[bytes, ...], what: str) -> tuple[bytes, ...]:
    """Check that every item is a 32-byte ``bytes`` value; return them as a tuple."""
    checked = tuple(hashes)
    for node_hash in checked:
        if not isinstance(node_hash, bytes) or len(node_hash) != HASH_SIZE:
            raise ShareFormatError(f"{what} nodes are 32-byte hashes")
    return checked


def pack_hash_list(hashes: tuple[bytes, ...]) -> bytes:
    """Serialize a list of 32-byte hashes (a block hash tree) back to back."""
    return b"".join(hashes)


def parse_hash_list(data: bytes, what: str) -> tuple[bytes, ...]:
    """Split a section into 32-byte hashes; raise ShareFormatError on a ragged length."""
    if len(data) % HASH_SIZE:
        raise ShareFormatError(f"{what} is {len(data)} bytes, not a multiple of {HASH_SIZE}")
    return tuple(data[start : start + HASH_SIZE] for start in range(0, len(data), HASH_SIZE))


def check_uint(value: int, maximum: int, what: str) -> int:
    """Check that ``value`` is an int in ``0..maximum``; raise ShareFormatError if not."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ShareFormatError(f"{what} must be an integer in 0..{maximum}, not {value!r}")
    return value


def check_sized_bytes(value: bytes, size: int, what: str) -> bytes:
    """Check that ``value`` is ``bytes`` of exactly ``size``; raise ShareFormatError if not."""
    if not isinstance(value, bytes) or len(value) != size:
        raise ShareFormatError(f"{what} must be {size} bytes")
    return value


def check_encoding_parameters(needed_shares: int, total_shares: int) -> None:
    """Check ``1 <= k <= N <= 255`` as stored in a mutable share header."""
    check_uint(needed_shares, 0xFF, "needed shares (k)")
    check_uint(total_shares, 0xFF, "total shares (N)")
    if not 1 <= needed_shares <= total_shares:
        raise ShareFormatError(
            f"encoding parameters k={needed_shares}, N={total_shares} need 1 <= k <= N"
        )


def check_ordered_offsets(named_offsets: list[tuple[str, int]], available: int) -> None:
    """Check that offsets never decrease and the last one fits in ``available`` bytes.

    ``named_offsets`` lists (section name, offset) in on-disk order; the first
    entry is where the first section may start at the earliest (the header
    size). Raises ShareFormatError naming the first section out of place.
    """
    for (earlier_name, earlier), (later_name, later) in itertools.pairwise(named_offsets):
        if later < earlier:
            raise ShareFormatError(
                f"offset of {later_name} ({later}) is before {earlier_name} ({earlier})"
            )
    last_name, last = named_offsets[-1]
    if last > available:
        raise ShareFormatError(
            f"share is truncated: {last_name} is at {last} but only {available} bytes are present"
        )
