"""Throughput of offline CHK encoding next to zfec's own encode rate, one process.

Run with ``make bench`` (or ``python -m benchmarks.encode_chk [--mib N]``).
Every figure is the median of several runs over fresh random data; the
report prints MB/s and each pipeline figure as a fraction of zfec's
single-core rate measured in the same run, and writes JSON and Markdown to
``benchmarks/results/``.
"""

import argparse
import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import zfec

from grid.chk_encode import convergent_key, encode_chk, plaintext_segments
from grid.chk_plan import DEFAULT_MAX_SEGMENT_SIZE, ChkPlan
from grid.crypto.aes import aes_ctr

RESULTS_DIR = Path(__file__).parent / "results"
NEEDED, TOTAL = 3, 10


class _DiscardSink:
    """Counts the share bytes the encoder produces and keeps none of them."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, shnum: int, offset: int, data: bytes) -> None:
        self.written += len(data)


def median_rate(size: int, runs: int, measure: Callable[[bytes], None]) -> float:
    """Run ``measure`` over fresh random data ``runs`` times; return median MB/s."""
    rates = []
    for _ in range(runs):
        data = os.urandom(size)
        start = time.perf_counter()
        measure(data)
        rates.append(size / (time.perf_counter() - start) / 1e6)
    return statistics.median(rates)


def zfec_encode(data: bytes) -> None:
    """zfec-encode every full 1 MiB segment of ``data`` (k=3, N=10) on this thread."""
    encoder = zfec.Encoder(NEEDED, TOTAL)
    plan = ChkPlan(size=len(data), needed=NEEDED, total=TOTAL)
    view = memoryview(data)
    block = plan.block_size
    for index in range(plan.num_segments - 1):
        start = index * plan.segment_size
        encoder.encode([view[start + i * block : start + (i + 1) * block] for i in range(NEEDED)])


def sha256(data: bytes) -> None:
    """SHA-256 over ``data`` in 1 MiB chunks."""
    view = memoryview(data)
    for start in range(0, len(data), 1 << 20):
        hashlib.sha256(view[start : start + (1 << 20)]).digest()


def aes(data: bytes) -> None:
    """AES-128-CTR over ``data`` in 1 MiB chunks."""
    view = memoryview(data)
    for start in range(0, len(data), 1 << 20):
        aes_ctr(b"\x01" * 16, view[start : start + (1 << 20)], start)


def _pipeline(workers: int, convergent: bool) -> Callable[[bytes], None]:
    def measure(data: bytes) -> None:
        plan = ChkPlan(size=len(data), needed=NEEDED, total=TOTAL)
        key = (
            convergent_key(b"secret", plan, plaintext_segments(plan, data))
            if convergent
            else b"\x02" * 16
        )
        sink = _DiscardSink()
        if workers == 0:
            encode_chk(key, plan, plaintext_segments(plan, data), sink)
            return
        with ThreadPoolExecutor(max_workers=workers) as executor:
            encode_chk(key, plan, plaintext_segments(plan, data), sink, executor=executor)

    return measure


def main() -> None:
    """Measure, print a table, and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=100, help="plaintext size in MiB (100)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (3)")
    options = parser.parse_args()
    size = options.mib * 1024 * 1024
    blocks = {
        "zfec encode 3-of-10, 1 MiB segments, one core": zfec_encode,
        "SHA-256, 1 MiB chunks": sha256,
        "AES-128-CTR, 1 MiB chunks": aes,
    }
    pipelines = {
        "encode-chk, fixed key, one thread": _pipeline(0, convergent=False),
        "encode-chk, fixed key, 2 worker threads": _pipeline(2, convergent=False),
        "encode-chk, convergent key (two passes), 2 worker threads": _pipeline(2, convergent=True),
    }
    rates = {name: median_rate(size, options.runs, run) for name, run in blocks.items()}
    zfec_rate = rates["zfec encode 3-of-10, 1 MiB segments, one core"]
    rows: list[tuple[str, float, float | None]] = [
        (name, rate, None) for name, rate in rates.items()
    ]
    for name, run in pipelines.items():
        rate = median_rate(size, options.runs, run)
        rows.append((name, rate, rate / zfec_rate))
    title = (
        f"# encode-chk on {options.mib} MiB (k={NEEDED}, N={TOTAL}, "
        f"max segment {DEFAULT_MAX_SEGMENT_SIZE} B), median of {options.runs}"
    )
    lines = [
        title,
        "",
        "| what | MB/s | fraction of zfec's one-core rate |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {rate:.0f} | {'' if ratio is None else f'{ratio:.0%}'} |"
        for name, rate, ratio in rows
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "encode_chk.md").write_text(report)
    (RESULTS_DIR / "encode_chk.json").write_text(
        json.dumps(
            {
                "mib": options.mib,
                "runs": options.runs,
                "cpus": os.cpu_count(),
                "results": [
                    {"name": name, "mb_per_s": rate, "fraction_of_zfec": ratio}
                    for name, rate, ratio in rows
                ],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
