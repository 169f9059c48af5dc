"""The repair policy, and how each outcome is written into a file's record.

Rules (pure; times are passed in):

- A file needs repair when its good shares are fewer than the threshold;
  the threshold is capped at the file's N (a repair cannot place more than
  N shares), and with no threshold configured it *is* N, so any missing
  share is repaired.
- Only an immutable file is repaired from its verify cap. A mutable file
  below the threshold is recorded as a failure ("needs its write cap") and
  never repaired.
- Every check updates the record's counts and ``last_check``; a repair
  that succeeds sets ``last_repair`` and the counts seen after it; a repair
  that fails, or a check that raised, is added to the failure history.
- The next file to check is the one whose next check is due first: never
  checked files first (in the order they were added), then by
  ``last_check + interval``.
"""

import attrs

from client.repair_agent.outcomes import CheckOutcome, RepairOutcome
from client.repair_agent.state import AgentState, FileRecord

MUTABLE_NOT_REPAIRABLE = (
    "below the repair threshold, but a mutable file needs its write cap to be repaired"
)


def needs_repair(outcome: CheckOutcome, threshold: int | None) -> bool:
    """Whether ``outcome``'s good shares are below the threshold (capped at N; N if None)."""
    limit = outcome.total_shares if threshold is None else min(threshold, outcome.total_shares)
    return outcome.good_shares < limit


def record_check(record: FileRecord, outcome: CheckOutcome, now: float) -> FileRecord:
    """``record`` after a check at ``now`` saw ``outcome``."""
    return attrs.evolve(
        record,
        last_check=now,
        good_shares=outcome.good_shares,
        needed_shares=outcome.needed_shares,
        total_shares=outcome.total_shares,
        distinct_servers=outcome.distinct_servers,
        healthy=outcome.healthy,
        recoverable=outcome.recoverable,
        summary=outcome.summary,
    )


def record_repair(record: FileRecord, repair: RepairOutcome, now: float) -> FileRecord:
    """``record`` after a repair at ``now``: the counts after it, and a failure if it failed."""
    checked = record_check(record, repair.after, now)
    if repair.attempted and repair.successful:
        return attrs.evolve(
            checked, last_repair=now, summary=f"repaired; now {repair.after.summary}"
        )
    reason = repair.failure or "the repair was not attempted"
    return checked.with_failure(now, f"repair failed: {reason}")


def record_unrepairable(record: FileRecord, now: float) -> FileRecord:
    """``record`` of a mutable file found below the threshold, which the agent cannot repair."""
    return attrs.evolve(record, summary=f"{record.summary}; {MUTABLE_NOT_REPAIRABLE}").with_failure(
        now, MUTABLE_NOT_REPAIRABLE
    )


def record_error(record: FileRecord, what: str, now: float) -> FileRecord:
    """``record`` after a check or repair at ``now`` raised ``what``."""
    return attrs.evolve(record, last_check=now, summary=f"check failed: {what}").with_failure(
        now, f"check failed: {what}"
    )


def next_due(state: AgentState, interval: float) -> tuple[FileRecord, float] | None:
    """The record to check next and when it is due (None if there are no files)."""
    best: tuple[FileRecord, float] | None = None
    for record in state.files.values():
        due = record.added if record.last_check is None else record.last_check + interval
        unchecked = record.last_check is None
        if best is None:
            best = (record, due)
            continue
        best_unchecked = best[0].last_check is None
        if (unchecked and not best_unchecked) or (unchecked == best_unchecked and due < best[1]):
            best = (record, due)
    return best
