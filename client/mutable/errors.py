"""The errors of mutable files (SDMF and MDMF), under the client's root error.

Rules: a caller of :class:`~client.mutable.service.MutableService` sees
:class:`UncoordinatedWriteError` when another writer changed the file while
this one was publishing (or kept changing it through every retry of a
modify), and its subclass :class:`UnconfirmedWriteError` when some server
never answered the write; :class:`~grid.errors.NotEnoughSharesError` when no version of the
file has k good shares, or its subclass :class:`VersionChangedError` when
the version being read was replaced by another writer during the read;
:class:`PrivateKeyUnavailableError` when a write cap's signing key cannot
be recovered from any share; and :class:`MutableFileError` for a request
the file cannot satisfy. The other errors here describe one share going
bad; the reader catches them, tells the server, and carries on with other
shares.
"""

from client.errors import ClientError
from grid.errors import IntegrityError, NotEnoughSharesError


class MutableFileError(ClientError):
    """The root of every error the mutable-file client raises on purpose."""


class UncoordinatedWriteError(MutableFileError):
    """Another writer changed the file between our read of it and our write."""


class UnconfirmedWriteError(UncoordinatedWriteError):
    """Some servers never answered our write: they may hold another writer's version.

    ``servers`` are their ids; a retry reads them but writes elsewhere.
    """

    def __init__(self, servers: frozenset[str]) -> None:
        """Name the ``servers`` whose writes went unanswered."""
        super().__init__(
            f"{len(servers)} servers did not confirm the write in time; "
            "they may hold another writer's version"
        )
        self.servers = servers


class PrivateKeyUnavailableError(MutableFileError):
    """No share held an encrypted private key that decrypts to the cap's write key."""


class CorruptMutableShareError(MutableFileError, IntegrityError):
    """One share's bytes fail a format, signature or hash check."""


class VersionChangedError(NotEnoughSharesError, MutableFileError):
    """Fewer than k shares of the version being read remain: others replaced it meanwhile."""


class ShareChangedError(MutableFileError):
    """A share was replaced by another version while it was being read (not corruption)."""
