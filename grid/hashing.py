"""Tagged SHA-256d hashes and every key derivation Tahoe-LAFS uses.

Rules: ``tagged_hash(tag, value) = SHA256(SHA256(netstring(tag) + value))``,
optionally truncated; ``tagged_pair_hash`` hashes two netstring-wrapped
values under a tag. Every derivation below is one named function with fixed
input and output sizes, so callers never spell a tag string themselves.
The lease-secret functions keep Tahoe's quirk of putting the secret in the
tag position and the constant in the value position.
"""

import hashlib

from grid.netstring import netstring

KEY_SIZE = 16
HASH_SIZE = 32
STORAGE_INDEX_SIZE = 16
NODEID_SIZE = 20

TAG_IMMUTABLE_STORAGE_INDEX = b"allmydata_immutable_key_to_storage_index_v1"
TAG_CONVERGENCE_PREFIX = b"allmydata_immutable_content_to_key_with_added_secret_v1+"
TAG_BLOCK = b"allmydata_encoded_subshare_v1"
TAG_CRYPTTEXT_SEGMENT = b"allmydata_crypttext_segment_v1"
TAG_CRYPTTEXT = b"allmydata_crypttext_v1"
TAG_URI_EXTENSION = b"allmydata_uri_extension_v1"
TAG_PLAINTEXT = b"allmydata_plaintext_v1"
TAG_PLAINTEXT_SEGMENT = b"allmydata_plaintext_segment_v1"
TAG_TREE_INTERNAL = b"Merkle tree internal node"
TAG_TREE_EMPTY_LEAF = b"Merkle tree empty leaf"
TAG_CLIENT_RENEWAL = b"allmydata_client_renewal_secret_v1"
TAG_CLIENT_CANCEL = b"allmydata_client_cancel_secret_v1"
TAG_FILE_RENEWAL = b"allmydata_file_renewal_secret_v1"
TAG_FILE_CANCEL = b"allmydata_file_cancel_secret_v1"
TAG_BUCKET_RENEWAL = b"allmydata_bucket_renewal_secret_v1"
TAG_BUCKET_CANCEL = b"allmydata_bucket_cancel_secret_v1"
TAG_PRIVKEY_TO_WRITEKEY = b"allmydata_mutable_privkey_to_writekey_v1"
TAG_WRITEKEY_TO_READKEY = b"allmydata_mutable_writekey_to_readkey_v1"
TAG_MUTABLE_STORAGE_INDEX = b"allmydata_mutable_readkey_to_storage_index_v1"
TAG_PUBKEY_FINGERPRINT = b"allmydata_mutable_pubkey_to_fingerprint_v1"
TAG_DATAKEY = b"allmydata_mutable_readkey_to_datakey_v1"
TAG_WRITE_ENABLER_MASTER = b"allmydata_mutable_writekey_to_write_enabler_master_v1"
TAG_WRITE_ENABLER = b"allmydata_mutable_write_enabler_master_and_nodeid_to_write_enabler_v1"
TAG_DIRNODE_CHILD_SALT = b"allmydata_dirnode_child_rwcap_to_salt_v1"
TAG_DIRNODE_CHILD_KEY = b"allmydata_mutable_writekey_and_salt_to_dirnode_child_capkey_v1"
TAG_MUTABLE_CONTAINER = b"allmydata_mutable_container_header"


def sha256d(data: bytes) -> bytes:
    """Return SHA256(SHA256(data))."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def tagged_hash(tag: bytes, value: bytes, truncate_to: int = HASH_SIZE) -> bytes:
    """Return SHA256d(netstring(tag) + value), cut to ``truncate_to`` bytes."""
    inner = hashlib.sha256(netstring(tag))
    inner.update(value)
    return hashlib.sha256(inner.digest()).digest()[:truncate_to]


def tagged_pair_hash(
    tag: bytes, first: bytes, second: bytes, truncate_to: int = HASH_SIZE
) -> bytes:
    """Return SHA256d(netstring(tag) + netstring(first) + netstring(second)), cut."""
    return tagged_hash(tag, netstring(first) + netstring(second), truncate_to)


class TaggedHasher:
    """A streaming :func:`tagged_hash`: feed the value in pieces, same result."""

    def __init__(self, tag: bytes, truncate_to: int = HASH_SIZE) -> None:
        """Start hashing a value under ``tag``."""
        self._inner = hashlib.sha256(netstring(tag))
        self._truncate_to = truncate_to

    def update(self, data: bytes | memoryview) -> None:
        """Append the next piece of the value."""
        self._inner.update(data)

    def digest(self) -> bytes:
        """Return the tagged hash of everything fed so far."""
        return hashlib.sha256(self._inner.digest()).digest()[: self._truncate_to]


def block_hash(block: bytes | memoryview) -> bytes:
    """Hash one erasure-coded block (MDMF callers pass salt + block)."""
    hasher = TaggedHasher(TAG_BLOCK)
    hasher.update(block)
    return hasher.digest()


def crypttext_segment_hash(segment: bytes | memoryview) -> bytes:
    """Hash one ciphertext segment, unpadded: a leaf of the crypttext tree."""
    hasher = TaggedHasher(TAG_CRYPTTEXT_SEGMENT)
    hasher.update(segment)
    return hasher.digest()


def uri_extension_hash(packed_ueb: bytes) -> bytes:
    """Hash a packed URI extension block: the hash a CHK cap carries."""
    return tagged_hash(TAG_URI_EXTENSION, packed_ueb)


def empty_leaf_hash(position: int) -> bytes:
    """Hash of the padding leaf at ``position`` of a Merkle tree's leaf row."""
    return tagged_hash(TAG_TREE_EMPTY_LEAF, b"%d" % position)


