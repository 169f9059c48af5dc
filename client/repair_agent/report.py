"""Reports read from the agent's state: durability JSON, and OpenMetrics per file and in total.

Rules: the durability JSON is ``{"files": [...], "totals": {...}}`` with one
entry per file in the order added: ``verify-cap``, ``storage-index``
(base32), ``good-shares``, ``needed-shares``, ``total-shares``,
``distinct-servers``, ``last-check``, ``last-repair`` (seconds since the
epoch, ``null`` if never), ``healthy`` and ``recoverable`` (``null`` until
checked), ``summary`` and ``failures`` (``[{"at", "what"}]``, oldest first).
Totals count files, healthy, unhealthy, unrecoverable and unchecked ones.
The OpenMetrics text is the given registries' families followed by
per-file gauges labelled ``storage_index`` (no sample for what is unknown)
and the totals, ending with ``# EOF``. No read cap exists here to leak;
verify caps appear only in the JSON.
"""

from collections.abc import Callable, Sequence
from typing import Any

from client.repair_agent.state import AgentState, FileRecord
from grid.metrics import MetricsRegistry, render_openmetrics

_EOF = "# EOF\n"
PREFIX = "grid_repair_agent"


def durability_totals(state: AgentState) -> dict[str, int]:
    """How many files the agent holds, and how many are in each condition."""
    records = list(state.files.values())
    return {
        "files": len(records),
        "healthy": sum(record.healthy is True for record in records),
        "unhealthy": sum(record.healthy is False for record in records),
        "unrecoverable": sum(record.recoverable is False for record in records),
        "unchecked": sum(record.last_check is None for record in records),
    }


def file_json(record: FileRecord) -> dict[str, Any]:
    """One file's durability entry."""
    return {
        "verify-cap": record.verify_cap,
        "storage-index": record.storage_index_b32,
        "good-shares": record.good_shares,
        "needed-shares": record.needed_shares,
        "total-shares": record.total_shares,
        "distinct-servers": record.distinct_servers,
        "last-check": record.last_check,
        "last-repair": record.last_repair,
        "healthy": record.healthy,
        "recoverable": record.recoverable,
        "summary": record.summary,
        "failures": [{"at": event.at, "what": event.what} for event in record.failures],
    }


def durability_json(state: AgentState) -> dict[str, Any]:
    """The ``/durability?t=json`` answer (and ``grid repair-agent status --json``)."""
    return {
        "files": [file_json(record) for record in state.files.values()],
        "totals": durability_totals(state),
    }


_FileValue = Callable[[FileRecord], float | int | bool | None]
_PER_FILE: tuple[tuple[str, str, _FileValue], ...] = (
    (
        "file_good_shares",
        "Distinct shares with a good copy at the last check.",
        lambda r: r.good_shares,
    ),
    ("file_needed_shares", "Shares needed to read the file (k).", lambda r: r.needed_shares),
    ("file_total_shares", "Shares the file was encoded into (N).", lambda r: r.total_shares),
    (
        "file_distinct_servers",
        "Servers holding at least one good share at the last check.",
        lambda r: r.distinct_servers,
    ),
    ("file_healthy", "1 if every share had a good copy at the last check.", lambda r: r.healthy),
    (
        "file_last_check_timestamp_seconds",
        "When the file was last checked (seconds since the epoch).",
        lambda r: r.last_check,
    ),
    (
        "file_last_repair_timestamp_seconds",
        "When the file was last repaired (seconds since the epoch).",
        lambda r: r.last_repair,
    ),
    ("file_failures", "Failures kept in the file's history.", lambda r: len(r.failures)),
)


def _number(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return str(int(value))
    return str(value) if isinstance(value, int) else repr(float(value))


def _gauge_lines(name: str, help_text: str, samples: list[str]) -> list[str]:
    return [f"# TYPE {PREFIX}_{name} gauge", f"# HELP {PREFIX}_{name} {help_text}", *samples]


def durability_openmetrics(state: AgentState) -> list[str]:
    """The per-file and total gauges, as OpenMetrics lines (without ``# EOF``)."""
    lines: list[str] = []
    for name, help_text, read in _PER_FILE:
        samples = []
        for record in state.files.values():
            value = read(record)
            if value is not None:
                label = f'storage_index="{record.storage_index_b32}"'
                samples.append(f"{PREFIX}_{name}{{{label}}} {_number(value)}")
        lines += _gauge_lines(name, help_text, samples)
    for total, count in durability_totals(state).items():
        name = "files" if total == "files" else f"files_{total}"
        lines += _gauge_lines(
            name, f"Files the agent holds ({total}).", [f"{PREFIX}_{name} {count}"]
        )
    return lines


def render_agent_openmetrics(state: AgentState, registries: Sequence[MetricsRegistry]) -> bytes:
    """The registries' OpenMetrics text followed by the durability gauges, then ``# EOF``."""
    head = render_openmetrics(registries).decode("utf-8").removesuffix(_EOF)
    body = "".join(f"{line}\n" for line in durability_openmetrics(state))
    return (head + body + _EOF).encode("utf-8")
