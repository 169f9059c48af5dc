"""The errors the storage server raises, one root for all of them.

Rules: every error a :class:`~storage_server.server.StorageServer` method
raises on purpose is one of these classes, so a transport adapter can turn any
:class:`StorageServerError` into a remote failure and treat anything else as a
bug. Bad arguments from a client are :class:`InvalidArgumentError` (raised
before the server touches the disk); the others say what went wrong with a
request that was well formed. Messages never contain a secret.
"""

from grid.errors import GridError


class StorageServerError(GridError):
    """The root of every error the storage server raises on purpose."""


class InvalidArgumentError(StorageServerError, ValueError):
    """A client sent an argument of the wrong type, size or range."""


class UnsupportedTestOperatorError(InvalidArgumentError):
    """A test vector used an operator other than ``b"eq"``."""


class ReadTooLargeError(InvalidArgumentError):
    """A read request would make the server return more bytes than it allows per call."""


class DataTooLargeError(StorageServerError, ValueError):
    """A write reaches past the allocated size of a bucket or the maximum mutable share size."""


class ConflictingWriteError(StorageServerError, ValueError):
    """A write overlaps bytes already written to a bucket with different bytes."""


class TooManyWriteRangesError(StorageServerError, ValueError):
    """The writes to one bucket left too many separate written ranges to track."""


class BucketClosedError(StorageServerError, ValueError):
    """A bucket was written to or closed after it was closed or aborted."""


class BadWriteEnablerError(StorageServerError, PermissionError):
    """The write enabler presented for a mutable slot is not the one stored with a share."""


class ReadOnlyError(StorageServerError, PermissionError):
    """The server is configured read-only and refuses to store or change shares."""


class NotEnoughSpaceError(StorageServerError):
    """A mutable write would grow shares past the space the server may use."""


class ShareKindMismatchError(StorageServerError, ValueError):
    """A mutable write names a share number that holds an immutable share (or the reverse)."""


class CorruptShareError(StorageServerError, ValueError):
    """A share file on the server's disk does not parse as its container format."""


class ShareNotFoundError(StorageServerError, LookupError):
    """A share went away (expired or deleted) while a client was reading it."""


class DiskError(StorageServerError, OSError):
    """The server's disk failed an operation: full, over quota, file too large, or I/O error."""
