"""Mutable file caps (SDMF and MDMF): write caps, read caps and verify caps.

Rules: a mutable cap is ``URI:<tag>:<key or SI>:<fingerprint>``, where the
tag is ``SSK`` (SDMF) or ``MDMF`` followed by nothing (write cap), ``-RO``
(read cap) or ``-Verifier`` (verify cap). The format is a field of one class
per role, not a class of its own. Everything weaker is derived offline:
writekey -> readkey -> storage index; the fingerprint (hash of the public
key) is copied unchanged and can only be checked against a share.

MDMF caps may carry an *extension*: anything after a further ``:`` past the
fingerprint. Tahoe ignores it (1.9-era MDMF caps put ``:k:segsize`` hints
there) and never writes one. Here it is kept verbatim, so such a cap's text
round-trips exactly and two caps compare equal only if their texts do, but
the derived read and verify caps drop it, as Tahoe does. It must be visible
ASCII (``!`` to ``~``). SDMF caps take no extension at all.
"""

import enum
import functools
import re
from typing import Any, ClassVar

import attrs

from grid.base32 import b2a
from grid.caps.fields import decode_sized, hash_field, key_field, storage_index_field
from grid.errors import CapError
from grid.hashing import (
    HASH_SIZE,
    KEY_SIZE,
    STORAGE_INDEX_SIZE,
    mutable_readkey,
    mutable_storage_index,
)


class MutableFormat(enum.Enum):
    """The share format of a mutable file, which its cap's tag names."""

    SDMF = "SDMF"
    MDMF = "MDMF"

    @property
    def tag(self) -> str:
        """The cap tag for this format's write cap: ``SSK`` or ``MDMF``."""
        return "SSK" if self is MutableFormat.SDMF else "MDMF"


_EXTENSION_RE = re.compile(":[!-~]*")


def _check_format(_instance: Any, attribute: Any, value: MutableFormat) -> None:
    """Validate (for attrs) that the format is a :class:`MutableFormat`."""
    if not isinstance(value, MutableFormat):
        raise CapError(f"{attribute.name} must be a MutableFormat")


def _check_extension(instance: Any, _attribute: Any, value: str) -> None:
    """Validate (for attrs) an extension: empty, or (MDMF only) ``:`` then visible ASCII."""
    if not isinstance(value, str):
        raise CapError("extension must be a str")
    if not value:
        return
    if instance.format is not MutableFormat.MDMF:
        raise CapError("only MDMF caps carry an extension after the fingerprint")
    if _EXTENSION_RE.fullmatch(value) is None:
        raise CapError("an MDMF cap extension is ':' followed by visible ASCII")


def _mutable_fields(
    body: str, file_format: MutableFormat, kind: str, first_size: int, first_name: str
) -> tuple[bytes, bytes, str]:
    """Parse ``<first>:<fingerprint>[<extension>]``, the body of every mutable cap."""
    fields = body.split(":", 2)
    if len(fields) < 2:
        raise CapError(f"a {kind} cap has 2 fields after its kind, found {len(fields)}")
    extension = ""
    if len(fields) == 3:
        if file_format is MutableFormat.SDMF:
            raise CapError(f"a {kind} cap has 2 fields after its kind, found more")
        extension = ":" + fields[2]
    return (
        decode_sized(fields[0], first_size, f"{kind} {first_name}"),
        decode_sized(fields[1], HASH_SIZE, f"{kind} fingerprint"),
        extension,
    )


def _cap_text(kind: str, first: bytes, fingerprint: bytes, extension: str) -> str:
    """Lay out a mutable cap's text."""
    return f"URI:{kind}:{b2a(first)}:{b2a(fingerprint)}{extension}"


