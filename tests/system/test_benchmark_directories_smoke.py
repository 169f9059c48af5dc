"""The directories benchmark's code runs end to end on our grid with tiny counts (no timings)."""

import json
import math
from pathlib import Path

import pytest

from benchmarks.directories import Counts, measure_ours, write_results
from benchmarks.mutable import compare

pytestmark = pytest.mark.slow

TINY = Counts(entries=5, adds=2, files=6, backup_files=150, file_size=1024)


def test_benchmark_functions_give_well_formed_results(tmp_path: Path) -> None:
    """One run on ``grid local`` gives every figure, finite and positive, in the table and JSON."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    rows = compare(measure_ours(scratch, TINY, runs=1), None)
    names = [row.name for row in rows]
    assert names == [
        "add a 1 KiB file to a 5-entry directory (web PUT /uri/$DIRCAP/name, median of 2)",
        "grid cp -r of 6 1 KiB files into the grid",
        "grid ls of a 6-entry directory",
        "GET /uri/$DIRCAP?t=json of a 6-entry directory",
        "second grid backup of an unchanged tree of 150 files",
    ]
    assert [row.unit for row in rows] == ["ms", "files/s", "s", "s", "s"]
    assert all(math.isfinite(row.ours) and row.ours > 0 for row in rows)
    assert all(row.tahoe is None and row.ratio is None for row in rows)
    results = tmp_path / "results"
    report = write_results(results, rows, TINY, runs=1)
    assert report == (results / "directories.md").read_text()
    assert all(f"| {name} |" in report for name in names)
    saved = json.loads((results / "directories.json").read_text())
    assert saved["counts"] == {
        "entries": 5,
        "adds": 2,
        "files": 6,
        "backup_files": 150,
        "file_size": 1024,
        "backup_file_size": 32,
    }
    assert [row["name"] for row in saved["rows"]] == names
    assert [row["ours"] for row in saved["rows"]] == [row.ours for row in rows]
