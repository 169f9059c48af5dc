"""Hypothesis strategies for immutable share, UEB and container records."""

import string
from typing import Any

from hypothesis import strategies as st

from grid.formats.immutable_container import (
    CONTAINER_VERSIONS,
    Lease,
    make_lease,
)
from grid.formats.immutable_share import ShareLayout, build_share, plan_share_layout
from grid.formats.uri_extension import STANDARD_KEYS, UriExtension, codec_params

hashes = st.binary(min_size=32, max_size=32)
container_versions = st.sampled_from(sorted(CONTAINER_VERSIONS))
layout_versions = st.sampled_from([1, 2])
u32 = st.integers(min_value=0, max_value=2**32 - 1)
ueb_keys = st.text(alphabet=string.ascii_letters + "_-", min_size=1, max_size=20)


@st.composite
def share_layouts(draw: st.DrawFn) -> ShareLayout:
    """A planned layout for a consistent block geometry, any size, v1 or v2 or chosen."""
    num_segments = draw(st.integers(min_value=1, max_value=300))
    block_size = draw(st.integers(min_value=1, max_value=2**40))
    tail_block_size = draw(st.integers(min_value=1, max_value=block_size))
    total_shares = draw(st.integers(min_value=1, max_value=256))
    return plan_share_layout(
        block_size=block_size,
        data_size=(num_segments - 1) * block_size + tail_block_size,
        num_segments=num_segments,
        num_share_hashes=(total_shares - 1).bit_length() + 1,
        ueb_length=draw(st.integers(min_value=0, max_value=3000)),
        version=draw(st.none() | st.just(2)),
    )


@st.composite
def share_hash_entries(draw: st.DrawFn) -> list[tuple[int, bytes]]:
    """A share hash chain: distinct node indexes with 32-byte hashes, in any order."""
    nodes = draw(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=9, unique=True))
    return [(node, draw(hashes)) for node in nodes]


@st.composite
def uri_extensions(draw: st.DrawFn) -> UriExtension:
    """A UEB with valid syntax, sometimes with unknown extra keys."""
    needed = draw(st.integers(min_value=1, max_value=256))
    total = draw(st.integers(min_value=needed, max_value=256))
    extra_keys = st.lists(ueb_keys.filter(lambda key: key not in STANDARD_KEYS), max_size=3)
    return UriExtension(
        codec_name="crs",
        codec_params=codec_params(draw(st.integers(0, 2**40)), needed, total),
        tail_codec_params=codec_params(draw(st.integers(0, 2**40)), needed, total),
        crypttext_hash=draw(hashes),
        crypttext_root_hash=draw(hashes),
        needed_shares=draw(st.integers(0, 2**64)),
        total_shares=draw(st.integers(0, 2**64)),
        num_segments=draw(st.integers(0, 2**64)),
        segment_size=draw(st.integers(0, 2**64)),
        share_root_hash=draw(hashes),
        size=draw(st.integers(0, 2**64)),
        extra={key: draw(st.binary(max_size=40)) for key in draw(extra_keys)},
    )


@st.composite
def leases(draw: st.DrawFn) -> Lease:
    """A stored lease record with arbitrary (already stored) secrets."""
    return Lease(
        owner_num=draw(u32),
        stored_renew_secret=draw(hashes),
        stored_cancel_secret=draw(hashes),
        expiration_time=draw(u32),
    )


@st.composite
def leases_with_secrets(draw: st.DrawFn) -> tuple[int, Lease, bytes, bytes]:
    """A container version, a lease made for it, and its renew and cancel secrets."""
    version = draw(container_versions)
    renew, cancel = draw(hashes), draw(hashes)
    lease = make_lease(
        version,
        owner_num=draw(u32),
        renew_secret=renew,
        cancel_secret=cancel,
        expiration_time=draw(u32),
    )
    return version, lease, renew, cancel


@st.composite
def share_parts(draw: st.DrawFn) -> dict[str, Any]:
    """The keyword arguments of ``build_share`` for a small, well-formed share."""
    num_segments = draw(st.integers(min_value=1, max_value=5))
    block_size = draw(st.integers(min_value=1, max_value=20))
    tail_size = draw(st.integers(min_value=1, max_value=block_size))
    sizes = [block_size] * (num_segments - 1) + [tail_size]
    power = 1 << (num_segments - 1).bit_length()
    tree = st.lists(hashes, min_size=2 * power - 1, max_size=2 * power - 1)
    return {
        "blocks": [draw(st.binary(min_size=size, max_size=size)) for size in sizes],
        "crypttext_hash_tree": draw(tree),
        "block_hash_tree": draw(tree),
        "share_hashes": draw(share_hash_entries()),
        "uri_extension": draw(st.binary(max_size=400)),
        "version": draw(st.none() | layout_versions),
    }


@st.composite
def small_shares(draw: st.DrawFn) -> bytes:
    """Complete share data for a small share."""
    return build_share(**draw(share_parts()))
