import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from foolscap.api import Referenceable, Tub
from twisted.internet import reactor

from client.download import download_chk, download_servers
from client.storage_broker import StorageBroker
from grid.base32 import a2b, b2a
from grid.caps import CHKReadCap, parse_cap
from grid.chk_plan import ChkPlan
from grid.errors import NotEnoughSharesError
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share_header
from storage_server.foolscap_adapter import FoolscapStorageServer
from storage_server.layout import StorageLayout
from storage_server.server import StorageServer
from tests.chk_samples import encode_convergent, manifest, sample_plaintext
from tests.integration.reactor_thread import in_reactor
from tests.vectors import TAHOE_SHARES_DIR

SERVER_COUNT = 4
CONNECT_TIMEOUT = 30
CONTAINER_HEADER_SIZE = 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _server_id(index: int) -> str:
    return "v0-" + b2a(bytes([index + 1]) * 32)


@attrs.define
class LoopbackGrid:
    """Storage servers on loopback Tubs of their own, and a client's broker connected to them."""

    roots: list[Path]
    broker: StorageBroker
    tubs: list[Any]
    canary: Any = attrs.field(factory=Referenceable)

    def upload(self, storage_index: bytes, placement: dict[int, dict[int, bytes]]) -> None:
        """Store share bodies: server index -> share number -> share data."""

        async def store() -> None:
            for index, shares in placement.items():
                connection = self.broker.get_server(_server_id(index))
                assert connection is not None
                size = len(next(iter(shares.values())))
                _, writers = await connection.call(
                    "allocate_buckets",
                    storage_index,
                    b"r" * 32,
                    b"c" * 32,
                    set(shares),
                    size,
                    self.canary,
                )
                for shnum, writer in writers.items():
                    await writer.callRemote("write", 0, shares[shnum])
                    await writer.callRemote("close")

        in_reactor(store)

    def download(self, cap: CHKReadCap, **options: Any) -> bytes:
        """Download through the broker's real connections; return what was delivered."""
        chunks: list[bytes] = []

        async def fetch() -> None:
            servers = download_servers(self.broker, cap.storage_index)
            await download_chk(cap, servers, clock=reactor, consumer=chunks.append, **options)

        in_reactor(fetch)
        return b"".join(chunks)

    def round_trip(self, index: int) -> None:
        """Wait until server ``index`` has handled every call sent to it before."""
        connection = self.broker.get_server(_server_id(index))
        assert connection is not None
        in_reactor(connection.call, "get_version")

    def share_path(self, index: int, storage_index: bytes, shnum: int) -> Path:
        """Where server ``index`` keeps a share on disk."""
        return StorageLayout(self.roots[index]).share_path(storage_index, shnum)

    def advisories(self, index: int) -> list[Path]:
        """The corruption reports server ``index`` has written."""
        return sorted(StorageLayout(self.roots[index]).corruption_advisories_dir.iterdir())


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackGrid]:
    """Four real storage servers behind Foolscap on loopback, and a connected broker."""
    root = tmp_path_factory.mktemp("download-grid")

    def start() -> LoopbackGrid:
        tubs: list[Any] = []
        roots: list[Path] = []
        static: dict[str, dict[str, Any]] = {}
        for index in range(SERVER_COUNT):
            port = _free_port()
            tub = Tub()
            tub.listenOn(f"tcp:{port}:interface=127.0.0.1")
            tub.setLocation(f"tcp:127.0.0.1:{port}")
            tub.startService()
            tubs.append(tub)
            roots.append(root / f"server-{index}")
            server = StorageServer(roots[-1], a2b(tub.getTubID()), clock=reactor.seconds)
            server.start()
            furl = tub.registerReference(FoolscapStorageServer(server))
            static[_server_id(index)] = {"ann": {"anonymous-storage-FURL": furl}}
        client_tub = Tub()
        client_tub.startService()
        tubs.append(client_tub)
        broker = StorageBroker(client_tub, reactor)
        broker.add_static_servers(static)
        broker.start()
        return LoopbackGrid(roots, broker, tubs)

    started: LoopbackGrid = in_reactor(start)
    try:
        in_reactor(
            lambda: started.broker.when_connected_enough(SERVER_COUNT).addTimeout(
                CONNECT_TIMEOUT, reactor
            )
        )
        yield started
    finally:
        in_reactor(started.broker.stop)
        for tub in started.tubs:
            in_reactor(tub.stopService)


