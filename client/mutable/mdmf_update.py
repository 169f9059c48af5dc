"""Patching an MDMF file in place: rewrite only the segments a write touches.

Rules:

- A write of ``data`` at ``offset`` touches the segments from the one
  holding ``min(offset, old length)`` (the old tail changes when the file
  grows) to the one holding its last byte; only those are read, spliced
  (a gap past the old end is zero-filled), re-encrypted under fresh salts
  and coded. Every other block and salt stays where it is, untouched.
- Each share's new block hash tree keeps its old, verified leaves for the
  untouched segments; the share hash tree, root hash and signature are new
  and the seqnum is the highest seen plus one. Each share gets data vectors
  for its front (header, offsets, encrypted key, share hash chain,
  signature, verification key: the 2167 bytes before the share data, laid
  out by :func:`~client.mutable.mdmf_stream.mdmf_front`), for its
  touched blocks, and for its new block hash tree; the share's old
  checkstring is the test vector.
- A patch is only possible when every share found is a good share of the
  version being patched, with share data at 2167, and a verified block hash
  tree was read for every share number 0..N-1. Otherwise
  :class:`UpdateNotPossibleError` tells the caller to rewrite the file whole.
"""

from collections.abc import Callable, Mapping

import attrs
from twisted.internet.interfaces import IReactorTime

from client.mutable.encode import encode_mutable_segment, share_hash_chain
from client.mutable.errors import MutableFileError
from client.mutable.keys import MutableKeys
from client.mutable.mdmf_stream import mdmf_front
from client.mutable.placement import place_shares
from client.mutable.publish import PublishResult, publish_version
from client.mutable.retrieve import VersionReader, num_segments
from client.mutable.servermap import ServerMap, VersionId, checkstring_size
from client.mutable.servers import DataVector
from client.upload.cpu import CpuRunner
from grid.crypto.rsa import RsaPrivateKey, sign
from grid.formats.mdmf import (
    MDMF_SHARE_DATA_OFFSET,
    SALT_SIZE,
    MdmfHeader,
    mdmf_geometry,
    mdmf_signed_prefix,
)
from grid.formats.mutable_common import pack_share_hash_chain
from grid.hashing import block_hash
from grid.hashtree import build_tree, next_power_of_2


class UpdateNotPossibleError(MutableFileError):
    """The file's shares cannot be patched in place; rewrite it whole instead."""


@attrs.frozen
class PatchedVersion:
    """A patched version: its identity and each share number's data vectors."""

    version: VersionId
    vectors: Mapping[int, DataVector] = attrs.field(repr=False)


def touched_segments(
    segment_size: int, old_length: int, offset: int, length: int
) -> tuple[int, int]:
    """The first and last segment (inclusive) a write of ``length`` bytes at ``offset`` changes."""
    first = min(offset, old_length) // segment_size
    last = (offset + max(length, 1) - 1) // segment_size
    return first, max(first, last)


def splice_region(region: bytes, at: int, data: bytes) -> bytes:
    """``region`` with ``data`` written at ``at``, zero-filling any gap."""
    head = region[:at].ljust(at, b"\x00")
    return head + data + region[at + len(data) :]


def _old_leaves(tree: list[bytes], segments: int) -> list[bytes]:
    """The leaf row of a stored block hash tree (its first ``segments`` leaves)."""
    first_leaf = next_power_of_2(segments) - 1
    return tree[first_leaf : first_leaf + segments]


