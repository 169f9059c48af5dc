"""Turning text into caps: a strict parser for users and a lenient one for directories.

Rules for :func:`parse_cap` (strict): the text (``str``, or ``bytes`` that
must be ASCII) is ``URI:<kind>:<fields>`` for one of the kinds in
``tahoe-formats.md`` §3, chosen by its exact ``URI:<kind>:`` prefix, and
every field is canonical, so that ``parse_cap(s).to_string() == s`` for every
accepted ``s``. Anything else raises :class:`~grid.errors.CapError` and
nothing else. Where Tahoe is more lenient this parser says no, because
nothing Tahoe writes needs the leniency:

- numbers with leading zeros (Tahoe reads ``007`` as 7);
- a trailing newline (Tahoe's ``$`` patterns match before one);
- text after a CHK verify cap's size (Tahoe's pattern is not end-anchored);
- ``ro.`` / ``imm.`` prefixes, which belong to directory entries.

The one tolerance kept is the MDMF extension (see :mod:`grid.caps.mutable`),
which is kept verbatim. Share counts and sizes are range-checked
(``1 <= k <= N <= 256``, ``size < 2**64``), which Tahoe's parser does not do.

Rules for :func:`parse_child_cap` (lenient, for directory entries): one
``imm.`` or ``ro.`` prefix is stripped and recorded as a constraint; a cap
breaking it (a write cap under either prefix, a mutable cap under ``imm.``)
becomes an :class:`UnknownCap` with an error, as does a cap whose kind is
known but whose fields are malformed; an unknown kind becomes an
:class:`UnknownCap` without one. Unknown caps keep the full original text,
prefix included. It raises CapError only when the text cannot be a UTF-8
directory entry at all: ``bytes`` that are not UTF-8, or a ``str`` holding
lone surrogates.
"""

import functools
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from grid.caps.directory import DIRECTORY_KINDS, DirectoryCap, FileCap
from grid.caps.immutable import CHKReadCap, CHKVerifyCap, LiteralCap
from grid.caps.mutable import MutableFormat, MutableReadCap, MutableVerifyCap, MutableWriteCap
from grid.caps.unknown import UnknownCap
from grid.errors import CapError

Cap = FileCap | DirectoryCap
"""Any cap of a known kind: what :func:`parse_cap` returns."""

ChildCap = Cap | UnknownCap
"""What a directory entry holds: what :func:`parse_child_cap` returns."""

ALLEGED_READONLY_PREFIX = "ro."
ALLEGED_IMMUTABLE_PREFIX = "imm."
FUTURE_WRITEABLE_TEST_PREFIX = "x-tahoe-future-test-writeable:"
FUTURE_MUTABLE_TEST_PREFIX = "x-tahoe-future-test-mutable:"

_FILE_PARSERS: Mapping[str, Callable[[str], FileCap]] = MappingProxyType(
    {
        "CHK": CHKReadCap.from_fields,
        "CHK-Verifier": CHKVerifyCap.from_fields,
        "LIT": LiteralCap.from_fields,
        "SSK": functools.partial(MutableWriteCap.from_fields, MutableFormat.SDMF),
        "SSK-RO": functools.partial(MutableReadCap.from_fields, MutableFormat.SDMF),
        "SSK-Verifier": functools.partial(MutableVerifyCap.from_fields, MutableFormat.SDMF),
        "MDMF": functools.partial(MutableWriteCap.from_fields, MutableFormat.MDMF),
        "MDMF-RO": functools.partial(MutableReadCap.from_fields, MutableFormat.MDMF),
        "MDMF-Verifier": functools.partial(MutableVerifyCap.from_fields, MutableFormat.MDMF),
    }
)
_FILE_KIND_OF_DIRECTORY: Mapping[str, str] = MappingProxyType(
    {directory: file for file, directory in DIRECTORY_KINDS.items()}
)
_PRINTABLE_KIND_RE = re.compile("[A-Za-z0-9-]{1,40}")


def _split_kind(text: str) -> tuple[str, str] | None:
    """Split ``URI:<kind>:<fields>`` for a known kind; None if the kind is unknown."""
    if not text.startswith("URI:"):
        return None
    kind, colon, fields = text[len("URI:") :].partition(":")
    if not colon or (kind not in _FILE_PARSERS and kind not in _FILE_KIND_OF_DIRECTORY):
        return None
    return kind, fields


