"""One share on one server, read on demand and checked before anything is used.

Rules:

- Opening a share reads its header, its share hash chain and (until one is
  verified) its URI extension block, in as few round trips as the server
  allows. A server that tolerates read overrun gets speculative reads at
  the offsets an uploader like Tahoe's would have used: the whole share if
  it is predicted to be small, else the header and, in the same round trip,
  the region from the share hash chain to past the UEB. Reads the
  speculation covers are answered from those bytes; the rest go out exactly.
- A share opens once; concurrent callers wait for the same opening, and a
  failed opening (corrupt, timed out or refused) fails every later call the
  same way at once.
- For a segment, the block, the block-tree nodes not yet proven and, when
  asked, the crypttext-tree nodes are read side by side (one round trip).
  The block is returned only once the share's block tree proves it; the
  crypttext nodes are returned unproven, for the caller to check.
- Every remote call is bounded by the read timeout. Failures come out as
  :class:`CorruptShareError` (the bytes are wrong or short),
  :class:`ServerTimeoutError` or :class:`ServerFailedError`.
- Corruption advice is sent without waiting for it; its own failure is
  logged and ignored.
"""

import logging
from collections.abc import Iterable

import attrs
from twisted.internet.defer import Deferred, DeferredLock
from twisted.internet.interfaces import IReactorTime

from client.download.errors import CorruptShareError, ShareUnusableError
from client.download.remote_calls import call_remote, gather
from client.download.servers import BucketReaderLike, StorageServerLike
from client.download.verifier import FileVerifier, SegmentGeometry
from grid.errors import IntegrityError, MissingHashesError, ShareFormatError
from grid.formats.immutable_share import (
    LAYOUT_VERSIONS,
    ShareLayout,
    parse_share_hashes,
    parse_share_header,
    parse_uri_extension_field,
)
from grid.hashing import HASH_SIZE, block_hash
from grid.hashtree import IncompleteHashTree

SMALL_SHARE_BYTES = 8 * 1024
UEB_READ_LENGTH = 2048
MAX_UEB_LENGTH = 64 * 1024
MAX_HEADER_SIZE = max(row.header_size for row in LAYOUT_VERSIONS.values())
MAX_REASON_BYTES = 4000

_log = logging.getLogger(__name__)


@attrs.frozen
class _Region:
    """Bytes read from ``start``, asked for up to ``asked_end`` (shorter means end of share)."""

    start: int
    asked_end: int
    data: bytes

    def covers(self, offset: int, length: int) -> bool:
        return self.start <= offset and offset + length <= self.asked_end

    def slice(self, offset: int, length: int) -> bytes:
        begin = offset - self.start
        return self.data[begin : begin + length]


def _node_ranges(nodes: Iterable[int]) -> list[tuple[int, int]]:
    """Group node numbers into runs ``(first, count)`` of consecutive nodes."""
    runs: list[tuple[int, int]] = []
    for node in sorted(nodes):
        if runs and runs[-1][0] + runs[-1][1] == node:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((node, 1))
    return runs


