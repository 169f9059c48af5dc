import time
from pathlib import Path

from grid.base32 import b2a
from tests.integration.foolscap_storage import FoolscapStorage

STORAGE_INDEX = b"\x05" * 16
SECRET = b"\x02" * 32
DISCONNECT_TIMEOUT = 30.0


def test_lost_canary_aborts_unfinished_buckets(tmp_path: Path) -> None:
    """When an uploading client vanishes, its unfinished bucket is aborted; closed ones stay."""
    backend = FoolscapStorage(tmp_path / "storage")
    backend.restart()
    try:
        _, writers = backend.allocate_buckets(STORAGE_INDEX, SECRET, SECRET, {0, 1}, 100)
        writers[0].write(0, b"a" * 100)
        writers[0].close()
        writers[1].write(0, b"b" * 50)
        si = b2a(STORAGE_INDEX)
        partial = backend.storage_dir / "shares" / "incoming" / si[:2] / si / "1"
        assert partial.exists()
        backend.disconnect_client()
        deadline = time.monotonic() + DISCONNECT_TIMEOUT
        while partial.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not partial.exists()
        backend.connect_client()
        already, writers = backend.allocate_buckets(STORAGE_INDEX, SECRET, SECRET, {0, 1}, 100)
        assert (already, sorted(writers)) == ({0}, [1])
    finally:
        backend.close()
