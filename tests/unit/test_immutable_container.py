import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import ShareFormatError
from grid.formats.immutable_container import (
    ContainerHeader,
    ImmutableContainer,
    Lease,
    build_container,
    lease_matches_cancel_secret,
    lease_matches_renew_secret,
    leases_offset,
    make_lease,
    pack_container_header,
    pack_lease,
    parse_container,
    parse_container_header,
    parse_lease,
    stored_lease_secret,
)
from tests.strategies.immutable_formats import (
    container_versions,
    hashes,
    leases,
    leases_with_secrets,
    u32,
)


@given(container_versions, st.integers(0, 2**64), u32)
def test_header_round_trip(version: int, allocated: int, lease_count: int) -> None:
    """A header packs to 12 bytes and parses back, the legacy length capped at 2**32-1."""
    packed = pack_container_header(version, allocated, lease_count)
    assert len(packed) == 12
    header = parse_container_header(packed)
    assert header == ContainerHeader(version, min(allocated, 2**32 - 1), lease_count)
    assert header.pack() == packed


@given(st.binary(max_size=20))
def test_header_garbage(data: bytes) -> None:
    """Arbitrary bytes parse as a header that repacks to their prefix, or raise ShareFormatError."""
    try:
        header = parse_container_header(data)
    except ShareFormatError:
        return
    assert data.startswith(header.pack())


@pytest.mark.parametrize("data", [b"", bytes(11), struct.pack(">LLL", 3, 0, 0)])
def test_header_rejects(data: bytes) -> None:
    """Short headers and unknown container versions are refused."""
    with pytest.raises(ShareFormatError):
        parse_container_header(data)


@given(leases())
def test_lease_round_trip(lease: Lease) -> None:
    """A lease packs to 72 bytes and parses back."""
    packed = pack_lease(lease)
    assert len(packed) == 72
    assert parse_lease(packed) == lease


@given(st.binary(max_size=100))
def test_lease_garbage(data: bytes) -> None:
    """Any 72 bytes are a lease that repacks identically; other lengths raise."""
    try:
        lease = parse_lease(data)
    except ShareFormatError:
        assert len(data) != 72
        return
    assert pack_lease(lease) == data


def test_lease_repr_hides_secrets() -> None:
    """A lease's repr shows owner and expiry but no secret bytes."""
    lease = make_lease(
        1, owner_num=5, renew_secret=b"R" * 32, cancel_secret=b"C" * 32, expiration_time=99
    )
    text = repr(lease)
    assert "RRRR" not in text
    assert "CCCC" not in text
    assert "owner_num=5" in text


def test_stored_secrets_per_version() -> None:
    """Container v1 stores lease secrets in clear, v2 stores unkeyed BLAKE2b-256."""
    secret = bytes(range(32))
    assert stored_lease_secret(1, secret) == secret
    assert stored_lease_secret(2, secret) == hashlib.blake2b(secret, digest_size=32).digest()
    with pytest.raises(ShareFormatError):
        stored_lease_secret(3, secret)


@given(leases_with_secrets(), hashes)
def test_lease_secret_matching(made: tuple[int, Lease, bytes, bytes], other: bytes) -> None:
    """A lease matches exactly the secrets it was made with, under its own container version."""
    version, lease, renew, cancel = made
    assert lease_matches_renew_secret(version, lease, renew)
    assert lease_matches_cancel_secret(version, lease, cancel)
    assert lease_matches_renew_secret(version, lease, other) == (other == renew)
    assert lease_matches_cancel_secret(version, lease, other) == (other == cancel)
    assert not lease_matches_renew_secret(3 - version, lease, renew)


@pytest.mark.parametrize(
    "fields",
    [(-1, bytes(32), bytes(32), 0), (0, bytes(31), bytes(32), 0), (0, bytes(32), bytes(32), 2**32)],
)
def test_lease_rejects_bad_fields(fields: tuple[int, bytes, bytes, int]) -> None:
    """Out-of-range owners or expiries and wrong-sized secrets are refused."""
    with pytest.raises(ShareFormatError):
        Lease(*fields)


@given(container_versions, st.binary(max_size=300), st.lists(leases(), max_size=4))
def test_container_round_trip(version: int, share_data: bytes, stored: list[Lease]) -> None:
    """build_container then parse_container gives back share data and leases."""
    data = build_container(version, share_data, stored)
    assert len(data) == 12 + len(share_data) + 72 * len(stored)
    container = parse_container(data)
    assert container.version == version
    assert container.header.legacy_length == len(share_data)
    assert container.share_data == share_data
    assert list(container.leases) == stored
    assert container.pack() == data
    assert data[leases_offset(len(share_data)) :] == b"".join(map(pack_lease, stored))


@given(st.binary(max_size=400))
def test_container_garbage(data: bytes) -> None:
    """Arbitrary bytes raise only ShareFormatError, or parse and repack identically."""
    try:
        container = parse_container(data)
    except ShareFormatError:
        return
    assert container.pack() == data


def test_legacy_length_ignored_when_reading() -> None:
    """The share data length comes from the file size, whatever the legacy field says."""
    data = struct.pack(">LLL", 2, 999999, 0) + b"share bytes"
    container = parse_container(data)
    assert container.share_data == b"share bytes"
    assert container.pack() == data


def test_container_too_short_for_leases() -> None:
    """A lease count the file cannot hold is refused."""
    with pytest.raises(ShareFormatError):
        parse_container(struct.pack(">LLL", 1, 0, 1) + bytes(71))


def test_negative_allocated_size() -> None:
    """A negative allocated size cannot be packed."""
    with pytest.raises(ShareFormatError):
        pack_container_header(1, -1, 0)


def test_container_record_checks_lease_count() -> None:
    """A container record whose header disagrees with its lease list is refused."""
    with pytest.raises(ShareFormatError):
        ImmutableContainer(ContainerHeader(2, 0, 1), b"", ())
