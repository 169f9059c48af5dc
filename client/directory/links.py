"""Turning the caps a caller gives into the caps a directory entry stores.

Rules (as Tahoe-LAFS 1.20 links children):

- A known write cap is stored with the read-only cap derived from it; a
  read cap the caller also gave is ignored. A known read-only cap is stored
  as the read cap alone.
- An unknown cap given alone is linked only if it carries ``ro.`` or
  ``imm.``: then it is a read cap. Without a prefix its strength cannot be
  known, and writing it in clear might leak write authority, so it is
  refused. An unknown write cap given with a read cap is stored with it.
- An unknown read cap given without a prefix gets ``ro.`` (``imm.`` in an
  immutable directory), since the caller says it is a read cap.
- A cap that was recognised but refused when parsed (an ``UnknownCap`` with
  an error, such as a write cap under ``ro.``) is never linked.
- In an immutable directory only read caps of immutable things are linked:
  CHK, LIT, DIR2-CHK, DIR2-LIT, and unknown caps under ``imm.``.

Every refusal is a :class:`~client.directory.errors.CannotLinkError`.
"""

from collections.abc import Mapping
from typing import Any

import attrs

from client.directory.errors import CannotLinkError
from grid.caps import (
    ALLEGED_IMMUTABLE_PREFIX,
    ALLEGED_READONLY_PREFIX,
    ChildCap,
    UnknownCap,
    parse_child_cap,
)
from grid.formats.dirnode import (
    DirectoryEntry,
    check_allowed_in_immutable_directory,
    serialize_metadata,
)
from grid.formats.dirnode_errors import DirectoryFormatError


@attrs.frozen
class ChildLink:
    """What a caller asks to link under a name: caps as given, and new metadata if any.

    ``metadata`` None keeps the old link's metadata (when replacing) or
    starts from none; see :mod:`client.directory.metadata`.
    """

    write_cap: ChildCap | None
    read_cap: ChildCap | None = None
    metadata: Mapping[str, Any] | None = None

    @classmethod
    def to(cls, cap: ChildCap, metadata: Mapping[str, Any] | None = None) -> "ChildLink":
        """A link to one cap (write or read), with optional metadata."""
        return cls(cap, None, metadata)


def _refuse_errors(cap: ChildCap | None) -> None:
    """Refuse a cap that was recognised but not accepted when it was parsed."""
    if isinstance(cap, UnknownCap) and cap.error is not None:
        raise CannotLinkError(f"cannot link this cap: {cap.error}")


def _as_read_cap(cap: ChildCap, deep_immutable: bool) -> ChildCap:
    """A cap the caller gave as a read cap, in the form the read slot stores."""
    if isinstance(cap, UnknownCap):
        text = cap.text
        if not text.startswith((ALLEGED_READONLY_PREFIX, ALLEGED_IMMUTABLE_PREFIX)):
            text = (ALLEGED_IMMUTABLE_PREFIX if deep_immutable else ALLEGED_READONLY_PREFIX) + text
        cap = parse_child_cap(text, deep_immutable=deep_immutable)
        _refuse_errors(cap)
        return cap
    if not cap.is_readonly:
        raise CannotLinkError(f"a {cap.kind} write cap was given as a read cap")
    return cap


def _stored_caps(link: ChildLink, deep_immutable: bool) -> tuple[ChildCap | None, ChildCap]:
    """The (write, read) caps an entry stores for ``link``."""
    write_cap, read_cap = link.write_cap, link.read_cap
    _refuse_errors(write_cap)
    _refuse_errors(read_cap)
    if write_cap is None:
        if read_cap is None:
            raise CannotLinkError("a link needs a cap")
        return None, _as_read_cap(read_cap, deep_immutable)
    if not isinstance(write_cap, UnknownCap):
        if write_cap.is_readonly:
            return None, write_cap
        return write_cap, write_cap.read_only()
    if read_cap is not None:
        return write_cap, _as_read_cap(read_cap, deep_immutable)
    if write_cap.text.startswith((ALLEGED_READONLY_PREFIX, ALLEGED_IMMUTABLE_PREFIX)):
        return None, _as_read_cap(write_cap, deep_immutable)
    raise CannotLinkError(
        "cannot link a cap of unknown kind without its read-only form: it may be a write cap"
    )


def make_entry(
    name: str,
    link: ChildLink,
    metadata: Mapping[str, Any],
    *,
    deep_immutable: bool = False,
) -> DirectoryEntry:
    """The entry for ``link`` under ``name`` (already normalized) with final ``metadata``.

    ``deep_immutable`` makes an entry for an immutable directory.
    """
    write_cap, read_cap = _stored_caps(link, deep_immutable)
    try:
        serialize_metadata(metadata)
        entry = DirectoryEntry(name, read_cap, write_cap, metadata)
        if deep_immutable:
            check_allowed_in_immutable_directory(entry)
    except DirectoryFormatError as error:
        raise CannotLinkError(str(error)) from error
    return entry
