"""Mutable files on a real local grid, next to a Tahoe-LAFS 1.20 grid of the same shape.

Run with ``python -m benchmarks.mutable [--runs R] [--skip-tahoe] [--skip-large]``.

Rules: both grids have ten storage nodes and a client using k=3, happy=7,
N=10 on one machine over loopback: ours is ``grid local`` as a subprocess
(:func:`benchmarks.local_grid.running_grid`), Tahoe's is started by
:mod:`benchmarks.tahoe_grid`. One grid runs at a time. Each is driven only
by the same HTTP calls to its client's web API:

- create: ``PUT /uri?format=SDMF`` with 1 KiB, a latency;
- overwrite: ``PUT /uri/WRITECAP`` with 1 KiB into an SDMF file, a latency;
- put: ``PUT /uri?format=MDMF`` with 100 MiB (10 MiB with ``--skip-large``),
  in MB/s;
- get: ``GET /uri/CAP`` of a file just put, in MB/s;
- write in place: ``PUT /uri/WRITECAP?offset=N`` with 4 KiB at the middle
  byte of a file just put, a latency.

Every run uses fresh random data; every result is checked after its timer
stops (the overwritten file read back, the got bytes compared, the patched
range read back by a ``Range`` GET), and a wrong answer stops the benchmark.
The client node's VmHWM (a process-lifetime peak) is read before and after
the MDMF phase, so the second figure is the peak of that phase whenever it
exceeds the first. Every figure is the median of ``--runs`` runs (latencies:
at least five). The table (ours, Tahoe, ours / Tahoe) is printed and
written with the raw figures as Markdown and JSON to ``benchmarks/results/``.
Measured, never asserted.
"""

import argparse
import functools
import http.client
import json
import os
import statistics
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import attrs

from benchmarks.local_grid import (
    HAPPY,
    KIB,
    LATENCY_RUNS_MIN,
    MIB,
    NEEDED,
    RESULTS_DIR,
    STORAGE_NODES,
    TOTAL,
    BenchmarkError,
    peak_rss_kib,
    running_grid,
)
from benchmarks.tahoe_grid import running_tahoe_grid
from tests.interop.tahoe_env import TAHOE_VERSION

HTTP_TIMEOUT = 1800.0
READ_CHUNK = MIB
SMALL_SIZE = KIB
LARGE_SIZE = 100 * MIB
QUICK_LARGE_SIZE = 10 * MIB
PATCH_SIZE = 4 * KIB
CAP_PREFIXES = {"SDMF": "URI:SSK:", "MDMF": "URI:MDMF:"}


class WebGrid(Protocol):
    """A running grid as this benchmark sees it: a client's web address and its pid."""

    @property
    def host(self) -> str:
        """The client's web API host."""
        ...

    @property
    def port(self) -> int:
        """The client's web API port."""
        ...

    def client_pid(self) -> int:
        """The client node's process id."""
        ...


@attrs.frozen
class Sizes:
    """The sizes one benchmark run uses: the SDMF file, the MDMF file and the in-place write."""

    small: int = SMALL_SIZE
    large: int = LARGE_SIZE
    patch: int = PATCH_SIZE


@attrs.frozen
class Figure:
    """One measured figure of one grid."""

    name: str
    unit: str
    higher_is_better: bool
    value: float


@attrs.frozen
class Row:
    """One figure on both grids (Tahoe's is None when it was skipped)."""

    name: str
    unit: str
    higher_is_better: bool
    ours: float
    tahoe: float | None

    @property
    def ratio(self) -> float | None:
        """Ours divided by Tahoe's, or None without a (non-zero) Tahoe figure."""
        if not self.tahoe:
            return None
        return self.ours / self.tahoe


