"""Merkle hash trees as Tahoe-LAFS builds them.

Rules: a tree over L leaves pads its leaf row to P = the next power of two
(P = 1 for L <= 1) with ``empty_leaf_hash(i)``; node ``n`` has children
``2n+1`` and ``2n+2``; the root is node 0 and leaf ``j`` is node ``P-1+j``.
Zero leaves make the one-node tree ``[empty_leaf_hash(0)]``.

:class:`IncompleteHashTree` checks nodes from untrusted servers against a
trusted root: nothing it was given is believed until a chain of hashes links
it to an already trusted node, and any disagreement raises
:class:`~grid.errors.IntegrityError`. A failed call leaves it unchanged.
"""

from collections.abc import Mapping, Sequence

from grid.errors import IntegrityError, MissingHashesError
from grid.hashing import HASH_SIZE, empty_leaf_hash, internal_node_hash


def next_power_of_2(count: int) -> int:
    """Return the smallest power of two >= ``count`` (1 for count <= 1)."""
    power = 1
    while power < count:
        power *= 2
    return power


def tree_node_count(num_leaves: int) -> int:
    """Return how many nodes the tree over ``num_leaves`` leaves has."""
    return 2 * next_power_of_2(num_leaves) - 1


def leaf_node(num_leaves: int, leaf_index: int) -> int:
    """Return the node number of leaf ``leaf_index``."""
    return next_power_of_2(num_leaves) - 1 + leaf_index


def sibling(node: int) -> int:
    """Return the node that shares a parent with ``node`` (not the root)."""
    return node + 1 if node % 2 == 1 else node - 1


def parent(node: int) -> int:
    """Return the parent of ``node`` (not the root)."""
    return (node - 1) // 2


def build_tree(leaves: Sequence[bytes]) -> list[bytes]:
    """Return every node of the tree over ``leaves``, in node order (root first)."""
    width = next_power_of_2(len(leaves))
    row = list(leaves) + [empty_leaf_hash(i) for i in range(len(leaves), width)]
    levels = [row]
    while len(row) > 1:
        row = [internal_node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        levels.append(row)
    nodes: list[bytes] = []
    for level in reversed(levels):
        nodes.extend(level)
    return nodes


def needed_hashes(num_leaves: int, leaf_index: int, *, include_leaf: bool = False) -> set[int]:
    """Return the nodes that prove ``leaf_index``: its uncles, and itself if asked."""
    if not 0 <= leaf_index < max(num_leaves, 1):
        raise IndexError(f"leaf {leaf_index} outside a tree of {num_leaves} leaves")
    node = leaf_node(num_leaves, leaf_index)
    needed = {node} if include_leaf else set()
    while node != 0:
        needed.add(sibling(node))
        node = parent(node)
    return needed


class IncompleteHashTree:
    """A tree of which only the trusted root is known at first.

    Callers add nodes and leaves fetched from untrusted servers; each call
    either links everything it was given to trusted nodes and then trusts
    all of it, or raises and trusts nothing new.
    """

    def __init__(self, num_leaves: int, root_hash: bytes) -> None:
        """Start a tree over ``num_leaves`` leaves whose root is ``root_hash``."""
        self.num_leaves = num_leaves
        self.node_count = tree_node_count(num_leaves)
        self._trusted: dict[int, bytes] = {0: root_hash}

    def trusted_hash(self, node: int) -> bytes | None:
        """Return a node's hash if it is trusted, else None."""
        return self._trusted.get(node)

    def needed_hashes(self, leaf_index: int, *, include_leaf: bool = False) -> set[int]:
        """Return the nodes still missing to check ``leaf_index``."""
        wanted = needed_hashes(self.num_leaves, leaf_index, include_leaf=include_leaf)
        return {node for node in wanted if node not in self._trusted}

    def add_hashes(
        self,
        hashes: Mapping[int, bytes] | None = None,
        leaves: Mapping[int, bytes] | None = None,
    ) -> None:
        """Check untrusted nodes and leaf hashes against the tree, then trust them.

        Raises IntegrityError if any value contradicts a trusted or computed
        hash, MissingHashesError if a sibling needed to link a value is absent.
        """
        offered = dict(self._trusted)
        fresh: list[int] = []
        for node, value in self._label(hashes, leaves):
            known = offered.get(node)
            if known is not None:
                if known != value:
                    raise IntegrityError(f"hash tree node {node} disagrees with a known hash")
                continue
            offered[node] = value
            fresh.append(node)
        verified: set[int] = set()
        for start in sorted(fresh, reverse=True):
            self._link_to_trusted(start, offered, verified)
        self._trusted.update((node, offered[node]) for node in verified)

    def _label(
        self, hashes: Mapping[int, bytes] | None, leaves: Mapping[int, bytes] | None
    ) -> list[tuple[int, bytes]]:
        labelled = list((hashes or {}).items())
        for leaf_index, value in (leaves or {}).items():
            if not 0 <= leaf_index < max(self.num_leaves, 1):
                raise IntegrityError(f"leaf {leaf_index} is outside the tree")
            labelled.append((leaf_node(self.num_leaves, leaf_index), value))
        for node, value in labelled:
            if not 0 <= node < self.node_count:
                raise IntegrityError(f"hash tree node {node} is outside the tree")
            if len(value) != HASH_SIZE:
                raise IntegrityError(f"hash tree node {node} is not {HASH_SIZE} bytes")
        return labelled

    def _link_to_trusted(self, start: int, offered: dict[int, bytes], verified: set[int]) -> None:
        path: list[int] = []
        node = start
        while node not in self._trusted and node not in verified:
            brother = sibling(node)
            brother_hash = offered.get(brother)
            if brother_hash is None:
                raise MissingHashesError(f"hash tree node {brother} is needed to check node {node}")
            left, right = (
                (offered[node], brother_hash) if node % 2 else (brother_hash, offered[node])
            )
            computed = internal_node_hash(left, right)
            above = parent(node)
            path.extend((node, brother))
            if offered.setdefault(above, computed) != computed:
                raise IntegrityError(f"hash tree node {above} does not match its children")
            node = above
        verified.update(path)
