"""The scheduler and repair policy over a fake clock and a fake checker."""

from collections.abc import Mapping
from pathlib import Path

import attrs
import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from client.repair_agent.caps import VerifyCap
from client.repair_agent.outcomes import CheckOutcome, RepairOutcome
from client.repair_agent.policy import needs_repair
from client.repair_agent.scheduler import IDLE_POLL, Schedule, Scheduler
from client.repair_agent.state import AgentState
from client.repair_agent.store import StateStore
from grid.caps import CHKVerifyCap, MutableFormat, MutableVerifyCap

TOTAL = 10


def chk(number: int) -> str:
    """The verify cap text of CHK file ``number``."""
    return CHKVerifyCap(bytes([number]) * 16, b"h" * 32, 3, TOTAL, 1000).to_string()


def mutable(number: int) -> str:
    """The verify cap text of SDMF file ``number``."""
    return MutableVerifyCap(MutableFormat.SDMF, bytes([number]) * 16, b"f" * 32).to_string()


def outcome(good: int) -> CheckOutcome:
    """What a check of a 3-of-10 file with ``good`` shares reports."""
    return CheckOutcome(good, 3, TOTAL, good, good == TOTAL, good >= 3, f"{good} shares")


@attrs.define
class FakeChecker:
    """Files' good-share counts; a repair restores all ten (or fails, if told to)."""

    good: dict[str, int]
    failing_repairs: set[str] = attrs.field(factory=set)
    broken: set[str] = attrs.field(factory=set)
    checks: list[str] = attrs.field(factory=list)
    repairs: list[str] = attrs.field(factory=list)
    hold: Deferred[None] | None = None

    async def check(self, cap: VerifyCap) -> CheckOutcome:
        """Count the check; raise for broken files; wait on ``hold`` if set."""
        text = cap.to_string()
        self.checks.append(text)
        if self.hold is not None:
            await self.hold
        if text in self.broken:
            raise ConnectionError("the servers went away")
        return outcome(self.good[text])

    async def repair(self, cap: VerifyCap) -> RepairOutcome:
        """Restore all shares, unless the file is in ``failing_repairs``."""
        text = cap.to_string()
        self.repairs.append(text)
        if text in self.failing_repairs:
            return RepairOutcome(True, False, outcome(self.good[text]), "no servers took shares")
        self.good[text] = TOTAL
        return RepairOutcome(True, True, outcome(TOTAL))


def make_store(tmp_path: Path, caps: list[str], now: float = 0.0) -> StateStore:
    """A state file holding ``caps``, added at ``now``."""
    store = StateStore(tmp_path / "state.json")
    store.update(lambda state: state.added(caps, now))
    return store


def run_scheduler(
    clock: Clock,
    store: StateStore,
    checker: FakeChecker,
    *,
    threshold: int | None = 7,
    rate: float = 2.0,
    interval: float = 3600.0,
) -> Scheduler:
    """A started scheduler."""
    scheduler = Scheduler(clock, store, checker, Schedule(interval, rate, threshold))
    scheduler.start()
    return scheduler


def records(store: StateStore) -> Mapping[str, object]:
    """The records on disk, by verify cap."""
    return store.load().files


def test_policy_repairs_below_the_threshold_capped_at_n() -> None:
    """Below the threshold means repair; the threshold is capped at N; no threshold means N."""
    assert needs_repair(outcome(6), 7)
    assert not needs_repair(outcome(7), 7)
    assert not needs_repair(outcome(10), 12)
    assert needs_repair(outcome(9), 12)
    assert needs_repair(outcome(9), None)
    assert not needs_repair(outcome(10), None)


def test_repairs_what_is_below_threshold_and_nothing_else(tmp_path: Path) -> None:
    """Files at 10, 7 and 6 good shares with threshold 7: only the one at 6 is repaired."""
    caps = [chk(1), chk(2), chk(3)]
    checker = FakeChecker({caps[0]: 10, caps[1]: 7, caps[2]: 6})
    store = make_store(tmp_path, caps)
    clock = Clock()
    scheduler = run_scheduler(clock, store, checker)
    clock.pump([0, 0.5, 0.5])
    assert checker.checks == caps
    assert checker.repairs == [caps[2]]
    state = store.load()
    assert state.files[caps[2]].good_shares == TOTAL
    assert state.files[caps[2]].last_repair == pytest.approx(1.0)
    assert state.files[caps[1]].good_shares == 7
    assert state.files[caps[1]].last_repair is None
    assert state.files[caps[0]].healthy is True
    assert scheduler.metrics.repairs.value == 1
    assert scheduler.metrics.checks.value == 3


def test_at_most_rate_checks_a_second(tmp_path: Path) -> None:
    """Rate 2: five due files are checked one per half second, never faster."""
    caps = [chk(number) for number in range(5)]
    checker = FakeChecker(dict.fromkeys(caps, 10))
    clock = Clock()
    run_scheduler(clock, make_store(tmp_path, caps), checker, rate=2.0)
    clock.advance(0)
    assert len(checker.checks) == 1
    clock.advance(0.49)
    assert len(checker.checks) == 1
    clock.advance(0.01)
    assert len(checker.checks) == 2
    for expected in (3, 4, 5):
        clock.advance(0.5)
        assert len(checker.checks) == expected
    clock.advance(10.0)
    assert checker.checks == caps


def test_one_check_at_a_time(tmp_path: Path) -> None:
    """While a check is unanswered, no other starts, however much time passes."""
    caps = [chk(1), chk(2)]
    hold: Deferred[None] = Deferred()
    checker = FakeChecker(dict.fromkeys(caps, 10), hold=hold)
    clock = Clock()
    run_scheduler(clock, make_store(tmp_path, caps), checker)
    clock.advance(0)
    clock.advance(60.0)
    assert checker.checks == [caps[0]]
    checker.hold = None
    hold.callback(None)
    clock.advance(0)
    assert checker.checks == caps


