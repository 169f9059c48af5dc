"""Walking a path of names (``a/b/c``) down from a directory.

Rules: a path is a ``/``-separated string or a sequence of names; every
component is a child name (normalized; empty components, as in ``a//b``, are
refused). Each component but the last must be a directory of a known kind,
opened through the caller's :data:`DirectoryOpener` (a read-only entry
opens read-only; a directory the opener cannot open, such as a verify cap,
is not a directory one can walk into). A missing component raises :class:`NoSuchChildError`, a
component that is not a directory :class:`ChildOfWrongTypeError`; both name
the path walked so far.
"""

from collections.abc import Callable, Sequence

from client.directory.errors import ChildOfWrongTypeError, InvalidChildNameError, NoSuchChildError
from client.directory.node import DirectoryNode, child_name
from grid.caps import DirectoryCap
from grid.formats.dirnode import DirectoryEntry

DirectoryOpener = Callable[[DirectoryCap], DirectoryNode | None]
"""Opens the directory a cap names; None if it cannot be opened (a verify cap)."""


def split_path(path: str | Sequence[str]) -> list[str]:
    """The normalized names of a path; the empty string is the empty path."""
    names = (path.split("/") if path else []) if isinstance(path, str) else list(path)
    try:
        return [child_name(name) for name in names]
    except InvalidChildNameError as error:
        raise InvalidChildNameError(f"bad path {'/'.join(names)!r}: {error}") from error


async def _child_directory(
    directory: DirectoryNode, name: str, walked: list[str], open_directory: DirectoryOpener
) -> DirectoryNode:
    """Open the child directory ``name`` of ``directory``, reached by ``walked``."""
    entry = await _child(directory, name, walked)
    cap = entry.cap
    path = "/".join([*walked, name])
    if not isinstance(cap, DirectoryCap):
        raise ChildOfWrongTypeError(f"{path!r} is not a directory")
    child = open_directory(cap)
    if child is None:
        raise ChildOfWrongTypeError(f"{path!r} is a directory that cannot be opened")
    return child


async def _child(directory: DirectoryNode, name: str, walked: list[str]) -> DirectoryEntry:
    """The entry ``name`` of ``directory``, naming the path walked if it is missing."""
    try:
        return await directory.get_child(name)
    except NoSuchChildError as error:
        where = "/".join(walked) if walked else "the starting directory"
        raise NoSuchChildError(f"no child named {name!r} in {where!r}") from error


async def open_directory_at_path(
    root: DirectoryNode, path: str | Sequence[str], open_directory: DirectoryOpener
) -> DirectoryNode:
    """The directory at ``path`` below ``root`` (``root`` itself for the empty path)."""
    directory = root
    walked: list[str] = []
    for name in split_path(path):
        directory = await _child_directory(directory, name, walked, open_directory)
        walked.append(name)
    return directory


async def get_child_at_path(
    root: DirectoryNode, path: str | Sequence[str], open_directory: DirectoryOpener
) -> DirectoryEntry:
    """The entry at ``path`` below ``root``; the path must name at least one child."""
    names = split_path(path)
    if not names:
        raise InvalidChildNameError("an empty path names no child")
    parent = await open_directory_at_path(root, names[:-1], open_directory)
    return await _child(parent, names[-1], names[:-1])
