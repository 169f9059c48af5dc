import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from introducer.reconnect import Reconnector
from tests.component.foolscap_fakes import FakeRemoteReference

FURL = "pb://introducer"


class Harness:
    """A Reconnector whose connect() attempts the test resolves one by one."""

    def __init__(self, **options: Any) -> None:
        """Build the reconnector with ``options``; nothing is started."""
        self.clock = Clock()
        self.attempts: list[Deferred[Any]] = []
        self.connected: list[Any] = []
        self.lost = 0
        self.reconnector = Reconnector(
            self._connect,
            self.clock,
            on_connected=self.connected.append,
            on_lost=self._lost,
            **options,
        )

    def _connect(self) -> "Deferred[Any]":
        attempt: Deferred[Any] = Deferred()
        self.attempts.append(attempt)
        return attempt

    def _lost(self) -> None:
        self.lost += 1

    def fail_latest(self) -> None:
        """Fail the newest attempt."""
        self.attempts[-1].errback(ConnectionRefusedError("refused"))

    def succeed_latest(self) -> FakeRemoteReference:
        """Connect the newest attempt to a new fake reference."""
        reference = FakeRemoteReference()
        self.attempts[-1].callback(reference)
        return reference

    def wait(self) -> float:
        """How long until the scheduled retry."""
        assert self.reconnector.next_attempt_at is not None
        return self.reconnector.next_attempt_at - self.clock.seconds()


def test_start_attempts_at_once() -> None:
    """start() makes one attempt immediately and is idempotent."""
    harness = Harness()
    harness.reconnector.start()
    harness.reconnector.start()
    assert len(harness.attempts) == 1
    assert harness.reconnector.state == "connecting"


def test_backoff_grows_and_caps() -> None:
    """Each failure doubles the wait, up to max_delay."""
    harness = Harness(initial_delay=1.0, max_delay=10.0, factor=2.0)
    harness.reconnector.start()
    waits = []
    for _ in range(6):
        harness.fail_latest()
        assert harness.reconnector.state == "waiting"
        waits.append(harness.wait())
        harness.clock.advance(harness.wait())
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert len(harness.attempts) == 7


@given(
    initial=st.floats(0.1, 10),
    factor=st.floats(1, 4),
    maximum=st.floats(0.1, 1000),
    failures=st.integers(1, 12),
)
def test_backoff_formula(initial: float, factor: float, maximum: float, failures: int) -> None:
    """The wait after the n-th consecutive failure is initial * factor**(n-1), capped."""
    harness = Harness(initial_delay=initial, max_delay=maximum, factor=factor)
    harness.reconnector.start()
    expected = initial
    for _ in range(failures):
        harness.fail_latest()
        assert harness.wait() == pytest.approx(expected)
        harness.clock.advance(harness.wait())
        expected = min(expected * factor, maximum)


def test_jitter_scales_the_wait() -> None:
    """The jitter callable multiplies each wait."""
    harness = Harness(initial_delay=2.0, jitter=lambda: 1.5)
    harness.reconnector.start()
    harness.fail_latest()
    assert harness.wait() == pytest.approx(3.0)


def test_success_hands_over_and_resets_the_delay() -> None:
    """A success calls on_connected, records the time, and resets the backoff."""
    harness = Harness(initial_delay=1.0, factor=2.0)
    harness.reconnector.start()
    for _ in range(3):
        harness.fail_latest()
        harness.clock.advance(harness.wait())
    reference = harness.succeed_latest()
    assert harness.connected == [reference]
    assert harness.reconnector.state == "connected"
    assert harness.reconnector.reference is reference
    assert harness.reconnector.connected_since == harness.clock.seconds()
    assert harness.reconnector.last_error is None
    reference.disconnect()
    assert harness.wait() == 1.0


def test_reconnects_after_loss() -> None:
    """A lost connection calls on_lost and reconnects after the initial delay."""
    harness = Harness(initial_delay=5.0)
    harness.reconnector.start()
    first = harness.succeed_latest()
    harness.clock.advance(100)
    first.disconnect()
    assert harness.lost == 1
    assert harness.reconnector.last_lost == 100
    assert harness.reconnector.reference is None
    assert harness.reconnector.state == "waiting"
    harness.clock.advance(5.0)
    assert len(harness.attempts) == 2
    second = harness.succeed_latest()
    assert harness.connected == [first, second]


