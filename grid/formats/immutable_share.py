"""The share data of an immutable (CHK) share: Tahoe's "WriteBucketProxy" layout.

Rules:

- Share data is a header, then six sections in a fixed order: the blocks
  ("data"), the unused plaintext hash tree (zeros), the crypttext hash tree,
  the block hash tree, the share hash chain, and the URI extension block
  (a length field, then the UEB). Every offset is measured from the start of
  the share data, not of the container file around it.
- The header holds the layout version, the block size, the data size and the
  six section offsets. Layout v1 has 4-byte fields, v2 8-byte fields; the two
  are rows of :data:`LAYOUT_VERSIONS`, not subclasses. Writers use v1 unless
  the block size, the data size or an offset would need 2**32 or more.
- A :class:`ShareLayout` is valid only in the shape every Tahoe writer makes:
  data right after the header, offsets in order, two equal hash-tree regions
  of ``(2P-1)*32`` bytes (P a power of two), a plaintext region of that size
  too, and a share-hash region of whole 34-byte entries. Anything else raises
  :class:`~grid.errors.ShareFormatError`.
- Readers rely on the version and the offsets only. The block size and data
  size are carried as written and checked only against their field range (a
  reader takes the block geometry from the UEB).
- The UEB length field is authoritative. Bytes after the UEB (Tahoe 1.2.0
  reserved 1000 bytes and zero-padded) are ignored.
- ``ShareLayout.ueb_length`` is known when the layout was planned or read
  along with the UEB length field (:func:`plan_share_layout`,
  :func:`parse_share`), and ``None`` when only the header was read
  (:func:`parse_share_header`); only then is ``allocated_size`` unavailable.
"""

import struct
from collections.abc import Sequence
from itertools import pairwise

import attrs

from grid.errors import EncodingParametersError, ShareFormatError
from grid.hashing import HASH_SIZE
from grid.hashtree import tree_node_count

SHARE_HASH_ENTRY = struct.Struct(">H32s")
_VERSION_FIELD = struct.Struct(">L")


@attrs.frozen
class LayoutVersion:
    """One row of the layout-version table: how a header of that version is packed."""

    version: int
    header_format: str
    header_size: int
    length_field_format: str
    length_field_size: int
    max_field_value: int


LAYOUT_VERSIONS: dict[int, LayoutVersion] = {
    1: LayoutVersion(1, ">LLLLLLLLL", 0x24, ">L", 4, 2**32 - 1),
    2: LayoutVersion(2, ">LQQQQQQQQ", 0x44, ">Q", 8, 2**64 - 1),
}


def _layout_version(version: int) -> LayoutVersion:
    row = LAYOUT_VERSIONS.get(version)
    if row is None:
        raise ShareFormatError(f"unknown immutable share layout version {version}")
    return row


def _is_tree_region_size(size: int) -> bool:
    nodes, remainder = divmod(size, HASH_SIZE)
    return remainder == 0 and nodes >= 1 and (nodes + 1) & nodes == 0


def num_share_hashes(total_shares: int) -> int:
    """Return how many share-hash entries each share of an N-share file carries."""
    if not 1 <= total_shares <= 256:
        raise EncodingParametersError(f"total shares {total_shares} is outside 1..256")
    if total_shares == 1:
        return 1
    return (total_shares - 1).bit_length() + 1


