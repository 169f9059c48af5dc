"""Rebuilding lost CHK shares from k good ones: pure, no I/O.

Rules: a CHK file's shares are fixed by its cap (the UEB hash pins the share
tree and crypttext tree roots), so a rebuilt share must be byte for byte
the share the upload wrote. For each segment, k proven blocks are decoded
into the padded ciphertext segment and erasure-coded again into all N
blocks: the blocks of the shares being rebuilt are kept, and the hashes of
all N (and of the unpadded ciphertext) are recorded. Once every segment has
been added, in order, the crypttext tree, every block tree and the share
tree are built; unless their roots are the ones the UEB names,
:class:`~grid.errors.IntegrityError` is raised and nothing may be closed.
Each rebuilt share's trailer is then laid out as an upload lays it out:
zeros for the unused plaintext tree, the crypttext tree, its block tree,
its share hash chain (in Tahoe 1.20's order) and the UEB with its length.
"""

from collections.abc import Collection, Mapping

import attrs

from client.download.verifier import SegmentGeometry
from grid.chk_encode import share_hash_chain_order
from grid.codec import decode_segment, encode_segment
from grid.errors import IntegrityError
from grid.formats.immutable_share import (
    ShareLayout,
    pack_share_hashes,
    pack_uri_extension_field,
)
from grid.formats.uri_extension import UriExtension
from grid.hashing import block_hash, crypttext_segment_hash
from grid.hashtree import build_tree


@attrs.frozen
class RebuiltSegment:
    """One segment coded again: its hashes for all N shares, blocks for the wanted ones."""

    index: int
    crypttext_hash: bytes
    block_hashes: tuple[bytes, ...]
    blocks: Mapping[int, bytes] = attrs.field(repr=False)


def rebuild_segment(
    blocks: Mapping[int, bytes],
    *,
    index: int,
    geometry: SegmentGeometry,
    needed: int,
    total: int,
    wanted: Collection[int],
) -> RebuiltSegment:
    """Decode segment ``index`` from k blocks and code it again into the ``wanted`` blocks."""
    padded = decode_segment(blocks, needed, total)
    start, end = geometry.segment_span(index)
    coded = encode_segment(padded, needed, total)
    return RebuiltSegment(
        index=index,
        crypttext_hash=crypttext_segment_hash(memoryview(padded)[: end - start]),
        block_hashes=tuple(block_hash(block) for block in coded),
        blocks={shnum: coded[shnum] for shnum in sorted(wanted)},
    )


class ShareRebuilder:
    """Collects rebuilt segments in order and lays out the rebuilt shares' trailers."""

    def __init__(
        self,
        *,
        layout: ShareLayout,
        uri_extension: UriExtension,
        packed_uri_extension: bytes,
        total_shares: int,
    ) -> None:
        """Rebuild shares laid out as ``layout``, for the file the UEB describes."""
        self.layout = layout
        self._ueb = uri_extension
        self._packed_ueb = packed_uri_extension
        self._total = total_shares
        self._crypttext_hashes: list[bytes] = []
        self._block_hashes: list[list[bytes]] = [[] for _ in range(total_shares)]

    def block_offset(self, index: int) -> int:
        """Where segment ``index``'s block sits in every share."""
        return self.layout.data + index * self._ueb.block_size

    def add_segment(self, segment: RebuiltSegment) -> None:
        """Take the next segment's hashes; segments must arrive in order."""
        if segment.index != len(self._crypttext_hashes):
            raise ValueError(f"expected segment {len(self._crypttext_hashes)}, got {segment.index}")
        self._crypttext_hashes.append(segment.crypttext_hash)
        for shnum, digest in enumerate(segment.block_hashes):
            self._block_hashes[shnum].append(digest)

    def trailers(self, shnums: Collection[int]) -> dict[int, bytes]:
        """Prove the rebuilt trees against the UEB and lay out each share's trailer."""
        if len(self._crypttext_hashes) != self._ueb.num_segments:
            raise ValueError(
                f"{len(self._crypttext_hashes)} of {self._ueb.num_segments} segments were added"
            )
        crypttext_tree = build_tree(self._crypttext_hashes)
        if crypttext_tree[0] != self._ueb.crypttext_root_hash:
            raise IntegrityError("the rebuilt ciphertext does not match the UEB's crypttext root")
        block_trees = [build_tree(hashes) for hashes in self._block_hashes]
        share_tree = build_tree([tree[0] for tree in block_trees])
        if share_tree[0] != self._ueb.share_root_hash:
            raise IntegrityError("the rebuilt blocks do not match the UEB's share root")
        layout = self.layout
        zeros = bytes(layout.crypttext_hash_tree - layout.plaintext_hash_tree)
        crypttext_region = b"".join(crypttext_tree)
        return {
            shnum: b"".join(
                (
                    zeros,
                    crypttext_region,
                    *block_trees[shnum],
                    pack_share_hashes(
                        [
                            (node, share_tree[node])
                            for node in share_hash_chain_order(self._total, shnum)
                        ]
                    ),
                    pack_uri_extension_field(layout.version, self._packed_ueb),
                )
            )
            for shnum in sorted(shnums)
        }
