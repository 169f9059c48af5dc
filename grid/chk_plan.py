"""Sizes of a CHK file's segments, blocks and shares, as Tahoe-LAFS computes them.

Rules: ``segment_size = next_multiple(min(max_segment_size, size), k)``;
``num_segments = ceil(size / segment_size)``; the tail segment is the rest
(a whole segment when size divides evenly), padded with zeros to a multiple
of k; every block is a segment's length divided by k. Files of at most
:data:`LIT_THRESHOLD` bytes are not CHK files at all: they become LIT caps.
"""

import attrs

from grid.codec import check_parameters
from grid.errors import EncodingParametersError

DEFAULT_MAX_SEGMENT_SIZE = 1024 * 1024
LIT_THRESHOLD = 55


def next_multiple(value: int, factor: int) -> int:
    """Round ``value`` up to a multiple of ``factor``."""
    return -(-value // factor) * factor


def _check_plan(instance: "ChkPlan", _attribute: object, _value: object) -> None:
    check_parameters(instance.needed, instance.total)
    if instance.size < 1:
        raise EncodingParametersError("a CHK file holds at least one byte")
    if instance.max_segment_size < 1:
        raise EncodingParametersError("the maximum segment size must be positive")


@attrs.frozen
class ChkPlan:
    """Every size derived from a file size and its encoding parameters."""

    size: int
    needed: int
    total: int
    max_segment_size: int = attrs.field(default=DEFAULT_MAX_SEGMENT_SIZE, validator=_check_plan)

    @property
    def segment_size(self) -> int:
        """Bytes of plaintext per segment (all but possibly the last)."""
        return next_multiple(min(self.max_segment_size, self.size), self.needed)

    @property
    def num_segments(self) -> int:
        """How many segments the file is cut into."""
        return -(-self.size // self.segment_size)

    @property
    def tail_size(self) -> int:
        """Bytes in the last segment, before padding."""
        return self.size - (self.num_segments - 1) * self.segment_size

    @property
    def padded_tail_size(self) -> int:
        """Bytes in the last segment after zero padding to a multiple of k."""
        return next_multiple(self.tail_size, self.needed)

    @property
    def block_size(self) -> int:
        """Bytes per block of a full segment."""
        return self.segment_size // self.needed

    @property
    def tail_block_size(self) -> int:
        """Bytes per block of the last segment."""
        return self.padded_tail_size // self.needed

    @property
    def share_size(self) -> int:
        """Bytes of block data each share holds."""
        return (self.num_segments - 1) * self.block_size + self.tail_block_size

    def segment_span(self, index: int) -> tuple[int, int]:
        """Return the plaintext byte range ``[start, end)`` of segment ``index``."""
        start = index * self.segment_size
        return start, min(start + self.segment_size, self.size)
