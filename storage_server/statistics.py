"""A storage server's statistics: space, shares held, remote calls and their latency.

Rules:

- Space gauges read the disk when rendered: ``disk_total``, ``disk_used``
  and ``disk_free_for_nonroot`` come from the file system holding the
  storage directory, ``disk_avail`` is what the server would accept
  (free space less the reserve, 0 when read-only), ``reserved_space`` is the
  configured reserve. Unknown values are ``None``.
- Shares held (immutable and mutable, count and bytes) come from a scan of
  ``shares/`` that stops after ``max_shares`` share files, so a scrape
  never stalls the reactor on a large store. The scan's answer is kept
  until a remote call may have changed the shares (a close, a mutable write)
  or ``max_age`` seconds pass. A store larger than the bound is described by
  the lease crawler's last completed cycle instead, and by nothing (``None``)
  until one has completed.
- Remote calls are counted (``storage_server.<op>``), timed
  (``storage_server.latencies.<op>`` in seconds) and, when they raise,
  counted in ``storage_server.failed_calls``, by
  :class:`MeteredStorageServer`, which wraps the bucket references it hands
  out in the same way. The metering only reads a clock and adds to numbers:
  it never changes a call's arguments, result or error.
"""

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
from foolscap.api import Referenceable
from zope.interface import implementer

from grid.metrics import (
    Counter,
    Histogram,
    MetricsRegistry,
)
from storage_server.crawler_state import CycleRecord
from storage_server.foolscap_adapter import FoolscapStorageServer
from storage_server.layout import parse_share_number
from storage_server.server import StorageServer
from storage_server.share_files import ShareKind, read_share_kind
from storage_server.wire import RIBucketReader, RIBucketWriter

SERVER_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    10.0,
)
DEFAULT_MAX_SHARES = 5000
DEFAULT_MAX_AGE = 600.0
_OPERATIONS = {
    "get_version": "get_version",
    "allocate_buckets": "allocate",
    "add_lease": "add-lease",
    "get_buckets": "get",
    "slot_readv": "readv",
    "slot_testv_and_readv_and_writev": "writev",
    "advise_corrupt_share": "advise_corrupt_share",
    "write": "write",
    "close": "close",
    "abort": "abort",
    "read": "read",
}
_CHANGES_SHARES = frozenset({"close", "slot_testv_and_readv_and_writev"})


@attrs.frozen
class ShareCount:
    """How many shares of each kind a store holds, and their file sizes in bytes."""

    immutable_shares: int = 0
    immutable_bytes: int = 0
    mutable_shares: int = 0
    mutable_bytes: int = 0


def _share_files(shares_dir: Path) -> Iterator[Path]:
    for prefix in sorted(shares_dir.glob("??")):
        for bucket in sorted(prefix.iterdir()):
            for entry in sorted(bucket.iterdir()):
                if parse_share_number(entry.name) is not None:
                    yield entry


def count_shares(storage_dir: Path, max_shares: int) -> ShareCount | None:
    """Count the shares under ``storage_dir/shares``; None if there are more than ``max_shares``."""
    counts = {ShareKind.IMMUTABLE: [0, 0], ShareKind.MUTABLE: [0, 0]}
    seen = 0
    try:
        for path in _share_files(storage_dir / "shares"):
            seen += 1
            if seen > max_shares:
                return None
            kind = read_share_kind(path)
            if kind is not None:
                counts[kind][0] += 1
                counts[kind][1] += path.stat().st_size
    except OSError:
        return None
    return ShareCount(
        immutable_shares=counts[ShareKind.IMMUTABLE][0],
        immutable_bytes=counts[ShareKind.IMMUTABLE][1],
        mutable_shares=counts[ShareKind.MUTABLE][0],
        mutable_bytes=counts[ShareKind.MUTABLE][1],
    )