def size_label(size: int) -> str:
    """A size as MiB, KiB or bytes, whichever divides it."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size:,} B"


def _request(
    grid: WebGrid,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(grid.host, grid.port, timeout=HTTP_TIMEOUT)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _cap_path(cap: str) -> str:
    return "/uri/" + urllib.parse.quote(cap, safe="")


def create_mutable(grid: WebGrid, file_format: str, contents: bytes) -> str:
    """``PUT /uri?format=FORMAT``: a new mutable file holding ``contents``; its write cap."""
    status, reply = _request(grid, "PUT", f"/uri?format={file_format}", contents)
    cap = reply.decode("ascii", errors="replace").strip()
    if status not in {200, 201} or not cap.startswith(CAP_PREFIXES[file_format]):
        raise BenchmarkError(f"PUT /uri?format={file_format} answered {status}: {cap[:200]!r}")
    return cap


def overwrite(grid: WebGrid, cap: str, contents: bytes, offset: int | None = None) -> None:
    """``PUT /uri/WRITECAP`` (with ``?offset=N``, a write in place) of ``contents``."""
    query = "" if offset is None else f"?offset={offset}"
    status, reply = _request(grid, "PUT", _cap_path(cap) + query, contents)
    if status not in {200, 201}:
        raise BenchmarkError(f"PUT /uri/WRITECAP{query} answered {status}: {reply[:200]!r}")


def read_range(grid: WebGrid, cap: str, start: int, length: int) -> bytes:
    """``GET /uri/CAP`` with ``Range``: ``length`` bytes from ``start``."""
    headers = {"Range": f"bytes={start}-{start + length - 1}"}
    status, reply = _request(grid, "GET", _cap_path(cap), headers=headers)
    if status != 206:
        raise BenchmarkError(f"GET /uri/CAP with {headers['Range']} answered {status}")
    return reply


def read_into(grid: WebGrid, cap: str, buffer: bytearray) -> int:
    """``GET /uri/CAP`` into ``buffer``; the number of bytes the body held."""
    connection = http.client.HTTPConnection(grid.host, grid.port, timeout=HTTP_TIMEOUT)
    try:
        connection.request("GET", _cap_path(cap))
        response = connection.getresponse()
        if response.status != 200:
            raise BenchmarkError(f"GET /uri/CAP answered {response.status}")
        view, total = memoryview(buffer), 0
        while total < len(buffer):
            received = response.readinto(view[total : total + READ_CHUNK])
            if not received:
                break
            total += received
        total += len(response.read())
    finally:
        connection.close()
    return total


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def measure_sdmf(grid: WebGrid, size: int, runs: int) -> list[Figure]:
    """Median ms to create an SDMF file of ``size`` and to overwrite one, ``runs`` times each."""
    create_times, overwrite_times = [], []
    for _ in range(runs):
        seconds, cap = _timed(functools.partial(create_mutable, grid, "SDMF", os.urandom(size)))
        create_times.append(seconds)
        replacement = os.urandom(size)
        overwrite_times.append(_timed(functools.partial(overwrite, grid, cap, replacement))[0])
        if read_range(grid, cap, 0, size) != replacement:
            raise BenchmarkError("an overwritten SDMF file reads back other bytes")
    label = size_label(size)
    return [
        Figure(f"create SDMF {label}", "ms", False, statistics.median(create_times) * 1e3),
        Figure(f"overwrite SDMF {label}", "ms", False, statistics.median(overwrite_times) * 1e3),
    ]


def measure_mdmf(grid: WebGrid, sizes: Sizes, runs: int) -> list[Figure]:
    """Put, get and write in place into MDMF files of ``sizes.large``; the client's peak RSS."""
    rss_before = peak_rss_kib(grid.client_pid())
    put_times, get_times, patch_times = [], [], []
    offset = sizes.large // 2
    for _ in range(runs):
        contents = os.urandom(sizes.large)
        seconds, cap = _timed(functools.partial(create_mutable, grid, "MDMF", contents))
        put_times.append(seconds)
        received = bytearray(sizes.large)
        seconds, length = _timed(functools.partial(read_into, grid, cap, received))
        get_times.append(seconds)
        if length != sizes.large or received != contents:
            raise BenchmarkError(f"GET of an MDMF file gave other bytes than were put ({length})")
        before, after = contents[offset - 1 : offset], contents[offset + sizes.patch :][:1]
        del received, contents
        patch = os.urandom(sizes.patch)
        patch_times.append(_timed(functools.partial(overwrite, grid, cap, patch, offset))[0])
        if read_range(grid, cap, offset - 1, sizes.patch + 2) != before + patch + after:
            raise BenchmarkError("an in-place write reads back other bytes around its offset")
    rss_after = peak_rss_kib(grid.client_pid())
    large, patch_label = size_label(sizes.large), size_label(sizes.patch)
    return [
        Figure(f"put MDMF {large}", "MB/s", True, sizes.large / statistics.median(put_times) / 1e6),
        Figure(f"get MDMF {large}", "MB/s", True, sizes.large / statistics.median(get_times) / 1e6),
        Figure(
            f"write {patch_label} in place at the middle of MDMF {large}",
            "ms",
            False,
            statistics.median(patch_times) * 1e3,
        ),
        Figure(f"client peak RSS before the MDMF {large} phase", "MiB", False, rss_before / 1024),
        Figure(f"client peak RSS after the MDMF {large} phase", "MiB", False, rss_after / 1024),
    ]


