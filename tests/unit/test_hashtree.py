import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.base32 import b2a
from grid.errors import IntegrityError, MissingHashesError
from grid.hashing import tagged_hash
from grid.hashtree import (
    IncompleteHashTree,
    build_tree,
    needed_hashes,
    next_power_of_2,
    tree_node_count,
)

KNOWN_TREE = [
    "vxuqudnucceja4pqkdqy5txapagxubm5moupzqywkbg2jrjkaola",
    "weycjri4jlcaunca2jyx2kr7sbtb7qdriog3f26g5jpc5awfeazq",
    "5ovy3g2wwjnxoqtja4licckxkbqjef4xsjtclk6gxnsl66kvow6a",
    "esd34nbzri75l3j2vwetpk3dvlvsxstkbaktomonrulpks3df3sq",
    "jkxbwa2tppyfax35o72tbjecxvaa4xphma6zbyfbkkku3ed2657a",
    "wfisavaqgab2raihe7dld2qjps4rtxyiubgfs5enziokey2msjwa",
    "t3kza5vwx3tlowdemmgdyigp62ju57qduyfh7uulnfkc7mj2ncrq",
]

leaf_lists = st.lists(st.binary(min_size=32, max_size=32), min_size=0, max_size=40)


def test_known_three_leaf_tree() -> None:
    """A 3-leaf tree matches Tahoe's known 7 nodes, padding included."""
    leaves = [tagged_hash(b"tag", b"%d" % i) for i in range(3)]
    assert [b2a(node) for node in build_tree(leaves)] == KNOWN_TREE


@pytest.mark.parametrize(
    ("num_leaves", "leaf", "include_leaf", "expected"),
    [
        (8, 0, False, {8, 4, 2}),
        (8, 0, True, {7, 8, 4, 2}),
        (8, 1, False, {7, 4, 2}),
        (8, 7, False, {13, 5, 1}),
        (8, 7, True, {14, 13, 5, 1}),
        (6, 0, False, {8, 4, 2}),
        (6, 5, False, {11, 6, 1}),
        (6, 5, True, {12, 11, 6, 1}),
        (1, 0, False, set()),
        (10, 0, True, {2, 4, 8, 15, 16}),
    ],
)
def test_needed_hashes_known_answers(
    num_leaves: int, leaf: int, include_leaf: bool, expected: set[int]
) -> None:
    """needed_hashes gives Tahoe's known node sets."""
    assert needed_hashes(num_leaves, leaf, include_leaf=include_leaf) == expected


def test_degenerate_trees() -> None:
    """One leaf is its own root; zero leaves give the empty-leaf hash."""
    leaf = b"\x07" * 32
    assert build_tree([leaf]) == [leaf]
    assert build_tree([]) == [tagged_hash(b"Merkle tree empty leaf", b"0")]
    assert tree_node_count(0) == tree_node_count(1) == 1


@given(st.integers(min_value=0, max_value=5000))
def test_next_power_of_2_is_smallest(count: int) -> None:
    """next_power_of_2 returns the least power of two not below the count."""
    power = next_power_of_2(count)
    assert power >= max(count, 1)
    assert power & (power - 1) == 0
    assert power // 2 < max(count, 1)


@given(leaf_lists.filter(bool), st.data())
def test_needed_hashes_check_any_leaf(leaves: list[bytes], data: st.DataObject) -> None:
    """A leaf plus exactly its needed hashes verifies against the root."""
    nodes = build_tree(leaves)
    index = data.draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    tree = IncompleteHashTree(len(leaves), nodes[0])
    wanted = tree.needed_hashes(index)
    tree.add_hashes({n: nodes[n] for n in wanted}, {index: leaves[index]})
    assert tree.needed_hashes(index, include_leaf=True) == set()


@given(leaf_lists.filter(lambda leaves: len(leaves) > 1), st.data())
def test_any_wrong_hash_is_rejected(leaves: list[bytes], data: st.DataObject) -> None:
    """Changing any supplied node or the leaf raises IntegrityError and trusts nothing."""
    nodes = build_tree(leaves)
    index = data.draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    tree = IncompleteHashTree(len(leaves), nodes[0])
    supplied = {n: nodes[n] for n in tree.needed_hashes(index, include_leaf=True)}
    victim = data.draw(st.sampled_from(sorted(supplied)))
    flip = data.draw(st.integers(min_value=0, max_value=31))
    corrupted = bytearray(supplied[victim])
    corrupted[flip] ^= 1
    supplied[victim] = bytes(corrupted)
    with pytest.raises(IntegrityError):
        tree.add_hashes(supplied)
    assert all(tree.trusted_hash(n) is None for n in range(1, len(nodes)))


@given(leaf_lists.filter(lambda leaves: len(leaves) > 1), st.data())
def test_missing_sibling_is_reported(leaves: list[bytes], data: st.DataObject) -> None:
    """Leaving out one needed node raises MissingHashesError, not a false pass."""
    nodes = build_tree(leaves)
    index = data.draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    tree = IncompleteHashTree(len(leaves), nodes[0])
    wanted = sorted(tree.needed_hashes(index))
    dropped = data.draw(st.sampled_from(wanted))
    with pytest.raises(MissingHashesError):
        tree.add_hashes({n: nodes[n] for n in wanted if n != dropped}, {index: leaves[index]})


def test_conflict_with_trusted_root_is_rejected() -> None:
    """A server offering a different root is caught at once."""
    nodes = build_tree([b"\x01" * 32, b"\x02" * 32])
    tree = IncompleteHashTree(2, nodes[0])
    with pytest.raises(IntegrityError):
        tree.add_hashes({0: b"\x00" * 32})


def test_malformed_offers_are_rejected() -> None:
    """Out-of-range nodes, leaves and short hashes raise IntegrityError."""
    nodes = build_tree([b"\x01" * 32, b"\x02" * 32])
    tree = IncompleteHashTree(2, nodes[0])
    with pytest.raises(IntegrityError):
        tree.add_hashes({3: b"\x00" * 32})
    with pytest.raises(IntegrityError):
        tree.add_hashes(leaves={2: b"\x00" * 32})
    with pytest.raises(IntegrityError):
        tree.add_hashes({1: b"short"})


def test_once_trusted_nodes_shorten_later_proofs() -> None:
    """After one leaf is checked, a neighbour needs only what is still unknown."""
    leaves = [bytes([i]) * 32 for i in range(8)]
    nodes = build_tree(leaves)
    tree = IncompleteHashTree(8, nodes[0])
    tree.add_hashes({n: nodes[n] for n in tree.needed_hashes(0)}, {0: leaves[0]})
    assert tree.needed_hashes(1) == set()
    tree.add_hashes(leaves={1: leaves[1]})
    assert tree.needed_hashes(2) == {10}
