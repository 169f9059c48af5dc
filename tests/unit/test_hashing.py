import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid import hashing
from grid.base32 import a2b, b2a
from grid.crypto.aes import aes_ctr
from grid.netstring import netstring
from tests.strategies.crypto import byte_pieces
from tests.vectors import TAHOE_SHARES_DIR, VECTORS_DIR

HASH_VECTORS = json.loads((VECTORS_DIR / "hash_vectors.json").read_text())


def decode_input(value: str | int) -> bytes | int:
    """Turn a hash_vectors.json input ('ascii:', 'hex:' or 'b32:' text, or an int) into a value."""
    if isinstance(value, int):
        return value
    kind, _, text = value.partition(":")
    decoders: dict[str, Callable[[str], bytes]] = {
        "ascii": lambda text: text.encode("ascii"),
        "hex": bytes.fromhex,
        "b32": a2b,
    }
    return decoders[kind](text)


# Tahoe's hashutil names (as in its test_hashutil.py) mapped onto grid.hashing; each is
# called with the vector's inputs positionally, in the order hash_vectors.json lists them.
TAHOE_FUNCTIONS: dict[str, Callable[..., bytes]] = {
    "tagged_hash": hashing.tagged_hash,
    "tagged_pair_hash": hashing.tagged_pair_hash,
    "storage_index_hash": hashing.immutable_storage_index,
    "block_hash": hashing.block_hash,
    "uri_extension_hash": hashing.uri_extension_hash,
    "plaintext_hash": lambda data: hashing.tagged_hash(hashing.TAG_PLAINTEXT, data),
    "crypttext_hash": lambda data: hashing.tagged_hash(hashing.TAG_CRYPTTEXT, data),
    "crypttext_segment_hash": hashing.crypttext_segment_hash,
    "plaintext_segment_hash": lambda data: hashing.tagged_hash(hashing.TAG_PLAINTEXT_SEGMENT, data),
    "convergence_hash": lambda k, n, segsize, data, convergence: hashing.tagged_hash(
        hashing.convergence_tag(convergence, k, n, segsize), data, hashing.KEY_SIZE
    ),
    "my_renewal_secret_hash": hashing.client_renewal_secret,
    "my_cancel_secret_hash": hashing.client_cancel_secret,
    "file_renewal_secret_hash": hashing.file_renewal_secret,
    "file_cancel_secret_hash": hashing.file_cancel_secret,
    "bucket_renewal_secret_hash": hashing.bucket_renewal_secret,
    "bucket_cancel_secret_hash": hashing.bucket_cancel_secret,
    "hmac": hashing.tahoe_hmac,
    "mutable_rwcap_key_hash": hashing.dirnode_child_key,
    "ssk_writekey_hash": hashing.mutable_writekey,
    "ssk_write_enabler_master_hash": hashing.write_enabler_master,
    "ssk_write_enabler_hash": lambda writekey, peerid: hashing.write_enabler(
        hashing.write_enabler_master(writekey), peerid
    ),
    "ssk_pubkey_fingerprint_hash": hashing.pubkey_fingerprint,
    "ssk_readkey_hash": hashing.mutable_readkey,
    "ssk_readkey_data_hash": hashing.mutable_data_key,
    "ssk_storage_index_hash": hashing.mutable_storage_index,
    "permute_server_hash": hashing.permute_server_hash,
}


def _vector_id(vector: dict[str, Any]) -> str:
    """A readable test id for one tagged-hash vector."""
    return vector["function"] + ":" + vector["expected_b32"][:8]


@pytest.mark.parametrize("vector", HASH_VECTORS["tagged_hashes"], ids=_vector_id)
def test_tahoe_hashutil_known_answer(vector: dict[str, Any]) -> None:
    """Each tahoe-vectors section 1 hash is reproduced by the matching grid.hashing function."""
    inputs = [decode_input(value) for value in vector["inputs"].values()]  # in Tahoe's order
    assert b2a(TAHOE_FUNCTIONS[vector["function"]](*inputs)) == vector["expected_b32"]


def test_every_tahoe_function_has_a_vector() -> None:
    """The vector table covers every mapped Tahoe function (no dead mappings)."""
    assert {vector["function"] for vector in HASH_VECTORS["tagged_hashes"]} == set(TAHOE_FUNCTIONS)


def test_convergence_tag_bytes() -> None:
    """The convergent-key tag for (3, 10, 1024, 0x42*16) is exactly the documented bytes."""
    expected = (
        b"allmydata_immutable_content_to_key_with_added_secret_v1+"
        b"16:" + b"\x42" * 16 + b"," + b"9:3,10,1024,"
    )
    assert hashing.convergence_tag(b"\x42" * 16, 3, 10, 1024) == expected


def test_convergence_params_netstring_of_worked_example() -> None:
    """Section 7.1's convergence parameters for 3/10 and segment size 1026 are '9:3,10,1026,'."""
    assert hashing.convergence_tag(b"", 3, 10, 1026).endswith(b"0:,9:3,10,1026,")


