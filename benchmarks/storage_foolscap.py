"""Our storage server over Foolscap on loopback, next to raw loopback TCP and the disk.

Run with ``python -m benchmarks.storage_foolscap [--mib N] [--runs R] [--ops K]``.

The storage server is a real ``grid run`` process listening on 127.0.0.1,
created with ``grid create-node`` in a temporary directory and stopped by
SIGTERM to its pid when the run ends, even on error. The benchmark process
drives it from one Twisted reactor through a Foolscap Tub, calling the
protocol by Tahoe's method names. In the same run it measures the building
blocks: plain-socket loopback TCP (a receiver in a separate process, as the
node is) for bulk throughput and for small request/response round trips,
and the disk the node writes to (1 MiB writes then fsync; the copy, fsync,
rename and directory fsync a mutable update costs). Every figure is the
median of several runs over fresh random data; each Foolscap figure is also
shown as a fraction of the loopback TCP figure of its kind (MB/s or ops/s)
and of the disk figure that bounds it. The report is printed and written as
Markdown and JSON to ``benchmarks/results/``. Measured, never asserted.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import attrs
from foolscap.api import Referenceable, Tub
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import react

import storage_server.wire  # noqa: F401  registers the RemoteInterfaces, so replies are checked

RESULTS_DIR = Path(__file__).parent / "results"
GRID = Path(sys.executable).with_name("grid")
LOOPBACK = "127.0.0.1"
CHUNK = 1 << 20
BUCKETS = 4
WINDOWS = (1, 8)
CONCURRENT_SLOTS = 4
REQUEST_SIZE, RESPONSE_SIZE = 1024, 64
MUTABLE_WRITE_SIZE = 1024
CHECKSTRING = 41  # version, sequence number and root hash: the SDMF checkstring
NODE_START_TIMEOUT = 60.0
PEER_START_TIMEOUT = 30.0
NODE_STOP_TIMEOUT = 20.0


class BenchmarkError(RuntimeError):
    """The system measured did not do what the benchmark asked of it."""


@attrs.frozen
class Figure:
    """One measured rate; ``disk`` names the disk figure that bounds it, if any."""

    name: str
    value: float
    unit: str
    disk: str | None = None
    building_block: bool = False


TCP_BULK = "loopback TCP, plain sockets, 1 MiB writes to another process"
TCP_ROUND_TRIP = (
    f"loopback TCP round trips, {REQUEST_SIZE} B request, {RESPONSE_SIZE} B response, one at a time"
)
DISK_BULK = "disk: 1 MiB writes then fsync"
DISK_UPDATE = "disk: copy a small file, write 1 KiB, fsync, rename, fsync directory"


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes, or b"" if the peer closes before the first."""
    parts, remaining = [], size
    while remaining:
        part = sock.recv(remaining)
        if not part:
            if remaining == size:
                return b""
            raise BenchmarkError("the loopback peer closed mid-message")
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _loopback_peer(connection: Connection) -> None:
    """Serve loopback TCP measurements until terminated: b"S" sinks, b"E" echoes."""
    with socket.create_server((LOOPBACK, 0)) as listener:
        connection.send(listener.getsockname()[1])
        while True:
            peer, _ = listener.accept()
            with peer:
                peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if _recv_exactly(peer, 1) == b"S":
                    buffer, total = bytearray(CHUNK), 0
                    while received := peer.recv_into(buffer):
                        total += received
                    peer.sendall(total.to_bytes(8, "big"))
                    continue
                while request := _recv_exactly(peer, REQUEST_SIZE):
                    peer.sendall(request[:RESPONSE_SIZE])


