"""What one storage index's bucket directory holds, sorted by kind of share.

Rules: every file in ``shares/<p>/<si>/`` named by a share number is read
just far enough to tell its kind. Immutable shares are listed by path;
mutable shares are opened (their header parsed). A file that is neither, or a
mutable container whose header does not parse, is *unusable*: reads and
leases skip it, writes refuse to touch it, and it is logged, never deleted.
"""

import logging
from pathlib import Path

import attrs

from storage_server.errors import CorruptShareError, ShareNotFoundError
from storage_server.layout import storage_index_to_b32
from storage_server.mutable_store import MutableShare, open_mutable_share
from storage_server.share_files import ShareKind, list_share_files, read_share_kind

_log = logging.getLogger(__name__)


@attrs.frozen
class Bucket:
    """The share files of one storage index, by kind and share number."""

    immutable: dict[int, Path]
    mutable: dict[int, MutableShare]
    unusable: frozenset[int]

    @property
    def occupied(self) -> frozenset[int]:
        """Every share number that has a file, whatever it holds."""
        return frozenset(self.immutable) | frozenset(self.mutable) | self.unusable


def scan_bucket(bucket_dir: Path, storage_index: bytes) -> Bucket:
    """Sort the share files of ``bucket_dir`` by kind (an absent directory is empty)."""
    immutable: dict[int, Path] = {}
    mutable: dict[int, MutableShare] = {}
    unusable: set[int] = set()
    for shnum, path in list_share_files(bucket_dir).items():
        kind = read_share_kind(path)
        if kind is ShareKind.IMMUTABLE:
            immutable[shnum] = path
            continue
        if kind is ShareKind.MUTABLE:
            try:
                mutable[shnum] = open_mutable_share(path, shnum)
            except (CorruptShareError, ShareNotFoundError):
                pass
            else:
                continue
        _log.warning(
            "storage.share.unusable si=%s shnum=%d", storage_index_to_b32(storage_index), shnum
        )
        unusable.add(shnum)
    return Bucket(immutable, mutable, frozenset(unusable))