def test_failures_after_a_loss_back_off_again() -> None:
    """After a loss, retries wait initial, then grow again."""
    harness = Harness(initial_delay=1.0, factor=3.0)
    harness.reconnector.start()
    harness.succeed_latest().disconnect()
    waits = [harness.wait()]
    for _ in range(2):
        harness.clock.advance(harness.wait())
        harness.fail_latest()
        waits.append(harness.wait())
    assert waits == [1.0, 3.0, 9.0]


def test_failure_is_recorded() -> None:
    """The last error and the next attempt time are visible while waiting."""
    harness = Harness(initial_delay=4.0)
    harness.clock.advance(10)
    harness.reconnector.start()
    harness.fail_latest()
    assert harness.reconnector.last_error is not None
    assert harness.reconnector.last_error.check(ConnectionRefusedError)
    assert harness.reconnector.next_attempt_at == 14.0


def test_stop_cancels_the_timer() -> None:
    """stop() while waiting leaves no delayed call and makes no more attempts."""
    harness = Harness()
    harness.reconnector.start()
    harness.fail_latest()
    harness.reconnector.stop()
    assert harness.clock.getDelayedCalls() == []
    assert harness.reconnector.state == "stopped"
    assert harness.reconnector.next_attempt_at is None
    harness.clock.advance(1000)
    assert len(harness.attempts) == 1


def test_stop_ignores_a_late_success() -> None:
    """A connection that completes after stop() is not handed over."""
    harness = Harness()
    harness.reconnector.start()
    harness.reconnector.stop()
    reference = harness.succeed_latest()
    assert harness.connected == []
    assert harness.reconnector.state == "stopped"
    assert reference.watchers == {}


def test_stop_ignores_a_late_failure() -> None:
    """A failure that arrives after stop() schedules nothing."""
    harness = Harness()
    harness.reconnector.start()
    harness.reconnector.stop()
    harness.fail_latest()
    assert harness.clock.getDelayedCalls() == []
    assert harness.reconnector.state == "stopped"


def test_stop_while_connected_stops_watching() -> None:
    """After stop(), losing the old connection calls nothing and reconnects nothing."""
    harness = Harness()
    harness.reconnector.start()
    reference = harness.succeed_latest()
    harness.reconnector.stop()
    assert reference.watchers == {}
    reference.disconnect()
    assert harness.lost == 0
    assert harness.clock.getDelayedCalls() == []
    assert harness.reconnector.reference is None


def test_restart_after_stop() -> None:
    """A stopped reconnector can start again, with a fresh delay."""
    harness = Harness(initial_delay=1.0)
    harness.reconnector.start()
    for _ in range(3):
        harness.fail_latest()
        harness.clock.advance(harness.wait())
    harness.reconnector.stop()
    harness.reconnector.start()
    harness.fail_latest()
    assert harness.wait() == 1.0


def test_retry_now_skips_the_wait() -> None:
    """retry_now() while waiting attempts at once and resets the delay."""
    harness = Harness(initial_delay=1.0)
    harness.reconnector.start()
    for _ in range(4):
        harness.fail_latest()
        harness.clock.advance(harness.wait())
    harness.fail_latest()
    harness.reconnector.retry_now()
    assert len(harness.attempts) == 6
    assert harness.clock.getDelayedCalls() == []
    harness.fail_latest()
    assert harness.wait() == 1.0


def test_retry_now_does_nothing_unless_waiting() -> None:
    """retry_now() while connecting, connected or stopped makes no attempt."""
    harness = Harness()
    harness.reconnector.retry_now()
    harness.reconnector.start()
    harness.reconnector.retry_now()
    harness.succeed_latest()
    harness.reconnector.retry_now()
    assert len(harness.attempts) == 1


def test_connect_raising_counts_as_a_failure() -> None:
    """A connect callable that raises is retried like a failed attempt."""
    clock = Clock()
    calls = []

    def connect() -> "Deferred[Any]":
        calls.append(1)
        raise ValueError("bad FURL")

    reconnector = Reconnector(connect, clock, on_connected=lambda _reference: None)
    reconnector.start()
    assert reconnector.state == "waiting"
    clock.advance(1.0)
    assert len(calls) == 2


def test_on_connected_error_is_logged_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    """An exception in on_connected is logged; the connection stays up, no retry."""
    clock = Clock()
    attempt: Deferred[Any] = Deferred()

    def broken(_reference: Any) -> None:
        raise RuntimeError("bug")

    reconnector = Reconnector(lambda: attempt, clock, on_connected=broken)
    reconnector.start()
    with caplog.at_level(logging.ERROR):
        attempt.callback(FakeRemoteReference())
    assert "reconnect.callback-failed" in caplog.text
    assert reconnector.state == "connected"
    assert clock.getDelayedCalls() == []
