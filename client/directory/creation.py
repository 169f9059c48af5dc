"""Bodies of new directories created with their children (mkdir-with-children, mkdir-immutable).

Rules: the children's metadata is stored as given (no link times are
added, as in Tahoe); names are normalized and must not collide after
normalization; caps follow :mod:`client.directory.links`. A new mutable
directory needs its own writekey to seal its children's write caps. A
deep-immutable directory takes only immutable children (CHK, LIT, DIR2-CHK,
DIR2-LIT, unknown caps under ``imm.``), recursively so by construction: its
directory children are themselves immutable. Uploading the body (as a LIT or
CHK file, or as a new mutable file) is the caller's part.
"""

from collections.abc import Mapping

from client.directory.errors import CannotLinkError
from client.directory.links import ChildLink, make_entry
from client.directory.node import child_name
from grid.formats.dirnode import DirectoryEntry, pack_directory


def _entries(links: Mapping[str, ChildLink], deep_immutable: bool) -> list[DirectoryEntry]:
    """The entries for ``links``, names normalized and checked for collisions."""
    entries: dict[str, DirectoryEntry] = {}
    for name, link in links.items():
        key = child_name(name)
        if key in entries:
            raise CannotLinkError(f"two children would be named {key!r}")
        entries[key] = make_entry(key, link, link.metadata or {}, deep_immutable=deep_immutable)
    return list(entries.values())


def build_mutable_directory_body(links: Mapping[str, ChildLink], writekey: bytes) -> bytes:
    """The first body of a new mutable directory whose writekey is ``writekey``."""
    return pack_directory(_entries(links, deep_immutable=False), mutable=True, writekey=writekey)


def build_immutable_directory_body(links: Mapping[str, ChildLink]) -> bytes:
    """The body of a new deep-immutable directory; refuses any child that could change."""
    return pack_directory(_entries(links, deep_immutable=True), mutable=False)
