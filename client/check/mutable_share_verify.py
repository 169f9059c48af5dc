"""Verifying one whole share of a mutable file: every hash, every block, no key needed.

Rules:

- The share's signature, key fingerprint and header were checked when the
  servermap read its first bytes; here the rest is checked against the
  signed root hash. The share hash chain and the whole block hash tree are
  read first: the tree must have the node count the version's segment count
  implies, and its root, as this share's leaf, must link through the chain
  to the root hash. Each share is checked against a share hash tree of its
  own, so a bad share cannot spoil the check of another.
- Then every stored block (MDMF: ``salt || block``) is read, at most
  :data:`READ_BATCH_BYTES` per call, and must hash to its leaf of the
  block hash tree. Blocks are ciphertext, so no read key is involved.
- Every read also compares the share's checkstring: a share that now holds
  another version raises :class:`~client.mutable.errors.ShareChangedError`
  (not corruption). A failed check raises
  :class:`~client.mutable.errors.CorruptMutableShareError`; a failing
  server raises the downloader's ServerFailedError or ServerTimeoutError.
"""

from twisted.internet.interfaces import IReactorTime

from client.mutable.retrieve import (
    ShareReader,
    block_location,
    check_block,
    num_segments,
)
from client.mutable.servermap import MappedShare
from grid.hashing import block_hash
from grid.hashtree import IncompleteHashTree

READ_BATCH_BYTES = 1 << 20


async def verify_mutable_share(
    share: MappedShare, storage_index: bytes, *, clock: IReactorTime, timeout: float
) -> None:
    """Read ``share`` whole and check every hash and block; raise if any check fails."""
    version = share.version
    reader = ShareReader(
        share,
        IncompleteHashTree(version.total_shares, version.root_hash),
        storage_index,
        clock,
        timeout,
    )
    tree = await reader.load_block_tree()
    segments = num_segments(version)
    for batch in _batches(share, segments):
        stored = await reader.read([block_location(share, segment) for segment in batch])
        for segment, data in zip(batch, stored, strict=True):
            check_block(tree, segments, segment, block_hash(data))


def _batches(share: MappedShare, segments: int) -> list[list[int]]:
    """The segments in reading order, grouped into reads of at most READ_BATCH_BYTES."""
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for segment in range(segments):
        _offset, length = block_location(share, segment)
        if current and size + length > READ_BATCH_BYTES:
            batches.append(current)
            current, size = [], 0
        current.append(segment)
        size += length
    if current:
        batches.append(current)
    return batches
