import itertools
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.task import Clock

from grid.base32 import b2a
from grid.formats import immutable_container, mutable_container
from storage_server.crawler import (
    HISTORY_FILE,
    PREFIXES,
    STATE_FILE,
    Pacing,
    ShareCrawler,
    SliceBudget,
    lease_checking_crawler,
)
from storage_server.crawler_service import CrawlerService
from storage_server.crawler_state import (
    CrawlerState,
    CrawlerStateError,
    CycleCounters,
    CycleRecord,
    history_to_json,
    state_from_json,
    state_to_json,
)
from storage_server.expiry import ExpiryPolicy
from storage_server.lease_expirer import LeaseExpirer

NOW = 1_700_000_000.0
PAST = int(NOW) - 1000
FUTURE = int(NOW) + 1000
NODEID = bytes(range(20))
WRITE_ENABLER = b"w" * 32


class FakeClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: float = NOW) -> None:
        """Start at ``now``."""
        self.now = now

    def __call__(self) -> float:
        """The current fake time."""
        return self.now


def storage_index(first_byte: int, serial: int) -> bytes:
    """A 16-byte storage index whose base32 prefix is fixed by ``first_byte``."""
    return bytes([first_byte]) + serial.to_bytes(15, "big")


def bucket_dir(storage: Path, index: bytes) -> Path:
    """Where a storage index's shares live."""
    name = b2a(index)
    return storage / "shares" / name[:2] / name


def put_file(path: Path, data: bytes) -> Path:
    """Write ``data`` at ``path``, creating directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def put_immutable(
    storage: Path, index: bytes, shnum: int, expirations: Sequence[int], version: int = 2
) -> Path:
    """Place an immutable container with one lease per expiration time."""
    leases = [
        immutable_container.make_lease(
            version,
            owner_num=number,
            renew_secret=bytes([number]) * 32,
            cancel_secret=bytes([number + 1]) * 32,
            expiration_time=expiration,
        )
        for number, expiration in enumerate(expirations)
    ]
    data = immutable_container.build_container(version, b"share data " * 10, leases)
    return put_file(bucket_dir(storage, index) / str(shnum), data)


def put_mutable(
    storage: Path,
    index: bytes,
    shnum: int,
    expirations: Sequence[int | None],
    version: mutable_container.ContainerVersion = mutable_container.CONTAINER_V2,
) -> Path:
    """Place a mutable container; ``None`` is an empty lease slot, beyond 4 are extra leases."""
    slots = [
        None
        if expiration is None
        else mutable_container.make_lease(
            version,
            owner_num=number + 1,
            expiration_time=expiration,
            renew_secret=bytes([number]) * 32,
            cancel_secret=bytes([number + 1]) * 32,
            nodeid=NODEID,
        )
        for number, expiration in enumerate(expirations)
    ]
    slots += [None] * (mutable_container.NUM_LEASE_SLOTS - len(slots))
    data = b"mutable share " * 7
    header = mutable_container.MutableContainerHeader(
        version, NODEID, WRITE_ENABLER, len(data), mutable_container.DATA_OFFSET + len(data)
    )
    container = mutable_container.MutableContainer(header, data, tuple(slots))
    packed = mutable_container.pack_mutable_container(container)
    return put_file(bucket_dir(storage, index) / str(shnum), packed)


@attrs.frozen
class Tree:
    """A storage tree: which share files should go and which should stay."""

    expired: frozenset[Path]
    kept: frozenset[Path]
    emptied_buckets: frozenset[Path]


def build_tree(storage: Path) -> Tree:
    """Shares of every kind, some expired (leases in the past) and some not."""
    a, g = storage_index(0, 1), storage_index(0, 2)
    b, c, d = storage_index(8, 1), storage_index(200, 1), storage_index(255, 1)
    e, f = storage_index(100, 1), storage_index(100, 2)
    expired = {
        put_immutable(storage, a, 0, [PAST]),
        put_immutable(storage, a, 1, [PAST, PAST - 5]),
        put_immutable(storage, b, 0, [PAST], version=1),
        put_mutable(storage, c, 2, [PAST, None, PAST, PAST, PAST, PAST]),
        put_immutable(storage, e, 0, []),
        put_mutable(storage, f, 0, [None, None]),
    }
    kept = {
        put_immutable(storage, b, 3, [PAST, FUTURE], version=1),
        put_mutable(
            storage, d, 1, [PAST, PAST, None, PAST, PAST, FUTURE], mutable_container.CONTAINER_V1
        ),
        put_immutable(storage, g, 5, [FUTURE]),
    }
    emptied = {bucket_dir(storage, index) for index in (a, c, e, f)}
    return Tree(frozenset(expired), frozenset(kept), frozenset(emptied))


def run_cycle(
    crawler: ShareCrawler, clock: FakeClock, budget: SliceBudget | None = None
) -> CycleRecord:
    """Run slices, moving the clock by each wait, until the current cycle is in the history."""
    cycle = crawler.load().cycle
    for _ in range(100_000):
        clock.now += crawler.run_slice(budget)
        history = crawler.history()
        if history and history[-1].cycle == cycle:
            return history[-1]
    raise AssertionError("the cycle never finished")


def all_files(storage: Path) -> set[Path]:
    """Every file under the storage directory's shares/."""
    return {path for path in (storage / "shares").rglob("*") if path.is_file()}


