"""The errors the core raises, one root for all of them.

Rules: every error a parser in :mod:`grid` raises on bad input is one of the
classes here, so callers can catch exactly what they document. Each class
subclasses the builtin a Python reader would expect (``ValueError`` for
malformed input), and says in its message what was wrong, never a secret.
"""


class GridError(Exception):
    """The root of every error the grid raises on purpose."""


class EncodingError(GridError, ValueError):
    """Text or bytes in a low-level encoding (base32, netstring) are malformed."""


class CapError(GridError, ValueError):
    """A cap string is malformed, or a cap field has the wrong size or value."""


class ShareFormatError(GridError, ValueError):
    """Share, container or URI-extension bytes do not parse as the format says."""


class KeyFormatError(GridError, ValueError):
    """A key (RSA, ed25519) could not be loaded, or is of an unsupported kind."""


class EncodingParametersError(GridError, ValueError):
    """Erasure-coding parameters (k, N, segment size) are out of range."""


class IntegrityError(GridError):
    """Data from an untrusted source does not match the hash it must match."""


class MissingHashesError(GridError):
    """A hash tree cannot check a leaf yet: some sibling hashes were not supplied."""


class BadSignatureError(IntegrityError):
    """A signature does not verify under the key it claims."""


class NotEnoughSharesError(GridError):
    """Too few good shares could be found to recover a file or segment."""

    def __init__(self, needed: int, found: int, detail: str = "") -> None:
        """Record how many shares were needed and how many good ones were found."""
        message = f"needed {needed} good shares, found {found}"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.needed = needed
        self.found = found


class ConfigError(GridError, ValueError):
    """A node's configuration (tahoe.cfg or a file beside it) is malformed or unknown."""
