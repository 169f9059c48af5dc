"""A progress line counting items (files copied, files backed up) on a terminal.

Rules: nothing is printed when the stream is not a terminal or the caller
asked for quiet. The line is redrawn at most a few times a second, and
:meth:`CountProgress.finish` draws the final count and ends the line (only
if something was drawn, so short runs stay silent).
"""

import sys
import time
from collections.abc import Callable
from typing import IO

_REDRAW_INTERVAL = 0.2


class CountProgress:
    """Counts finished items and redraws ``label: N files`` on one line."""

    def __init__(
        self,
        label: str,
        *,
        quiet: bool,
        stream: IO[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Describe an operation that finishes items one by one; ``clock`` paces redraws."""
        self._label = label
        self._stream = stream
        self._clock = clock
        self._enabled = not quiet and stream.isatty()
        self._count = 0
        self._drawn_at = clock()
        self._drawn = False

    @property
    def count(self) -> int:
        """How many items have finished."""
        return self._count

    def advance(self) -> None:
        """Note one more finished item; redraw if it is time."""
        self._count += 1
        now = self._clock()
        if self._enabled and now - self._drawn_at >= _REDRAW_INTERVAL:
            self._drawn_at = now
            self._draw()

    def finish(self) -> None:
        """Draw the final count and end the line, if a line was started."""
        if self._drawn:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        self._drawn = True
        self._stream.write(f"\r{self._label}: {self._count} files")
        self._stream.flush()


def count_progress(label: str, *, quiet: bool) -> CountProgress:
    """A counting progress line on stderr."""
    return CountProgress(label, quiet=quiet, stream=sys.stderr)
