"""The scheduler: one check at a time, at most ``rate`` a second, each file every ``interval``.

Rules:

- The next file is chosen by :func:`~client.repair_agent.policy.next_due`
  from the state on disk, so caps added by ``grid repair-agent add`` while
  the agent runs are picked up at its next look (within
  :data:`IDLE_POLL` seconds when it is idle).
- Checks never overlap, and one starts at least ``1 / rate`` seconds after
  the previous one started.
- While ``ready()`` is false (the agent sees too few servers), nothing is
  checked: a check then would count shares as missing that are not.
- Each check renews leases; a file below the threshold is repaired if it is
  immutable and reported if it is mutable (see :mod:`client.repair_agent.policy`).
  Every outcome, errors included, is written to the state file at once, so
  a restarted agent resumes where this one stopped.
- Time comes from the clock passed in; nothing here reads the system clock.
"""

from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from client.repair_agent.caps import parse_verify_cap, repairable_from_verify_cap
from client.repair_agent.checker import FileChecker
from client.repair_agent.errors import StateFileError
from client.repair_agent.metrics import AgentMetrics
from client.repair_agent.policy import (
    needs_repair,
    next_due,
    record_check,
    record_error,
    record_repair,
    record_unrepairable,
)
from client.repair_agent.state import AgentState, FileRecord
from client.repair_agent.store import StateStore

IDLE_POLL = 5.0

log = Logger()


@attrs.frozen
class Schedule:
    """How often each file is checked, how fast checks may run, and the repair threshold."""

    interval: float
    rate: float
    threshold: int | None = None

    @property
    def spacing(self) -> float:
        """The least time between the starts of two checks."""
        return 1.0 / self.rate


class Scheduler:
    """Checks the files in a state store one at a time, on a schedule."""

    def __init__(
        self,
        clock: IReactorTime,
        store: StateStore,
        checker: FileChecker,
        schedule: Schedule,
        *,
        ready: Callable[[], bool] = lambda: True,
        metrics: AgentMetrics | None = None,
    ) -> None:
        """Check through ``checker``, timed by ``clock``; nothing starts until :meth:`start`."""
        self._clock = clock
        self._store = store
        self._checker = checker
        self._schedule = schedule
        self._ready = ready
        self.metrics = AgentMetrics.register() if metrics is None else metrics
        self._pending: IDelayedCall | None = None
        self._running: Deferred[None] | None = None
        self._stop_waiters: list[Deferred[None]] = []
        self._stopped = True
        self._last_start: float | None = None

    def start(self) -> None:
        """Begin checking (the first look is at once)."""
        self._stopped = False
        self._wake_in(0.0)

    def stop(self) -> "Deferred[None]":
        """Stop scheduling; the Deferred fires when a check in progress has finished."""
        self._stopped = True
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        self._pending = None
        if self._running is None:
            return succeed(None)
        finished: Deferred[None] = Deferred()
        self._stop_waiters.append(finished)
        return finished

    def _wake_in(self, delay: float) -> None:
        if not self._stopped:
            self._pending = self._clock.callLater(max(0.0, delay), self._look)

    def _look(self) -> None:
        self._pending = None
        now = self._clock.seconds()
        if self._last_start is not None and now < self._last_start + self._schedule.spacing:
            self._wake_in(self._last_start + self._schedule.spacing - now)
            return
        if not self._ready():
            self._wake_in(IDLE_POLL)
            return
        try:
            state = self._store.load()
        except StateFileError as error:
            log.warn("repair-agent.state.unreadable error={error}", error=str(error))
            self._wake_in(IDLE_POLL)
            return
        chosen = next_due(state, self._schedule.interval)
        if chosen is None or chosen[1] > now:
            self._wake_in(IDLE_POLL if chosen is None else min(chosen[1] - now, IDLE_POLL))
            return
        self._last_start = now
        running = Deferred.fromCoroutine(self.check_file(chosen[0]))
        self._running = running
        running.addErrback(lambda failure: log.failure("repair-agent.check.crashed", failure))
        running.addBoth(self._finished)

    def _finished(self, _result: Any) -> None:
        self._running = None
        waiters, self._stop_waiters = self._stop_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        self._wake_in(0.0)

    async def check_file(self, record: FileRecord) -> None:
        """Check one file, repair it if the policy says so, and store what happened."""
        cap = parse_verify_cap(record.verify_cap)
        self.metrics.checks.inc()
        try:
            outcome = await self._checker.check(cap)
            if not needs_repair(outcome, self._schedule.threshold):
                self._save(
                    record.verify_cap, lambda current: record_check(current, outcome, self._now())
                )
                return
            if not repairable_from_verify_cap(cap):
                self.metrics.unrepairable.inc()
                self._save(
                    record.verify_cap,
                    lambda current: record_unrepairable(
                        record_check(current, outcome, self._now()), self._now()
                    ),
                )
                return
            repair = await self._checker.repair(cap)
        except Exception as error:  # noqa: BLE001  any failure is recorded and the agent goes on
            self.metrics.check_failures.inc()
            what = str(error) or type(error).__name__
            log.warn(
                "repair-agent.check.failed storage_index={si} error={error}",
                si=record.storage_index_b32,
                error=what,
            )
            self._save(record.verify_cap, lambda current: record_error(current, what, self._now()))
            return
        if repair.attempted and repair.successful:
            self.metrics.repairs.inc()
            log.info("repair-agent.repaired storage_index={si}", si=record.storage_index_b32)
        else:
            self.metrics.repair_failures.inc()
        self._save(record.verify_cap, lambda current: record_repair(current, repair, self._now()))

    def _now(self) -> float:
        return self._clock.seconds()

    def _save(self, verify_cap: str, change: Callable[[FileRecord], FileRecord]) -> None:
        def apply(state: AgentState) -> AgentState:
            current = state.files.get(verify_cap)
            return state if current is None else state.with_record(change(current))

        self._store.update(apply)
