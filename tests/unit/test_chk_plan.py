import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.chk_plan import ChkPlan
from grid.errors import EncodingParametersError


@pytest.mark.parametrize(
    ("size", "needed", "max_segment", "segment", "segments", "tail", "padded_tail", "share"),
    [
        (1024, 3, 131072, 1026, 1, 1024, 1026, 342),
        (131073, 3, 131072, 131073, 1, 131073, 131073, 43691),
        (2097153, 3, 131072, 131073, 16, 131058, 131058, 699051),
        (200000, 3, 131072, 131073, 2, 68927, 68928, 66667),
    ],
)
def test_known_plans(
    size: int,
    needed: int,
    max_segment: int,
    segment: int,
    segments: int,
    tail: int,
    padded_tail: int,
    share: int,
) -> None:
    """Segment, tail and share sizes match Tahoe's worked examples and real shares."""
    plan = ChkPlan(size=size, needed=needed, total=10, max_segment_size=max_segment)
    assert plan.segment_size == segment
    assert plan.num_segments == segments
    assert plan.tail_size == tail
    assert plan.padded_tail_size == padded_tail
    assert plan.share_size == share


@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=1, max_value=256),
    st.integers(min_value=1, max_value=4 * 1024 * 1024),
)
def test_plans_cover_the_file_exactly(size: int, needed: int, max_segment: int) -> None:
    """Segments tile the file, blocks divide segments, the tail is never empty."""
    plan = ChkPlan(size=size, needed=needed, total=256, max_segment_size=max_segment)
    assert plan.segment_size % needed == 0
    assert 0 < plan.tail_size <= plan.segment_size
    assert (plan.num_segments - 1) * plan.segment_size + plan.tail_size == size
    assert plan.segment_span(plan.num_segments - 1)[1] == size
    assert plan.share_size * needed >= size


@pytest.mark.parametrize(
    ("size", "needed", "total", "max_segment"),
    [(0, 3, 10, 100), (10, 0, 10, 100), (10, 11, 10, 100), (10, 3, 257, 100), (10, 3, 10, 0)],
)
def test_bad_plans_raise(size: int, needed: int, total: int, max_segment: int) -> None:
    """Empty files and out-of-range parameters raise EncodingParametersError."""
    with pytest.raises(EncodingParametersError):
        ChkPlan(size=size, needed=needed, total=total, max_segment_size=max_segment)
