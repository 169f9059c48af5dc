"""The on-disk container that holds one mutable share (a "slot"), versions 1 and 2.

Rules:

- Layout: a ``">32s20s32sQQ"`` header (magic, nodeid the write enabler was
  recorded for, write enabler, data length, offset of the extra-lease
  count), four 92-byte ``">LL32s32s20s"`` lease slots (owner, expiration,
  renew secret, cancel secret, nodeid; owner 0 marks an empty slot), the
  share data at 468, then at the extra-lease offset a ``">L"`` count and that
  many more 92-byte leases. Lease slot ``i`` means one of the four fixed slots
  for ``i < 4`` and extra lease ``i - 4`` after that.
- Versions are rows of :data:`CONTAINER_VERSIONS`, chosen by the magic.
  Version 1 stores lease secrets in clear; version 2 (what Tahoe 1.20
  creates) stores BLAKE2b-256 of each secret. Its magic ends in five bytes of
  a tagged hash of its first 27.
- The container area between 468 and the extra-lease offset may be longer
  than the data length (a truncated share keeps its space); containers never
  shrink. When a write reaches past the area, the extra-lease block moves to
  ``468 + new size`` and its old place is zeroed.
- This module does no I/O: it parses bytes and returns bytes and offsets, so
  a disk store can patch a file in place. Secrets are compared with
  :func:`hmac.compare_digest` and never appear in a repr.
- Every parse error is a :class:`~grid.errors.ShareFormatError`.
"""

import hashlib
import hmac
import struct

import attrs

from grid.errors import ShareFormatError
from grid.formats.mutable_common import UINT32_MAX, UINT64_MAX, check_sized_bytes, check_uint
from grid.hashing import HASH_SIZE, NODEID_SIZE, TAG_MUTABLE_CONTAINER, tagged_hash

CONTAINER_HEADER = struct.Struct(">32s20s32sQQ")
LEASE_SLOT = struct.Struct(">LL32s32s20s")
EXTRA_LEASE_COUNT = struct.Struct(">L")
LEASE_SIZE = LEASE_SLOT.size
NUM_LEASE_SLOTS = 4
LEASE_SLOTS_OFFSET = CONTAINER_HEADER.size
DATA_OFFSET = LEASE_SLOTS_OFFSET + NUM_LEASE_SLOTS * LEASE_SIZE
EMPTY_CONTAINER_SIZE = DATA_OFFSET + EXTRA_LEASE_COUNT.size
EMPTY_LEASE_SLOT = bytes(LEASE_SIZE)

_V2_MAGIC_PREFIX = b"Tahoe mutable container v2\n"


@attrs.frozen
class ContainerVersion:
    """One row of the version table: the magic and how lease secrets are stored."""

    number: int
    magic: bytes
    hashes_lease_secrets: bool

    def stored_lease_secret(self, secret: bytes) -> bytes:
        """The form of a 32-byte lease secret this version writes to disk."""
        check_sized_bytes(secret, HASH_SIZE, "lease secret")
        if self.hashes_lease_secrets:
            return hashlib.blake2b(secret, digest_size=HASH_SIZE).digest()
        return secret


CONTAINER_V1 = ContainerVersion(
    number=1,
    magic=b"Tahoe mutable container v1\n" + bytes.fromhex("750944038e"),
    hashes_lease_secrets=False,
)
CONTAINER_V2 = ContainerVersion(
    number=2,
    magic=_V2_MAGIC_PREFIX + tagged_hash(TAG_MUTABLE_CONTAINER, _V2_MAGIC_PREFIX)[:5],
    hashes_lease_secrets=True,
)
CONTAINER_VERSIONS = {version.number: version for version in (CONTAINER_V1, CONTAINER_V2)}
_VERSIONS_BY_MAGIC = {version.magic: version for version in CONTAINER_VERSIONS.values()}


