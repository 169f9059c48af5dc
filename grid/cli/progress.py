"""A progress line on stderr for long transfers, only when stderr is a terminal.

Rules: nothing is printed when stderr is not a terminal, when the caller
asked for quiet, or for transfers of 1 MiB or less. The line is redrawn at
most a few times a second and ends with a newline when the transfer ends.
"""

import sys
import time
from typing import IO, Protocol

PROGRESS_THRESHOLD = 1024 * 1024
_REDRAW_INTERVAL = 0.2


class Progress:
    """Counts bytes moved and redraws one status line."""

    def __init__(self, label: str, total: int | None, *, quiet: bool, stream: IO[str]) -> None:
        """Describe a transfer of ``total`` bytes (None: unknown)."""
        self._label = label
        self._total = total
        self._stream = stream
        self._enabled = (
            not quiet and stream.isatty() and (total is None or total > PROGRESS_THRESHOLD)
        )
        self._done = 0
        self._drawn_at = 0.0

    def advance(self, count: int) -> None:
        """Note ``count`` more bytes moved; redraw if it is time."""
        self._done += count
        now = time.monotonic()
        if self._enabled and now - self._drawn_at >= _REDRAW_INTERVAL:
            self._drawn_at = now
            self._draw()

    def finish(self) -> None:
        """Draw the final line and end it."""
        if self._enabled:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        mib = self._done / (1024 * 1024)
        if self._total:
            share = self._done / self._total
            self._stream.write(
                f"\r{self._label}: {mib:.1f} MiB of {self._total / 1048576:.1f} MiB ({share:.0%})"
            )
        else:
            self._stream.write(f"\r{self._label}: {mib:.1f} MiB")
        self._stream.flush()


def progress_for(label: str, total: int | None, *, quiet: bool) -> Progress:
    """A progress line on stderr."""
    return Progress(label, total, quiet=quiet, stream=sys.stderr)


class Readable(Protocol):
    """Anything with a file's ``read``."""

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes."""


class CountingReader:
    """A readable file that reports every read to a Progress."""

    def __init__(self, source: Readable, progress: Progress) -> None:
        """Wrap ``source``."""
        self._source = source
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        """Read and count."""
        data = self._source.read(size)
        self._progress.advance(len(data))
        return data
