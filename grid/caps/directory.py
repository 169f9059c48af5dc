"""Directory caps: a file cap of any kind, wrapped and re-tagged.

Rules: a directory is stored as a file, so a directory cap is exactly a file
cap with a different tag: ``URI:DIR2:`` + the fields of ``URI:SSK:``, and so
on for every file kind (table :data:`DIRECTORY_KINDS`). One class,
:class:`DirectoryCap`, holds the inner file cap; its kind, predicates,
storage index and derived caps all come from that file cap, re-wrapped.
A literal directory (``DIR2-LIT``) has no verify cap, like a literal file.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from grid.caps.immutable import CHKReadCap, CHKVerifyCap, LiteralCap
from grid.caps.mutable import MutableReadCap, MutableVerifyCap, MutableWriteCap
from grid.errors import CapError

FileCap = (
    CHKReadCap | CHKVerifyCap | LiteralCap | MutableWriteCap | MutableReadCap | MutableVerifyCap
)
"""Any cap naming a file; every one of them can be wrapped as a directory."""

FILE_CAP_TYPES = (
    CHKReadCap,
    CHKVerifyCap,
    LiteralCap,
    MutableWriteCap,
    MutableReadCap,
    MutableVerifyCap,
)

DIRECTORY_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "CHK": "DIR2-CHK",
        "CHK-Verifier": "DIR2-CHK-Verifier",
        "LIT": "DIR2-LIT",
        "SSK": "DIR2",
        "SSK-RO": "DIR2-RO",
        "SSK-Verifier": "DIR2-Verifier",
        "MDMF": "DIR2-MDMF",
        "MDMF-RO": "DIR2-MDMF-RO",
        "MDMF-Verifier": "DIR2-MDMF-Verifier",
    }
)
"""The directory kind wrapping each file kind."""


def _check_file_cap(_instance: Any, attribute: Any, value: Any) -> None:
    """Validate (for attrs) that the wrapped cap is a file cap, not a directory or unknown."""
    if not isinstance(value, FILE_CAP_TYPES):
        raise CapError(f"{attribute.name} must be a file cap, not {type(value).__name__}")


@attrs.frozen
class DirectoryCap:
    """A directory cap (``URI:DIR2...:``) holding the cap of the file that stores it."""

    file_cap: FileCap = attrs.field(validator=_check_file_cap)

    is_directory: ClassVar[bool] = True

    @property
    def kind(self) -> str:
        """The directory kind, e.g. ``DIR2`` for an SSK file or ``DIR2-CHK`` for CHK."""
        return DIRECTORY_KINDS[self.file_cap.kind]

    @property
    def is_mutable(self) -> bool:
        """Whether the directory's contents can change (DIR2, DIR2-RO, -MDMF, -MDMF-RO)."""
        return self.file_cap.is_mutable

    @property
    def is_readonly(self) -> bool:
        """Whether this cap cannot modify the directory."""
        return self.file_cap.is_readonly

    @property
    def storage_index(self) -> bytes | None:
        """The storage index of the underlying file (None for DIR2-LIT)."""
        return self.file_cap.storage_index

    def read_only(self) -> "DirectoryCap":
        """The read-only directory cap (itself if already read-only)."""
        if self.file_cap.is_readonly:
            return self
        return DirectoryCap(self.file_cap.read_only())

    def verify_cap(self) -> "DirectoryCap | None":
        """The directory verify cap, or None for a literal directory."""
        file_verify_cap = self.file_cap.verify_cap()
        if file_verify_cap is None:
            return None
        if file_verify_cap is self.file_cap:
            return self
        return DirectoryCap(file_verify_cap)

    def to_string(self) -> str:
        """The file cap's text with its ``URI:<kind>:`` replaced by the directory's."""
        file_text = self.file_cap.to_string()
        fields = file_text[len(f"URI:{self.file_cap.kind}:") :]
        return f"URI:{self.kind}:{fields}"
