"""The announcement cache an introducer client keeps beside each introducer.

Rules: ``private/introducer_<petname>_cache.yaml`` is a YAML list of
``{ann: <announcement fields>, key_s: "v0-…"}`` entries, as Tahoe-LAFS 1.20
writes it, so node directories move between the two. Like Tahoe's, the cache
holds no signatures: its entries were verified when they arrived, and the
file lives in ``private/`` beside the node's keys, so on load they are
trusted as local data (:class:`CachedAnnouncement`, not a signed one). The
file is written atomically (a temporary file, then a rename). A cache that
is not YAML or not a list is ignored as a whole; an entry that is not a
mapping with a ``v0-`` server id and fields naming a service is skipped.
Either way a warning is logged and the next store rewrites the file.
"""

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs
import yaml

from grid.crypto.ed25519 import NodeVerifyingKey
from grid.errors import KeyFormatError
from introducer.errors import CacheFormatError

_log = logging.getLogger(__name__)


class Announcement(Protocol):
    """What subscribers get from an introducer client: a signed or a cached announcement."""

    @property
    def server_id(self) -> str:
        """The announcing node's id, ``v0-<b32 pubkey>``."""

    @property
    def service_name(self) -> str:
        """The service announced, such as ``"storage"``."""

    @property
    def fields(self) -> Mapping[str, Any]:
        """The announcement's fields."""


@attrs.frozen
class CachedAnnouncement:
    """An announcement read back from the cache: verified once, trusted as local data."""

    server_id: str
    fields: Mapping[str, Any]

    @property
    def service_name(self) -> str:
        """The service announced (the cache only holds entries that name one)."""
        name: str = self.fields["service-name"]
        return name


@attrs.frozen
class CacheContents:
    """What a cache file held: the usable entries and how many were skipped."""

    announcements: tuple[CachedAnnouncement, ...]
    skipped: int


def cache_path(node_dir: Path, petname: str) -> Path:
    """Where the cache for the introducer called ``petname`` lives."""
    return node_dir / "private" / f"introducer_{petname}_cache.yaml"


def parse_cache(text: str) -> CacheContents:
    """Read cache file text; raise CacheFormatError unless it is a YAML list."""
    try:
        entries = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise CacheFormatError(f"not YAML: {str(error).splitlines()[0]}") from None
    if entries is None:
        return CacheContents((), 0)
    if not isinstance(entries, list):
        raise CacheFormatError("not a YAML list of announcements")
    usable = [entry for entry in map(_parse_entry, entries) if entry is not None]
    return CacheContents(tuple(usable), len(entries) - len(usable))


def _parse_entry(entry: object) -> CachedAnnouncement | None:
    """One cache entry, or None if it is unusable."""
    if not isinstance(entry, dict):
        return None
    server_id = entry.get("key_s")
    fields = entry.get("ann")
    if not isinstance(server_id, str) or not isinstance(fields, dict):
        return None
    if not all(isinstance(key, str) for key in fields):
        return None
    service_name = fields.get("service-name")
    if not isinstance(service_name, str) or not service_name:
        return None
    try:
        NodeVerifyingKey.from_id(server_id)
    except KeyFormatError:
        return None
    return CachedAnnouncement(server_id, fields)


def render_cache(announcements: Iterable[Announcement]) -> str:
    """The cache file text for ``announcements``."""
    entries = [
        {"ann": _plain(announcement.fields), "key_s": announcement.server_id}
        for announcement in announcements
    ]
    text: str = yaml.safe_dump(entries)
    return text


def _plain(value: Any) -> Any:
    """A copy of ``value`` with every mapping a dict and every sequence a list (for YAML)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class AnnouncementCache:
    """One introducer's cache file: load it at start, store after each change."""

    def __init__(self, path: Path) -> None:
        """Remember the file's path; nothing is read until :meth:`load`."""
        self.path = path

    def load(self) -> list[CachedAnnouncement]:
        """The cached announcements; an absent or unreadable file gives none."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as error:
            _log.warning("introducer.cache.unreadable path=%s error=%s", self.path, error)
            return []
        try:
            contents = parse_cache(text)
        except CacheFormatError as error:
            _log.warning("introducer.cache.ignored path=%s error=%s", self.path, error)
            return []
        if contents.skipped:
            _log.warning(
                "introducer.cache.entries-skipped path=%s count=%d", self.path, contents.skipped
            )
        return list(contents.announcements)

    def store(self, announcements: Iterable[Announcement]) -> None:
        """Replace the file's contents with ``announcements``, atomically."""
        text = render_cache(announcements)
        temporary = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(self.path)
