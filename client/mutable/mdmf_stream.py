"""Encoding an MDMF version a segment at a time, so a writer never holds the whole file (pure).

Rules:

- Every share's layout is fixed before the first segment is coded: k, N,
  the segment size and the data length place segment i's ``salt || block``
  at ``2167 + i * (16 + block size)`` and the block hash tree right after
  the share data (:class:`MdmfLayout`). Only the front (header, offsets,
  encrypted key, share hash chain, signature, verification key: the 2167
  bytes before the share data) waits for the last segment.
- The caller gives each segment its fresh salt, in segment order, as
  :func:`~client.mutable.encode.encode_mdmf` draws them; with the same salts
  the bytes written are :func:`~grid.formats.mdmf.pack_mdmf_share`'s, byte
  for byte.
- A coded segment (:class:`CodedSegment`) is N pieces to write and N block
  hashes to keep; a writer drops the pieces once written, so what it keeps
  for the whole file is 32 bytes per segment per share.
- :func:`finish_mdmf` builds each share's block hash tree from those hashes,
  then the share hash tree, the root hash, the signature and the fronts.
- :func:`in_progress_checkstring` is what a share carries at its start while
  it is being written: version 1, the new seqnum, and a marker derived from
  segment 0's fresh salt in place of the root hash. No share verifies in
  that state, and two writers that chose the same seqnum carry different
  markers, so neither passes the other's test vectors.
"""

from collections.abc import Sequence

import attrs

from client.mutable.encode import (
    encode_mutable_segment,
    next_multiple,
    require_private_key,
    share_hash_chain,
)
from client.mutable.keys import MutableKeys
from client.mutable.servermap import VersionId
from grid.crypto.rsa import sign
from grid.formats.mdmf import (
    MDMF_HEADER_SIZE,
    MDMF_SHARE_DATA_OFFSET,
    SALT_SIZE,
    MdmfGeometry,
    MdmfOffsets,
    mdmf_checkstring,
    mdmf_geometry,
    mdmf_signed_prefix,
)
from grid.formats.mutable_common import pack_share_hash_chain
from grid.hashing import HASH_SIZE, block_hash, tagged_hash
from grid.hashtree import build_tree, tree_node_count

IN_PROGRESS_TAG = b"grid_mdmf_publish_in_progress_v1"


@attrs.frozen
class MdmfLayout:
    """Where each segment of a new MDMF version goes, known before any is coded."""

    needed_shares: int
    total_shares: int
    segment_size: int
    data_length: int

    @property
    def geometry(self) -> MdmfGeometry:
        """The block layout: segment count, block size, tail block size."""
        return mdmf_geometry(self.needed_shares, self.segment_size, self.data_length)

    @property
    def num_segments(self) -> int:
        """How many segments the file has (0 when it is empty)."""
        return self.geometry.num_segments

    def segment_span(self, segment: int) -> tuple[int, int]:
        """The plaintext ``(offset, length)`` of one segment."""
        start = segment * self.segment_size
        return start, min(self.segment_size, self.data_length - start)

    def piece_offset(self, segment: int) -> int:
        """Where a segment's ``salt || block`` starts in every share."""
        return MDMF_SHARE_DATA_OFFSET + segment * (SALT_SIZE + self.geometry.block_size)

    @property
    def block_hash_tree_offset(self) -> int:
        """Where the block hash tree starts in every share."""
        return MDMF_SHARE_DATA_OFFSET + self.geometry.share_data_size


def mdmf_layout_for(needed: int, total: int, data_length: int, max_segment_size: int) -> MdmfLayout:
    """The layout of a new MDMF version: segments of ``max_segment_size`` rounded up to k."""
    return MdmfLayout(needed, total, next_multiple(max_segment_size, needed), data_length)


@attrs.frozen
class CodedSegment:
    """One segment coded: each share's ``salt || block`` and its block hash."""

    pieces: tuple[bytes, ...] = attrs.field(repr=False)
    leaves: tuple[bytes, ...] = attrs.field(repr=False)