def test_enabled_expiry_deletes_exactly_the_expired_shares(tmp_path: Path) -> None:
    """With expiry enabled a cycle deletes the expired shares, keeps the rest, and counts both."""
    tree = build_tree(tmp_path)
    clock = FakeClock()
    crawler = lease_checking_crawler(tmp_path, ExpiryPolicy(enabled=True), clock)
    record = run_cycle(crawler, clock)
    assert all_files(tmp_path) == tree.kept
    for bucket in tree.emptied_buckets:
        assert not bucket.exists()
        assert bucket.parent.is_dir()
    counters = record.counters
    assert counters.buckets_examined == 7
    assert counters.immutable_shares_examined == 6
    assert counters.mutable_shares_examined == 3
    assert counters.immutable_shares_deleted == counters.immutable_shares_expired == 4
    assert counters.mutable_shares_deleted == counters.mutable_shares_expired == 2
    deleted_bytes = counters.immutable_bytes_deleted + counters.mutable_bytes_deleted
    assert deleted_bytes > 0
    assert counters.corrupt_shares == 0


def test_disabled_expiry_counts_but_deletes_nothing(tmp_path: Path) -> None:
    """With expiry disabled every share stays, and the would-be deletions are counted."""
    tree = build_tree(tmp_path)
    sizes = {path: path.stat().st_size for path in tree.expired}
    clock = FakeClock()
    record = run_cycle(lease_checking_crawler(tmp_path, ExpiryPolicy(), clock), clock)
    assert all_files(tmp_path) == tree.expired | tree.kept
    counters = record.counters
    assert counters.immutable_shares_expired + counters.mutable_shares_expired == 6
    assert counters.immutable_bytes_expired + counters.mutable_bytes_expired == sum(sizes.values())
    assert counters.immutable_shares_deleted == counters.mutable_shares_deleted == 0


def test_type_switch_keeps_mutable_shares(tmp_path: Path) -> None:
    """expire.mutable = false keeps every mutable share, expired or not."""
    tree = build_tree(tmp_path)
    mutable = {path for path in tree.expired if path.read_bytes()[:5] == b"Tahoe"}
    clock = FakeClock()
    policy = ExpiryPolicy(enabled=True, expire_mutable=False)
    run_cycle(lease_checking_crawler(tmp_path, policy, clock), clock)
    assert len(mutable) == 2
    assert all_files(tmp_path) == tree.kept | mutable


def test_incoming_shares_are_never_examined(tmp_path: Path) -> None:
    """Shares under shares/incoming/ are neither counted nor deleted."""
    index = storage_index(0, 9)
    name = b2a(index)
    lease = immutable_container.make_lease(
        2, owner_num=0, renew_secret=bytes(32), cancel_secret=bytes(32), expiration_time=PAST
    )
    incoming = put_file(
        tmp_path / "shares" / "incoming" / name[:2] / name / "0",
        immutable_container.build_container(2, b"partial", [lease]),
    )
    clock = FakeClock()
    record = run_cycle(lease_checking_crawler(tmp_path, ExpiryPolicy(enabled=True), clock), clock)
    assert incoming.exists()
    assert record.counters == CycleCounters()


