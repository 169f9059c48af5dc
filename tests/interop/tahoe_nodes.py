"""Create, start, wait for and stop real node processes on loopback.

Rules: every node the harness configures listens on 127.0.0.1 only, on a free
port drawn below the kernel's ephemeral range. (Tahoe 1.20 itself also opens
its log tub on an ephemeral port of all interfaces; nothing connects to it.)
A node runs as ``PROGRAM run DIR`` (``tahoe`` or our ``grid``, which take the
same flags) in a process group of its own, with its stdout and stderr in files
inside its directory and its stdin a pipe held open (``tahoe run`` exits when
stdin closes, so nodes also die with an aborted test run). A
:class:`NodeSupervisor` stops exactly the processes it started, by pid: SIGTERM
to the group, then SIGKILL after a timeout. Readiness is polled (a file
appearing, a port answering, the web API saying so) until a timeout; every
failure raises a :class:`HarnessError` carrying the node's log tails.
"""

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs

from tests.interop.tahoe_env import clean_environment

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 300.0
POLL_INTERVAL = 0.1
LOG_TAIL_LINES = 40
PORT_RANGE = (20000, 32768)  # below Linux's default ephemeral range, 32768-60999
PORT_ATTEMPTS = 100


class HarnessError(RuntimeError):
    """A node or a command started by the interop harness did not do what it should."""


class NodeCommandError(HarnessError):
    """A command (``create-node``, ``tahoe put``, ...) exited unsuccessfully or hung."""


class NodeStartError(HarnessError):
    """A node exited, or did not become ready in time, while being started."""


