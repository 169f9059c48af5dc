"""End-to-end put and get on a real local grid, next to the building blocks that bound them.

Run with ``python -m benchmarks.local_grid [--runs R] [--gib] [--skip-large] [--warm-up W]
[--dir DIR]``.

The grid is the project's own ``grid local DIR --storage-nodes 10`` run as a
subprocess (k=3, happy=7, N=10: what ``grid local`` configures), started once
and stopped by SIGINT to that one process, even on error. Through it the
benchmark times put and get by the web API (``PUT /uri`` with the file as the
body, ``GET /uri/CAP`` reading the whole body) and by the CLI (``grid put`` and
``grid get`` as subprocesses) for 1 KiB, 1 MiB, 10 MiB and 100 MiB (1 GiB with
``--gib``; no 100 MiB with ``--skip-large``). Every put uploads fresh random
data written to a temporary file and flushed to disk first (untimed); each
get downloads the file one of the puts just uploaded, and every download is
checked against what was uploaded (untimed). It also times a 1 KiB web put
and ``grid --version`` as latencies, and reads the client node's peak RSS
(VmHWM, a process-lifetime peak) after each phase. In the same run it measures the building blocks:
AES-128-CTR, SHA-256, zfec encode and decode (from non-primary shares) on
1 MiB segments, and loopback TCP between two processes. Every figure is the
median of ``--runs`` runs. Before the sizes are timed, ``--warm-up`` web puts
of 100 MiB (5 by default) run on the just-started grid: the first transfers
of new processes on these VMs also pay for memory the host has not given
them yet, so those puts are reported on their own, as a just-started grid's
figure, and the table after them is a running grid's. The report is printed
and written as Markdown and JSON to ``benchmarks/results/``. Measured, never
asserted.
"""

import argparse
import contextlib
import filecmp
import functools
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import zfec

from benchmarks.encode_chk import aes, median_rate, sha256, zfec_encode
from benchmarks.storage_foolscap import loopback_peer_process, random_chunks, tcp_bulk
from grid.chk_plan import ChkPlan

RESULTS_DIR = Path(__file__).parent / "results"
GRID = Path(sys.executable).with_name("grid")
LOOPBACK = "127.0.0.1"
NEEDED, TOTAL, HAPPY = 3, 10, 7
STORAGE_NODES = 10
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
CHUNK = MIB
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
LATENCY_RUNS_MIN = 5
WARM_UP_SIZE = 100 * MIB
READY_LINE = "Local grid ready"

AES = "AES-128-CTR, 1 MiB chunks"
SHA = "SHA-256, 1 MiB chunks"
ZFEC_ENCODE = f"zfec encode {NEEDED}-of-{TOTAL}, 1 MiB segments, one core"
ZFEC_DECODE = f"zfec decode {NEEDED}-of-{TOTAL} from shares 7, 8, 9, 1 MiB segments, one core"
TCP = "loopback TCP, plain sockets, 1 MiB writes to another process"


class BenchmarkError(RuntimeError):
    """The grid did not do what the benchmark asked of it."""


@attrs.frozen
class Grid:
    """A running ``grid local``: its process, base directory and client's web address."""

    process: "subprocess.Popen[bytes]"
    base: Path
    host: str
    port: int

    @property
    def client_dir(self) -> Path:
        """The client node's directory."""
        return self.base / "client"

    def client_pid(self) -> int:
        """The client node's pid, from ``local-grid.pids``."""
        for line in (self.base / "local-grid.pids").read_text().splitlines():
            name, _, pid = line.partition(" ")
            if name == "client":
                return int(pid)
        raise BenchmarkError("local-grid.pids names no client")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.contextmanager
def running_grid(base: Path, log_path: Path) -> Iterator[Grid]:
    """Start ``grid local base`` (output to ``log_path``); yield it once ready; SIGINT it."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  the project's own console script
            [
                str(GRID),
                "local",
                str(base),
                "--storage-nodes",
                str(STORAGE_NODES),
                "--web-port",
                str(_free_port()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError(
                    f"grid local did not become ready:\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.2)
        url = urllib.parse.urlsplit((base / "client" / "node.url").read_text().strip())
        yield Grid(process, base, url.hostname or LOOPBACK, url.port or 80)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def peak_rss_kib(pid: int) -> int:
    """VmHWM of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise BenchmarkError(f"/proc/{pid}/status has no VmHWM")