@attrs.frozen
class MutableContainerHeader:
    """The 100-byte container header."""

    version: ContainerVersion
    write_enabler_nodeid: bytes
    write_enabler: bytes = attrs.field(repr=False)
    data_length: int
    extra_lease_offset: int

    def __attrs_post_init__(self) -> None:
        """Check field sizes and that the data fits the container area."""
        check_sized_bytes(self.write_enabler_nodeid, NODEID_SIZE, "write enabler nodeid")
        check_sized_bytes(self.write_enabler, HASH_SIZE, "write enabler")
        check_uint(self.data_length, UINT64_MAX, "data length")
        check_uint(self.extra_lease_offset, UINT64_MAX, "extra-lease offset")
        if self.extra_lease_offset < DATA_OFFSET + self.data_length:
            raise ShareFormatError(
                f"extra-lease offset {self.extra_lease_offset} is inside the data "
                f"(which ends at {DATA_OFFSET + self.data_length})"
            )

    @property
    def container_size(self) -> int:
        """Bytes reserved for share data: data length plus any space kept after truncation."""
        return self.extra_lease_offset - DATA_OFFSET

    def pack(self) -> bytes:
        """The 100 header bytes."""
        return CONTAINER_HEADER.pack(
            self.version.magic,
            self.write_enabler_nodeid,
            self.write_enabler,
            self.data_length,
            self.extra_lease_offset,
        )

    def write_enabler_matches(self, presented: bytes) -> bool:
        """Tell, in constant time, whether a client's write enabler is the stored one."""
        return hmac.compare_digest(self.write_enabler, presented)


@attrs.frozen
class MutableLease:
    """One lease as stored: secrets in the container version's stored form."""

    owner_num: int
    expiration_time: int
    renew_secret_stored: bytes = attrs.field(repr=False)
    cancel_secret_stored: bytes = attrs.field(repr=False)
    nodeid: bytes

    def __attrs_post_init__(self) -> None:
        """Check field ranges; owner 0 would read back as an empty slot."""
        check_uint(self.owner_num, UINT32_MAX, "lease owner")
        if self.owner_num == 0:
            raise ShareFormatError("lease owner 0 marks an empty slot")
        check_uint(self.expiration_time, UINT32_MAX, "lease expiration time")
        check_sized_bytes(self.renew_secret_stored, HASH_SIZE, "stored renew secret")
        check_sized_bytes(self.cancel_secret_stored, HASH_SIZE, "stored cancel secret")
        check_sized_bytes(self.nodeid, NODEID_SIZE, "lease nodeid")


@attrs.frozen
class MutableContainer:
    """A whole parsed container: header, the share data, and every lease slot.

    ``lease_slots`` has the four fixed slots then the extra leases, ``None``
    for an empty one; ``data`` is the share data up to the data length.
    """

    header: MutableContainerHeader
    data: bytes = attrs.field(repr=False)
    lease_slots: tuple[MutableLease | None, ...]

    def __attrs_post_init__(self) -> None:
        """Check that the data and slot count agree with the header."""
        if len(self.data) != self.header.data_length:
            raise ShareFormatError("container data does not match its data length")
        if len(self.lease_slots) < NUM_LEASE_SLOTS:
            raise ShareFormatError(f"a container has at least {NUM_LEASE_SLOTS} lease slots")

    @property
    def leases(self) -> tuple[MutableLease, ...]:
        """The non-empty leases, fixed slots first."""
        return tuple(lease for lease in self.lease_slots if lease is not None)

    @property
    def num_extra_leases(self) -> int:
        """How many leases live in the extra area (empty ones included)."""
        return len(self.lease_slots) - NUM_LEASE_SLOTS


def make_lease(
    version: ContainerVersion,
    *,
    owner_num: int,
    expiration_time: int,
    renew_secret: bytes,
    cancel_secret: bytes,
    nodeid: bytes,
) -> MutableLease:
    """Build a lease from the secrets a client presents, stored as ``version`` stores them."""
    return MutableLease(
        owner_num=owner_num,
        expiration_time=expiration_time,
        renew_secret_stored=version.stored_lease_secret(renew_secret),
        cancel_secret_stored=version.stored_lease_secret(cancel_secret),
        nodeid=nodeid,
    )


def lease_secret_matches(version: ContainerVersion, stored: bytes, presented: bytes) -> bool:
    """Tell, in constant time, whether a presented lease secret matches a stored one."""
    if len(presented) != HASH_SIZE:
        return False
    return hmac.compare_digest(stored, version.stored_lease_secret(presented))


def pack_lease_slot(lease: MutableLease | None) -> bytes:
    """The 92 bytes of a lease slot; ``None`` packs as an empty (all-zero) slot."""
    if lease is None:
        return EMPTY_LEASE_SLOT
    return LEASE_SLOT.pack(*attrs.astuple(lease))


def parse_lease_slot(data: bytes) -> MutableLease | None:
    """Parse 92 bytes of a lease slot; owner 0 means empty and gives ``None``."""
    if len(data) != LEASE_SIZE:
        raise ShareFormatError(f"a lease slot is {LEASE_SIZE} bytes, got {len(data)}")
    owner_num, expiration_time, renew, cancel, nodeid = LEASE_SLOT.unpack(data)
    if owner_num == 0:
        return None
    return MutableLease(owner_num, expiration_time, renew, cancel, nodeid)


