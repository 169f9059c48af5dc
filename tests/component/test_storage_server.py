"""Behaviour of the StorageServer core that no remote client can observe or trigger directly."""

from pathlib import Path

import pytest
from twisted.internet.task import Clock

from grid.base32 import b2a
from storage_server.advisories import printable_reason
from storage_server.errors import (
    ConflictingWriteError,
    CorruptShareError,
    ReadOnlyError,
    ShareKindMismatchError,
)
from storage_server.layout import StorageLayout
from storage_server.server import BUCKET_IDLE_TIMEOUT, StorageServer

SI = b"S" * 16
RENEW, CANCEL = b"r" * 32, b"c" * 32
SECRETS = (b"w" * 32, RENEW, CANCEL)


def make_server(
    storage_dir: Path, clock: Clock, *, readonly: bool = False, free: int | None = None
) -> StorageServer:
    """A started server on ``storage_dir`` driven by ``clock``."""
    server = StorageServer(
        storage_dir, b"n" * 20, clock=clock.seconds, readonly=readonly, free_space=lambda _: free
    )
    server.start()
    return server


@pytest.fixture
def clock() -> Clock:
    """A clock at a fixed, realistic time."""
    clock = Clock()
    clock.advance(1_700_000_000)
    return clock


def test_constructor_does_no_io(tmp_path: Path, clock: Clock) -> None:
    """Building a server touches nothing on disk; start() creates the directories."""
    storage_dir = tmp_path / "storage"
    server = StorageServer(storage_dir, b"n" * 20, clock=clock.seconds)
    assert not storage_dir.exists()
    server.start()
    layout = StorageLayout(storage_dir)
    assert layout.incoming_dir.is_dir()
    assert layout.corruption_advisories_dir.is_dir()


def test_nodeid_must_be_20_bytes(tmp_path: Path, clock: Clock) -> None:
    """A node id of the wrong size is a programming error caught at construction."""
    with pytest.raises(ValueError, match="20 bytes"):
        StorageServer(tmp_path, b"short", clock=clock.seconds)


def test_idle_buckets_are_aborted_after_30_minutes(tmp_path: Path, clock: Clock) -> None:
    """Only uploads with no write for 30 minutes are aborted, and their files removed."""
    server = make_server(tmp_path, clock)
    _, writers = server.allocate_buckets(SI, RENEW, CANCEL, {0, 1}, 10)
    clock.advance(BUCKET_IDLE_TIMEOUT - 60)
    writers[1].write(0, b"x")
    assert server.abort_idle_buckets() == []
    clock.advance(60)
    assert server.abort_idle_buckets() == [writers[0]]
    assert writers[0].aborted
    assert not writers[1].closed
    assert not StorageLayout(tmp_path).incoming_share_path(SI, 0).exists()
    clock.advance(BUCKET_IDLE_TIMEOUT)
    assert server.abort_idle_buckets() == [writers[1]]
    assert server.allocate_buckets(SI, RENEW, CANCEL, {0, 1}, 10)[1].keys() == {0, 1}


def test_close_never_replaces_a_share(tmp_path: Path, clock: Clock) -> None:
    """If a mutable share took the number during the upload, close fails and keeps it."""
    server = make_server(tmp_path, clock)
    _, writers = server.allocate_buckets(SI, RENEW, CANCEL, {0}, 3)
    writers[0].write(0, b"abc")
    server.slot_testv_and_readv_and_writev(SI, SECRETS, {0: ([], [(0, b"mutable")], None)}, [])
    with pytest.raises(ConflictingWriteError):
        writers[0].close()
    assert writers[0].aborted
    assert server.slot_readv(SI, [0], [(0, 7)]) == {0: [b"mutable"]}
    assert server.get_buckets(SI) == {}


