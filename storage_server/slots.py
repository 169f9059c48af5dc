"""Mutable slots: the steps of ``slot_readv`` and of Tahoe's test-and-write.

Rules (tahoe-formats.md §7.5), in the order :class:`StorageServer` runs them:

1. No data vector may end past :data:`MAX_MUTABLE_SHARE_SIZE`, nor past
   what a container's 64-bit fields can hold (:class:`DataTooLargeError`),
   whichever is smaller; no vector may target a share number holding
   an immutable or unusable file.
2. The write enabler must match on every existing mutable share of the slot
   (:class:`BadWriteEnablerError`, naming the node id the share recorded).
3. Every test of every named share must hold; a missing share reads as empty.
4. The read vector is applied to all existing mutable shares before any write.
5. If the tests hold: shares with ``new_length == 0`` are deleted (with their
   bucket directory once empty); every other named share is created if
   missing, written, truncated and leased, through
   :mod:`storage_server.mutable_store`. All updates are prepared before any
   is committed, so a failure while preparing changes nothing.
- One call may return at most :data:`MAX_READ_RESPONSE_BYTES` of read data
  (:class:`ReadTooLargeError`), counted from the share sizes before reading.
"""

from collections.abc import Iterable, Mapping, Sequence

from grid.base32 import b2a
from grid.formats.mutable_common import UINT64_MAX
from grid.formats.mutable_container import DATA_OFFSET
from storage_server.arguments import (
    MAX_MUTABLE_SHARE_SIZE,
    MAX_READ_RESPONSE_BYTES,
    ReadRange,
    ShareWrite,
)
from storage_server.buckets import Bucket
from storage_server.errors import (
    BadWriteEnablerError,
    CorruptShareError,
    DataTooLargeError,
    NotEnoughSpaceError,
    ReadTooLargeError,
    ShareKindMismatchError,
    StorageServerError,
)
from storage_server.layout import StorageLayout
from storage_server.mutable_store import (
    LeaseGrant,
    MutableShare,
    PreparedUpdate,
    commit_update,
    delete_mutable_share,
    discard_update,
    new_container_size,
    passes_tests,
    prepare_update,
    read_mutable_data,
)

_LARGEST_STORABLE_END = min(MAX_MUTABLE_SHARE_SIZE, UINT64_MAX - DATA_OFFSET)


def read_shares(
    shares: Iterable[MutableShare], ranges: Sequence[ReadRange]
) -> dict[int, list[bytes]]:
    """Read ``ranges`` from each share, refusing a response over the per-call limit."""
    shares = list(shares)
    total = sum(
        share.readable_length(entry.offset, entry.length) for share in shares for entry in ranges
    )
    if total > MAX_READ_RESPONSE_BYTES:
        raise ReadTooLargeError(
            f"the reads would return {total} bytes, more than {MAX_READ_RESPONSE_BYTES}"
        )
    return {share.shnum: read_mutable_data(share, ranges) for share in shares}


def check_writes_allowed(bucket: Bucket, vectors: Mapping[int, ShareWrite]) -> None:
    """Step 1: sizes within the maximum, and only mutable (or new) share numbers targeted."""
    for shnum, request in vectors.items():
        for write in request.writes:
            if write.end > _LARGEST_STORABLE_END:
                raise DataTooLargeError(
                    f"write to share {shnum} ends at {write.end}, past the largest "
                    f"mutable share this server stores ({_LARGEST_STORABLE_END} bytes)"
                )
        if shnum in bucket.immutable:
            raise ShareKindMismatchError(f"share {shnum} is an immutable share")
        if shnum in bucket.unusable:
            raise CorruptShareError(f"share {shnum} is not a readable mutable share")


def check_write_enabler(bucket: Bucket, write_enabler: bytes) -> None:
    """Step 2: the write enabler matches on every existing mutable share."""
    for share in bucket.mutable.values():
        if not share.header.write_enabler_matches(write_enabler):
            recorded_by = b2a(share.header.write_enabler_nodeid)
            raise BadWriteEnablerError(f"The write enabler was recorded by nodeid '{recorded_by}'.")


def tests_pass(bucket: Bucket, vectors: Mapping[int, ShareWrite]) -> bool:
    """Step 3: every test of every named share holds."""
    return all(
        passes_tests(bucket.mutable.get(shnum), request.tests) for shnum, request in vectors.items()
    )


def _growth(bucket: Bucket, vectors: Mapping[int, ShareWrite]) -> int:
    growth = 0
    for shnum, request in vectors.items():
        if request.new_length == 0:
            continue
        share = bucket.mutable.get(shnum)
        before = share.header.container_size if share else 0
        growth += new_container_size(share, request.writes) - before
    return growth


def apply_writes(
    layout: StorageLayout,
    storage_index: bytes,
    bucket: Bucket,
    vectors: Mapping[int, ShareWrite],
    *,
    write_enabler: bytes,
    grant: LeaseGrant,
    free_space: int | None,
) -> None:
    """Step 5: delete, create, write, truncate and lease the named shares."""
    growth = _growth(bucket, vectors)
    if free_space is not None and growth > free_space:
        raise NotEnoughSpaceError(f"the writes need {growth} more bytes, {free_space} are free")
    prepared: list[PreparedUpdate] = []
    try:
        for shnum, request in sorted(vectors.items()):
            if request.new_length == 0:
                continue
            prepared.append(
                prepare_update(
                    share=bucket.mutable.get(shnum),
                    final_path=layout.share_path(storage_index, shnum),
                    scratch_path=layout.mutable_scratch_path(storage_index, shnum),
                    write_enabler=write_enabler,
                    writes=request.writes,
                    new_length=request.new_length,
                    grant=grant,
                )
            )
    except StorageServerError:
        for update in prepared:
            discard_update(update)
        raise
    for index, update in enumerate(prepared):
        try:
            commit_update(update)
        except StorageServerError:
            for later in prepared[index + 1 :]:
                discard_update(later)
            raise
    for shnum, request in vectors.items():
        if request.new_length == 0 and shnum in bucket.mutable:
            delete_mutable_share(bucket.mutable[shnum].path)