def test_mutable_container_magic_suffix() -> None:
    """The v2 mutable container magic ends in H(container tag, header line)[:5] = c355219925."""
    line = b"Tahoe mutable container v2\n"
    assert hashing.tagged_hash(hashing.TAG_MUTABLE_CONTAINER, line, 5).hex() == "c355219925"


@pytest.mark.parametrize(
    "vector", HASH_VECTORS["renewal_secrets"], ids=lambda v: v["expected_renew_b32"][:8]
)
def test_lease_renewal_secret_chain(vector: dict[str, str]) -> None:
    """Tahoe's derive_renewal_secret examples, by lease_secrets and by the chain of functions."""
    lease_secret = a2b(vector["lease_secret_b32"])
    storage_index = a2b(vector["storage_index_b32"])
    tubid = a2b(vector["tubid_b32"])
    renew, cancel = hashing.lease_secrets(lease_secret, storage_index, tubid)
    assert b2a(renew) == vector["expected_renew_b32"]
    chained = hashing.bucket_renewal_secret(
        hashing.file_renewal_secret(hashing.client_renewal_secret(lease_secret), storage_index),
        tubid,
    )
    assert chained == renew
    cancel_chained = hashing.bucket_cancel_secret(
        hashing.file_cancel_secret(hashing.client_cancel_secret(lease_secret), storage_index),
        tubid,
    )
    assert cancel == cancel_chained
    assert cancel != renew


def _manifest_shares() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(file, share) pairs of the Tahoe 1.20 sample shares' MANIFEST.json."""
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    return [(sample, share) for sample in manifest["files"] for share in sample["shares"]]


def test_real_share_lease_secrets() -> None:
    """Every lease in the Tahoe 1.20 shares stores BLAKE2b-256 of our renew and cancel secrets."""
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    lease_secret = a2b(manifest["client_lease_secret_b32"])
    checked = 0
    for sample, share in _manifest_shares():
        storage_index = a2b(sample["storage_index_b32"])
        for lease in share["leases"]:
            renew, cancel = hashing.lease_secrets(
                lease_secret, storage_index, a2b(share["server_nodeid_b32"])
            )
            assert (
                b2a(hashlib.blake2b(renew, digest_size=32).digest())
                == lease["renew_secret_stored_b32"]
            )
            assert (
                b2a(hashlib.blake2b(cancel, digest_size=32).digest())
                == lease["cancel_secret_stored_b32"]
            )
            checked += 1
    assert checked == 15


def test_real_share_write_enablers() -> None:
    """Each mutable sample share stores the write enabler derived from write key and node id."""
    checked = 0
    for sample, share in _manifest_shares():
        if sample["kind"] not in {"SDMF", "MDMF"}:
            continue
        master = hashing.write_enabler_master(a2b(sample["writekey_b32"]))
        enabler = hashing.write_enabler(master, a2b(share["write_enabler_nodeid_b32"]))
        assert b2a(enabler) == share["write_enabler_b32"]
        checked += 1
    assert checked == 10


def test_real_share_mutable_key_chain() -> None:
    """The sample files' read key and storage index follow from their write key."""
    for sample, _ in _manifest_shares():
        if sample["kind"] not in {"SDMF", "MDMF"}:
            continue
        readkey = hashing.mutable_readkey(a2b(sample["writekey_b32"]))
        assert b2a(readkey) == sample["readkey_b32"]
        assert b2a(hashing.mutable_storage_index(readkey)) == sample["storage_index_b32"]


@pytest.mark.parametrize("vector", HASH_VECTORS["dirnode_child"], ids=lambda v: v["name"])
def test_dirnode_child_writecap_encryption(vector: dict[str, Any]) -> None:
    """Section 8: salt, key, CTR ciphertext and Tahoe HMAC of a directory entry's write cap."""
    writekey = a2b(vector["dir_writekey_b32"])
    rw_uri = vector["rw_uri"].encode("ascii")
    salt = hashing.dirnode_child_salt(rw_uri)
    key = hashing.dirnode_child_key(salt, writekey)
    ciphertext = aes_ctr(key, rw_uri)
    mac = hashing.tahoe_hmac(key, salt + ciphertext)
    assert salt.hex() == vector["salt_hex"]
    if vector["key_hex"] is not None:
        assert key.hex() == vector["key_hex"]
    if vector["ciphertext_first16_hex"] is not None:
        assert ciphertext[:16].hex() == vector["ciphertext_first16_hex"]
    assert mac.hex() == vector["mac_hex"]
    assert len(salt + ciphertext + mac) == vector["rwcapdata_length"]
    assert aes_ctr(key, ciphertext) == rw_uri


# --- properties -------------------------------------------------------------------------


@given(tag=st.binary(max_size=64), pieces=byte_pieces())
def test_streaming_hasher_matches_tagged_hash(tag: bytes, pieces: list[bytes]) -> None:
    """TaggedHasher fed the value in any pieces equals tagged_hash of the whole value."""
    hasher = hashing.TaggedHasher(tag)
    for piece in pieces:
        hasher.update(memoryview(piece))
    assert hasher.digest() == hashing.tagged_hash(tag, b"".join(pieces))


