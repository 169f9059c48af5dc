import base64
import hashlib
import json
import re
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from grid.base32 import a2b, b2a
from grid.errors import ShareFormatError
from grid.formats.mdmf import MdmfShare, pack_mdmf_share, parse_mdmf_header, parse_mdmf_share
from grid.formats.mutable_common import MDMF_VERSION, mutable_share_version
from grid.formats.mutable_container import (
    CONTAINER_V1,
    CONTAINER_V2,
    DATA_OFFSET,
    lease_secret_matches,
    lease_slot_offset,
    pack_mutable_container,
    parse_mutable_container,
)
from grid.formats.sdmf import SdmfShare, pack_sdmf_share, parse_sdmf_header, parse_sdmf_share
from grid.hashing import (
    block_hash,
    empty_leaf_hash,
    internal_node_hash,
    lease_secrets,
    mutable_writekey,
    pubkey_fingerprint,
    write_enabler,
    write_enabler_master,
)
from tests.vectors import TAHOE_SHARES_DIR, VECTORS_DIR

TAHOE_1_2_SHARE = VECTORS_DIR / "tahoe-1.2-sdmf-share2.b32"
TAHOE_1_2_CAP = (
    "URI:SSK:vfvcbdfbszyrsaxchgevhmmlii:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq"
)
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

MutableShare = SdmfShare | MdmfShare


@cache
def manifest() -> dict[str, Any]:
    """The parsed MANIFEST.json of the Tahoe 1.20 share files."""
    result: dict[str, Any] = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    return result


def mutable_file(kind: str) -> dict[str, Any]:
    """The manifest entry of the SDMF or MDMF file."""
    return next(entry for entry in manifest()["files"] if entry["kind"] == kind)


@cache
def share_file(path: str) -> bytes:
    """The bytes of one share file under tahoe-shares/."""
    return (TAHOE_SHARES_DIR / path).read_bytes()


def parse_share(data: bytes) -> MutableShare:
    """Parse SDMF or MDMF share bytes, chosen by the version byte."""
    if mutable_share_version(data) == MDMF_VERSION:
        return parse_mdmf_share(data)
    return parse_sdmf_share(data)


def pack_share(share: MutableShare) -> bytes:
    """Pack an SDMF or MDMF share record."""
    if isinstance(share, MdmfShare):
        return pack_mdmf_share(share)
    return pack_sdmf_share(share)


def cap_keys(cap: str) -> tuple[bytes, bytes]:
    """(write key, fingerprint) from a write cap."""
    _uri, _kind, writekey, fingerprint = cap.split(":")
    return a2b(writekey), a2b(fingerprint)


def verify_chain_to_root(share: MutableShare, shnum: int) -> None:
    """Walk this share's block-tree root up the share hash chain to the header's root hash."""
    leaves = 1
    while leaves < share.total_shares:
        leaves *= 2
    known = dict(share.share_hash_chain)
    node, value = leaves - 1 + shnum, share.block_hash_tree[0]
    while node:
        sibling = node + 1 if node % 2 else node - 1
        left, right = (value, known[sibling]) if node % 2 else (known[sibling], value)
        node, value = (node - 1) // 2, internal_node_hash(left, right)
    assert value == share.root_hash


def verify_block_hash_tree(share: MutableShare) -> None:
    """Each leaf of the stored block hash tree is the hash of its block; parents hash children."""
    if isinstance(share, MdmfShare):
        leaves = [block_hash(salt + block) for salt, block in share.blocks]
    else:
        leaves = [block_hash(share.share_data)]
    tree = share.block_hash_tree
    first_leaf = len(tree) // 2
    padding_leaves = [empty_leaf_hash(i) for i in range(len(leaves), first_leaf + 1)]
    assert list(tree[first_leaf:]) == leaves + padding_leaves
    for parent in range(first_leaf):
        assert tree[parent] == internal_node_hash(tree[2 * parent + 1], tree[2 * parent + 2])


def pem_der(key_file: str) -> bytes:
    """The DER inside a PEM key file (its base64 body, decoded as is)."""
    lines = (TAHOE_SHARES_DIR / key_file).read_text().splitlines()
    return base64.b64decode("".join(line for line in lines if not line.startswith("-----")))


