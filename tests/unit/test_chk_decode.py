import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grid.base32 import a2b
from grid.caps import CHKReadCap, parse_cap
from grid.chk_decode import decode_chk
from grid.chk_plan import ChkPlan
from grid.crypto.aes import aes_ctr
from grid.errors import GridError, NotEnoughSharesError
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from grid.formats.uri_extension import parse_uri_extension
from tests.chk_samples import encode_convergent, manifest, sample_plaintext
from tests.vectors import TAHOE_SHARES_DIR, VECTORS_DIR


def _tahoe_chk() -> tuple[CHKReadCap, bytes, dict[int, bytes]]:
    entry: dict[str, Any] = next(item for item in manifest()["files"] if item["kind"] == "CHK")
    cap = parse_cap(entry["read_cap"])
    assert isinstance(cap, CHKReadCap)
    plaintext = sample_plaintext(b"chk-sample", entry["plaintext"]["length"])
    shares = {
        shnum: parse_container(
            (TAHOE_SHARES_DIR / "chk" / f"share-{shnum}.bin").read_bytes()
        ).share_data
        for shnum in range(5)
    }
    return cap, plaintext, shares


TAHOE_CAP, TAHOE_PLAINTEXT, TAHOE_SHARES = _tahoe_chk()


@pytest.mark.parametrize("chosen", list(itertools.combinations(range(5), 3)))
def test_tahoe_shares_decode_from_any_three(chosen: tuple[int, ...]) -> None:
    """Any 3 of Tahoe 1.20's 5 real shares decode to the plaintext."""
    shares = {shnum: TAHOE_SHARES[shnum] for shnum in chosen}
    assert decode_chk(TAHOE_CAP, shares) == TAHOE_PLAINTEXT


def test_two_shares_are_not_enough() -> None:
    """With only 2 of 3 needed shares, decoding fails with NotEnoughSharesError."""
    with pytest.raises(NotEnoughSharesError):
        decode_chk(TAHOE_CAP, {3: TAHOE_SHARES[3], 4: TAHOE_SHARES[4]})


def test_wrong_cap_finds_no_uri_extension() -> None:
    """A cap with another UEB hash accepts none of the shares."""
    other = CHKReadCap(
        key=TAHOE_CAP.key,
        uri_extension_hash=b"\x00" * 32,
        needed_shares=3,
        total_shares=5,
        size=TAHOE_CAP.size,
    )
    with pytest.raises(NotEnoughSharesError):
        decode_chk(other, TAHOE_SHARES)


def test_old_tahoe_share_block_decrypts_to_the_file_start() -> None:
    """The 1.2.0 share 0 (a primary share) holds the first ciphertext block of its file."""
    cap = parse_cap(
        "URI:CHK:g4i6qkk7mlj4vkl5ncg6dwo73i:qcas2ebousfk3q5rkl2ncayeku52kpyse76v5yeel2t2eaa4f6ha:3:10:310"
    )
    assert isinstance(cap, CHKReadCap)
    data = a2b((VECTORS_DIR / "tahoe-1.2-chk-share0.b32").read_text().strip())
    share = parse_share(parse_container(data).share_data)
    ueb = parse_uri_extension(share.uri_extension)
    block = share.block(
        0,
        block_size=ueb.block_size,
        tail_block_size=ueb.tail_block_size,
        num_segments=ueb.num_segments,
    )
    plaintext = b"This is a moderate-sized file.\n" * 10
    assert aes_ctr(cap.key, block) == plaintext[: len(block)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corrupt_byte_never_yields_wrong_plaintext(data: st.DataObject) -> None:
    """With exactly k shares and one byte changed anywhere, decoding is right or raises."""
    chosen = data.draw(st.sampled_from(list(itertools.combinations(range(5), 3))))
    victim = data.draw(st.sampled_from(chosen))
    body = bytearray(TAHOE_SHARES[victim])
    position = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    body[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    shares = {shnum: TAHOE_SHARES[shnum] for shnum in chosen}
    shares[victim] = bytes(body)
    try:
        result = decode_chk(TAHOE_CAP, shares)
    except GridError:
        return
    assert result == TAHOE_PLAINTEXT


def test_corrupt_share_is_replaced_by_a_spare() -> None:
    """With a spare share available, every corrupted non-padding byte region is survived."""
    layout = parse_share(TAHOE_SHARES[0]).layout
    regions = [
        0,
        layout.data + 5,
        layout.crypttext_hash_tree + 1,
        layout.block_hashes + 1,
        layout.share_hashes + 3,
        layout.uri_extension + 10,
    ]
    for position in regions:
        body = bytearray(TAHOE_SHARES[0])
        body[position] ^= 0xFF
        shares = dict(TAHOE_SHARES)
        shares[0] = bytes(body)
        assert decode_chk(TAHOE_CAP, shares) == TAHOE_PLAINTEXT


@settings(max_examples=40, deadline=None)
@given(
    st.binary(min_size=56, max_size=2000),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=1, max_value=500),
    st.data(),
)
def test_encode_then_decode_from_any_k(
    plaintext: bytes, needed: int, extra: int, max_segment: int, data: st.DataObject
) -> None:
    """Our own encoding decodes from any k of its N shares."""
    plan = ChkPlan(
        size=len(plaintext), needed=needed, total=needed + extra, max_segment_size=max_segment
    )
    key, ueb_hash, sink = encode_convergent(plaintext, b"secret", plan)
    cap = CHKReadCap(
        key=key,
        uri_extension_hash=ueb_hash,
        needed_shares=plan.needed,
        total_shares=plan.total,
        size=plan.size,
    )
    chosen = data.draw(st.permutations(range(plan.total)))[:needed]
    bodies = sink.bodies()
    assert decode_chk(cap, {shnum: bodies[shnum] for shnum in chosen}) == plaintext