def fresh_file(directory: Path, size: int) -> Path:
    """A new file of ``size`` random bytes, written in 1 MiB chunks and flushed to disk.

    The flush keeps the kernel from writing this untimed input back to disk
    while the timed transfer that reads it runs.
    """
    handle, name = tempfile.mkstemp(dir=directory, suffix=".in")
    with os.fdopen(handle, "wb") as file:
        remaining = size
        while remaining:
            part = min(CHUNK, remaining)
            file.write(os.urandom(part))
            remaining -= part
        file.flush()
        os.fsync(file.fileno())
    return Path(name)


def web_put(grid: Grid, path: Path) -> str:
    """``PUT /uri`` with the file at ``path`` as the body; the new file's cap."""
    connection = http.client.HTTPConnection(grid.host, grid.port, blocksize=CHUNK)
    try:
        with path.open("rb") as body:
            connection.request(
                "PUT", "/uri", body=body, headers={"Content-Length": str(path.stat().st_size)}
            )
            response = connection.getresponse()
            reply = response.read()
    finally:
        connection.close()
    if response.status not in {200, 201}:
        raise BenchmarkError(f"PUT /uri answered {response.status}: {reply[:200]!r}")
    return reply.decode("ascii").strip()


def _web_get(grid: Grid, cap: str) -> int:
    connection = http.client.HTTPConnection(grid.host, grid.port)
    try:
        connection.request("GET", "/uri/" + urllib.parse.quote(cap, safe=""))
        response = connection.getresponse()
        if response.status != 200:
            raise BenchmarkError(f"GET /uri/CAP answered {response.status}")
        buffer, total = bytearray(CHUNK), 0
        while received := response.readinto(buffer):
            total += received
    finally:
        connection.close()
    return total


