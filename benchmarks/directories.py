"""Directories end to end: adding a file, listing, ``grid cp -r`` and a second ``grid backup``.

Run with ``python -m benchmarks.directories [--runs R] [--files N] [--skip-tahoe]``.

Rules: the grid is ``grid local DIR --storage-nodes 10`` (k=3, happy=7,
N=10) run as a subprocess, then (unless ``--skip-tahoe``) a Tahoe-LAFS 1.20
grid of the same shape (:mod:`benchmarks.tahoe_grid`); each gets the same
HTTP calls and the same ``grid`` commands (ours, pointed at that client's
node directory, under an alias made by ``grid create-alias``). The figures:

- adding a small file to a directory of 100 entries (``PUT
  /uri/$DIRCAP/name``): the median latency of 20 adds, each to a new
  directory made by ``t=mkdir-with-children`` (untimed) whose 100 entries
  link one small file;
- ``grid cp -r`` of a local directory of 1,000 small files into the grid,
  in files per second (each run copies new random files);
- listing that 1,000-entry directory with ``grid ls`` and with ``GET
  /uri/$DIRCAP?t=json``;
- a second ``grid backup`` of an unchanged tree of 10,000 tiny files (100 per
  directory; ``--files`` to shrink it). The first backup is untimed setup;
  its files are 32 bytes, literal files in both grids, because a second
  backup reads no file: the figure is the backup database, the directory
  hashing and the two links, whatever the files hold.

Small files are 1 KiB of fresh random data, above Tahoe's 55-byte limit for
literal files, so each is a real upload. Every result is verified untimed:
an added file reads back, the copy lists every name at its size and sample
files read back, ``grid ls`` prints every name, a second backup reports
nothing uploaded and no directory created. Every figure but the add
latency is the median of ``--runs`` runs (listings: at least five). The
table (ours, Tahoe, ours / Tahoe) is printed and written with the raw
figures as Markdown and JSON to ``benchmarks/results/``. Measured, never
asserted.
"""

import argparse
import functools
import http.client
import json
import os
import statistics
import subprocess
import tempfile
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from benchmarks.local_grid import (
    GRID,
    HAPPY,
    KIB,
    LATENCY_RUNS_MIN,
    NEEDED,
    RESULTS_DIR,
    STORAGE_NODES,
    TOTAL,
    BenchmarkError,
    running_grid,
    timed,
)
from benchmarks.mutable import Figure, Row, compare, size_label
from benchmarks.tahoe_grid import running_tahoe_grid
from grid.cli.aliases import read_aliases
from tests.interop.tahoe_env import TAHOE_VERSION

HTTP_TIMEOUT = 1800.0
CLI_TIMEOUT = 3600.0
ALIAS = "bench"
COPIED_DIRECTORY = "files"
BACKUP_FILE_SIZE = 32
BACKUP_FILES_PER_DIRECTORY = 100
VERIFIED_SAMPLES = 3


@attrs.frozen
class Counts:
    """How much each figure works on."""

    entries: int = 100
    adds: int = 20
    files: int = 1000
    backup_files: int = 10_000
    file_size: int = KIB


@attrs.frozen
class Gateway:
    """A client node as the benchmark drives it: its web API and its node directory."""

    host: str
    port: int
    node_dir: Path


def exchange(
    gateway: Gateway,
    method: str,
    cap: str = "",
    path: str = "",
    *,
    query: str = "",
    body: bytes = b"",
) -> tuple[int, bytes]:
    """One request to ``/uri[/CAP[/PATH]][?QUERY]``; the status and the whole reply."""
    target = "/uri"
    if cap:
        target += "/" + urllib.parse.quote(cap, safe="")
    if path:
        target += "/" + urllib.parse.quote(path)
    if query:
        target += "?" + query
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=HTTP_TIMEOUT)
    try:
        connection.request(method, target, body=body or None)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def call(
    gateway: Gateway,
    method: str,
    cap: str = "",
    path: str = "",
    *,
    query: str = "",
    body: bytes = b"",
) -> bytes:
    """:func:`exchange`, which must succeed; the reply (errors name no cap)."""
    status, reply = exchange(gateway, method, cap, path, query=query, body=body)
    if not 200 <= status < 300:
        where = "/uri" + ("/CAP" if cap else "") + (f"/{path}" if path else "")
        where += f"?{query}" if query else ""
        raise BenchmarkError(f"{method} {where} answered {status}: {reply[:200]!r}")
    return reply


