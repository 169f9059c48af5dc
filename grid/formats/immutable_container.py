"""The immutable container file a storage server keeps for one share.

Rules:

- Layout (big-endian): a 12-byte header ``>LLL`` (container version, legacy
  share-data length, lease count), the share data, then one 72-byte
  ``>L32s32sL`` record per lease (owner, renew secret, cancel secret,
  expiration time in unix seconds).
- The container version is unrelated to the share layout version inside.
  Versions are rows of :data:`CONTAINER_VERSIONS`: v1 stores lease secrets in
  clear, v2 stores BLAKE2b-256 (unkeyed) of each. A :class:`Lease` holds what
  is stored; the container version says how to compare a presented secret
  (:func:`lease_matches_renew_secret`), always in constant time.
- The legacy length is written as ``min(2**32-1, share data length)`` and
  ignored when reading: the share data length is the file size less the header
  and the lease records.
- Parsers raise only :class:`~grid.errors.ShareFormatError`. Secrets never
  appear in a repr.
"""

import hashlib
import hmac
import struct
from collections.abc import Sequence

import attrs

from grid.errors import ShareFormatError

CONTAINER_HEADER = struct.Struct(">LLL")
LEASE_RECORD = struct.Struct(">L32s32sL")
LEASE_SECRET_SIZE = 32
_MAX_U32 = 2**32 - 1


@attrs.frozen
class ContainerVersion:
    """One row of the container-version table: how lease secrets are stored."""

    version: int
    hashes_lease_secrets: bool


CONTAINER_VERSIONS: dict[int, ContainerVersion] = {
    1: ContainerVersion(1, hashes_lease_secrets=False),
    2: ContainerVersion(2, hashes_lease_secrets=True),
}


def _container_version(version: int) -> ContainerVersion:
    row = CONTAINER_VERSIONS.get(version)
    if row is None:
        raise ShareFormatError(f"unknown immutable container version {version}")
    return row


def _check_u32(name: str, value: int) -> None:
    if not 0 <= value <= _MAX_U32:
        raise ShareFormatError(f"{name} {value} does not fit in 32 bits")


@attrs.frozen
class ContainerHeader:
    """The 12-byte container header, as stored."""

    version: int
    legacy_length: int
    lease_count: int

    def __attrs_post_init__(self) -> None:
        """Refuse unknown versions and values that do not fit their fields."""
        _container_version(self.version)
        _check_u32("legacy length", self.legacy_length)
        _check_u32("lease count", self.lease_count)

    def pack(self) -> bytes:
        """Serialize the header exactly as stored."""
        return CONTAINER_HEADER.pack(self.version, self.legacy_length, self.lease_count)


def pack_container_header(version: int, allocated_size: int, lease_count: int) -> bytes:
    """Serialize a header for share data of ``allocated_size`` bytes."""
    if allocated_size < 0:
        raise ShareFormatError(f"negative allocated size {allocated_size}")
    return ContainerHeader(version, min(_MAX_U32, allocated_size), lease_count).pack()


def parse_container_header(data: bytes) -> ContainerHeader:
    """Read the header at the start of ``data`` (more bytes may follow)."""
    if len(data) < CONTAINER_HEADER.size:
        raise ShareFormatError(f"container of {len(data)} bytes has no complete header")
    return ContainerHeader(*CONTAINER_HEADER.unpack_from(data))


@attrs.frozen
class Lease:
    """One lease record as stored: the secrets are cleartext (v1) or hashed (v2)."""

    owner_num: int
    stored_renew_secret: bytes = attrs.field(repr=False)
    stored_cancel_secret: bytes = attrs.field(repr=False)
    expiration_time: int

    def __attrs_post_init__(self) -> None:
        """Check field sizes."""
        _check_u32("lease owner", self.owner_num)
        _check_u32("lease expiration time", self.expiration_time)
        for secret in (self.stored_renew_secret, self.stored_cancel_secret):
            if len(secret) != LEASE_SECRET_SIZE:
                raise ShareFormatError(f"a stored lease secret must be {LEASE_SECRET_SIZE} bytes")


