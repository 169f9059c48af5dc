"""``grid local [DIR]``: run a whole grid on this machine with one command.

Rules: the grid lives in DIR (``./local-grid``): ``introducer/``,
``storage1/`` ... ``storageN/`` and ``client/``, each an ordinary node
directory made by ``grid create-introducer`` / ``create-node`` /
``create-client``, listening on 127.0.0.1 only, on ports chosen free (below
the kernel's ephemeral range) when the directory is created and kept in each
``tahoe.cfg``. A DIR holding ``client/tahoe.cfg`` is complete and is reused as
it is; the client is created last, so an interrupted creation leaves no such
file and the DIR is refused rather than half-reused. Every run starts each node
as ``grid run NODEDIR`` (see :mod:`grid.cli.process_group`), records
``NAME PID`` lines in ``DIR/local-grid.pids`` while it runs, waits until the
client sees every storage server connected, prints a line starting
``Local grid ready`` with how to use it, and stays in the foreground. SIGINT
or SIGTERM stops every node and exits 0; a node that exits or does not become
ready in time is named, its output's last lines shown, the others stopped,
and the exit status is 1.
"""

import argparse
import contextlib
import json
import random
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from grid.cli.process_group import (
    NodeProcess,
    NodeStartError,
    ProcessGroup,
    StopRequested,
    grid_command,
    running_recorded_pids,
    tail,
)
from grid.config import parse_config
from grid.errors import GridError

DEFAULT_DIR = Path("local-grid")
DEFAULT_STORAGE_NODES = 5
DEFAULT_WEB_PORT = 3456
SHARES_NEEDED = 3
SHARES_TOTAL = 10
MAX_SHARES_HAPPY = 7
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
CREATE_TIMEOUT = 120.0
PORT_RANGE = (20000, 32768)  # below Linux's default ephemeral range, 32768-60999
PORT_ATTEMPTS = 200
PIDS_FILE = "local-grid.pids"


class LocalGridError(GridError, RuntimeError):
    """The local grid cannot be created or started (port taken, directory unusable, ...)."""


