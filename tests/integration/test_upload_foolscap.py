"""Immutable upload to real storage servers over loopback Foolscap.

Five :class:`StorageServer` cores behind :class:`FoolscapStorageServer`, each
on its own loopback Tub with its own certificate (so each has its own tub id,
which is also its lease seed); a client Tub's :class:`StorageBroker` connects to them as
static servers, so the uploader talks to real ``StorageServerConnection``
objects. CPU work runs on the reactor's thread pool. After an upload the
test reads the share files from the servers' storage directories and
decodes them with :func:`grid.chk_decode.decode_chk`.
"""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import attrs
import pytest
from foolscap.api import Tub
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from client.storage_broker import StorageBroker
from client.upload import (
    CpuRunner,
    FileSource,
    RemoteUploadServer,
    ThreadPoolRunner,
    UploadParameters,
    UploadResult,
    UploadTuning,
    broker_upload_servers,
    upload_chk,
)
from client.upload.plaintext_source import BytesSource, PlaintextSource
from client.upload.servers import UploadServer
from grid.base32 import a2b, b2a
from grid.caps import CHKReadCap
from grid.chk_decode import decode_chk
from grid.chk_encode import convergent_key
from grid.chk_plan import ChkPlan
from grid.formats.immutable_container import (
    ImmutableContainer,
    lease_matches_renew_secret,
    parse_container,
)
from grid.hashing import lease_secrets
from storage_server.foolscap_adapter import FoolscapStorageServer
from storage_server.layout import StorageLayout
from storage_server.server import StorageServer
from tests.component.upload_fakes import FakeUploadServer
from tests.integration.reactor_thread import in_reactor
from tests.interop.tahoe_nodes import LOOPBACK, free_port

ParamsT = ParamSpec("ParamsT")
ResultT = TypeVar("ResultT")

SERVERS = 5
CONNECT_TIMEOUT = 30
LEASE_SECRET = b"l" * 32
SECRET = b"convergence secret"
PARAMS = UploadParameters(needed=3, happy=5, total=10, max_segment_size=128 * 1024)


@attrs.define
class LoopbackServer:
    """A storage server on its own loopback Tub."""

    storage_dir: Path
    tub: Any
    furl: str
    nodeid: bytes


def start_server(storage_dir: Path) -> LoopbackServer:
    """Serve a new StorageServer over ``storage_dir`` on a fresh Tub (on the reactor thread)."""
    port = free_port()
    tub = Tub()
    tub.listenOn(f"tcp:{port}:interface={LOOPBACK}")
    tub.setLocation(f"tcp:{LOOPBACK}:{port}")
    tub.startService()
    nodeid = a2b(tub.getTubID())
    server = StorageServer(storage_dir, nodeid, clock=reactor.seconds)
    server.start()
    furl = tub.registerReference(FoolscapStorageServer(server))
    return LoopbackServer(storage_dir, tub, furl, nodeid)


@attrs.define
class LoopbackGrid:
    """Storage servers on loopback and a broker connected to all of them."""

    storages: list[LoopbackServer]
    broker: StorageBroker

    def upload(
        self, source: PlaintextSource, cpu: CpuRunner | None = None, **options: Any
    ) -> UploadResult:
        """Upload on the reactor thread, CPU work on its thread pool."""

        def start() -> Any:
            return upload_chk(
                source,
                broker_servers=broker_upload_servers(self.broker),
                convergence_secret=SECRET,
                random_key=lambda: b"r" * 16,
                params=options.get("params", PARAMS),
                lease_secret=LEASE_SECRET,
                clock=reactor,
                runner=cpu or runner(),
                tuning=options.get("tuning", UploadTuning()),
            )

        result: UploadResult = in_reactor(start)
        return result

    def stored_shares(
        self, storage_index: bytes
    ) -> dict[int, list[tuple[LoopbackServer, ImmutableContainer]]]:
        """Every share file of ``storage_index``, parsed, by share number."""
        found: dict[int, list[tuple[LoopbackServer, ImmutableContainer]]] = {}
        for storage in self.storages:
            bucket = StorageLayout(storage.storage_dir).bucket_dir(storage_index)
            if not bucket.is_dir():
                continue
            for path in bucket.iterdir():
                container = parse_container(path.read_bytes())
                found.setdefault(int(path.name), []).append((storage, container))
        return found

    def share_bodies(self, storage_index: bytes) -> dict[int, bytes]:
        """One copy of each share's data."""
        return {
            shnum: copies[0][1].share_data
            for shnum, copies in self.stored_shares(storage_index).items()
        }


def runner() -> ThreadPoolRunner:
    """The reactor's thread pool as the CPU runner."""
    return ThreadPoolRunner(reactor, reactor.getThreadPool())  # type: ignore[arg-type, attr-defined]


class ThreadRecordingRunner:
    """The thread-pool runner, noting the name of every thread work ran on."""

    def __init__(self) -> None:
        """Wrap the reactor's thread pool."""
        self.inner = runner()
        self.threads: set[str] = set()

    def run(
        self, function: Callable[ParamsT, ResultT], *args: ParamsT.args, **kwargs: ParamsT.kwargs
    ) -> "Deferred[ResultT]":
        """Run on the pool, recording the thread."""

        def call() -> ResultT:
            self.threads.add(threading.current_thread().name)
            return function(*args, **kwargs)

        return self.inner.run(call)


