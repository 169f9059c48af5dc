"""Rebuilding lost CHK shares offline: byte for byte what the upload wrote, or refused."""

import itertools

import pytest

from client.check.rebuild import ShareRebuilder, rebuild_segment
from client.check.share_proof import FileProof
from grid.caps import CHKVerifyCap, parse_cap
from grid.chk_plan import ChkPlan
from grid.errors import IntegrityError
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import ParsedShare, parse_share
from grid.hashing import immutable_storage_index
from tests.chk_samples import encode_convergent, sample_plaintext
from tests.vectors import TAHOE_SHARES_DIR

TAHOE_VERIFY_CAP = (
    "URI:CHK-Verifier:ahipwoslgabarpawlhlqcyb2yy:"
    "t73eet5gjm5iaqkriwd2xuiowi463hyt6gs366jqkd57jirf7wyq:3:5:200000"
)


def _tahoe_shares() -> dict[int, bytes]:
    return {
        shnum: parse_container(
            (TAHOE_SHARES_DIR / "chk" / f"share-{shnum}.bin").read_bytes()
        ).share_data
        for shnum in range(5)
    }


def _own_shares(size: int) -> tuple[CHKVerifyCap, dict[int, bytes]]:
    plan = ChkPlan(size=size, needed=3, total=10, max_segment_size=4095)
    key, ueb_hash, sink = encode_convergent(sample_plaintext(b"rebuild", size), b"s", plan)
    cap = CHKVerifyCap(immutable_storage_index(key), ueb_hash, 3, 10, size)
    return cap, sink.bodies()


def _rebuild(
    cap: CHKVerifyCap,
    shares: dict[int, bytes],
    sources: tuple[int, ...],
    lost: set[int],
    tamper: int | None = None,
) -> dict[int, bytes]:
    """Rebuild ``lost`` from the ``sources`` shares, as the repairer does without a network."""
    parsed: dict[int, ParsedShare] = {shnum: parse_share(shares[shnum]) for shnum in sources}
    proof = FileProof(cap)
    ueb = proof.accept_uri_extension(parsed[sources[0]].uri_extension)
    _, geometry = proof.proven()
    layout = parsed[sources[0]].layout
    rebuilder = ShareRebuilder(
        layout=layout,
        uri_extension=ueb,
        packed_uri_extension=parsed[sources[0]].uri_extension,
        total_shares=cap.total_shares,
    )
    bodies = {shnum: bytearray(layout.pack_header()) for shnum in lost}
    for index in range(geometry.num_segments):
        blocks = {
            shnum: parsed[shnum].block(
                index,
                block_size=geometry.block_size,
                tail_block_size=geometry.tail_block_size,
                num_segments=geometry.num_segments,
            )
            for shnum in sources
        }
        if tamper is not None and index == geometry.num_segments - 1:
            blocks[tamper] = bytes([blocks[tamper][0] ^ 1]) + blocks[tamper][1:]
        segment = rebuild_segment(
            blocks,
            index=index,
            geometry=geometry,
            needed=cap.needed_shares,
            total=cap.total_shares,
            wanted=lost,
        )
        rebuilder.add_segment(segment)
        for shnum in lost:
            assert len(bodies[shnum]) == rebuilder.block_offset(index)
            bodies[shnum] += segment.blocks[shnum]
    for shnum, trailer in rebuilder.trailers(lost).items():
        assert len(bodies[shnum]) == layout.plaintext_hash_tree
        bodies[shnum] += trailer
    return {shnum: bytes(body) for shnum, body in bodies.items()}


@pytest.mark.parametrize("lost", list(itertools.combinations(range(5), 2)))
def test_real_tahoe_shares_are_rebuilt_byte_identical(lost: tuple[int, int]) -> None:
    """Any two of Tahoe 1.20's five shares come back exactly from the other three."""
    cap = parse_cap(TAHOE_VERIFY_CAP)
    assert isinstance(cap, CHKVerifyCap)
    shares = _tahoe_shares()
    sources = tuple(shnum for shnum in range(5) if shnum not in lost)
    rebuilt = _rebuild(cap, shares, sources, set(lost))
    assert rebuilt == {shnum: shares[shnum] for shnum in lost}


@pytest.mark.parametrize("sources", [(0, 1, 2), (7, 8, 9), (9, 0, 5)])
@pytest.mark.parametrize("size", [56, 4095, 3 * 4095 + 5])
def test_own_shares_are_rebuilt_byte_identical(sources: tuple[int, ...], size: int) -> None:
    """Primary, parity-only and mixed sources all rebuild the other seven shares exactly."""
    cap, shares = _own_shares(size)
    lost = set(range(10)) - set(sources)
    assert _rebuild(cap, shares, sources, lost) == {shnum: shares[shnum] for shnum in lost}


def test_a_wrong_block_makes_the_rebuild_refuse_its_trailers() -> None:
    """A block that was not proven, if wrong, fails the UEB's roots: IntegrityError."""
    cap, shares = _own_shares(3 * 4095 + 5)
    with pytest.raises(IntegrityError):
        _rebuild(cap, shares, (7, 8, 9), {0}, tamper=8)


def test_segments_must_arrive_in_order_and_all_of_them() -> None:
    """The rebuilder refuses a segment out of order and trailers before the last segment."""
    cap, shares = _own_shares(3 * 4095 + 5)
    parsed = parse_share(shares[0])
    proof = FileProof(cap)
    ueb = proof.accept_uri_extension(parsed.uri_extension)
    _, geometry = proof.proven()
    rebuilder = ShareRebuilder(
        layout=parsed.layout,
        uri_extension=ueb,
        packed_uri_extension=parsed.uri_extension,
        total_shares=10,
    )
    blocks = {
        shnum: parse_share(shares[shnum]).block(
            1,
            block_size=geometry.block_size,
            tail_block_size=geometry.tail_block_size,
            num_segments=geometry.num_segments,
        )
        for shnum in range(3)
    }
    segment = rebuild_segment(blocks, index=1, geometry=geometry, needed=3, total=10, wanted={5})
    with pytest.raises(ValueError, match="expected segment 0"):
        rebuilder.add_segment(segment)
    with pytest.raises(ValueError, match="0 of 4 segments"):
        rebuilder.trailers({5})