def decrypt_private_key(encrypted: bytes, writekey: bytes) -> bytes:
    """AES-128-CTR with a zero IV under the write key."""
    decryptor = Cipher(algorithms.AES(writekey), modes.CTR(bytes(16))).decryptor()
    return decryptor.update(encrypted) + decryptor.finalize()


def verify_signature(share: MutableShare) -> None:
    """Verify the RSA-PSS signature over the signed prefix with the share's own key."""
    public_key = serialization.load_der_public_key(share.verification_key)
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(share.signature, share.signed_prefix(), PSS, hashes.SHA256())


REAL_SHARES = [
    (kind, entry["shnum"]) for kind in ("SDMF", "MDMF") for entry in mutable_file(kind)["shares"]
]


@pytest.mark.parametrize(("kind", "shnum"), REAL_SHARES)
def test_real_container_matches_manifest(kind: str, shnum: int) -> None:
    """The v2 container parses to the manifest's lengths, write enabler and lease."""
    entry = mutable_file(kind)["shares"][shnum]
    raw = share_file(entry["file"])
    assert len(raw) == entry["length"]
    container = parse_mutable_container(raw)
    header = container.header
    assert header.version is CONTAINER_V2
    assert header.data_length == entry["share_data_length"]
    assert header.container_size == entry["container_size"]
    assert header.extra_lease_offset == entry["extra_lease_count_offset"]
    assert container.num_extra_leases == entry["num_extra_leases"]
    assert b2a(header.write_enabler) == entry["write_enabler_b32"]
    assert b2a(header.write_enabler_nodeid) == entry["write_enabler_nodeid_b32"]
    assert hashlib.sha256(container.data).hexdigest() == entry["share_data_sha256"]
    assert len(container.leases) == entry["lease_count"]
    for expected in entry["leases"]:
        lease = container.lease_slots[expected["slot"]]
        assert lease is not None
        assert lease.owner_num == expected["owner"]
        assert lease.expiration_time == expected["expiration_time"]
        assert b2a(lease.nodeid) == expected["nodeid_b32"]
        assert b2a(lease.renew_secret_stored) == expected["renew_secret_stored_b32"]
        assert b2a(lease.cancel_secret_stored) == expected["cancel_secret_stored_b32"]
    assert pack_mutable_container(container) == raw


@pytest.mark.parametrize(("kind", "shnum"), REAL_SHARES)
def test_real_container_secrets_derive_from_the_client(kind: str, shnum: int) -> None:
    """The write enabler and the BLAKE2b-stored lease secrets derive as Tahoe derives them."""
    file_entry = mutable_file(kind)
    container = parse_mutable_container(share_file(file_entry["shares"][shnum]["file"]))
    writekey, _fingerprint = cap_keys(file_entry["write_cap"])
    header = container.header
    assert header.write_enabler == write_enabler(
        write_enabler_master(writekey), header.write_enabler_nodeid
    )
    client_secret = a2b(manifest()["client_lease_secret_b32"])
    storage_index = a2b(file_entry["storage_index_b32"])
    (lease,) = container.leases
    renew, cancel = lease_secrets(client_secret, storage_index, lease.nodeid)
    assert lease.renew_secret_stored == hashlib.blake2b(renew, digest_size=32).digest()
    assert lease_secret_matches(header.version, lease.renew_secret_stored, renew)
    assert lease_secret_matches(header.version, lease.cancel_secret_stored, cancel)
    assert not lease_secret_matches(header.version, lease.renew_secret_stored, cancel)


