"""Retrieve: verified plaintext of one version of a mutable file, streamed to a consumer.

Rules:

- Only the version chosen from the servermap is read, from k shares with
  distinct share numbers (in server order); the rest are spares.
- With its first block, each share's share hash chain and whole block hash
  tree are read (in the same call) and checked: the block tree's root, as this share's leaf,
  must link through the chain to the signed root hash. Each block (MDMF:
  ``salt || block``) must then hash to its leaf of that tree.
- Bytes the servermap already read (``first_bytes``) are used as they are:
  they came in one read with the checkstring that named the version. Every
  other read re-reads the checkstring; if it changed, the share now holds
  another version: it is dropped without blame. A share that fails
  a format or hash check is reported to its server
  (``advise_corrupt_share``) and dropped; a server that fails or times out
  is dropped. A dropped share is replaced by a spare; with fewer than k
  usable shares the read raises NotEnoughSharesError, or its subclass
  VersionChangedError when shares were dropped because they changed.
- Only the segments covering the requested range are fetched, ``window``
  (2) at a time; each is decoded, decrypted under its own salt's key and
  delivered in order, cut to the range. A consumer that returns an
  awaitable is waited for before the next delivery. Wrong bytes never reach
  the consumer.
"""

import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from client.download.errors import ServerFailedError, ServerTimeoutError
from client.download.remote_calls import call_remote, gather
from client.mutable.errors import (
    CorruptMutableShareError,
    ShareChangedError,
    VersionChangedError,
)
from client.mutable.keys import MutableKeys
from client.mutable.servermap import (
    DEFAULT_TIMEOUT,
    MappedShare,
    ServerMap,
    VersionId,
    advise_corrupt,
)
from grid.codec import decode_segment
from grid.crypto.aes import aes_ctr
from grid.errors import IntegrityError, MissingHashesError, NotEnoughSharesError, ShareFormatError
from grid.formats.mdmf import SALT_SIZE, MdmfHeader
from grid.formats.mutable_common import parse_hash_list, parse_share_hash_chain
from grid.formats.sdmf import SdmfHeader
from grid.hashing import block_hash, mutable_data_key
from grid.hashtree import IncompleteHashTree, needed_hashes, tree_node_count

Consumer = Callable[[bytes], Awaitable[None] | None]
DEFAULT_WINDOW = 2

_log = logging.getLogger(__name__)


