"""Offline CHK decoding: whole share bodies and a read cap to verified plaintext.

Rules: nothing from a share is used before it is checked. The URI extension
block must hash to the cap's UEB hash and agree with the cap's k, N and size;
each share's block-tree root must be proven by its share hash chain against
the UEB's share root; every block must be proven by its share's block tree;
every decoded ciphertext segment must be proven by the crypttext tree. A
share that fails a check is dropped and the segment is decoded from others;
fewer than k good shares raises :class:`~grid.errors.NotEnoughSharesError`.
Primary shares (0..k-1) are preferred because they need no decoding.
"""

from collections.abc import Iterator, Mapping
from typing import Protocol

from grid.chk_plan import ChkPlan
from grid.codec import decode_segment
from grid.crypto.aes import aes_ctr
from grid.errors import IntegrityError, MissingHashesError, NotEnoughSharesError, ShareFormatError
from grid.formats.immutable_share import ParsedShare, parse_share
from grid.formats.uri_extension import (
    UriExtension,
    check_consistent_with_cap,
    parse_uri_extension,
)
from grid.hashing import block_hash, crypttext_segment_hash, uri_extension_hash
from grid.hashtree import IncompleteHashTree, leaf_node

_SHARE_FAULTS = (IntegrityError, MissingHashesError, ShareFormatError)


class ChkCapFields(Protocol):
    """The fields of a CHK read cap that decoding needs."""

    @property
    def key(self) -> bytes:
        """The 16-byte AES key."""

    @property
    def uri_extension_hash(self) -> bytes:
        """The hash of the URI extension block."""

    @property
    def needed_shares(self) -> int:
        """Shares needed to recover the file (k)."""

    @property
    def total_shares(self) -> int:
        """Shares made (N)."""

    @property
    def size(self) -> int:
        """The file size in bytes."""


class _ProvenShare:
    """A share whose block-tree root is proven; its blocks are checked as used."""

    def __init__(self, shnum: int, parsed: ParsedShare, block_tree: IncompleteHashTree) -> None:
        self.shnum = shnum
        self.parsed = parsed
        self.block_tree = block_tree

    def checked_block(self, index: int, ueb: UriExtension) -> bytes:
        """Return block ``index`` once the block tree proves it."""
        block = self.parsed.block(
            index,
            block_size=ueb.block_size,
            tail_block_size=ueb.tail_block_size,
            num_segments=ueb.num_segments,
        )
        stored = self.parsed.block_hash_tree
        needed = self.block_tree.needed_hashes(index)
        if any(node >= len(stored) for node in needed):
            raise ShareFormatError(f"share {self.shnum}'s block tree is short")
        self.block_tree.add_hashes(
            {node: stored[node] for node in needed}, {index: block_hash(block)}
        )
        return block


def decode_chk(cap: ChkCapFields, shares: Mapping[int, bytes]) -> bytes:
    """Return the plaintext of a CHK file from share bodies keyed by share number."""
    return b"".join(iter_chk_plaintext(cap, shares))


def iter_chk_plaintext(cap: ChkCapFields, shares: Mapping[int, bytes]) -> Iterator[bytes]:
    """Yield the verified plaintext of a CHK file segment by segment."""
    parsed = _parse_all(shares, cap.total_shares)
    ueb = _find_uri_extension(cap, parsed)
    plan = ChkPlan(
        size=cap.size,
        needed=cap.needed_shares,
        total=cap.total_shares,
        max_segment_size=ueb.segment_size,
    )
    proven = _prove_shares(parsed, ueb, cap.total_shares)
    crypttext_tree = IncompleteHashTree(ueb.num_segments, ueb.crypttext_root_hash)
    for index in range(ueb.num_segments):
        padded = _decode_one_segment(index, proven, ueb, cap.needed_shares, cap.total_shares)
        start, end = plan.segment_span(index)
        ciphertext = padded[: end - start]
        _prove_crypttext(crypttext_tree, index, ciphertext, proven)
        yield aes_ctr(cap.key, ciphertext, start)


def _parse_all(shares: Mapping[int, bytes], total: int) -> dict[int, ParsedShare]:
    parsed: dict[int, ParsedShare] = {}
    for shnum, data in shares.items():
        if not 0 <= shnum < total:
            continue
        try:
            parsed[shnum] = parse_share(data)
        except ShareFormatError:
            continue
    return parsed


def _find_uri_extension(cap: ChkCapFields, parsed: Mapping[int, ParsedShare]) -> UriExtension:
    for share in parsed.values():
        if uri_extension_hash(share.uri_extension) != cap.uri_extension_hash:
            continue
        ueb = parse_uri_extension(share.uri_extension)
        check_consistent_with_cap(
            ueb, needed_shares=cap.needed_shares, total_shares=cap.total_shares, size=cap.size
        )
        return ueb
    raise NotEnoughSharesError(
        cap.needed_shares, 0, "no share has the URI extension block the cap names"
    )


def _prove_shares(
    parsed: Mapping[int, ParsedShare], ueb: UriExtension, total: int
) -> dict[int, _ProvenShare]:
    share_tree = IncompleteHashTree(total, ueb.share_root_hash)
    proven: dict[int, _ProvenShare] = {}
    for shnum, share in sorted(parsed.items()):
        chain = dict(share.share_hashes)
        root = chain.get(leaf_node(total, shnum))
        if root is None:
            continue
        try:
            share_tree.add_hashes(chain)
        except _SHARE_FAULTS:
            continue
        proven[shnum] = _ProvenShare(shnum, share, IncompleteHashTree(ueb.num_segments, root))
    return proven


def _decode_one_segment(
    index: int, proven: dict[int, _ProvenShare], ueb: UriExtension, needed: int, total: int
) -> bytes:
    blocks: dict[int, bytes] = {}
    for shnum in sorted(proven):
        if len(blocks) == needed:
            break
        try:
            blocks[shnum] = proven[shnum].checked_block(index, ueb)
        except _SHARE_FAULTS:
            del proven[shnum]
    if len(blocks) < needed:
        raise NotEnoughSharesError(needed, len(blocks), f"segment {index} cannot be recovered")
    return decode_segment(blocks, needed, total)


def _prove_crypttext(
    tree: IncompleteHashTree, index: int, ciphertext: bytes, proven: Mapping[int, _ProvenShare]
) -> None:
    leaf = crypttext_segment_hash(ciphertext)
    for share in proven.values():
        stored = share.parsed.crypttext_hash_tree
        needed = tree.needed_hashes(index)
        if any(node >= len(stored) for node in needed):
            continue
        try:
            tree.add_hashes({node: stored[node] for node in needed}, {index: leaf})
        except MissingHashesError:
            continue
        except IntegrityError:
            if tree.needed_hashes(index, include_leaf=True) == set():
                raise
            continue
        return
    raise IntegrityError(f"ciphertext segment {index} does not match the crypttext hash tree")
