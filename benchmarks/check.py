"""Check, verify and repair end to end: verify and get of a large file, repair, deep-check.

Run with ``python -m benchmarks.check [--runs R] [--skip-large]``.

Rules: the grid is ``grid local DIR --storage-nodes 10`` (k=3, happy=7, N=10)
run as a subprocess; every call goes to its client's web API. The figures:

- verify (``POST /uri/$CAP?t=check&verify=true&output=JSON``, which reads and
  checks every share) of a 100 MiB file in MB/s, next to ``GET /uri/$CAP``
  of the same file in the same run (10 MiB with ``--skip-large``);
- repair (``t=check&repair=true``) of a 100 MiB file three of whose ten
  share files were deleted from the storage nodes' directories (found by
  the file's storage index), in seconds;
- deep-check of a tree of 1,000 small files (ten directories of 100), in
  files per second: ``POST ?t=stream-deep-check`` on the root when the
  gateway serves it, else a walk that ``t=check``s every directory and
  file, one request each (the report says which).

Every file holds fresh random data and is uploaded untimed. Every result is
verified untimed: the get returns the bytes put, a verify finds all ten
shares good, a repair succeeds and leaves ten share files on disk, and a
deep-check finds every file healthy. Every figure is the median of
``--runs`` runs. The report is printed and written as Markdown and JSON to
``benchmarks/results/``. Measured, never asserted.
"""

import argparse
import functools
import json
import os
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from benchmarks.directories import Gateway, call, exchange, make_directory, upload
from benchmarks.local_grid import (
    HAPPY,
    KIB,
    MIB,
    NEEDED,
    RESULTS_DIR,
    STORAGE_NODES,
    TOTAL,
    BenchmarkError,
    Grid,
    fresh_file,
    running_grid,
    timed,
    web_put,
)
from benchmarks.mutable import Figure, read_into, size_label
from grid.base32 import b2a
from grid.caps import CHKReadCap, parse_cap

DELETED_SHARES = 3
FILES_PER_DIRECTORY = 100
STREAM_DEEP_CHECK = "t=stream-deep-check"


@attrs.frozen
class Sizes:
    """What one run works on: the large file and the deep-checked tree."""

    large: int = 100 * MIB
    tree_files: int = 1000
    small: int = KIB


@attrs.frozen
class DeepCheck:
    """One deep-check's result: how many files and directories it found healthy."""

    files: int
    directories: int


def _gateway(grid: Grid) -> Gateway:
    return Gateway(grid.host, grid.port, grid.client_dir)


def check_json(grid: Grid, cap: str, query: str) -> dict[str, Any]:
    """``POST /uri/$CAP?t=check&QUERY&output=JSON``: Tahoe's check results."""
    reply = call(_gateway(grid), "POST", cap, query=f"t=check&{query}&output=JSON")
    results: dict[str, Any] = json.loads(reply)
    return results


def share_files(grid: Grid, cap: str) -> list[Path]:
    """Every share file of the file ``cap`` on the grid's storage nodes' disks."""
    parsed = parse_cap(cap)
    if not isinstance(parsed, CHKReadCap):
        raise BenchmarkError("only an immutable (CHK) file's shares are looked for on disk")
    storage_index = b2a(parsed.storage_index)
    pattern = f"*/storage/shares/{storage_index[:2]}/{storage_index}/*"
    return sorted(grid.base.glob(pattern))


def measure_get_and_verify(grid: Grid, scratch: Path, size: int, runs: int) -> list[Figure]:
    """MB/s of a get and of a verify of a file of ``size``, ``runs`` times each."""
    get_times, verify_times = [], []
    for _ in range(runs):
        source = fresh_file(scratch, size)
        cap = web_put(grid, source)
        received = bytearray(size)
        seconds, length = timed(functools.partial(read_into, grid, cap, received))
        get_times.append(seconds)
        if length != size or received != source.read_bytes():
            raise BenchmarkError(f"GET gave other bytes than were put ({length} of {size})")
        del received
        source.unlink()
        seconds, results = timed(functools.partial(check_json, grid, cap, "verify=true"))
        verify_times.append(seconds)
        found = results["results"]
        if not found["healthy"] or found["count-shares-good"] != TOTAL:
            raise BenchmarkError(f"a verify of a fresh file found it unhealthy: {found}")
    label = size_label(size)
    return [
        Figure(f"get {label}", "MB/s", True, size / statistics.median(get_times) / 1e6),
        Figure(
            f"verify {label} (t=check&verify=true)",
            "MB/s",
            True,
            size / statistics.median(verify_times) / 1e6,
        ),
    ]


