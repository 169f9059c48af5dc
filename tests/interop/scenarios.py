"""The put / get / modify / check scenarios every interop grid is put through.

Rules: each scenario drives a Tahoe client only through the ``tahoe`` CLI, as a
user would, and compares what comes back byte for byte with what went in.
Contents are pseudo-random but fixed by a seed, so a failure reproduces.
"""

import random
from pathlib import Path

from tests.interop.tahoe_client import TahoeCli

LITERAL_LIMIT = 55
IMMUTABLE_SIZES = (0, 1, 56, 1 << 20, 5 << 20)
MUTABLE_FORMATS = ("SDMF", "MDMF")
MUTABLE_CAP_PREFIXES = {"SDMF": "URI:SSK:", "MDMF": "URI:MDMF:"}


def sample_bytes(size: int, seed: int) -> bytes:
    """``size`` reproducible pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def assert_healthy(cli: TahoeCli, cap: str, total: int) -> None:
    """``tahoe check --verify`` finds the file healthy, with all ``total`` shares if it has any."""
    report = cli.check(cap, verify=True)
    assert report.healthy, report
    if not cap.startswith("URI:LIT:"):
        assert report.shares_good == total, report
        assert report.shares_expected == total, report


def immutable_round_trip(cli: TahoeCli, work_dir: Path, size: int, total: int) -> None:
    """Put ``size`` bytes immutably, get them back identical, and check the file is healthy."""
    contents = sample_bytes(size, seed=size)
    source = work_dir / f"immutable-{size}.in"
    source.write_bytes(contents)
    cap = cli.put(source)
    expected_kind = "URI:LIT:" if size <= LITERAL_LIMIT else "URI:CHK:"
    assert cap.startswith(expected_kind), cap
    assert cli.get(cap, work_dir / f"immutable-{size}.out") == contents
    assert_healthy(cli, cap, total)


def mutable_round_trip(cli: TahoeCli, work_dir: Path, mutable_format: str, total: int) -> None:
    """Create a mutable file, read it, overwrite it with other contents, read and check it."""
    first = sample_bytes(1000, seed=1)
    second = sample_bytes(150_000, seed=2)
    source = work_dir / f"{mutable_format}-first.in"
    source.write_bytes(first)
    cap = cli.put(source, mutable_format=mutable_format)
    assert cap.startswith(MUTABLE_CAP_PREFIXES[mutable_format]), cap
    assert cli.get(cap, work_dir / f"{mutable_format}-first.out") == first
    source.write_bytes(second)
    cli.overwrite(source, cap)
    assert cli.get(cap, work_dir / f"{mutable_format}-second.out") == second
    assert_healthy(cli, cap, total)
