"""Encoding a version of a mutable file into signed SDMF or MDMF shares (pure, CPU-bound).

Rules (tahoe-formats.md §7):

- Each segment is encrypted with AES-128-CTR (zero IV) under
  ``H(datakey tag, salt, readkey)[:16]``, its own fresh random 16-byte salt;
  the ciphertext is padded with zeros to a multiple of k and zfec-coded
  into N blocks.
- SDMF has one segment of ``next_multiple(datalength, k)`` bytes (0 for an
  empty file, which still gets a random salt, stored in the header); its
  block hash is over the block alone. MDMF segments are
  ``next_multiple(max_segment_size, k)`` bytes (131073 for k = 3 by
  default), and each block hash is over ``salt || block``.
- Each share's block hash tree is built over its block hashes; the share
  hash tree over the N block-tree roots; its root is what the signature
  covers. Each share stores the sibling chain of its own leaf, sorted.
- Shares are packed by :mod:`grid.formats.sdmf` / :mod:`grid.formats.mdmf`,
  so they are laid out byte for byte as Tahoe lays them out.
- Randomness (salts) comes from the caller; nothing here does I/O.
"""

from collections.abc import Callable, Sequence

import attrs

from client.mutable.keys import MutableKeys
from client.mutable.servermap import VersionId
from grid.codec import encode_segment, pad_to_multiple
from grid.crypto.aes import aes_ctr
from grid.crypto.rsa import RsaPrivateKey, sign
from grid.formats.mdmf import MdmfShare, mdmf_signed_prefix, pack_mdmf_share
from grid.formats.mutable_common import ShareHashChain
from grid.formats.sdmf import SALT_SIZE, SdmfShare, pack_sdmf_share, sdmf_signed_prefix
from grid.hashing import block_hash, mutable_data_key
from grid.hashtree import build_tree, needed_hashes

MDMF_MAX_SEGMENT_SIZE = 131072

RandomBytes = Callable[[int], bytes]


@attrs.frozen
class EncodedVersion:
    """A new version: its identity and the packed bytes of each of its N shares."""

    version: VersionId
    shares: dict[int, bytes] = attrs.field(repr=False)


def next_multiple(value: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is >= ``value``."""
    return -(-value // multiple) * multiple


def mdmf_segment_size(needed: int, max_segment_size: int = MDMF_MAX_SEGMENT_SIZE) -> int:
    """The MDMF segment size for k = ``needed``: the maximum rounded up to a multiple of k."""
    return next_multiple(max_segment_size, needed)


def encode_mutable_segment(
    readkey: bytes, salt: bytes, plaintext: bytes, needed: int, total: int
) -> list[bytes]:
    """Encrypt one segment under its salt's data key and code it into ``total`` blocks."""
    if not plaintext:
        return [b""] * total
    ciphertext = aes_ctr(mutable_data_key(salt, readkey), plaintext)
    return encode_segment(pad_to_multiple(ciphertext, needed), needed, total)


def share_hash_chain(share_tree: Sequence[bytes], total: int, shnum: int) -> ShareHashChain:
    """The sorted (node, hash) siblings proving share ``shnum``'s leaf (leaf excluded)."""
    return tuple((node, share_tree[node]) for node in sorted(needed_hashes(total, shnum)))


def require_private_key(keys: MutableKeys) -> RsaPrivateKey:
    """The private key ``keys`` carry; ValueError if they carry none (a read cap's keys)."""
    if keys.private_key is None:
        raise ValueError("encoding a version needs the file's private key")
    return keys.private_key


def encode_sdmf(
    keys: MutableKeys,
    plaintext: bytes,
    *,
    needed: int,
    total: int,
    seqnum: int,
    random_bytes: RandomBytes,
) -> EncodedVersion:
    """Encode, sign and pack an SDMF version of ``plaintext``."""
    private_key = require_private_key(keys)
    salt = random_bytes(SALT_SIZE)
    segment_size = next_multiple(len(plaintext), needed)
    blocks = encode_mutable_segment(keys.readkey, salt, plaintext, needed, total)
    block_trees = [build_tree([block_hash(block)] if plaintext else []) for block in blocks]
    share_tree = build_tree([tree[0] for tree in block_trees])
    root_hash = share_tree[0]
    signature = sign(
        private_key,
        sdmf_signed_prefix(
            seqnum=seqnum,
            root_hash=root_hash,
            salt=salt,
            needed_shares=needed,
            total_shares=total,
            segment_size=segment_size,
            data_length=len(plaintext),
        ),
    )
    encrypted_key = keys.encrypted_private_key()
    shares = {
        shnum: pack_sdmf_share(
            SdmfShare(
                seqnum=seqnum,
                root_hash=root_hash,
                salt=salt,
                needed_shares=needed,
                total_shares=total,
                segment_size=segment_size,
                data_length=len(plaintext),
                verification_key=private_key.public_key.spki_der,
                signature=signature,
                share_hash_chain=share_hash_chain(share_tree, total, shnum),
                block_hash_tree=tuple(block_trees[shnum]),
                share_data=blocks[shnum],
                encrypted_private_key=encrypted_key,
            )
        )
        for shnum in range(total)
    }
    version = VersionId(
        seqnum, root_hash, salt, needed, total, segment_size, len(plaintext), share_version=0
    )
    return EncodedVersion(version, shares)


def encode_mdmf(
    keys: MutableKeys,
    plaintext: bytes,
    *,
    needed: int,
    total: int,
    seqnum: int,
    random_bytes: RandomBytes,
    max_segment_size: int = MDMF_MAX_SEGMENT_SIZE,
) -> EncodedVersion:
    """Encode, sign and pack an MDMF version of ``plaintext``."""
    private_key = require_private_key(keys)
    segment_size = mdmf_segment_size(needed, max_segment_size)
    view = memoryview(plaintext)
    per_share: list[list[tuple[bytes, bytes]]] = [[] for _ in range(total)]
    for start in range(0, len(plaintext), segment_size):
        salt = random_bytes(SALT_SIZE)
        segment = bytes(view[start : start + segment_size])
        for shnum, block in enumerate(
            encode_mutable_segment(keys.readkey, salt, segment, needed, total)
        ):
            per_share[shnum].append((salt, block))
    block_trees = [
        build_tree([block_hash(salt + block) for salt, block in blocks]) for blocks in per_share
    ]
    share_tree = build_tree([tree[0] for tree in block_trees])
    root_hash = share_tree[0]
    signature = sign(
        private_key,
        mdmf_signed_prefix(
            seqnum=seqnum,
            root_hash=root_hash,
            needed_shares=needed,
            total_shares=total,
            segment_size=segment_size,
            data_length=len(plaintext),
        ),
    )
    encrypted_key = keys.encrypted_private_key()
    shares = {
        shnum: pack_mdmf_share(
            MdmfShare(
                seqnum=seqnum,
                root_hash=root_hash,
                needed_shares=needed,
                total_shares=total,
                segment_size=segment_size,
                data_length=len(plaintext),
                encrypted_private_key=encrypted_key,
                share_hash_chain=share_hash_chain(share_tree, total, shnum),
                signature=signature,
                verification_key=private_key.public_key.spki_der,
                blocks=per_share[shnum],
                block_hash_tree=tuple(block_trees[shnum]),
            )
        )
        for shnum in range(total)
    }
    version = VersionId(
        seqnum, root_hash, None, needed, total, segment_size, len(plaintext), share_version=1
    )
    return EncodedVersion(version, shares)
