"""Caps of kinds this version does not understand, kept verbatim.

Rules: a directory may hold a cap written by a newer client, or one that is
malformed or breaks its slot's constraints (a write cap under ``ro.``). It is
preserved exactly as found, so writing the directory back loses nothing;
``error`` says why a recognised-looking cap was refused (None for a kind that
is simply unknown). It grants nothing: no storage index, no derived caps,
and all predicates are False. Equality is by text alone.
"""

from typing import Any, ClassVar

import attrs

from grid.errors import CapError


def _check_text(_instance: Any, attribute: Any, value: Any) -> None:
    """Validate (for attrs) that the verbatim cap is a str."""
    if not isinstance(value, str):
        raise CapError(f"{attribute.name} must be a str, not {type(value).__name__}")


@attrs.frozen
class UnknownCap:
    """A cap kept as its verbatim text, with the reason it was not understood."""

    text: str = attrs.field(validator=_check_text, repr=False)
    error: str | None = attrs.field(default=None, eq=False)

    kind: ClassVar[str] = "unknown"
    is_mutable: ClassVar[bool] = False
    is_readonly: ClassVar[bool] = False
    is_directory: ClassVar[bool] = False

    @property
    def storage_index(self) -> None:
        """An unknown cap names no storage index we could use."""
        return None

    def read_only(self) -> None:
        """No read-only form can be derived from an unknown cap."""

    def verify_cap(self) -> None:
        """No verify cap can be derived from an unknown cap."""

    def to_string(self) -> str:
        """The text exactly as it was found."""
        return self.text