def test_readonly_server_refuses_mutable_writes(tmp_path: Path, clock: Clock) -> None:
    """Unlike Tahoe, a read-only server refuses test-and-write with vectors but still reads."""
    make_server(tmp_path, clock).slot_testv_and_readv_and_writev(
        SI, SECRETS, {0: ([], [(0, b"data")], None)}, []
    )
    server = make_server(tmp_path, clock, readonly=True)
    with pytest.raises(ReadOnlyError):
        server.slot_testv_and_readv_and_writev(SI, SECRETS, {0: ([], [(0, b"new")], None)}, [])
    assert server.slot_testv_and_readv_and_writev(SI, SECRETS, {}, [(0, 4)]) == (
        True,
        {0: [b"data"]},
    )
    server.add_lease(SI, b"R" * 32, b"C" * 32)


def test_unusable_files_are_skipped_and_never_overwritten(tmp_path: Path, clock: Clock) -> None:
    """Junk in a bucket is ignored by reads and leases, and writes refuse to replace it."""
    server = make_server(tmp_path, clock)
    _, writers = server.allocate_buckets(SI, RENEW, CANCEL, {0}, 3)
    writers[0].write(0, b"abc")
    writers[0].close()
    bucket = StorageLayout(tmp_path).bucket_dir(SI)
    (bucket / "1").write_bytes(b"\xff" * 50)
    (bucket / "notes.txt").write_text("operator notes")
    (bucket / "007").write_bytes(b"")
    assert set(server.get_buckets(SI)) == {0}
    assert server.allocate_buckets(SI, RENEW, CANCEL, {0, 1, 2}, 3)[0] == {0}
    server.add_lease(SI, RENEW, CANCEL)
    assert server.slot_readv(SI, [], [(0, 3)]) == {}
    with pytest.raises(CorruptShareError):
        server.slot_testv_and_readv_and_writev(SI, SECRETS, {1: ([], [(0, b"x")], None)}, [])
    with pytest.raises(ShareKindMismatchError):
        server.slot_testv_and_readv_and_writev(SI, SECRETS, {0: ([], [(0, b"x")], None)}, [])
    assert (bucket / "1").read_bytes() == b"\xff" * 50
    assert server.get_buckets(SI)[0].read(0, 3) == b"abc"


def test_advisory_names_come_only_from_the_server(tmp_path: Path, clock: Clock) -> None:
    """Advisory file names hold the time, storage index and share number, never the reason."""
    server = make_server(tmp_path, clock)
    server.slot_testv_and_readv_and_writev(SI, SECRETS, {3: ([], [(0, b"m")], None)}, [])
    for _ in range(3):
        server.advise_corrupt_share(b"mutable", SI, 3, b"../../escape\nline two\x00\xff")
    names = sorted(
        path.name for path in StorageLayout(tmp_path).corruption_advisories_dir.iterdir()
    )
    base = f"2023-11-14T221320.000000Z--{b2a(SI)}-3"
    assert names == [base, f"{base}.1", f"{base}.2"]
    text = (StorageLayout(tmp_path).corruption_advisories_dir / base).read_text()
    assert text.startswith("report: Share Corruption\ntype: mutable\n")
    assert "../../escape\nline two\\x00\\xff" in text


def test_advisory_is_dropped_without_space(tmp_path: Path, clock: Clock) -> None:
    """A report larger than the available space is not written, and nothing is raised."""
    server = make_server(tmp_path, clock, free=10)
    server.slot_testv_and_readv_and_writev(SI, SECRETS, {0: ([], [(0, b"m")], None)}, [])
    server.advise_corrupt_share(b"mutable", SI, 0, b"reason")
    assert list(StorageLayout(tmp_path).corruption_advisories_dir.iterdir()) == []


def test_printable_reason_escapes_control_characters() -> None:
    """Reasons keep newlines and tabs, and escape other control characters and bad UTF-8."""
    assert printable_reason(b"ok\tfine\n\x1b[2J\xc3\xa9\xc3") == "ok\tfine\n\\x1b[2Jé\\xc3"
