"""File nodes: one object per file cap, whatever the file's kind, for the gateway and directories.

Rules: an :class:`ImmutableFileNode` (CHK or LIT) and a
:class:`MutableFileNode` (SDMF or MDMF) answer the same questions — size,
the bytes or a range of them, a description in Tahoe's JSON shape — so the
web layer never looks at the cap's kind. Only a mutable node opened with its
write cap changes; any other node refuses with :class:`ReadOnlyFileError`
before touching a server. :func:`describe_file` gives the ``t=json`` fields
Tahoe-LAFS 1.20 gives for a file (``rw_uri`` only with a write cap; a LIT
file's format is ``CHK``, as Tahoe says).
"""

from collections.abc import Callable
from typing import Any

from client.errors import ClientError
from client.file_service import FileService
from client.mutable.retrieve import Consumer
from client.mutable.service import Contents, MutableService, Snapshot
from grid.caps import CHKReadCap, LiteralCap, MutableFormat, MutableReadCap, MutableWriteCap


class ReadOnlyFileError(ClientError):
    """A change was asked of a file through a cap that cannot change it."""


class ImmutableFileNode:
    """A CHK or LIT file."""

    is_mutable = False
    is_readonly = True

    def __init__(self, cap: CHKReadCap | LiteralCap, files: FileService) -> None:
        """Read the file ``cap`` names through ``files``."""
        self.cap = cap
        self._files = files

    @property
    def format(self) -> str:
        """``CHK`` or ``LIT``."""
        return "CHK" if isinstance(self.cap, CHKReadCap) else "LIT"

    async def size(self) -> int:
        """The file's length (from the cap: no server is asked)."""
        return self.cap.size

    async def read(self, consumer: Consumer, *, offset: int = 0, length: int | None = None) -> None:
        """Deliver the file's verified bytes, or a range of them, to ``consumer``."""
        await self._files.download(self.cap, consumer, offset=offset, length=length)

    async def read_all(self) -> bytes:
        """The whole file."""
        chunks: list[bytes] = []
        await self.read(chunks.append)
        return b"".join(chunks)


class MutableFileNode:
    """An SDMF or MDMF file, opened with its write cap or its read cap."""

    is_mutable = True

    def __init__(self, cap: MutableWriteCap | MutableReadCap, service: MutableService) -> None:
        """Read (and, with a write cap, change) the file ``cap`` names through ``service``."""
        self.cap = cap
        self._service = service

    @property
    def is_readonly(self) -> bool:
        """Whether this node was opened with a read cap."""
        return not isinstance(self.cap, MutableWriteCap)

    @property
    def format(self) -> str:
        """``SDMF`` or ``MDMF``."""
        return "MDMF" if self.cap.format is MutableFormat.MDMF else "SDMF"

    async def size(self) -> int:
        """The size of the newest recoverable version."""
        return await self._service.size(self.cap)

    async def read(self, consumer: Consumer, *, offset: int = 0, length: int | None = None) -> None:
        """Deliver the newest version's bytes, or a range of them, to ``consumer``."""
        await self._service.read(self.cap, consumer, offset=offset, length=length)

    async def read_all(self) -> bytes:
        """The newest version, whole."""
        return await self._service.read_all(self.cap)

    async def read_snapshot(self) -> Snapshot:
        """The newest version, whole, with what a later ``modify`` may start from."""
        return await self._service.read_snapshot(self.cap)

    async def overwrite(self, contents: Contents) -> None:
        """Replace the contents (a new version on top of the newest one).

        ``contents`` may be a source read by range: an MDMF file is then
        written a batch at a time, never all in memory.
        """
        await self._service.overwrite(self._write_cap(), contents)

    async def write_at(self, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``; MDMF rewrites only the segments it touches."""
        await self._service.write_at(self._write_cap(), offset, data)

    async def modify(
        self, change: Callable[[bytes], bytes | None], *, start: Snapshot | None = None
    ) -> None:
        """Read (or start from ``start``), change, publish; again on a collision."""
        await self._service.modify(self._write_cap(), change, start=start)

    def _write_cap(self) -> MutableWriteCap:
        if not isinstance(self.cap, MutableWriteCap):
            raise ReadOnlyFileError(
                "this is a read-only cap: the file cannot be changed through it"
            )
        return self.cap


FileNode = ImmutableFileNode | MutableFileNode


def describe_file(node: FileNode, size: int | None) -> dict[str, Any]:
    """The fields of a file's ``t=json`` description, as Tahoe-LAFS 1.20 words them."""
    cap = node.cap
    details: dict[str, Any] = {
        "ro_uri": cap.read_only().to_string(),
        "mutable": node.is_mutable,
        "format": "CHK" if isinstance(node, ImmutableFileNode) else node.format,
        "size": size,
    }
    if isinstance(cap, MutableWriteCap):
        details["rw_uri"] = cap.to_string()
    verify = cap.verify_cap()
    if verify is not None:
        details["verify_uri"] = verify.to_string()
    return details
