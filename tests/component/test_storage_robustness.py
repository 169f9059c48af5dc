"""Hostile or unlucky conditions: garbage arguments, crashes mid-upload, full disks.

Each test checks that the server answers with one of its documented errors
(never another exception), changes nothing it should not, and keeps serving.
"""

import contextlib
import errno
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage_server.arguments import (
    MAX_READ_VECTOR_ENTRIES,
    MAX_REASON_SIZE,
    MAX_TEST_VECTOR_ENTRIES,
)
from storage_server.errors import (
    BadWriteEnablerError,
    DataTooLargeError,
    InvalidArgumentError,
    NotEnoughSpaceError,
    ReadTooLargeError,
    StorageServerError,
    UnsupportedTestOperatorError,
)
from storage_server.layout import StorageLayout
from storage_server.server import MAX_MUTABLE_SHARE_SIZE, StorageServer

REPO_ROOT = Path(__file__).resolve().parents[2]
NODEID = b"N" * 20
NOW = 1_700_000_000.0
SI = b"S" * 16
SLOT = b"M" * 16
RENEW, CANCEL, ENABLER = b"r" * 32, b"c" * 32, b"w" * 32
SECRETS = (ENABLER, RENEW, CANCEL)


def new_server(storage_dir: Path, free_space: int | None = None) -> StorageServer:
    """A started server with a fixed clock and the given free space."""
    server = StorageServer(storage_dir, NODEID, clock=lambda: NOW, free_space=lambda _: free_space)
    server.start()
    return server


def assert_still_serving(server: StorageServer) -> None:
    """A normal upload, read, and mutable write work on ``server``."""
    storage_index = hashlib.sha256(os.urandom(16)).digest()[:16]
    _, writers = server.allocate_buckets(storage_index, RENEW, CANCEL, {0}, 5)
    writers[0].write(0, b"fine!")
    writers[0].close()
    assert server.get_buckets(storage_index)[0].read(0, 5) == b"fine!"
    passed, _ = server.slot_testv_and_readv_and_writev(
        storage_index[::-1], SECRETS, {0: ([], [(0, b"ok")], None)}, []
    )
    assert passed
    assert server.slot_readv(storage_index[::-1], [0], [(0, 2)]) == {0: [b"ok"]}


def populated_server(storage_dir: Path) -> StorageServer:
    """A started server holding an immutable share at SI and a mutable one at SLOT."""
    server = new_server(storage_dir)
    _, writers = server.allocate_buckets(SI, RENEW, CANCEL, {0}, 10)
    writers[0].write(0, b"0123456789")
    writers[0].close()
    server.slot_testv_and_readv_and_writev(SLOT, SECRETS, {0: ([], [(0, b"slot")], None)}, [])
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StorageServer]:
    """A populated server whose shares are checked, and which must still serve, afterwards."""
    server = populated_server(tmp_path)
    yield server
    assert server.get_buckets(SI)[0].read(0, 10) == b"0123456789"
    assert server.slot_readv(SLOT, [], [(0, 10)]) == {0: [b"slot"]}
    assert_still_serving(server)


def call(server: StorageServer, operation: str, *args: Any) -> Any:
    """Call a server method (or a bucket method) by name."""
    if operation == "write":
        _, writers = server.allocate_buckets(b"W" * 16, RENEW, CANCEL, {1}, 10)
        try:
            return writers[1].write(*args)
        finally:
            writers[1].abort()
    if operation == "read":
        return server.get_buckets(SI)[0].read(*args)
    method: Callable[..., Any] = getattr(server, operation)
    return method(*args)


def tw(testv: Any = (), datav: Any = (), new_length: Any = None) -> dict[int, Any]:
    """A one-share test-and-write vector."""
    return {0: (list(testv), list(datav), new_length)}