def code_mdmf_segment(
    readkey: bytes, salt: bytes, plaintext: bytes, needed: int, total: int
) -> CodedSegment:
    """Encrypt one segment under ``salt``'s data key and code it into N salted pieces (CPU)."""
    pieces = tuple(
        salt + block for block in encode_mutable_segment(readkey, salt, plaintext, needed, total)
    )
    return CodedSegment(pieces, tuple(block_hash(piece) for piece in pieces))


@attrs.frozen
class MdmfEnds:
    """What a version needs once its blocks are coded: identity, fronts and block hash trees."""

    version: VersionId
    fronts: tuple[bytes, ...] = attrs.field(repr=False)
    block_hash_trees: tuple[bytes, ...] = attrs.field(repr=False)


def mdmf_front(
    signed_prefix: bytes,
    *,
    encrypted_private_key: bytes,
    packed_share_hash_chain: bytes,
    signature: bytes,
    verification_key: bytes,
    share_data_size: int,
    block_hash_tree_size: int,
) -> bytes:
    """The 2167 bytes of a share before its data, laid out as Tahoe lays them out.

    Header (signed prefix and offsets), encrypted key, share hash chain,
    signature and verification key, tightly packed, zero-filled to 2167.
    """
    chain_at = MDMF_HEADER_SIZE + len(encrypted_private_key)
    signature_at = chain_at + len(packed_share_hash_chain)
    key_at = signature_at + len(signature)
    tree_at = MDMF_SHARE_DATA_OFFSET + share_data_size
    offsets = MdmfOffsets(
        enc_privkey=MDMF_HEADER_SIZE,
        share_hash_chain=chain_at,
        signature=signature_at,
        verification_key=key_at,
        verification_key_end=key_at + len(verification_key),
        share_data=MDMF_SHARE_DATA_OFFSET,
        block_hash_tree=tree_at,
        eof=tree_at + block_hash_tree_size,
    )
    return b"".join(
        [
            signed_prefix,
            offsets.pack(),
            encrypted_private_key,
            packed_share_hash_chain,
            signature,
            verification_key,
        ]
    ).ljust(MDMF_SHARE_DATA_OFFSET, b"\x00")


def finish_mdmf(
    keys: MutableKeys, layout: MdmfLayout, seqnum: int, leaves: Sequence[Sequence[bytes]]
) -> MdmfEnds:
    """Sign the version with block hashes ``leaves[shnum][segment]``; build its fronts (CPU)."""
    private_key = require_private_key(keys)
    total = layout.total_shares
    block_trees = [build_tree(leaves[shnum]) for shnum in range(total)]
    share_tree = build_tree([tree[0] for tree in block_trees])
    root_hash = share_tree[0]
    prefix = mdmf_signed_prefix(
        seqnum=seqnum,
        root_hash=root_hash,
        needed_shares=layout.needed_shares,
        total_shares=total,
        segment_size=layout.segment_size,
        data_length=layout.data_length,
    )
    signature = sign(private_key, prefix)
    encrypted_key = keys.encrypted_private_key()
    verification_key = private_key.public_key.spki_der
    share_data_size = layout.geometry.share_data_size
    fronts = tuple(
        mdmf_front(
            prefix,
            encrypted_private_key=encrypted_key,
            packed_share_hash_chain=pack_share_hash_chain(
                share_hash_chain(share_tree, total, shnum)
            ),
            signature=signature,
            verification_key=verification_key,
            share_data_size=share_data_size,
            block_hash_tree_size=HASH_SIZE * tree_node_count(layout.num_segments),
        )
        for shnum in range(total)
    )
    version = VersionId(
        seqnum,
        root_hash,
        None,
        layout.needed_shares,
        total,
        layout.segment_size,
        layout.data_length,
        share_version=1,
    )
    return MdmfEnds(version, fronts, tuple(b"".join(tree) for tree in block_trees))


def in_progress_checkstring(seqnum: int, first_salt: bytes) -> bytes:
    """The checkstring a share carries while this writer is still writing it."""
    return mdmf_checkstring(seqnum, tagged_hash(IN_PROGRESS_TAG, first_salt))
