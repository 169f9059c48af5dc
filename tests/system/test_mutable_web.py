"""Mutable files through a real client node's web gateway (real grid processes)."""

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from client.mutable.keys import keys_from_private_key
from grid.caps import MutableFormat
from grid.crypto.rsa import generate_rsa_private_key
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


def call(
    grid: LocalGrid, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, bytes]:
    """One HTTP request to the gateway: its status and body (errors too)."""
    request = urllib.request.Request(  # noqa: S310  loopback
        grid.url + path, data=body, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310  loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("query", ["format=SDMF", "format=MDMF", "mutable=true", "format=mdmf"])
def test_create_read_overwrite(local_grid: LocalGrid, query: str) -> None:
    """PUT /uri makes a mutable file; GET reads it; PUT to its write cap replaces it."""
    data = os.urandom(300_000)
    status, cap = call(local_grid, "PUT", "uri?" + query, data)
    assert status == 200, cap
    prefix = b"URI:MDMF:" if "mdmf" in query.lower() else b"URI:SSK:"
    assert cap.startswith(prefix)
    assert call(local_grid, "GET", "uri/" + cap.decode()) == (200, data)
    replacement = os.urandom(1000)
    assert call(local_grid, "PUT", "uri/" + cap.decode(), replacement) == (200, cap)
    assert call(local_grid, "GET", "uri/" + cap.decode()) == (200, replacement)


def test_mdmf_offset_write_and_range(local_grid: LocalGrid) -> None:
    """PUT ?offset=N patches MDMF in place (and appends); a Range reads a slice."""
    data = bytearray(os.urandom(400_000))
    status, cap = call(local_grid, "PUT", "uri?format=MDMF", bytes(data))
    assert status == 200
    patch = os.urandom(5000)
    assert call(local_grid, "PUT", f"uri/{cap.decode()}?offset=131000", patch)[0] == 200
    data[131000:136000] = patch
    tail = os.urandom(100)
    assert call(local_grid, "PUT", f"uri/{cap.decode()}?offset={len(data)}", tail)[0] == 200
    data += tail
    assert call(local_grid, "GET", "uri/" + cap.decode()) == (200, bytes(data))
    status, part = call(local_grid, "GET", "uri/" + cap.decode(), Range="bytes=130000-140000")
    assert (status, part) == (206, bytes(data[130000:140001]))


def test_json_and_read_only_cap(local_grid: LocalGrid) -> None:
    """t=json describes the file as Tahoe does; the read-only cap reads but refuses writes."""
    status, cap = call(local_grid, "PUT", "uri?format=SDMF", b"contents")
    assert status == 200
    status, body = call(local_grid, "GET", f"uri/{cap.decode()}?t=json")
    kind, details = json.loads(body)
    assert kind == "filenode"
    assert details["mutable"] is True
    assert details["format"] == "SDMF"
    assert details["size"] == len(b"contents")
    assert details["rw_uri"] == cap.decode()
    read_only = details["ro_uri"]
    assert read_only.startswith("URI:SSK-RO:")
    assert details["verify_uri"].startswith("URI:SSK-Verifier:")
    assert call(local_grid, "GET", "uri/" + read_only) == (200, b"contents")
    status, message = call(local_grid, "PUT", "uri/" + read_only, b"new")
    assert status == 403
    assert message.count(b"\n") == 1
    assert call(local_grid, "GET", "uri/" + cap.decode()) == (200, b"contents")


def test_private_key_gives_the_same_cap(local_grid: LocalGrid) -> None:
    """private-key= makes the file's caps follow from that key (and so repeatable)."""
    key = generate_rsa_private_key()
    encoded = base64.urlsafe_b64encode(key.pkcs8_der).decode()
    status, cap = call(local_grid, "PUT", f"uri?format=MDMF&private-key={encoded}", b"one")
    assert status == 200
    assert cap.decode() == keys_from_private_key(key).write_cap(MutableFormat.MDMF).to_string()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "uri?format=XYZ", 400),
        ("PUT", "uri?mutable=maybe", 400),
        ("PUT", "uri?format=SDMF&private-key=not-a-key", 400),
        ("GET", "uri/URI:SSK:junk", 400),
        ("GET", "uri/URI:SSK-Verifier:" + "a" * 26 + ":" + "b" * 52, 400),
    ],
)
def test_bad_requests_get_one_line(
    local_grid: LocalGrid, method: str, path: str, status: int
) -> None:
    """Malformed mutable requests get a 4xx and a short explanation, never a 500."""
    got, body = call(local_grid, method, path, b"x" if method == "PUT" else None)
    assert got == status, body
    assert b"Traceback" not in body


def test_cli_put_with_private_key_path(local_grid: LocalGrid, tmp_path: Path) -> None:
    """Grid put --private-key-path makes the mutable file whose caps that key decides."""
    key = generate_rsa_private_key()
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        key.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    source = tmp_path / "data"
    source.write_bytes(b"keyed contents")
    node = ("-d", str(local_grid.client_dir))
    made = grid(*node, "put", "--format=MDMF", "--private-key-path", str(pem), str(source))
    assert made.returncode == 0, made.stderr
    expected = keys_from_private_key(key).write_cap(MutableFormat.MDMF).to_string()
    assert made.stdout.decode().strip() == expected
    assert call(local_grid, "GET", "uri/" + expected) == (200, b"keyed contents")
    refused = grid(*node, "put", "--format=CHK", "--private-key-path", str(pem), str(source))
    assert refused.returncode == 1
    assert refused.stderr.count(b"\n") == 1
    (tmp_path / "bad.pem").write_bytes(b"not a key")
    bad = grid(*node, "put", "--private-key-path", str(tmp_path / "bad.pem"), str(source))
    assert bad.returncode == 1
    assert bad.stderr.count(b"\n") == 1


@pytest.mark.parametrize("fmt", ["MDMF", "CHK"])
def test_cli_get_a_range(local_grid: LocalGrid, tmp_path: Path, fmt: str) -> None:
    """With --offset/--length, get returns exactly that slice; past the end is a one-line error."""
    data = os.urandom(300_000)
    source = tmp_path / "data"
    source.write_bytes(data)
    node = ("-d", str(local_grid.client_dir))
    made = grid(*node, "put", f"--format={fmt}", str(source))
    assert made.returncode == 0, made.stderr
    cap = made.stdout.decode().strip()
    middle = grid(*node, "get", "--offset", "131000", "--length", "5000", cap)
    assert middle.returncode == 0, middle.stderr
    assert middle.stdout == data[131000:136000]
    tail = grid(*node, "get", "--offset", "299990", cap)
    assert tail.stdout == data[299990:]
    past = grid(*node, "get", "--offset", "400000", cap)
    assert past.returncode == 1
    assert past.stderr.count(b"\n") == 1
    negative = grid(*node, "get", "--offset", "-1", cap)
    assert negative.returncode == 2
