"""Hypothesis strategies for mutable containers and SDMF / MDMF shares."""

from hypothesis import strategies as st

from grid.formats.mdmf import MdmfShare, mdmf_geometry
from grid.formats.mutable_container import (
    CONTAINER_VERSIONS,
    DATA_OFFSET,
    ContainerVersion,
    MutableContainer,
    MutableContainerHeader,
    MutableLease,
)
from grid.formats.sdmf import SdmfShare

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1

hashes = st.binary(min_size=32, max_size=32)
nodeids = st.binary(min_size=20, max_size=20)
salts = st.binary(min_size=16, max_size=16)
container_versions: st.SearchStrategy[ContainerVersion] = st.sampled_from(
    list(CONTAINER_VERSIONS.values())
)


@st.composite
def share_hash_chains(draw: st.DrawFn, max_entries: int = 8) -> tuple[tuple[int, bytes], ...]:
    """A sorted share hash chain of up to ``max_entries`` distinct node indexes."""
    indexes = draw(
        st.lists(st.integers(min_value=0, max_value=0xFFFF), unique=True, max_size=max_entries)
    )
    return tuple((index, draw(hashes)) for index in sorted(indexes))


@st.composite
def block_hash_trees(draw: st.DrawFn) -> tuple[bytes, ...]:
    """A block hash tree: a short list of 32-byte nodes."""
    return tuple(draw(st.lists(hashes, max_size=7)))


@st.composite
def encoding_parameters(draw: st.DrawFn) -> tuple[int, int]:
    """A (k, N) pair with 1 <= k <= N <= 255."""
    needed = draw(st.integers(min_value=1, max_value=255))
    total = draw(st.integers(min_value=needed, max_value=255))
    return needed, total


@st.composite
def mutable_leases(draw: st.DrawFn) -> MutableLease:
    """A non-empty lease as stored in a container slot."""
    return MutableLease(
        owner_num=draw(st.integers(min_value=1, max_value=UINT32_MAX)),
        expiration_time=draw(st.integers(min_value=0, max_value=UINT32_MAX)),
        renew_secret_stored=draw(hashes),
        cancel_secret_stored=draw(hashes),
        nodeid=draw(nodeids),
    )


@st.composite
def mutable_container_headers(draw: st.DrawFn, data_length: int = 0) -> MutableContainerHeader:
    """A container header for ``data_length`` bytes of data, maybe with spare space."""
    slack = draw(st.integers(min_value=0, max_value=64))
    return MutableContainerHeader(
        version=draw(container_versions),
        write_enabler_nodeid=draw(nodeids),
        write_enabler=draw(hashes),
        data_length=data_length,
        extra_lease_offset=DATA_OFFSET + data_length + slack,
    )


@st.composite
def mutable_containers(draw: st.DrawFn) -> MutableContainer:
    """A whole container: data, four fixed lease slots and a few extra ones."""
    data = draw(st.binary(max_size=300))
    header = draw(mutable_container_headers(data_length=len(data)))
    slots = draw(st.lists(st.none() | mutable_leases(), min_size=4, max_size=7))
    return MutableContainer(header=header, data=data, lease_slots=tuple(slots))


@st.composite
def sdmf_shares(draw: st.DrawFn) -> SdmfShare:
    """An SDMF share record with arbitrary (but storable) field values."""
    needed, total = draw(encoding_parameters())
    return SdmfShare(
        seqnum=draw(st.integers(min_value=0, max_value=UINT64_MAX)),
        root_hash=draw(hashes),
        salt=draw(salts),
        needed_shares=needed,
        total_shares=total,
        segment_size=draw(st.integers(min_value=0, max_value=UINT64_MAX)),
        data_length=draw(st.integers(min_value=0, max_value=UINT64_MAX)),
        verification_key=draw(st.binary(max_size=300)),
        signature=draw(st.binary(max_size=260)),
        share_hash_chain=draw(share_hash_chains()),
        block_hash_tree=draw(block_hash_trees()),
        share_data=draw(st.binary(max_size=200)),
        encrypted_private_key=draw(st.binary(max_size=1220)),
    )


@st.composite
def mdmf_geometries(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(k, N, segment size, data length) that cut into a few small blocks."""
    needed, total = draw(encoding_parameters())
    if draw(st.booleans()) and draw(st.booleans()):
        return needed, total, 0, 0
    block_size = draw(st.integers(min_value=1, max_value=40 // needed + 1))
    segment_size = needed * block_size
    num_segments = draw(st.integers(min_value=0, max_value=4))
    if num_segments == 0:
        return needed, total, segment_size, 0
    tail = draw(st.integers(min_value=1, max_value=segment_size))
    return needed, total, segment_size, (num_segments - 1) * segment_size + tail


@st.composite
def mdmf_shares(draw: st.DrawFn) -> MdmfShare:
    """An MDMF share record whose body fits Tahoe's reservation."""
    needed, total, segment_size, data_length = draw(mdmf_geometries())
    geometry = mdmf_geometry(needed, segment_size, data_length)
    sizes = [geometry.block_size] * (geometry.num_segments - 1) + [geometry.tail_block_size]
    blocks = [
        (draw(salts), draw(st.binary(min_size=size, max_size=size)))
        for size in sizes[: geometry.num_segments]
    ]
    return MdmfShare(
        seqnum=draw(st.integers(min_value=0, max_value=UINT64_MAX)),
        root_hash=draw(hashes),
        needed_shares=needed,
        total_shares=total,
        segment_size=segment_size,
        data_length=data_length,
        encrypted_private_key=draw(st.binary(max_size=1220)),
        share_hash_chain=draw(share_hash_chains()),
        signature=draw(st.binary(max_size=260)),
        verification_key=draw(st.binary(max_size=292)),
        blocks=blocks,
        block_hash_tree=draw(block_hash_trees()),
    )
