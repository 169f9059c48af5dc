"""Offline CHK encoding: plaintext to N share bodies and a cap, no network.

Rules: :func:`encode_chk_segment` is pure and independent per segment, so
callers may run segments on several threads; :class:`ChkEncoder` takes the
encoded segments strictly in order and owns everything that spans the file
(the whole-ciphertext hash, the hash trees, the URI extension block).
Each share's bytes are produced front to back: :meth:`ChkEncoder.share_header`,
then the blocks segment by segment, then :meth:`ChkResult.trailers`. The
plaintext hash tree region is written as zeros, as Tahoe-LAFS 1.20 does.
"""

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Protocol

import attrs

from grid.chk_plan import ChkPlan
from grid.codec import encode_segment, pad_to_multiple
from grid.crypto.aes import aes_ctr
from grid.errors import EncodingParametersError
from grid.formats.immutable_share import (
    ShareLayout,
    num_share_hashes,
    pack_share_hashes,
    pack_uri_extension_field,
    plan_share_layout,
)
from grid.formats.uri_extension import UriExtension, make_uri_extension, pack_uri_extension
from grid.hashing import (
    HASH_SIZE,
    KEY_SIZE,
    TAG_CRYPTTEXT,
    TaggedHasher,
    block_hash,
    convergence_tag,
    crypttext_segment_hash,
    immutable_storage_index,
    uri_extension_hash,
)
from grid.hashtree import build_tree, leaf_node, parent, sibling


def convergent_key(convergence_secret: bytes, plan: ChkPlan, plaintext: Iterable[bytes]) -> bytes:
    """Derive the AES key of a convergent upload from the whole plaintext."""
    tag = convergence_tag(convergence_secret, plan.needed, plan.total, plan.segment_size)
    hasher = TaggedHasher(tag, KEY_SIZE)
    for chunk in plaintext:
        hasher.update(chunk)
    return hasher.digest()


@attrs.frozen
class EncodedSegment:
    """One segment after encryption and erasure coding, with its hashes."""

    index: int
    ciphertext: bytes
    crypttext_hash: bytes
    blocks: tuple[bytes, ...]
    block_hashes: tuple[bytes, ...]


def encode_chk_segment(
    key: bytes, plan: ChkPlan, index: int, plaintext: bytes | memoryview
) -> EncodedSegment:
    """Encrypt, hash and erasure-code segment ``index`` of a CHK file."""
    start, end = plan.segment_span(index)
    if len(plaintext) != end - start:
        raise EncodingParametersError(
            f"segment {index} must be {end - start} bytes, got {len(plaintext)}"
        )
    ciphertext = aes_ctr(key, plaintext, start)
    blocks = encode_segment(pad_to_multiple(ciphertext, plan.needed), plan.needed, plan.total)
    return EncodedSegment(
        index=index,
        ciphertext=ciphertext,
        crypttext_hash=crypttext_segment_hash(ciphertext),
        blocks=tuple(blocks),
        block_hashes=tuple(block_hash(block) for block in blocks),
    )


def encode_chk_segments(
    key: bytes, plan: ChkPlan, first: int, plaintext: bytes
) -> list[EncodedSegment]:
    """Encode consecutive whole segments from ``first`` on, given their plaintext joined."""
    base = plan.segment_span(first)[0]
    view = memoryview(plaintext)
    encoded = []
    index = first
    while index < plan.num_segments:
        start, end = plan.segment_span(index)
        if end - base > len(view):
            break
        encoded.append(encode_chk_segment(key, plan, index, view[start - base : end - base]))
        index += 1
    if not encoded or plan.segment_span(index - 1)[1] - base != len(view):
        raise EncodingParametersError(
            f"{len(view)} bytes are not whole segments starting at segment {first}"
        )
    return encoded


def share_hash_chain_order(total_shares: int, shnum: int) -> list[int]:
    """Return the share-hash-tree nodes a CHK share stores, in Tahoe 1.20's order.

    Tahoe 1.20 writes the iteration order of a CPython set built by adding
    the leaf's uncles from the bottom up, then the leaf itself. Building the
    same set here gives byte-identical shares; readers accept any order.
    """
    leaf = leaf_node(total_shares, shnum)
    chain: set[int] = set()
    node = leaf
    while node != 0:
        chain.add(sibling(node))
        node = parent(node)
    chain.add(leaf)
    return list(chain)


@attrs.frozen
class ChkResult:
    """What an encoding produced once every segment went in."""

    key: bytes = attrs.field(repr=False)
    storage_index: bytes
    uri_extension: bytes
    uri_extension_hash: bytes
    layout: ShareLayout
    trailers: tuple[bytes, ...] = attrs.field(repr=False)


