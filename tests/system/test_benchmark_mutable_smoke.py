"""The mutable-file benchmark's code runs end to end on our grid with tiny sizes (no timings)."""

import json
import math
from pathlib import Path

import pytest

from benchmarks.mutable import Sizes, compare, measure_ours, write_results

pytestmark = pytest.mark.slow

TINY = Sizes(small=1024, large=300_000, patch=4096)


def test_benchmark_functions_give_well_formed_results(tmp_path: Path) -> None:
    """One run on ``grid local`` gives every figure, finite and positive, in the table and JSON."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    figures = measure_ours(scratch, TINY, runs=1)
    rows = compare(figures, None)
    names = [row.name for row in rows]
    assert names == [
        "create SDMF 1 KiB",
        "overwrite SDMF 1 KiB",
        "put MDMF 300,000 B",
        "get MDMF 300,000 B",
        "write 4 KiB in place at the middle of MDMF 300,000 B",
        "client peak RSS before the MDMF 300,000 B phase",
        "client peak RSS after the MDMF 300,000 B phase",
    ]
    assert all(math.isfinite(row.ours) and row.ours > 0 for row in rows)
    assert all(row.tahoe is None and row.ratio is None for row in rows)
    results = tmp_path / "results"
    report = write_results(results, rows, TINY, runs=1)
    assert report == (results / "mutable.md").read_text()
    table = [line for line in report.splitlines() if line.startswith("| ") and "MDMF" in line]
    assert len(table) == 5
    saved = json.loads((results / "mutable.json").read_text())
    assert saved["sizes"] == {"small": 1024, "large": 300_000, "patch": 4096}
    assert [row["name"] for row in saved["rows"]] == names
    assert [row["ours"] for row in saved["rows"]] == [row.ours for row in rows]
