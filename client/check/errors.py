"""The errors of checking, verifying and repairing, under the client's root error.

Rules: a caller of the checker sees only :class:`CapContradictionError` (the
cap names a URI extension block that contradicts the cap itself: no share
can be blamed). :class:`CorruptShareError` and :class:`IncompatibleShareError`
describe one share; the checker records them in its results and carries on.
A repair that cannot finish says why in :class:`RepairError` (or in the
core's :class:`~grid.errors.NotEnoughSharesError` and
:class:`~grid.errors.IntegrityError`); the repairer reports it in its
results rather than raising it.
"""

from client.errors import ClientError
from grid.errors import IntegrityError


class CheckError(ClientError):
    """The root of every error the checker and repairer raise on purpose."""


class CorruptShareError(CheckError):
    """A share's bytes fail a format or hash check; its server is told why."""


class IncompatibleShareError(CheckError):
    """A share uses a layout version this client does not know; it is not blamed."""


class CapContradictionError(CheckError, IntegrityError):
    """The URI extension block the cap names disagrees with the cap's k, N or size."""


class RepairError(CheckError):
    """A repair could not rebuild or place the shares it needed to."""