@contextlib.contextmanager
def loopback_peer_process() -> Iterator[int]:
    """Run :func:`_loopback_peer` in a fresh process; yield its port; stop it by its pid."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_loopback_peer, args=(theirs,), daemon=True)
    process.start()
    try:
        if not ours.poll(PEER_START_TIMEOUT):
            raise BenchmarkError("the loopback peer process did not start")
        port: int = ours.recv()
        yield port
    finally:
        process.terminate()
        process.join()


def tcp_bulk(port: int, chunks: list[bytes]) -> float:
    """Send the chunks to the sink and wait for its count; return MB/s."""
    size = sum(map(len, chunks))
    with socket.create_connection((LOOPBACK, port)) as sock:
        start = time.perf_counter()
        sock.sendall(b"S")
        for chunk in chunks:
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        received = int.from_bytes(_recv_exactly(sock, 8), "big")
        elapsed = time.perf_counter() - start
    if received != size:
        raise BenchmarkError(f"the sink counted {received} bytes of {size}")
    return size / elapsed / 1e6


def _tcp_round_trips(port: int, count: int) -> float:
    """Make ``count`` request/response exchanges one at a time; return ops/s."""
    request = os.urandom(REQUEST_SIZE)
    with socket.create_connection((LOOPBACK, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(b"E")
        start = time.perf_counter()
        for _ in range(count):
            sock.sendall(request)
            if _recv_exactly(sock, RESPONSE_SIZE) != request[:RESPONSE_SIZE]:
                raise BenchmarkError("the echo peer answered wrongly")
        elapsed = time.perf_counter() - start
    return count / elapsed


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_bulk(directory: Path, chunks: list[bytes]) -> float:
    """Write the chunks to a new file and fsync it; return MB/s."""
    path = directory / "bulk"
    start = time.perf_counter()
    with path.open("wb", buffering=0) as file:
        for chunk in chunks:
            file.write(chunk)
        os.fsync(file.fileno())
    elapsed = time.perf_counter() - start
    path.unlink()
    return sum(map(len, chunks)) / elapsed / 1e6


def _disk_updates(directory: Path, count: int) -> float:
    """Update a small file atomically ``count`` times, as a mutable write does; return ops/s."""
    share, scratch = directory / "share", directory / "scratch"
    share.write_bytes(os.urandom(2 * MUTABLE_WRITE_SIZE))
    writes = [os.urandom(MUTABLE_WRITE_SIZE) for _ in range(count)]
    start = time.perf_counter()
    for data in writes:
        shutil.copyfile(share, scratch)
        with scratch.open("r+b", buffering=0) as file:
            file.write(data)
            os.fsync(file.fileno())
        scratch.replace(share)
        _fsync_directory(directory)
    elapsed = time.perf_counter() - start
    share.unlink()
    return count / elapsed


def random_chunks(mib: int) -> list[bytes]:
    """Return ``mib`` fresh random 1 MiB chunks."""
    return [os.urandom(CHUNK) for _ in range(mib)]


def measure_building_blocks(options: argparse.Namespace, scratch: Path) -> list[Figure]:
    """Loopback TCP and disk rates, each the median of ``options.runs`` runs."""
    runs, mib = options.runs, options.mib
    with loopback_peer_process() as port:
        tcp_bulk = [tcp_bulk(port, random_chunks(2 * mib)) for _ in range(runs)]
        round_trips = [_tcp_round_trips(port, 10 * options.ops) for _ in range(runs)]
    disk_bulk = [_disk_bulk(scratch, random_chunks(mib)) for _ in range(runs)]
    updates = [_disk_updates(scratch, options.ops) for _ in range(runs)]
    return [
        Figure(TCP_BULK, statistics.median(tcp_bulk), "MB/s", building_block=True),
        Figure(TCP_ROUND_TRIP, statistics.median(round_trips), "ops/s", building_block=True),
        Figure(DISK_BULK, statistics.median(disk_bulk), "MB/s", building_block=True),
        Figure(DISK_UPDATE, statistics.median(updates), "ops/s", building_block=True),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


def start_node(node_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Create and start a storage node on loopback; return its process and storage FURL."""
    port = _free_port()
    subprocess.run(  # noqa: S603  the project's own console script, arguments built here
        [
            str(GRID),
            "create-node",
            "--port",
            f"tcp:{port}:interface={LOOPBACK}",
            "--location",
            f"tcp:{LOOPBACK}:{port}",
            "--webport",
            "none",
            str(node_dir),
        ],
        check=True,
        capture_output=True,
    )
    log_path = node_dir.parent / "node-output.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  the project's own console script
            [str(GRID), "run", str(node_dir)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    furl_path = node_dir / "private" / "storage.furl"
    deadline = time.monotonic() + NODE_START_TIMEOUT
    while not (furl_path.exists() and _port_answers(port)):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_node(process)
            tail = log_path.read_text(errors="replace")[-2000:]
            raise BenchmarkError(f"the storage node did not start:\n{tail}")
        time.sleep(0.05)
    return process, furl_path.read_text().strip()


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return True
    except OSError:
        return False


def stop_node(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the node by its pid and wait; SIGKILL it if it lingers."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(NODE_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


async def _in_window(window: int, calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Make the calls with at most ``window`` of them in flight; return results in order."""
    results: list[Any] = [None] * len(calls)
    pending = iter(enumerate(calls))

    async def lane() -> None:
        for index, call in pending:
            results[index] = await call()

    await gatherResults([Deferred.fromCoroutine(lane()) for _ in range(window)], consumeErrors=True)
    return results


def _remote(reference: Any, method: str, *args: object) -> Callable[[], Awaitable[Any]]:
    return lambda: reference.callRemote(method, *args)


async def _upload(server: Any, canary: Any, buckets: list[list[bytes]], window: int) -> bytes:
    """Store ``buckets`` as the shares of a new storage index; return that index."""
    storage_index = os.urandom(16)
    _, writers = await server.callRemote(
        "allocate_buckets",
        storage_index,
        os.urandom(32),
        os.urandom(32),
        set(range(len(buckets))),
        len(buckets[0]) * CHUNK,
        canary,
    )
    for shnum, chunks in enumerate(buckets):
        writes = [
            _remote(writers[shnum], "write", i * CHUNK, chunk) for i, chunk in enumerate(chunks)
        ]
        await _in_window(window, writes)
        await writers[shnum].callRemote("close")
    return storage_index


async def _download(server: Any, storage_index: bytes, window: int, mib: int) -> dict[int, bytes]:
    """Read every share of ``storage_index`` in 1 MiB reads; return each share's data."""
    readers = await server.callRemote("get_buckets", storage_index)
    offsets = range(0, mib // len(readers) * CHUNK, CHUNK)
    shares = {}
    for shnum, reader in sorted(readers.items()):
        reads = [_remote(reader, "read", offset, CHUNK) for offset in offsets]
        shares[shnum] = b"".join(await _in_window(window, reads))
    return shares


async def _slot_chain(server: Any, writes: list[bytes]) -> None:
    """Create a slot with the first write, then test-and-write the rest in order."""
    storage_index = os.urandom(16)
    secrets = (os.urandom(32), os.urandom(32), os.urandom(32))
    checkstring = b""
    for data in writes:
        tests = [(0, CHECKSTRING, b"eq", checkstring)] if checkstring else []
        passed, read = await server.callRemote(
            "slot_testv_and_readv_and_writev",
            storage_index,
            secrets,
            {0: (tests, [(0, data)], None)},
            [(0, CHECKSTRING)],
        )
        if not passed or read != ({0: [checkstring]} if checkstring else {}):
            raise BenchmarkError(f"test-and-write failed: passed={passed}, read={read!r}")
        checkstring = data[:CHECKSTRING]


async def _timed(action: Awaitable[object]) -> float:
    start = time.perf_counter()
    await action
    return time.perf_counter() - start


async def _immutable_run(server: Any, canary: Any, mib: int) -> dict[str, float]:
    """One run of uploads and downloads per window over fresh data; MB/s by name."""
    chunks = random_chunks(mib)
    per_bucket = mib // BUCKETS
    buckets = [chunks[b * per_bucket : (b + 1) * per_bucket] for b in range(BUCKETS)]
    expected = {shnum: b"".join(bucket) for shnum, bucket in enumerate(buckets)}
    size = mib * CHUNK / 1e6
    rates = {}
    for window in WINDOWS:
        start = time.perf_counter()
        storage_index = await _upload(server, canary, buckets, window)
        rates[_write_name(window)] = size / (time.perf_counter() - start)
        start = time.perf_counter()
        shares = await _download(server, storage_index, window, mib)
        rates[_read_name(window)] = size / (time.perf_counter() - start)
        if shares != expected:
            raise BenchmarkError("the shares read back differ from those written")
    return rates


def _write_name(window: int) -> str:
    return (
        f"Foolscap immutable upload: allocate_buckets, 1 MiB writes, {window} in flight, close"
        f" ({BUCKETS} buckets in turn)"
    )


def _read_name(window: int) -> str:
    return f"Foolscap immutable download: get_buckets, 1 MiB reads, {window} in flight"


GET_VERSION = "Foolscap get_version round trips, one at a time"
MUTABLE_SEQUENTIAL = "Foolscap slot_testv_and_readv_and_writev, 1 KiB write, one at a time"
MUTABLE_CONCURRENT = (
    f"Foolscap slot_testv_and_readv_and_writev, 1 KiB write, {CONCURRENT_SLOTS} slots at once"
)
FOOLSCAP_FIGURES: dict[str, tuple[str, str | None]] = {
    **{_write_name(window): ("MB/s", DISK_BULK) for window in WINDOWS},
    **{_read_name(window): ("MB/s", None) for window in WINDOWS},
    GET_VERSION: ("ops/s", None),
    MUTABLE_SEQUENTIAL: ("ops/s", DISK_UPDATE),
    MUTABLE_CONCURRENT: ("ops/s", DISK_UPDATE),
}  # each Foolscap figure's unit and the disk figure that bounds it, in report order


async def _small_run(server: Any, ops: int) -> dict[str, float]:
    """One run of the small operations over fresh data; ops/s by name."""
    elapsed = await _timed(_in_window(1, [_remote(server, "get_version")] * ops))
    rates = {GET_VERSION: ops / elapsed}
    writes = [os.urandom(MUTABLE_WRITE_SIZE) for _ in range(ops)]
    elapsed = await _timed(_slot_chain(server, writes))
    rates[MUTABLE_SEQUENTIAL] = ops / elapsed
    per_slot = ops // CONCURRENT_SLOTS
    chains = [
        Deferred.fromCoroutine(_slot_chain(server, writes[i * per_slot : (i + 1) * per_slot]))
        for i in range(CONCURRENT_SLOTS)
    ]
    elapsed = await _timed(gatherResults(chains, consumeErrors=True))
    rates[MUTABLE_CONCURRENT] = per_slot * CONCURRENT_SLOTS / elapsed
    return rates


async def measure_foolscap(options: argparse.Namespace, furl: str) -> list[Figure]:
    """Connect a Tub to the node and measure its calls; medians of ``options.runs`` runs."""
    tub = Tub()
    tub.startService()
    try:
        server = await tub.getReference(furl)
        canary = Referenceable()
        runs: list[dict[str, float]] = []
        for _ in range(options.runs):
            rates = await _immutable_run(server, canary, options.mib)
            rates.update(await _small_run(server, options.ops))
            runs.append(rates)
    finally:
        await tub.stopService()
    return [
        Figure(name, statistics.median(run[name] for run in runs), unit, disk=disk)
        for name, (unit, disk) in FOOLSCAP_FIGURES.items()
    ]


def render_report(options: argparse.Namespace, figures: list[Figure]) -> str:
    """The Markdown table: each figure, and its fractions of TCP and of the disk."""
    by_name = {figure.name: figure.value for figure in figures}
    tcp = {"MB/s": by_name[TCP_BULK], "ops/s": by_name[TCP_ROUND_TRIP]}
    lines = [
        (
            f"# Storage server over Foolscap on loopback: {options.mib} MiB in {BUCKETS} "
            f"buckets, {options.ops} small operations, median of {options.runs}"
        ),
        "",
        "| what | rate | unit | fraction of loopback TCP | fraction of disk |",
        "|---|---:|---|---:|---:|",
    ]
    for figure in figures:
        of_tcp = "" if figure.building_block else f"{figure.value / tcp[figure.unit]:.0%}"
        of_disk = "" if figure.disk is None else f"{figure.value / by_name[figure.disk]:.0%}"
        lines.append(
            f"| {figure.name} | {figure.value:,.0f} | {figure.unit} | {of_tcp} | {of_disk} |"
        )
    return "\n".join(lines) + "\n"


def write_results(options: argparse.Namespace, figures: list[Figure], report: str) -> None:
    """Write the report as Markdown and the figures as JSON to ``benchmarks/results/``."""
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "storage_foolscap.md").write_text(report)
    document = {
        "mib": options.mib,
        "runs": options.runs,
        "ops": options.ops,
        "cpus": os.cpu_count(),
        "results": [attrs.asdict(figure) for figure in figures],
    }
    (RESULTS_DIR / "storage_foolscap.json").write_text(json.dumps(document, indent=1))


def main() -> None:
    """Measure, print a table, and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=128, help="immutable data per run, MiB (128)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (3)")
    parser.add_argument("--ops", type=int, default=1000, help="small operations per run (1000)")
    options = parser.parse_args()
    if options.mib <= 0 or options.mib % BUCKETS:
        parser.error(f"--mib must be a positive multiple of {BUCKETS}")
    if options.runs <= 0 or options.ops < CONCURRENT_SLOTS:
        parser.error(f"--runs must be positive and --ops at least {CONCURRENT_SLOTS}")
    with tempfile.TemporaryDirectory(prefix="grid-bench-") as scratch:
        figures = measure_building_blocks(options, Path(scratch))
        process, furl = start_node(Path(scratch) / "node")
        try:

            async def run() -> None:
                figures.extend(await measure_foolscap(options, furl))
                report = render_report(options, figures)
                print(report)
                write_results(options, figures, report)

            react(lambda _reactor: Deferred.fromCoroutine(run()))
        finally:
            stop_node(process)


if __name__ == "__main__":
    main()
