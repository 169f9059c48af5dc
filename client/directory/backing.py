"""The file a directory is stored in, as the directory node sees it.

Rules: a directory node only ever reads its whole body or changes it
through :meth:`DirectoryBacking.modify`, never by a blind write, so two
writers that collide both end up in the directory: the backing (a mutable
file) calls ``change`` with the current body, publishes what it returns,
and if the publish collides with another writer it calls ``change`` again
with the body that won. ``change`` returning None means "nothing to do".
Immutable backings refuse ``modify``; the node never asks them to.
"""

from collections.abc import Callable
from typing import Protocol

from client.directory.errors import NotWritableError

BodyChange = Callable[[bytes], bytes | None]
"""Given the current body, the new body, or None to leave it as it is."""


class DirectoryBacking(Protocol):
    """The file holding a directory's body."""

    async def read(self) -> bytes:
        """Return the current body."""
        ...

    async def modify(self, change: BodyChange) -> None:
        """Apply ``change`` to the current body, calling it again after each collision."""
        ...


class LiteralDirectoryBacking:
    """The body of a literal directory (``URI:DIR2-LIT:``): carried in the cap itself."""

    def __init__(self, body: bytes) -> None:
        """Hold the body the cap carries."""
        self._body = body

    async def read(self) -> bytes:
        """Return the body from the cap."""
        return self._body

    async def modify(self, change: BodyChange) -> None:
        """Refuse: a literal directory never changes."""
        raise NotWritableError("a literal directory is immutable")
