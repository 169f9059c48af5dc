import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid.codec import decode_segment, encode_segment, pad_to_multiple
from grid.errors import EncodingParametersError


@st.composite
def coding_parameters(draw: st.DrawFn) -> tuple[int, int]:
    """Draw (k, N) with 1 <= k <= N <= 256."""
    total = draw(st.integers(min_value=1, max_value=256))
    needed = draw(st.integers(min_value=1, max_value=total))
    return needed, total


@settings(max_examples=200, deadline=None)
@given(coding_parameters(), st.binary(max_size=600), st.data())
def test_round_trip_from_any_k_blocks(
    params: tuple[int, int], plaintext: bytes, data: st.DataObject
) -> None:
    """Any k of the N blocks restore the padded segment exactly."""
    needed, total = params
    segment = pad_to_multiple(plaintext, needed)
    blocks = encode_segment(segment, needed, total)
    assert len(blocks) == total
    assert {len(block) for block in blocks} == {len(segment) // needed}
    chosen = data.draw(st.permutations(range(total)))[:needed]
    assert decode_segment({n: blocks[n] for n in chosen}, needed, total) == segment


@given(coding_parameters(), st.binary(max_size=300))
def test_code_is_systematic(params: tuple[int, int], plaintext: bytes) -> None:
    """Blocks 0..k-1 are the segment's own slices."""
    needed, total = params
    segment = pad_to_multiple(plaintext, needed)
    blocks = encode_segment(segment, needed, total)
    assert b"".join(blocks[:needed]) == segment


@given(st.binary(max_size=100), st.integers(min_value=1, max_value=256))
def test_padding_is_explicit_zeros(plaintext: bytes, needed: int) -> None:
    """pad_to_multiple appends fewer than k zero bytes to reach a multiple of k."""
    padded = pad_to_multiple(plaintext, needed)
    assert padded.startswith(plaintext)
    assert len(padded) % needed == 0
    assert set(padded[len(plaintext) :]) <= {0}
    assert len(padded) - len(plaintext) < needed


@pytest.mark.parametrize(("needed", "total"), [(0, 1), (2, 1), (1, 257), (-1, 3)])
def test_bad_parameters_raise(needed: int, total: int) -> None:
    """Out-of-range k or N raise EncodingParametersError."""
    with pytest.raises(EncodingParametersError):
        encode_segment(b"", needed, total)


def test_unpadded_segment_and_short_block_sets_raise() -> None:
    """An unpadded segment, too few blocks, or ragged blocks raise our error."""
    with pytest.raises(EncodingParametersError):
        encode_segment(b"abcd", 3, 5)
    blocks = encode_segment(b"abcdef", 3, 5)
    with pytest.raises(EncodingParametersError):
        decode_segment({0: blocks[0], 4: blocks[4]}, 3, 5)
    with pytest.raises(EncodingParametersError):
        decode_segment({0: blocks[0], 3: blocks[3], 4: b"x"}, 3, 5)
