"""Hypothesis strategies for the crypto primitives and the hashing helpers."""

import base64
import functools
import itertools

import yaml
from hypothesis import strategies as st

from grid.crypto.ed25519 import NodeSigningKey
from grid.crypto.rsa import RsaPrivateKey, load_private_key_pem
from tests.vectors import TAHOE_SHARES_DIR, TEST_VECTORS_YAML

_RSA_KEY_FILES = ("sdmf-key.pem", "mdmf-key.pem")


@functools.cache
def _test_rsa_keys() -> tuple[RsaPrivateKey, ...]:
    """Load the RSA test keys once (they are public test keys from the vectors)."""
    return tuple(
        load_private_key_pem((TAHOE_SHARES_DIR / name).read_bytes()) for name in _RSA_KEY_FILES
    )


@functools.cache
def ssk_vectors() -> tuple[tuple[str, bytes, str], ...]:
    """The SSK entries of test_vectors.yaml as (format, PEM, expected cap), in file order."""
    vectors = yaml.safe_load(TEST_VECTORS_YAML.read_text())["vector"]
    return tuple(
        (
            vector["format"]["params"]["format"],
            vector["format"]["params"]["key"].encode("ascii"),
            vector["expected"],
        )
        for vector in vectors
        if vector["format"]["kind"] == "ssk"
    )


def first_ssk_pem(mutable_format: str) -> bytes:
    """The PEM of the first test_vectors.yaml entry of ``mutable_format`` (sdmf or mdmf)."""
    return next(pem for kind, pem, _ in ssk_vectors() if kind == mutable_format)


@st.composite
def aes_keys(draw: st.DrawFn) -> bytes:
    """An AES-128 key."""
    return draw(st.binary(min_size=16, max_size=16))


@st.composite
def stream_offsets(draw: st.DrawFn) -> int:
    """A byte offset into a CTR stream: mostly small, sometimes past 2**64 blocks."""
    return draw(
        st.one_of(
            st.integers(min_value=0, max_value=4096),
            st.integers(min_value=0, max_value=2**40),
            st.integers(min_value=2**68 - 4096, max_value=2**68 + 4096),
        )
    )


@st.composite
def split_data(draw: st.DrawFn, max_size: int = 600) -> tuple[bytes, list[bytes]]:
    """Some bytes and the same bytes cut into consecutive (possibly empty) pieces."""
    data = draw(st.binary(max_size=max_size))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(data)), max_size=8)))
    bounds = [0, *cuts, len(data)]
    return data, [data[start:end] for start, end in itertools.pairwise(bounds)]


@st.composite
def rsa_private_keys(draw: st.DrawFn) -> RsaPrivateKey:
    """One of the fixed RSA-2048 test keys (generating keys is too slow for hypothesis)."""
    return draw(st.sampled_from(_test_rsa_keys()))


@st.composite
def node_signing_keys(draw: st.DrawFn) -> NodeSigningKey:
    """An Ed25519 node signing key from an arbitrary seed."""
    return NodeSigningKey(draw(st.binary(min_size=32, max_size=32)))


@st.composite
def pem_armoured_garbage(draw: st.DrawFn) -> bytes:
    """PEM armour of a private-key label around arbitrary base64 content."""
    label = draw(
        st.sampled_from(
            [b"RSA PRIVATE KEY", b"PRIVATE KEY", b"ENCRYPTED PRIVATE KEY", b"EC PRIVATE KEY"]
        )
    )
    body = base64.encodebytes(draw(st.binary(max_size=1400)))
    return b"-----BEGIN %s-----\n%s-----END %s-----\n" % (label, body, label)


@st.composite
def mutated_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` truncated, extended, or with some bytes overwritten."""
    kind = draw(st.sampled_from(["truncate", "extend", "overwrite"]))
    if kind == "truncate":
        return original[: draw(st.integers(min_value=0, max_value=len(original) - 1))]
    if kind == "extend":
        return original + draw(st.binary(min_size=1, max_size=16))
    mutated = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(original) - 1))
        mutated[position] ^= draw(st.integers(min_value=1, max_value=255))
    return bytes(mutated)


@st.composite
def byte_pieces(draw: st.DrawFn) -> list[bytes]:
    """A list of byte strings to feed a streaming hasher one by one."""
    return draw(st.lists(st.binary(max_size=200), max_size=10))