@given(tag=st.binary(max_size=64), value=st.binary(max_size=200), size=st.integers(0, 32))
def test_truncation_is_a_prefix(tag: bytes, value: bytes, size: int) -> None:
    """A truncated tagged hash (plain or streaming) is a prefix of the full one."""
    full = hashing.tagged_hash(tag, value)
    assert hashing.tagged_hash(tag, value, size) == full[:size]
    hasher = hashing.TaggedHasher(tag, size)
    hasher.update(value)
    assert hasher.digest() == full[:size]


@given(tag=st.binary(max_size=64), value=st.binary(max_size=200))
def test_tagged_hash_definition(tag: bytes, value: bytes) -> None:
    """tagged_hash is SHA256(SHA256(netstring(tag) + value))."""
    inner = hashlib.sha256(netstring(tag) + value).digest()
    assert hashing.tagged_hash(tag, value) == hashlib.sha256(inner).digest()
    assert hashing.sha256d(netstring(tag) + value) == hashing.tagged_hash(tag, value)


@given(tag=st.binary(max_size=32), first=st.binary(max_size=64), second=st.binary(max_size=64))
def test_pair_hash_frames_its_values(tag: bytes, first: bytes, second: bytes) -> None:
    """tagged_pair_hash netstring-frames its values: not the hash of their concatenation."""
    pair = hashing.tagged_pair_hash(tag, first, second)
    assert pair == hashing.tagged_hash(tag, netstring(first) + netstring(second))
    assert pair != hashing.tagged_hash(tag, first + second)


@given(
    tag=st.binary(max_size=32),
    first=st.binary(min_size=1, max_size=64),
    second=st.binary(max_size=64),
)
def test_pair_hash_moving_the_boundary_changes_the_hash(
    tag: bytes, first: bytes, second: bytes
) -> None:
    """Moving one byte across the boundary between the two values changes the pair hash."""
    moved = hashing.tagged_pair_hash(tag, first[:-1], first[-1:] + second)
    assert moved != hashing.tagged_pair_hash(tag, first, second)


@given(key=st.binary(max_size=64), data=st.binary(max_size=200))
def test_tahoe_hmac_definition(key: bytes, data: bytes) -> None:
    """tahoe_hmac is SHA256((key^0x5c) + SHA256((key^0x36) + data)) with the key unpadded."""
    inner_key = bytes(byte ^ 0x36 for byte in key)
    outer_key = bytes(byte ^ 0x5C for byte in key)
    inner = hashlib.sha256(inner_key + data).digest()
    assert hashing.tahoe_hmac(key, data) == hashlib.sha256(outer_key + inner).digest()


@given(storage_index=st.binary(min_size=16, max_size=16), seed=st.binary(max_size=32))
def test_permute_server_hash_is_plain_sha1(storage_index: bytes, seed: bytes) -> None:
    """permute_server_hash is SHA-1 of storage index then seed, with no tag."""
    expected = hashlib.sha1(storage_index + seed, usedforsecurity=False).digest()
    assert hashing.permute_server_hash(storage_index, seed) == expected


@given(lease_secret=st.binary(max_size=32))
def test_client_secrets_put_the_secret_in_the_tag_slot(lease_secret: bytes) -> None:
    """Client renewal/cancel secrets hash the constant under the secret as tag (Tahoe's quirk)."""
    assert hashing.client_renewal_secret(lease_secret) == hashing.tagged_hash(
        lease_secret, hashing.TAG_CLIENT_RENEWAL
    )
    assert hashing.client_cancel_secret(lease_secret) == hashing.tagged_hash(
        lease_secret, hashing.TAG_CLIENT_CANCEL
    )


def test_derivation_output_sizes() -> None:
    """Keys and storage indexes are 16 bytes; secrets, fingerprints and tree hashes 32."""
    sixteen = [
        hashing.immutable_storage_index(b"k" * 16),
        hashing.mutable_writekey(b"der"),
        hashing.mutable_readkey(b"w" * 16),
        hashing.mutable_storage_index(b"r" * 16),
        hashing.mutable_data_key(b"s" * 16, b"r" * 16),
        hashing.dirnode_child_salt(b"URI:CHK:"),
        hashing.dirnode_child_key(b"s" * 16, b"w" * 16),
    ]
    thirty_two = [
        hashing.pubkey_fingerprint(b"spki"),
        hashing.write_enabler_master(b"w" * 16),
        hashing.write_enabler(b"m" * 32, b"n" * 20),
        hashing.block_hash(b"block"),
        hashing.crypttext_segment_hash(b"segment"),
        hashing.uri_extension_hash(b"ueb"),
        hashing.empty_leaf_hash(3),
        hashing.internal_node_hash(b"l" * 32, b"r" * 32),
        *hashing.lease_secrets(b"s" * 32, b"i" * 16, b"t" * 20),
    ]
    assert all(len(value) == 16 for value in sixteen)
    assert all(len(value) == 32 for value in thirty_two)