def measure_repair(grid: Grid, scratch: Path, size: int, runs: int) -> Figure:
    """Seconds to repair a file of ``size`` whose share files were deleted from three nodes."""
    repair_times = []
    for _ in range(runs):
        source = fresh_file(scratch, size)
        cap = web_put(grid, source)
        source.unlink()
        shares = share_files(grid, cap)
        if len(shares) != TOTAL:
            raise BenchmarkError(f"found {len(shares)} share files on disk, not {TOTAL}")
        for share in shares[:DELETED_SHARES]:
            share.unlink()
        seconds, results = timed(functools.partial(check_json, grid, cap, "repair=true"))
        repair_times.append(seconds)
        after = results.get("post-repair-results", {}).get("results", {})
        if not results.get("repair-successful") or after.get("count-shares-good") != TOTAL:
            raise BenchmarkError(f"a repair did not restore every share: {results}")
        if len(share_files(grid, cap)) != TOTAL:
            raise BenchmarkError("a repair did not put every share file back on disk")
    return Figure(
        f"repair {size_label(size)} missing {DELETED_SHARES} of {TOTAL} shares",
        "s",
        False,
        statistics.median(repair_times),
    )


def build_tree(gateway: Gateway, files: int, size: int) -> str:
    """A directory of subdirectories holding ``files`` new small files; its cap."""
    subdirectories = {}
    for first in range(0, files, FILES_PER_DIRECTORY):
        count = min(FILES_PER_DIRECTORY, files - first)
        caps = {f"file-{index:03}": upload(gateway, os.urandom(size)) for index in range(count)}
        subdirectories[f"dir-{first // FILES_PER_DIRECTORY:03}"] = make_directory(gateway, caps)
    body = {name: ["dirnode", {"rw_uri": cap}] for name, cap in subdirectories.items()}
    reply = call(gateway, "POST", query="t=mkdir-with-children", body=json.dumps(body).encode())
    return reply.decode("ascii").strip()


def serves_stream_deep_check(gateway: Gateway, root: str) -> bool:
    """Whether the gateway answers ``t=stream-deep-check`` (the probe's work is untimed)."""
    status, _ = exchange(gateway, "POST", root, query=STREAM_DEEP_CHECK)
    return status == 200


def stream_deep_check(gateway: Gateway, root: str) -> DeepCheck:
    """``POST ?t=stream-deep-check``: count the healthy files and directories it reports."""
    counted = {"file": 0, "directory": 0}
    for line in call(gateway, "POST", root, query=STREAM_DEEP_CHECK).splitlines():
        unit = json.loads(line)
        kind = unit.get("type")
        if kind not in counted:
            continue
        if not unit["check-results"]["results"]["healthy"]:
            raise BenchmarkError(f"deep-check found an unhealthy {kind}")
        counted[kind] += 1
    return DeepCheck(counted["file"], counted["directory"])


def _checked(gateway: Gateway, cap: str) -> None:
    reply = call(gateway, "POST", cap, query="t=check&output=JSON")
    if not json.loads(reply)["results"]["healthy"]:
        raise BenchmarkError("a check found a file or directory unhealthy")


def _walk(gateway: Gateway, directory: str) -> Iterator[tuple[str, str]]:
    """(kind, cap) of ``directory`` and of everything under it, checking as it goes."""
    yield "dirnode", directory
    _, details = json.loads(call(gateway, "GET", directory, query="t=json"))
    for child_kind, child in details["children"].values():
        cap = child.get("rw_uri") or child["ro_uri"]
        if child_kind == "dirnode":
            yield from _walk(gateway, cap)
        else:
            yield child_kind, cap