def test_corrupt_shares_are_counted_and_kept(tmp_path: Path) -> None:
    """Unparseable containers are counted as corrupt, never deleted, and the crawl goes on."""
    index = storage_index(40, 1)
    bucket = bucket_dir(tmp_path, index)
    good = put_immutable(tmp_path, index, 0, [PAST])
    full_mutable = put_mutable(tmp_path, index, 9, [PAST]).read_bytes()
    corrupt = {
        put_file(bucket / "1", b""),
        put_file(bucket / "2", b"\x00\x00\x00\x07" + bytes(40)),
        put_file(bucket / "3", immutable_container.pack_container_header(2, 0, 5)),
        put_file(bucket / "4", full_mutable[:-3]),
        put_file(bucket / "5", full_mutable + bytes(92)),
    }
    (bucket / "9").unlink()
    other = put_immutable(tmp_path, storage_index(41, 1), 0, [PAST])
    stray = put_file(bucket / "README", b"not a share")
    clock = FakeClock()
    record = run_cycle(lease_checking_crawler(tmp_path, ExpiryPolicy(enabled=True), clock), clock)
    assert record.counters.corrupt_shares == len(corrupt)
    assert all_files(tmp_path) == corrupt | {stray}
    assert not good.exists()
    assert not other.exists()


@attrs.define
class RecordingExaminer:
    """Wraps an examiner, recording each bucket and moving the clock per bucket."""

    inner: LeaseExpirer
    clock: FakeClock
    seconds_per_bucket: float = 0.0
    seen: list[Path] = attrs.Factory(list)

    def __call__(self, bucket_dir: Path, now: float) -> CycleCounters:
        """Record the bucket, spend fake time, examine it."""
        self.seen.append(bucket_dir)
        self.clock.now += self.seconds_per_bucket
        return self.inner(bucket_dir, now)


def many_buckets(storage: Path, first_bytes: Sequence[int], per_prefix: int) -> set[Path]:
    """Live immutable shares in ``per_prefix`` buckets under each prefix."""
    buckets = set()
    for first in first_bytes:
        for serial in range(per_prefix):
            index = storage_index(first, serial)
            put_immutable(storage, index, 0, [FUTURE])
            buckets.add(bucket_dir(storage, index))
    return buckets


def test_resume_after_restart_examines_no_bucket_twice(tmp_path: Path) -> None:
    """A crawler restarted mid-prefix resumes after its last bucket: each bucket once a cycle."""
    buckets = many_buckets(tmp_path, [0, 1, 77, 200], per_prefix=9)
    clock = FakeClock()
    budget = SliceBudget(max_steps=4)
    examiner = RecordingExaminer(LeaseExpirer(ExpiryPolicy(enabled=True)), clock)
    first = ShareCrawler(tmp_path, examiner, clock)
    while first.load().last_bucket is None or len(examiner.seen) < 11:
        clock.now += first.run_slice(budget)
    saved = first.load()
    assert saved.last_bucket is not None
    prefix_buckets = {path.name for path in buckets if path.parent.name == saved.prefix}
    assert min(prefix_buckets) <= saved.last_bucket < max(prefix_buckets)
    assert state_from_json(json.loads((tmp_path / STATE_FILE).read_text())) == saved
    second = ShareCrawler(tmp_path, examiner, clock)
    assert second.load() == saved
    record = run_cycle(second, clock, budget)
    assert len(examiner.seen) == len(set(examiner.seen)) == len(buckets)
    assert set(examiner.seen) == buckets
    assert record.counters.buckets_examined == len(buckets)
    assert record.counters.immutable_shares_examined == len(buckets)


def test_slices_are_bounded_in_steps_and_time(tmp_path: Path) -> None:
    """No slice examines more buckets than its step budget or works past its time budget."""
    many_buckets(tmp_path, [0, 9], per_prefix=12)
    clock = FakeClock()
    examiner = RecordingExaminer(LeaseExpirer(ExpiryPolicy()), clock, seconds_per_bucket=0.4)
    crawler = ShareCrawler(tmp_path, examiner, clock)
    per_slice = []
    while not crawler.history():
        before = len(examiner.seen)
        clock.now += crawler.run_slice(SliceBudget(max_seconds=1.0, max_steps=1000))
        per_slice.append(len(examiner.seen) - before)
    assert max(per_slice) == 3
    assert sum(per_slice) == 24
    examiner.seen.clear()
    clock.now += 10 * 24 * 3600
    for _ in range(50):
        before = len(examiner.seen)
        clock.now += crawler.run_slice(SliceBudget(max_seconds=100.0, max_steps=5))
        assert len(examiner.seen) - before <= 5


