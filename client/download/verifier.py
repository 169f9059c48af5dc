"""The trust anchors of one CHK download: the cap, its UEB and the file-wide hash trees.

Rules (pure: no I/O, no clock). Nothing a server sends is used before it is
linked to the cap:

- the URI extension block (UEB) must hash to the cap's UEB hash; a UEB
  with the right hash that disagrees with the cap's k, N or size is the
  cap's fault, not a server's, and raises :class:`CapMismatchError`;
- a share's block-tree root is its leaf of the share hash tree, proven by
  the share's hash chain against the UEB's ``share_root_hash``;
- a ciphertext segment is proven by the crypttext hash tree against the
  UEB's ``crypttext_root_hash``.

A check that fails because of what one share sent raises
:class:`CorruptShareError`, naming what was wrong, so the caller can tell
that share's server. The trees only ever grow with proven nodes.
"""

import attrs

from client.download.errors import CapMismatchError, CorruptShareError, UriExtensionMismatchError
from grid.caps import CHKReadCap
from grid.chk_plan import DEFAULT_MAX_SEGMENT_SIZE, ChkPlan
from grid.errors import IntegrityError, MissingHashesError, ShareFormatError
from grid.formats.immutable_share import ShareLayout, num_share_hashes, plan_share_layout
from grid.formats.uri_extension import (
    UriExtension,
    check_consistent_with_cap,
    parse_uri_extension,
)
from grid.hashing import crypttext_segment_hash, uri_extension_hash
from grid.hashtree import IncompleteHashTree, leaf_node, tree_node_count

TYPICAL_UEB_LENGTH = 330