def walk_deep_check(gateway: Gateway, root: str) -> DeepCheck:
    """``t=check`` of the root, every directory and every file, one request each."""
    counted = {"filenode": 0, "dirnode": 0}
    for kind, cap in _walk(gateway, root):
        _checked(gateway, cap)
        counted[kind] += 1
    return DeepCheck(counted["filenode"], counted["dirnode"])


def measure_deep_check(gateway: Gateway, sizes: Sizes, runs: int) -> Figure:
    """Files per second of a deep-check of a tree of ``tree_files`` small files."""
    root = build_tree(gateway, sizes.tree_files, sizes.small)
    streamed = serves_stream_deep_check(gateway, root)
    deep_check = stream_deep_check if streamed else walk_deep_check
    expected = DeepCheck(sizes.tree_files, 1 + -(-sizes.tree_files // FILES_PER_DIRECTORY))
    check_times = []
    for _ in range(runs):
        seconds, found = timed(functools.partial(deep_check, gateway, root))
        check_times.append(seconds)
        if found != expected:
            raise BenchmarkError(f"deep-check found {found}, not {expected}")
    how = STREAM_DEEP_CHECK if streamed else "a t=check per file and directory"
    return Figure(
        f"deep-check of {sizes.tree_files:,} {size_label(sizes.small)} files ({how})",
        "files/s",
        True,
        sizes.tree_files / statistics.median(check_times),
    )


def measure(scratch: Path, sizes: Sizes, runs: int) -> list[Figure]:
    """Start ``grid local`` under ``scratch``, measure every figure, stop it."""
    with running_grid(scratch / "grid", scratch / "grid-local-output.log") as grid:
        return [
            *measure_get_and_verify(grid, scratch, sizes.large, runs),
            measure_repair(grid, scratch, sizes.large, runs),
            measure_deep_check(_gateway(grid), sizes, runs),
        ]


def _number(value: float, unit: str) -> str:
    return f"{value:,.2f}" if unit == "s" else f"{value:,.1f}"


def render(figures: list[Figure], runs: int) -> str:
    """The Markdown report."""
    lines = [
        (
            f"# Check, verify and repair end to end (k={NEEDED}, happy={HAPPY}, N={TOTAL}, "
            f"{STORAGE_NODES} storage nodes on one machine, {os.cpu_count()} CPUs), "
            f"median of {runs}"
        ),
        "",
        "| what | unit | better | value |",
        "|---|---|---|---:|",
    ]
    for figure in figures:
        better = "higher" if figure.higher_is_better else "lower"
        lines.append(
            f"| {figure.name} | {figure.unit} | {better} | {_number(figure.value, figure.unit)} |"
        )
    return "\n".join(lines) + "\n"


def document(figures: list[Figure], sizes: Sizes, runs: int) -> dict[str, Any]:
    """The JSON report: the grid's shape, the sizes and every figure."""
    return {
        "runs": runs,
        "cpus": os.cpu_count(),
        "needed": NEEDED,
        "happy": HAPPY,
        "total": TOTAL,
        "storage_nodes": STORAGE_NODES,
        "deleted_shares": DELETED_SHARES,
        "sizes": attrs.asdict(sizes),
        "figures": [attrs.asdict(figure) for figure in figures],
    }


def write_results(directory: Path, figures: list[Figure], sizes: Sizes, runs: int) -> str:
    """Write ``check.md`` and ``check.json`` into ``directory``; the Markdown."""
    report = render(figures, runs)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "check.md").write_text(report)
    (directory / "check.json").write_text(json.dumps(document(figures, sizes, runs), indent=1))
    return report


def main() -> None:
    """Measure, print the table and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (3)")
    parser.add_argument(
        "--skip-large", action="store_true", help="files of 10 MiB, not 100 MiB (quick run)"
    )
    options = parser.parse_args()
    sizes = Sizes(large=(10 if options.skip_large else 100) * MIB)
    with tempfile.TemporaryDirectory(prefix="check-bench-") as temporary:
        figures = measure(Path(temporary), sizes, options.runs)
    print(write_results(RESULTS_DIR, figures, sizes, options.runs))


if __name__ == "__main__":
    main()