def _cli(grid: Grid, *arguments: str) -> str:
    result = subprocess.run(  # noqa: S603  the project's own console script
        [str(GRID), "-d", str(grid.client_dir), "-q", *arguments],
        check=True,
        capture_output=True,
    )
    return result.stdout.decode("ascii").strip()


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``action()`` took, and what it returned."""
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


@attrs.frozen
class Transfer:
    """Median seconds of one operation at one size through one interface."""

    interface: str
    operation: str
    size: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        """Throughput in MB/s (10^6 bytes)."""
        return self.size / self.seconds / 1e6


def measure_size(
    grid: Grid, scratch: Path, size: int, runs: int, peaks: list[tuple[str, int]]
) -> list[Transfer]:
    """Web and CLI put then get of ``size`` bytes, ``runs`` times each; record peak RSS."""
    results = []
    label = _size_label(size)
    for interface in ("web", "cli"):
        uploads, put_times = [], []
        for _ in range(runs):
            source = fresh_file(scratch, size)
            if interface == "web":
                seconds, cap = timed(functools.partial(web_put, grid, source))
            else:
                seconds, cap = timed(functools.partial(_cli, grid, "put", str(source)))
            uploads.append((source, cap))
            put_times.append(seconds)
        results.append(Transfer(interface, "put", size, statistics.median(put_times)))
        peaks.append((f"after {interface} put {label}", peak_rss_kib(grid.client_pid())))
        get_times = []
        for source, cap in uploads:
            target = source.with_suffix(".out")
            if interface == "web":
                seconds, received = timed(functools.partial(_web_get, grid, cap))
                if received != size:
                    raise BenchmarkError(f"GET returned {received} bytes of {size}")
            else:
                seconds, _ = timed(functools.partial(_cli, grid, "get", cap, str(target)))
                if not filecmp.cmp(source, target, shallow=False):
                    raise BenchmarkError("grid get returned other bytes than were put")
                target.unlink()
            get_times.append(seconds)
            source.unlink()
        results.append(Transfer(interface, "get", size, statistics.median(get_times)))
        peaks.append((f"after {interface} get {label}", peak_rss_kib(grid.client_pid())))
    return results


def _zfec_decode_rate(size: int, runs: int) -> float:
    """Median MB/s decoding 1 MiB segments from the last k shares (all non-primary)."""
    plan = ChkPlan(size=size, needed=NEEDED, total=TOTAL)
    block, wanted = plan.block_size, list(range(TOTAL - NEEDED, TOTAL))
    encoder, decoder = zfec.Encoder(NEEDED, TOTAL), zfec.Decoder(NEEDED, TOTAL)
    rates = []
    for _ in range(runs):
        segments = []
        for _ in range(size // plan.segment_size):
            segment = os.urandom(plan.segment_size)
            shares = encoder.encode([segment[i * block : (i + 1) * block] for i in range(NEEDED)])
            segments.append([shares[i] for i in wanted])
        start = time.perf_counter()
        for shares in segments:
            decoder.decode(shares, wanted)
        elapsed = time.perf_counter() - start
        rates.append(len(segments) * plan.segment_size / elapsed / 1e6)
    return statistics.median(rates)


def measure_building_blocks(size: int, runs: int) -> dict[str, float]:
    """MB/s of each building block over ``size`` bytes, median of ``runs``."""
    rates = {
        AES: median_rate(size, runs, aes),
        SHA: median_rate(size, runs, sha256),
        ZFEC_ENCODE: median_rate(size, runs, zfec_encode),
        ZFEC_DECODE: _zfec_decode_rate(size, runs),
    }
    with loopback_peer_process() as port:
        rates[TCP] = statistics.median(
            tcp_bulk(port, random_chunks(size // MIB)) for _ in range(runs)
        )
    return rates


def measure_latencies(grid: Grid, scratch: Path, runs: int) -> dict[str, float]:
    """Median milliseconds of a 1 KiB web put and of ``grid --version``."""
    put_times, version_times = [], []
    for _ in range(runs):
        source = fresh_file(scratch, KIB)
        put_times.append(timed(functools.partial(web_put, grid, source))[0])
        source.unlink()
        version_times.append(
            timed(
                lambda: subprocess.run(  # noqa: S603  the project's own console script
                    [str(GRID), "--version"], check=True, capture_output=True
                )
            )[0]
        )
    return {
        "web put 1 KiB": statistics.median(put_times) * 1e3,
        "grid --version": statistics.median(version_times) * 1e3,
    }


def _size_label(size: int) -> str:
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if size >= unit:
            return f"{size // unit} {name}"
    return f"{size} B"


def warm_up(grid: Grid, scratch: Path, count: int) -> list[float]:
    """Seconds each of ``count`` web puts of 100 MiB of fresh data took, in order."""
    seconds = []
    for _ in range(count):
        source = fresh_file(scratch, WARM_UP_SIZE)
        took, _cap = timed(functools.partial(web_put, grid, source))
        seconds.append(took)
        source.unlink()
    return seconds


def _warm_up_lines(blocks: dict[str, float], seconds: list[float]) -> list[str]:
    if not seconds:
        return []
    rate = WARM_UP_SIZE / statistics.median(seconds) / 1e6
    each = ", ".join(f"{took:.3f}" for took in seconds)
    return [
        "## A just-started grid",
        "",
        (
            f"Web puts of 100 MiB right after the grid started, untimed in the table below: "
            f"{each} s; median {rate:,.2f} MB/s, {rate / blocks[ZFEC_ENCODE]:.1%} of zfec."
        ),
        "",
    ]


def render(
    options: argparse.Namespace,
    blocks: dict[str, float],
    transfers: list[Transfer],
    latencies: dict[str, float],
    peaks: list[tuple[str, int]],
    *,
    warm_up_seconds: list[float],
) -> str:
    """The Markdown report."""
    lines = [
        (
            f"# Local grid end to end (k={NEEDED}, happy={HAPPY}, N={TOTAL}, "
            f"{STORAGE_NODES} storage nodes on one machine, {os.cpu_count()} CPUs), "
            f"median of {options.runs}"
        ),
        "",
        "## Building blocks",
        "",
        "| what | MB/s |",
        "|---|---:|",
        *(f"| {name} | {rate:,.0f} |" for name, rate in blocks.items()),
        "",
        *_warm_up_lines(blocks, warm_up_seconds),
        "## Put and get",
        "",
        (
            "Put is bounded by zfec encode (one core) and by loopback TCP carrying N/k = "
            f"{TOTAL / NEEDED:.2f}x the file; get by zfec decode and loopback TCP."
        ),
        "",
        (
            "| interface | operation | size | median s | MB/s | fraction of zfec | "
            "fraction of loopback TCP (share bytes) |"
        ),
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for transfer in transfers:
        put = transfer.operation == "put"
        zfec_rate = blocks[ZFEC_ENCODE if put else ZFEC_DECODE]
        wire_rate = transfer.mb_per_s * (TOTAL / NEEDED if put else 1)
        ratios = (
            f"{transfer.mb_per_s / zfec_rate:.1%} | {wire_rate / blocks[TCP]:.1%}"
            if transfer.size >= MIB
            else "latency-bound | latency-bound"
        )
        lines.append(
            f"| {transfer.interface} | {transfer.operation} | {_size_label(transfer.size)} | "
            f"{transfer.seconds:.3f} | {transfer.mb_per_s:,.2f} | {ratios} |"
        )
    lines += [
        "",
        "## Latency",
        "",
        "| what | median ms |",
        "|---|---:|",
        *(f"| {name} | {ms:,.0f} |" for name, ms in latencies.items()),
        "",
        "## Client node peak RSS (VmHWM, lifetime peak, in the order measured)",
        "",
        "| when | MiB |",
        "|---|---:|",
        *(f"| {when} | {kib / 1024:,.0f} |" for when, kib in peaks),
    ]
    return "\n".join(lines) + "\n"


def _sizes(options: argparse.Namespace) -> list[int]:
    sizes = [KIB, MIB, 10 * MIB]
    if not options.skip_large:
        sizes.append(100 * MIB)
    if options.gib:
        sizes.append(GIB)
    return sizes


def main() -> None:
    """Start a local grid, measure, print a table, and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (3)")
    parser.add_argument("--gib", action="store_true", help="also put and get 1 GiB")
    parser.add_argument("--skip-large", action="store_true", help="skip 100 MiB (quick run)")
    parser.add_argument(
        "--warm-up", type=int, default=5, help="100 MiB web puts before the timed sizes (5)"
    )
    parser.add_argument(
        "--dir", type=Path, help="grid directory (reused if complete; default: a temporary one)"
    )
    options = parser.parse_args()
    sizes = _sizes(options)
    blocks = measure_building_blocks((32 if options.skip_large else 100) * MIB, options.runs)
    transfers: list[Transfer] = []
    peaks: list[tuple[str, int]] = []
    with tempfile.TemporaryDirectory(prefix="local-grid-bench-") as temporary:
        scratch = Path(temporary)
        base = options.dir.resolve() if options.dir else scratch / "grid"
        with running_grid(base, scratch / "grid-local-output.log") as grid:
            peaks.append(("after start", peak_rss_kib(grid.client_pid())))
            latencies = measure_latencies(grid, scratch, max(options.runs, LATENCY_RUNS_MIN))
            warm_up_seconds = warm_up(grid, scratch, max(options.warm_up, 0))
            if warm_up_seconds:
                peaks.append(("after the warm-up puts", peak_rss_kib(grid.client_pid())))
            for size in sizes:
                transfers += measure_size(grid, scratch, size, options.runs, peaks)
    report = render(options, blocks, transfers, latencies, peaks, warm_up_seconds=warm_up_seconds)
    print(report)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "local_grid.md").write_text(report)
    (RESULTS_DIR / "local_grid.json").write_text(
        json.dumps(
            {
                "runs": options.runs,
                "cpus": os.cpu_count(),
                "needed": NEEDED,
                "happy": HAPPY,
                "total": TOTAL,
                "storage_nodes": STORAGE_NODES,
                "building_blocks_mb_per_s": blocks,
                "transfers": [
                    {**attrs.asdict(transfer), "mb_per_s": transfer.mb_per_s}
                    for transfer in transfers
                ],
                "latency_ms": latencies,
                "warm_up_put_100mib_seconds": warm_up_seconds,
                "client_peak_rss_kib": [{"when": when, "kib": kib} for when, kib in peaks],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