@attrs.frozen
class GridLayout:
    """Where the nodes of one local grid live."""

    base: Path
    storage_nodes: int

    @property
    def introducer_dir(self) -> Path:
        """The introducer's node directory."""
        return self.base / "introducer"

    @property
    def storage_dirs(self) -> tuple[Path, ...]:
        """The storage nodes' directories, ``storage1`` first."""
        return tuple(self.base / f"storage{n}" for n in range(1, self.storage_nodes + 1))

    @property
    def client_dir(self) -> Path:
        """The client node's directory (the one to pass to ``grid -d``)."""
        return self.base / "client"


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid local``."""
    parser = commands.add_parser("local", help="create (once) and run a whole grid on 127.0.0.1")
    parser.add_argument(
        "grid_dir", type=Path, nargs="?", default=DEFAULT_DIR, metavar="DIR", help="(./local-grid)"
    )
    parser.add_argument(
        "--storage-nodes",
        type=_positive,
        metavar="N",
        help=f"storage nodes to create ({DEFAULT_STORAGE_NODES}); only when DIR is new",
    )
    parser.add_argument(
        "--web-port",
        type=_port_number,
        metavar="PORT",
        help=f"the client's web gateway port ({DEFAULT_WEB_PORT}); only when DIR is new",
    )
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _port_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port number")
    return int(text)


def run(arguments: argparse.Namespace) -> int:
    """Create the grid if needed, run it until SIGINT or SIGTERM, then stop every node."""
    base: Path = arguments.grid_dir.resolve()
    stop = threading.Event()
    group = ProcessGroup(time.monotonic, stop.wait, grid_command())
    with _stop_on_signals(stop):
        try:
            _run_grid(base, arguments, group, stop)
        except StopRequested:
            pass
        except NodeStartError as error:
            print(f"--- last lines of {error.log_path} ---", file=sys.stderr)
            print(tail(error.log_path), file=sys.stderr)
            raise
        finally:
            if group.nodes:  # only then is the pid file ours
                print("Stopping the local grid...", flush=True)
                group.stop_all()
                (base / PIDS_FILE).unlink(missing_ok=True)
    print("Local grid stopped.", flush=True)
    return 0


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def request_stop(_signal_number: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _run_grid(
    base: Path, arguments: argparse.Namespace, group: ProcessGroup, stop: threading.Event
) -> None:
    _refuse_if_running(base)
    layout = existing_layout(base)
    chooser = random.SystemRandom()
    if layout is None:
        web_port = arguments.web_port or DEFAULT_WEB_PORT
        _require_free_web_port(web_port, "choose another with --web-port")
        layout = GridLayout(base, arguments.storage_nodes or DEFAULT_STORAGE_NODES)
        print(f"Creating a local grid in {base} ...", flush=True)
        _create_node("create-introducer", layout.introducer_dir, _listen_args(chooser))
        _start_introducer(layout, group)
        _create_nodes(layout, web_port, chooser)
    else:
        web_port = _configured_port(layout.client_dir, "web.port")
        _note_ignored_options(arguments, layout, web_port)
        _require_free_web_port(web_port, f"it is set in {layout.client_dir / 'tahoe.cfg'}")
        _start_introducer(layout, group)
    for node_dir in layout.storage_dirs:
        group.start(node_dir.name, node_dir)
    group.start("client", layout.client_dir)
    group.write_pid_file(base / PIDS_FILE)
    _wait_for_storage_servers(layout, group)
    _print_banner(layout)
    while not stop.wait(1.0):
        group.check_running("the grid was running")


def existing_layout(base: Path) -> GridLayout | None:
    """The layout of a complete grid in ``base``; None if ``base`` is missing or empty.

    Raises :class:`LocalGridError` for a DIR that holds something else.
    """
    if (base / "client" / "tahoe.cfg").is_file():
        count = 0
        while (base / f"storage{count + 1}" / "tahoe.cfg").is_file():
            count += 1
        return GridLayout(base, count)
    if base.exists() and (not base.is_dir() or any(base.iterdir())):
        raise LocalGridError(
            f"{base} exists but is not a complete local grid (no client/tahoe.cfg): "
            "remove it or choose another DIR"
        )
    return None


def _refuse_if_running(base: Path) -> None:
    alive = running_recorded_pids(base / PIDS_FILE)
    if alive:
        raise LocalGridError(
            f"{base / PIDS_FILE} lists running processes ({', '.join(map(str, alive))}): is "
            "another grid local running on this DIR? Stop it, or delete the file if it is stale"
        )


def _choose_port(chooser: random.Random) -> int:
    for _ in range(PORT_ATTEMPTS):
        port = chooser.randrange(*PORT_RANGE)
        if _port_is_free(port):
            return port
    raise LocalGridError(f"no free TCP port on {LOOPBACK} in {PORT_RANGE}")


def _port_is_free(port: int) -> bool:
    # SO_REUSEADDR as Twisted's listeners set it: a port held only by connections
    # in TIME_WAIT (from the previous run) is free for a node to listen on.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return True
    except OSError:
        return False


def _require_free_web_port(port: int, advice: str) -> None:
    if not _port_is_free(port):
        raise LocalGridError(f"web port {port} on {LOOPBACK} is already in use: {advice}")


def _listen_args(chooser: random.Random) -> list[str]:
    port = _choose_port(chooser)
    return ["--port", f"tcp:{port}:interface={LOOPBACK}", "--location", f"tcp:{LOOPBACK}:{port}"]


def _create_node(command: str, node_dir: Path, options: list[str]) -> None:
    argv = [*grid_command(), command, "--nickname", node_dir.name, *options, str(node_dir)]
    result = subprocess.run(  # noqa: S603  our own command, our own arguments
        argv,
        capture_output=True,
        text=True,
        timeout=CREATE_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C meant for grid local must not kill it half-way
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise LocalGridError(f"grid {command} {node_dir} failed: {last}")


def _create_nodes(layout: GridLayout, web_port: int, chooser: random.Random) -> None:
    furl = (layout.introducer_dir / "private" / "introducer.furl").read_text().strip()
    for node_dir in layout.storage_dirs:
        options = ["--introducer", furl, "--webport", "none", *_listen_args(chooser)]
        _create_node("create-node", node_dir, options)
    happy = min(MAX_SHARES_HAPPY, layout.storage_nodes)
    _create_node(
        "create-client",
        layout.client_dir,
        [
            "--introducer",
            furl,
            "--webport",
            f"tcp:{web_port}:interface={LOOPBACK}",
            "--listen",
            "none",
            "--shares-needed",
            str(SHARES_NEEDED),
            "--shares-happy",
            str(happy),
            "--shares-total",
            str(SHARES_TOTAL),
        ],
    )


def _start_introducer(layout: GridLayout, group: ProcessGroup) -> None:
    port = _configured_port(layout.introducer_dir, "tub.port")
    node = group.start("introducer", layout.introducer_dir)
    group.write_pid_file(layout.base / PIDS_FILE)
    furl_path = layout.introducer_dir / "private" / "introducer.furl"
    group.wait_until(
        lambda: furl_path.is_file() and furl_path.stat().st_size > 0 and _port_answers(port),
        what=f"private/introducer.furl and a listener on port {port}",
        blame=lambda: node,
        timeout=START_TIMEOUT,
    )


def _configured_port(node_dir: Path, key: str) -> int:
    """The TCP port of ``[node] key`` (``tcp:PORT:...``) in a node's tahoe.cfg."""
    config_path = node_dir / "tahoe.cfg"
    endpoint = parse_config(config_path.read_text()).get("node", key) or ""
    parts = endpoint.split(":")
    if len(parts) < 2 or parts[0] != "tcp" or not parts[1].isdigit():
        raise LocalGridError(f"{config_path}: [node] {key} = {endpoint!r} names no TCP port")
    return int(parts[1])


