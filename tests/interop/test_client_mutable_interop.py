"""SDMF and MDMF files shared by our client and a Tahoe-LAFS 1.20 client on a mixed grid.

Rules: the grid is our introducer with five Tahoe storage nodes and five of
ours; both clients use k=3, happy=7, N=10. A mutable file made by either
client (0 B, 1 KiB and about 3 MiB; SDMF and MDMF) is read by the other,
overwritten whole by the other (``put FILE $WRITECAP``) and read back by its
maker; an MDMF file is also patched in place through each client's web API
(``PUT /uri/$WRITECAP?offset=N``, across a segment boundary when the file has
several, and past its end) and read by the other. Tahoe 1.20 cannot write at
an offset into an empty MDMF file, even one it made; that is pinned as it is.
The same RSA key gives the same write cap in both programs: Tahoe takes it as
``tahoe put --private-key-path=PEM``, ours as ``PUT /uri?private-key=``
(URL-safe base64 of the DER key); since a key names one storage index, the
first file's shares are deleted from the servers' disks before the other
program makes its own.
"""

import urllib.error
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Protocol

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.interop.client_settings import ClientSettings
from tests.interop.grid_client import GridClient, start_grid_client, write_at
from tests.interop.grids import StorageGrid, start_storage_grid, start_together
from tests.interop.scenarios import MUTABLE_CAP_PREFIXES, MUTABLE_FORMATS, sample_bytes
from tests.interop.tahoe_client import TahoeClient, start_tahoe_client
from tests.interop.tahoe_env import TahoeEnv
from tests.interop.tahoe_nodes import NodeSupervisor

pytestmark = [pytest.mark.interop, pytest.mark.slow]

SETTINGS = ClientSettings(needed=3, happy=7, total=10)
SERVERS_OF_EACH_KIND = 5
KINDS = ("grid", "tahoe")
SIZES = {"empty": 0, "1KiB": 1024, "3MiB": (3 << 20) + 11}
NONEMPTY_SIZES = ("1KiB", "3MiB")
MDMF_SEGMENT = 131073  # Tahoe's 128 KiB default rounded up to a multiple of k=3
PATCH_SIZE = 5000
RSA_KEY_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537


class MutableCli(Protocol):
    """The mutable-file commands both programs' CLIs share."""

    def put(self, source: Path, *, mutable_format: str | None = None) -> str:
        """Upload a local file unlinked (immutable, or SDMF/MDMF); return its cap."""
        ...

    def overwrite(self, source: Path, cap: str) -> None:
        """Replace the contents of the mutable file ``cap`` with a local file's."""
        ...

    def get(self, cap: str, destination: Path) -> bytes:
        """Download ``cap`` to a local file and return its bytes."""
        ...


@attrs.frozen
class MutableGrid:
    """The mixed grid, our client and a Tahoe client on it."""

    grid: StorageGrid
    ours: GridClient
    tahoe: TahoeClient

    def cli(self, kind: str) -> MutableCli:
        """The CLI of the client of this kind."""
        return self.ours.cli if kind == "grid" else self.tahoe.cli

    def web_url(self, kind: str) -> str:
        """The web API of the client of this kind."""
        return self.ours.web_url if kind == "grid" else self.tahoe.web_url


@pytest.fixture(scope="module")
def mutable_grid(
    tahoe_env: TahoeEnv,
    grid_program: Path,
    supervisor: NodeSupervisor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MutableGrid]:
    """Our introducer, five storage nodes of each program, and both clients."""
    programs = {"grid": grid_program, "tahoe": tahoe_env.tahoe}
    base = tmp_path_factory.mktemp("mutable-grid")
    storage_nodes = [
        (programs[kind], f"{kind}-storage-{index}")
        for index in range(SERVERS_OF_EACH_KIND)
        for kind in KINDS
    ]
    grid = start_storage_grid(supervisor, base, grid_program, storage_nodes, introducer_web=True)
    furl, server_ids = grid.introducer.furl, grid.server_ids
    ours, tahoe = start_together(
        lambda: start_grid_client(
            supervisor,
            grid_program,
            base / "grid-client",
            SETTINGS,
            introducer_furl=furl,
            server_ids=server_ids,
        ),
        lambda: start_tahoe_client(
            supervisor,
            tahoe_env,
            base / "tahoe-client",
            SETTINGS,
            introducer_furl=furl,
            server_ids=server_ids,
        ),
    )
    assert isinstance(ours, GridClient)
    assert isinstance(tahoe, TahoeClient)
    yield MutableGrid(grid, ours, tahoe)
    supervisor.stop_all()


def other(kind: str) -> str:
    """The other kind of client."""
    return "tahoe" if kind == "grid" else "grid"


def patched(contents: bytes, offset: int, patch: bytes) -> bytes:
    """``contents`` with ``patch`` written at ``offset`` (growing the file if it runs past)."""
    return contents[:offset] + patch + contents[offset + len(patch) :]


def delete_all_shares(grid: StorageGrid, cap: str) -> None:
    """Remove every share of ``cap``'s file from every server's disk."""
    for server in grid.servers:
        for number in grid.share_numbers(server, cap):
            grid.share_path(server, cap, number).unlink()
    assert grid.placement(cap) == {}