@attrs.frozen
class StorageServerInfo:
    """What a client needs to reach one storage server without an introducer."""

    server_id: str
    furl: str
    permutation_seed_b32: str
    nickname: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses right now, outside the ephemeral range.

    The port is only written into a config and bound later, so it is drawn
    below the kernel's ephemeral range: outgoing connections and Tahoe's own
    ephemeral listeners cannot take it in the meantime.
    """
    chooser = random.SystemRandom()
    for _ in range(PORT_ATTEMPTS):
        port = chooser.randrange(*PORT_RANGE)
        with socket.socket() as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                continue
        return port
    raise HarnessError(f"no free TCP port in {PORT_RANGE} after {PORT_ATTEMPTS} tries")


def port_answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return True
    except OSError:
        return False


def run_command(argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run one command to completion and return its stdout; raise on failure or timeout."""
    shown = " ".join(argv)
    try:
        result = subprocess.run(  # noqa: S603  argv built by the harness from its own paths
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=clean_environment(),
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as error:
        raise NodeCommandError(f"cannot run {shown}: {error}") from error
    except subprocess.TimeoutExpired as error:
        raise NodeCommandError(f"{shown} did not finish within {timeout} s") from error
    if result.returncode != 0:
        raise NodeCommandError(
            f"{shown} exited with status {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result.stdout


def read_storage_server_info(node_dir: Path, nickname: str) -> StorageServerInfo:
    """Read a started storage node's FURL, server id and permutation seed from its directory."""
    pubkey = (node_dir / "node.pubkey").read_text().strip()
    if not pubkey.startswith("pub-v0-"):
        raise HarnessError(f"{node_dir}/node.pubkey holds {pubkey!r}, not pub-v0-<base32>")
    return StorageServerInfo(
        server_id=pubkey.removeprefix("pub-"),
        furl=(node_dir / "private" / "storage.furl").read_text().strip(),
        permutation_seed_b32=(node_dir / "permutation-seed").read_text().strip(),
        nickname=nickname,
    )


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no file)"
    return "\n".join(text.splitlines()[-lines:])


class NodeProcess:
    """One node process the harness started; its output goes to files in its directory."""

    def __init__(self, name: str, node_dir: Path, process: "subprocess.Popen[bytes]") -> None:
        """Wrap a started process (see :meth:`NodeSupervisor.start`)."""
        self.name = name
        self.node_dir = node_dir
        self.process = process

    @property
    def stdout_path(self) -> Path:
        """The file receiving the node's stdout."""
        return self.node_dir / "harness-stdout.log"

    @property
    def stderr_path(self) -> Path:
        """The file receiving the node's stderr."""
        return self.node_dir / "harness-stderr.log"

    def exit_status(self) -> int | None:
        """The exit status if the process has ended, else None."""
        return self.process.poll()

    def log_tails(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the node's stdout and stderr, labelled, for a failure report."""
        return (
            f"--- {self.name} ({self.node_dir}) stdout ---\n{_tail(self.stdout_path, lines)}\n"
            f"--- {self.name} stderr ---\n{_tail(self.stderr_path, lines)}"
        )

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """End the node: SIGTERM to its process group, SIGKILL if it outlives the timeout."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout)
        if self.process.stdin is not None:
            self.process.stdin.close()

    def _signal_group(self, signal_number: int) -> None:
        # The group is the one start_new_session made for this child, led by its pid.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal_number)


class NodeSupervisor:
    """Starts node processes, remembers them, and stops exactly those."""

    def __init__(self) -> None:
        """Begin with no processes."""
        self.nodes: list[NodeProcess] = []

    def start(self, name: str, argv: Sequence[str], node_dir: Path) -> NodeProcess:
        """Start ``argv`` in a new process group with output to files in ``node_dir``."""
        with (
            (node_dir / "harness-stdout.log").open("ab") as stdout,
            (node_dir / "harness-stderr.log").open("ab") as stderr,
        ):
            process = subprocess.Popen(  # noqa: S603  argv built by the harness
                list(argv),
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                env=clean_environment(),
                cwd=node_dir,
            )
        node = NodeProcess(name, node_dir, process)
        self.nodes.append(node)
        return node

    def stop_all(self) -> None:
        """Stop every node started here, newest first, even if stopping one of them fails."""
        with contextlib.ExitStack() as stack:
            for node in self.nodes:
                stack.callback(node.stop)
        self.nodes.clear()

    def log_tails(self) -> str:
        """The log tails of every node started here."""
        return "\n".join(node.log_tails() for node in self.nodes)


def wait_for(
    condition: Callable[[], bool], *, what: str, node: NodeProcess, timeout: float = START_TIMEOUT
) -> None:
    """Poll ``condition`` until true; raise if the node exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        status = node.exit_status()
        if status is not None:
            raise NodeStartError(
                f"{node.name} exited with status {status} while waiting for {what}\n"
                f"{node.log_tails()}"
            )
        if time.monotonic() > deadline:
            raise NodeStartError(f"{node.name}: no {what} after {timeout} s\n{node.log_tails()}")
        time.sleep(POLL_INTERVAL)


def create_storage_node(
    program: Path,
    node_dir: Path,
    nickname: str,
    *,
    introducer_furl: str | None = None,
    port: int | None = None,
) -> int:
    """Run ``PROGRAM create-node`` for a loopback-only storage node; return its port.

    ``tahoe`` and ``grid`` take the same flags, so this serves both. With
    ``introducer_furl`` the node announces itself there; ``port`` defaults
    to a free one.
    """
    port = free_port() if port is None else port
    introducer_flags = [] if introducer_furl is None else ["--introducer", introducer_furl]
    run_command(
        [
            str(program),
            "create-node",
            *introducer_flags,
            "--port",
            f"tcp:{port}:interface={LOOPBACK}",
            "--location",
            f"tcp:{LOOPBACK}:{port}",
            "--nickname",
            nickname,
            "--webport",
            "none",
            str(node_dir),
        ]
    )
    return port


def start_storage_nodes(
    supervisor: NodeSupervisor,
    program: Path,
    base_dir: Path,
    nicknames: Sequence[str],
    *,
    introducer_furl: str | None = None,
) -> list[StorageServerInfo]:
    """Create and run one storage node per nickname with ``program``, all at once.

    Each lives in ``base_dir/NICKNAME``; returns once every one serves its FURL.
    """
    return start_mixed_storage_nodes(
        supervisor,
        base_dir,
        [(program, nickname) for nickname in nicknames],
        introducer_furl=introducer_furl,
    )


def start_mixed_storage_nodes(
    supervisor: NodeSupervisor,
    base_dir: Path,
    nodes: Sequence[tuple[Path, str]],
    *,
    introducer_furl: str | None = None,
) -> list[StorageServerInfo]:
    """Create and run storage nodes given as ``(program, nickname)`` pairs, all at once.

    The ``create-node`` commands run in parallel on distinct free ports, then
    every node starts before any is waited for. Returns the servers in the
    order given, once every one serves its FURL.
    """
    ports: list[int] = []
    while len(ports) < len(nodes):
        port = free_port()
        if port not in ports:
            ports.append(port)

    def create(index: int) -> None:
        program, nickname = nodes[index]
        create_storage_node(
            program,
            base_dir / nickname,
            nickname,
            introducer_furl=introducer_furl,
            port=ports[index],
        )

    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        list(pool.map(create, range(len(nodes))))
    started = [
        supervisor.start(
            nickname, [str(program), "run", str(base_dir / nickname)], base_dir / nickname
        )
        for program, nickname in nodes
    ]
    for node, port in zip(started, ports, strict=True):
        wait_until_serving(node, port)
    return [read_storage_server_info(node.node_dir, node.name) for node in started]


def wait_until_serving(node: NodeProcess, port: int) -> None:
    """Wait until a storage node serves its FURL and has written its identity files."""
    furl_file = node.node_dir / "private" / "storage.furl"
    wait_for(
        lambda: furl_file.exists() and furl_file.stat().st_size > 0 and port_answers(port),
        what=f"private/storage.furl and a listener on port {port}",
        node=node,
    )
    wait_for(
        lambda: all(
            (node.node_dir / name).exists() for name in ("node.pubkey", "permutation-seed")
        ),
        what="node.pubkey and permutation-seed",
        node=node,
    )