@attrs.frozen
class ShareLayout:
    """The header of an immutable share: version, sizes and section offsets.

    ``ueb_length`` is not stored in the header; it is the length of the UEB
    when known (planned layouts and :func:`parse_share`), else ``None``.
    """

    version: int
    block_size: int
    data_size: int
    data: int
    plaintext_hash_tree: int
    crypttext_hash_tree: int
    block_hashes: int
    share_hashes: int
    uri_extension: int
    ueb_length: int | None = None

    def __attrs_post_init__(self) -> None:
        """Refuse any layout no Tahoe writer would produce."""
        row = _layout_version(self.version)
        values = self._header_values()[1:]
        if self.ueb_length is not None:
            values += (self.ueb_length,)
        if any(not 0 <= value <= row.max_field_value for value in values):
            raise ShareFormatError(f"a layout v{self.version} field is out of range: {values}")
        if self.data != row.header_size:
            raise ShareFormatError(f"data offset {self.data} is not {row.header_size}")
        offsets = self._header_values()[3:]
        if any(later < earlier for earlier, later in pairwise(offsets)):
            raise ShareFormatError(f"share offsets are out of order: {offsets}")
        tree_size = self.block_hashes - self.crypttext_hash_tree
        if not _is_tree_region_size(tree_size):
            raise ShareFormatError(f"crypttext hash tree region of {tree_size} bytes")
        regions = (
            self.crypttext_hash_tree - self.plaintext_hash_tree,
            self.share_hashes - self.block_hashes,
        )
        if regions != (tree_size, tree_size):
            raise ShareFormatError(f"hash tree regions differ in size: {(tree_size, *regions)}")
        chain_size = self.uri_extension - self.share_hashes
        if chain_size == 0 or chain_size % SHARE_HASH_ENTRY.size:
            raise ShareFormatError(f"share hash region of {chain_size} bytes")

    def _header_values(self) -> tuple[int, ...]:
        return (
            self.version,
            self.block_size,
            self.data_size,
            self.data,
            self.plaintext_hash_tree,
            self.crypttext_hash_tree,
            self.block_hashes,
            self.share_hashes,
            self.uri_extension,
        )

    @property
    def layout_version(self) -> LayoutVersion:
        """The table row for this layout's version."""
        return LAYOUT_VERSIONS[self.version]

    @property
    def header_size(self) -> int:
        """Bytes in the header (0x24 for v1, 0x44 for v2)."""
        return self.layout_version.header_size

    @property
    def tree_node_count(self) -> int:
        """Nodes in each of the crypttext and block hash trees."""
        return (self.block_hashes - self.crypttext_hash_tree) // HASH_SIZE

    @property
    def share_hash_count(self) -> int:
        """Entries in the share hash chain."""
        return (self.uri_extension - self.share_hashes) // SHARE_HASH_ENTRY.size

    @property
    def ueb_offset(self) -> int:
        """Offset of the UEB bytes themselves, after the length field."""
        return self.uri_extension + self.layout_version.length_field_size

    @property
    def allocated_size(self) -> int:
        """Bytes a server must reserve for this share; needs a known ``ueb_length``."""
        if self.ueb_length is None:
            raise ValueError("allocated size is unknown: this layout has no UEB length")
        return self.ueb_offset + self.ueb_length

    def pack_header(self) -> bytes:
        """Serialize the header (the first ``header_size`` bytes of the share)."""
        return struct.pack(self.layout_version.header_format, *self._header_values())

    def crypttext_hash_node_offset(self, node: int) -> int:
        """Offset of crypttext hash tree node ``node`` (root = 0)."""
        return self._tree_node_offset(self.crypttext_hash_tree, node)

    def block_hash_node_offset(self, node: int) -> int:
        """Offset of block hash tree node ``node`` (root = 0)."""
        return self._tree_node_offset(self.block_hashes, node)

    def _tree_node_offset(self, region: int, node: int) -> int:
        if not 0 <= node < self.tree_node_count:
            raise ShareFormatError(
                f"hash tree node {node} is not in a {self.tree_node_count}-node tree"
            )
        return region + node * HASH_SIZE

    def block_range(
        self, segment_index: int, *, block_size: int, tail_block_size: int, num_segments: int
    ) -> tuple[int, int]:
        """Return (offset, length) of the block for ``segment_index``.

        The geometry comes from the UEB (see ``UriExtension.block_size``); a
        block that does not fit in the data region raises ShareFormatError.
        """
        if not 0 <= segment_index < num_segments:
            raise ShareFormatError(f"segment {segment_index} is not in 0..{num_segments - 1}")
        length = tail_block_size if segment_index == num_segments - 1 else block_size
        offset = self.data + segment_index * block_size
        if block_size < 0 or length < 0 or offset + length > self.plaintext_hash_tree:
            raise ShareFormatError(f"block {segment_index} lies outside the share's data region")
        return offset, length