def test_work_stays_a_small_fraction_of_the_time(tmp_path: Path) -> None:
    """Measured by the fake clock, work is at most cpu_fraction of work plus sleep."""
    many_buckets(tmp_path, [0, 50, 100, 150], per_prefix=25)
    clock = FakeClock()
    examiner = RecordingExaminer(LeaseExpirer(ExpiryPolicy()), clock, seconds_per_bucket=0.07)
    crawler = ShareCrawler(tmp_path, examiner, clock, Pacing(cpu_fraction=0.1))
    work = sleep = 0.0
    while not crawler.history():
        started = clock.now
        wait = crawler.run_slice(SliceBudget(max_seconds=1.0))
        work += clock.now - started
        sleep += wait
        clock.now += wait
    assert work > 0
    assert work / (work + sleep) <= 0.1 + 1e-9


def test_only_one_prefix_directory_is_listed_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crawler lists prefix directories one by one, never shares/ itself."""
    many_buckets(tmp_path, [0, 1], per_prefix=3)
    listed: list[Path] = []
    real_scandir = os.scandir

    def recording_scandir(path: Path) -> Iterator[os.DirEntry[str]]:
        listed.append(Path(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", recording_scandir)
    clock = FakeClock()
    crawler = lease_checking_crawler(tmp_path, ExpiryPolicy(), clock)
    crawler.run_slice(SliceBudget(max_steps=1))
    shares = tmp_path / "shares"
    assert listed == [shares / PREFIXES[0]]
    run_cycle(crawler, clock)
    prefix_listings = [path for path in listed if path.parent == shares]
    assert len(prefix_listings) == len(set(prefix_listings)) == len(PREFIXES)
    assert all(path.parent.parent == shares for path in listed if path not in prefix_listings)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x80\x04\x95 pickled",
        b"[]",
        b'{"version": 1}',
        b"{" * 100_000,
        json.dumps(
            {
                **state_to_json(CrawlerState(0, None, 0.0, "22", None, CycleCounters())),
                "prefix": "!!",
            }
        ).encode(),
        json.dumps(
            {**state_to_json(CrawlerState(0, None, 0.0, "22", None, CycleCounters())), "cycle": -1}
        ).encode(),
    ],
)
def test_corrupt_state_starts_a_fresh_cycle(tmp_path: Path, garbage: bytes) -> None:
    """An unreadable state file is replaced by a fresh cycle, which then completes."""
    put_immutable(tmp_path, storage_index(3, 3), 0, [PAST])
    (tmp_path / STATE_FILE).write_bytes(garbage)
    clock = FakeClock()
    crawler = lease_checking_crawler(tmp_path, ExpiryPolicy(enabled=True), clock)
    assert crawler.load() == CrawlerState(0, None, NOW, PREFIXES[0], None, CycleCounters())
    record = run_cycle(crawler, clock)
    assert record.counters.immutable_shares_deleted == 1
    state_from_json(json.loads((tmp_path / STATE_FILE).read_text()))


def test_fresh_cycle_numbers_follow_the_history(tmp_path: Path) -> None:
    """With a corrupt state but a good history, the fresh cycle is numbered after the last one."""
    record = CycleRecord(7, 10.0, 20.0, CycleCounters(buckets_examined=3))
    (tmp_path / HISTORY_FILE).write_text(json.dumps(history_to_json((record,))))
    (tmp_path / STATE_FILE).write_text("not json")
    crawler = ShareCrawler(tmp_path, LeaseExpirer(ExpiryPolicy()), FakeClock())
    assert crawler.load().cycle == 8
    assert crawler.history() == (record,)


def test_cycles_are_spaced_and_the_history_is_bounded(tmp_path: Path) -> None:
    """A new cycle waits out the minimum cycle time; the history keeps the last few cycles."""
    clock = FakeClock()
    pacing = Pacing(minimum_cycle_seconds=5000.0, history_length=3)
    crawler = ShareCrawler(tmp_path, LeaseExpirer(ExpiryPolicy()), clock, pacing)
    starts = []
    for _ in range(5):
        record = run_cycle(crawler, clock)
        starts.append(record.started)
    assert [record.cycle for record in crawler.history()] == [2, 3, 4]
    assert all(later - earlier >= 5000.0 for earlier, later in itertools.pairwise(starts))
    state = crawler.load()
    assert state.cycle == 5
    assert state.cycle_started is None
    clock.now = state.not_before - 100.0
    assert crawler.run_slice() == 100.0
    assert crawler.load() == state
    stored = json.loads((tmp_path / HISTORY_FILE).read_text())
    assert [entry["cycle"] for entry in stored["cycles"]] == [2, 3, 4]
    assert not list(tmp_path.glob("*.tmp"))


def test_state_file_holds_the_position_and_counters(tmp_path: Path) -> None:
    """After a slice the state file names the cycle, prefix, last bucket and counters."""
    buckets = many_buckets(tmp_path, [0], per_prefix=2)
    first_bucket = min(buckets, key=lambda path: path.name)
    clock = FakeClock()
    crawler = lease_checking_crawler(tmp_path, ExpiryPolicy(), clock)
    while crawler.load().last_bucket is None:
        clock.now += crawler.run_slice(SliceBudget(max_steps=1))
    stored = json.loads((tmp_path / STATE_FILE).read_text())
    assert stored["cycle"] == 0
    assert stored["cycle_started"] == NOW
    assert stored["prefix"] == first_bucket.parent.name
    assert stored["last_bucket"] == first_bucket.name
    assert stored["counters"]["buckets_examined"] == 1
    assert stored["counters"]["immutable_shares_examined"] == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=8)
    ),
    max_leaves=20,
)


@given(json_values)
def test_arbitrary_json_is_refused_only_with_crawler_state_error(value: object) -> None:
    """Any JSON value parses as a state or raises CrawlerStateError, nothing else."""
    try:
        state_from_json(value)
    except CrawlerStateError:
        return


@given(
    st.sampled_from(sorted(state_to_json(CrawlerState(0, None, 0.0, "22", None, CycleCounters())))),
    json_values,
)
def test_one_bad_field_is_refused_with_crawler_state_error(key: str, value: object) -> None:
    """A valid state with one field replaced parses or raises CrawlerStateError only."""
    stored = state_to_json(CrawlerState(3, 5.0, 1.0, "ab", "abc", CycleCounters(corrupt_shares=2)))
    try:
        state_from_json({**stored, key: value})
    except CrawlerStateError:
        return


def test_service_runs_slices_on_the_reactor(tmp_path: Path) -> None:
    """The Twisted driver waits the initial delay, runs slices as spaced, and stops cleanly."""
    put_immutable(tmp_path, storage_index(5, 5), 0, [PAST])
    reactor = Clock()
    reactor.advance(NOW)
    crawler = lease_checking_crawler(tmp_path, ExpiryPolicy(enabled=True), reactor.seconds)
    service = CrawlerService(crawler, reactor, SliceBudget(max_steps=50), initial_delay=300.0)
    service.startService()
    reactor.advance(299.0)
    assert not (tmp_path / STATE_FILE).exists()
    reactor.advance(1.0)
    assert (tmp_path / STATE_FILE).exists()
    for _ in range(100):
        if crawler.history():
            break
        reactor.advance(reactor.getDelayedCalls()[0].getTime() - reactor.seconds())
    assert crawler.history()[0].counters.immutable_shares_deleted == 1
    service.stopService()
    assert reactor.getDelayedCalls() == []


@attrs.define
class FailingCrawler:
    """A slice runner that always fails."""

    calls: int = 0

    def run_slice(self, budget: SliceBudget | None = None) -> float:
        """Fail."""
        self.calls += 1
        raise RuntimeError("crawler bug")


def test_service_retries_after_a_failing_slice() -> None:
    """A slice that raises is logged and retried after the retry delay; the service survives."""
    reactor = Clock()
    crawler = FailingCrawler()
    service = CrawlerService(crawler, reactor, initial_delay=1.0, retry_delay=60.0)
    service.startService()
    reactor.advance(1.0)
    assert crawler.calls == 1
    assert [call.getTime() for call in reactor.getDelayedCalls()] == [61.0]
    reactor.advance(60.0)
    assert crawler.calls == 2
    service.stopService()
    assert reactor.getDelayedCalls() == []


def test_vanished_buckets_are_not_counted(tmp_path: Path) -> None:
    """A bucket removed after its prefix was listed counts nothing, not even as corrupt."""
    assert LeaseExpirer(ExpiryPolicy(enabled=True))(tmp_path / "gone", NOW) == CycleCounters()
