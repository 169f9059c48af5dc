"""What the lease-checking crawler remembers: its position, its counters, past cycles.

Rules:

- The state (``STORAGE/grid-lease-checker.state.json``) and the history
  (``STORAGE/grid-lease-checker.history.json``) are JSON objects with a
  ``version`` field. They are server-local and named so that Tahoe-LAFS
  never reads them: Tahoe 1.20 refuses to start if ``lease_checker.state``
  or ``lease_checker.history`` exist (it takes them for old pickles), and
  keeps its own state in ``lease_checker.*.json``, whose layout is not ours.
  A node moving between Tahoe and grid therefore starts a fresh cycle.
- Parsing is strict: a wrong type, a missing or unknown key, a negative
  count or a non-finite time raises :class:`CrawlerStateError`, which the
  crawler treats as "no usable state".
- Files are replaced atomically: written to a temporary file beside the
  target, flushed to disk, then renamed over it.
- The position means: in the cycle ``cycle``, every prefix before
  ``prefix`` is done, and within ``prefix`` every bucket whose name sorts
  at or before ``last_bucket`` is done.
"""

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from grid.errors import GridError
from storage_server.expiry import ShareType

STATE_VERSION = 1
HISTORY_VERSION = 1


class CrawlerStateError(GridError, ValueError):
    """A crawler state or history file is unreadable or does not hold what it must."""


@attrs.frozen
class CycleCounters:
    """What one cycle has seen so far.

    ``*_expired`` counts shares the policy judges expired, deleted or not
    (with expiry disabled, what would have been deleted); ``*_deleted`` counts
    shares actually removed. Bytes are file sizes.
    """

    buckets_examined: int = 0
    immutable_shares_examined: int = 0
    immutable_bytes_examined: int = 0
    mutable_shares_examined: int = 0
    mutable_bytes_examined: int = 0
    immutable_shares_expired: int = 0
    immutable_bytes_expired: int = 0
    mutable_shares_expired: int = 0
    mutable_bytes_expired: int = 0
    immutable_shares_deleted: int = 0
    immutable_bytes_deleted: int = 0
    mutable_shares_deleted: int = 0
    mutable_bytes_deleted: int = 0
    corrupt_shares: int = 0

    def __add__(self, other: "CycleCounters") -> "CycleCounters":
        """Field-by-field sum."""
        return CycleCounters(
            **{name: value + getattr(other, name) for name, value in attrs.asdict(self).items()}
        )


def share_counters(
    share_type: ShareType, size: int, *, expired: bool, deleted: bool
) -> CycleCounters:
    """The counters for one examined share of ``size`` bytes."""
    kind = share_type.value
    counts = {f"{kind}_shares_examined": 1, f"{kind}_bytes_examined": size}
    if expired:
        counts |= {f"{kind}_shares_expired": 1, f"{kind}_bytes_expired": size}
    if deleted:
        counts |= {f"{kind}_shares_deleted": 1, f"{kind}_bytes_deleted": size}
    return CycleCounters(**counts)


@attrs.frozen
class CrawlerState:
    """Where the crawler is in its cycle, and what this cycle has counted.

    ``cycle_started`` is ``None`` while the cycle waits for ``not_before``
    (the minimum time between cycle starts).
    """

    cycle: int
    cycle_started: float | None
    not_before: float
    prefix: str
    last_bucket: str | None
    counters: CycleCounters


@attrs.frozen
class CycleRecord:
    """One completed cycle, as kept in the history."""

    cycle: int
    started: float
    finished: float
    counters: CycleCounters


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if type(value) is not int or value < 0:
        raise CrawlerStateError(f"{key} must be a whole number >= 0, not {value!r}")
    return value


def _time(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    problem = CrawlerStateError(f"{key} must be a finite time, not {value!r}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise problem
    try:
        seconds = float(value)
    except OverflowError:
        raise problem from None
    if not math.isfinite(seconds):
        raise problem
    return seconds


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if type(value) is not str:
        raise CrawlerStateError(f"{key} must be text, not {value!r}")
    return value


def _object(value: object, keys: frozenset[str], what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise CrawlerStateError(f"{what} must be an object with exactly the keys {sorted(keys)}")
    return value


_COUNTER_KEYS = frozenset(attrs.fields_dict(CycleCounters))
_STATE_KEYS = frozenset(
    {"version", "cycle", "cycle_started", "not_before", "prefix", "last_bucket", "counters"}
)
_RECORD_KEYS = frozenset({"cycle", "started", "finished", "counters"})


def _counters_from_json(value: object) -> CycleCounters:
    data = _object(value, _COUNTER_KEYS, "counters")
    return CycleCounters(**{key: _int(data, key) for key in _COUNTER_KEYS})


def state_to_json(state: CrawlerState) -> dict[str, Any]:
    """The JSON object stored for a state."""
    return {"version": STATE_VERSION, **attrs.asdict(state)}


def state_from_json(value: object) -> CrawlerState:
    """Parse a stored state; raise CrawlerStateError if it is not one."""
    data = _object(value, _STATE_KEYS, "crawler state")
    if _int(data, "version") != STATE_VERSION:
        raise CrawlerStateError(f"unknown crawler state version {data['version']!r}")
    return CrawlerState(
        cycle=_int(data, "cycle"),
        cycle_started=None if data["cycle_started"] is None else _time(data, "cycle_started"),
        not_before=_time(data, "not_before"),
        prefix=_text(data, "prefix"),
        last_bucket=None if data["last_bucket"] is None else _text(data, "last_bucket"),
        counters=_counters_from_json(data["counters"]),
    )


def history_to_json(records: tuple[CycleRecord, ...]) -> dict[str, Any]:
    """The JSON object stored for a history, oldest cycle first."""
    return {"version": HISTORY_VERSION, "cycles": [attrs.asdict(record) for record in records]}


def _record_from_json(value: object) -> CycleRecord:
    data = _object(value, _RECORD_KEYS, "history record")
    return CycleRecord(
        cycle=_int(data, "cycle"),
        started=_time(data, "started"),
        finished=_time(data, "finished"),
        counters=_counters_from_json(data["counters"]),
    )


def history_from_json(value: object) -> tuple[CycleRecord, ...]:
    """Parse a stored history; raise CrawlerStateError if it is not one."""
    data = _object(value, frozenset({"version", "cycles"}), "crawler history")
    if _int(data, "version") != HISTORY_VERSION or not isinstance(data["cycles"], list):
        raise CrawlerStateError("unknown crawler history version or shape")
    return tuple(_record_from_json(record) for record in data["cycles"])


def read_json(path: Path) -> object:
    """Read a JSON file; raise FileNotFoundError if absent, CrawlerStateError if unreadable."""
    try:
        text = path.read_bytes()
        return json.loads(text)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, RecursionError) as error:
        raise CrawlerStateError(f"{path.name} is unreadable: {error}") from None


def write_json_atomically(path: Path, value: object) -> None:
    """Replace ``path`` with ``value`` as JSON: temp file, flush to disk, rename."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, sort_keys=True, allow_nan=False)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
