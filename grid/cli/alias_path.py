"""Turning a command-line path (``alias:path``, a cap, a local path) into where it points.

Rules, the ones Tahoe-LAFS 1.20's CLI keeps:

- surrounding spaces are dropped;
- text starting with ``URI:`` is a cap, optionally followed by a path after
  the first ``/`` (or after the older ``:./`` separator);
- ``NAME:rest`` names alias NAME and the path ``rest``, unless NAME holds a
  ``/`` (then the colon is part of a file name, as in ``dir/a:b``);
- text with no alias uses the default alias (``tahoe``); where no default
  applies (``cp`` sources and targets), it is a local path instead;
- where drive letters exist (Windows), a one-letter name before the colon
  with no default is a local path (``C:files``), never an alias;
- an alias that is not defined raises :class:`UnknownAliasError`.

Pure: the aliases come in as a mapping, the platform rule as a flag.
"""

import sys
from collections.abc import Mapping

import attrs

from grid.caps.parse import parse_cap
from grid.errors import CapError, GridError

DEFAULT_ALIAS = "tahoe"
CAP_PREFIX = "URI:"
_OLD_CAP_PATH_SEPARATOR = ":./"
USES_DRIVE_LETTERS = sys.platform in ("win32", "cygwin")


class UnknownAliasError(GridError, KeyError):
    """A path names an alias that is not in the aliases file."""

    def __str__(self) -> str:
        """The message itself (KeyError would quote it)."""
        return str(self.args[0])


@attrs.frozen
class GridPath:
    """A place in the grid: a root cap and a ``/``-separated path below it (maybe empty)."""

    root_cap: str
    path: str

    @property
    def segments(self) -> list[str]:
        """The path's non-empty components."""
        return [part for part in self.path.split("/") if part]

    @property
    def name(self) -> str:
        """The last path component, or "" at a root."""
        segments = self.segments
        return segments[-1] if segments else ""

    def child(self, name: str) -> "GridPath":
        """The path of ``name`` inside this one."""
        return GridPath(self.root_cap, "/".join([*self.segments, name]))


@attrs.frozen
class LocalPath:
    """A path on the local disk, exactly as given."""

    path: str


def parse_grid_path(
    text: str, aliases: Mapping[str, str], default: str = DEFAULT_ALIAS
) -> GridPath:
    """Parse a path that must be in the grid, using ``default`` when no alias is given."""
    text = text.strip(" ")
    where = _parse_named(text, aliases, drive_letters=False)
    if where is not None:
        return where
    if default not in aliases:
        raise UnknownAliasError(
            f"no alias given, and the default alias {default!r} does not exist: "
            f"create it with 'grid create-alias {default}'"
        )
    return GridPath(aliases[default], text)


def parse_cp_path(
    text: str, aliases: Mapping[str, str], *, drive_letters: bool = USES_DRIVE_LETTERS
) -> GridPath | LocalPath:
    """Parse a ``cp`` argument: a grid path if it names an alias or a cap, else a local path."""
    text = text.strip(" ")
    return _parse_named(text, aliases, drive_letters=drive_letters) or LocalPath(text)


def _parse_named(text: str, aliases: Mapping[str, str], *, drive_letters: bool) -> GridPath | None:
    """The grid path ``text`` names by cap or alias; None if it names neither."""
    if text.startswith(CAP_PREFIX):
        return _split_cap_path(text)
    colon = text.find(":")
    alias = text[:colon]
    if colon == -1 or "/" in alias or (colon == 1 and drive_letters):
        return None
    if alias not in aliases:
        raise UnknownAliasError(
            f"unknown alias {alias!r}: create it with 'grid create-alias {alias}' "
            "or 'grid add-alias'"
        )
    return GridPath(aliases[alias], text[colon + 1 :])


def _split_cap_path(text: str) -> GridPath:
    separator = text.find(_OLD_CAP_PATH_SEPARATOR)
    if separator != -1:
        return GridPath(text[:separator], text[separator + len(_OLD_CAP_PATH_SEPARATOR) :])
    cap, _, path = text.partition("/")
    return GridPath(cap, path)


def directory_cap(text: str) -> str:
    """Check that ``text`` is a directory cap (as an alias must be); return it."""
    try:
        cap = parse_cap(text.strip())
    except CapError as error:
        raise CapError(f"not a directory cap: {error}") from None
    if not cap.is_directory:
        raise CapError(f"not a directory cap: {text.strip()[:20]}...")
    return cap.to_string()
