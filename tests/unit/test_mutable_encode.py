"""Encoding mutable versions: byte-exact with Tahoe's shares, and every share proves its data."""

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.mutable.encode import (
    EncodedVersion,
    encode_mdmf,
    encode_sdmf,
    mdmf_segment_size,
    next_multiple,
)
from client.mutable.errors import CorruptMutableShareError
from client.mutable.keys import MutableKeys, keys_from_private_key
from client.mutable.retrieve import check_block, check_block_tree, num_segments, segment_span
from client.mutable.servermap import check_share_start, version_of
from grid.codec import decode_segment
from grid.crypto.aes import aes_ctr
from grid.crypto.rsa import load_private_key_pem
from grid.formats.mdmf import MdmfShare, pack_mdmf_share
from grid.formats.mutable_common import pack_share_hash_chain
from grid.formats.mutable_container import parse_mutable_container
from grid.formats.mutable_share import parse_mutable_share
from grid.formats.sdmf import SdmfShare, pack_sdmf_share
from grid.hashing import block_hash, mutable_data_key
from grid.hashtree import IncompleteHashTree
from tests.chk_samples import sample_plaintext
from tests.vectors import TAHOE_SHARES_DIR


def _manifest_entry(kind: str) -> dict[str, Any]:
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    (entry,) = [item for item in manifest["files"] if item["kind"] == kind]
    return entry


def _keys(name: str) -> MutableKeys:
    return keys_from_private_key(load_private_key_pem((TAHOE_SHARES_DIR / name).read_bytes()))


def _salts(salts: list[bytes]) -> Callable[[int], bytes]:
    supply: Iterator[bytes] = iter(salts)

    def random_bytes(size: int) -> bytes:
        salt = next(supply)
        assert len(salt) == size
        return salt

    return random_bytes


def _tahoe_shares(kind: str) -> dict[int, bytes]:
    folder = TAHOE_SHARES_DIR / kind.lower()
    return {
        shnum: parse_mutable_container((folder / f"share-{shnum}.bin").read_bytes()).data
        for shnum in range(5)
    }


def test_sdmf_shares_are_byte_exact_with_tahoes_but_the_signature() -> None:
    """Tahoe's SDMF file re-encoded with its salt gives its shares but for the signature."""
    entry = _manifest_entry("SDMF")
    tahoe = _tahoe_shares("SDMF")
    parsed = {shnum: parse_mutable_share(data) for shnum, data in tahoe.items()}
    assert isinstance(parsed[0], SdmfShare)
    plaintext = sample_plaintext(b"sdmf-sample", entry["data_length"])
    ours = encode_sdmf(
        _keys("sdmf-key.pem"),
        plaintext,
        needed=3,
        total=5,
        seqnum=1,
        random_bytes=_salts([parsed[0].salt]),
    )
    for shnum, data in ours.shares.items():
        share = parse_mutable_share(data)
        assert isinstance(share, SdmfShare)
        check_share_start(data, _keys("sdmf-key.pem").fingerprint)
        with_tahoes_signature = attrs.evolve(share, signature=parsed[shnum].signature)
        assert pack_sdmf_share(with_tahoes_signature) == tahoe[shnum]
    assert ours.version.root_hash == parsed[0].root_hash


def test_mdmf_shares_are_byte_exact_with_tahoes_but_the_signature() -> None:
    """Tahoe's MDMF file re-encoded with its salts gives its shares but for the signature."""
    entry = _manifest_entry("MDMF")
    tahoe = _tahoe_shares("MDMF")
    parsed = {shnum: parse_mutable_share(data) for shnum, data in tahoe.items()}
    first = parsed[0]
    assert isinstance(first, MdmfShare)
    plaintext = sample_plaintext(b"mdmf-sample", entry["data_length"])
    ours = encode_mdmf(
        _keys("mdmf-key.pem"),
        plaintext,
        needed=3,
        total=5,
        seqnum=1,
        random_bytes=_salts([salt for salt, _block in first.blocks]),
    )
    for shnum, data in ours.shares.items():
        share = parse_mutable_share(data)
        assert isinstance(share, MdmfShare)
        with_tahoes_signature = attrs.evolve(share, signature=parsed[shnum].signature)
        assert pack_mdmf_share(with_tahoes_signature) == tahoe[shnum]
    assert ours.version.segment_size == entry["segment_size"] == mdmf_segment_size(3)