def test_each_file_is_checked_again_after_the_interval(tmp_path: Path) -> None:
    """A checked file waits ``interval`` seconds before its next check."""
    cap = chk(1)
    checker = FakeChecker({cap: 10})
    clock = Clock()
    run_scheduler(clock, make_store(tmp_path, [cap]), checker, interval=100.0)
    clock.advance(0)
    clock.pump([IDLE_POLL] * 19)
    assert checker.checks == [cap]
    clock.pump([IDLE_POLL] * 2)
    assert checker.checks == [cap, cap]


def test_resumes_from_saved_state_after_restart(tmp_path: Path) -> None:
    """A new scheduler over the same state file checks only what is due, unchecked first."""
    caps = [chk(1), chk(2), chk(3)]
    checker = FakeChecker(dict.fromkeys(caps, 10))
    clock = Clock()
    store = make_store(tmp_path, caps)
    first = run_scheduler(clock, store, checker, rate=1.0, interval=100.0)
    clock.advance(0)
    clock.advance(1.0)
    assert checker.checks == caps[:2]
    assert first.stop().called
    clock.advance(50.0)
    assert checker.checks == caps[:2]

    restarted = FakeChecker(dict.fromkeys(caps, 10))
    reopened = StateStore(tmp_path / "state.json")
    run_scheduler(clock, reopened, restarted, rate=1.0, interval=100.0)
    clock.advance(0)
    assert restarted.checks == [caps[2]]
    clock.advance(IDLE_POLL)
    assert restarted.checks == [caps[2]]
    clock.pump([IDLE_POLL] * 10)
    assert restarted.checks == [caps[2], caps[0], caps[1]]
    assert reopened.load().files[caps[0]].last_check == pytest.approx(101.0)


def test_a_mutable_file_below_threshold_is_reported_not_repaired(tmp_path: Path) -> None:
    """An SDMF verify cap at 5 shares: no repair attempt; a failure names the write cap."""
    cap = mutable(1)
    checker = FakeChecker({cap: 5})
    clock = Clock()
    store = make_store(tmp_path, [cap])
    scheduler = run_scheduler(clock, store, checker)
    clock.advance(0)
    assert checker.repairs == []
    record = store.load().files[cap]
    assert record.good_shares == 5
    assert "write cap" in record.failures[-1].what
    assert scheduler.metrics.unrepairable.value == 1


def test_failures_are_kept_in_the_history_and_the_agent_goes_on(tmp_path: Path) -> None:
    """A check that raises and a repair that fails are recorded; other files are still checked."""
    caps = [chk(1), chk(2), chk(3)]
    checker = FakeChecker(
        {caps[0]: 10, caps[1]: 2, caps[2]: 10}, failing_repairs={caps[1]}, broken={caps[0]}
    )
    clock = Clock()
    store = make_store(tmp_path, caps)
    run_scheduler(clock, store, checker)
    clock.pump([0, 0.5, 0.5])
    files = store.load().files
    assert checker.checks == caps
    assert files[caps[0]].failures[-1].what == "check failed: the servers went away"
    assert files[caps[1]].failures[-1].what == "repair failed: no servers took shares"
    assert files[caps[1]].last_repair is None
    assert files[caps[2]].failures == ()


def test_nothing_is_checked_until_ready(tmp_path: Path) -> None:
    """While too few servers are connected, no check runs; once ready, checks start."""
    cap = chk(1)
    checker = FakeChecker({cap: 10})
    clock = Clock()
    ready = [False]
    scheduler = Scheduler(
        clock, make_store(tmp_path, [cap]), checker, Schedule(100.0, 1.0, 7), ready=lambda: ready[0]
    )
    scheduler.start()
    clock.pump([IDLE_POLL] * 3)
    assert checker.checks == []
    ready[0] = True
    clock.advance(IDLE_POLL)
    assert checker.checks == [cap]


def test_caps_added_while_running_are_picked_up(tmp_path: Path) -> None:
    """A cap added to the state file by another process is checked at the next look."""
    checker = FakeChecker({chk(1): 10, chk(2): 4})
    clock = Clock()
    store = make_store(tmp_path, [chk(1)])
    run_scheduler(clock, store, checker)
    clock.advance(0)
    StateStore(tmp_path / "state.json").update(lambda state: state.added([chk(2)], 0.0))
    clock.advance(IDLE_POLL)
    assert checker.checks == [chk(1), chk(2)]
    assert checker.repairs == [chk(2)]


def test_stop_waits_for_the_check_in_progress(tmp_path: Path) -> None:
    """stop() fires only after the running check's outcome is stored."""
    cap = chk(1)
    hold: Deferred[None] = Deferred()
    checker = FakeChecker({cap: 10}, hold=hold)
    clock = Clock()
    store = make_store(tmp_path, [cap])
    scheduler = run_scheduler(clock, store, checker)
    clock.advance(0)
    stopped: list[None] = []
    scheduler.stop().addCallback(stopped.append)
    assert stopped == []
    hold.callback(None)
    assert stopped == [None]
    assert store.load().files[cap].last_check == 0.0
    assert clock.getDelayedCalls() == []


def test_the_empty_state_is_harmless(tmp_path: Path) -> None:
    """No files: the scheduler only looks again later."""
    checker = FakeChecker({})
    clock = Clock()
    store = StateStore(tmp_path / "state.json")
    run_scheduler(clock, store, checker)
    clock.pump([IDLE_POLL] * 3)
    assert checker.checks == []
    assert store.load() == AgentState()