class ShareCensus:
    """The shares a store holds, counted by a bounded scan or the crawler; see the module rules."""

    def __init__(
        self,
        storage_dir: Path,
        crawler_history: Callable[[], tuple[CycleRecord, ...]],
        clock: Callable[[], float],
        *,
        max_shares: int = DEFAULT_MAX_SHARES,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        """Count shares under ``storage_dir``; nothing is read until asked."""
        self._storage_dir = storage_dir
        self._crawler_history = crawler_history
        self._clock = clock
        self._max_shares = max_shares
        self._max_age = max_age
        self._counted: ShareCount | None = None
        self._counted_at: float | None = None

    def shares_changed(self) -> None:
        """Forget the last count: the shares may have changed."""
        self._counted_at = None

    def current(self) -> ShareCount | None:
        """The share count, rescanned if stale; None while unknown."""
        now = self._clock()
        if self._counted_at is None or now - self._counted_at >= self._max_age:
            self._counted = count_shares(self._storage_dir, self._max_shares)
            self._counted_at = now
        if self._counted is not None:
            return self._counted
        history = self._crawler_history()
        if not history:
            return None
        last = history[-1].counters
        return ShareCount(
            immutable_shares=last.immutable_shares_examined - last.immutable_shares_deleted,
            immutable_bytes=last.immutable_bytes_examined - last.immutable_bytes_deleted,
            mutable_shares=last.mutable_shares_examined - last.mutable_shares_deleted,
            mutable_bytes=last.mutable_bytes_examined - last.mutable_bytes_deleted,
        )


@attrs.frozen
class DiskUsage:
    """The file system's size, use and free space (for unprivileged users), in bytes."""

    total: int
    used: int
    free: int


def read_disk_usage(path: Path) -> DiskUsage | None:
    """The usage of the file system holding ``path``; None if it cannot be read."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return DiskUsage(total=usage.total, used=usage.used, free=usage.free)


def _field(read: Callable[[], Any], name: str) -> Callable[[], int | None]:
    def value() -> int | None:
        record = read()
        return None if record is None else int(getattr(record, name))

    return value


class StorageMetrics:
    """The registry of one storage server's statistics, and the counters its calls feed."""

    def __init__(
        self,
        server: StorageServer,
        census: ShareCensus,
        disk_usage: Callable[[], DiskUsage | None],
        *,
        reserved_space: int,
    ) -> None:
        """Register every storage statistic in a new registry (:attr:`registry`)."""
        registry = MetricsRegistry()
        self.registry = registry
        self.census = census
        section = "storage_server"
        gauges: dict[str, tuple[str, Callable[[], int | None]]] = {
            "disk_total": (
                "Size of the file system holding the shares.",
                _field(disk_usage, "total"),
            ),
            "disk_used": ("Bytes used on that file system.", _field(disk_usage, "used")),
            "disk_free_for_nonroot": (
                "Bytes an unprivileged user may still write there.",
                _field(disk_usage, "free"),
            ),
            "disk_avail": (
                "Bytes this server accepts for new shares (free less reserve; 0 if read-only).",
                server.available_space,
            ),
            "reserved_space": (
                "Bytes kept free ([storage] reserved_space).",
                lambda: reserved_space,
            ),
            "accepting_immutable_shares": (
                "1 if the server accepts new immutable shares.",
                lambda: int(server.available_space() != 0),
            ),
        }
        for field in attrs.fields(ShareCount):
            kind, unit = field.name.split("_")
            gauges[f"shares.{kind}.{unit}"] = (
                f"{kind.capitalize()} {unit} held (a bounded scan, or the last crawler cycle).",
                _field(census.current, field.name),
            )
        for name, (help_text, read) in gauges.items():
            registry.gauge(f"{section}.{name}", help_text, read)
        operations = sorted(set(_OPERATIONS.values()))
        self.calls: dict[str, Counter] = {
            op: registry.counter(f"{section}.{op}", f"Remote {op} calls.") for op in operations
        }
        self.latencies: dict[str, Histogram] = {
            op: registry.histogram(
                f"{section}.latencies.{op}",
                f"Seconds spent serving {op} calls.",
                SERVER_LATENCY_BUCKETS,
            )
            for op in operations
        }
        self.failed_calls = registry.counter(f"{section}.failed_calls", "Remote calls that raised.")
        self.bytes_written = registry.counter(
            f"{section}.bytes_written", "Bytes written to immutable shares being uploaded."
        )
        self.bytes_read = registry.counter(
            f"{section}.bytes_read", "Bytes read from immutable shares."
        )


class _Meter:
    """Counts and times remote calls into one :class:`StorageMetrics`."""

    def __init__(self, metrics: StorageMetrics, clock: Callable[[], float]) -> None:
        self.metrics = metrics
        self.clock = clock

    def call(self, methodname: str, invoke: Callable[[], Any]) -> Any:
        """Run ``invoke`` (the call named ``methodname``), counting and timing it."""
        op = _OPERATIONS.get(methodname)
        if op is None:
            return invoke()
        metrics = self.metrics
        started = self.clock()
        try:
            result = invoke()
        except Exception:
            metrics.failed_calls.inc()
            raise
        finally:
            metrics.calls[op].inc()
            metrics.latencies[op].observe(max(0.0, self.clock() - started))
        if methodname in _CHANGES_SHARES:
            metrics.census.shares_changed()
        return result


@implementer(RIBucketWriter)
class _MeteredBucketWriter(Referenceable):  # type: ignore[misc]
    """A bucket writer reference whose calls are metered."""

    def __init__(self, writer: Referenceable, meter: _Meter) -> None:
        self._writer = writer
        self._meter = meter

    def doRemoteCall(self, methodname: str, args: Any, kwargs: Any) -> Any:  # noqa: N802  Foolscap's name
        result = self._meter.call(
            methodname, lambda: self._writer.doRemoteCall(methodname, args, kwargs)
        )
        if methodname == "write":
            data = kwargs.get("data", args[1] if len(args) > 1 else b"")
            self._meter.metrics.bytes_written.inc(len(data))
        return result


@implementer(RIBucketReader)
class _MeteredBucketReader(Referenceable):  # type: ignore[misc]
    """A bucket reader reference whose calls are metered."""

    def __init__(self, reader: Referenceable, meter: _Meter) -> None:
        self._reader = reader
        self._meter = meter

    def doRemoteCall(self, methodname: str, args: Any, kwargs: Any) -> Any:  # noqa: N802  Foolscap's name
        result = self._meter.call(
            methodname, lambda: self._reader.doRemoteCall(methodname, args, kwargs)
        )
        if methodname == "read" and isinstance(result, bytes):
            self._meter.metrics.bytes_read.inc(len(result))
        return result


class MeteredStorageServer(FoolscapStorageServer):
    """The Foolscap storage server, with every remote call counted and timed."""

    def __init__(
        self, server: StorageServer, metrics: StorageMetrics, clock: Callable[[], float]
    ) -> None:
        """Serve ``server``, feeding ``metrics``; ``clock`` times calls (seconds)."""
        super().__init__(server)
        self._meter = _Meter(metrics, clock)

    def doRemoteCall(self, methodname: str, args: Any, kwargs: Any) -> Any:  # noqa: N802  Foolscap's name
        """Run the call through the meter; wrap bucket references so their calls count too."""
        meter = self._meter
        forward = super().doRemoteCall
        result = meter.call(methodname, lambda: forward(methodname, args, kwargs))
        if methodname == "allocate_buckets":
            already, writers = result
            return already, {
                shnum: _MeteredBucketWriter(writer, meter) for shnum, writer in writers.items()
            }
        if methodname == "get_buckets":
            return {shnum: _MeteredBucketReader(reader, meter) for shnum, reader in result.items()}
        return result