TWV = "slot_testv_and_readv_and_writev"
BAD_ENABLER = (b"W" * 32, RENEW, CANCEL)
TOO_MANY_TESTS = [(0, 1, b"eq", b"")] * (MAX_TEST_VECTOR_ENTRIES + 1)
LONG_REASON = b"x" * (MAX_REASON_SIZE + 1)
BAD_CALLS: list[tuple[str, tuple[Any, ...], type[StorageServerError]]] = [
    ("allocate_buckets", (b"s" * 15, RENEW, CANCEL, {0}, 1), InvalidArgumentError),
    ("allocate_buckets", (b"s" * 17, RENEW, CANCEL, {0}, 1), InvalidArgumentError),
    ("allocate_buckets", ("s" * 16, RENEW, CANCEL, {0}, 1), InvalidArgumentError),
    ("allocate_buckets", (bytearray(16), RENEW, CANCEL, {0}, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW[:31], CANCEL, {0}, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, None, {0}, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {256}, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {-1}, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {True}, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {"0"}, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, list(range(257)), 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, [0] * 5000, 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, b"\x00\x01", 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {0}, -1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {0}, 2**64 + 1), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {0}, 1.5), InvalidArgumentError),
    ("allocate_buckets", (SI, RENEW, CANCEL, {0}, True), InvalidArgumentError),
    ("write", (-1, b"x"), InvalidArgumentError),
    ("write", ("0", b"x"), InvalidArgumentError),
    ("write", (0, "x"), InvalidArgumentError),
    ("write", (0, memoryview(b"x")), InvalidArgumentError),
    ("write", (2**64, b"x"), InvalidArgumentError),
    ("write", (10, b"x"), DataTooLargeError),
    ("write", (2**63, b"x"), DataTooLargeError),
    ("read", (-1, 1), InvalidArgumentError),
    ("read", (0, 2**31), InvalidArgumentError),
    ("read", (0, -5), InvalidArgumentError),
    ("read", (0, True), InvalidArgumentError),
    ("read", (None, 1), InvalidArgumentError),
    ("add_lease", (SI, RENEW, CANCEL[:-1]), InvalidArgumentError),
    ("get_buckets", (None,), InvalidArgumentError),
    ("slot_readv", (SLOT, [256], [(0, 1)]), InvalidArgumentError),
    ("slot_readv", (SLOT, "0", [(0, 1)]), InvalidArgumentError),
    ("slot_readv", (SLOT, [], [(0, 1, 2)]), InvalidArgumentError),
    ("slot_readv", (SLOT, [], [(-1, 1)]), InvalidArgumentError),
    ("slot_readv", (SLOT, [], [(0, 2**31)]), InvalidArgumentError),
    ("slot_readv", (SLOT, [], [(0, 1)] * (MAX_READ_VECTOR_ENTRIES + 1)), InvalidArgumentError),
    ("slot_readv", (SLOT, [], {(0, 1)}), InvalidArgumentError),
    (TWV, (SLOT, SECRETS[:2], tw(), []), InvalidArgumentError),
    (TWV, (SLOT, (b"w", RENEW, CANCEL), tw(), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, [], []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, {256: ([], [], None)}, []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, {"0": ([], [], None)}, []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, {0: ([], [])}, []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw([(0, 1, b"")]), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw([(0, 1, "eq", b"")]), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw([(0, 1, b"ne", b"")]), []), UnsupportedTestOperatorError),
    (TWV, (SLOT, SECRETS, tw([(0, 1, b"lt", b"")]), []), UnsupportedTestOperatorError),
    (TWV, (SLOT, SECRETS, tw([(0, 2**31, b"eq", b"")]), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw(TOO_MANY_TESTS), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw(datav=[(-1, b"x")]), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw(datav=[(0, "x")]), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw(new_length=-1), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw(new_length=1.0), []), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw(), [(0, -1)]), InvalidArgumentError),
    (TWV, (SLOT, SECRETS, tw(datav=[(MAX_MUTABLE_SHARE_SIZE, b"x")]), []), DataTooLargeError),
    (TWV, (SLOT, BAD_ENABLER, tw(datav=[(0, b"x")]), []), BadWriteEnablerError),
    ("advise_corrupt_share", (b"other", SI, 0, b"why"), InvalidArgumentError),
    ("advise_corrupt_share", ("immutable", SI, 0, b"why"), InvalidArgumentError),
    ("advise_corrupt_share", (b"immutable", SI, -1, b"why"), InvalidArgumentError),
    ("advise_corrupt_share", (b"immutable", SI, 0, "why"), InvalidArgumentError),
    ("advise_corrupt_share", (b"immutable", SI, 0, LONG_REASON), InvalidArgumentError),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "args", "error"), BAD_CALLS)
