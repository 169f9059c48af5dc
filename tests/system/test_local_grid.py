"""``grid local``: one command creates, runs and stops a whole grid of real processes.

No node may outlive ``grid local``: the pids it records in ``DIR/local-grid.pids``
while running must all be gone once it exits, and no process on the machine may
still name DIR on its command line (checked through ``/proc`` where there is one).
"""

import os
import queue
import signal
import socket
import subprocess
import threading
from pathlib import Path

import attrs
import pytest

from grid.cli.local_grid import LocalGridError, existing_layout
from tests.interop.tahoe_nodes import LOOPBACK, free_port
from tests.system.grid_processes import GRID, grid

READY_TIMEOUT = 180.0
EXIT_TIMEOUT = 60.0


class GridLocal:
    """A running ``grid local`` process whose stdout lines a thread collects."""

    def __init__(self, grid_dir: Path, *options: str) -> None:
        """Start ``grid local grid_dir OPTIONS``."""
        self.process = subprocess.Popen(  # noqa: S603  our own console script
            [str(GRID), "local", str(grid_dir), *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        if stdout is not None:
            for line in stdout:
                self.lines.put(line)
        self.lines.put(None)

    def wait_ready(self) -> None:
        """Block until the 'Local grid ready' line; fail with the output if it never comes."""
        while True:
            line = self.lines.get(timeout=READY_TIMEOUT)
            if line is None:
                self.process.wait(EXIT_TIMEOUT)
                stderr = self.process.stderr.read() if self.process.stderr else ""
                pytest.fail(f"grid local ended early:\n{''.join(self.seen)}\n{stderr}")
            self.seen.append(line)
            if line.startswith("Local grid ready"):
                return

    def stop(self, signal_number: int) -> int:
        """Signal grid local itself, collect the rest of its output, return its exit status."""
        self.process.send_signal(signal_number)
        status = self.process.wait(EXIT_TIMEOUT)
        while (line := self.lines.get(timeout=EXIT_TIMEOUT)) is not None:
            self.seen.append(line)
        return status

    def kill(self) -> None:
        """Clean up after a failed test: end grid local (which then stops its nodes)."""
        if self.process.poll() is None:
            self.stop(signal.SIGTERM)


@attrs.frozen
class FinishedRun:
    """What one ``grid local`` run left behind."""

    exit_status: int
    recorded_pids: tuple[int, ...]
    output: str


def recorded_pids(grid_dir: Path) -> tuple[int, ...]:
    """The node pids grid local wrote into DIR/local-grid.pids."""
    lines = (grid_dir / "local-grid.pids").read_text().splitlines()
    return tuple(int(line.split()[1]) for line in lines)


def is_alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def processes_naming(path: Path) -> list[int]:
    """Pids of processes whose command line mentions ``path`` (empty without /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in text:
            found.append(int(cmdline.parent.name))
    return found


def run_round_trip(
    grid_dir: Path, data: bytes, cap: str | None, stop_with: int
) -> tuple[str, FinishedRun]:
    """Run grid local, upload ``data`` (or fetch ``cap``), check the bytes, then stop it."""
    local = GridLocal(grid_dir, "--storage-nodes", "3", "--web-port", str(free_port()))
    try:
        local.wait_ready()
        pids = recorded_pids(grid_dir)
        client = str(grid_dir / "client")
        if cap is None:
            put = grid("-d", client, "put", "-", stdin=data)
            assert put.returncode == 0, put.stderr
            cap = put.stdout.decode().strip()
        got = grid("-d", client, "get", cap)
        assert got.returncode == 0, got.stderr
        assert got.stdout == data
        status = local.stop(stop_with)
    finally:
        local.kill()
    return cap, FinishedRun(status, pids, "".join(local.seen))


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for a local grid, shared by the tests that run it in turn."""
    return tmp_path_factory.mktemp("local") / "grid"


@pytest.fixture(scope="module")
def first_run(grid_dir: Path) -> tuple[bytes, str, FinishedRun]:
    """The first run on a new DIR: creates 3 storage nodes, uploads, stops with SIGINT."""
    data = os.urandom(300_000)
    cap, finished = run_round_trip(grid_dir, data, None, signal.SIGINT)
    return data, cap, finished


@pytest.mark.slow
def test_first_run_creates_serves_and_stops_on_sigint(
    grid_dir: Path, first_run: tuple[bytes, str, FinishedRun]
) -> None:
    """A new DIR gets 5 nodes; put and get work; SIGINT exits 0 and leaves no node running."""
    _, cap, finished = first_run
    assert cap.startswith("URI:CHK:")
    assert finished.exit_status == 0
    assert len(finished.recorded_pids) == 5
    assert not [pid for pid in finished.recorded_pids if is_alive(pid)]
    assert processes_naming(grid_dir) == []
    assert not (grid_dir / "local-grid.pids").exists()
    assert {p.name for p in grid_dir.iterdir()} == {
        "introducer",
        "storage1",
        "storage2",
        "storage3",
        "client",
    }
    assert f"grid -d {grid_dir / 'client'} put FILE" in finished.output
    assert finished.output.endswith("Local grid stopped.\n")


@pytest.mark.slow
def test_second_run_reuses_the_directory_and_stops_on_sigterm(
    grid_dir: Path, first_run: tuple[bytes, str, FinishedRun]
) -> None:
    """Re-running on the same DIR keeps the nodes (same keys, same shares) and SIGTERM exits 0."""
    data, cap, _ = first_run
    pubkey = (grid_dir / "client" / "node.pubkey").read_bytes()
    _, finished = run_round_trip(grid_dir, data, cap, signal.SIGTERM)
    assert finished.exit_status == 0
    assert (grid_dir / "client" / "node.pubkey").read_bytes() == pubkey
    assert not (grid_dir / "storage4").exists()
    assert not [pid for pid in finished.recorded_pids if is_alive(pid)]
    assert processes_naming(grid_dir) == []


@pytest.mark.slow
def test_taken_web_port_is_one_line_and_exit_status_1(tmp_path: Path) -> None:
    """A web port something already listens on stops grid local before it creates anything."""
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = grid("local", str(tmp_path / "grid"), "--web-port", str(port))
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert f"web port {port}" in lines[0]
    assert "already in use" in lines[0]
    assert not (tmp_path / "grid").exists()


def test_existing_layout_is_none_for_a_missing_or_empty_dir(tmp_path: Path) -> None:
    """A missing or empty DIR is a grid still to be created."""
    assert existing_layout(tmp_path / "missing") is None
    assert existing_layout(tmp_path) is None


def test_existing_layout_refuses_a_dir_holding_something_else(tmp_path: Path) -> None:
    """A non-empty DIR without client/tahoe.cfg is refused, never half-reused."""
    (tmp_path / "introducer").mkdir()
    with pytest.raises(LocalGridError, match="not a complete local grid"):
        existing_layout(tmp_path)


def test_existing_layout_counts_the_storage_nodes(tmp_path: Path) -> None:
    """A complete DIR is reused with as many storage nodes as it holds."""
    for name in ("client", "storage1", "storage2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "tahoe.cfg").write_text("[node]\n")
    layout = existing_layout(tmp_path)
    assert layout is not None
    assert layout.storage_dirs == (tmp_path / "storage1", tmp_path / "storage2")