class ChkEncoder:
    """Collects encoded segments in order and builds what spans the whole file."""

    def __init__(self, key: bytes, plan: ChkPlan) -> None:
        """Start encoding a file of ``plan.size`` bytes under the AES ``key``."""
        if len(key) != KEY_SIZE:
            raise EncodingParametersError(f"a CHK key is {KEY_SIZE} bytes")
        self.key = key
        self.plan = plan
        self.layout = plan_share_layout(
            block_size=plan.block_size,
            data_size=plan.share_size,
            num_segments=plan.num_segments,
            num_share_hashes=num_share_hashes(plan.total),
            ueb_length=len(pack_uri_extension(self._uri_extension(b"\x00" * HASH_SIZE, []))),
        )
        self._crypttext = TaggedHasher(TAG_CRYPTTEXT)
        self._segment_hashes: list[bytes] = []
        self._block_hashes: list[list[bytes]] = [[] for _ in range(plan.total)]

    def share_header(self) -> bytes:
        """Return the bytes every share starts with (the layout's offsets table)."""
        return self.layout.pack_header()

    def block_offset(self, segment_index: int) -> int:
        """Return where segment ``segment_index``'s block sits in each share."""
        return self.layout.data + segment_index * self.plan.block_size

    def add_segment(self, segment: EncodedSegment) -> None:
        """Take the next segment; segments must arrive in order."""
        if segment.index != len(self._segment_hashes):
            raise EncodingParametersError(
                f"expected segment {len(self._segment_hashes)}, got {segment.index}"
            )
        self._crypttext.update(segment.ciphertext)
        self._segment_hashes.append(segment.crypttext_hash)
        for shnum, digest in enumerate(segment.block_hashes):
            self._block_hashes[shnum].append(digest)

    def add_segments(self, segments: Iterable[EncodedSegment]) -> None:
        """Take the next segments, in order."""
        for segment in segments:
            self.add_segment(segment)

    def finish(self) -> ChkResult:
        """Build the hash trees, the URI extension block and each share's trailer."""
        if len(self._segment_hashes) != self.plan.num_segments:
            raise EncodingParametersError(
                f"{len(self._segment_hashes)} of {self.plan.num_segments} segments were added"
            )
        crypttext_tree = build_tree(self._segment_hashes)
        block_trees = [build_tree(hashes) for hashes in self._block_hashes]
        share_tree = build_tree([tree[0] for tree in block_trees])
        ueb = pack_uri_extension(self._uri_extension(share_tree[0], crypttext_tree))
        tree_region = b"".join(crypttext_tree)
        zeros = b"\x00" * len(tree_region)
        trailers = tuple(
            zeros
            + tree_region
            + b"".join(block_trees[shnum])
            + pack_share_hashes(
                [
                    (node, share_tree[node])
                    for node in share_hash_chain_order(self.plan.total, shnum)
                ]
            )
            + pack_uri_extension_field(self.layout.version, ueb)
            for shnum in range(self.plan.total)
        )
        return ChkResult(
            key=self.key,
            storage_index=immutable_storage_index(self.key),
            uri_extension=ueb,
            uri_extension_hash=uri_extension_hash(ueb),
            layout=self.layout,
            trailers=trailers,
        )

    def _uri_extension(self, share_root: bytes, crypttext_tree: list[bytes]) -> UriExtension:
        plan = self.plan
        placeholder = b"\x00" * HASH_SIZE
        return make_uri_extension(
            size=plan.size,
            segment_size=plan.segment_size,
            needed_shares=plan.needed,
            total_shares=plan.total,
            crypttext_hash=self._crypttext.digest() if crypttext_tree else placeholder,
            crypttext_root_hash=crypttext_tree[0] if crypttext_tree else placeholder,
            share_root_hash=share_root,
        )


class ShareSink(Protocol):
    """Where :func:`encode_chk` puts share bytes; each share is written front to back."""

    def write(self, shnum: int, offset: int, data: bytes) -> None:
        """Store ``data`` at ``offset`` of share ``shnum``'s body."""


def plaintext_segments(plan: ChkPlan, plaintext: bytes | memoryview) -> Iterator[bytes]:
    """Cut an in-memory plaintext into the plan's segments."""
    view = memoryview(plaintext)
    for index in range(plan.num_segments):
        start, end = plan.segment_span(index)
        yield bytes(view[start:end])


def encode_chk(
    key: bytes,
    plan: ChkPlan,
    segments: Iterable[bytes],
    sink: ShareSink,
    *,
    executor: Executor | None = None,
    window: int = 4,
) -> ChkResult:
    """Encode a whole file into ``sink`` and return the result with its hashes.

    With an ``executor``, up to ``window`` segments are encoded ahead on its
    threads while this thread hashes the ciphertext in order and writes.
    """
    encoder = ChkEncoder(key, plan)
    header = encoder.share_header()
    for shnum in range(plan.total):
        sink.write(shnum, 0, header)
    for encoded in _encoded_in_order(key, plan, segments, executor, window):
        encoder.add_segment(encoded)
        offset = encoder.block_offset(encoded.index)
        for shnum, block in enumerate(encoded.blocks):
            sink.write(shnum, offset, block)
    result = encoder.finish()
    for shnum, trailer in enumerate(result.trailers):
        sink.write(shnum, result.layout.plaintext_hash_tree, trailer)
    return result


def _encoded_in_order(
    key: bytes,
    plan: ChkPlan,
    segments: Iterable[bytes],
    executor: Executor | None,
    window: int,
) -> Iterator[EncodedSegment]:
    if executor is None:
        for index, plaintext in enumerate(segments):
            yield encode_chk_segment(key, plan, index, plaintext)
        return
    pending: deque[Future[EncodedSegment]] = deque()
    for index, plaintext in enumerate(segments):
        pending.append(executor.submit(encode_chk_segment, key, plan, index, plaintext))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