@pytest.mark.parametrize("size_name", SIZES)
@pytest.mark.parametrize("mutable_format", MUTABLE_FORMATS)
@pytest.mark.parametrize("maker", KINDS)
def test_mutable_file_read_and_overwritten_by_the_other_client(
    mutable_grid: MutableGrid, tmp_path: Path, maker: str, mutable_format: str, size_name: str
) -> None:
    """One client makes the file; the other reads and overwrites it; the maker reads that."""
    size = SIZES[size_name]
    seed = size + (1 if maker == "grid" else 2) * 10 + (0 if mutable_format == "SDMF" else 5)
    contents = sample_bytes(size, seed=seed)
    source = tmp_path / "first.in"
    source.write_bytes(contents)
    cap = mutable_grid.cli(maker).put(source, mutable_format=mutable_format)
    assert cap.startswith(MUTABLE_CAP_PREFIXES[mutable_format]), cap
    assert len(mutable_grid.grid.placement(cap)) >= SETTINGS.happy
    reader = mutable_grid.cli(other(maker))
    assert reader.get(cap, tmp_path / "first.out") == contents
    replacement = sample_bytes(size + 1000, seed=seed + 1)
    source.write_bytes(replacement)
    reader.overwrite(source, cap)
    assert mutable_grid.cli(maker).get(cap, tmp_path / "second.out") == replacement


@pytest.mark.parametrize("size_name", NONEMPTY_SIZES)
@pytest.mark.parametrize("maker", KINDS)
def test_mdmf_file_patched_at_offsets_by_both_clients(
    mutable_grid: MutableGrid, tmp_path: Path, maker: str, size_name: str
) -> None:
    """Each client writes into the other's MDMF file at an offset; both read every result."""
    size = SIZES[size_name]
    contents = sample_bytes(size, seed=size + 77)
    source = tmp_path / "first.in"
    source.write_bytes(contents)
    cap = mutable_grid.cli(maker).put(source, mutable_format="MDMF")
    patcher = other(maker)
    # Across the first segment boundary when there is one, else running past the end.
    offset = min(size // 2, MDMF_SEGMENT - PATCH_SIZE // 2)
    patch = sample_bytes(PATCH_SIZE, seed=size + 78)
    write_at(mutable_grid.web_url(patcher), cap, offset, patch)
    contents = patched(contents, offset, patch)
    assert mutable_grid.cli(maker).get(cap, tmp_path / "patched.out") == contents
    appended = sample_bytes(PATCH_SIZE, seed=size + 79)
    write_at(mutable_grid.web_url(maker), cap, len(contents), appended)
    contents += appended
    assert mutable_grid.cli(patcher).get(cap, tmp_path / "appended.out") == contents


@pytest.mark.parametrize("maker", KINDS)
def test_empty_mdmf_file_is_patched_by_our_client_but_not_by_tahoe(
    mutable_grid: MutableGrid, tmp_path: Path, maker: str
) -> None:
    """An offset write into an empty MDMF file works through ours; Tahoe 1.20 answers 500.

    Tahoe asks the servers for segment 0 of a file that has none, whoever
    made the file, so its failure on ours is no sign of a format difference.
    """
    source = tmp_path / "empty.in"
    source.write_bytes(b"")
    cap = mutable_grid.cli(maker).put(source, mutable_format="MDMF")
    patch = sample_bytes(PATCH_SIZE, seed=80)
    with pytest.raises(urllib.error.HTTPError) as refused:
        write_at(mutable_grid.tahoe.web_url, cap, 0, patch)
    assert refused.value.code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert mutable_grid.cli(maker).get(cap, tmp_path / "still-empty.out") == b""
    write_at(mutable_grid.ours.web_url, cap, 0, patch)
    assert mutable_grid.tahoe.cli.get(cap, tmp_path / "patched.out") == patch


@pytest.mark.parametrize("first", KINDS)
@pytest.mark.parametrize("mutable_format", MUTABLE_FORMATS)
def test_same_private_key_gives_the_same_cap(
    mutable_grid: MutableGrid, tmp_path: Path, mutable_format: str, first: str
) -> None:
    """Both programs derive the same write cap from one RSA key, and read each other's file."""
    key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    pem_path = tmp_path / "key.pem"
    pem_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    contents = sample_bytes(2000, seed=len(first) + len(mutable_format))
    source = tmp_path / "file.in"
    source.write_bytes(contents)

    def make(kind: str) -> str:
        if kind == "grid":
            return mutable_grid.ours.create_mutable(contents, mutable_format, der)
        return mutable_grid.tahoe.cli.put(
            source, mutable_format=mutable_format, private_key_pem=pem_path
        )

    first_cap = make(first)
    assert first_cap.startswith(MUTABLE_CAP_PREFIXES[mutable_format]), first_cap
    delete_all_shares(mutable_grid.grid, first_cap)
    second = other(first)
    assert make(second) == first_cap
    assert mutable_grid.cli(first).get(first_cap, tmp_path / "file.out") == contents
