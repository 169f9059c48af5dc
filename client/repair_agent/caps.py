"""The only caps the repair agent holds: verify caps.

Rules: every cap that enters the agent passes :func:`reduce_to_verify_cap`,
which parses it once and keeps only its verify cap, so a read or write cap
is never stored nor kept in memory past that call. A literal file (its data
is in the cap) has no verify cap and is refused, as is anything that is not
a cap. :func:`parse_verify_cap` is the strict form for text that must
already be a verify cap (the state file). Only an immutable (CHK) file can
be repaired from its verify cap; a mutable file needs its write cap.
"""

from client.repair_agent.errors import NothingToCheckError, UnverifiableCapError
from grid.caps import CHKVerifyCap, DirectoryCap, MutableVerifyCap, parse_cap
from grid.errors import CapError

VerifyCap = CHKVerifyCap | MutableVerifyCap | DirectoryCap


def _file_cap(cap: VerifyCap) -> CHKVerifyCap | MutableVerifyCap:
    inner = cap.file_cap if isinstance(cap, DirectoryCap) else cap
    if not isinstance(inner, CHKVerifyCap | MutableVerifyCap):
        raise UnverifiableCapError(f"a {cap.kind} cap is not a verify cap")
    return inner


def reduce_to_verify_cap(text: str) -> VerifyCap:
    """The verify cap of the cap ``text``; UnverifiableCapError if it has none."""
    try:
        cap = parse_cap(text.strip())
    except CapError as error:
        raise UnverifiableCapError(str(error)) from None
    verify_cap = cap.verify_cap()
    if verify_cap is None:
        raise NothingToCheckError(f"a {cap.kind} cap has no verify cap: there is nothing to check")
    _file_cap(verify_cap)
    return verify_cap


def parse_verify_cap(text: str) -> VerifyCap:
    """Parse ``text``, which must be a verify cap; UnverifiableCapError otherwise."""
    try:
        cap = parse_cap(text)
    except CapError as error:
        raise UnverifiableCapError(str(error)) from None
    if not isinstance(cap, CHKVerifyCap | MutableVerifyCap | DirectoryCap):
        raise UnverifiableCapError(f"a {cap.kind} cap is not a verify cap")
    _file_cap(cap)
    return cap


def storage_index_of(cap: VerifyCap) -> bytes:
    """The storage index of the file ``cap`` verifies."""
    return _file_cap(cap).storage_index


def repairable_from_verify_cap(cap: VerifyCap) -> bool:
    """Whether the file can be repaired from ``cap`` alone (immutable files only)."""
    return isinstance(_file_cap(cap), CHKVerifyCap)
