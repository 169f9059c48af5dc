"""Turning caps into nodes, and making new files and directories.

Rules: :meth:`NodeMaker.node_for_cap` opens any cap the grid knows — CHK,
LIT, SDMF, MDMF (write or read), and every directory kind — and returns
None for a cap it cannot open (unknown kinds, verify caps). A directory's
backing is the node of its inner file cap: a mutable file (whose modify
loop makes concurrent changes all land) or an immutable file that refuses
changes. New mutable files and directories use ``[client] mutable.format``
(SDMF by default, as in Tahoe-LAFS); new immutable directories are uploaded
as CHK (LIT when small) with the node's convergence secret.
"""

import time
from collections.abc import Callable, Mapping

from client.checking import CheckService
from client.directory import (
    BodyChange,
    ChildLink,
    DirectoryNode,
    NotWritableError,
    build_immutable_directory_body,
    build_mutable_directory_body,
)
from client.file_service import FileService
from client.filenodes import FileNode, ImmutableFileNode, MutableFileNode
from client.mutable.keys import keys_from_private_key
from client.mutable.service import Contents, MutableService, Snapshot
from client.upload.plaintext_source import BytesSource
from grid.caps import (
    ChildCap,
    CHKReadCap,
    DirectoryCap,
    LiteralCap,
    MutableFormat,
    MutableReadCap,
    MutableWriteCap,
)
from grid.crypto.rsa import RsaPrivateKey

Node = FileNode | DirectoryNode


class _MutableBacking:
    """A mutable directory's body: the whole contents of its mutable file.

    The last read is kept so that a change right after it (look up a name,
    then link it) starts from what was read instead of reading again; the
    modify loop's test vectors catch a snapshot that went stale.
    """

    def __init__(self, file: MutableFileNode) -> None:
        self._file = file
        self._last_read: Snapshot | None = None

    async def read(self) -> bytes:
        """The file's newest contents."""
        self._last_read = await self._file.read_snapshot()
        return self._last_read.contents

    async def modify(self, change: BodyChange) -> None:
        """Change the contents through the file's modify loop."""
        start, self._last_read = self._last_read, None
        await self._file.modify(change, start=start)


class _ImmutableBacking:
    """An immutable directory's body: a CHK or LIT file."""

    def __init__(self, file: ImmutableFileNode) -> None:
        self._file = file

    async def read(self) -> bytes:
        """The file's contents."""
        return await self._file.read_all()

    async def modify(self, change: BodyChange) -> None:
        """Refuse: an immutable directory never changes."""
        raise NotWritableError("an immutable directory cannot be changed")


class NodeMaker:
    """Opens caps as nodes, creates mutable files and directories, and holds the checker."""

    def __init__(
        self,
        files: FileService,
        mutable: MutableService,
        checker: CheckService,
        *,
        default_mutable_format: MutableFormat = MutableFormat.SDMF,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Use ``files`` for immutable files, ``mutable`` for mutable ones, ``checker`` to check."""
        self.files = files
        self.checker = checker
        self._files = files
        self._mutable = mutable
        self.default_mutable_format = default_mutable_format
        self._clock = clock

    def node_for_cap(self, cap: ChildCap) -> Node | None:
        """The node ``cap`` opens, or None if it names nothing this node can read."""
        if isinstance(cap, CHKReadCap | LiteralCap):
            return ImmutableFileNode(cap, self._files)
        if isinstance(cap, MutableWriteCap | MutableReadCap):
            return MutableFileNode(cap, self._mutable)
        if isinstance(cap, DirectoryCap):
            return self.directory_for_cap(cap)
        return None

    def directory_for_cap(self, cap: DirectoryCap) -> DirectoryNode | None:
        """The directory ``cap`` opens, or None for a directory verify cap."""
        file_cap = cap.file_cap
        if isinstance(file_cap, MutableWriteCap | MutableReadCap):
            backing: _MutableBacking | _ImmutableBacking = _MutableBacking(
                MutableFileNode(file_cap, self._mutable)
            )
        elif isinstance(file_cap, CHKReadCap | LiteralCap):
            backing = _ImmutableBacking(ImmutableFileNode(file_cap, self._files))
        else:
            return None
        return DirectoryNode(cap, backing, self._clock)

    async def create_mutable_file(
        self,
        contents: Contents,
        fmt: MutableFormat | None = None,
        private_key: RsaPrivateKey | None = None,
    ) -> MutableFileNode:
        """A new mutable file holding ``contents`` (bytes, or a source read by range)."""
        cap = await self._mutable.create(
            contents, fmt or self.default_mutable_format, private_key=private_key
        )
        return MutableFileNode(cap, self._mutable)

    async def create_directory(
        self,
        children: Mapping[str, ChildLink] | None = None,
        fmt: MutableFormat | None = None,
    ) -> DirectoryNode:
        """A new mutable directory, empty or holding ``children``."""
        private_key = await self._mutable.new_private_key()
        writekey = keys_from_private_key(private_key).write_cap(MutableFormat.SDMF).writekey
        body = build_mutable_directory_body(children or {}, writekey)
        cap = await self._mutable.create(
            body, fmt or self.default_mutable_format, private_key=private_key
        )
        backing = _MutableBacking(MutableFileNode(cap, self._mutable))
        return DirectoryNode(DirectoryCap(cap), backing, self._clock)

    async def create_immutable_directory(self, children: Mapping[str, ChildLink]) -> DirectoryNode:
        """A new deep-immutable directory holding ``children``."""
        body = build_immutable_directory_body(children)
        result = await self._files.upload(BytesSource(body))
        file = ImmutableFileNode(result.cap, self._files)
        return DirectoryNode(DirectoryCap(result.cap), _ImmutableBacking(file), self._clock)
