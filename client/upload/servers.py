"""The narrow view of a storage server that an immutable upload needs.

Rules: an upload only asks a server which shares of a file it holds, asks
it to allocate buckets (which also renews the leases on shares it holds),
and writes, closes or aborts those buckets. A server answers with share
numbers and bucket writers, never with anything the uploader must trust:
whatever a server claims to hold only counts toward placement. Every method
returns an awaitable; the uploader applies timeouts, so an implementation
need not. :mod:`client.upload.remote_server` implements this over Foolscap;
tests implement it in memory.
"""

from collections.abc import Awaitable, Mapping, Set
from typing import Protocol


class BucketWriter(Protocol):
    """One share being uploaded to one server."""

    def write(self, offset: int, data: bytes) -> Awaitable[None]:
        """Store ``data`` at ``offset`` of the share data."""

    def close(self) -> Awaitable[None]:
        """Finish the share: the server makes it readable."""

    def abort(self) -> Awaitable[None]:
        """Give up on the share: the server deletes what was written."""


class UploadServer(Protocol):
    """A storage server as an immutable upload sees it."""

    @property
    def server_id(self) -> str:
        """The server's stable id, used in share maps and placement."""

    @property
    def name(self) -> str:
        """A short name for people (log lines and error messages)."""

    @property
    def lease_seed(self) -> bytes:
        """The value this server's lease secrets are derived from (its tub id)."""

    @property
    def maximum_immutable_share_size(self) -> int:
        """The largest share the server says it accepts; 0 when read-only or unknown."""

    def get_buckets(self, storage_index: bytes) -> Awaitable[Set[int]]:
        """Return the numbers of the complete shares of ``storage_index`` it holds."""

    def allocate_buckets(
        self,
        storage_index: bytes,
        renew_secret: bytes,
        cancel_secret: bytes,
        sharenums: Set[int],
        allocated_size: int,
    ) -> Awaitable[tuple[Set[int], Mapping[int, BucketWriter]]]:
        """Lease held shares and open writers: return (already held, new writers)."""