def num_segments(version: VersionId) -> int:
    """How many segments a version has (SDMF: 1, or 0 when empty)."""
    if version.data_length == 0 or version.segment_size == 0:
        return 0
    return -(-version.data_length // version.segment_size)


def segment_span(version: VersionId, segment: int) -> tuple[int, int]:
    """The plaintext range ``[start, end)`` of one segment."""
    start = segment * version.segment_size
    return start, min(start + version.segment_size, version.data_length)


def _sections(share: MappedShare) -> tuple[tuple[int, int], tuple[int, int]]:
    """(offset, length) of the share hash chain and of the block hash tree."""
    header = share.header
    if isinstance(header, SdmfHeader):
        sdmf = header.offsets
        return (
            (sdmf.share_hash_chain, sdmf.block_hash_tree - sdmf.share_hash_chain),
            (sdmf.block_hash_tree, sdmf.share_data - sdmf.block_hash_tree),
        )
    mdmf = header.offsets
    return (
        (mdmf.share_hash_chain, mdmf.signature - mdmf.share_hash_chain),
        (mdmf.block_hash_tree, mdmf.eof - mdmf.block_hash_tree),
    )


def block_location(share: MappedShare, segment: int) -> tuple[int, int]:
    """(offset, length) of a segment's stored block (MDMF: with its salt in front)."""
    header = share.header
    if isinstance(header, MdmfHeader):
        try:
            return header.block_location(segment)
        except ShareFormatError as error:
            raise CorruptMutableShareError(str(error)) from None
    version = share.version
    return header.offsets.share_data, version.segment_size // version.needed_shares


def check_block_tree(
    share_tree: IncompleteHashTree, shnum: int, chain_bytes: bytes, tree_bytes: bytes, segments: int
) -> list[bytes]:
    """Check a share's chain and block tree against the signed share tree; return the tree."""
    try:
        chain = parse_share_hash_chain(chain_bytes)
        tree = list(parse_hash_list(tree_bytes, "block hash tree"))
    except ShareFormatError as error:
        raise CorruptMutableShareError(str(error)) from None
    if len(tree) != tree_node_count(segments):
        raise CorruptMutableShareError(
            f"block hash tree has {len(tree)} nodes, expected {tree_node_count(segments)}"
        )
    try:
        share_tree.add_hashes(hashes=dict(chain), leaves={shnum: tree[0]})
    except (IntegrityError, MissingHashesError) as error:
        raise CorruptMutableShareError(f"share hash chain: {error}") from None
    return tree


def check_block(tree: list[bytes], segments: int, segment: int, leaf: bytes) -> None:
    """Check one block's hash against a share's (already trusted) block hash tree."""
    block_tree = IncompleteHashTree(segments, tree[0])
    try:
        block_tree.add_hashes(
            hashes={node: tree[node] for node in needed_hashes(segments, segment)},
            leaves={segment: leaf},
        )
    except (IntegrityError, MissingHashesError) as error:
        raise CorruptMutableShareError(f"block {segment}: {error}") from None


class ShareReader:
    """Reads and checks one share of one version, block by block."""

    def __init__(
        self,
        share: MappedShare,
        share_tree: IncompleteHashTree,
        storage_index: bytes,
        clock: IReactorTime,
        timeout: float,
    ) -> None:
        """Read ``share``; its chain is checked against ``share_tree``."""
        self.share = share
        self._share_tree = share_tree
        self._storage_index = storage_index
        self._clock = clock
        self._timeout = timeout
        self._checkstring = share.version.checkstring
        self.block_tree: list[bytes] | None = None
        self.dropped = False

    async def read(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """Read ``ranges`` of the share, after checking it still holds this version.

        Ranges inside the bytes the servermap read are cut from them, with no call.
        """
        held = self.share.first_bytes
        if all(offset + length <= len(held) for offset, length in ranges):
            return [held[offset : offset + length] for offset, length in ranges]
        server = self.share.server
        shnum = self.share.shnum
        size = len(self._checkstring)
        answer = await call_remote(
            self._clock,
            self._timeout,
            f"slot_readv to {server.name}",
            lambda: server.slot_readv(self._storage_index, [shnum], [(0, size), *ranges]),
        )
        items = list(answer.get(shnum, []))
        if len(items) != len(ranges) + 1:
            raise ShareChangedError(f"share {shnum} on {server.name} is gone")
        if items[0] != self._checkstring:
            raise ShareChangedError(f"share {shnum} on {server.name} holds another version now")
        for data, (_offset, length) in zip(items[1:], ranges, strict=True):
            if len(data) != length:
                raise CorruptMutableShareError("share is shorter than its offsets say")
        return items[1:]

    async def load_block_tree(self) -> list[bytes]:
        """Read and check the share hash chain and block hash tree (once)."""
        if self.block_tree is not None:
            return self.block_tree
        chain_bytes, tree_bytes = await self.read(list(_sections(self.share)))
        return self._check_block_tree(chain_bytes, tree_bytes)

    def _check_block_tree(self, chain_bytes: bytes, tree_bytes: bytes) -> list[bytes]:
        self.block_tree = check_block_tree(
            self._share_tree,
            self.share.shnum,
            chain_bytes,
            tree_bytes,
            num_segments(self.share.version),
        )
        return self.block_tree

    async def block(self, segment: int) -> tuple[bytes, bytes]:
        """Return this share's checked (salt, block) for ``segment``.

        The first block comes in one call with the chain and block tree it is checked by.
        """
        location = block_location(self.share, segment)
        if self.block_tree is None:
            chain_bytes, tree_bytes, stored = await self.read([*_sections(self.share), location])
            tree = self._check_block_tree(chain_bytes, tree_bytes)
        else:
            tree = self.block_tree
            (stored,) = await self.read([location])
        version = self.share.version
        if version.salt is not None:
            salt, block, leaf = version.salt, stored, block_hash(stored)
        else:
            salt, block, leaf = stored[:SALT_SIZE], stored[SALT_SIZE:], block_hash(stored)
        check_block(tree, num_segments(version), segment, leaf)
        return salt, block


class VersionReader:
    """Reads segments of one version from k shares, replacing shares that go bad."""

    def __init__(
        self,
        servermap: ServerMap,
        version: VersionId,
        keys: MutableKeys,
        *,
        clock: IReactorTime,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Prepare to read ``version`` of the file ``keys`` name."""
        self.version = version
        self._keys = keys
        self._clock = clock
        self._timeout = timeout
        self._share_tree = IncompleteHashTree(version.total_shares, version.root_hash)
        self._spares = list(servermap.shares_of(version))
        self._active: dict[int, ShareReader] = {}
        self._dropped = 0
        self._changed = 0

    def _fill(self) -> None:
        """Bring the active shares up to k distinct share numbers from the spares."""
        needed = self.version.needed_shares
        while len(self._active) < needed and self._spares:
            share = self._spares.pop(0)
            if share.shnum not in self._active:
                self._active[share.shnum] = self._reader(share)
        if len(self._active) >= needed:
            return
        if self._changed:
            raise VersionChangedError(
                needed,
                len(self._active),
                f"{self._changed} shares were replaced by a newer version during the read",
            )
        raise NotEnoughSharesError(
            needed, len(self._active), f"{self._dropped} shares of the version read failed"
        )

    def _reader(self, share: MappedShare) -> ShareReader:
        return ShareReader(
            share, self._share_tree, self._keys.storage_index, self._clock, self._timeout
        )

    async def _drop(self, reader: ShareReader, error: Exception) -> None:
        """Stop using a share (once); tell its server if it is corrupt."""
        if reader.dropped:
            return
        reader.dropped = True
        if self._active.get(reader.share.shnum) is reader:
            del self._active[reader.share.shnum]
        self._spares = [
            spare
            for spare in self._spares
            if not (spare.shnum == reader.share.shnum and spare.server is reader.share.server)
        ]
        self._dropped += 1
        if isinstance(error, ShareChangedError):
            self._changed += 1
        if isinstance(error, CorruptMutableShareError):
            await advise_corrupt(
                reader.share.server,
                self._keys.storage_index,
                reader.share.shnum,
                str(error),
                clock=self._clock,
                timeout=self._timeout,
            )
        else:
            _log.info("mutable.retrieve.share-dropped shnum=%d error=%s", reader.share.shnum, error)

    async def _attempt(
        self, reader: ShareReader, segment: int
    ) -> tuple[ShareReader, tuple[bytes, bytes] | Exception]:
        try:
            return reader, await reader.block(segment)
        except (
            CorruptMutableShareError,
            ShareChangedError,
            ServerFailedError,
            ServerTimeoutError,
        ) as error:
            return reader, error

    async def block_trees(self) -> dict[int, list[bytes]]:
        """Checked block hash trees of every share number that has a usable share."""
        trees: dict[int, list[bytes]] = {}
        for share in list(self._spares) + [reader.share for reader in self._active.values()]:
            if share.shnum in trees:
                continue
            reader = self._reader(share)
            try:
                trees[share.shnum] = await reader.load_block_tree()
            except (
                CorruptMutableShareError,
                ShareChangedError,
                ServerFailedError,
                ServerTimeoutError,
            ) as error:
                await self._drop(reader, error)
        return trees

    async def segment(self, segment: int) -> bytes:
        """The verified plaintext of one segment."""
        while True:
            self._fill()
            results = await gather(
                *(self._attempt(reader, segment) for reader in list(self._active.values()))
            )
            blocks: dict[int, bytes] = {}
            salts: list[bytes] = []
            for reader, outcome in results:
                if isinstance(outcome, Exception):
                    await self._drop(reader, outcome)
                else:
                    salts.append(outcome[0])
                    blocks[reader.share.shnum] = outcome[1]
            if len(blocks) >= self.version.needed_shares:
                return self._decode(segment, salts[0], blocks)

    def _decode(self, segment: int, salt: bytes, blocks: dict[int, bytes]) -> bytes:
        version = self.version
        start, end = segment_span(version, segment)
        padded = decode_segment(blocks, version.needed_shares, version.total_shares)
        return aes_ctr(mutable_data_key(salt, self._keys.readkey), padded[: end - start])


async def deliver_range(
    reader: VersionReader,
    consumer: Consumer,
    start: int,
    end: int,
    *,
    window: int = DEFAULT_WINDOW,
) -> None:
    """Fetch the segments covering ``[start, end)``, ``window`` at a time; deliver in order."""
    version = reader.version
    if start >= end:
        return
    first = start // version.segment_size
    last = (end - 1) // version.segment_size
    segments = iter(range(first, last + 1))
    pending: deque[tuple[int, Deferred[bytes]]] = deque()
    try:
        while True:
            while len(pending) < window and (segment := next(segments, None)) is not None:
                pending.append((segment, Deferred.fromCoroutine(reader.segment(segment))))
            if not pending:
                return
            segment, fetching = pending.popleft()
            plaintext = await fetching
            segment_start, segment_end = segment_span(version, segment)
            low, high = max(start, segment_start), min(end, segment_end)
            delivered = consumer(plaintext[low - segment_start : high - segment_start])
            if inspect.isawaitable(delivered):
                await delivered
    finally:
        for _segment, fetching in pending:
            fetching.cancel()
            fetching.addErrback(lambda _failure: None)


async def read_version(
    servermap: ServerMap,
    version: VersionId,
    keys: MutableKeys,
    *,
    clock: IReactorTime,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """The whole verified plaintext of ``version``."""
    chunks: list[bytes] = []
    reader = VersionReader(servermap, version, keys, clock=clock, timeout=timeout)
    await deliver_range(reader, chunks.append, 0, version.data_length)
    return b"".join(chunks)
