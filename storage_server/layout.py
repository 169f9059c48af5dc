"""Where a storage server keeps things under its storage directory (Tahoe's layout).

Rules:

- Final shares live at ``STORAGE/shares/<p>/<si>/<shnum>`` where ``<si>`` is
  the 26-character base32 of the 16-byte storage index, ``<p>`` its first two
  characters and ``<shnum>`` the share number in canonical decimal.
- Immutable uploads in progress live at the same relative path under
  ``STORAGE/shares/incoming/``. Everything under ``incoming/`` is scratch: a
  server deletes it when it starts, so a crash never leaves a share that looks
  complete.
- Mutable updates are written to a scratch file under
  ``STORAGE/shares/incoming/mutable/`` and renamed over the share (same file
  system, so the rename is atomic).
- Corruption advisories are plain-text files in ``STORAGE/corruption-advisories/``.
- This module only computes paths and parses names; it does no I/O. Share
  numbers are 0..255; a bucket directory entry whose name is not a canonical
  share number is not a share.
"""

from pathlib import Path

import attrs

from grid.base32 import b2a

MAX_SHARE_NUMBER = 255

_SHARES = "shares"
_INCOMING = "incoming"
_MUTABLE_SCRATCH = "mutable"
_ADVISORIES = "corruption-advisories"


def storage_index_to_b32(storage_index: bytes) -> str:
    """The 26-character base32 name of a storage index."""
    return b2a(storage_index)


def parse_share_number(name: str) -> int | None:
    """The share number a bucket directory entry names, or None if it names none."""
    if not name.isascii() or not name.isdigit() or len(name) > 3:
        return None
    if name != "0" and name.startswith("0"):
        return None
    number = int(name)
    return number if number <= MAX_SHARE_NUMBER else None


@attrs.frozen
class StorageLayout:
    """Paths under one storage directory."""

    root: Path

    @property
    def shares_dir(self) -> Path:
        """``STORAGE/shares``: one prefix directory per two base32 characters."""
        return self.root / _SHARES

    @property
    def incoming_dir(self) -> Path:
        """``STORAGE/shares/incoming``: scratch space, emptied at start."""
        return self.shares_dir / _INCOMING

    @property
    def mutable_scratch_dir(self) -> Path:
        """Where mutable updates are prepared before being renamed into place."""
        return self.incoming_dir / _MUTABLE_SCRATCH

    @property
    def corruption_advisories_dir(self) -> Path:
        """``STORAGE/corruption-advisories``: plain-text reports from clients."""
        return self.root / _ADVISORIES

    def bucket_dir(self, storage_index: bytes) -> Path:
        """The directory holding the final shares of one storage index."""
        return self.shares_dir / _relative_bucket(storage_index)

    def share_path(self, storage_index: bytes, shnum: int) -> Path:
        """The final path of one share."""
        return self.bucket_dir(storage_index) / str(shnum)

    def incoming_bucket_dir(self, storage_index: bytes) -> Path:
        """The directory holding the unfinished uploads of one storage index."""
        return self.incoming_dir / _relative_bucket(storage_index)

    def incoming_share_path(self, storage_index: bytes, shnum: int) -> Path:
        """Where an upload of one immutable share is written until it is closed."""
        return self.incoming_bucket_dir(storage_index) / str(shnum)

    def mutable_scratch_path(self, storage_index: bytes, shnum: int) -> Path:
        """The scratch file a mutable share's next version is prepared in."""
        return self.mutable_scratch_dir / f"{storage_index_to_b32(storage_index)}.{shnum}"


def _relative_bucket(storage_index: bytes) -> Path:
    name = storage_index_to_b32(storage_index)
    return Path(name[:2]) / name
