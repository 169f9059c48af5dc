import json

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from grid.base32 import a2b
from grid.crypto.aes import aes_ctr, open_ctr_stream
from grid.crypto.rsa import load_private_key_pem
from grid.errors import KeyFormatError
from tests.strategies.crypto import aes_keys, first_ssk_pem, split_data, stream_offsets
from tests.vectors import TAHOE_SHARES_DIR, VECTORS_DIR

# NIST SP 800-38A, F.5.1 CTR-AES128.Encrypt: the initial counter block is
# f0f1...feff, which in Tahoe's layout is the block at that index of the stream.
NIST_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
NIST_COUNTER = int("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", 16)
NIST_PLAINTEXT = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)
NIST_CIPHERTEXT = bytes.fromhex(
    "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
    "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"
)


def reference_ctr(key: bytes, data: bytes, offset: int) -> bytes:
    """Tahoe's CTR written out block by block: keystream block i = AES(key, i as 16 bytes)."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305  ECB builds the CTR keystream by hand
    first_block, skip = divmod(offset, 16)
    block_count = (skip + len(data) + 15) // 16
    counters = b"".join(
        ((first_block + index) % 2**128).to_bytes(16, "big") for index in range(block_count)
    )
    keystream = encryptor.update(counters)[skip : skip + len(data)]
    return bytes(a ^ b for a, b in zip(data, keystream, strict=True))


def test_nist_sp800_38a_ctr_vector() -> None:
    """The stream block at index f0f1...ff reproduces NIST's CTR-AES128 ciphertext."""
    assert aes_ctr(NIST_KEY, NIST_PLAINTEXT, offset=NIST_COUNTER * 16) == NIST_CIPHERTEXT


def test_offset_zero_starts_from_counter_zero() -> None:
    """At offset 0 the first keystream block is AES(key, 16 zero bytes)."""
    key = bytes(range(16))
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305  one raw block
    assert aes_ctr(key, bytes(16)) == encryptor.update(bytes(16))


@pytest.mark.parametrize("entry_index", [0, 1])
def test_encprivkey_prefix_known_answer(entry_index: int) -> None:
    """AES-CTR of the PKCS#8 key under the write key starts with the tahoe-vectors bytes."""
    entry = json.loads((VECTORS_DIR / "hash_vectors.json").read_text())["mutable_keys"][entry_index]
    pem = first_ssk_pem("sdmf" if entry_index == 0 else "mdmf")
    private_key = load_private_key_pem(pem)
    writekey = a2b(entry["writekey_b32"])
    encrypted = aes_ctr(writekey, private_key.pkcs8_der)
    assert encrypted[:16].hex() == entry["encprivkey_first16_hex"]
    assert aes_ctr(writekey, encrypted) == private_key.pkcs8_der


@pytest.mark.parametrize("kind", ["SDMF", "MDMF"])
def test_real_share_encprivkey_decrypts_to_key_file(kind: str) -> None:
    """A Tahoe 1.20 share's enc_privkey decrypts under its write key to the key file's DER."""
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    sample = next(entry for entry in manifest["files"] if entry["kind"] == kind)
    share_entry = sample["shares"][0]
    offsets = share_entry["share"]["offsets"]
    share = (TAHOE_SHARES_DIR / share_entry["file"]).read_bytes()
    share_data = share[share_entry["share_data_offset"] :]
    encprivkey = share_data[
        offsets["enc_privkey"] : offsets["enc_privkey"] + share_entry["share"]["enc_privkey_length"]
    ]
    private_key = load_private_key_pem((TAHOE_SHARES_DIR / sample["key_file"]).read_bytes())
    assert aes_ctr(a2b(sample["writekey_b32"]), encprivkey) == private_key.pkcs8_der


@given(key=aes_keys(), data=st.binary(max_size=300), offset=stream_offsets())
def test_round_trip(key: bytes, data: bytes, offset: int) -> None:
    """Encrypting twice at the same offset gives back the plaintext."""
    assert aes_ctr(key, aes_ctr(key, data, offset), offset) == data


@given(key=aes_keys(), data=st.binary(max_size=300), offset=stream_offsets())
def test_matches_block_by_block_reference(key: bytes, data: bytes, offset: int) -> None:
    """Any offset gives the same bytes as the counter-block definition of the stream."""
    assert aes_ctr(key, data, offset) == reference_ctr(key, data, offset)


@given(key=aes_keys(), split=split_data(), offset=st.integers(min_value=0, max_value=100))
def test_stream_at_offset_is_suffix_of_stream_from_zero(
    key: bytes, split: tuple[bytes, list[bytes]], offset: int
) -> None:
    """A stream opened at o, fed in any pieces, yields bytes [o:] of the stream from 0."""
    data, pieces = split
    from_zero = aes_ctr(key, bytes(offset) + data)
    stream = open_ctr_stream(key, offset)
    assert b"".join(stream.process(piece) for piece in pieces) == from_zero[offset:]


@given(key=aes_keys(), split=split_data(), offset=stream_offsets(), slack=st.integers(0, 20))
def test_process_into_matches_process(
    key: bytes, split: tuple[bytes, list[bytes]], offset: int, slack: int
) -> None:
    """process_into writes the same bytes process returns, into buffers of any spare size."""
    data, pieces = split
    stream = open_ctr_stream(key, offset)
    written = bytearray()
    for piece in pieces:
        out = bytearray(len(piece) + slack)
        stream.process_into(memoryview(piece), out)
        written += out[: len(piece)]
    assert bytes(written) == aes_ctr(key, data, offset)


def test_process_into_writes_through_a_memoryview_slice() -> None:
    """process_into fills a slice of a larger buffer and leaves the rest alone."""
    key = bytes(16)
    buffer = bytearray(b"\xee" * 40)
    open_ctr_stream(key).process_into(b"\x00" * 20, memoryview(buffer)[10:30])
    assert buffer[:10] == b"\xee" * 10
    assert buffer[30:] == b"\xee" * 10
    assert bytes(buffer[10:30]) == aes_ctr(key, bytes(20))


def test_process_into_rejects_short_buffer() -> None:
    """An output buffer shorter than the input is refused."""
    with pytest.raises(ValueError, match="output buffer"):
        open_ctr_stream(bytes(16)).process_into(b"abc", bytearray(2))


@given(key=st.binary(max_size=40).filter(lambda key: len(key) != 16))
def test_bad_key_length_is_a_key_format_error(key: bytes) -> None:
    """A key that is not 16 bytes raises KeyFormatError."""
    with pytest.raises(KeyFormatError):
        open_ctr_stream(key)


def test_negative_offset_is_refused() -> None:
    """A negative stream offset raises ValueError."""
    with pytest.raises(ValueError, match="negative"):
        aes_ctr(bytes(16), b"x", offset=-1)