def upload(gateway: Gateway, contents: bytes) -> str:
    """``PUT /uri``: a new immutable file; its cap."""
    return call(gateway, "PUT", body=contents).decode("ascii").strip()


def make_directory(gateway: Gateway, children: Mapping[str, str]) -> str:
    """``POST /uri?t=mkdir-with-children``: a new directory linking each name to a file cap."""
    body = {name: ["filenode", {"ro_uri": cap}] for name, cap in children.items()}
    reply = call(gateway, "POST", query="t=mkdir-with-children", body=json.dumps(body).encode())
    return reply.decode("ascii").strip()


def listing(gateway: Gateway, cap: str, path: str = "") -> dict[str, Any]:
    """The children ``t=json`` lists for the directory at ``cap`` (and ``path`` under it)."""
    kind, details = json.loads(call(gateway, "GET", cap, path, query="t=json"))
    if kind != "dirnode":
        raise BenchmarkError(f"t=json describes a {kind}, not a directory")
    children: dict[str, Any] = details.get("children", {})
    return children


def cli(gateway: Gateway, *arguments: str) -> str:
    """Run ``grid -d NODE_DIR -q ARGUMENTS``, which must succeed; its output."""
    result = subprocess.run(  # noqa: S603  the project's own console script
        [str(GRID), "-d", str(gateway.node_dir), "-q", *arguments],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise BenchmarkError(f"grid {arguments[0]} failed: {result.stderr.strip()[:500]}")
    return result.stdout


def write_files(directory: Path, count: int, size: int) -> dict[str, bytes]:
    """``count`` new files of ``size`` random bytes in ``directory``, by name."""
    directory.mkdir(parents=True)
    contents = {f"file-{index:05}": os.urandom(size) for index in range(count)}
    for name, data in contents.items():
        (directory / name).write_bytes(data)
    return contents


def measure_add(gateway: Gateway, counts: Counts) -> Figure:
    """Median ms of ``PUT /uri/$DIRCAP/name`` of a small file into a directory of ``entries``."""
    filler = upload(gateway, os.urandom(counts.file_size))
    names = {f"entry-{index:04}": filler for index in range(counts.entries)}
    latencies = []
    for _ in range(counts.adds):
        directory = make_directory(gateway, names)
        contents = os.urandom(counts.file_size)
        seconds, _ = timed(
            functools.partial(call, gateway, "PUT", directory, "added", body=contents)
        )
        latencies.append(seconds)
        if call(gateway, "GET", directory, "added") != contents:
            raise BenchmarkError("a file added to a directory reads back other bytes")
        if len(listing(gateway, directory)) != counts.entries + 1:
            raise BenchmarkError("a directory does not list one more entry after an add")
    return Figure(
        f"add a {size_label(counts.file_size)} file to a {counts.entries}-entry directory "
        f"(web PUT /uri/$DIRCAP/name, median of {counts.adds})",
        "ms",
        False,
        statistics.median(latencies) * 1e3,
    )


def _verify_copy(gateway: Gateway, directory: str, contents: dict[str, bytes]) -> None:
    children = listing(gateway, directory)
    sizes = {name: entry[1].get("size") for name, entry in children.items()}
    if sizes != {name: len(data) for name, data in contents.items()}:
        raise BenchmarkError("grid cp -r left other names or sizes than it copied")
    for name in sorted(contents)[:: max(1, len(contents) // VERIFIED_SAMPLES)]:
        if call(gateway, "GET", directory, name) != contents[name]:
            raise BenchmarkError(f"the copied {name} reads back other bytes")


def measure_copy(gateway: Gateway, scratch: Path, counts: Counts, runs: int) -> tuple[Figure, str]:
    """Files per second of ``grid cp -r`` of ``files`` small files; the last copy's dircap."""
    root = read_aliases(gateway.node_dir)[ALIAS]
    seconds_per_run, copied = [], ""
    for run in range(runs):
        source = scratch / f"copy-{run}" / COPIED_DIRECTORY
        contents = write_files(source, counts.files, counts.file_size)
        seconds, _ = timed(
            functools.partial(cli, gateway, "cp", "-r", str(source), f"{ALIAS}:copy-{run}")
        )
        seconds_per_run.append(seconds)
        entry = listing(gateway, root, f"copy-{run}").get(COPIED_DIRECTORY)
        if entry is None or entry[0] != "dirnode":
            raise BenchmarkError(f"grid cp -r made no {COPIED_DIRECTORY}/ in copy-{run}")
        copied = entry[1]["rw_uri"]
        _verify_copy(gateway, copied, contents)
    figure = Figure(
        f"grid cp -r of {counts.files:,} {size_label(counts.file_size)} files into the grid",
        "files/s",
        True,
        counts.files / statistics.median(seconds_per_run),
    )
    return figure, copied


def measure_listing(gateway: Gateway, directory: str, counts: Counts, runs: int) -> list[Figure]:
    """Seconds of ``grid ls`` and of ``GET t=json`` of the ``files``-entry directory."""
    names = sorted(listing(gateway, directory))
    ls_times, json_times = [], []
    for _ in range(max(runs, LATENCY_RUNS_MIN)):
        seconds, output = timed(functools.partial(cli, gateway, "ls", directory))
        ls_times.append(seconds)
        if output.splitlines() != names:
            raise BenchmarkError("grid ls printed other names than the directory holds")
        seconds, children = timed(functools.partial(listing, gateway, directory))
        json_times.append(seconds)
        if sorted(children) != names:
            raise BenchmarkError("t=json listed other names than the directory holds")
    return [
        Figure(
            f"grid ls of a {counts.files:,}-entry directory",
            "s",
            False,
            statistics.median(ls_times),
        ),
        Figure(
            f"GET /uri/$DIRCAP?t=json of a {counts.files:,}-entry directory",
            "s",
            False,
            statistics.median(json_times),
        ),
    ]


def write_backup_tree(directory: Path, count: int) -> None:
    """``count`` tiny files, ``BACKUP_FILES_PER_DIRECTORY`` to a subdirectory of ``directory``."""
    for first in range(0, count, BACKUP_FILES_PER_DIRECTORY):
        in_this = min(BACKUP_FILES_PER_DIRECTORY, count - first)
        write_files(
            directory / f"dir-{first // BACKUP_FILES_PER_DIRECTORY:03}", in_this, BACKUP_FILE_SIZE
        )


def measure_backup(gateway: Gateway, scratch: Path, counts: Counts, runs: int) -> Figure:
    """Seconds of a second ``grid backup`` of an unchanged tree of ``backup_files`` files."""
    source = scratch / "backup-source"
    write_backup_tree(source, counts.backup_files)
    first = cli(gateway, "backup", str(source), f"{ALIAS}:backups")
    if not first.startswith(f"{counts.backup_files} files uploaded"):
        raise BenchmarkError(f"the first backup did not upload every file: {first.strip()}")
    unchanged = f"0 files uploaded ({counts.backup_files} reused)"
    seconds_per_run = []
    for _ in range(runs):
        seconds, summary = timed(
            functools.partial(cli, gateway, "backup", str(source), f"{ALIAS}:backups")
        )
        seconds_per_run.append(seconds)
        if not summary.startswith(unchanged) or " 0 directories created" not in summary:
            raise BenchmarkError(f"a second backup did work: {summary.strip()}")
    return Figure(
        f"second grid backup of an unchanged tree of {counts.backup_files:,} files",
        "s",
        False,
        statistics.median(seconds_per_run),
    )


def measure_gateway(gateway: Gateway, scratch: Path, counts: Counts, runs: int) -> list[Figure]:
    """Every figure of one client node, under a new ``bench:`` alias."""
    cli(gateway, "create-alias", ALIAS)
    add = measure_add(gateway, counts)
    copy, copied = measure_copy(gateway, scratch, counts, runs)
    listings = measure_listing(gateway, copied, counts, runs)
    return [add, copy, *listings, measure_backup(gateway, scratch, counts, runs)]


def measure_ours(scratch: Path, counts: Counts, runs: int) -> list[Figure]:
    """Start ``grid local`` under ``scratch``, measure it, stop it."""
    work = scratch / "ours"
    work.mkdir()
    with running_grid(scratch / "grid", scratch / "grid-local-output.log") as grid:
        return measure_gateway(Gateway(grid.host, grid.port, grid.client_dir), work, counts, runs)


def measure_tahoe(scratch: Path, counts: Counts, runs: int) -> list[Figure]:
    """Start a Tahoe 1.20 grid under ``scratch``, measure it, stop it."""
    base, work = scratch / "tahoe-grid", scratch / "tahoe"
    base.mkdir()
    work.mkdir()
    with running_tahoe_grid(base) as grid:
        gateway = Gateway(grid.host, grid.port, grid.client.node.node_dir)
        return measure_gateway(gateway, work, counts, runs)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if unit == "ms" else f"{value:,.2f}"


def render(rows: list[Row], runs: int) -> str:
    """The Markdown report."""
    lines = [
        (
            f"# Directories end to end (k={NEEDED}, happy={HAPPY}, N={TOTAL}, "
            f"{STORAGE_NODES} storage nodes on one machine, {os.cpu_count()} CPUs), "
            f"ours next to Tahoe-LAFS {TAHOE_VERSION}, median of {runs} "
            f"(listings: at least {LATENCY_RUNS_MIN})"
        ),
        "",
        "Same HTTP calls to each grid's client web API; the CLI is our `grid`, pointed at",
        "each client's node directory. The second backup's files are 32-byte literal files.",
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


def document(rows: list[Row], counts: Counts, runs: int) -> dict[str, Any]:
    """The JSON report: the grid's shape, the counts and every row."""
    return {
        "runs": runs,
        "listing_runs": max(runs, LATENCY_RUNS_MIN),
        "cpus": os.cpu_count(),
        "needed": NEEDED,
        "happy": HAPPY,
        "total": TOTAL,
        "storage_nodes": STORAGE_NODES,
        "tahoe_version": TAHOE_VERSION,
        "counts": {**attrs.asdict(counts), "backup_file_size": BACKUP_FILE_SIZE},
        "rows": [{**attrs.asdict(row), "ratio": row.ratio} for row in rows],
    }


def write_results(directory: Path, rows: list[Row], counts: Counts, runs: int) -> str:
    """Write ``directories.md`` and ``directories.json`` into ``directory``; the Markdown."""
    report = render(rows, runs)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "directories.md").write_text(report)
    (directory / "directories.json").write_text(json.dumps(document(rows, counts, runs), indent=1))
    return report


def main() -> None:
    """Measure our grid, then (unless skipped) Tahoe's; print the table and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (3)")
    parser.add_argument("--skip-tahoe", action="store_true", help="measure only our grid")
    parser.add_argument(
        "--files", type=int, default=10_000, help="files in the backed-up tree (10,000)"
    )
    options = parser.parse_args()
    counts = Counts(backup_files=options.files)
    with tempfile.TemporaryDirectory(prefix="directories-bench-") as temporary:
        scratch = Path(temporary)
        ours = measure_ours(scratch, counts, options.runs)
        tahoe = None if options.skip_tahoe else measure_tahoe(scratch, counts, options.runs)
    print(write_results(RESULTS_DIR, compare(ours, tahoe), counts, options.runs))


if __name__ == "__main__":
    main()