def plan_share_layout(
    *,
    block_size: int,
    data_size: int,
    num_segments: int,
    num_share_hashes: int,
    ueb_length: int,
    version: int | None = None,
) -> ShareLayout:
    """Lay out a share to be written; v1 unless a field needs 2**32 or more.

    Raises ShareFormatError if the values cannot be laid out (negative, or
    too large for the requested ``version``).
    """
    if num_share_hashes < 1 or num_segments < 0:
        raise ShareFormatError(
            f"cannot plan {num_share_hashes} share hashes, {num_segments} segments"
        )
    tree_size = tree_node_count(num_segments) * HASH_SIZE
    chosen = version
    if chosen is None:
        v1_end = LAYOUT_VERSIONS[1].header_size + data_size + 3 * tree_size
        largest = max(block_size, data_size, ueb_length, v1_end + 34 * num_share_hashes)
        chosen = 1 if largest <= LAYOUT_VERSIONS[1].max_field_value else 2
    data = _layout_version(chosen).header_size
    plaintext_hash_tree = data + data_size
    crypttext_hash_tree = plaintext_hash_tree + tree_size
    block_hashes = crypttext_hash_tree + tree_size
    share_hashes = block_hashes + tree_size
    return ShareLayout(
        version=chosen,
        block_size=block_size,
        data_size=data_size,
        data=data,
        plaintext_hash_tree=plaintext_hash_tree,
        crypttext_hash_tree=crypttext_hash_tree,
        block_hashes=block_hashes,
        share_hashes=share_hashes,
        uri_extension=share_hashes + num_share_hashes * SHARE_HASH_ENTRY.size,
        ueb_length=ueb_length,
    )


def parse_share_header(data: bytes) -> ShareLayout:
    """Read the header at the start of ``data`` (more bytes may follow)."""
    if len(data) < _VERSION_FIELD.size:
        raise ShareFormatError(f"share of {len(data)} bytes has no version field")
    (version,) = _VERSION_FIELD.unpack_from(data)
    row = _layout_version(version)
    if len(data) < row.header_size:
        raise ShareFormatError(
            f"layout v{version} header needs {row.header_size} bytes, got {len(data)}"
        )
    fields = struct.unpack_from(row.header_format, data)
    return ShareLayout(*fields)


def pack_share_hashes(entries: Sequence[tuple[int, bytes]]) -> bytes:
    """Serialize share hash chain entries (node index, 32-byte hash), in order."""
    _check_share_hash_entries(entries)
    return b"".join(SHARE_HASH_ENTRY.pack(node, value) for node, value in entries)


def parse_share_hashes(data: bytes) -> list[tuple[int, bytes]]:
    """Parse a share hash chain region; the stored order is kept."""
    if len(data) % SHARE_HASH_ENTRY.size:
        raise ShareFormatError(f"share hash region of {len(data)} bytes is not whole entries")
    entries = [(node, value) for node, value in SHARE_HASH_ENTRY.iter_unpack(data)]
    _check_share_hash_entries(entries)
    return entries


def _check_share_hash_entries(entries: Sequence[tuple[int, bytes]]) -> None:
    nodes = [node for node, _ in entries]
    if len(set(nodes)) != len(nodes):
        raise ShareFormatError(f"share hash chain repeats a node: {nodes}")
    for node, value in entries:
        if not 0 <= node <= 0xFFFF or len(value) != HASH_SIZE:
            raise ShareFormatError(f"bad share hash entry for node {node}")


def pack_uri_extension_field(version: int, packed_ueb: bytes) -> bytes:
    """Serialize the UEB region: the version's length field, then the UEB."""
    row = _layout_version(version)
    if len(packed_ueb) > row.max_field_value:
        raise ShareFormatError(f"UEB of {len(packed_ueb)} bytes is too long for layout v{version}")
    return struct.pack(row.length_field_format, len(packed_ueb)) + packed_ueb