def _note_ignored_options(arguments: argparse.Namespace, layout: GridLayout, port: int) -> None:
    if arguments.storage_nodes not in {None, layout.storage_nodes}:
        print(
            f"grid local: note: {layout.base} has {layout.storage_nodes} storage nodes; "
            "--storage-nodes applies only when creating a grid",
            file=sys.stderr,
        )
    if arguments.web_port not in {None, port}:
        print(
            f"grid local: note: {layout.base} uses web port {port}; "
            "--web-port applies only when creating a grid",
            file=sys.stderr,
        )


def _wait_for_storage_servers(layout: GridLayout, group: ProcessGroup) -> None:
    """Wait until the client reports every storage node (by nickname) connected."""
    wanted = {node_dir.name for node_dir in layout.storage_dirs}
    connected: set[str] = set()

    def all_connected() -> bool:
        connected.clear()
        connected.update(_connected_nicknames(layout.client_dir))
        return wanted <= connected

    def first_missing() -> NodeProcess:
        by_name = {node.name: node for node in group.nodes}
        missing = sorted(wanted - connected)
        return by_name[missing[0]] if missing else by_name["client"]

    group.wait_until(
        all_connected,
        what=f"the client to see all {len(wanted)} storage servers connected",
        blame=first_missing,
        timeout=START_TIMEOUT,
    )


def _connected_nicknames(client_dir: Path) -> set[str]:
    """Nicknames of the servers the client's welcome page shows connected (none if unreachable)."""
    try:
        url = (client_dir / "node.url").read_text().strip()
        with urllib.request.urlopen(url + "?t=json", timeout=5) as response:  # noqa: S310  our node's loopback URL
            welcome = json.loads(response.read())
    except (OSError, ValueError):
        return set()
    servers = welcome.get("servers") if isinstance(welcome, dict) else None
    if not isinstance(servers, list):
        return set()
    return {
        str(server.get("nickname"))
        for server in servers
        if isinstance(server, dict) and server.get("connection_status") == "connected"
    }


def _print_banner(layout: GridLayout) -> None:
    url = (layout.client_dir / "node.url").read_text().strip()
    url = url if url.endswith("/") else url + "/"
    client = shlex.quote(str(layout.client_dir))
    print(
        f"Local grid ready: 1 introducer, {layout.storage_nodes} storage nodes, 1 client.\n"
        f"  web gateway:  {url}\n"
        f"  client node:  {layout.client_dir}\n"
        f"  node logs:    {layout.base}/*/logs/\n"
        "Try:\n"
        f"  grid -d {client} put FILE\n"
        f"  grid -d {client} get CAP\n"
        f"  curl -T FILE {url}uri\n"
        f"  curl {url}uri/CAP\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