@pytest.mark.parametrize(("kind", "shnum"), REAL_SHARES)
def test_real_share_sections_match_manifest(kind: str, shnum: int) -> None:
    """The share header, offsets and section sizes match the manifest; pack restores the bytes."""
    file_entry = mutable_file(kind)
    entry = file_entry["shares"][shnum]
    expected = entry["share"]
    data = parse_mutable_container(share_file(entry["file"])).data
    assert mutable_share_version(data) == expected["version_byte"]
    share = parse_share(data)
    if isinstance(share, MdmfShare):
        offsets: Any = parse_mdmf_header(data).offsets
        assert len(share.blocks) == file_entry["num_segments"]
    else:
        offsets = parse_sdmf_header(data).offsets
        assert b2a(share.salt) == expected["IV_b32"]
    assert DATA_OFFSET + offsets.share_data == entry["block_data_offset"]
    for name, value in expected["offsets"].items():
        assert getattr(offsets, name.lower()) == value, name
    assert share.seqnum == expected["seqnum"]
    assert b2a(share.root_hash) == expected["root_hash_b32"]
    assert (share.needed_shares, share.total_shares) == (expected["k"], expected["N"])
    assert share.segment_size == expected["segment_size"]
    assert share.data_length == expected["data_length"]
    assert len(share.encrypted_private_key) == expected["enc_privkey_length"]
    assert [index for index, _hash in share.share_hash_chain] == expected[
        "share_hash_chain_node_ids"
    ]
    assert len(share.signature) == expected["signature_length"]
    assert len(share.verification_key) == expected["verification_key_length"]
    assert len(share.block_hash_tree) == expected["block_hash_tree_nodes"]
    assert len(share.signed_prefix()) == expected["signed_prefix_length"]
    assert pack_share(share) == data


@pytest.mark.parametrize(("kind", "shnum"), REAL_SHARES)
def test_real_share_cryptography(kind: str, shnum: int) -> None:
    """Key hashes to the fingerprint, signature verifies, private key decrypts, trees hash up."""
    file_entry = mutable_file(kind)
    data = parse_mutable_container(share_file(file_entry["shares"][shnum]["file"])).data
    share = parse_share(data)
    writekey, fingerprint = cap_keys(file_entry["write_cap"])
    assert pubkey_fingerprint(share.verification_key) == fingerprint
    verify_signature(share)
    private_der = decrypt_private_key(share.encrypted_private_key, writekey)
    assert private_der == pem_der(file_entry["key_file"])
    assert mutable_writekey(private_der) == writekey
    verify_block_hash_tree(share)
    verify_chain_to_root(share, shnum)


def dump_fields(kind: str) -> dict[str, str]:
    """The ``name: value`` lines of dump-<kind>.txt, first occurrence of each name."""
    fields: dict[str, str] = {}
    text = (TAHOE_SHARES_DIR / f"dump-{kind.lower()}.txt").read_text()
    for match in re.finditer(r"^[ \t]*([A-Za-z_ #-]+?):[ \t]*(\S.*?)[ \t]*$", text, re.MULTILINE):
        fields.setdefault(match.group(1), match.group(2))
    return fields


@pytest.mark.parametrize("kind", ["SDMF", "MDMF"])
def test_real_share_zero_matches_tahoe_dump(kind: str) -> None:
    """Share 0's fields and absolute section offsets equal Tahoe's dump-share output."""
    fields = dump_fields(kind)
    raw = share_file(mutable_file(kind)["shares"][0]["file"])
    container = parse_mutable_container(raw)
    header = container.header
    share = parse_share(container.data)
    (lease,) = container.leases
    assert fields["share_type"] == kind
    assert fields["write_enabler"] == b2a(header.write_enabler)
    assert fields["WE for nodeid"] == b2a(header.write_enabler_nodeid)
    assert int(fields["num_extra_leases"]) == container.num_extra_leases
    assert int(fields["container_size"]) == header.container_size
    assert int(fields["data_length"]) == header.data_length
    assert int(fields["ownerid"]) == lease.owner_num
    assert fields["renew_secret"] == "hash:" + b2a(lease.renew_secret_stored)
    assert fields["cancel_secret"] == "hash:" + b2a(lease.cancel_secret_stored)
    assert int(fields["seqnum"].split()[0]) == share.seqnum
    assert fields["root_hash"].split()[0] == b2a(share.root_hash)
    assert int(fields["required_shares"]) == share.needed_shares
    assert int(fields["total_shares"]) == share.total_shares
    assert int(fields["segsize"]) == share.segment_size
    assert int(fields["datalen"]) == share.data_length
    assert fields["enc_privkey"].startswith(f"{len(share.encrypted_private_key)} bytes")
    assert fields["pubkey"] == f"{len(share.verification_key)} bytes"
    assert fields["signature"] == f"{len(share.signature)} bytes"
    chain_ids = ",".join(str(index) for index, _hash in share.share_hash_chain)
    assert fields["share_hash_chain"] == chain_ids
    assert fields["block_hash_tree"] == f"{len(share.block_hash_tree)} nodes"
    assert fields["verify-cap"].endswith(":" + b2a(pubkey_fingerprint(share.verification_key)))
    absolute = dump_offsets(kind)
    assert absolute["first lease"] == lease_slot_offset(header, 0)
    assert absolute["share data"] == DATA_OFFSET
    assert absolute["extra leases"] == lease_slot_offset(header, 4)
    if isinstance(share, SdmfShare):
        assert fields["IV"] == b2a(share.salt)
        offsets: Any = parse_sdmf_header(container.data).offsets
        relative = {"block data": offsets.share_data, "enc_privkey": offsets.enc_privkey}
    else:
        offsets = parse_mdmf_header(container.data).offsets
        relative = {
            "enc_privkey": offsets.enc_privkey,
            "pubkey": offsets.verification_key,
            "end of pubkey": offsets.verification_key_end,
            "block data": offsets.share_data,
        }
    relative |= {
        "seqnum": 1,
        "root_hash": 9,
        "signature": offsets.signature,
        "share_hash_chain": offsets.share_hash_chain,
        "block_hash_tree": offsets.block_hash_tree,
        "end of share data": offsets.eof,
    }
    for name, offset in relative.items():
        assert absolute[name] == DATA_OFFSET + offset, name