def lease_slot_offset(header: MutableContainerHeader, slot: int) -> int:
    """File offset of lease slot ``slot`` (0-3 fixed, 4 and up in the extra area)."""
    check_uint(slot, UINT32_MAX + NUM_LEASE_SLOTS, "lease slot")
    if slot < NUM_LEASE_SLOTS:
        return LEASE_SLOTS_OFFSET + slot * LEASE_SIZE
    return (
        header.extra_lease_offset + EXTRA_LEASE_COUNT.size + (slot - NUM_LEASE_SLOTS) * LEASE_SIZE
    )


def pack_extra_lease_count(count: int) -> bytes:
    """The 4-byte extra-lease count written at the extra-lease offset."""
    check_uint(count, UINT32_MAX, "extra-lease count")
    return EXTRA_LEASE_COUNT.pack(count)


def extra_lease_block_size(count: int) -> int:
    """Bytes of the extra-lease block (count field and leases) for ``count`` leases."""
    return EXTRA_LEASE_COUNT.size + count * LEASE_SIZE


def is_mutable_container(first_bytes: bytes) -> bool:
    """Tell whether a file starts with the magic of a mutable container of any version."""
    return first_bytes[: len(CONTAINER_V1.magic)] in _VERSIONS_BY_MAGIC


def parse_container_header(first_bytes: bytes) -> MutableContainerHeader:
    """Parse the 100-byte header at the start of ``first_bytes`` (more may follow)."""
    if len(first_bytes) < CONTAINER_HEADER.size:
        raise ShareFormatError(
            f"mutable container header needs {CONTAINER_HEADER.size} bytes, got {len(first_bytes)}"
        )
    magic, nodeid, write_enabler, data_length, extra_lease_offset = CONTAINER_HEADER.unpack_from(
        first_bytes
    )
    version = _VERSIONS_BY_MAGIC.get(magic)
    if version is None:
        raise ShareFormatError("not a mutable container: unknown magic")
    return MutableContainerHeader(version, nodeid, write_enabler, data_length, extra_lease_offset)


def parse_mutable_container(data: bytes) -> MutableContainer:
    """Parse a whole container file: header, share data and all lease slots.

    The file must end exactly after the last extra lease. Raises
    ShareFormatError on an unknown magic, offsets past the end, or a length
    that does not match the extra-lease count.
    """
    header = parse_container_header(data)
    count_offset = header.extra_lease_offset
    if len(data) < count_offset + EXTRA_LEASE_COUNT.size:
        raise ShareFormatError(
            f"container is truncated: extra-lease count at {count_offset}, "
            f"file is {len(data)} bytes"
        )
    (count,) = EXTRA_LEASE_COUNT.unpack_from(data, count_offset)
    expected_size = count_offset + extra_lease_block_size(count)
    if len(data) != expected_size:
        raise ShareFormatError(
            f"container is {len(data)} bytes, but {count} extra leases at {count_offset} "
            f"make it {expected_size}"
        )
    starts = (lease_slot_offset(header, slot) for slot in range(NUM_LEASE_SLOTS + count))
    slots = tuple(parse_lease_slot(data[start : start + LEASE_SIZE]) for start in starts)
    return MutableContainer(
        header=header,
        data=data[DATA_OFFSET : DATA_OFFSET + header.data_length],
        lease_slots=slots,
    )


def pack_mutable_container(container: MutableContainer) -> bytes:
    """Serialize a container; space between the data and the extra leases is zeros."""
    header = container.header
    slack = header.container_size - header.data_length
    extra = container.lease_slots[NUM_LEASE_SLOTS:]
    return b"".join(
        [
            header.pack(),
            *(pack_lease_slot(lease) for lease in container.lease_slots[:NUM_LEASE_SLOTS]),
            container.data,
            bytes(slack),
            pack_extra_lease_count(len(extra)),
            *(pack_lease_slot(lease) for lease in extra),
        ]
    )


def create_empty_container(
    version: int, write_enabler_nodeid: bytes, write_enabler: bytes
) -> bytes:
    """The 472 bytes of a new container: header, four empty slots, zero extra leases."""
    row = CONTAINER_VERSIONS.get(version)
    if row is None:
        raise ShareFormatError(f"unknown mutable container version {version}")
    header = MutableContainerHeader(row, write_enabler_nodeid, write_enabler, 0, DATA_OFFSET)
    return header.pack() + EMPTY_LEASE_SLOT * NUM_LEASE_SLOTS + pack_extra_lease_count(0)


