"""Checking the arguments a client sends, once, at the storage server's boundary.

Rules:

- Each ``check_*`` function takes a value as a transport delivered it and
  returns it typed (or as a frozen record), or raises
  :class:`~storage_server.errors.InvalidArgumentError` (the test-operator and
  read-size checks raise its subclasses). Nothing else escapes, whatever the
  value.
- Types are exact: byte strings must be ``bytes`` (not ``str``, ``bytearray``
  or ``memoryview``); integers must be ``int`` and never ``bool``; lists may
  be ``list`` or ``tuple`` (share-number sets also ``set``/``frozenset``);
  the write vectors must be a ``dict``-like mapping.
- A storage index is exactly 16 bytes. Foolscap's schema allows up to 16, but
  every Tahoe storage index is 16 bytes and a shorter one would name a
  different directory, so shorter ones are refused. Secrets and write
  enablers are exactly 32 bytes.
- Everything a client can use to make the server allocate memory or do work
  is bounded here: share numbers 0..255 and at most 256 of them; offsets
  below 2**64 (mutable write offsets up to :data:`MAX_MUTABLE_SHARE_SIZE`, so
  the server can answer that such a write is too large); allocated sizes up
  to 2**64; read lengths below 2**31; at most 1024 read-vector or test-vector
  entries and 65536 write-vector entries; at most :data:`MAX_VECTOR_BYTES` of
  specimens and data in one call; reasons up to :data:`MAX_REASON_SIZE`
  bytes. The server also caps the bytes one read call returns
  (:data:`MAX_READ_RESPONSE_BYTES`), which needs the share sizes.
"""

from collections.abc import Mapping

import attrs

from grid.hashing import HASH_SIZE, STORAGE_INDEX_SIZE
from storage_server.errors import InvalidArgumentError, UnsupportedTestOperatorError
from storage_server.layout import MAX_SHARE_NUMBER

MAX_SHARES_PER_CALL = MAX_SHARE_NUMBER + 1
MAX_ALLOCATED_SIZE = 2**64
MAX_OFFSET = 2**64 - 1
MAX_MUTABLE_SHARE_SIZE = 69105 * 10**15
MAX_READ_LENGTH = 2**31 - 1
MAX_REASON_SIZE = 64 * 1024
MAX_READ_VECTOR_ENTRIES = 1024
MAX_TEST_VECTOR_ENTRIES = 1024
MAX_WRITE_VECTOR_ENTRIES = 65536
MAX_VECTOR_BYTES = 2**31
MAX_READ_RESPONSE_BYTES = 2**28
TEST_OPERATOR_EQ = b"eq"
SHARE_TYPES = frozenset({b"immutable", b"mutable"})

_LISTS = (list, tuple)
_SETS = (list, tuple, set, frozenset)


@attrs.frozen
class ReadRange:
    """One ``(offset, length)`` entry of a read vector."""

    offset: int
    length: int


@attrs.frozen
class TestVector:
    """One test of a test-and-write: the share data at ``offset`` must equal ``specimen``.

    ``length`` bytes are read (cut at the end of the data); the operator is
    always ``eq`` once checked, so it is not kept.
    """

    offset: int
    length: int
    specimen: bytes = attrs.field(repr=False)


@attrs.frozen
class DataVector:
    """One write of a test-and-write: ``data`` goes at ``offset`` of the share data."""

    offset: int
    data: bytes = attrs.field(repr=False)

    @property
    def end(self) -> int:
        """The offset just past the written bytes."""
        return self.offset + len(self.data)


@attrs.frozen
class ShareWrite:
    """What a test-and-write asks for one share: tests, writes, and an optional new length."""

    tests: tuple[TestVector, ...]
    writes: tuple[DataVector, ...]
    new_length: int | None


@attrs.frozen
class SlotSecrets:
    """The three secrets of a test-and-write; never shown in a repr."""

    write_enabler: bytes = attrs.field(repr=False)
    renew_secret: bytes = attrs.field(repr=False)
    cancel_secret: bytes = attrs.field(repr=False)


def _fail(what: str, value: object, expected: str) -> InvalidArgumentError:
    shown = type(value).__name__
    return InvalidArgumentError(f"{what} must be {expected}, got a {shown}")