def dump_offsets(kind: str) -> dict[str, int]:
    """The "Section Offsets" table of dump-<kind>.txt."""
    text = (TAHOE_SHARES_DIR / f"dump-{kind.lower()}.txt").read_text()
    table = text.split("Section Offsets:")[1]
    return {
        name: int(value)
        for name, value in re.findall(r"^[ \t]*([a-z_ ]+?):[ \t]+(\d+)[ \t]", table, re.MULTILINE)
    }


def tahoe_1_2_share_file() -> bytes:
    """The 2642-byte share file written by Tahoe 1.2.0 (container v1)."""
    lines = TAHOE_1_2_SHARE.read_text().splitlines()
    return a2b("".join(line.strip() for line in lines if not line.startswith("#")))


def test_tahoe_1_2_share() -> None:
    """The 1.2.0 SDMF share in a v1 container parses to the known values and verifies."""
    raw = tahoe_1_2_share_file()
    assert len(raw) == 2642
    container = parse_mutable_container(raw)
    header = container.header
    assert header.version is CONTAINER_V1
    assert b2a(header.write_enabler_nodeid) == "ncieuno4yjvioe7fz5y7tqhl3nfrmawh"
    assert (header.data_length, header.extra_lease_offset, container.num_extra_leases) == (
        2170,
        2638,
        0,
    )
    (lease,) = container.leases
    assert container.lease_slots[0] == lease
    assert (lease.owner_num, lease.expiration_time) == (1, 1230942426)
    assert lease.nodeid == header.write_enabler_nodeid
    share = parse_sdmf_share(container.data)
    offsets = parse_sdmf_header(container.data).offsets
    assert (share.seqnum, b2a(share.root_hash), share.salt.hex()) == (
        1,
        "dqcetbn6wciolcdj67npv5lllwycs7c3bi77b7noyhe5qrabbsma",
        "33af84f5c6267e42d7ce4e867e863414",
    )
    assert (share.needed_shares, share.total_shares) == (3, 10)
    assert (share.segment_size, share.data_length) == (390, 390)
    assert (
        offsets.signature,
        offsets.share_hash_chain,
        offsets.block_hash_tree,
        offsets.share_data,
        offsets.enc_privkey,
        offsets.eof,
    ) == (399, 655, 791, 823, 953, 2170)
    assert [index for index, _hash in share.share_hash_chain] == [2, 4, 7, 18]
    assert len(share.verification_key) == 292
    public_key = serialization.load_der_public_key(share.verification_key)
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.public_numbers().e == 17
    writekey, fingerprint = cap_keys(TAHOE_1_2_CAP)
    assert pubkey_fingerprint(share.verification_key) == fingerprint
    verify_signature(share)
    assert header.write_enabler == write_enabler(
        write_enabler_master(writekey), header.write_enabler_nodeid
    )
    assert mutable_writekey(decrypt_private_key(share.encrypted_private_key, writekey)) == writekey
    verify_block_hash_tree(share)
    verify_chain_to_root(share, 2)
    assert pack_sdmf_share(share) == container.data
    assert pack_mutable_container(container) == raw


