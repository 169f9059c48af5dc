"""The share crawler: walks every bucket of a storage directory, a bounded slice at a time.

Rules:

- A cycle visits the 1024 two-character base32 prefixes of
  ``STORAGE/shares/`` in sorted order and, within each, the bucket (storage
  index) directories in sorted order, handing each to a
  :class:`BucketExaminer`. Only one prefix directory is listed at a time;
  ``shares/incoming/`` is not a prefix, so uploads in progress are never seen.
- :meth:`ShareCrawler.run_slice` does at most a :class:`SliceBudget` of work
  (a number of steps, and a time measured by the injected clock), saves the
  state, and returns how long to wait before the next slice: long enough that
  work takes at most ``Pacing.cpu_fraction`` of the time. A new cycle starts
  no sooner than ``Pacing.minimum_cycle_seconds`` after the previous one did.
- The state (position and this cycle's counters) is saved as JSON after every
  slice; a completed cycle is appended to a bounded history. After a restart
  the crawler resumes in the same prefix after the last bucket it finished;
  a crash inside a slice repeats at most that slice, whose counters were not
  saved. A missing, corrupt or unknown state file starts a fresh cycle.
- The constructor only assigns; the first :meth:`~ShareCrawler.run_slice`
  (or :meth:`~ShareCrawler.load`) reads the files.
"""

import bisect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import attrs
from twisted.logger import Logger

from grid.base32 import ALPHABET
from storage_server.crawler_state import (
    CrawlerState,
    CrawlerStateError,
    CycleCounters,
    CycleRecord,
    history_from_json,
    history_to_json,
    read_json,
    state_from_json,
    state_to_json,
    write_json_atomically,
)
from storage_server.expiry import ExpiryPolicy
from storage_server.lease_expirer import LeaseExpirer

PREFIXES: tuple[str, ...] = tuple(
    sorted(first + second for first in ALPHABET for second in ALPHABET)
)
STATE_FILE = "grid-lease-checker.state.json"
HISTORY_FILE = "grid-lease-checker.history.json"

log = Logger()


class BucketExaminer(Protocol):
    """Examines one bucket directory at time ``now`` and says what it counted."""

    def __call__(self, bucket_dir: Path, now: float) -> CycleCounters:
        """Examine the bucket; never raise for a bad share."""


@attrs.frozen
class SliceBudget:
    """How much one slice may do: a step is examining a bucket or listing a prefix."""

    max_seconds: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    max_steps: int = attrs.field(default=1000, validator=attrs.validators.ge(1))


@attrs.frozen
class Pacing:
    """How the crawler spreads its work over time."""

    cpu_fraction: float = attrs.field(
        default=0.1, validator=[attrs.validators.gt(0), attrs.validators.le(1)]
    )
    minimum_sleep: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    minimum_cycle_seconds: float = attrs.field(
        default=12 * 60 * 60, validator=attrs.validators.ge(0)
    )
    history_length: int = attrs.field(default=10, validator=attrs.validators.ge(1))

    def sleep_after(self, work_seconds: float) -> float:
        """Seconds to wait after a slice that worked ``work_seconds``."""
        return max(self.minimum_sleep, work_seconds * (1 - self.cpu_fraction) / self.cpu_fraction)


@attrs.frozen
class _PrefixListing:
    prefix: str
    buckets: tuple[str, ...]

    def next_after(self, last_bucket: str | None) -> str | None:
        index = 0 if last_bucket is None else bisect.bisect_right(self.buckets, last_bucket)
        return self.buckets[index] if index < len(self.buckets) else None