def data_read_range(header: MutableContainerHeader, offset: int, length: int) -> tuple[int, int]:
    """Return (file offset, length) of a read of share data, cut at the data length."""
    check_uint(offset, UINT64_MAX, "read offset")
    check_uint(length, UINT64_MAX, "read length")
    available = max(0, header.data_length - offset)
    return DATA_OFFSET + offset, min(length, available)


def truncate_header(header: MutableContainerHeader, new_length: int) -> MutableContainerHeader:
    """Header after a truncation: a shorter length is kept, a longer one ignored.

    The container keeps its size; only the data-length field changes.
    """
    check_uint(new_length, UINT64_MAX, "new length")
    if new_length >= header.data_length:
        return header
    return attrs.evolve(header, data_length=new_length)


@attrs.frozen
class DataWritePlan:
    """Where a write of share data goes, and what else the file needs to stay valid.

    Apply :meth:`patches` in order: zero the stale bytes of any hole, zero the
    old extra-lease block if it moves, write the data, write the block at its
    new place, then rewrite the header.
    """

    file_offset: int
    length: int
    old_header: MutableContainerHeader
    new_header: MutableContainerHeader

    @property
    def moves_extra_leases(self) -> bool:
        """True when the write reaches past the container area."""
        return self.new_header.extra_lease_offset != self.old_header.extra_lease_offset

    def patches(
        self, data: bytes, extra_lease_block: bytes | None = None
    ) -> list[tuple[int, bytes]]:
        """Ordered (file offset, bytes) writes that perform this plan.

        ``extra_lease_block`` is the old block (count and leases) as read from
        the old extra-lease offset; it is needed only when the block moves.
        """
        if len(data) != self.length:
            raise ShareFormatError(f"plan is for {self.length} bytes, got {len(data)}")
        old, new = self.old_header, self.new_header
        patches: list[tuple[int, bytes]] = []
        hole_start = DATA_OFFSET + old.data_length
        hole_end = min(self.file_offset, old.extra_lease_offset)
        if hole_end > hole_start:
            patches.append((hole_start, bytes(hole_end - hole_start)))
        if self.moves_extra_leases:
            if extra_lease_block is None or len(extra_lease_block) < EXTRA_LEASE_COUNT.size:
                raise ShareFormatError("moving the extra leases needs the old extra-lease block")
            patches.append((old.extra_lease_offset, bytes(len(extra_lease_block))))
        patches.append((self.file_offset, data))
        if self.moves_extra_leases:
            patches.append((new.extra_lease_offset, bytes(extra_lease_block or b"")))
        if new != old:
            patches.append((0, new.pack()))
        return patches


def plan_data_write(header: MutableContainerHeader, offset: int, length: int) -> DataWritePlan:
    """Plan writing ``length`` bytes of share data at ``offset``.

    The data length grows to cover the write (a zero-length write past the
    end still extends it, leaving a zero hole); the container grows, moving
    the extra leases to ``468 + new data length``, only when the write reaches
    past its area. It never shrinks.
    """
    check_uint(offset, UINT64_MAX, "write offset")
    check_uint(length, UINT64_MAX, "write length")
    end = offset + length
    if DATA_OFFSET + end > UINT64_MAX:
        raise ShareFormatError("write would take the container past 2**64 bytes")
    new_header = header
    if end > header.data_length:
        new_extra_lease_offset = max(header.extra_lease_offset, DATA_OFFSET + end)
        new_header = attrs.evolve(
            header, data_length=end, extra_lease_offset=new_extra_lease_offset
        )
    return DataWritePlan(DATA_OFFSET + offset, length, header, new_header)


def plan_add_lease(
    header: MutableContainerHeader,
    lease_slots: tuple[MutableLease | None, ...],
    lease: MutableLease,
) -> list[tuple[int, bytes]]:
    """Ordered (file offset, bytes) writes that store ``lease`` in a container.

    The first empty slot (fixed or extra) is reused; if there is none the
    lease is appended to the extra area and the count rewritten.
    """
    if len(lease_slots) < NUM_LEASE_SLOTS:
        raise ShareFormatError(f"a container has at least {NUM_LEASE_SLOTS} lease slots")
    for slot, existing in enumerate(lease_slots):
        if existing is None:
            return [(lease_slot_offset(header, slot), pack_lease_slot(lease))]
    new_slot = len(lease_slots)
    count = new_slot + 1 - NUM_LEASE_SLOTS
    return [
        (lease_slot_offset(header, new_slot), pack_lease_slot(lease)),
        (header.extra_lease_offset, pack_extra_lease_count(count)),
    ]
