"""The MDMF mutable share format (version byte 1): many segments, salted blocks.

Rules:

- The header is ``">BQ32sBBQQ QQQQQQQQ"`` (123 bytes): version, seqnum, root
  hash, k, N, segment size, data length, then eight 64-bit offsets: encrypted
  private key, share hash chain, signature, verification key, verification
  key end, share data, block hash tree, end of share.
- The signable prefix is the first 59 bytes; the checkstring the first 41
  (version, seqnum, root hash). There is no salt in the header: each block
  carries its own.
- Body order: encrypted private key, share hash chain, signature,
  verification key (tightly packed), then unused space up to the share data;
  segment i's ``salt(16) || block`` sits at ``share_data + i * (16 +
  block_size)``, the last block being the tail's size; then the whole block
  hash tree; then the end.
- Readers always use the offsets table, never the writer's constants.
  :func:`parse_mdmf_share` requires the offsets in body order, requires the
  share-data area to be exactly what k, the segment size and the data length
  imply, and ignores bytes after the end offset.
- The writer reserves room for the body before the share data exactly as
  Tahoe does: ``123 + 1220 + 260 + 292 + 272 = 2167``, so share data starts
  at 2167. :func:`pack_mdmf_share` raises ShareFormatError if the encrypted
  key, share hash chain, signature and verification key together do not fit
  before 2167 (more than 2044 bytes): a share Tahoe would never write. With
  RSA-2048 keys and N <= 255 (at most 8 chain entries) they always fit.
- Every parse error is a :class:`~grid.errors.ShareFormatError`.
"""

import struct

import attrs

from grid.errors import ShareFormatError
from grid.formats.mutable_common import (
    MDMF_VERSION,
    UINT64_MAX,
    ShareHashChain,
    check_encoding_parameters,
    check_hash_list,
    check_ordered_offsets,
    check_share_hash_chain,
    check_sized_bytes,
    check_uint,
    pack_hash_list,
    pack_share_hash_chain,
    parse_hash_list,
    parse_share_hash_chain,
)
from grid.hashing import HASH_SIZE

SALT_SIZE = 16
MDMF_CHECKSTRING = struct.Struct(">BQ32s")
MDMF_SIGNED_PREFIX = struct.Struct(">BQ32sBBQQ")
MDMF_OFFSETS = struct.Struct(">QQQQQQQQ")
MDMF_HEADER = struct.Struct(">BQ32sBBQQQQQQQQQQ")
MDMF_HEADER_SIZE = MDMF_HEADER.size
MDMF_SIGNED_PREFIX_SIZE = MDMF_SIGNED_PREFIX.size
MDMF_CHECKSTRING_SIZE = MDMF_CHECKSTRING.size

RESERVED_PRIVATE_KEY_SIZE = 1220
RESERVED_SIGNATURE_SIZE = 260
RESERVED_VERIFICATION_KEY_SIZE = 292
RESERVED_SHARE_HASH_CHAIN_SIZE = 8 * 34
MDMF_SHARE_DATA_OFFSET = (
    MDMF_HEADER_SIZE
    + RESERVED_PRIVATE_KEY_SIZE
    + RESERVED_SIGNATURE_SIZE
    + RESERVED_VERIFICATION_KEY_SIZE
    + RESERVED_SHARE_HASH_CHAIN_SIZE
)


@attrs.frozen
class MdmfOffsets:
    """Where each section of an MDMF share starts, counted from the share's byte 0."""

    enc_privkey: int
    share_hash_chain: int
    signature: int
    verification_key: int
    verification_key_end: int
    share_data: int
    block_hash_tree: int
    eof: int

    def pack(self) -> bytes:
        """The 64-byte offsets table as stored at byte 59."""
        return MDMF_OFFSETS.pack(*attrs.astuple(self))


@attrs.frozen
class MdmfGeometry:
    """How the share-data area is cut: segment count, block size, tail block size."""

    num_segments: int
    block_size: int
    tail_block_size: int

    @property
    def share_data_size(self) -> int:
        """Bytes of share data: every block with its 16-byte salt."""
        if self.num_segments == 0:
            return 0
        full = (self.num_segments - 1) * (SALT_SIZE + self.block_size)
        return full + SALT_SIZE + self.tail_block_size


