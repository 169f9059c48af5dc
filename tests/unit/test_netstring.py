import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import EncodingError
from grid.netstring import netstring, parse_netstring, parse_netstrings


def test_known_answers() -> None:
    """Netstrings are length, colon, payload, comma."""
    assert netstring(b"hello") == b"5:hello,"
    assert netstring(b"") == b"0:,"


@given(st.lists(st.binary(max_size=50), max_size=10))
def test_round_trip_of_a_sequence(items: list[bytes]) -> None:
    """Concatenated netstrings split back into the same items."""
    assert parse_netstrings(b"".join(netstring(item) for item in items)) == items


@given(st.binary(max_size=80))
def test_garbage_raises_only_our_error(data: bytes) -> None:
    """Arbitrary bytes parse consistently or raise EncodingError."""
    try:
        items = parse_netstrings(data)
    except EncodingError:
        return
    assert b"".join(netstring(item) for item in items) == data


@pytest.mark.parametrize(
    "data", [b"5:hell,", b"5:hello;", b"05:hello,", b"-1:,", b"x:,", b"5hello,", b"3:abc"]
)
def test_malformed_netstrings_are_rejected(data: bytes) -> None:
    """Wrong lengths, terminators, leading zeros and signs are rejected."""
    with pytest.raises(EncodingError):
        parse_netstring(data)


def test_position_is_returned() -> None:
    """parse_netstring reports where the next netstring starts."""
    assert parse_netstring(b"xx1:a,2:bc,", 2) == (b"a", 6)
