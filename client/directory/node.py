"""A directory: named links to files and directories, stored as one file's body.

Rules:

- The node reads its whole body from its :class:`DirectoryBacking` and
  changes it only through ``modify``, with a change computed from the body
  the backing hands it. A backing that collides with another writer calls
  the change again on the winner's body, so concurrent changes to different
  names all land, and a change that no longer applies fails cleanly.
- A read-only or immutable directory refuses every change with
  :class:`NotWritableError`, and shows its children without their write
  caps (it cannot decrypt them).
- Names are NFC-normalized; empty names and names with ``/`` are refused
  (:class:`InvalidChildNameError`).
- Link metadata follows :mod:`client.directory.metadata`: ``linkcrtime``
  survives a replace, ``linkmotime`` is the time of the change; the time
  comes from the injected clock, read once per attempt.
- ``replace`` follows Tahoe's web API: ``True`` replaces, ``False`` refuses
  an existing name (:class:`ExistingChildError`), ``Replace.ONLY_FILES``
  refuses only when the existing child is a directory.
- A change that finds, on a retry, that its own earlier attempt already
  landed (the child it deletes is gone, the name it links holds its caps)
  succeeds instead of failing.
"""

import enum
from collections.abc import Callable, Mapping
from typing import Any

from client.directory.backing import DirectoryBacking
from client.directory.errors import (
    CannotLinkError,
    ChildOfWrongTypeError,
    ExistingChildError,
    InvalidChildNameError,
    NoSuchChildError,
    NotWritableError,
)
from client.directory.links import ChildLink, make_entry
from client.directory.metadata import asks_no_write, update_link_metadata
from grid.caps import ChildCap, DirectoryCap, MutableWriteCap, UnknownCap
from grid.formats.dirnode import (
    DirectoryEntry,
    UnpackedDirectory,
    normalize_child_name,
    pack_directory,
    unpack_directory,
)
from grid.formats.dirnode_errors import DirectoryFormatError

Clock = Callable[[], float]
"""Returns the current time as float Unix seconds."""

_Edit = Callable[[dict[str, DirectoryEntry], bool], bool]
"""Changes the children in place (the flag: first attempt?); says whether anything changed."""


class Replace(enum.Enum):
    """What linking does when the name is taken (Tahoe's ``replace=`` values)."""

    ALWAYS = "true"
    NEVER = "false"
    ONLY_FILES = "only-files"


class ChildKind(enum.Enum):
    """A kind of child an unlink may insist on."""

    FILE = "file"
    DIRECTORY = "directory"


def child_name(name: str) -> str:
    """Normalize a child name given by a caller, or raise InvalidChildNameError."""
    try:
        return normalize_child_name(name)
    except DirectoryFormatError as error:
        raise InvalidChildNameError(str(error)) from error


def _replace_mode(replace: Replace | bool) -> Replace:
    """Accept ``True``/``False`` for the two common modes."""
    if isinstance(replace, Replace):
        return replace
    return Replace.ALWAYS if replace else Replace.NEVER


def _is_directory(entry: DirectoryEntry) -> bool:
    """Whether the child is a directory of a known kind."""
    return isinstance(entry.cap, DirectoryCap)


def _is_file(entry: DirectoryEntry) -> bool:
    """Whether the child is a file of a known kind."""
    cap = entry.cap
    return cap is not None and not isinstance(cap, DirectoryCap | UnknownCap)


def _check_replace(name: str, existing: DirectoryEntry | None, replace: Replace) -> None:
    """Refuse to replace ``existing`` unless ``replace`` allows it."""
    if existing is None or replace is Replace.ALWAYS:
        return
    if replace is Replace.NEVER:
        raise ExistingChildError(f"a child named {name!r} already exists")
    if _is_directory(existing):
        raise ExistingChildError(f"a child named {name!r} already exists and is a directory")


def _same_caps(first: DirectoryEntry, second: DirectoryEntry) -> bool:
    """Whether two entries link the same caps."""
    return first.read_cap == second.read_cap and first.write_cap == second.write_cap


