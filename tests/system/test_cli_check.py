"""``grid check`` and ``grid deep-check`` as a user runs them, and the lines they print.

The first tests word made-up gateway answers (pure). The rest start real
``grid`` processes (an introducer, three storage nodes, a client; 3-of-10)
and damage shares by changing the storage nodes' share files on disk.
"""

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from grid.base32 import b2a
from grid.caps import parse_cap
from grid.cli.check import DeepCheckOutput, DeepCheckReport, format_check
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from tests.interop.tahoe_nodes import NodeSupervisor
from tests.system.grid_processes import GRID, LocalGrid, start_grid

CONTAINER_HEADER_SIZE = 12
SERVER = "v0-" + "a" * 52
SI = "b" * 26


def _check_json(good: int, *, corrupt: int = 0) -> dict[str, object]:
    return {
        "storage-index": SI,
        "summary": "Healthy" if good == 10 else f"Not Healthy: {good} shares (enc 3-of-10)",
        "results": {
            "healthy": good == 10,
            "count-shares-good": good,
            "count-shares-needed": 3,
            "count-shares-expected": 10,
            "count-wrong-shares": 0,
            "list-corrupt-shares": [[SERVER, SI, shnum] for shnum in range(corrupt)],
        },
    }


def test_check_lines_are_tahoes() -> None:
    """A check prints Summary, storage index, good and wrong shares, corrupt shares."""
    assert format_check(_check_json(9, corrupt=1), repair=False) == [
        "Summary: Not Healthy: 9 shares (enc 3-of-10)",
        f" storage index: {SI}",
        " good-shares: 9 (encoding is 3-of-10)",
        " wrong-shares: 0",
        " corrupt shares:",
        f"  server {SERVER}, SI {SI}, shnum 0",
    ]
    literal = {"storage-index": "", "results": {"healthy": True}}
    assert format_check(literal, repair=False) == ["Summary: Healthy (LIT)", " storage index: "]


def test_check_and_repair_lines_are_tahoes() -> None:
    """With --repair: healthy/not healthy before repair, then whether the repair worked."""
    answer = {
        "storage-index": SI,
        "repair-attempted": True,
        "repair-successful": True,
        "pre-repair-results": _check_json(7),
        "post-repair-results": _check_json(10),
    }
    assert format_check(answer, repair=True) == [
        "Summary: not healthy",
        f" storage index: {SI}",
        " good-shares: 7 (encoding is 3-of-10)",
        " wrong-shares: 0",
        " repair successful",
    ]
    literal = {"storage-index": "", "repair-attempted": False}
    assert format_check(literal, repair=True) == ["Summary: healthy", " storage index: "]


def test_deep_check_report_counts_and_words_objects() -> None:
    """Verbose deep-check: one quoted path per object, corrupt shares, the done line."""
    report = DeepCheckReport(repair=False, verbose=True)
    units = [
        {"type": "directory", "path": [], "storage-index": SI, "check-results": _check_json(10)},
        {"type": "file", "path": ["a b"], "check-results": {"results": {"healthy": True}}},
        {"type": "file", "path": ["d", "it's"], "check-results": _check_json(9, corrupt=1)},
        {"type": "stats", "stats": {}},
    ]
    lines = [line for unit in units for line in report.add(unit)]
    assert lines == [
        "'<root>': Healthy",
        "'a b': Healthy (LIT)",
        '"d/it\'s": Not Healthy: 9 shares (enc 3-of-10)',
        f" corrupt: server {SERVER}, SI {SI}, shnum 0",
    ]
    assert report.done() == ["done: 3 objects checked, 2 healthy, 1 unhealthy"]


def test_deep_check_and_repair_report_counts_repairs() -> None:
    """With --repair: pre/post-repair health and repair counts; LIT files count healthy."""
    report = DeepCheckReport(repair=True, verbose=False)
    repaired = {
        "repair-attempted": True,
        "repair-successful": True,
        "pre-repair-results": _check_json(7),
        "post-repair-results": _check_json(10),
    }
    literal = {"storage-index": "", "repair-attempted": False}
    lines = report.add({"type": "file", "path": ["x"], "storage-index": SI,
                        "check-and-repair-results": repaired})  # fmt: skip
    lines += report.add({"type": "file", "path": ["l"], "storage-index": "",
                         "check-and-repair-results": literal})  # fmt: skip
    assert lines == [" repair successful"]
    assert report.done() == [
        "done: 2 objects checked",
        " pre-repair: 1 healthy, 1 unhealthy",
        " 1 repairs attempted, 1 successful, 0 failed",
        " post-repair: 2 healthy, 0 unhealthy",
    ]


def test_progress_off_a_terminal_is_tahoes_marker_every_hundred_objects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a terminal, progress is Tahoe's 'N objects checked..' line on stdout."""
    output = DeepCheckOutput(live=False, stderr=io.StringIO())
    for count in range(1, 251):
        output.objects_checked(count)
    output.close()
    assert capsys.readouterr().out == "100 objects checked..\n200 objects checked..\n"