class ShareCrawler:
    """Walks the share tree in bounded slices, keeping its place on disk; see the module rules."""

    def __init__(
        self,
        storage_dir: Path,
        examine_bucket: BucketExaminer,
        clock: Callable[[], float],
        pacing: Pacing | None = None,
    ) -> None:
        """Crawl ``storage_dir`` (the directory holding ``shares/``); nothing is read yet."""
        self.storage_dir = storage_dir
        self.examine_bucket = examine_bucket
        self.clock = clock
        self.pacing = pacing or Pacing()
        self._state: CrawlerState | None = None
        self._history: tuple[CycleRecord, ...] = ()
        self._listing: _PrefixListing | None = None

    @property
    def state_path(self) -> Path:
        """The JSON file holding the current cycle's position and counters."""
        return self.storage_dir / STATE_FILE

    @property
    def history_path(self) -> Path:
        """The JSON file holding the last completed cycles."""
        return self.storage_dir / HISTORY_FILE

    def load(self) -> CrawlerState:
        """Read the history and state files (once); start a fresh cycle if the state is unusable."""
        if self._state is not None:
            return self._state
        self._history = self._read_history()
        try:
            state = _read_state(self.state_path)
        except FileNotFoundError:
            state = self._fresh_state()
        except CrawlerStateError as error:
            log.warn("lease-checker: starting a fresh cycle: {error}", error=error)
            state = self._fresh_state()
        self._state = state
        return state

    def history(self) -> tuple[CycleRecord, ...]:
        """The last completed cycles, oldest first."""
        self.load()
        return self._history

    def run_slice(self, budget: SliceBudget | None = None) -> float:
        """Do one slice of work within ``budget``, save the state, return the seconds to wait."""
        budget = budget or SliceBudget()
        started = self.clock()
        state = self.load()
        if state.cycle_started is None:
            if started < state.not_before:
                return state.not_before - started
            state = attrs.evolve(state, cycle_started=started)
        steps = 0
        while steps < budget.max_steps and self.clock() - started < budget.max_seconds:
            listing = self._listing
            if listing is None or listing.prefix != state.prefix:
                self._listing = _PrefixListing(state.prefix, self._list_prefix(state.prefix))
                steps += 1
                continue
            bucket = listing.next_after(state.last_bucket)
            if bucket is None:
                state = self._next_prefix(state)
                if state.cycle_started is None:
                    self._save(state)
                    wait = self.pacing.sleep_after(self.clock() - started)
                    return max(wait, state.not_before - self.clock())
                continue
            counters = self.examine_bucket(self._shares_dir / state.prefix / bucket, self.clock())
            state = attrs.evolve(
                state,
                last_bucket=bucket,
                counters=state.counters + counters + CycleCounters(buckets_examined=1),
            )
            steps += 1
        self._save(state)
        return self.pacing.sleep_after(self.clock() - started)

    @property
    def _shares_dir(self) -> Path:
        return self.storage_dir / "shares"

    def _list_prefix(self, prefix: str) -> tuple[str, ...]:
        try:
            with os.scandir(self._shares_dir / prefix) as entries:
                names = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return ()
        except OSError as error:
            log.warn(
                "lease-checker: cannot list prefix {prefix}: {error}", prefix=prefix, error=error
            )
            return ()
        return tuple(sorted(names))

    def _next_prefix(self, state: CrawlerState) -> CrawlerState:
        index = PREFIXES.index(state.prefix) + 1
        if index < len(PREFIXES):
            return attrs.evolve(state, prefix=PREFIXES[index], last_bucket=None)
        return self._finish_cycle(state)

    def _finish_cycle(self, state: CrawlerState) -> CrawlerState:
        started = state.cycle_started if state.cycle_started is not None else self.clock()
        record = CycleRecord(state.cycle, started, self.clock(), state.counters)
        kept = tuple(old for old in self._history if old.cycle != record.cycle)
        self._history = (*kept, record)[-self.pacing.history_length :]
        write_json_atomically(self.history_path, history_to_json(self._history))
        log.info(
            "lease-checker: cycle {cycle} done: {counters}",
            cycle=record.cycle,
            counters=attrs.asdict(record.counters),
        )
        return CrawlerState(
            cycle=state.cycle + 1,
            cycle_started=None,
            not_before=started + self.pacing.minimum_cycle_seconds,
            prefix=PREFIXES[0],
            last_bucket=None,
            counters=CycleCounters(),
        )

    def _fresh_state(self) -> CrawlerState:
        cycle = self._history[-1].cycle + 1 if self._history else 0
        return CrawlerState(cycle, None, self.clock(), PREFIXES[0], None, CycleCounters())

    def _read_history(self) -> tuple[CycleRecord, ...]:
        try:
            return history_from_json(read_json(self.history_path))
        except FileNotFoundError:
            return ()
        except CrawlerStateError as error:
            log.warn("lease-checker: ignoring the history: {error}", error=error)
            return ()

    def _save(self, state: CrawlerState) -> None:
        self._state = state
        write_json_atomically(self.state_path, state_to_json(state))


def _read_state(path: Path) -> CrawlerState:
    state = state_from_json(read_json(path))
    if state.prefix not in PREFIXES:
        raise CrawlerStateError(f"unknown prefix {state.prefix!r}")
    return state


def lease_checking_crawler(
    storage_dir: Path,
    policy: ExpiryPolicy,
    clock: Callable[[], float],
    pacing: Pacing | None = None,
) -> ShareCrawler:
    """The crawler a storage server runs: expire leases under ``policy``."""
    return ShareCrawler(storage_dir, LeaseExpirer(policy), clock, pacing)
