"""One share on one server, read whole and proven before any of it is used.

Rules:

- Opening a share reads its header, then, side by side, its share hash
  chain, its UEB length field and both whole hash trees, then the UEB; all
  of it is proven (:mod:`client.check.share_proof`) before the share counts
  as open. A share opens once: later callers get the same outcome, and a
  failed opening fails every later call the same way at once.
- Blocks are read a run at a time (one read for consecutive blocks) and each
  is checked against the proven block tree before it is returned.
- No read asks for more than :data:`READ_CHUNK` bytes; longer regions are
  read in chunks side by side.
- Every remote call is bounded by the read timeout. Failures come out as
  :class:`~client.check.errors.CorruptShareError` (the bytes are wrong or
  short), :class:`~client.check.errors.IncompatibleShareError` (a layout
  version this client does not know), or the downloader's
  :class:`~client.download.ServerTimeoutError` and
  :class:`~client.download.ServerFailedError`.
"""

import attrs
from twisted.internet.defer import DeferredLock
from twisted.internet.interfaces import IReactorTime

from client.check.errors import CorruptShareError, IncompatibleShareError
from client.check.servers import CheckServer
from client.check.share_proof import FileProof, check_block, check_whole_tree
from client.download import BucketReaderLike, ShareUnusableError
from client.download.remote_calls import call_remote, gather
from grid.errors import ShareFormatError
from grid.formats.immutable_share import (
    LAYOUT_VERSIONS,
    ShareLayout,
    parse_share_hashes,
    parse_share_header,
)
from grid.hashing import HASH_SIZE

READ_CHUNK = 1024 * 1024
MAX_UEB_LENGTH = 64 * 1024
MAX_REASON_BYTES = 4000
_HEADER_READ = max(row.header_size for row in LAYOUT_VERSIONS.values())

SHARE_FAILURES = (CorruptShareError, IncompatibleShareError, ShareUnusableError)
"""What reading one share can fail with; other shares are unaffected."""
ShareFailure = CorruptShareError | IncompatibleShareError | ShareUnusableError


@attrs.frozen
class OpenedShare:
    """A share whose header, UEB and hash trees are proven."""

    layout: ShareLayout
    block_tree: tuple[bytes, ...] = attrs.field(repr=False)


def _nodes(region: bytes) -> tuple[bytes, ...]:
    return tuple(region[start : start + HASH_SIZE] for start in range(0, len(region), HASH_SIZE))


