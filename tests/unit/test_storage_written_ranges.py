from hypothesis import given
from hypothesis import strategies as st

from storage_server.written_ranges import WrittenRanges

spans = st.tuples(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=12))


def runs(positions: set[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive positions as half-open ranges."""
    result: list[tuple[int, int]] = []
    for position in sorted(positions):
        if result and result[-1][1] == position:
            result[-1] = (result[-1][0], position + 1)
        else:
            result.append((position, position + 1))
    return result


@given(st.lists(spans, max_size=20), spans)
def test_written_ranges_match_a_set_of_positions(
    added: list[tuple[int, int]], probe: tuple[int, int]
) -> None:
    """Ranges stay merged and sorted, and overlaps/counts agree with a set of written bytes."""
    ranges = WrittenRanges()
    written: set[int] = set()
    for start, length in added:
        expected_count = len(runs(written | set(range(start, start + length))))
        assert ranges.count_if_added(start, start + length) == expected_count
        ranges.add(start, start + length)
        written.update(range(start, start + length))
        assert ranges.ranges() == runs(written)
        assert len(ranges) == expected_count
    start, length = probe
    assert ranges.overlaps(start, start + length) == runs(
        written & set(range(start, start + length))
    )
