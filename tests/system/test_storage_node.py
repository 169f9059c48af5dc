import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from foolscap.api import Referenceable, Tub

from grid.base32 import b2a
from grid.config import parse_config
from tests.integration.reactor_thread import in_reactor
from tests.interop.tahoe_nodes import (
    LOOPBACK,
    NodeProcess,
    NodeSupervisor,
    create_storage_node,
    port_answers,
    wait_for,
)

GRID = Path(sys.executable).with_name("grid")
pytestmark = pytest.mark.slow
STORAGE_INDEX = b"\x07" * 16
SECRET = b"\x01" * 32


@pytest.fixture
def supervisor() -> Iterator[NodeSupervisor]:
    """Start grid nodes and stop every one of them afterwards."""
    nodes = NodeSupervisor()
    try:
        yield nodes
    finally:
        nodes.stop_all()


def start_node(supervisor: NodeSupervisor, node_dir: Path, port: int) -> NodeProcess:
    """Run ``grid run`` and wait until it serves its storage FURL."""
    before = (node_dir / "my_nodeid").stat().st_mtime_ns if (node_dir / "my_nodeid").exists() else 0
    node = supervisor.start(node_dir.name, [str(GRID), "run", str(node_dir)], node_dir)
    wait_for(
        lambda: (
            port_answers(port)
            and (node_dir / "my_nodeid").exists()
            and (node_dir / "my_nodeid").stat().st_mtime_ns != before
        ),
        what="the storage server to listen",
        node=node,
    )
    return node


def connect(furl: str) -> tuple[Any, Any]:
    """Return (client Tub, RemoteReference) for a FURL, over real loopback."""

    def start() -> Any:
        tub = Tub()
        tub.startService()
        return tub.getReference(furl).addCallback(lambda reference: (tub, reference))

    tub_and_reference: tuple[Any, Any] = in_reactor(start)
    return tub_and_reference


def test_create_node_writes_a_tahoe_node_directory(tmp_path: Path) -> None:
    """create-node writes tahoe.cfg, the .tac marker, keys and secrets with mode 0600."""
    node_dir = tmp_path / "node"
    port = create_storage_node(GRID, node_dir, "alpha")
    config = parse_config((node_dir / "tahoe.cfg").read_text())
    assert config.get("node", "nickname") == "alpha"
    assert config.get("node", "tub.port") == f"tcp:{port}:interface={LOOPBACK}"
    assert config.get("node", "tub.location") == f"tcp:{LOOPBACK}:{port}"
    assert config.get_bool("storage", "enabled", default=False)
    assert config.key_report().unknown == ()
    assert (node_dir / "tahoe-client.tac").exists()
    assert (node_dir / "node.pubkey").read_text().startswith("pub-v0-")
    for name in ("node.privkey", "node.pem", "secret", "convergence"):
        mode = stat.S_IMODE((node_dir / "private" / name).stat().st_mode)
        assert mode == 0o600, name


def test_node_keeps_its_identity_and_stops_cleanly(
    tmp_path: Path, supervisor: NodeSupervisor
) -> None:
    """Across a restart the tub id, FURL and node id stay; SIGTERM and SIGINT exit 0."""
    node_dir = tmp_path / "node"
    port = create_storage_node(GRID, node_dir, "alpha")
    node = start_node(supervisor, node_dir, port)
    furl = (node_dir / "private" / "storage.furl").read_text().strip()
    nodeid = (node_dir / "my_nodeid").read_text()
    seed = (node_dir / "permutation-seed").read_text()
    os.kill(node.process.pid, signal.SIGTERM)
    assert node.process.wait(30) == 0
    node = start_node(supervisor, node_dir, port)
    assert (node_dir / "private" / "storage.furl").read_text().strip() == furl
    assert (node_dir / "my_nodeid").read_text() == nodeid
    assert (node_dir / "permutation-seed").read_text() == seed
    assert furl.startswith(f"pb://{nodeid.strip()}@tcp:{LOOPBACK}:{port}/")
    os.kill(node.process.pid, signal.SIGINT)
    assert node.process.wait(30) == 0
    assert "Traceback" not in node.stderr_path.read_text()


def test_sigkill_mid_upload_leaves_no_share(tmp_path: Path, supervisor: NodeSupervisor) -> None:
    """A node killed during an upload shows no share; the leftover is cleaned at start."""
    node_dir = tmp_path / "node"
    port = create_storage_node(GRID, node_dir, "alpha")
    node = start_node(supervisor, node_dir, port)
    tub, server = connect((node_dir / "private" / "storage.furl").read_text().strip())
    canary = Referenceable()
    _, writers = in_reactor(
        server.callRemote, "allocate_buckets", STORAGE_INDEX, SECRET, SECRET, {0}, 1000, canary
    )
    in_reactor(writers[0].callRemote, "write", 0, b"x" * 500)
    os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait(30)
    in_reactor(tub.stopService)
    si = b2a(STORAGE_INDEX)
    shares = node_dir / "storage" / "shares"
    assert (shares / "incoming" / si[:2] / si / "0").exists()
    assert not (shares / si[:2] / si).exists()
    start_node(supervisor, node_dir, port)
    assert not (shares / "incoming" / si[:2] / si / "0").exists()
    tub, server = connect((node_dir / "private" / "storage.furl").read_text().strip())
    already, writers = in_reactor(
        server.callRemote, "allocate_buckets", STORAGE_INDEX, SECRET, SECRET, {0}, 1000, canary
    )
    assert (already, sorted(writers)) == (set(), [0])
    assert in_reactor(server.callRemote, "get_buckets", STORAGE_INDEX) == {}
    in_reactor(tub.stopService)


def test_unknown_config_key_stops_the_node_in_one_line(tmp_path: Path) -> None:
    """A key Tahoe does not know makes grid run exit 1 with one line on stderr."""
    node_dir = tmp_path / "node"
    create_storage_node(GRID, node_dir, "alpha")
    with (node_dir / "tahoe.cfg").open("a") as config:
        config.write("expire.enabeld = true\n")
    result = subprocess.run(  # noqa: S603  the project's own console script
        [str(GRID), "run", str(node_dir)], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.count(b"\n") == 1
    assert b"expire.enabeld" in result.stderr


def test_taken_port_stops_the_node_in_one_line(tmp_path: Path) -> None:
    """A node whose tub port is taken exits 1 with one line naming the port."""
    node_dir = tmp_path / "node"
    port = create_storage_node(GRID, node_dir, "alpha")
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, port))
        squatter.listen()
        result = subprocess.run(  # noqa: S603  the project's own console script
            [str(GRID), "run", str(node_dir)], capture_output=True, timeout=60, check=False
        )
    assert result.returncode == 1
    assert result.stderr.count(b"\n") == 1
    assert str(port).encode() in result.stderr
