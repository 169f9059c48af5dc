import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.base32 import b2a
from grid.crypto.ed25519 import NodeSigningKey, NodeVerifyingKey
from grid.errors import BadSignatureError, KeyFormatError
from tests.strategies.crypto import node_signing_keys

# RFC 8032 section 7.1, TEST 1 (empty message).
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
    "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_rfc8032_known_answer() -> None:
    """The RFC 8032 test-1 seed gives its public key and signature, and the signature verifies."""
    signing_key = NodeSigningKey(RFC_SEED)
    assert signing_key.verifying_key.key_bytes == RFC_PUBLIC
    assert signing_key.sign(b"") == RFC_SIGNATURE
    NodeVerifyingKey(RFC_PUBLIC).verify(b"", RFC_SIGNATURE)


def test_string_forms() -> None:
    """Keys are written priv-v0-<b32 seed>, pub-v0-<b32 key> and, as a server id, v0-<b32 key>."""
    signing_key = NodeSigningKey(RFC_SEED)
    verifying_key = signing_key.verifying_key
    assert signing_key.to_string() == "priv-v0-" + b2a(RFC_SEED)
    assert verifying_key.to_string() == "pub-v0-" + b2a(RFC_PUBLIC)
    assert verifying_key.to_id() == "v0-" + b2a(RFC_PUBLIC)
    assert len(verifying_key.to_id()) == 3 + 52


@given(signing_key=node_signing_keys())
def test_string_round_trips(signing_key: NodeSigningKey) -> None:
    """Every text form parses back to an equal key."""
    verifying_key = signing_key.verifying_key
    assert NodeSigningKey.from_string(signing_key.to_string()) == signing_key
    assert NodeVerifyingKey.from_string(verifying_key.to_string()) == verifying_key
    assert NodeVerifyingKey.from_id(verifying_key.to_id()) == verifying_key


@given(signing_key=node_signing_keys(), message=st.binary(max_size=300))
def test_sign_verify_round_trip(signing_key: NodeSigningKey, message: bytes) -> None:
    """A signature is 64 bytes and verifies under the matching verifying key."""
    signature = signing_key.sign(message)
    assert len(signature) == 64
    signing_key.verifying_key.verify(message, signature)


@given(
    signing_key=node_signing_keys(),
    message=st.binary(max_size=100),
    bit=st.integers(min_value=0, max_value=511),
)
def test_flipped_signature_bit_fails(signing_key: NodeSigningKey, message: bytes, bit: int) -> None:
    """Flipping any bit of a signature makes verification raise BadSignatureError."""
    signature = bytearray(signing_key.sign(message))
    signature[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadSignatureError):
        signing_key.verifying_key.verify(message, bytes(signature))


@given(signing_key=node_signing_keys(), other=node_signing_keys(), message=st.binary(max_size=50))
def test_wrong_key_or_message_fails(
    signing_key: NodeSigningKey, other: NodeSigningKey, message: bytes
) -> None:
    """A signature fails for another message, and for another key."""
    signature = signing_key.sign(message)
    with pytest.raises(BadSignatureError):
        signing_key.verifying_key.verify(message + b"x", signature)
    if other.verifying_key != signing_key.verifying_key:
        with pytest.raises(BadSignatureError):
            other.verifying_key.verify(message, signature)


@given(signature=st.binary(max_size=100).filter(lambda value: len(value) != 64))
def test_wrong_length_signature_fails(signature: bytes) -> None:
    """A signature that is not 64 bytes raises BadSignatureError."""
    with pytest.raises(BadSignatureError):
        NodeVerifyingKey(RFC_PUBLIC).verify(b"", signature)


@given(raw=st.binary(max_size=64).filter(lambda value: len(value) != 32))
def test_wrong_length_key_bytes_are_refused(raw: bytes) -> None:
    """Keys are built only from exactly 32 bytes."""
    with pytest.raises(KeyFormatError):
        NodeSigningKey(raw)
    with pytest.raises(KeyFormatError):
        NodeVerifyingKey(raw)


@given(text=st.text(max_size=80))
def test_garbage_text_raises_key_format_error(text: str) -> None:
    """Arbitrary text raises only KeyFormatError from every parser (or parses if well formed)."""
    for parse in (
        NodeSigningKey.from_string,
        NodeVerifyingKey.from_string,
        NodeVerifyingKey.from_id,
    ):
        with contextlib.suppress(KeyFormatError):
            parse(text)


@given(
    prefix=st.sampled_from(["priv-v0-", "pub-v0-", "v0-", "", "pub-v1-", "PUB-V0-"]),
    body=st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567ABC=018 ", max_size=60),
)
def test_near_miss_text_raises_key_format_error(prefix: str, body: str) -> None:
    """Prefixed base32-looking text either parses to a key that re-encodes to it, or is refused."""
    text = prefix + body
    parsers = {
        "priv-v0-": NodeSigningKey.from_string,
        "pub-v0-": NodeVerifyingKey.from_string,
        "v0-": NodeVerifyingKey.from_id,
    }
    for expected_prefix, parse in parsers.items():
        try:
            key = parse(text)
        except KeyFormatError:
            continue
        assert prefix == expected_prefix
        assert key.to_string() == text or key.to_id() == text  # type: ignore[union-attr]


def test_malformed_strings_are_refused() -> None:
    """Wrong prefixes, wrong lengths and non-canonical base32 raise KeyFormatError."""
    good = b2a(RFC_PUBLIC)
    last_bit_set = good[:-1] + "b"  # the 52nd character must have its low bit clear
    bad_texts = [
        "v0-" + good,  # a server id is not a pub- string
        "pub-v0-" + good[:-1],
        "pub-v0-" + good + "a",
        "pub-v0-" + good.upper(),
        "pub-v0-" + last_bit_set,
        "pub-v0-" + good + "\n",
        "pub-v1-" + good,
        "priv-v0-" + good,
    ]
    for text in bad_texts:
        with pytest.raises(KeyFormatError):
            NodeVerifyingKey.from_string(text)
    with pytest.raises(KeyFormatError):
        NodeVerifyingKey.from_id("pub-v0-" + good)
    with pytest.raises(KeyFormatError):
        NodeSigningKey.from_string("pub-v0-" + good)


def test_signing_key_repr_hides_the_seed() -> None:
    """The repr of a signing key shows neither the seed bytes nor its base32."""
    signing_key = NodeSigningKey(RFC_SEED)
    assert b2a(RFC_SEED) not in repr(signing_key)
    assert repr(RFC_SEED) not in repr(signing_key)
