import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid import base32
from grid.errors import EncodingError


@given(st.binary(max_size=100))
def test_round_trip(data: bytes) -> None:
    """a2b(b2a(x)) == x, and the text is lowercase with no padding."""
    text = base32.b2a(data)
    assert base32.a2b(text) == data
    assert "=" not in text
    assert text == text.lower()
    assert len(text) == base32.encoded_length(len(data))


@given(st.text(max_size=60))
def test_any_text_decodes_canonically_or_raises_our_error(text: str) -> None:
    """Arbitrary text either decodes to bytes that re-encode to it, or raises EncodingError."""
    try:
        data = base32.a2b(text)
    except EncodingError:
        assert not base32.is_canonical(text)
    else:
        assert base32.b2a(data) == text


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"", ""), (b"hello", "nbswy3dp"), (b"\x01" * 16, "aeaqcaibaeaqcaibaeaqcaibae")],
)
def test_known_answers(data: bytes, text: str) -> None:
    """Known encodings from Tahoe's caps."""
    assert base32.b2a(data) == text
    assert base32.a2b(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "NBSWY3DP",  # uppercase
        "nbswy3dp=",  # padding
        "a",  # a length no byte count gives (1, 3 or 6 mod 8)
        "abc",
        "abcdef",
        "ab",  # unused low bits set: 'b' has a non-zero low bit where only 2 bits are used
        "nbswy3d1",  # outside the alphabet
        "aeaqcaibaeaqcaibaeaqcaibaf",  # a 128-bit value whose last character has low bits set
    ],
)
def test_non_canonical_text_is_rejected(text: str) -> None:
    """Text that no byte string encodes to is rejected, so every value has one spelling."""
    with pytest.raises(EncodingError):
        base32.a2b(text)


@given(st.binary(min_size=1, max_size=40))
def test_agrees_with_rfc4648(data: bytes) -> None:
    """The encoding is RFC 4648 base32, lowercased and unpadded."""
    assert base32.b2a(data) == base64.b32encode(data).decode().rstrip("=").lower()


def test_sized_decoding_checks_length() -> None:
    """a2b_sized rejects a value of the wrong byte length."""
    assert base32.a2b_sized("aeaqcaibaeaqcaibaeaqcaibae", 16) == b"\x01" * 16
    with pytest.raises(EncodingError):
        base32.a2b_sized("nbswy3dp", 16)