@attrs.frozen
class MutableVerifyCap:
    """``URI:SSK-Verifier:`` / ``URI:MDMF-Verifier:``: check shares, read nothing.

    ``is_mutable`` is False, as in Tahoe: a verify cap confers no access to
    the (mutable) contents, so it may sit in an immutable directory.
    """

    format: MutableFormat = attrs.field(validator=_check_format)
    storage_index: bytes = attrs.field(validator=storage_index_field)
    fingerprint: bytes = attrs.field(validator=hash_field)
    extension: str = attrs.field(default="", validator=_check_extension)

    is_mutable: ClassVar[bool] = False
    is_readonly: ClassVar[bool] = True
    is_directory: ClassVar[bool] = False

    @classmethod
    def from_fields(cls, file_format: MutableFormat, body: str) -> "MutableVerifyCap":
        """Build from the text after ``URI:<tag>-Verifier:``; raise CapError if malformed."""
        kind = f"{file_format.tag}-Verifier"
        return cls(
            file_format,
            *_mutable_fields(body, file_format, kind, STORAGE_INDEX_SIZE, "storage index"),
        )

    @property
    def kind(self) -> str:
        """``SSK-Verifier`` or ``MDMF-Verifier``."""
        return f"{self.format.tag}-Verifier"

    def read_only(self) -> "MutableVerifyCap":
        """A verify cap is its own read-only form."""
        return self

    def verify_cap(self) -> "MutableVerifyCap":
        """A verify cap is its own verify cap."""
        return self

    def to_string(self) -> str:
        """The cap's text, extension included."""
        return _cap_text(self.kind, self.storage_index, self.fingerprint, self.extension)


@attrs.frozen
class MutableReadCap:
    """``URI:SSK-RO:`` / ``URI:MDMF-RO:``: read a mutable file, not write it."""

    format: MutableFormat = attrs.field(validator=_check_format)
    readkey: bytes = attrs.field(validator=key_field, repr=False)
    fingerprint: bytes = attrs.field(validator=hash_field)
    extension: str = attrs.field(default="", validator=_check_extension)

    is_mutable: ClassVar[bool] = True
    is_readonly: ClassVar[bool] = True
    is_directory: ClassVar[bool] = False

    @classmethod
    def from_fields(cls, file_format: MutableFormat, body: str) -> "MutableReadCap":
        """Build from the text after ``URI:<tag>-RO:``; raise CapError if malformed."""
        kind = f"{file_format.tag}-RO"
        return cls(file_format, *_mutable_fields(body, file_format, kind, KEY_SIZE, "read key"))

    @property
    def kind(self) -> str:
        """``SSK-RO`` or ``MDMF-RO``."""
        return f"{self.format.tag}-RO"

    @functools.cached_property
    def storage_index(self) -> bytes:
        """Storage index derived from the read key (computed once)."""
        return mutable_storage_index(self.readkey)

    def read_only(self) -> "MutableReadCap":
        """A read cap is already read-only."""
        return self

    def verify_cap(self) -> MutableVerifyCap:
        """The verify cap: storage index and fingerprint (extension dropped)."""
        return MutableVerifyCap(self.format, self.storage_index, self.fingerprint)

    def to_string(self) -> str:
        """The cap's text, extension included."""
        return _cap_text(self.kind, self.readkey, self.fingerprint, self.extension)


@attrs.frozen
class MutableWriteCap:
    """``URI:SSK:`` / ``URI:MDMF:``: read and write a mutable file."""

    format: MutableFormat = attrs.field(validator=_check_format)
    writekey: bytes = attrs.field(validator=key_field, repr=False)
    fingerprint: bytes = attrs.field(validator=hash_field)
    extension: str = attrs.field(default="", validator=_check_extension)

    is_mutable: ClassVar[bool] = True
    is_readonly: ClassVar[bool] = False
    is_directory: ClassVar[bool] = False

    @classmethod
    def from_fields(cls, file_format: MutableFormat, body: str) -> "MutableWriteCap":
        """Build from the text after ``URI:<tag>:``; raise CapError if malformed."""
        kind = file_format.tag
        return cls(file_format, *_mutable_fields(body, file_format, kind, KEY_SIZE, "write key"))

    @property
    def kind(self) -> str:
        """``SSK`` or ``MDMF``."""
        return self.format.tag

    @functools.cached_property
    def readkey(self) -> bytes:
        """Read key derived from the write key (computed once)."""
        return mutable_readkey(self.writekey)

    @functools.cached_property
    def storage_index(self) -> bytes:
        """Storage index derived from the read key (computed once)."""
        return mutable_storage_index(self.readkey)

    def read_only(self) -> MutableReadCap:
        """The read cap: derived read key and the same fingerprint (extension dropped)."""
        return MutableReadCap(self.format, self.readkey, self.fingerprint)

    def verify_cap(self) -> MutableVerifyCap:
        """The verify cap: storage index and fingerprint (extension dropped)."""
        return MutableVerifyCap(self.format, self.storage_index, self.fingerprint)

    def to_string(self) -> str:
        """The cap's text, extension included."""
        return _cap_text(self.kind, self.writekey, self.fingerprint, self.extension)