def check_share_file(raw: bytes) -> None:
    """Parse a whole share file; on success, container and share survive a round trip."""
    try:
        container = parse_mutable_container(raw)
        share = parse_share(container.data)
    except ShareFormatError:
        return
    assert parse_mutable_container(pack_mutable_container(container)) == container
    try:
        packed = pack_share(share)
    except ShareFormatError:
        return
    assert parse_share(packed) == share


def check_share_data(data: bytes) -> None:
    """Parse share bytes alone; on success the share survives a round trip."""
    try:
        share = parse_share(data)
    except ShareFormatError:
        return
    assert parse_share(pack_share(share)) == share


def corruption_sweep(raw: bytes, positions: range | list[int]) -> None:
    """Flip each byte at ``positions`` (all bits, then the low bit) and check the parse."""
    for position in positions:
        for mask in (0xFF, 0x01):
            corrupted = bytearray(raw)
            corrupted[position] ^= mask
            check_share_file(bytes(corrupted))


def truncation_sweep(raw: bytes, lengths: range | list[int]) -> None:
    """Cut the file and its share data at each length and check both parses."""
    data = parse_mutable_container(raw).data
    for length in lengths:
        check_share_file(raw[:length])
        if length <= len(data):
            check_share_data(data[:length])


SMALL_SHARE_FILES = ["sdmf/share-0.bin", "sdmf/share-4.bin", "tahoe-1.2"]


def load_small(name: str) -> bytes:
    """A small share file by name: a Tahoe 1.20 SDMF file or the 1.2.0 one."""
    return tahoe_1_2_share_file() if name == "tahoe-1.2" else share_file(name)


@pytest.mark.parametrize("name", SMALL_SHARE_FILES)
def test_every_corruption_of_a_small_share(name: str) -> None:
    """Every single-byte corruption of an SDMF share file parses consistently or fails cleanly."""
    raw = load_small(name)
    corruption_sweep(raw, range(len(raw)))


@pytest.mark.parametrize("name", SMALL_SHARE_FILES)
def test_every_truncation_of_a_small_share(name: str) -> None:
    """Every truncation of an SDMF share file or its share data fails cleanly or parses."""
    raw = load_small(name)
    truncation_sweep(raw, range(len(raw)))


def mdmf_interesting_positions(raw: bytes) -> list[int]:
    """File positions in the MDMF headers, body and hash tree, plus a stride through blocks."""
    header = parse_mdmf_header(parse_mutable_container(raw).data)
    body_end = DATA_OFFSET + header.offsets.share_data + 40
    tree_start = DATA_OFFSET + header.offsets.block_hash_tree - 40
    return sorted({*range(body_end), *range(tree_start, len(raw)), *range(0, len(raw), 997)})


def test_mdmf_corruptions_outside_the_blocks() -> None:
    """Corrupting any header, body or tree byte of a real MDMF file fails cleanly or parses."""
    raw = share_file("mdmf/share-0.bin")
    corruption_sweep(raw, mdmf_interesting_positions(raw))


def test_mdmf_truncations_outside_the_blocks() -> None:
    """Truncating a real MDMF file or its data near any section fails cleanly or parses."""
    raw = share_file("mdmf/share-0.bin")
    truncation_sweep(raw, mdmf_interesting_positions(raw))


@pytest.mark.slow
def test_every_corruption_and_truncation_of_an_mdmf_share() -> None:
    """Every single-byte corruption and truncation of a real MDMF file fails cleanly or parses."""
    raw = share_file("mdmf/share-1.bin")
    corruption_sweep(raw, range(len(raw)))
    truncation_sweep(raw, range(len(raw)))
