"""Proving a whole CHK share against a verify cap: every check refuses what it should."""

import attrs
import pytest

from client.check import CapContradictionError, CorruptShareError
from client.check.share_proof import FileProof, check_block, check_whole_tree
from grid.caps import CHKVerifyCap
from grid.chk_plan import ChkPlan
from grid.formats.immutable_share import ParsedShare, parse_share
from grid.hashing import immutable_storage_index
from tests.chk_samples import encode_convergent, sample_plaintext

SIZE = 5 * 4095 + 17


def _file() -> tuple[CHKVerifyCap, dict[int, ParsedShare]]:
    plan = ChkPlan(size=SIZE, needed=3, total=10, max_segment_size=4095)
    key, ueb_hash, sink = encode_convergent(sample_plaintext(b"proof", SIZE), b"s", plan)
    cap = CHKVerifyCap(immutable_storage_index(key), ueb_hash, 3, 10, SIZE)
    return cap, {shnum: parse_share(body) for shnum, body in sink.bodies().items()}


def test_a_whole_good_share_is_proven() -> None:
    """UEB, layout, chain, both trees and every block of a fresh share pass."""
    cap, shares = _file()
    proof = FileProof(cap)
    share = shares[4]
    ueb = proof.accept_uri_extension(share.uri_extension)
    _, geometry = proof.proven()
    assert geometry.num_segments == 6
    proof.check_layout(share.layout)
    root = proof.prove_share_root(4, share.share_hashes)
    check_whole_tree(share.block_hash_tree, root, "block hash tree")
    check_whole_tree(share.crypttext_hash_tree, ueb.crypttext_root_hash, "crypttext hash tree")
    for index in range(geometry.num_segments):
        block = share.block(
            index,
            block_size=geometry.block_size,
            tail_block_size=geometry.tail_block_size,
            num_segments=geometry.num_segments,
        )
        check_block(share.block_hash_tree, geometry.num_segments, index, block)
    assert proof.packed_uri_extension == share.uri_extension


def test_a_uri_extension_block_must_hash_to_the_cap() -> None:
    """One changed UEB byte: CorruptShareError, and nothing is adopted."""
    cap, shares = _file()
    proof = FileProof(cap)
    changed = bytearray(shares[0].uri_extension)
    changed[-2] ^= 1
    with pytest.raises(CorruptShareError, match="does not hash"):
        proof.accept_uri_extension(bytes(changed))
    assert proof.uri_extension is None
    with pytest.raises(RuntimeError):
        proof.proven()


def test_a_cap_contradicting_its_own_uri_extension_block_is_the_caps_fault() -> None:
    """The right UEB under a cap with another size: CapContradictionError, no share blamed."""
    cap, shares = _file()
    lying = attrs.evolve(cap, size=SIZE + 10_000)
    with pytest.raises(CapContradictionError):
        FileProof(lying).accept_uri_extension(shares[0].uri_extension)


def test_every_tree_node_is_checked() -> None:
    """Changing any node of a whole block tree is caught."""
    cap, shares = _file()
    proof = FileProof(cap)
    proof.accept_uri_extension(shares[1].uri_extension)
    root = proof.prove_share_root(1, shares[1].share_hashes)
    tree = list(shares[1].block_hash_tree)
    for node in range(len(tree)):
        changed = list(tree)
        changed[node] = bytes(32)
        with pytest.raises(CorruptShareError):
            check_whole_tree(changed, root, "block hash tree")


def test_a_share_hash_chain_must_prove_its_own_leaf() -> None:
    """A changed chain node, or a chain without the share's own leaf, is refused."""
    cap, shares = _file()
    proof = FileProof(cap)
    proof.accept_uri_extension(shares[0].uri_extension)
    chain = list(shares[2].share_hashes)
    changed = [
        (node, bytes(32) if position == 0 else value)
        for position, (node, value) in enumerate(chain)
    ]
    with pytest.raises(CorruptShareError, match="fails"):
        proof.prove_share_root(2, changed)
    with pytest.raises(CorruptShareError, match="lacks its own leaf"):
        proof.prove_share_root(5, chain)
    assert proof.prove_share_root(2, chain) == shares[2].block_hash_tree[0]


def test_a_layout_must_fit_the_segment_count_and_blocks() -> None:
    """Hash trees sized for another segment count, or a short data region: corrupt."""
    cap, shares = _file()
    proof = FileProof(cap)
    proof.accept_uri_extension(shares[0].uri_extension)
    layout = shares[0].layout
    plan = ChkPlan(size=100, needed=3, total=10, max_segment_size=4095)
    _, _, sink = encode_convergent(sample_plaintext(b"other", 100), b"s", plan)
    with pytest.raises(CorruptShareError, match="hash trees"):
        proof.check_layout(parse_share(sink.bodies()[0]).layout)
    shrunk = attrs.evolve(
        layout,
        data_size=layout.data_size - 1,
        plaintext_hash_tree=layout.plaintext_hash_tree - 1,
        crypttext_hash_tree=layout.crypttext_hash_tree - 1,
        block_hashes=layout.block_hashes - 1,
        share_hashes=layout.share_hashes - 1,
        uri_extension=layout.uri_extension - 1,
    )
    with pytest.raises(CorruptShareError, match="data region"):
        proof.check_layout(shrunk)


def test_a_changed_block_fails_its_leaf() -> None:
    """One flipped bit in a block: CorruptShareError naming the block."""
    cap, shares = _file()
    proof = FileProof(cap)
    proof.accept_uri_extension(shares[0].uri_extension)
    _, geometry = proof.proven()
    block = shares[0].block(
        2,
        block_size=geometry.block_size,
        tail_block_size=geometry.tail_block_size,
        num_segments=geometry.num_segments,
    )
    with pytest.raises(CorruptShareError, match="block 2"):
        check_block(shares[0].block_hash_tree, 6, 2, bytes([block[0] ^ 1]) + block[1:])