@attrs.frozen
class SegmentGeometry:
    """Where segments and blocks fall, from a verified UEB and the cap's size."""

    size: int
    segment_size: int
    num_segments: int
    block_size: int
    tail_block_size: int

    def segment_span(self, index: int) -> tuple[int, int]:
        """Return the file byte range ``[start, end)`` of segment ``index``."""
        start = index * self.segment_size
        return start, min(start + self.segment_size, self.size)

    def segments_covering(self, start: int, end: int) -> range:
        """Return the segment indexes holding bytes ``[start, end)`` (``end > start``)."""
        return range(start // self.segment_size, (end - 1) // self.segment_size + 1)


class FileVerifier:
    """Checks UEBs, share hash chains and ciphertext segments for one cap."""

    def __init__(self, cap: CHKReadCap) -> None:
        """Trust only ``cap`` so far."""
        self.cap = cap
        self.uri_extension: UriExtension | None = None
        self.uri_extension_length: int | None = None
        self.geometry: SegmentGeometry | None = None
        self._share_tree: IncompleteHashTree | None = None
        self._crypttext_tree: IncompleteHashTree | None = None

    def predicted_layout(self) -> ShareLayout:
        """The share layout an uploader like Tahoe's would have written, as best known.

        Exact once a UEB is verified; before that, a guess from the cap with
        the default maximum segment size and a typical UEB length.
        """
        cap = self.cap
        if self.uri_extension is None or self.uri_extension_length is None:
            max_segment_size, ueb_length = DEFAULT_MAX_SEGMENT_SIZE, TYPICAL_UEB_LENGTH
        else:
            max_segment_size = self.uri_extension.segment_size
            ueb_length = self.uri_extension_length
        plan = ChkPlan(
            size=cap.size,
            needed=cap.needed_shares,
            total=cap.total_shares,
            max_segment_size=max_segment_size,
        )
        return plan_share_layout(
            block_size=plan.block_size,
            data_size=plan.share_size,
            num_segments=plan.num_segments,
            num_share_hashes=num_share_hashes(cap.total_shares),
            ueb_length=ueb_length,
        )

    def accept_uri_extension(self, packed: bytes) -> UriExtension:
        """Verify a share's UEB against the cap and, the first time, adopt it."""
        if uri_extension_hash(packed) != self.cap.uri_extension_hash:
            raise UriExtensionMismatchError(
                "its URI extension block does not hash to the cap's UEB hash"
            )
        if self.uri_extension is not None:
            return self.uri_extension
        cap = self.cap
        try:
            ueb = parse_uri_extension(packed)
            check_consistent_with_cap(
                ueb, needed_shares=cap.needed_shares, total_shares=cap.total_shares, size=cap.size
            )
        except ShareFormatError as error:
            raise CapMismatchError(f"the cap's URI extension block is unusable: {error}") from None
        self.uri_extension = ueb
        self.uri_extension_length = len(packed)
        self.geometry = SegmentGeometry(
            size=cap.size,
            segment_size=ueb.segment_size,
            num_segments=ueb.num_segments,
            block_size=ueb.block_size,
            tail_block_size=ueb.tail_block_size,
        )
        self._share_tree = IncompleteHashTree(cap.total_shares, ueb.share_root_hash)
        self._crypttext_tree = IncompleteHashTree(ueb.num_segments, ueb.crypttext_root_hash)
        return ueb

    def check_layout(self, layout: ShareLayout) -> None:
        """Refuse a share whose hash trees are not sized for the verified segment count."""
        ueb = self._require_uri_extension()
        if layout.tree_node_count != tree_node_count(ueb.num_segments):
            raise CorruptShareError(
                f"its hash trees have {layout.tree_node_count} nodes, "
                f"not {tree_node_count(ueb.num_segments)} for {ueb.num_segments} segments"
            )

    def prove_share(self, shnum: int, chain: list[tuple[int, bytes]]) -> IncompleteHashTree:
        """Prove share ``shnum``'s block-tree root by its hash chain; return its block tree."""
        ueb = self._require_uri_extension()
        tree = self._share_tree
        if tree is None:  # pragma: no cover  set together with the UEB
            raise RuntimeError("no share hash tree")
        nodes = dict(chain)
        root = nodes.get(leaf_node(self.cap.total_shares, shnum))
        if root is None:
            raise CorruptShareError(f"its share hash chain lacks its own leaf (share {shnum})")
        try:
            tree.add_hashes(nodes)
        except (IntegrityError, MissingHashesError) as error:
            raise CorruptShareError(f"its share hash chain fails: {error}") from None
        return IncompleteHashTree(ueb.num_segments, root)

    def crypttext_nodes_needed(self, index: int) -> set[int]:
        """The crypttext tree nodes still unproven that segment ``index`` needs."""
        return self._require_crypttext_tree().needed_hashes(index)

    def check_segment(self, index: int, ciphertext: bytes, nodes: dict[int, bytes]) -> None:
        """Prove segment ``index``'s ciphertext with crypttext tree ``nodes`` from one share.

        Raises CorruptShareError if the check fails while ``nodes`` were
        needed (the share's nodes, or the segment, are wrong: the caller
        tries another share's nodes), and IntegrityError if the segment
        contradicts nodes already proven (no server can fix that).
        """
        tree = self._require_crypttext_tree()
        needed = tree.needed_hashes(index)
        leaf = crypttext_segment_hash(ciphertext)
        try:
            tree.add_hashes({node: nodes[node] for node in needed if node in nodes}, {index: leaf})
        except (IntegrityError, MissingHashesError) as error:
            if not needed:
                raise IntegrityError(
                    f"segment {index} decodes to ciphertext its crypttext hash tree refuses"
                ) from None
            raise CorruptShareError(
                f"crypttext hash tree check of segment {index}: {error}"
            ) from None

    def _require_uri_extension(self) -> UriExtension:
        if self.uri_extension is None:
            raise RuntimeError("no URI extension block has been verified yet")
        return self.uri_extension

    def _require_crypttext_tree(self) -> IncompleteHashTree:
        if self._crypttext_tree is None:
            raise RuntimeError("no URI extension block has been verified yet")
        return self._crypttext_tree
