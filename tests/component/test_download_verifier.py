import attrs
import pytest

from client.download.errors import (
    CapMismatchError,
    CorruptShareError,
    UriExtensionMismatchError,
)
from client.download.verifier import FileVerifier
from grid.crypto.aes import aes_ctr
from grid.errors import IntegrityError
from grid.formats.immutable_share import parse_share
from grid.hashing import crypttext_segment_hash
from grid.hashtree import build_tree, leaf_node, needed_hashes
from tests.component.test_download_fakes import encode_file

FILE = encode_file(9000, needed=3, total=5, segment_size=1200)
SHARE = parse_share(FILE.bodies[0])


def _ciphertext_segments() -> list[bytes]:
    ciphertext = aes_ctr(FILE.cap.key, FILE.plaintext)
    return [ciphertext[start : start + 1200] for start in range(0, len(ciphertext), 1200)]


SEGMENTS = _ciphertext_segments()
CRYPTTEXT_TREE = build_tree([crypttext_segment_hash(segment) for segment in SEGMENTS])


def _verifier() -> FileVerifier:
    verifier = FileVerifier(FILE.cap)
    verifier.accept_uri_extension(SHARE.uri_extension)
    return verifier


def _nodes(index: int) -> dict[int, bytes]:
    return {node: CRYPTTEXT_TREE[node] for node in needed_hashes(len(SEGMENTS), index)}


def test_uri_extension_with_another_hash_is_refused() -> None:
    """A UEB that does not hash to the cap's UEB hash blames the share that sent it."""
    verifier = FileVerifier(FILE.cap)
    with pytest.raises(UriExtensionMismatchError):
        verifier.accept_uri_extension(SHARE.uri_extension + b"x")
    assert verifier.uri_extension is None


def test_uri_extension_contradicting_the_cap_is_a_cap_mismatch() -> None:
    """A cap whose UEB hash matches but whose size differs gives CapMismatchError."""
    cap = attrs.evolve(FILE.cap, size=FILE.cap.size + 1)
    with pytest.raises(CapMismatchError):
        FileVerifier(cap).accept_uri_extension(SHARE.uri_extension)


def test_predicted_layout_is_exact_once_the_ueb_is_known() -> None:
    """After the UEB, the predicted layout is the layout the uploader wrote."""
    assert _verifier().predicted_layout() == SHARE.layout


def test_share_chain_without_its_leaf_is_corrupt() -> None:
    """A hash chain that lacks the share's own leaf cannot prove it."""
    verifier = _verifier()
    chain = [entry for entry in SHARE.share_hashes if entry[0] != leaf_node(5, 0)]
    with pytest.raises(CorruptShareError):
        verifier.prove_share(0, chain)


def test_share_chain_of_a_distant_share_is_corrupt() -> None:
    """Share 0's chain offered as share 2's (whose leaf it lacks) fails."""
    with pytest.raises(CorruptShareError):
        _verifier().prove_share(2, list(SHARE.share_hashes))


def test_tampered_share_chain_is_corrupt() -> None:
    """A chain with one node changed fails against the UEB's share root."""
    chain = [
        (node, b"\x07" * 32 if node == leaf_node(5, 0) else value)
        for node, value in SHARE.share_hashes
    ]
    with pytest.raises(CorruptShareError):
        _verifier().prove_share(0, chain)


def test_segment_checks_with_right_nodes() -> None:
    """Every segment is proven by its own crypttext tree nodes."""
    verifier = _verifier()
    for index, segment in enumerate(SEGMENTS):
        verifier.check_segment(index, segment, _nodes(index))


def test_wrong_nodes_blame_the_share() -> None:
    """A wrong node (while nodes are needed) raises CorruptShareError and trusts nothing."""
    verifier = _verifier()
    nodes = _nodes(0)
    nodes[min(nodes)] = b"\x00" * 32
    with pytest.raises(CorruptShareError):
        verifier.check_segment(0, SEGMENTS[0], nodes)
    verifier.check_segment(0, SEGMENTS[0], _nodes(0))


def test_wrong_segment_under_proven_nodes_is_an_integrity_error() -> None:
    """Once its path is proven, a segment that does not match raises IntegrityError."""
    verifier = _verifier()
    verifier.check_segment(0, SEGMENTS[0], _nodes(0))
    verifier.check_segment(1, SEGMENTS[1], _nodes(1))
    with pytest.raises(IntegrityError) as raised:
        verifier.check_segment(1, SEGMENTS[1][:-1] + b"!", {})
    assert not isinstance(raised.value, CorruptShareError)