def _parse_known(kind: str, fields: str) -> Cap:
    """Build the cap of a known kind from the text after its ``URI:<kind>:``."""
    file_kind = _FILE_KIND_OF_DIRECTORY.get(kind)
    if file_kind is None:
        return _FILE_PARSERS[kind](fields)
    return DirectoryCap(_FILE_PARSERS[file_kind](fields))


def _unknown_kind_error(text: str) -> CapError:
    """The error for text that is not a cap of a known kind (no secrets echoed)."""
    if text.startswith("URI:"):
        kind = text[len("URI:") :].partition(":")[0]
        if kind in _FILE_PARSERS or kind in _FILE_KIND_OF_DIRECTORY:
            return CapError(f"a {kind} cap has fields after 'URI:{kind}:', none found")
        if _PRINTABLE_KIND_RE.fullmatch(kind):
            return CapError(f"unknown cap kind {kind!r}")
    return CapError("not a cap: expected 'URI:<kind>:...' of a known kind")


def parse_cap(text: str | bytes) -> Cap:
    """Parse a cap strictly; raise CapError for anything but a canonical known cap."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as error:
            raise CapError("a cap is ASCII text") from error
    elif not isinstance(text, str):
        raise TypeError(f"a cap is str or bytes, not {type(text).__name__}")
    elif not text.isascii():
        raise CapError("a cap is ASCII text")
    split = _split_kind(text)
    if split is None:
        raise _unknown_kind_error(text)
    return _parse_known(*split)


def _child_text(text: str | bytes) -> str:
    """Decode a directory entry's cap; it must be (encodable as) UTF-8."""
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CapError("a directory entry's cap is UTF-8 text") from error
    if not isinstance(text, str):
        raise TypeError(f"a cap is str or bytes, not {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CapError("a directory entry's cap must be encodable as UTF-8") from error
    return text


def _strip_alleged_prefix(text: str, deep_immutable: bool) -> tuple[str, bool, bool]:
    """Strip one ``imm.`` or ``ro.`` prefix; return (rest, may_write, may_mutate)."""
    if text.startswith(ALLEGED_IMMUTABLE_PREFIX):
        return text[len(ALLEGED_IMMUTABLE_PREFIX) :], False, False
    if text.startswith(ALLEGED_READONLY_PREFIX):
        return text[len(ALLEGED_READONLY_PREFIX) :], False, not deep_immutable
    return text, not deep_immutable, not deep_immutable


def _unknown_kind_constraint(text: str, may_write: bool, may_mutate: bool) -> str | None:
    """The error for Tahoe's test-only future caps placed where they may not go."""
    if not may_write and text.startswith(FUTURE_WRITEABLE_TEST_PREFIX):
        return "a (test) write cap used in a read-only context"
    if not may_mutate and text.startswith(FUTURE_MUTABLE_TEST_PREFIX):
        return "a (test) mutable cap used in an immutable context"
    return None


def _constraint(cap: Cap, may_write: bool, may_mutate: bool) -> str | None:
    """The error if ``cap`` breaks its slot's constraints, else None."""
    if not may_mutate and (cap.is_mutable or not cap.is_readonly):
        return f"a {cap.kind} cap used in an immutable context"
    if not may_write and not cap.is_readonly:
        return f"a {cap.kind} write cap used in a read-only context"
    return None


def parse_child_cap(text: str | bytes, *, deep_immutable: bool = False) -> ChildCap:
    """Parse a directory entry's cap leniently: unusable caps become UnknownCap.

    ``deep_immutable`` says the entry is in an immutable directory, where
    every child must be immutable, as if it carried ``imm.``.
    """
    original = _child_text(text)
    stripped, may_write, may_mutate = _strip_alleged_prefix(original, deep_immutable)
    split = _split_kind(stripped)
    if split is None:
        return UnknownCap(original, error=_unknown_kind_constraint(stripped, may_write, may_mutate))
    try:
        cap = _parse_known(*split)
    except CapError as error:
        return UnknownCap(original, error=str(error))
    error_text = _constraint(cap, may_write, may_mutate)
    if error_text is not None:
        return UnknownCap(original, error=error_text)
    return cap


def cap_kind(cap: ChildCap) -> str:
    """A stable human name for the cap's kind: its tag (``CHK``, ``DIR2-RO``...) or ``unknown``."""
    return cap.kind
