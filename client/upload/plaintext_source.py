"""The file being uploaded, as the uploader reads it: a size and ranged reads.

Rules: the uploader asks for every range it needs (twice for a convergent
upload: once to hash, once to encrypt), never more than a segment at a time,
so a source need not hold the file in memory. A read must return exactly the
bytes asked for; :func:`read_exactly` turns a short read into
:class:`~client.upload.errors.UploadSourceError`. :class:`FileSource` reads
a local file with ``os.pread`` on the CPU runner's threads, so disk waits do
not stall the reactor; it is opened and closed explicitly.
"""

import os
from pathlib import Path
from typing import Protocol

from client.upload.cpu import CpuRunner
from client.upload.errors import UploadSourceError


class PlaintextSource(Protocol):
    """A file to upload: its size, and its bytes by range."""

    @property
    def size(self) -> int:
        """The file's length in bytes."""

    async def read(self, offset: int, length: int) -> bytes:
        """Return ``length`` bytes starting at ``offset``."""


async def read_exactly(source: PlaintextSource, offset: int, length: int) -> bytes:
    """Read a range, raising UploadSourceError if the source returns a different length."""
    data = await source.read(offset, length)
    if len(data) != length:
        raise UploadSourceError(
            f"asked the source for {length} bytes at offset {offset}, got {len(data)}: "
            "the file changed while it was being uploaded"
        )
    return data


class BytesSource:
    """A file that is already in memory."""

    def __init__(self, data: bytes) -> None:
        """Serve ``data``."""
        self._data = data

    @property
    def size(self) -> int:
        """The length of the data."""
        return len(self._data)

    async def read(self, offset: int, length: int) -> bytes:
        """Return a slice of the data."""
        return self._data[offset : offset + length]


class FileSource:
    """A local file read by range on the CPU runner's threads."""

    def __init__(self, descriptor: int, size: int, runner: CpuRunner) -> None:
        """Serve the open file ``descriptor`` of ``size`` bytes; see :meth:`open`."""
        self._descriptor = descriptor
        self._size = size
        self._runner = runner

    @classmethod
    def open(cls, path: Path, runner: CpuRunner) -> "FileSource":
        """Open ``path`` for reading and note its size now."""
        descriptor = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(descriptor).st_size
        except OSError:
            os.close(descriptor)
            raise
        return cls(descriptor, size, runner)

    @property
    def size(self) -> int:
        """The file's size when it was opened."""
        return self._size

    async def read(self, offset: int, length: int) -> bytes:
        """Read a range on a worker thread."""
        return await self._runner.run(os.pread, self._descriptor, length, offset)

    def close(self) -> None:
        """Close the file."""
        os.close(self._descriptor)
