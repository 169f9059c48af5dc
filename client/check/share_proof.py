"""Proving a whole CHK share against a verify cap: pure, no I/O.

Rules: the only trust anchor is the verify cap (a read cap gives its verify
cap; the key is never needed). A share is good only when

- its URI extension block (UEB) hashes to the cap's UEB hash and agrees with
  the cap's k, N and size;
- its hash trees are sized for the UEB's segment count;
- its share hash chain proves its block-tree root against the UEB's
  ``share_root_hash``;
- its whole block hash tree, and its whole crypttext hash tree, agree node
  by node with their proven roots (each parent is the hash of its children);
- every block hashes to its leaf of the proven block tree.

A check that fails because of the share's bytes raises
:class:`~client.check.errors.CorruptShareError` naming what was wrong. A UEB
with the cap's hash that contradicts the cap is the cap's fault, not the
share's, and raises :class:`~client.check.errors.CapContradictionError`.
"""

from collections.abc import Sequence

from client.check.errors import CapContradictionError, CorruptShareError
from client.download.verifier import SegmentGeometry
from grid.caps import CHKVerifyCap
from grid.errors import IntegrityError, MissingHashesError, ShareFormatError
from grid.formats.immutable_share import ShareLayout
from grid.formats.uri_extension import (
    UriExtension,
    check_consistent_with_cap,
    parse_uri_extension,
)
from grid.hashing import block_hash, internal_node_hash, uri_extension_hash
from grid.hashtree import IncompleteHashTree, leaf_node, tree_node_count


class FileProof:
    """The verify cap of one file and, once a share showed it, its proven UEB."""

    def __init__(self, cap: CHKVerifyCap) -> None:
        """Trust only ``cap`` so far."""
        self.cap = cap
        self.packed_uri_extension: bytes | None = None
        self.uri_extension: UriExtension | None = None
        self.geometry: SegmentGeometry | None = None

    def accept_uri_extension(self, packed: bytes) -> UriExtension:
        """Prove a share's UEB against the cap; the first one proven is kept."""
        if uri_extension_hash(packed) != self.cap.uri_extension_hash:
            raise CorruptShareError("its URI extension block does not hash to the cap's UEB hash")
        if self.uri_extension is not None:
            return self.uri_extension
        cap = self.cap
        try:
            ueb = parse_uri_extension(packed)
            check_consistent_with_cap(
                ueb, needed_shares=cap.needed_shares, total_shares=cap.total_shares, size=cap.size
            )
        except ShareFormatError as error:
            raise CapContradictionError(
                f"the cap's URI extension block is unusable: {error}"
            ) from None
        self.packed_uri_extension = packed
        self.uri_extension = ueb
        self.geometry = SegmentGeometry(
            size=cap.size,
            segment_size=ueb.segment_size,
            num_segments=ueb.num_segments,
            block_size=ueb.block_size,
            tail_block_size=ueb.tail_block_size,
        )
        return ueb

    def check_layout(self, layout: ShareLayout) -> None:
        """Refuse a share whose hash trees or data region do not fit the proven UEB."""
        ueb, geometry = self.proven()
        if layout.tree_node_count != tree_node_count(ueb.num_segments):
            raise CorruptShareError(
                f"its hash trees have {layout.tree_node_count} nodes, "
                f"not {tree_node_count(ueb.num_segments)} for {ueb.num_segments} segments"
            )
        data_size = (geometry.num_segments - 1) * geometry.block_size + geometry.tail_block_size
        if layout.plaintext_hash_tree - layout.data < data_size:
            raise CorruptShareError(
                f"its data region holds {layout.plaintext_hash_tree - layout.data} bytes, "
                f"not the {data_size} its blocks need"
            )

    def prove_share_root(self, shnum: int, chain: Sequence[tuple[int, bytes]]) -> bytes:
        """Return share ``shnum``'s block-tree root once its hash chain proves it."""
        ueb, _ = self.proven()
        total = self.cap.total_shares
        nodes = dict(chain)
        root = nodes.get(leaf_node(total, shnum))
        if root is None:
            raise CorruptShareError(f"its share hash chain lacks its own leaf (share {shnum})")
        tree = IncompleteHashTree(total, ueb.share_root_hash)
        try:
            tree.add_hashes(nodes)
        except (IntegrityError, MissingHashesError) as error:
            raise CorruptShareError(f"its share hash chain fails: {error}") from None
        return root

    def proven(self) -> tuple[UriExtension, SegmentGeometry]:
        """The proven UEB and the segment geometry it gives."""
        if self.uri_extension is None or self.geometry is None:
            raise RuntimeError("no URI extension block has been proven yet")
        return self.uri_extension, self.geometry


def check_whole_tree(nodes: Sequence[bytes], root: bytes, what: str) -> None:
    """Raise CorruptShareError unless ``nodes`` is a consistent tree under ``root``."""
    if not nodes or nodes[0] != root:
        raise CorruptShareError(f"its {what} root is not the proven root")
    for node in range((len(nodes) - 1) // 2):
        if nodes[node] != internal_node_hash(nodes[2 * node + 1], nodes[2 * node + 2]):
            raise CorruptShareError(f"its {what} node {node} is not the hash of its children")


def check_block(block_tree: Sequence[bytes], num_segments: int, index: int, block: bytes) -> None:
    """Raise CorruptShareError unless ``block`` is the leaf ``index`` of a proven block tree."""
    if block_hash(block) != block_tree[leaf_node(num_segments, index)]:
        raise CorruptShareError(f"block {index} fails its block hash tree")