@pytest.fixture
def grid(tmp_path: Path) -> Iterator[LoopbackGrid]:
    """Five real storage servers and a connected broker."""
    storages: list[LoopbackServer] = []
    client_tub: Any = None
    broker: StorageBroker | None = None
    try:
        storages.extend(
            in_reactor(start_server, tmp_path / f"storage-{number}") for number in range(SERVERS)
        )

        def start() -> StorageBroker:
            nonlocal client_tub
            client_tub = Tub()
            client_tub.startService()
            started = StorageBroker(client_tub, reactor)
            started.add_static_servers(
                {
                    "v0-" + b2a(bytes([number + 1]) * 32): {
                        "ann": {"anonymous-storage-FURL": storage.furl, "nickname": f"s{number}"}
                    }
                    for number, storage in enumerate(storages)
                }
            )
            started.start()
            return started

        broker = in_reactor(start)
        assert broker is not None
        in_reactor(
            lambda: broker.when_connected_enough(SERVERS).addTimeout(CONNECT_TIMEOUT, reactor)
        )
        yield LoopbackGrid(storages, broker)
    finally:
        if broker is not None:
            in_reactor(broker.stop)
        if client_tub is not None:
            in_reactor(client_tub.stopService)
        for storage in storages:
            in_reactor(storage.tub.stopService)


def sample(length: int) -> bytes:
    """Deterministic, incompressible-looking bytes."""
    return bytes((index * 131 + index // 251) % 256 for index in range(length))


def test_upload_to_real_servers_decodes_from_their_disks(grid: LoopbackGrid) -> None:
    """A multi-segment upload lands on every server, coded off the reactor; the files decode."""
    data = sample(700_000)
    cpu = ThreadRecordingRunner()
    result = grid.upload(BytesSource(data), cpu)
    assert cpu.threads
    assert "reactor" not in cpu.threads
    plan = ChkPlan(size=len(data), needed=3, total=10, max_segment_size=128 * 1024)
    assert isinstance(result.cap, CHKReadCap)
    assert result.cap.key == convergent_key(SECRET, plan, [data])
    assert result.happiness == SERVERS
    assert result.storage_index is not None
    stored = grid.stored_shares(result.storage_index)
    assert sorted(stored) == list(range(10))
    assert decode_chk(result.cap, grid.share_bodies(result.storage_index)) == data
    for copies in stored.values():
        for storage, container in copies:
            renew, _ = lease_secrets(LEASE_SECRET, result.storage_index, storage.nodeid)
            assert any(
                lease_matches_renew_secret(container.version, lease, renew)
                for lease in container.leases
            )


def test_second_upload_sends_nothing_and_gives_the_same_cap(grid: LoopbackGrid) -> None:
    """Uploading the same file again finds every share and pushes none."""
    data = sample(5000)
    first = grid.upload(BytesSource(data))
    second = grid.upload(BytesSource(data))
    assert second.cap == first.cap
    assert second.pushed_shares == 0
    assert second.preexisting_shares == 10


def test_upload_from_a_file_on_disk(grid: LoopbackGrid, tmp_path: Path) -> None:
    """A FileSource reads the file by range on the thread pool; the shares decode to it."""
    data = sample(300_000)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    source = FileSource.open(path, runner())
    try:
        result = grid.upload(source, tuning=UploadTuning(write_batch_size=64 * 1024))
    finally:
        source.close()
    assert isinstance(result.cap, CHKReadCap)
    assert result.storage_index is not None
    assert decode_chk(result.cap, grid.share_bodies(result.storage_index)) == data


def _exercise_upload_server(server: UploadServer) -> list[object]:
    """Drive one server through the calls an upload makes; return what it answered."""

    async def exercise() -> list[object]:
        storage_index = b"c" * 16
        renew, cancel = lease_secrets(LEASE_SECRET, storage_index, server.lease_seed)
        seen: list[object] = [set(await server.get_buckets(storage_index))]
        held, writers = await server.allocate_buckets(storage_index, renew, cancel, {0, 1}, 10)
        seen.append((set(held), sorted(writers)))
        for writer in writers.values():
            await writer.write(0, b"0123456789")
            await writer.close()
        seen.append(set(await server.get_buckets(storage_index)))
        held, writers = await server.allocate_buckets(storage_index, renew, cancel, {1, 2}, 10)
        seen.append((set(held), sorted(writers)))
        await writers[2].abort()
        seen.append(set(await server.get_buckets(storage_index)))
        return seen

    answers: list[object] = in_reactor(exercise)
    return answers


def test_fake_server_answers_like_a_real_one(grid: LoopbackGrid) -> None:
    """The in-memory fake and a real server over Foolscap give the same answers."""
    (connection, *_) = grid.broker.connected_servers()
    real = _exercise_upload_server(RemoteUploadServer(connection))
    fake = _exercise_upload_server(FakeUploadServer(1))
    assert real == fake == [set(), (set(), [0, 1]), {0, 1}, ({0, 1}, [2]), {0, 1}]