def parse_uri_extension_field(version: int, data: bytes) -> bytes:
    """Read the UEB from ``data`` starting at its length field; ignore what follows."""
    row = _layout_version(version)
    if len(data) < row.length_field_size:
        raise ShareFormatError("share is truncated inside the UEB length field")
    (length,) = struct.unpack_from(row.length_field_format, data)
    end = row.length_field_size + length
    if len(data) < end:
        raise ShareFormatError(
            f"UEB of {length} bytes is truncated to {len(data) - row.length_field_size}"
        )
    return data[row.length_field_size : end]


def _split_nodes(region: bytes) -> tuple[bytes, ...]:
    return tuple(region[start : start + HASH_SIZE] for start in range(0, len(region), HASH_SIZE))


@attrs.frozen
class ParsedShare:
    """A whole immutable share, split into its sections.

    ``layout.ueb_length`` is set from the UEB length field. Blocks are sliced
    on demand because only the UEB knows the block geometry.
    """

    layout: ShareLayout
    share_data: bytes = attrs.field(repr=False)
    crypttext_hash_tree: tuple[bytes, ...] = attrs.field(repr=False)
    block_hash_tree: tuple[bytes, ...] = attrs.field(repr=False)
    share_hashes: tuple[tuple[int, bytes], ...] = attrs.field(repr=False)
    uri_extension: bytes = attrs.field(repr=False)

    def block(
        self, segment_index: int, *, block_size: int, tail_block_size: int, num_segments: int
    ) -> bytes:
        """Return the block for ``segment_index``, geometry taken from the UEB."""
        offset, length = self.layout.block_range(
            segment_index,
            block_size=block_size,
            tail_block_size=tail_block_size,
            num_segments=num_segments,
        )
        return self.share_data[offset : offset + length]


def parse_share(data: bytes) -> ParsedShare:
    """Parse whole share data (as stored in the container) into its sections."""
    header = parse_share_header(data)
    ueb = parse_uri_extension_field(header.version, data[header.uri_extension :])
    layout = attrs.evolve(header, ueb_length=len(ueb))
    return ParsedShare(
        layout=layout,
        share_data=data,
        crypttext_hash_tree=_split_nodes(data[layout.crypttext_hash_tree : layout.block_hashes]),
        block_hash_tree=_split_nodes(data[layout.block_hashes : layout.share_hashes]),
        share_hashes=tuple(parse_share_hashes(data[layout.share_hashes : layout.uri_extension])),
        uri_extension=ueb,
    )


def build_share(
    *,
    blocks: Sequence[bytes],
    crypttext_hash_tree: Sequence[bytes],
    block_hash_tree: Sequence[bytes],
    share_hashes: Sequence[tuple[int, bytes]],
    uri_extension: bytes,
    version: int | None = None,
) -> bytes:
    """Assemble complete share data from its parts (for small shares and tests).

    Every block but the last has the size of the first; both trees must be
    whole trees over ``len(blocks)`` leaves.
    """
    block_size = len(blocks[0]) if blocks else 0
    if any(len(block) != block_size for block in blocks[:-1]) or (
        blocks and len(blocks[-1]) > block_size
    ):
        raise ShareFormatError("blocks must be equal-sized except a shorter last one")
    layout = plan_share_layout(
        block_size=block_size,
        data_size=sum(len(block) for block in blocks),
        num_segments=len(blocks),
        num_share_hashes=len(share_hashes),
        ueb_length=len(uri_extension),
        version=version,
    )
    expected = layout.tree_node_count
    for tree in (crypttext_hash_tree, block_hash_tree):
        if len(tree) != expected or any(len(node) != HASH_SIZE for node in tree):
            raise ShareFormatError(f"a hash tree must be {expected} nodes of {HASH_SIZE} bytes")
    tree_gap = bytes(layout.crypttext_hash_tree - layout.plaintext_hash_tree)
    return b"".join(
        (
            layout.pack_header(),
            *blocks,
            tree_gap,
            *crypttext_hash_tree,
            *block_hash_tree,
            pack_share_hashes(share_hashes),
            pack_uri_extension_field(layout.version, uri_extension),
        )
    )
