"""The errors directory operations raise, one root for all of them.

Rules: each names what happened to which child, in words for the person
reading it; none quotes a cap. Each subclasses the builtin a Python caller
would expect (``LookupError`` for a missing child, ``PermissionError`` for a
read-only directory).
"""

from client.errors import ClientError


class DirectoryError(ClientError):
    """The root of every error a directory operation raises on purpose."""


class NoSuchChildError(DirectoryError, LookupError):
    """A directory has no child of the given name."""


class ExistingChildError(DirectoryError):
    """A child of the given name exists and the operation may not replace it."""


class NotWritableError(DirectoryError, PermissionError):
    """A change was asked of a directory that is read-only or immutable."""


class ChildOfWrongTypeError(DirectoryError):
    """A child is a file where a directory was needed, or the other way round."""


class CannotLinkError(DirectoryError, ValueError):
    """A cap cannot be linked where it was asked to be (unknown strength, bad cap, mutable)."""


class InvalidChildNameError(DirectoryError, ValueError):
    """A child name is empty, contains '/', or is not valid Unicode text."""