def _linked(name: str, link: ChildLink, old: DirectoryEntry | None, now: float) -> DirectoryEntry:
    """The entry linking ``link`` under ``name``, replacing ``old`` if any."""
    metadata = update_link_metadata(None if old is None else old.metadata, link.metadata, now)
    entry = make_entry(name, link, metadata)
    if asks_no_write(metadata):
        return DirectoryEntry(name, entry.read_cap, None, metadata)
    return entry


class DirectoryNode:
    """One directory, reached through its cap, stored in its backing file."""

    def __init__(self, cap: DirectoryCap, backing: DirectoryBacking, clock: Clock) -> None:
        """Hold the directory's cap, the file its body lives in, and the clock for metadata."""
        self._cap = cap
        self._backing = backing
        self._clock = clock
        self._last_unpacked: tuple[bytes, UnpackedDirectory] | None = None

    @property
    def cap(self) -> DirectoryCap:
        """The cap this node was opened with."""
        return self._cap

    @property
    def is_mutable(self) -> bool:
        """Whether the directory's contents can change at all (for someone)."""
        return self._cap.is_mutable

    @property
    def is_readonly(self) -> bool:
        """Whether this node refuses changes (a read-only cap, or an immutable directory)."""
        return self._cap.is_readonly

    @property
    def _writekey(self) -> bytes | None:
        """The directory's writekey, which seals and opens its children's write caps."""
        file_cap = self._cap.file_cap
        return file_cap.writekey if isinstance(file_cap, MutableWriteCap) else None

    def _unpack(self, body: bytes) -> UnpackedDirectory:
        """Read a body of this directory, write caps included when this node may see them.

        The last body read is remembered, so a change right after a lookup
        does not unpack the same bytes again.
        """
        if self._last_unpacked is not None and self._last_unpacked[0] == body:
            return self._last_unpacked[1]
        unpacked = unpack_directory(body, mutable=self.is_mutable, writekey=self._writekey)
        self._last_unpacked = (body, unpacked)
        return unpacked

    async def list_children(self) -> dict[str, DirectoryEntry]:
        """Every child, by name; entries carry the child's caps and metadata."""
        return dict(self._unpack(await self._backing.read()).entries)

    async def get_child(self, name: str) -> DirectoryEntry:
        """The child named ``name``, or NoSuchChildError."""
        name = child_name(name)
        entry = (await self.list_children()).get(name)
        if entry is None:
            raise NoSuchChildError(f"no child named {name!r}")
        return entry

    async def has_child(self, name: str) -> bool:
        """Whether a child named ``name`` exists."""
        return child_name(name) in await self.list_children()

    def require_writable(self) -> None:
        """Raise NotWritableError unless this node may change the directory."""
        if not self.is_mutable:
            raise NotWritableError("an immutable directory cannot be changed")
        if self.is_readonly:
            raise NotWritableError("this directory was opened read-only")

    async def _change(self, edit: _Edit) -> None:
        """Apply ``edit`` to the children through the backing's modify."""
        self.require_writable()
        attempts = 0

        def change(body: bytes) -> bytes | None:
            nonlocal attempts
            first_time = attempts == 0
            attempts += 1
            unpacked = self._unpack(body)
            children = dict(unpacked.entries)
            if not edit(children, first_time):
                return None
            return pack_directory(
                children.values(), mutable=True, writekey=self._writekey, unchanged_from=unpacked
            )

        await self._backing.modify(change)

    async def set_child(
        self,
        name: str,
        child: ChildLink | ChildCap,
        *,
        replace: Replace | bool = Replace.ALWAYS,
    ) -> None:
        """Link a child (a :class:`ChildLink`, or one cap) under ``name``."""
        link = child if isinstance(child, ChildLink) else ChildLink.to(child)
        await self.set_children({name: link}, replace=replace)

    async def set_children(
        self, links: Mapping[str, ChildLink], *, replace: Replace | bool = Replace.ALWAYS
    ) -> None:
        """Link several children in one change: all of them land, or none."""
        mode = _replace_mode(replace)
        normalized: dict[str, ChildLink] = {}
        for name, link in links.items():
            key = child_name(name)
            if key in normalized:
                raise CannotLinkError(f"two children would be named {key!r}")
            normalized[key] = link
        for key, link in normalized.items():
            make_entry(key, link, link.metadata or {})

        def edit(children: dict[str, DirectoryEntry], first_time: bool) -> bool:
            now = self._clock()
            for key, link in normalized.items():
                old = children.get(key)
                new = _linked(key, link, old, now)
                if old is not None and not first_time and _same_caps(old, new):
                    continue
                _check_replace(key, old, mode)
                children[key] = new
            return True

        await self._change(edit)

    async def set_metadata(self, name: str, metadata: Mapping[str, Any]) -> None:
        """Replace a child's metadata (all but the node's own ``tahoe`` key)."""
        name = child_name(name)

        def edit(children: dict[str, DirectoryEntry], _first_time: bool) -> bool:
            old = children.get(name)
            if old is None:
                raise NoSuchChildError(f"no child named {name!r}")
            updated = update_link_metadata(old.metadata, metadata, self._clock())
            write_cap = None if asks_no_write(updated) else old.write_cap
            children[name] = DirectoryEntry(name, old.read_cap, write_cap, updated)
            return True

        await self._change(edit)

    async def delete_child(
        self, name: str, *, must_exist: bool = True, must_be: ChildKind | None = None
    ) -> DirectoryEntry | None:
        """Unlink ``name``; return the entry removed, or None if there was none.

        ``must_be`` refuses to unlink a child of the other known kind
        (children of unknown kind are always unlinked).
        """
        name = child_name(name)
        removed: DirectoryEntry | None = None

        def edit(children: dict[str, DirectoryEntry], first_time: bool) -> bool:
            nonlocal removed
            removed = children.pop(name, None)
            if removed is None:
                if first_time and must_exist:
                    raise NoSuchChildError(f"no child named {name!r}")
                return False
            if must_be is ChildKind.DIRECTORY and _is_file(removed):
                raise ChildOfWrongTypeError(f"{name!r} is a file, not a directory")
            if must_be is ChildKind.FILE and _is_directory(removed):
                raise ChildOfWrongTypeError(f"{name!r} is a directory, not a file")
            return True

        await self._change(edit)
        return removed

    async def rename_child(
        self, old_name: str, new_name: str, *, replace: Replace | bool = Replace.ALWAYS
    ) -> None:
        """Move a child to a new name in this directory, in one change.

        The link is new, so it gets a new ``linkcrtime`` (unless it replaces
        a child, whose ``linkcrtime`` it keeps), as Tahoe's rename does.
        """
        old_name, new_name = child_name(old_name), child_name(new_name)
        mode = _replace_mode(replace)

        def edit(children: dict[str, DirectoryEntry], first_time: bool) -> bool:
            moving = children.get(old_name)
            if moving is None:
                if first_time:
                    raise NoSuchChildError(f"no child named {old_name!r}")
                return False
            if old_name == new_name:
                return False
            target = children.get(new_name)
            _check_replace(new_name, target, mode)
            old_metadata = None if target is None else target.metadata
            metadata = update_link_metadata(old_metadata, moving.metadata, self._clock())
            write_cap = None if asks_no_write(metadata) else moving.write_cap
            del children[old_name]
            children[new_name] = DirectoryEntry(new_name, moving.read_cap, write_cap, metadata)
            return True

        await self._change(edit)

    async def move_child_to(
        self,
        name: str,
        new_parent: "DirectoryNode",
        new_name: str | None = None,
        *,
        replace: Replace | bool = Replace.ALWAYS,
    ) -> None:
        """Move a child to ``new_parent`` (maybe this directory) under ``new_name``.

        Between two directories this is two changes, as in Tahoe: link in
        the new parent, then unlink here (a child already gone is not an error).
        """
        target_name = name if new_name is None else new_name
        if new_parent.cap == self._cap:
            await self.rename_child(name, target_name, replace=replace)
            return
        self.require_writable()
        new_parent.require_writable()
        entry = await self.get_child(name)
        link = ChildLink(entry.write_cap, entry.read_cap, entry.metadata)
        await new_parent.set_children({target_name: link}, replace=replace)
        await self.delete_child(name, must_exist=False)