def build_patch(
    keys: MutableKeys,
    private_key: RsaPrivateKey,
    old: VersionId,
    old_trees: Mapping[int, list[bytes]],
    *,
    new_segments: Mapping[int, bytes],
    seqnum: int,
    new_length: int,
    random_bytes: Callable[[int], bytes],
) -> PatchedVersion:
    """Encode the new plaintext of segments ``new_segments`` and every share's patch (CPU)."""
    needed, total, segment_size = old.needed_shares, old.total_shares, old.segment_size
    count = -(-new_length // segment_size)
    old_count = num_segments(old)
    touched: dict[int, list[tuple[bytes, bytes]]] = {}
    for segment, plaintext in sorted(new_segments.items()):
        salt = random_bytes(SALT_SIZE)
        blocks = encode_mutable_segment(keys.readkey, salt, plaintext, needed, total)
        touched[segment] = [(salt, block) for block in blocks]
    block_trees = []
    for shnum in range(total):
        old_leaves = _old_leaves(old_trees[shnum], old_count)
        leaves = []
        for segment in range(count):
            if segment in touched:
                salt, block = touched[segment][shnum]
                leaves.append(block_hash(salt + block))
            else:
                leaves.append(old_leaves[segment])
        block_trees.append(build_tree(leaves))
    share_tree = build_tree([tree[0] for tree in block_trees])
    version = VersionId(
        seqnum, share_tree[0], None, needed, total, segment_size, new_length, share_version=1
    )
    prefix = mdmf_signed_prefix(
        seqnum=seqnum,
        root_hash=version.root_hash,
        needed_shares=needed,
        total_shares=total,
        segment_size=segment_size,
        data_length=new_length,
    )
    signature = sign(private_key, prefix)
    encrypted_key = keys.encrypted_private_key()
    verification_key = private_key.public_key.spki_der
    geometry = mdmf_geometry(needed, segment_size, new_length)
    vectors: dict[int, DataVector] = {}
    for shnum in range(total):
        tree_bytes = b"".join(block_trees[shnum])
        tree_at = MDMF_SHARE_DATA_OFFSET + geometry.share_data_size
        front = mdmf_front(
            prefix,
            encrypted_private_key=encrypted_key,
            packed_share_hash_chain=pack_share_hash_chain(
                share_hash_chain(share_tree, total, shnum)
            ),
            signature=signature,
            verification_key=verification_key,
            share_data_size=geometry.share_data_size,
            block_hash_tree_size=len(tree_bytes),
        )
        share_vectors: DataVector = [(0, front)]
        for segment, coded in sorted(touched.items()):
            salt, block = coded[shnum]
            share_vectors.append(
                (MDMF_SHARE_DATA_OFFSET + segment * (SALT_SIZE + geometry.block_size), salt + block)
            )
        share_vectors.append((tree_at, tree_bytes))
        vectors[shnum] = share_vectors
    return PatchedVersion(version, vectors)


def _check_patchable(servermap: ServerMap, version: VersionId) -> None:
    """Raise UpdateNotPossibleError unless every share found is a good share of ``version``."""
    if version.share_version != 1:
        raise UpdateNotPossibleError("only MDMF files are patched in place")
    if servermap.bad_shares:
        raise UpdateNotPossibleError("some shares are bad and must be replaced whole")
    good = {(share.server.server_id, share.shnum) for share in servermap.shares_of(version)}
    for server_id, shares in servermap.found.items():
        if any((server_id, shnum) not in good for shnum in shares):
            raise UpdateNotPossibleError("some shares hold another version")
    for share in servermap.shares_of(version):
        header = share.header
        if not isinstance(header, MdmfHeader) or header.offsets.share_data != (
            MDMF_SHARE_DATA_OFFSET
        ):
            raise UpdateNotPossibleError("a share's data does not start where ours would")


async def patch_mdmf(
    servermap: ServerMap,
    version: VersionId,
    keys: MutableKeys,
    offset: int,
    data: bytes,
    *,
    runner: CpuRunner,
    random_bytes: Callable[[int], bytes],
    lease_secret: bytes,
    clock: IReactorTime,
    timeout: float,
) -> PublishResult | None:
    """Write ``data`` at ``offset`` by patching only the touched segments of every share.

    Returns None when there is nothing to write. Raises UpdateNotPossibleError
    when the file must be rewritten whole instead.
    """
    if keys.private_key is None:
        raise UpdateNotPossibleError("patching needs the file's private key")
    if not data:
        if offset <= version.data_length:
            return None
        raise UpdateNotPossibleError("an empty write past the end only extends the file")
    _check_patchable(servermap, version)
    reader = VersionReader(servermap, version, keys, clock=clock, timeout=timeout)
    trees = await reader.block_trees()
    if set(trees) != set(range(version.total_shares)):
        raise UpdateNotPossibleError("not every share number has a readable share to patch")
    segment_size = version.segment_size
    old_length = version.data_length
    new_length = max(old_length, offset + len(data))
    first, last = touched_segments(segment_size, old_length, offset, len(data))
    old_count = num_segments(version)
    old_region = b"".join(
        [await reader.segment(segment) for segment in range(first, min(last + 1, old_count))]
    )
    region_start = first * segment_size
    region = splice_region(old_region, offset - region_start, data)
    new_segments = {
        segment: region[(segment - first) * segment_size : (segment - first + 1) * segment_size]
        for segment in range(first, last + 1)
    }
    patched: PatchedVersion = await runner.run(
        build_patch,
        keys,
        keys.private_key,
        version,
        trees,
        new_segments=new_segments,
        seqnum=servermap.highest_seqnum() + 1,
        new_length=new_length,
        random_bytes=random_bytes,
    )
    servers = servermap.responding_servers
    plan = place_shares(
        [server.server_id for server in servers], servermap.found, version.total_shares
    )
    plan = {
        server_id: {shnum: start for shnum, start in shares.items() if start is not None}
        for server_id, shares in plan.items()
    }

    def vectors(shnum: int, new: bool) -> DataVector | None:
        return None if new else list(patched.vectors[shnum])

    return await publish_version(
        keys,
        patched.version,
        vectors,
        plan,
        servers,
        lease_secret=lease_secret,
        checkstring_size=checkstring_size(1),
        clock=clock,
        timeout=timeout,
    )