def _check_int(value: object, what: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(what, value, "an int")
    if not 0 <= value <= maximum:
        raise InvalidArgumentError(f"{what} must be in 0..{maximum}, got {value}")
    return value


def _check_bytes(value: object, what: str, max_size: int) -> bytes:
    if not isinstance(value, bytes):
        raise _fail(what, value, "bytes")
    if len(value) > max_size:
        raise InvalidArgumentError(f"{what} must be at most {max_size} bytes, got {len(value)}")
    return value


def _check_sized_bytes(value: object, what: str, size: int) -> bytes:
    if not isinstance(value, bytes):
        raise _fail(what, value, "bytes")
    if len(value) != size:
        raise InvalidArgumentError(f"{what} must be exactly {size} bytes, got {len(value)}")
    return value


def _check_list(value: object, what: str, max_entries: int) -> list[object]:
    if not isinstance(value, _LISTS):
        raise _fail(what, value, "a list")
    if len(value) > max_entries:
        raise InvalidArgumentError(f"{what} has more than {max_entries} entries")
    return list(value)


def _check_tuple(value: object, what: str, size: int) -> tuple[object, ...]:
    if not isinstance(value, _LISTS) or len(value) != size:
        raise _fail(what, value, f"a tuple of {size}")
    return tuple(value)


def check_storage_index(value: object) -> bytes:
    """A storage index: exactly 16 bytes."""
    return _check_sized_bytes(value, "storage index", STORAGE_INDEX_SIZE)


def check_secret(value: object, what: str) -> bytes:
    """A lease secret or write enabler: exactly 32 bytes."""
    return _check_sized_bytes(value, what, HASH_SIZE)


def check_share_number(value: object) -> int:
    """A share number: an int in 0..255."""
    return _check_int(value, "share number", MAX_SHARE_NUMBER)


def check_share_numbers(value: object) -> frozenset[int]:
    """A set of share numbers (a set, list or tuple) of at most 256 entries."""
    if not isinstance(value, _SETS):
        raise _fail("share numbers", value, "a set of ints")
    if len(value) > MAX_SHARES_PER_CALL:
        raise InvalidArgumentError(f"at most {MAX_SHARES_PER_CALL} share numbers per call")
    return frozenset(check_share_number(item) for item in value)


def check_allocated_size(value: object) -> int:
    """The size of an immutable share to allocate: 0..2**64."""
    return _check_int(value, "allocated size", MAX_ALLOCATED_SIZE)


def check_offset(value: object) -> int:
    """An offset into share data: 0..2**64-1."""
    return _check_int(value, "offset", MAX_OFFSET)


def check_read_length(value: object) -> int:
    """How many bytes to read: 0..2**31-1."""
    return _check_int(value, "read length", MAX_READ_LENGTH)


def check_write_data(value: object) -> bytes:
    """The bytes of an immutable write."""
    return _check_bytes(value, "write data", MAX_VECTOR_BYTES)


def check_reason(value: object) -> bytes:
    """The reason text of a corruption advisory: at most 64 KiB of bytes."""
    return _check_bytes(value, "corruption reason", MAX_REASON_SIZE)


def check_share_type(value: object) -> bytes:
    """The share type of a corruption advisory: ``b"immutable"`` or ``b"mutable"``."""
    if not isinstance(value, bytes) or value not in SHARE_TYPES:
        raise InvalidArgumentError("share type must be b'immutable' or b'mutable'")
    return value


def check_read_vector(value: object) -> tuple[ReadRange, ...]:
    """A read vector: a list of ``(offset, length)`` pairs."""
    ranges = []
    for entry in _check_list(value, "read vector", MAX_READ_VECTOR_ENTRIES):
        offset, length = _check_tuple(entry, "read vector entry", 2)
        ranges.append(ReadRange(check_offset(offset), check_read_length(length)))
    return tuple(ranges)


def check_slot_share_numbers(value: object) -> frozenset[int]:
    """The shares of a ``slot_readv``: a list of share numbers, empty meaning all."""
    return check_share_numbers(_check_list(value, "share list", MAX_SHARES_PER_CALL))


def check_slot_secrets(value: object) -> SlotSecrets:
    """The ``(write_enabler, renew_secret, cancel_secret)`` of a test-and-write."""
    write_enabler, renew, cancel = _check_tuple(value, "secrets", 3)
    return SlotSecrets(
        check_secret(write_enabler, "write enabler"),
        check_secret(renew, "renew secret"),
        check_secret(cancel, "cancel secret"),
    )


def _check_test_vector(entry: object) -> TestVector:
    offset, length, operator, specimen = _check_tuple(entry, "test vector entry", 4)
    if not isinstance(operator, bytes):
        raise _fail("test operator", operator, "bytes")
    if operator != TEST_OPERATOR_EQ:
        raise UnsupportedTestOperatorError(f"test operator must be b'eq', got {operator[:16]!r}")
    return TestVector(
        check_offset(offset),
        check_read_length(length),
        _check_bytes(specimen, "test specimen", MAX_VECTOR_BYTES),
    )


def _check_data_vector(entry: object) -> DataVector:
    offset, data = _check_tuple(entry, "write vector entry", 2)
    return DataVector(
        _check_int(offset, "write offset", MAX_MUTABLE_SHARE_SIZE),
        _check_bytes(data, "write data", MAX_VECTOR_BYTES),
    )


def _check_share_write(value: object) -> ShareWrite:
    tests, writes, new_length = _check_tuple(value, "test-and-write vector", 3)
    return ShareWrite(
        tuple(
            _check_test_vector(entry)
            for entry in _check_list(tests, "test vector", MAX_TEST_VECTOR_ENTRIES)
        ),
        tuple(
            _check_data_vector(entry)
            for entry in _check_list(writes, "write vector", MAX_WRITE_VECTOR_ENTRIES)
        ),
        None if new_length is None else check_offset(new_length),
    )


def check_test_and_write_vectors(value: object) -> dict[int, ShareWrite]:
    """The ``{shnum: (testv, datav, new_length)}`` mapping of a test-and-write."""
    if not isinstance(value, Mapping):
        raise _fail("test-and-write vectors", value, "a dict")
    if len(value) > MAX_SHARES_PER_CALL:
        raise InvalidArgumentError(f"at most {MAX_SHARES_PER_CALL} shares per call")
    checked = {
        check_share_number(shnum): _check_share_write(entry) for shnum, entry in value.items()
    }
    total = sum(
        sum(len(test.specimen) for test in share.tests)
        + sum(len(write.data) for write in share.writes)
        for share in checked.values()
    )
    if total > MAX_VECTOR_BYTES:
        raise InvalidArgumentError(f"a test-and-write carries at most {MAX_VECTOR_BYTES} bytes")
    return checked
