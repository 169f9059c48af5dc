"""The error a directory body or a directory entry raises when it is malformed.

Rules: kept apart from :mod:`grid.errors` so the directory format owns its
error; it is a :class:`~grid.errors.GridError` and a :class:`ValueError`,
like every other "these bytes do not parse" error of the core.
"""

from grid.errors import GridError


class DirectoryFormatError(GridError, ValueError):
    """A directory body, entry, child name or metadata is malformed or not allowed."""