def _encode(
    size: int, label: bytes, *, needed: int = 3, total: int = 6
) -> tuple[CHKReadCap, bytes, dict[int, bytes]]:
    plaintext = sample_plaintext(label, size)
    plan = ChkPlan(size=size, needed=needed, total=total)
    key, ueb_hash, sink = encode_convergent(plaintext, b"integration", plan)
    cap = CHKReadCap(
        key=key, uri_extension_hash=ueb_hash, needed_shares=needed, total_shares=total, size=size
    )
    return cap, plaintext, sink.bodies()


def _spread(bodies: dict[int, bytes]) -> dict[int, dict[int, bytes]]:
    placement: dict[int, dict[int, bytes]] = {}
    for shnum, body in bodies.items():
        placement.setdefault(shnum % SERVER_COUNT, {})[shnum] = body
    return placement


def test_multi_segment_file_downloads_over_foolscap(grid: LoopbackGrid) -> None:
    """A 2.5 MB file in 1 MiB segments, spread over four real servers, downloads intact."""
    cap, plaintext, bodies = _encode(2_500_000, b"big")
    grid.upload(cap.storage_index, _spread(bodies))
    assert grid.download(cap) == plaintext


def test_ranged_read_over_foolscap(grid: LoopbackGrid) -> None:
    """A range across a segment boundary delivers exactly its bytes over the network."""
    cap, plaintext, bodies = _encode(2_200_000, b"ranged")
    grid.upload(cap.storage_index, _spread(bodies))
    offset, length = (1 << 20) - 1000, 5000
    assert grid.download(cap, offset=offset, length=length) == plaintext[offset : offset + length]


def test_tahoe_shares_download_over_foolscap(grid: LoopbackGrid) -> None:
    """Tahoe 1.20's real shares, stored on our servers, download to their plaintext."""
    entry = next(item for item in manifest()["files"] if item["kind"] == "CHK")
    cap = parse_cap(entry["read_cap"])
    assert isinstance(cap, CHKReadCap)
    bodies = {
        shnum: parse_container(
            (TAHOE_SHARES_DIR / "chk" / f"share-{shnum}.bin").read_bytes()
        ).share_data
        for shnum in range(5)
    }
    grid.upload(cap.storage_index, _spread(bodies))
    assert grid.download(cap) == sample_plaintext(b"chk-sample", entry["plaintext"]["length"])


def test_corrupt_share_on_disk_is_reported_and_survived(grid: LoopbackGrid) -> None:
    """A byte flipped in a stored block: right bytes anyway, and the server files a report."""
    cap, plaintext, bodies = _encode(300_000, b"corrupt")
    grid.upload(cap.storage_index, _spread(bodies))
    path = grid.share_path(0, cap.storage_index, 0)
    data = bytearray(path.read_bytes())
    layout = parse_share_header(bytes(data[CONTAINER_HEADER_SIZE:]))
    data[CONTAINER_HEADER_SIZE + layout.data + 10] ^= 0x55
    path.write_bytes(bytes(data))
    before = len(grid.advisories(0))
    assert grid.download(cap) == plaintext
    grid.round_trip(0)
    reports = grid.advisories(0)
    assert len(reports) == before + 1
    assert "block 0 fails its block hash tree" in reports[-1].read_text()


def test_too_few_shares_over_foolscap(grid: LoopbackGrid) -> None:
    """With only k-1 shares stored anywhere, the download raises NotEnoughSharesError."""
    cap, _, bodies = _encode(100_000, b"scarce")
    grid.upload(cap.storage_index, {0: {0: bodies[0]}, 1: {4: bodies[4]}})
    with pytest.raises(NotEnoughSharesError):
        grid.download(cap)
