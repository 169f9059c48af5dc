"""Corruption advisories: plain-text reports that a client found a share corrupt.

Rules:

- One report per advisory in ``STORAGE/corruption-advisories/``, named
  ``<UTC time>--<b32 storage index>-<shnum>`` with the time written
  ``YYYY-MM-DDTHHMMSS.ffffffZ`` (no colons, as Tahoe does for Windows). Only
  the server's clock, the validated storage index and the share number make
  up the name: nothing the client says can choose a path. A name already taken
  gets a ``.1``, ``.2``, ... suffix instead of being overwritten.
- The body lists the share type, storage index and share number, then the
  client's reason, decoded as UTF-8 with every undecodable byte and every
  control character (except newline and tab) shown as an escape, so a report
  is safe to print on a terminal.
- Writing a report never raises: a disk that cannot take it is logged and
  the advisory dropped, because a client's advice must not fail the server.
"""

import datetime
import logging
from pathlib import Path

from storage_server.layout import storage_index_to_b32

MAX_NAME_ATTEMPTS = 100

_log = logging.getLogger(__name__)
_KEPT_CONTROLS = frozenset("\n\t")


def advisory_time(now: float) -> str:
    """The time part of a report's name, from a unix time."""
    try:
        moment = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return "unknown-time"
    return moment.strftime("%Y-%m-%dT%H%M%S.%fZ")


def printable_reason(reason: bytes) -> str:
    """A client's reason as text safe to show: escapes for bad bytes and control characters."""
    text = reason.decode("utf-8", errors="backslashreplace")
    return "".join(
        char if char.isprintable() or char in _KEPT_CONTROLS else ascii(char)[1:-1] for char in text
    )


def render_advisory(share_type: bytes, storage_index: bytes, shnum: int, reason: bytes) -> str:
    """The text of one report."""
    return (
        "report: Share Corruption\n"
        f"type: {share_type.decode('ascii')}\n"
        f"storage_index: {storage_index_to_b32(storage_index)}\n"
        f"share_number: {shnum}\n"
        "\n"
        f"{printable_reason(reason)}\n"
    )


def write_advisory(
    directory: Path, *, now: float, storage_index: bytes, shnum: int, report: str
) -> Path | None:
    """Write a rendered report under a fresh name; return its path, or None if it failed."""
    base = f"{advisory_time(now)}--{storage_index_to_b32(storage_index)}-{shnum}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(MAX_NAME_ATTEMPTS):
            path = directory / (base if attempt == 0 else f"{base}.{attempt}")
            try:
                with path.open("x", encoding="utf-8") as report_file:
                    report_file.write(report)
            except FileExistsError:
                continue
            return path
    except OSError:
        _log.warning("storage.advisory.write-failed shnum=%d", shnum)
        return None
    _log.warning("storage.advisory.too-many-reports shnum=%d", shnum)
    return None