class ShareSource:
    """Share ``shnum`` held by ``server``: opened once, then read block by block."""

    def __init__(
        self,
        *,
        server: StorageServerLike,
        server_rank: int,
        shnum: int,
        reader: BucketReaderLike,
        verifier: FileVerifier,
        clock: IReactorTime,
        read_timeout: float,
    ) -> None:
        """Describe the share; nothing is read until :meth:`open`."""
        self.server = server
        self.server_rank = server_rank
        self.shnum = shnum
        self._reader = reader
        self._verifier = verifier
        self._clock = clock
        self._read_timeout = read_timeout
        self._lock = DeferredLock()
        self._regions: list[_Region] = []
        self._layout: ShareLayout | None = None
        self._block_tree: IncompleteHashTree | None = None
        self._open_error: Exception | None = None

    def __repr__(self) -> str:
        """Name the share and its server."""
        return f"<ShareSource share {self.shnum} on {self.server.name}>"

    @property
    def is_open(self) -> bool:
        """Whether the share's block-tree root is proven."""
        return self._block_tree is not None

    async def open(self) -> None:
        """Read and prove the header, hash chain and (if needed) UEB; once."""
        async with self._lock:
            if self._open_error is not None:
                raise self._open_error
            if self._block_tree is None:
                try:
                    await self._open()
                except ShareUnusableError as error:
                    self._open_error = error
                    raise
                except ShareFormatError as error:
                    corrupt = CorruptShareError(f"bad share format: {error}")
                    self._open_error = corrupt
                    raise corrupt from None

    async def fetch_block(
        self, index: int, *, crypttext_nodes: set[int] | None = None
    ) -> tuple[bytes, dict[int, bytes]]:
        """Return segment ``index``'s proven block and the asked-for crypttext nodes (unproven)."""
        await self.open()
        layout, tree, geometry = self._opened()
        try:
            offset, length = layout.block_range(
                index,
                block_size=geometry.block_size,
                tail_block_size=geometry.tail_block_size,
                num_segments=geometry.num_segments,
            )
            block_nodes = tree.needed_hashes(index)
            block, proof, crypttext = await gather(
                self._read_exact(offset, length, f"block {index}"),
                self._read_nodes(layout.block_hashes, layout.tree_node_count, block_nodes),
                self._read_nodes(
                    layout.crypttext_hash_tree, layout.tree_node_count, crypttext_nodes or set()
                ),
            )
        except ShareFormatError as error:
            raise CorruptShareError(f"block {index}: {error}") from None
        try:
            tree.add_hashes(proof, {index: block_hash(block)})
        except (IntegrityError, MissingHashesError) as error:
            raise CorruptShareError(f"block {index} fails its block hash tree: {error}") from None
        return block, crypttext

    async def fetch_crypttext_nodes(self, nodes: set[int]) -> dict[int, bytes]:
        """Return crypttext-tree ``nodes`` as this share stores them (unproven)."""
        await self.open()
        layout, _, _ = self._opened()
        try:
            return await self._read_nodes(layout.crypttext_hash_tree, layout.tree_node_count, nodes)
        except ShareFormatError as error:
            raise CorruptShareError(f"crypttext hash tree: {error}") from None

    def advise_corrupt(self, reason: str) -> None:
        """Tell the server this share is corrupt, without waiting for its answer."""
        text = f"grid download: share {self.shnum}: {reason}"
        message = text.encode("utf-8", "replace")[:MAX_REASON_BYTES]
        advice = Deferred.fromCoroutine(
            call_remote(
                self._clock,
                self._read_timeout,
                f"advise_corrupt_share to {self.server.name}",
                lambda: self._reader.advise_corrupt_share(message),
            )
        )
        advice.addErrback(
            lambda failure: _log.info(
                "download.advice-failed server=%s shnum=%d error=%s",
                self.server.name,
                self.shnum,
                failure.getErrorMessage(),
            )
        )

    def _opened(self) -> tuple[ShareLayout, IncompleteHashTree, SegmentGeometry]:
        geometry = self._verifier.geometry
        if self._layout is None or self._block_tree is None or geometry is None:
            raise RuntimeError("the share is not open")  # pragma: no cover  open() ran first
        return self._layout, self._block_tree, geometry

    async def _open(self) -> None:
        await self._speculate()
        layout = parse_share_header(await self._read_exact(0, MAX_HEADER_SIZE, "header"))
        chain_length = layout.uri_extension - layout.share_hashes
        if self._verifier.uri_extension is None:
            chain_bytes, packed = await gather(
                self._read_exact(layout.share_hashes, chain_length, "share hash chain"),
                self._read_uri_extension(layout),
            )
            self._verifier.accept_uri_extension(packed)
        else:
            chain_bytes = await self._read_exact(
                layout.share_hashes, chain_length, "share hash chain"
            )
        self._verifier.check_layout(layout)
        self._block_tree = self._verifier.prove_share(self.shnum, parse_share_hashes(chain_bytes))
        self._layout = layout

    async def _speculate(self) -> None:
        """Read where the header, chain and UEB probably are, if the server allows overrun."""
        if not self.server.tolerates_read_overrun:
            return
        predicted = self._verifier.predicted_layout()
        if self._verifier.uri_extension is None:
            trailer_end = predicted.ueb_offset + UEB_READ_LENGTH
        else:
            trailer_end = predicted.uri_extension
        if trailer_end <= SMALL_SHARE_BYTES:
            wanted = [(0, trailer_end)]
        else:
            wanted = [(0, MAX_HEADER_SIZE), (predicted.share_hashes, trailer_end)]
        results = await gather(
            *(self._read(start, end - start, "speculative read") for start, end in wanted)
        )
        self._regions.extend(
            _Region(start, end, data) for (start, end), data in zip(wanted, results, strict=True)
        )

    async def _read_uri_extension(self, layout: ShareLayout) -> bytes:
        """Read the UEB: its length field and a guess in one read, the rest if it is longer."""
        field_size = layout.layout_version.length_field_size
        first = field_size + (UEB_READ_LENGTH if self.server.tolerates_read_overrun else 0)
        head = await self._read(layout.uri_extension, first, "URI extension block")
        if len(head) < field_size:
            raise CorruptShareError("share ends inside the UEB length field")
        length = int.from_bytes(head[:field_size], "big")
        if length > MAX_UEB_LENGTH:
            raise CorruptShareError(f"its UEB length field says {length} bytes")
        if len(head) < field_size + length:
            head = await self._read_exact(
                layout.uri_extension, field_size + length, "URI extension block"
            )
        return parse_uri_extension_field(layout.version, head)

    async def _read_nodes(self, region: int, node_count: int, nodes: set[int]) -> dict[int, bytes]:
        """Read hash-tree ``nodes`` of the tree at ``region``, one read per run of neighbours."""
        for node in nodes:
            if not 0 <= node < node_count:
                raise ShareFormatError(f"hash tree node {node} is not in a {node_count}-node tree")
        runs = _node_ranges(nodes)
        chunks = await gather(
            *(
                self._read_exact(region + first * HASH_SIZE, count * HASH_SIZE, "hash tree nodes")
                for first, count in runs
            )
        )
        found: dict[int, bytes] = {}
        for (first, count), chunk in zip(runs, chunks, strict=True):
            for position in range(count):
                found[first + position] = chunk[position * HASH_SIZE : (position + 1) * HASH_SIZE]
        return found

    async def _read_exact(self, offset: int, length: int, what: str) -> bytes:
        data = await self._read(offset, length, what)
        if len(data) != length:
            raise CorruptShareError(
                f"{what}: share ends early ({len(data)} of {length} bytes at offset {offset})"
            )
        return data

    async def _read(self, offset: int, length: int, what: str) -> bytes:
        for region in self._regions:
            if region.covers(offset, length):
                return region.slice(offset, length)
        return await call_remote(
            self._clock,
            self._read_timeout,
            f"{what} of share {self.shnum} from {self.server.name}",
            lambda: self._reader.read(offset, length),
        )