def measure_grid(grid: WebGrid, sizes: Sizes, runs: int) -> list[Figure]:
    """Every figure of one running grid, SDMF first."""
    return [
        *measure_sdmf(grid, sizes.small, max(runs, LATENCY_RUNS_MIN)),
        *measure_mdmf(grid, sizes, runs),
    ]


def measure_ours(scratch: Path, sizes: Sizes, runs: int) -> list[Figure]:
    """Start ``grid local`` under ``scratch``, measure it, stop it."""
    with running_grid(scratch / "grid", scratch / "grid-local-output.log") as grid:
        return measure_grid(grid, sizes, runs)


def measure_tahoe(scratch: Path, sizes: Sizes, runs: int) -> list[Figure]:
    """Start a Tahoe 1.20 grid under ``scratch``, measure it, stop it."""
    base = scratch / "tahoe-grid"
    base.mkdir()
    with running_tahoe_grid(base) as grid:
        return measure_grid(grid, sizes, runs)


def compare(ours: list[Figure], tahoe: list[Figure] | None) -> list[Row]:
    """Pair each of our figures with Tahoe's of the same name."""
    theirs = {figure.name: figure.value for figure in tahoe or []}
    return [
        Row(
            figure.name, figure.unit, figure.higher_is_better, figure.value, theirs.get(figure.name)
        )
        for figure in ours
    ]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.1f}" if unit == "MB/s" else f"{value:,.0f}"


def render(rows: list[Row], runs: int) -> str:
    """The Markdown report."""
    lines = [
        (
            f"# Mutable files end to end (k={NEEDED}, happy={HAPPY}, N={TOTAL}, "
            f"{STORAGE_NODES} storage nodes on one machine, {os.cpu_count()} CPUs), "
            f"ours next to Tahoe-LAFS {TAHOE_VERSION}, median of {runs} "
            f"(latencies: at least {LATENCY_RUNS_MIN})"
        ),
        "",
        "Same HTTP calls to each grid's client web API. Peak RSS is the client's VmHWM,",
        "a lifetime peak read before and after the MDMF phase.",
        "",
        "| what | unit | better | ours | Tahoe | ours / Tahoe |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        ratio = "n/a" if row.ratio is None else f"{row.ratio:.2f}"
        better = "higher" if row.higher_is_better else "lower"
        lines.append(
            f"| {row.name} | {row.unit} | {better} | {_number(row.ours, row.unit)} | "
            f"{_number(row.tahoe, row.unit)} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def document(rows: list[Row], sizes: Sizes, runs: int) -> dict[str, Any]:
    """The JSON report: the grid's shape, the sizes and every row."""
    return {
        "runs": runs,
        "latency_runs": max(runs, LATENCY_RUNS_MIN),
        "cpus": os.cpu_count(),
        "needed": NEEDED,
        "happy": HAPPY,
        "total": TOTAL,
        "storage_nodes": STORAGE_NODES,
        "tahoe_version": TAHOE_VERSION,
        "sizes": attrs.asdict(sizes),
        "rows": [{**attrs.asdict(row), "ratio": row.ratio} for row in rows],
    }


def write_results(directory: Path, rows: list[Row], sizes: Sizes, runs: int) -> str:
    """Write ``mutable.md`` and ``mutable.json`` into ``directory``; return the Markdown."""
    report = render(rows, runs)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "mutable.md").write_text(report)
    (directory / "mutable.json").write_text(json.dumps(document(rows, sizes, runs), indent=1))
    return report


def main() -> None:
    """Measure our grid, then (unless skipped) Tahoe's; print the table and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (3)")
    parser.add_argument("--skip-tahoe", action="store_true", help="measure only our grid")
    parser.add_argument(
        "--skip-large", action="store_true", help="MDMF files of 10 MiB, not 100 MiB (quick run)"
    )
    options = parser.parse_args()
    sizes = Sizes(large=QUICK_LARGE_SIZE if options.skip_large else LARGE_SIZE)
    with tempfile.TemporaryDirectory(prefix="mutable-bench-") as temporary:
        scratch = Path(temporary)
        ours = measure_ours(scratch, sizes, options.runs)
        tahoe = None if options.skip_tahoe else measure_tahoe(scratch, sizes, options.runs)
    print(write_results(RESULTS_DIR, compare(ours, tahoe), sizes, options.runs))


if __name__ == "__main__":
    main()