def _decode_all(encoded: EncodedVersion, keys: MutableKeys, shnums: tuple[int, ...]) -> bytes:
    """Check the chosen shares the way retrieve does, then decode and decrypt."""
    first = encoded.shares[shnums[0]]
    version = version_of(check_share_start(first, keys.fingerprint))
    share_tree = IncompleteHashTree(version.total_shares, version.root_hash)
    segments = num_segments(version)
    shares = {shnum: parse_mutable_share(encoded.shares[shnum]) for shnum in shnums}
    trees = {
        shnum: check_block_tree(
            share_tree,
            shnum,
            pack_share_hash_chain(share.share_hash_chain),
            b"".join(share.block_hash_tree),
            segments,
        )
        for shnum, share in shares.items()
    }
    plaintext = []
    for segment in range(segments):
        blocks = {}
        salt = version.salt or b""
        for shnum, share in shares.items():
            if isinstance(share, MdmfShare):
                salt, block = share.blocks[segment]
                leaf = block_hash(salt + block)
            else:
                block = share.share_data
                leaf = block_hash(block)
            check_block(trees[shnum], segments, segment, leaf)
            blocks[shnum] = block
        start, end = segment_span(version, segment)
        padded = decode_segment(blocks, version.needed_shares, version.total_shares)
        plaintext.append(aes_ctr(mutable_data_key(salt, keys.readkey), padded[: end - start]))
    return b"".join(plaintext)


@settings(max_examples=20, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=3000),
    needed=st.integers(min_value=1, max_value=5),
    extra=st.integers(min_value=0, max_value=4),
    mdmf=st.booleans(),
)
def test_any_k_shares_decode_to_the_plaintext(
    size: int, needed: int, extra: int, mdmf: bool
) -> None:
    """For any k, N and size, every k-subset of the shares verifies and decodes to the plaintext."""
    keys = _keys("sdmf-key.pem")
    total = needed + extra
    plaintext = sample_plaintext(b"any-k", size)
    salts = (bytes([n]) * 16 for n in itertools.count())
    encode = encode_mdmf if mdmf else encode_sdmf
    options = {"max_segment_size": 700} if mdmf else {}
    encoded = encode(
        keys,
        plaintext,
        needed=needed,
        total=total,
        seqnum=7,
        random_bytes=lambda _size: next(salts),
        **options,  # type: ignore[arg-type]
    )
    assert sorted(encoded.shares) == list(range(total))
    expected_segment = next_multiple(700 if mdmf else size, needed)
    assert encoded.version.segment_size == expected_segment
    for shnums in list(itertools.combinations(range(total), needed))[:4]:
        assert _decode_all(encoded, keys, shnums) == plaintext


def test_a_share_of_another_file_or_forged_seqnum_is_refused() -> None:
    """A share checked against another file's fingerprint, or with a changed seqnum, is corrupt."""
    keys = _keys("sdmf-key.pem")
    encoded = encode_sdmf(
        keys, b"data" * 30, needed=3, total=5, seqnum=1, random_bytes=lambda size: b"s" * size
    )
    share = encoded.shares[0]
    with pytest.raises(CorruptMutableShareError, match="fingerprint"):
        check_share_start(share, _keys("mdmf-key.pem").fingerprint)
    forged = share[:1] + (2).to_bytes(8, "big") + share[9:]
    with pytest.raises(CorruptMutableShareError, match="signature"):
        check_share_start(forged, keys.fingerprint)
    with pytest.raises(CorruptMutableShareError, match="header"):
        check_share_start(b"\x07" + share[1:], keys.fingerprint)
    with pytest.raises(CorruptMutableShareError):
        check_share_start(share[:200], keys.fingerprint)


def test_altered_block_trees_are_refused() -> None:
    """A changed tree root fails the signed share tree; a changed inner node fails its block."""
    keys = _keys("mdmf-key.pem")
    encoded = encode_mdmf(
        keys,
        b"z" * 2000,
        needed=2,
        total=4,
        seqnum=1,
        random_bytes=lambda size: b"t" * size,
        max_segment_size=600,
    )
    share = parse_mutable_share(encoded.shares[1])
    assert isinstance(share, MdmfShare)
    chain = pack_share_hash_chain(share.share_hash_chain)
    good = b"".join(share.block_hash_tree)
    share_tree = IncompleteHashTree(4, encoded.version.root_hash)
    checked = check_block_tree(share_tree, 1, chain, good, 4)
    salt, block = share.blocks[3]
    check_block(checked, 4, 3, block_hash(salt + block))
    with pytest.raises(CorruptMutableShareError):
        check_block(checked, 4, 3, block_hash(b"wrong"))
    altered_leaf = list(share.block_hash_tree)
    altered_leaf[-1] = bytes(32)
    neighbour_salt, neighbour = share.blocks[2]
    with pytest.raises(CorruptMutableShareError):
        check_block(altered_leaf, 4, 2, block_hash(neighbour_salt + neighbour))
    altered_root = [bytes(32), *share.block_hash_tree[1:]]
    fresh = IncompleteHashTree(4, encoded.version.root_hash)
    with pytest.raises(CorruptMutableShareError, match="share hash chain"):
        check_block_tree(fresh, 1, chain, b"".join(altered_root), 4)
    with pytest.raises(CorruptMutableShareError, match="nodes"):
        check_block_tree(fresh, 1, chain, good[:96], 4)