def test_progress_on_a_terminal_is_a_live_line_erased_before_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On a terminal, a live count on stderr, erased before each printed line and at the end."""
    stderr = io.StringIO()
    now = [0.0]
    output = DeepCheckOutput(live=True, stderr=stderr, clock=lambda: now[0])
    output.objects_checked(1)
    now[0] = 1.0
    output.objects_checked(2)
    output.print(["'x': Healthy"])
    now[0] = 2.0
    output.objects_checked(3)
    output.close()
    assert stderr.getvalue() == (
        "\rdeep-check: 2 objects checked\r\x1b[K\rdeep-check: 3 objects checked\r\x1b[K"
    )
    assert capsys.readouterr().out == "'x': Healthy\n"


@pytest.fixture(scope="module")
def local_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGrid]:
    """A running grid of real processes with a ``tahoe:`` alias."""
    supervisor = NodeSupervisor()
    try:
        started = start_grid(
            supervisor, tmp_path_factory.mktemp("check-grid"), storage_nodes=3, happy=3
        )
        created = cli(started.client_dir, "create-alias", "tahoe")
        assert created.returncode == 0, created.stderr
        yield started
    finally:
        supervisor.stop_all()


def cli(node_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``grid -d NODE_DIR ARGV...`` as a user would."""
    return subprocess.run(  # noqa: S603  our own console script
        [str(GRID), "-d", str(node_dir), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def ok(node_dir: Path, *argv: str) -> list[str]:
    """Run a command that must succeed and print nothing on stderr; its stdout lines."""
    result = cli(node_dir, *argv)
    assert result.returncode == 0, f"grid {' '.join(argv)}: {result.stderr}"
    assert result.stderr == ""
    return result.stdout.splitlines()


def _share_files(grid: LocalGrid, cap: str) -> list[Path]:
    index = parse_cap(cap).storage_index
    assert index is not None
    text = b2a(index)
    return sorted(
        path
        for storage in grid.storage_dirs
        for path in (storage / "storage" / "shares" / text[:2] / text).glob("*")
    )


def _put(grid: LocalGrid, tmp_path: Path, where: str, data: bytes) -> str:
    source = tmp_path / "upload"
    source.write_bytes(data)
    (cap,) = ok(grid.client_dir, "put", str(source), where)
    return cap


@pytest.mark.slow
def test_check_one_file_and_errors(local_grid: LocalGrid, tmp_path: Path) -> None:
    """The check command prints Tahoe's lines, --raw the JSON; an error is one line, exit 1."""
    node = local_grid.client_dir
    cap = _put(local_grid, tmp_path, "tahoe:one/big.bin", b"big file " * 1000)
    _put(local_grid, tmp_path, "tahoe:one/lit", b"tiny")
    index = b2a(parse_cap(cap).storage_index or b"")
    assert ok(node, "check", "tahoe:one/big.bin") == [
        "Summary: Healthy",
        f" storage index: {index}",
        " good-shares: 10 (encoding is 3-of-10)",
        " wrong-shares: 0",
    ]
    assert ok(node, "check", "--verify", "--add-lease", cap)[0] == "Summary: Healthy"
    assert ok(node, "check", "one/lit") == ["Summary: Healthy (LIT)", " storage index: "]
    assert ok(node, "check", "tahoe:one")[0] == "Summary: Healthy"
    raw = json.loads("\n".join(ok(node, "check", "--raw", "one/big.bin")))
    assert raw["results"]["count-shares-good"] == 10
    for argv in (["check", "tahoe:one/missing"], ["deep-check", "nosuch:"]):
        failed = cli(node, *argv)
        assert failed.returncode == 1
        assert failed.stdout == ""
        assert len(failed.stderr.strip().splitlines()) == 1
        assert failed.stderr.startswith("grid: error: ")


@pytest.mark.slow
def test_deep_check_finds_damage_repairs_it_and_then_all_is_healthy(
    local_grid: LocalGrid, tmp_path: Path
) -> None:
    """Deep-check reports lost and corrupt shares, --repair repairs them, then all is healthy."""
    node = local_grid.client_dir
    ok(node, "mkdir", "tahoe:tree")
    _put(local_grid, tmp_path, "tahoe:tree/fine.bin", b"fine " * 2000)
    _put(local_grid, tmp_path, "tahoe:tree/lit", b"tiny")
    lost = _put(local_grid, tmp_path, "tahoe:tree/sub/lost.bin", b"lost " * 2000)
    corrupt = _put(local_grid, tmp_path, "tahoe:tree/sub/corrupt.bin", b"rot " * 2000)
    lost_files = _share_files(local_grid, lost)
    for path in lost_files[:2]:
        path.unlink()
    corrupt_file = _share_files(local_grid, corrupt)[0]
    data = bytearray(corrupt_file.read_bytes())
    layout = parse_share(parse_container(bytes(data)).share_data).layout
    data[CONTAINER_HEADER_SIZE + layout.data + 3] ^= 0x01
    corrupt_file.write_bytes(bytes(data))

    lines = ok(node, "deep-check", "-v", "tahoe:tree")
    assert lines == [
        "'<root>': Healthy",
        "'fine.bin': Healthy",
        "'lit': Healthy (LIT)",
        "'sub': Healthy",
        "'sub/corrupt.bin': Healthy",
        "'sub/lost.bin': Not Healthy: 8 shares (enc 3-of-10)",
        "done: 6 objects checked, 5 healthy, 1 unhealthy",
    ]
    verified = ok(node, "deep-check", "--verify", "tree")
    assert len([line for line in verified if line.startswith(" corrupt: server v0-")]) == 1
    assert verified[-1] == "done: 6 objects checked, 4 healthy, 2 unhealthy"
    raw = [json.loads(line) for line in ok(node, "deep-check", "--raw", "tree")]
    assert raw[-1]["type"] == "stats"
    assert len(raw) == 7

    repaired = ok(node, "deep-check", "--verify", "--repair", "tree")
    assert repaired.count(" repair successful") == 2
    assert repaired[-4:] == [
        "done: 6 objects checked",
        " pre-repair: 4 healthy, 2 unhealthy",
        " 2 repairs attempted, 2 successful, 0 failed",
        " post-repair: 6 healthy, 0 unhealthy",
    ]
    assert ok(node, "deep-check", "tree") == ["done: 6 objects checked, 6 healthy, 0 unhealthy"]
    assert ok(node, "check", "tree/sub/lost.bin")[0] == "Summary: Healthy"