def stored_lease_secret(container_version: int, secret: bytes) -> bytes:
    """Return the form in which a container of this version stores ``secret``."""
    if _container_version(container_version).hashes_lease_secrets:
        return hashlib.blake2b(secret, digest_size=LEASE_SECRET_SIZE).digest()
    return secret


def make_lease(
    container_version: int,
    *,
    owner_num: int,
    renew_secret: bytes,
    cancel_secret: bytes,
    expiration_time: int,
) -> Lease:
    """Build the lease record a container of this version stores for these secrets."""
    return Lease(
        owner_num=owner_num,
        stored_renew_secret=stored_lease_secret(container_version, renew_secret),
        stored_cancel_secret=stored_lease_secret(container_version, cancel_secret),
        expiration_time=expiration_time,
    )


def lease_matches_renew_secret(container_version: int, lease: Lease, presented: bytes) -> bool:
    """Tell, in constant time, whether ``presented`` is this lease's renew secret."""
    candidate = stored_lease_secret(container_version, presented)
    return hmac.compare_digest(candidate, lease.stored_renew_secret)


def lease_matches_cancel_secret(container_version: int, lease: Lease, presented: bytes) -> bool:
    """Tell, in constant time, whether ``presented`` is this lease's cancel secret."""
    candidate = stored_lease_secret(container_version, presented)
    return hmac.compare_digest(candidate, lease.stored_cancel_secret)


def pack_lease(lease: Lease) -> bytes:
    """Serialize one 72-byte lease record."""
    return LEASE_RECORD.pack(
        lease.owner_num,
        lease.stored_renew_secret,
        lease.stored_cancel_secret,
        lease.expiration_time,
    )


def parse_lease(data: bytes) -> Lease:
    """Parse exactly one 72-byte lease record."""
    if len(data) != LEASE_RECORD.size:
        raise ShareFormatError(f"a lease record is {LEASE_RECORD.size} bytes, not {len(data)}")
    return Lease(*LEASE_RECORD.unpack(data))


@attrs.frozen
class ImmutableContainer:
    """A parsed container file: header, share data and leases."""

    header: ContainerHeader
    share_data: bytes = attrs.field(repr=False)
    leases: tuple[Lease, ...]

    def __attrs_post_init__(self) -> None:
        """The header's lease count must match the leases."""
        if self.header.lease_count != len(self.leases):
            raise ShareFormatError("container lease count does not match its leases")

    @property
    def version(self) -> int:
        """The container version (1 or 2)."""
        return self.header.version

    def pack(self) -> bytes:
        """Serialize exactly as parsed (the legacy length is kept as stored)."""
        return b"".join((self.header.pack(), self.share_data, *map(pack_lease, self.leases)))


def leases_offset(share_data_length: int) -> int:
    """File offset of the first lease record after share data of this length."""
    return CONTAINER_HEADER.size + share_data_length


def parse_container(data: bytes) -> ImmutableContainer:
    """Parse a whole container file; the share data length is derived from its size."""
    header = parse_container_header(data)
    share_data_length = len(data) - CONTAINER_HEADER.size - LEASE_RECORD.size * header.lease_count
    if share_data_length < 0:
        raise ShareFormatError(
            f"container of {len(data)} bytes cannot hold {header.lease_count} leases"
        )
    start = leases_offset(share_data_length)
    leases = tuple(
        parse_lease(data[offset : offset + LEASE_RECORD.size])
        for offset in range(start, len(data), LEASE_RECORD.size)
    )
    return ImmutableContainer(header, data[CONTAINER_HEADER.size : start], leases)


def build_container(version: int, share_data: bytes, leases: Sequence[Lease]) -> bytes:
    """Serialize a container holding ``share_data`` and ``leases``."""
    header = ContainerHeader(version, min(_MAX_U32, len(share_data)), len(leases))
    return ImmutableContainer(header, share_data, tuple(leases)).pack()