def mdmf_geometry(needed_shares: int, segment_size: int, data_length: int) -> MdmfGeometry:
    """Derive the block layout from k, the segment size and the data length.

    Raises ShareFormatError if the segment size is not a multiple of k, or is
    zero while there is data.
    """
    if segment_size == 0:
        if data_length:
            raise ShareFormatError("MDMF segment size is 0 but the data length is not")
        return MdmfGeometry(0, 0, 0)
    if needed_shares < 1 or segment_size % needed_shares:
        raise ShareFormatError(
            f"MDMF segment size {segment_size} is not a multiple of k={needed_shares}"
        )
    block_size = segment_size // needed_shares
    num_segments = -(-data_length // segment_size)
    if num_segments == 0:
        return MdmfGeometry(0, block_size, 0)
    tail_segment = data_length - (num_segments - 1) * segment_size
    return MdmfGeometry(num_segments, block_size, -(-tail_segment // needed_shares))


def _to_blocks(
    blocks: tuple[tuple[bytes, bytes], ...] | list[tuple[bytes, bytes]],
) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((entry[0], entry[1]) for entry in blocks)


def _to_chain(chain: ShareHashChain | list[tuple[int, bytes]]) -> ShareHashChain:
    return tuple((entry[0], entry[1]) for entry in chain)


def _to_hash_tuple(hashes: tuple[bytes, ...] | list[bytes]) -> tuple[bytes, ...]:
    return tuple(hashes)


@attrs.frozen
class MdmfShare:
    """Every field of one MDMF share, as signed and as stored.

    ``blocks`` holds one ``(salt, block)`` pair per segment, sized as
    :func:`mdmf_geometry` says; ``share_hash_chain`` is sorted (index, hash)
    pairs without this share's leaf; ``block_hash_tree`` is the whole tree.
    Construction checks sizes, ranges and the block layout and raises
    ShareFormatError.
    """

    seqnum: int
    root_hash: bytes
    needed_shares: int
    total_shares: int
    segment_size: int
    data_length: int
    encrypted_private_key: bytes = attrs.field(repr=False)
    share_hash_chain: ShareHashChain = attrs.field(converter=_to_chain, repr=False)
    signature: bytes = attrs.field(repr=False)
    verification_key: bytes = attrs.field(repr=False)
    blocks: tuple[tuple[bytes, bytes], ...] = attrs.field(converter=_to_blocks, repr=False)
    block_hash_tree: tuple[bytes, ...] = attrs.field(converter=_to_hash_tuple, repr=False)

    def __attrs_post_init__(self) -> None:
        """Check every field against the header and the block layout."""
        check_uint(self.seqnum, UINT64_MAX, "seqnum")
        check_sized_bytes(self.root_hash, HASH_SIZE, "root hash")
        check_encoding_parameters(self.needed_shares, self.total_shares)
        check_uint(self.segment_size, UINT64_MAX, "segment size")
        check_uint(self.data_length, UINT64_MAX, "data length")
        for name in ("encrypted_private_key", "signature", "verification_key"):
            if not isinstance(getattr(self, name), bytes):
                raise ShareFormatError(f"{name} must be bytes")
        check_share_hash_chain(self.share_hash_chain)
        check_hash_list(self.block_hash_tree, "block hash tree")
        geometry = mdmf_geometry(self.needed_shares, self.segment_size, self.data_length)
        if len(self.blocks) != geometry.num_segments:
            raise ShareFormatError(
                f"MDMF share has {len(self.blocks)} blocks, expected {geometry.num_segments}"
            )
        for index, (salt, block) in enumerate(self.blocks):
            check_sized_bytes(salt, SALT_SIZE, "block salt")
            last = index == geometry.num_segments - 1
            expected = geometry.tail_block_size if last else geometry.block_size
            if not isinstance(block, bytes) or len(block) != expected:
                raise ShareFormatError(f"MDMF block {index} must be {expected} bytes")

    def signed_prefix(self) -> bytes:
        """The 59 bytes the signature covers."""
        return mdmf_signed_prefix(
            seqnum=self.seqnum,
            root_hash=self.root_hash,
            needed_shares=self.needed_shares,
            total_shares=self.total_shares,
            segment_size=self.segment_size,
            data_length=self.data_length,
        )

    def checkstring(self) -> bytes:
        """The 41-byte checkstring: version, seqnum, root hash."""
        return mdmf_checkstring(self.seqnum, self.root_hash)


@attrs.frozen
class MdmfHeader:
    """The 123-byte header of an MDMF share: the signed fields and the offsets."""

    seqnum: int
    root_hash: bytes
    needed_shares: int
    total_shares: int
    segment_size: int
    data_length: int
    offsets: MdmfOffsets

    def geometry(self) -> MdmfGeometry:
        """The block layout these parameters imply."""
        return mdmf_geometry(self.needed_shares, self.segment_size, self.data_length)

    def block_location(self, segment: int) -> tuple[int, int]:
        """Return (offset in the share, length) of segment ``segment``'s salt and block."""
        geometry = self.geometry()
        if not 0 <= segment < geometry.num_segments:
            raise ShareFormatError(
                f"segment {segment} is out of range (the share has {geometry.num_segments})"
            )
        offset = self.offsets.share_data + segment * (SALT_SIZE + geometry.block_size)
        last = segment == geometry.num_segments - 1
        return offset, SALT_SIZE + (geometry.tail_block_size if last else geometry.block_size)


def mdmf_signed_prefix(
    *,
    seqnum: int,
    root_hash: bytes,
    needed_shares: int,
    total_shares: int,
    segment_size: int,
    data_length: int,
) -> bytes:
    """Pack the 59-byte MDMF signable prefix ``">BQ32sBBQQ"`` (version 1 first)."""
    check_uint(seqnum, UINT64_MAX, "seqnum")
    check_sized_bytes(root_hash, HASH_SIZE, "root hash")
    check_encoding_parameters(needed_shares, total_shares)
    check_uint(segment_size, UINT64_MAX, "segment size")
    check_uint(data_length, UINT64_MAX, "data length")
    return MDMF_SIGNED_PREFIX.pack(
        MDMF_VERSION, seqnum, root_hash, needed_shares, total_shares, segment_size, data_length
    )


def mdmf_checkstring(seqnum: int, root_hash: bytes) -> bytes:
    """Pack the 41-byte MDMF checkstring ``">BQ32s"`` (version 1 first)."""
    check_uint(seqnum, UINT64_MAX, "seqnum")
    check_sized_bytes(root_hash, HASH_SIZE, "root hash")
    return MDMF_CHECKSTRING.pack(MDMF_VERSION, seqnum, root_hash)


def mdmf_layout(share: MdmfShare) -> MdmfOffsets:
    """Compute the offsets :func:`pack_mdmf_share` writes for ``share``.

    Raises ShareFormatError if the body does not fit the space Tahoe reserves
    before the share data at 2167.
    """
    share_hash_chain = MDMF_HEADER_SIZE + len(share.encrypted_private_key)
    signature = share_hash_chain + len(pack_share_hash_chain(share.share_hash_chain))
    verification_key = signature + len(share.signature)
    verification_key_end = verification_key + len(share.verification_key)
    if verification_key_end > MDMF_SHARE_DATA_OFFSET:
        raise ShareFormatError(
            f"MDMF key, hash chain, signature and verification key take "
            f"{verification_key_end - MDMF_HEADER_SIZE} bytes, more than the "
            f"{MDMF_SHARE_DATA_OFFSET - MDMF_HEADER_SIZE} Tahoe reserves"
        )
    share_data_size = sum(SALT_SIZE + len(block) for _salt, block in share.blocks)
    block_hash_tree = MDMF_SHARE_DATA_OFFSET + share_data_size
    eof = block_hash_tree + HASH_SIZE * len(share.block_hash_tree)
    return MdmfOffsets(
        enc_privkey=MDMF_HEADER_SIZE,
        share_hash_chain=share_hash_chain,
        signature=signature,
        verification_key=verification_key,
        verification_key_end=verification_key_end,
        share_data=MDMF_SHARE_DATA_OFFSET,
        block_hash_tree=block_hash_tree,
        eof=eof,
    )


def pack_mdmf_share(share: MdmfShare) -> bytes:
    """Serialize an MDMF share exactly as Tahoe lays it out (share data at 2167).

    Raises ShareFormatError if the body does not fit the reserved space.
    """
    offsets = mdmf_layout(share)
    return b"".join(
        [
            share.signed_prefix(),
            offsets.pack(),
            share.encrypted_private_key,
            pack_share_hash_chain(share.share_hash_chain),
            share.signature,
            share.verification_key,
            bytes(offsets.share_data - offsets.verification_key_end),
            *(salt + block for salt, block in share.blocks),
            pack_hash_list(share.block_hash_tree),
        ]
    )


def _offset_order(offsets: MdmfOffsets) -> list[tuple[str, int]]:
    return [
        ("header end", MDMF_HEADER_SIZE),
        ("encrypted private key", offsets.enc_privkey),
        ("share hash chain", offsets.share_hash_chain),
        ("signature", offsets.signature),
        ("verification key", offsets.verification_key),
        ("verification key end", offsets.verification_key_end),
        ("share data", offsets.share_data),
        ("block hash tree", offsets.block_hash_tree),
        ("end of share", offsets.eof),
    ]


def parse_mdmf_header(first_bytes: bytes) -> MdmfHeader:
    """Parse the 123-byte header at the start of ``first_bytes`` (more may follow).

    Checks the version byte, the encoding parameters, the block layout and
    that the offsets are in body order; does not check that the sections are
    present.
    """
    if len(first_bytes) < MDMF_HEADER_SIZE:
        raise ShareFormatError(
            f"MDMF header needs {MDMF_HEADER_SIZE} bytes, got {len(first_bytes)}"
        )
    (
        version,
        seqnum,
        root_hash,
        needed_shares,
        total_shares,
        segment_size,
        data_length,
        *offset_values,
    ) = MDMF_HEADER.unpack_from(first_bytes)
    if version != MDMF_VERSION:
        raise ShareFormatError(f"not an MDMF share: version byte {version}")
    check_encoding_parameters(needed_shares, total_shares)
    offsets = MdmfOffsets(*offset_values)
    check_ordered_offsets(_offset_order(offsets), UINT64_MAX)
    header = MdmfHeader(
        seqnum=seqnum,
        root_hash=root_hash,
        needed_shares=needed_shares,
        total_shares=total_shares,
        segment_size=segment_size,
        data_length=data_length,
        offsets=offsets,
    )
    share_data_size = header.geometry().share_data_size
    if offsets.block_hash_tree - offsets.share_data != share_data_size:
        raise ShareFormatError(
            f"MDMF share data area is {offsets.block_hash_tree - offsets.share_data} bytes, "
            f"but k, segment size and data length imply {share_data_size}"
        )
    return header


def parse_mdmf_share(data: bytes) -> MdmfShare:
    """Parse a whole MDMF share (the container's data, from byte 0).

    Raises ShareFormatError if the header is malformed, the offsets are out
    of order or point past the data, or a section has a ragged length.
    """
    header = parse_mdmf_header(data)
    offsets = header.offsets
    check_ordered_offsets(_offset_order(offsets), len(data))
    blocks = []
    for segment in range(header.geometry().num_segments):
        start, length = header.block_location(segment)
        blocks.append((data[start : start + SALT_SIZE], data[start + SALT_SIZE : start + length]))
    return MdmfShare(
        seqnum=header.seqnum,
        root_hash=header.root_hash,
        needed_shares=header.needed_shares,
        total_shares=header.total_shares,
        segment_size=header.segment_size,
        data_length=header.data_length,
        encrypted_private_key=data[offsets.enc_privkey : offsets.share_hash_chain],
        share_hash_chain=parse_share_hash_chain(data[offsets.share_hash_chain : offsets.signature]),
        signature=data[offsets.signature : offsets.verification_key],
        verification_key=data[offsets.verification_key : offsets.verification_key_end],
        blocks=blocks,
        block_hash_tree=parse_hash_list(
            data[offsets.block_hash_tree : offsets.eof], "block hash tree"
        ),
    )