def test_bad_arguments_raise_our_error(
    server: StorageServer, operation: str, args: tuple[Any, ...], error: type[Exception]
) -> None:
    """Each malformed call raises its documented error and the server keeps serving."""
    with pytest.raises(error):
        call(server, operation, *args)


def test_oversized_read_response_is_refused(server: StorageServer) -> None:
    """Read vectors that would return more than the per-call limit are refused before reading."""
    big = b"B" * 300_000
    server.slot_testv_and_readv_and_writev(SLOT, SECRETS, {1: ([], [(0, big)], None)}, [])
    with pytest.raises(ReadTooLargeError):
        server.slot_readv(SLOT, [1], [(0, 300_000)] * MAX_READ_VECTOR_ENTRIES)
    server.slot_testv_and_readv_and_writev(SLOT, SECRETS, {1: ([], [], 0)}, [])


def test_mutable_growth_past_free_space_is_refused(tmp_path: Path) -> None:
    """A mutable write needing more than the free space is refused and writes nothing."""
    server = new_server(tmp_path, free_space=1000)
    with pytest.raises(NotEnoughSpaceError):
        server.slot_testv_and_readv_and_writev(
            SLOT, SECRETS, {0: ([], [(10**12, b"sparse")], None)}, []
        )
    assert server.slot_readv(SLOT, [], [(0, 1)]) == {}
    assert_still_serving(server)


garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=40),
    st.lists(st.integers(min_value=-5, max_value=300), max_size=5),
    st.tuples(st.integers(), st.binary(max_size=4)),
    st.dictionaries(st.integers(min_value=-2, max_value=300), st.integers(), max_size=3),
    st.just(object()),
)

VALID_CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("allocate_buckets", (b"G" * 16, RENEW, CANCEL, {2}, 10)),
    ("add_lease", (SI, RENEW, CANCEL)),
    ("get_buckets", (SI,)),
    ("write", (0, b"abc")),
    ("read", (0, 5)),
    ("slot_readv", (SLOT, [0], [(0, 4)])),
    (TWV, (b"H" * 16, SECRETS, tw(datav=[(0, b"x")]), [(0, 1)])),
    ("advise_corrupt_share", (b"mutable", SLOT, 0, b"why")),
]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_garbage_in_any_argument_raises_only_our_errors(data: st.DataObject) -> None:
    """Any single argument replaced by garbage gives a result or a StorageServerError."""
    with tempfile.TemporaryDirectory() as directory:
        server = populated_server(Path(directory))
        operation, args = data.draw(st.sampled_from(VALID_CALLS))
        position = data.draw(st.integers(min_value=0, max_value=len(args) - 1))
        mangled = list(args)
        mangled[position] = data.draw(garbage)
        with contextlib.suppress(StorageServerError):
            call(server, operation, *mangled)
        assert_still_serving(server)


def test_crash_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    """Files left under incoming/ by a crash are removed at start; no share appears."""
    crashed = new_server(tmp_path)
    _, writers = crashed.allocate_buckets(SI, RENEW, CANCEL, {0, 1}, 10)
    writers[0].write(0, b"partial...")
    writers[1].write(0, b"0123456789")
    layout = StorageLayout(tmp_path)
    layout.mutable_scratch_dir.mkdir(parents=True)
    layout.mutable_scratch_path(SLOT, 0).write_bytes(b"half-written update")
    restarted = new_server(tmp_path)
    assert list(layout.incoming_dir.iterdir()) == []
    assert [path.name for path in layout.shares_dir.iterdir()] == ["incoming"]
    assert restarted.get_buckets(SI) == {}
    assert restarted.slot_readv(SLOT, [], [(0, 10)]) == {}
    already, again = restarted.allocate_buckets(SI, RENEW, CANCEL, {0, 1}, 10)
    assert (already, set(again)) == (set(), {0, 1})
    assert_still_serving(restarted)