def internal_node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of a Merkle tree node from its two children."""
    return tagged_pair_hash(TAG_TREE_INTERNAL, left, right)


def convergence_tag(convergence_secret: bytes, needed: int, total: int, segment_size: int) -> bytes:
    """Build the tag under which a convergent key hashes the plaintext."""
    params = b"%d,%d,%d" % (needed, total, segment_size)
    return TAG_CONVERGENCE_PREFIX + netstring(convergence_secret) + netstring(params)


def immutable_storage_index(key: bytes) -> bytes:
    """Storage index of a CHK file from its 16-byte AES key."""
    return tagged_hash(TAG_IMMUTABLE_STORAGE_INDEX, key, STORAGE_INDEX_SIZE)


def client_renewal_secret(lease_secret: bytes) -> bytes:
    """A client's renewal secret (secret in the tag slot, as Tahoe does)."""
    return tagged_hash(lease_secret, TAG_CLIENT_RENEWAL)


def client_cancel_secret(lease_secret: bytes) -> bytes:
    """A client's cancel secret (secret in the tag slot, as Tahoe does)."""
    return tagged_hash(lease_secret, TAG_CLIENT_CANCEL)


def file_renewal_secret(client_renewal: bytes, storage_index: bytes) -> bytes:
    """Per-file renewal secret."""
    return tagged_pair_hash(TAG_FILE_RENEWAL, client_renewal, storage_index)


def file_cancel_secret(client_cancel: bytes, storage_index: bytes) -> bytes:
    """Per-file cancel secret."""
    return tagged_pair_hash(TAG_FILE_CANCEL, client_cancel, storage_index)


def bucket_renewal_secret(file_renewal: bytes, lease_seed: bytes) -> bytes:
    """Per-server renewal secret; ``lease_seed`` is the server's 20-byte tub id."""
    return tagged_pair_hash(TAG_BUCKET_RENEWAL, file_renewal, lease_seed)


def bucket_cancel_secret(file_cancel: bytes, lease_seed: bytes) -> bytes:
    """Per-server cancel secret; ``lease_seed`` is the server's 20-byte tub id."""
    return tagged_pair_hash(TAG_BUCKET_CANCEL, file_cancel, lease_seed)


def lease_secrets(
    lease_secret: bytes, storage_index: bytes, lease_seed: bytes
) -> tuple[bytes, bytes]:
    """Return the (renew, cancel) secrets a client sends one server for one file."""
    renew = bucket_renewal_secret(
        file_renewal_secret(client_renewal_secret(lease_secret), storage_index), lease_seed
    )
    cancel = bucket_cancel_secret(
        file_cancel_secret(client_cancel_secret(lease_secret), storage_index), lease_seed
    )
    return renew, cancel


def mutable_writekey(privkey_pkcs8_der: bytes) -> bytes:
    """Write key of a mutable file from its RSA private key (PKCS#8 DER)."""
    return tagged_hash(TAG_PRIVKEY_TO_WRITEKEY, privkey_pkcs8_der, KEY_SIZE)


def mutable_readkey(writekey: bytes) -> bytes:
    """Read key of a mutable file from its write key."""
    return tagged_hash(TAG_WRITEKEY_TO_READKEY, writekey, KEY_SIZE)


def mutable_storage_index(readkey: bytes) -> bytes:
    """Storage index of a mutable file from its read key."""
    return tagged_hash(TAG_MUTABLE_STORAGE_INDEX, readkey, STORAGE_INDEX_SIZE)


def pubkey_fingerprint(pubkey_spki_der: bytes) -> bytes:
    """Fingerprint (verification-key hash) of an RSA public key (SPKI DER)."""
    return tagged_hash(TAG_PUBKEY_FINGERPRINT, pubkey_spki_der)


def mutable_data_key(salt: bytes, readkey: bytes) -> bytes:
    """AES key of one mutable segment from its 16-byte salt and the read key."""
    return tagged_pair_hash(TAG_DATAKEY, salt, readkey, KEY_SIZE)


def write_enabler_master(writekey: bytes) -> bytes:
    """Master secret from which each server's write enabler is derived."""
    return tagged_hash(TAG_WRITE_ENABLER_MASTER, writekey)


def write_enabler(master: bytes, nodeid: bytes) -> bytes:
    """Write enabler for one server, ``nodeid`` being its 20-byte tub id."""
    return tagged_pair_hash(TAG_WRITE_ENABLER, master, nodeid)


def dirnode_child_salt(child_write_cap: bytes) -> bytes:
    """Salt for a directory entry's encrypted write cap, derived from that cap."""
    return tagged_hash(TAG_DIRNODE_CHILD_SALT, child_write_cap, KEY_SIZE)


def dirnode_child_key(salt: bytes, dir_writekey: bytes) -> bytes:
    """AES key for a directory entry's encrypted write cap."""
    return tagged_pair_hash(TAG_DIRNODE_CHILD_KEY, salt, dir_writekey, KEY_SIZE)


def tahoe_hmac(key: bytes, data: bytes) -> bytes:
    """Tahoe's non-standard HMAC-SHA256 (the key is not padded to the block size)."""
    inner_key = bytes(byte ^ 0x36 for byte in key)
    outer_key = bytes(byte ^ 0x5C for byte in key)
    inner = hashlib.sha256(inner_key + data).digest()
    return hashlib.sha256(outer_key + inner).digest()


def permute_server_hash(storage_index: bytes, permutation_seed: bytes) -> bytes:
    """Sort key of a server for a storage index: plain SHA-1, no tag."""
    return hashlib.sha1(storage_index + permutation_seed, usedforsecurity=False).digest()
