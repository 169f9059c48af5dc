"""The repair agent's state: one record per file it looks after, and their JSON form.

Rules: files are keyed by their verify cap's text; a record built from
anything but a verify cap is refused (:func:`~client.repair_agent.caps.parse_verify_cap`),
so the state can hold nothing stronger. A record keeps when the file was
added, last checked and last repaired (seconds since the epoch, from the
clock the agent was given), what the last check saw (good shares, k, N,
distinct servers holding good shares, healthy, recoverable, a summary for
people) and the last :data:`MAX_FAILURES` failures, oldest first. The JSON
form is ``{"version": 1, "files": [record, ...]}`` with records in the
order they were added; :func:`state_from_json` accepts only that shape and
raises :class:`~client.repair_agent.errors.StateFileError` for anything else.
"""

from collections.abc import Mapping
from typing import Any

import attrs

from client.repair_agent.caps import parse_verify_cap, storage_index_of
from client.repair_agent.errors import StateFileError, UnverifiableCapError
from grid.base32 import b2a

STATE_VERSION = 1
MAX_FAILURES = 20


def _must_be_verify_cap(_instance: Any, _attribute: Any, value: str) -> None:
    parse_verify_cap(value)


@attrs.frozen
class FailureEvent:
    """Something that went wrong with one file at one time, worded for people."""

    at: float
    what: str


@attrs.frozen
class FileRecord:
    """What the agent knows about one file."""

    verify_cap: str = attrs.field(validator=_must_be_verify_cap)
    added: float
    last_check: float | None = None
    last_repair: float | None = None
    good_shares: int | None = None
    needed_shares: int | None = None
    total_shares: int | None = None
    distinct_servers: int | None = None
    healthy: bool | None = None
    recoverable: bool | None = None
    summary: str = "not checked yet"
    failures: tuple[FailureEvent, ...] = ()

    @property
    def storage_index_b32(self) -> str:
        """The file's storage index, base32."""
        return b2a(storage_index_of(parse_verify_cap(self.verify_cap)))

    def with_failure(self, at: float, what: str) -> "FileRecord":
        """This record with one more failure (only the last :data:`MAX_FAILURES` are kept)."""
        failures = (*self.failures, FailureEvent(at, what))[-MAX_FAILURES:]
        return attrs.evolve(self, failures=failures)


@attrs.frozen
class AgentState:
    """Every file the agent looks after, by verify cap, in the order they were added."""

    files: Mapping[str, FileRecord] = attrs.field(factory=dict)

    def with_record(self, record: FileRecord) -> "AgentState":
        """This state with ``record`` added or replacing the record of its verify cap."""
        return AgentState({**self.files, record.verify_cap: record})

    def added(self, verify_caps: list[str], now: float) -> "AgentState":
        """This state with a fresh record for each of ``verify_caps`` whose file is not held.

        A file is held when a record has its storage index (a directory's
        verify cap and its file's verify cap name the same shares).
        """
        files = dict(self.files)
        held = {record.storage_index_b32 for record in files.values()}
        for verify_cap in verify_caps:
            record = FileRecord(verify_cap, now)
            if record.storage_index_b32 not in held:
                files[verify_cap] = record
                held.add(record.storage_index_b32)
        return AgentState(files)


def state_to_json(state: AgentState) -> dict[str, Any]:
    """The JSON form of ``state``."""
    return {
        "version": STATE_VERSION,
        "files": [
            {
                **attrs.asdict(record, recurse=False, filter=lambda a, _v: a.name != "failures"),
                "failures": [{"at": event.at, "what": event.what} for event in record.failures],
            }
            for record in state.files.values()
        ],
    }


_NUMBER_FIELDS = ("added", "last_check", "last_repair")
_COUNT_FIELDS = ("good_shares", "needed_shares", "total_shares", "distinct_servers")
_FLAG_FIELDS = ("healthy", "recoverable")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_flag(value: object) -> bool:
    return isinstance(value, bool)


_FIELD_KINDS = {
    **dict.fromkeys(_NUMBER_FIELDS, (_is_number, "a number")),
    **dict.fromkeys(_COUNT_FIELDS, (_is_count, "a count")),
    **dict.fromkeys(_FLAG_FIELDS, (_is_flag, "true or false")),
}


def _optional(entry: Mapping[str, Any], name: str) -> Any:
    value = entry.get(name)
    accepts, wanted = _FIELD_KINDS[name]
    if value is not None and not accepts(value):
        raise StateFileError(f"the state file's {name} is not {wanted}: {value!r}")
    return value


def _record_from_json(entry: object) -> FileRecord:
    if not isinstance(entry, dict):
        raise StateFileError("a file entry in the state file is not an object")
    verify_cap = entry.get("verify_cap")
    if not isinstance(verify_cap, str):
        raise StateFileError("a file entry in the state file has no verify cap")
    values: dict[str, Any] = {name: _optional(entry, name) for name in _FIELD_KINDS}
    if values["added"] is None:
        raise StateFileError("a file entry in the state file has no added time")
    summary = entry.get("summary", "")
    failures = entry.get("failures", [])
    if not isinstance(summary, str) or not isinstance(failures, list):
        raise StateFileError("a file entry in the state file has a bad summary or failure list")
    events = []
    for failure in failures:
        if not (
            isinstance(failure, dict)
            and _is_number(failure.get("at"))
            and isinstance(failure.get("what"), str)
        ):
            raise StateFileError("a failure in the state file is not {at, what}")
        events.append(FailureEvent(float(failure["at"]), failure["what"]))
    try:
        return FileRecord(
            verify_cap, summary=summary, failures=tuple(events[-MAX_FAILURES:]), **values
        )
    except UnverifiableCapError as error:
        raise StateFileError(
            f"the state file holds a cap that is not a verify cap: {error}"
        ) from None


def state_from_json(data: object) -> AgentState:
    """The state in ``data`` (parsed JSON); StateFileError if it is not the agent's state."""
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise StateFileError(f"the state file is not version {STATE_VERSION} agent state")
    files = data.get("files")
    if not isinstance(files, list):
        raise StateFileError("the state file has no list of files")
    records = [_record_from_json(entry) for entry in files]
    return AgentState({record.verify_cap: record for record in records})
