"""Node processes started by ``grid local``: start, watch, stop, report.

Rules: each node runs as ``grid run NODEDIR`` in a session (and so a process
group) of its own, so a Ctrl-C at the terminal reaches only ``grid local``,
which then stops its nodes itself. A node's stdout and stderr are appended to
``NODEDIR/logs/process.log``; its stdin is ``/dev/null``. Stopping sends
SIGTERM to every group at once, waits for all of them up to one deadline, then
SIGKILLs the groups still alive and reaps them: a :class:`ProcessGroup` stops
exactly the processes it started, by pid, and leaves none behind; it can list
them in a pid file of ``NAME PID`` lines. Waiting for
readiness polls a condition and fails with :class:`NodeStartError`, naming the
node, as soon as any node exits or the deadline passes. Time comes from an
injected clock; the pause between polls is an injected ``pause`` (an
``Event.wait`` in the command, so a stop request ends it early).
"""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from grid.errors import GridError

STOP_TIMEOUT = 15.0
PID_FIELDS = 2
POLL_INTERVAL = 0.2
TAIL_LINES = 15


class NodeStartError(GridError, RuntimeError):
    """A node exited, or did not become ready in time, while the grid was starting."""

    def __init__(self, message: str, log_path: Path) -> None:
        """Record what went wrong and where the node's output is."""
        super().__init__(message)
        self.log_path = log_path


class StopRequested(GridError):  # noqa: N818  a request, not a failure; named for what happened
    """The user asked ``grid local`` to stop (SIGINT or SIGTERM) while it was waiting."""


def grid_command() -> list[str]:
    """The argv prefix that runs the ``grid`` command with this interpreter's installation."""
    script = Path(sys.executable).with_name("grid")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from grid.cli.main import main; sys.exit(main())"]


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


@attrs.define
class NodeProcess:
    """One running ``grid run`` process and where its output goes."""

    name: str
    node_dir: Path
    process: "subprocess.Popen[bytes]"

    @property
    def log_path(self) -> Path:
        """The file holding the node's stdout and stderr."""
        return process_log_path(self.node_dir)

    @property
    def pid(self) -> int:
        """The node's pid (also its process group id)."""
        return self.process.pid

    def signal_group(self, signal_number: int) -> None:
        """Send a signal to the node's process group, if it still exists."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal_number)


def running_recorded_pids(path: Path) -> list[int]:
    """The pids in a pid file (``NAME PID`` lines) that belong to live processes."""
    if not path.is_file():
        return []
    fields = (line.split() for line in path.read_text().splitlines())
    pids = [int(parts[1]) for parts in fields if len(parts) == PID_FIELDS and parts[1].isdigit()]
    return [pid for pid in pids if _is_alive(pid)]


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_log_path(node_dir: Path) -> Path:
    """Where a node started by ``grid local`` writes its stdout and stderr."""
    return node_dir / "logs" / "process.log"


class ProcessGroup:
    """The node processes of one ``grid local`` run; stops exactly those."""

    def __init__(
        self, clock: Callable[[], float], pause: Callable[[float], object], grid_argv: Sequence[str]
    ) -> None:
        """Remember the clock, how to pause between polls, and how to run ``grid``."""
        self.clock = clock
        self.pause = pause
        self.grid_argv = list(grid_argv)
        self.nodes: list[NodeProcess] = []

    def start(self, name: str, node_dir: Path) -> NodeProcess:
        """Start ``grid run node_dir`` in its own session, output appended to its log."""
        log_path = process_log_path(node_dir)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(  # noqa: S603  our own command and node directory
                [*self.grid_argv, "run", str(node_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        node = NodeProcess(name, node_dir, process)
        self.nodes.append(node)
        return node

    def exited(self) -> NodeProcess | None:
        """The first node that has exited, if any."""
        return next((node for node in self.nodes if node.process.poll() is not None), None)

    def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        what: str,
        blame: Callable[[], NodeProcess],
        timeout: float,
    ) -> None:
        """Poll ``condition`` until true; raise if any node exits or ``timeout`` passes.

        On a timeout the error names the node ``blame`` returns then. ``pause``
        returning true means a stop was requested: :class:`StopRequested`.
        """
        deadline = self.clock() + timeout
        while not condition():
            self.check_running(f"waiting for {what}")
            if self.clock() > deadline:
                node = blame()
                raise NodeStartError(
                    f"{node.name} ({node.node_dir}) not ready within {timeout:g} s "
                    f"(waited for {what})",
                    node.log_path,
                )
            if self.pause(POLL_INTERVAL):
                raise StopRequested

    def check_running(self, during: str) -> None:
        """Raise :class:`NodeStartError` naming the first node that has exited."""
        gone = self.exited()
        if gone is not None:
            raise NodeStartError(
                f"{gone.name} ({gone.node_dir}) exited with status "
                f"{gone.process.returncode} while {during}",
                gone.log_path,
            )

    def write_pid_file(self, path: Path) -> None:
        """Write one ``NAME PID`` line per node started, so others can see what runs."""
        path.write_text("".join(f"{node.name} {node.pid}\n" for node in self.nodes))

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every node's group, wait up to ``timeout`` in all, SIGKILL the rest, reap."""
        for node in self.nodes:
            if node.process.poll() is None:
                node.signal_group(signal.SIGTERM)
        deadline = self.clock() + timeout
        for node in self.nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(max(0.0, deadline - self.clock()))
        for node in self.nodes:
            if node.process.poll() is None:
                node.signal_group(signal.SIGKILL)
                node.process.wait()
        self.nodes.clear()
