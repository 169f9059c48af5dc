"""The errors of the immutable downloader, under the client's root error.

Rules: a caller of :func:`~client.download.downloader.download_chk` sees only
:class:`~grid.errors.NotEnoughSharesError` (too few good shares),
:class:`CapMismatchError` (the cap names a URI extension block that
contradicts the cap itself), :class:`~grid.errors.IntegrityError` (verified
shares decode to ciphertext the file's own hash tree refuses), ``ValueError``
for a negative range, and whatever its consumer raises. The other errors
here describe one share or one server going bad; the downloader catches
them, drops that share or server, and carries on with others.
"""

from client.errors import ClientError
from grid.errors import IntegrityError


class DownloadError(ClientError):
    """The root of every error the downloader raises on purpose."""


class CapMismatchError(DownloadError, IntegrityError):
    """The URI extension block the cap names disagrees with the cap's k, N or size."""


class ShareUnusableError(DownloadError):
    """One share, or the server holding it, cannot be used any more."""


class CorruptShareError(ShareUnusableError):
    """A share's bytes fail a format or hash check; its server is told why."""


class UriExtensionMismatchError(CorruptShareError):
    """A share's URI extension block does not hash to the cap's UEB hash.

    This blames the share only once another share's UEB matches; until then
    the cap itself may be wrong.
    """


class ServerTimeoutError(ShareUnusableError, TimeoutError):
    """A storage server did not answer within the read timeout; it is dropped."""


class ServerFailedError(ShareUnusableError, ConnectionError):
    """A storage server answered a call with an error or with a malformed value."""
