"""The check benchmark's code runs end to end on our grid with tiny sizes (no timings)."""

import json
import math
from pathlib import Path

import pytest

from benchmarks.check import Sizes, measure, write_results

pytestmark = pytest.mark.slow

TINY = Sizes(large=300_000, tree_files=12, small=1024)


def test_benchmark_functions_give_well_formed_results(tmp_path: Path) -> None:
    """One run on ``grid local`` gives every figure, finite and positive, in the table and JSON."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    figures = measure(scratch, TINY, runs=1)
    names = [figure.name for figure in figures]
    assert names[:3] == [
        "get 300,000 B",
        "verify 300,000 B (t=check&verify=true)",
        "repair 300,000 B missing 3 of 10 shares",
    ]
    assert len(names) == 4
    assert names[3].startswith("deep-check of 12 1 KiB files (")
    assert [figure.unit for figure in figures] == ["MB/s", "MB/s", "s", "files/s"]
    assert all(math.isfinite(figure.value) and figure.value > 0 for figure in figures)
    results = tmp_path / "results"
    report = write_results(results, figures, TINY, runs=1)
    assert report == (results / "check.md").read_text()
    assert all(f"| {name} |" in report for name in names)
    saved = json.loads((results / "check.json").read_text())
    assert saved["sizes"] == {"large": 300_000, "tree_files": 12, "small": 1024}
    assert [figure["name"] for figure in saved["figures"]] == names
    assert [figure["value"] for figure in saved["figures"]] == [figure.value for figure in figures]
