"""The SDMF mutable share format (version byte 0): one segment, one block.

Rules:

- The header is ``">BQ32s16s BBQQ LLLLQQ"`` (107 bytes): version, seqnum,
  root hash, salt (the IV of the one segment), k, N, segment size, data
  length, then the offsets of the signature, share hash chain, block hash
  tree, share data (32-bit), encrypted private key and end of share (64-bit).
- The signed prefix is the first 75 bytes (everything before the offsets);
  the checkstring, which test vectors compare, is the first 57 (version,
  seqnum, root hash, salt).
- After the header, tightly packed in this order: verification key (SPKI
  DER), signature, share hash chain, block hash tree, share data (this
  share's one block), encrypted private key. The verification key runs from
  107 to the signature offset.
- :func:`parse_sdmf_share` slices by the offsets table, requires the offsets
  to be in that order, and ignores bytes after the end offset (a slot may
  hold a longer, older share's tail). :func:`pack_sdmf_share` writes the
  sections tightly, so it reproduces a Tahoe-written share byte for byte.
- Every parse error is a :class:`~grid.errors.ShareFormatError`.
"""

import struct

import attrs

from grid.errors import ShareFormatError
from grid.formats.mutable_common import (
    SDMF_VERSION,
    UINT32_MAX,
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
SDMF_CHECKSTRING = struct.Struct(">BQ32s16s")
SDMF_SIGNED_PREFIX = struct.Struct(">BQ32s16sBBQQ")
SDMF_OFFSETS = struct.Struct(">LLLLQQ")
SDMF_HEADER = struct.Struct(">BQ32s16sBBQQLLLLQQ")
SDMF_HEADER_SIZE = SDMF_HEADER.size
SDMF_SIGNED_PREFIX_SIZE = SDMF_SIGNED_PREFIX.size
SDMF_CHECKSTRING_SIZE = SDMF_CHECKSTRING.size


@attrs.frozen
class SdmfOffsets:
    """Where each section of an SDMF share starts, counted from the share's byte 0."""

    signature: int
    share_hash_chain: int
    block_hash_tree: int
    share_data: int
    enc_privkey: int
    eof: int


@attrs.frozen
class SdmfHeader:
    """The 107-byte header of an SDMF share: the signed fields and the offsets."""

    seqnum: int
    root_hash: bytes
    salt: bytes
    needed_shares: int
    total_shares: int
    segment_size: int
    data_length: int
    offsets: SdmfOffsets

    def signed_prefix(self) -> bytes:
        """The 75 bytes the signature covers."""
        return sdmf_signed_prefix(
            seqnum=self.seqnum,
            root_hash=self.root_hash,
            salt=self.salt,
            needed_shares=self.needed_shares,
            total_shares=self.total_shares,
            segment_size=self.segment_size,
            data_length=self.data_length,
        )


def _to_hash_tuple(hashes: tuple[bytes, ...] | list[bytes]) -> tuple[bytes, ...]:
    return tuple(hashes)


def _to_chain(chain: ShareHashChain | list[tuple[int, bytes]]) -> ShareHashChain:
    return tuple((entry[0], entry[1]) for entry in chain)


@attrs.frozen
class SdmfShare:
    """Every field of one SDMF share, as signed and as stored.

    ``verification_key`` is the SPKI DER of the file's RSA public key;
    ``share_hash_chain`` is sorted (index, hash) pairs without this share's
    leaf; ``block_hash_tree`` is the whole tree (one node for one segment);
    ``share_data`` is this share's block. Construction checks sizes and
    ranges and raises ShareFormatError.
    """

    seqnum: int
    root_hash: bytes
    salt: bytes
    needed_shares: int
    total_shares: int
    segment_size: int
    data_length: int
    verification_key: bytes = attrs.field(repr=False)
    signature: bytes = attrs.field(repr=False)
    share_hash_chain: ShareHashChain = attrs.field(converter=_to_chain, repr=False)
    block_hash_tree: tuple[bytes, ...] = attrs.field(converter=_to_hash_tuple, repr=False)
    share_data: bytes = attrs.field(repr=False)
    encrypted_private_key: bytes = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        """Check every field against what the header can store."""
        check_uint(self.seqnum, UINT64_MAX, "seqnum")
        check_sized_bytes(self.root_hash, HASH_SIZE, "root hash")
        check_sized_bytes(self.salt, SALT_SIZE, "salt")
        check_encoding_parameters(self.needed_shares, self.total_shares)
        check_uint(self.segment_size, UINT64_MAX, "segment size")
        check_uint(self.data_length, UINT64_MAX, "data length")
        for name in ("verification_key", "signature", "share_data", "encrypted_private_key"):
            if not isinstance(getattr(self, name), bytes):
                raise ShareFormatError(f"{name} must be bytes")
        check_share_hash_chain(self.share_hash_chain)
        check_hash_list(self.block_hash_tree, "block hash tree")

    def signed_prefix(self) -> bytes:
        """The 75 bytes the signature covers."""
        return sdmf_signed_prefix(
            seqnum=self.seqnum,
            root_hash=self.root_hash,
            salt=self.salt,
            needed_shares=self.needed_shares,
            total_shares=self.total_shares,
            segment_size=self.segment_size,
            data_length=self.data_length,
        )

    def checkstring(self) -> bytes:
        """The 57-byte checkstring: version, seqnum, root hash, salt."""
        return sdmf_checkstring(self.seqnum, self.root_hash, self.salt)


def sdmf_signed_prefix(
    *,
    seqnum: int,
    root_hash: bytes,
    salt: bytes,
    needed_shares: int,
    total_shares: int,
    segment_size: int,
    data_length: int,
) -> bytes:
    """Pack the 75-byte SDMF signed prefix ``">BQ32s16sBBQQ"`` (version 0 first)."""
    check_uint(seqnum, UINT64_MAX, "seqnum")
    check_sized_bytes(root_hash, HASH_SIZE, "root hash")
    check_sized_bytes(salt, SALT_SIZE, "salt")
    check_encoding_parameters(needed_shares, total_shares)
    check_uint(segment_size, UINT64_MAX, "segment size")
    check_uint(data_length, UINT64_MAX, "data length")
    return SDMF_SIGNED_PREFIX.pack(
        SDMF_VERSION,
        seqnum,
        root_hash,
        salt,
        needed_shares,
        total_shares,
        segment_size,
        data_length,
    )


def sdmf_checkstring(seqnum: int, root_hash: bytes, salt: bytes) -> bytes:
    """Pack the 57-byte SDMF checkstring ``">BQ32s16s"`` (version 0 first)."""
    check_uint(seqnum, UINT64_MAX, "seqnum")
    check_sized_bytes(root_hash, HASH_SIZE, "root hash")
    check_sized_bytes(salt, SALT_SIZE, "salt")
    return SDMF_CHECKSTRING.pack(SDMF_VERSION, seqnum, root_hash, salt)


def sdmf_layout(share: SdmfShare) -> SdmfOffsets:
    """Compute the offsets :func:`pack_sdmf_share` writes for ``share``."""
    signature = SDMF_HEADER_SIZE + len(share.verification_key)
    share_hash_chain = signature + len(share.signature)
    block_hash_tree = share_hash_chain + len(pack_share_hash_chain(share.share_hash_chain))
    share_data = block_hash_tree + HASH_SIZE * len(share.block_hash_tree)
    enc_privkey = share_data + len(share.share_data)
    eof = enc_privkey + len(share.encrypted_private_key)
    if share_data > UINT32_MAX:
        raise ShareFormatError("SDMF share too large: share data offset exceeds 32 bits")
    return SdmfOffsets(signature, share_hash_chain, block_hash_tree, share_data, enc_privkey, eof)


def pack_sdmf_share(share: SdmfShare) -> bytes:
    """Serialize an SDMF share: header, then the sections tightly packed."""
    offsets = sdmf_layout(share)
    offsets_bytes = SDMF_OFFSETS.pack(
        offsets.signature,
        offsets.share_hash_chain,
        offsets.block_hash_tree,
        offsets.share_data,
        offsets.enc_privkey,
        offsets.eof,
    )
    return b"".join(
        [
            share.signed_prefix(),
            offsets_bytes,
            share.verification_key,
            share.signature,
            pack_share_hash_chain(share.share_hash_chain),
            pack_hash_list(share.block_hash_tree),
            share.share_data,
            share.encrypted_private_key,
        ]
    )


def parse_sdmf_header(first_bytes: bytes) -> SdmfHeader:
    """Parse the 107-byte header at the start of ``first_bytes`` (more may follow).

    Checks the version byte, the encoding parameters and that the offsets are
    in section order; does not check that the sections are present.
    """
    if len(first_bytes) < SDMF_HEADER_SIZE:
        raise ShareFormatError(
            f"SDMF header needs {SDMF_HEADER_SIZE} bytes, got {len(first_bytes)}"
        )
    (
        version,
        seqnum,
        root_hash,
        salt,
        needed_shares,
        total_shares,
        segment_size,
        data_length,
        *offset_values,
    ) = SDMF_HEADER.unpack_from(first_bytes)
    if version != SDMF_VERSION:
        raise ShareFormatError(f"not an SDMF share: version byte {version}")
    check_encoding_parameters(needed_shares, total_shares)
    offsets = SdmfOffsets(*offset_values)
    check_ordered_offsets(_offset_order(offsets), UINT64_MAX)
    return SdmfHeader(
        seqnum=seqnum,
        root_hash=root_hash,
        salt=salt,
        needed_shares=needed_shares,
        total_shares=total_shares,
        segment_size=segment_size,
        data_length=data_length,
        offsets=offsets,
    )


def _offset_order(offsets: SdmfOffsets) -> list[tuple[str, int]]:
    return [
        ("header end", SDMF_HEADER_SIZE),
        ("signature", offsets.signature),
        ("share hash chain", offsets.share_hash_chain),
        ("block hash tree", offsets.block_hash_tree),
        ("share data", offsets.share_data),
        ("encrypted private key", offsets.enc_privkey),
        ("end of share", offsets.eof),
    ]


def parse_sdmf_share(data: bytes) -> SdmfShare:
    """Parse a whole SDMF share (the container's data, from byte 0).

    Raises ShareFormatError if the header is malformed, the offsets are out
    of order or point past the data, or a section has a ragged length.
    """
    header = parse_sdmf_header(data)
    offsets = header.offsets
    check_ordered_offsets(_offset_order(offsets), len(data))
    return SdmfShare(
        seqnum=header.seqnum,
        root_hash=header.root_hash,
        salt=header.salt,
        needed_shares=header.needed_shares,
        total_shares=header.total_shares,
        segment_size=header.segment_size,
        data_length=header.data_length,
        verification_key=data[SDMF_HEADER_SIZE : offsets.signature],
        signature=data[offsets.signature : offsets.share_hash_chain],
        share_hash_chain=parse_share_hash_chain(
            data[offsets.share_hash_chain : offsets.block_hash_tree]
        ),
        block_hash_tree=parse_hash_list(
            data[offsets.block_hash_tree : offsets.share_data], "block hash tree"
        ),
        share_data=data[offsets.share_data : offsets.enc_privkey],
        encrypted_private_key=data[offsets.enc_privkey : offsets.eof],
    )