def test_failed_write_aborts_the_upload(tmp_path: Path) -> None:
    """A disk failure while writing aborts the bucket: no share, and later calls are refused."""
    server = new_server(tmp_path)
    _, writers = server.allocate_buckets(SI, RENEW, CANCEL, {0}, 10)
    StorageLayout(tmp_path).incoming_share_path(SI, 0).unlink()
    StorageLayout(tmp_path).incoming_share_path(SI, 0).mkdir()
    with pytest.raises(StorageServerError) as failure:
        writers[0].write(0, b"x")
    assert isinstance(failure.value, OSError)
    assert writers[0].aborted
    with pytest.raises(StorageServerError):
        writers[0].close()
    assert server.get_buckets(SI) == {}


FSIZE_CHILD = """
import json, resource, signal, sys
from pathlib import Path
from storage_server.errors import DiskError
from storage_server.server import MAX_MUTABLE_SHARE_SIZE, StorageServer

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
root, limit = Path(sys.argv[1]), int(sys.argv[2])
secrets = (b"w" * 32, b"r" * 32, b"c" * 32)
server = StorageServer(root, b"N" * 20, clock=lambda: 1.7e9, free_space=lambda _: None)
server.start()
server.slot_testv_and_readv_and_writev(b"M" * 16, secrets, {0: ([], [(0, b"old")], None)}, [])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
results = {}

def attempt(name, action):
    try:
        action()
        results[name] = "ok"
    except DiskError as error:
        results[name] = error.errno

_, writers = server.allocate_buckets(b"A" * 16, b"r" * 32, b"c" * 32, {0}, 4 * limit)
attempt("write", lambda: writers[0].write(0, b"x" * (2 * limit)))
results["write_aborted"] = writers[0].aborted
_, writers = server.allocate_buckets(b"B" * 16, b"r" * 32, b"c" * 32, {0}, 2 * limit)
writers[0].write(0, b"y" * 100)
attempt("close", writers[0].close)
results["close_aborted"] = writers[0].aborted
attempt("mutable", lambda: server.slot_testv_and_readv_and_writev(
    b"M" * 16, secrets, {0: ([], [(0, b"z" * (2 * limit))], None)}, []))
_, writers = server.allocate_buckets(b"C" * 16, b"r" * 32, b"c" * 32, {0}, 100)
writers[0].write(0, b"s" * 100)
attempt("small", writers[0].close)
print(json.dumps(results))
"""


def test_full_disk_leaves_no_complete_looking_share(tmp_path: Path) -> None:
    """Writes failing with EFBIG (RLIMIT_FSIZE) are reported and leave nothing half-done."""
    limit = 64 * 1024
    completed = subprocess.run(  # noqa: S603  runs this interpreter on a fixed script
        [sys.executable, "-c", FSIZE_CHILD, str(tmp_path), str(limit)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    results = json.loads(completed.stdout)
    assert results == {
        "write": errno.EFBIG,
        "write_aborted": True,
        "close": errno.EFBIG,
        "close_aborted": True,
        "mutable": errno.EFBIG,
        "small": "ok",
    }
    server = new_server(tmp_path)
    assert server.get_buckets(b"A" * 16) == {}
    assert server.get_buckets(b"B" * 16) == {}
    assert server.get_buckets(b"C" * 16)[0].read(0, 100) == b"s" * 100
    assert server.slot_readv(b"M" * 16, [], [(0, 100)]) == {0: [b"old"]}
    layout = StorageLayout(tmp_path)
    assert not layout.bucket_dir(b"A" * 16).exists()
    assert not layout.bucket_dir(b"B" * 16).exists()
