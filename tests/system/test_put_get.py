import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.tahoe_nodes import NodeSupervisor
from tests.system.grid_processes import LocalGrid, grid, start_grid

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGrid]:
    """An introducer, five storage nodes and a client (k=3, happy=5, N=10) as processes."""
    supervisor = NodeSupervisor()
    try:
        yield start_grid(supervisor, tmp_path_factory.mktemp("grid"), storage_nodes=5, happy=5)
    finally:
        supervisor.stop_all()


@pytest.mark.parametrize("size", [0, 1, 55, 56, 1000, 1024 * 1024 + 1, 3 * 1024 * 1024])
def test_put_then_get_returns_the_same_bytes(
    local_grid: LocalGrid, tmp_path: Path, size: int
) -> None:
    """The CLI's put prints a cap from which get returns the file byte for byte."""
    data = os.urandom(size)
    source = tmp_path / "in"
    source.write_bytes(data)
    put = grid("-d", str(local_grid.client_dir), "put", str(source))
    assert put.returncode == 0, put.stderr
    cap = put.stdout.decode().strip()
    assert cap.startswith("URI:LIT:" if size <= 55 else "URI:CHK:")
    got = grid("-d", str(local_grid.client_dir), "get", cap)
    assert got.returncode == 0, got.stderr
    assert got.stdout == data


def test_put_from_stdin_and_same_file_same_cap(local_grid: LocalGrid) -> None:
    """Uploading the same bytes twice (file or stdin) gives the same convergent cap."""
    data = os.urandom(200_000)
    first = grid("-d", str(local_grid.client_dir), "put", "-", stdin=data)
    second = grid("-d", str(local_grid.client_dir), "put", stdin=data)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_web_api_put_get_and_range(local_grid: LocalGrid) -> None:
    """PUT /uri returns a cap; GET /uri/CAP with a Range gives exactly that slice (206)."""
    data = os.urandom(500_000)
    put = urllib.request.Request(local_grid.url + "uri", data=data, method="PUT")  # noqa: S310  loopback
    with urllib.request.urlopen(put, timeout=60) as response:  # noqa: S310  loopback
        cap = response.read().decode()
    ranged = urllib.request.Request(  # noqa: S310  loopback
        local_grid.url + "uri/" + cap, headers={"Range": "bytes=131000-131999"}
    )
    with urllib.request.urlopen(ranged, timeout=60) as response:  # noqa: S310  loopback
        assert response.status == 206
        assert response.read() == data[131000:132000]


def test_bad_cap_is_one_line_and_nonzero(local_grid: LocalGrid) -> None:
    """A malformed cap gets a one-line error on stderr and exit status 1, no traceback."""
    result = grid("-d", str(local_grid.client_dir), "get", "URI:CHK:nonsense")
    assert result.returncode == 1
    assert result.stderr.count(b"\n") == 1
    assert b"Traceback" not in result.stderr


def test_unreachable_node_is_one_line(tmp_path: Path) -> None:
    """A node directory with a dead node.url gives a one-line error."""
    (tmp_path / "node.url").write_text("http://127.0.0.1:9/\n")
    result = grid("-d", str(tmp_path), "put", "-", stdin=b"x" * 100)
    assert result.returncode == 1
    assert result.stderr.count(b"\n") == 1


def test_missing_file_is_410_gone(local_grid: LocalGrid) -> None:
    """A well-formed cap whose shares are nowhere answers 410 Gone, not wrong bytes."""
    missing = urllib.request.Request(  # noqa: S310  loopback
        local_grid.url + "uri/URI:CHK:aeaqcaibaeaqcaibaeaqcaibae:"
        "nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa:3:10:1234"
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(missing, timeout=60)  # noqa: S310  loopback
    assert failure.value.code == 410


def test_caps_never_appear_in_client_logs(local_grid: LocalGrid) -> None:
    """After uploads and downloads, no cap (nor its key) is in the client's logs or output."""
    data = os.urandom(100_000)
    put = grid("-d", str(local_grid.client_dir), "put", "-", stdin=data)
    cap = put.stdout.decode().strip()
    assert grid("-d", str(local_grid.client_dir), "get", cap).stdout == data
    logs = [*(local_grid.client_dir / "logs").iterdir(), *local_grid.client_dir.glob("*.log")]
    assert logs
    key = cap.split(":")[2]
    for log_file in logs:
        text = log_file.read_text(errors="replace")
        assert key not in text, log_file
        assert "URI:CHK:" not in text, log_file


def test_form_upload_head_and_save_as(local_grid: LocalGrid) -> None:
    """POST t=upload stores a form's file; HEAD gives its length; save=true names it."""
    data = os.urandom(70_000)
    boundary = "grid-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    form = urllib.request.Request(  # noqa: S310  loopback
        local_grid.url + "uri?t=upload",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(form, timeout=60) as response:  # noqa: S310  loopback
        cap = response.read().decode()
    head = urllib.request.Request(local_grid.url + "uri/" + cap, method="HEAD")  # noqa: S310  loopback
    with urllib.request.urlopen(head, timeout=60) as response:  # noqa: S310  loopback
        assert response.headers["Content-Length"] == str(len(data))
        assert response.read() == b""
    save = local_grid.url + "uri/" + cap + "?filename=report.pdf&save=true"
    with urllib.request.urlopen(save, timeout=60) as response:  # noqa: S310  loopback
        assert "report.pdf" in response.headers["Content-Disposition"]
        assert response.read() == data


def test_node_url_option_overrides_the_node_directory(
    local_grid: LocalGrid, tmp_path: Path
) -> None:
    """--node-url reaches the gateway even when -d names no node."""
    put = grid(
        "-d", str(tmp_path / "none"), "--node-url", local_grid.url, "-q", "put", stdin=b"y" * 100
    )
    assert put.returncode == 0, put.stderr
    assert put.stdout.decode().startswith("URI:CHK:")