class ShareReader:
    """Share ``shnum`` held by ``server``: opened once, then read block by block."""

    def __init__(
        self,
        *,
        server: CheckServer,
        shnum: int,
        reader: BucketReaderLike,
        proof: FileProof,
        clock: IReactorTime,
        read_timeout: float,
    ) -> None:
        """Describe the share; nothing is read until :meth:`open`."""
        self.server = server
        self.shnum = shnum
        self._reader = reader
        self._proof = proof
        self._clock = clock
        self._read_timeout = read_timeout
        self._lock = DeferredLock()
        self._opened: OpenedShare | None = None
        self._open_error: ShareFailure | None = None

    def __repr__(self) -> str:
        """Name the share and its server."""
        return f"<ShareReader share {self.shnum} on {self.server.name}>"

    async def open(self) -> OpenedShare:
        """Read and prove the share's header, UEB and hash trees (once)."""
        await self._lock.acquire()
        try:
            if self._open_error is not None:
                raise self._open_error
            if self._opened is None:
                try:
                    self._opened = await self._open()
                except SHARE_FAILURES as error:
                    self._open_error = error
                    raise
            return self._opened
        finally:
            self._lock.release()

    async def read_blocks(self, first: int, count: int) -> list[bytes]:
        """Return blocks ``first .. first+count-1``, each proven by the block tree."""
        opened = await self.open()
        _, geometry = self._proof.proven()
        spans = []
        for index in range(first, first + count):
            try:
                spans.append(
                    opened.layout.block_range(
                        index,
                        block_size=geometry.block_size,
                        tail_block_size=geometry.tail_block_size,
                        num_segments=geometry.num_segments,
                    )
                )
            except ShareFormatError as error:
                raise CorruptShareError(str(error)) from None
        start = spans[0][0]
        data = await self._read_exact(start, spans[-1][0] + spans[-1][1] - start, "blocks")
        blocks = []
        for index, (offset, length) in enumerate(spans, start=first):
            block = data[offset - start : offset - start + length]
            check_block(opened.block_tree, geometry.num_segments, index, block)
            blocks.append(block)
        return blocks

    async def verify(self) -> None:
        """Read the whole share and prove every byte that matters."""
        await self.open()
        _, geometry = self._proof.proven()
        batch = max(1, READ_CHUNK // max(1, geometry.block_size))
        for first in range(0, geometry.num_segments, batch):
            await self.read_blocks(first, min(batch, geometry.num_segments - first))

    async def advise_corrupt(self, reason: str) -> None:
        """Tell the server this share is corrupt and why; wait for the answer."""
        text = f"grid checker: share {self.shnum}: {reason}"
        message = text.encode("utf-8", "replace")[:MAX_REASON_BYTES]
        await call_remote(
            self._clock,
            self._read_timeout,
            f"advise_corrupt_share to {self.server.name}",
            lambda: self._reader.advise_corrupt_share(message),
        )

    async def _open(self) -> OpenedShare:
        header = await self._read(0, _HEADER_READ, "header")
        version = int.from_bytes(header[:4], "big")
        if len(header) >= 4 and version not in LAYOUT_VERSIONS:
            raise IncompatibleShareError(f"share layout version {version} is unknown")
        try:
            layout = parse_share_header(header)
        except ShareFormatError as error:
            raise CorruptShareError(f"header: {error}") from None
        field_size = layout.layout_version.length_field_size
        chain_bytes, length_field, block_region, crypttext_region = await gather(
            self._read_exact(
                layout.share_hashes, layout.uri_extension - layout.share_hashes, "share hashes"
            ),
            self._read_exact(layout.uri_extension, field_size, "UEB length"),
            self._read_exact(
                layout.block_hashes, layout.share_hashes - layout.block_hashes, "block hash tree"
            ),
            self._read_exact(
                layout.crypttext_hash_tree,
                layout.block_hashes - layout.crypttext_hash_tree,
                "crypttext hash tree",
            ),
        )
        ueb_length = int.from_bytes(length_field, "big")
        if ueb_length > MAX_UEB_LENGTH:
            raise CorruptShareError(f"its UEB length field says {ueb_length} bytes")
        packed = await self._read_exact(layout.ueb_offset, ueb_length, "URI extension block")
        ueb = self._proof.accept_uri_extension(packed)
        self._proof.check_layout(layout)
        try:
            chain = parse_share_hashes(chain_bytes)
        except ShareFormatError as error:
            raise CorruptShareError(f"share hash chain: {error}") from None
        root = self._proof.prove_share_root(self.shnum, chain)
        block_tree = _nodes(block_region)
        check_whole_tree(block_tree, root, "block hash tree")
        check_whole_tree(_nodes(crypttext_region), ueb.crypttext_root_hash, "crypttext hash tree")
        return OpenedShare(attrs.evolve(layout, ueb_length=ueb_length), block_tree)

    async def _read_exact(self, offset: int, length: int, what: str) -> bytes:
        """Read exactly ``length`` bytes, in chunks of at most READ_CHUNK side by side."""
        if length <= READ_CHUNK:
            data = await self._read(offset, length, what)
        else:
            chunks = await gather(
                *(
                    self._read(start, min(READ_CHUNK, offset + length - start), what)
                    for start in range(offset, offset + length, READ_CHUNK)
                )
            )
            data = b"".join(chunks)
        if len(data) != length:
            raise CorruptShareError(
                f"{what}: share ends early ({len(data)} of {length} bytes at offset {offset})"
            )
        return data

    async def _read(self, offset: int, length: int, what: str) -> bytes:
        return await call_remote(
            self._clock,
            self._read_timeout,
            f"{what} of share {self.shnum} from {self.server.name}",
            lambda: self._reader.read(offset, length),
        )
