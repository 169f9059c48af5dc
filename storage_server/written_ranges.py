"""Which byte ranges of an unfinished upload have been written.

Rules: ranges are half-open ``[start, end)`` and kept sorted, disjoint and
merged (touching ranges become one), so a sequential upload is one range
however many writes it took. :meth:`WrittenRanges.overlaps` tells a bucket
writer which parts of a new write must be compared with what is already on
disk; :meth:`WrittenRanges.count_if_added` lets it refuse a write that would
fragment the record past a limit before anything is written.
"""

import bisect


class WrittenRanges:
    """A set of written byte ranges, stored as sorted disjoint ``[start, end)`` pairs."""

    def __init__(self) -> None:
        """Start with nothing written."""
        self._starts: list[int] = []
        self._ends: list[int] = []

    def __len__(self) -> int:
        """How many separate ranges are recorded."""
        return len(self._starts)

    def ranges(self) -> list[tuple[int, int]]:
        """The recorded ranges, sorted."""
        return list(zip(self._starts, self._ends, strict=True))

    def _touching(self, start: int, end: int) -> tuple[int, int]:
        """Index span of the recorded ranges that overlap or touch ``[start, end)``."""
        first = bisect.bisect_left(self._ends, start)
        last = bisect.bisect_right(self._starts, end)
        return first, last

    def overlaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` already written, sorted."""
        if start >= end:
            return []
        first, last = self._touching(start, end)
        parts = []
        for index in range(first, last):
            low, high = max(start, self._starts[index]), min(end, self._ends[index])
            if low < high:
                parts.append((low, high))
        return parts

    def count_if_added(self, start: int, end: int) -> int:
        """How many ranges there would be after adding ``[start, end)``."""
        if start >= end:
            return len(self)
        first, last = self._touching(start, end)
        return len(self) - (last - first) + 1

    def add(self, start: int, end: int) -> None:
        """Record ``[start, end)`` as written, merging it with ranges it overlaps or touches."""
        if start >= end:
            return
        first, last = self._touching(start, end)
        if first < last:
            start = min(start, self._starts[first])
            end = max(end, self._ends[last - 1])
        self._starts[first:last] = [start]
        self._ends[first:last] = [end]
