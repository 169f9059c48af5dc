"""Large MDMF files published from a source, batch by batch, on the in-process grid (k=3, N=10).

Every server is a real StorageServer on its own loopback Tub; the client is
a MutableService over a real broker with a small batch size, so a 20 MiB
file takes many rounds of test-and-write calls.
"""

import hashlib
from collections.abc import Iterator

import pytest
from twisted.internet import reactor

from client.mutable.keys import keys_from_cap
from client.upload import ThreadPoolRunner
from client.upload.plaintext_source import FileSource
from grid.caps.mutable import MutableFormat
from grid.formats.mdmf import parse_mdmf_share
from tests.chk_samples import sample_plaintext
from tests.integration.inprocess_grid import InProcessGrid
from tests.integration.mutable_grid import MutableGrid
from tests.integration.reactor_thread import in_reactor


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGrid]:
    """Ten real storage servers on loopback and a broker connected to all of them."""
    started = InProcessGrid.start(tmp_path_factory.mktemp("mutable-stream-grid"))
    try:
        yield started
    finally:
        started.close()


@pytest.mark.slow
def test_twenty_mebibytes_from_a_file_round_trip(
    grid: InProcessGrid, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A 20 MiB MDMF file put from disk and overwritten reads back; every share parses whole."""
    files = MutableGrid(grid)
    service = files.service(batch_size=2 << 20)
    path = tmp_path_factory.mktemp("source") / "large"
    first = sample_plaintext(b"stream-1", 20 << 20)
    path.write_bytes(first)
    runner = ThreadPoolRunner(reactor, reactor.getThreadPool())  # type: ignore[arg-type, attr-defined]
    source = FileSource.open(path, runner)
    try:
        cap = in_reactor(service.create, source, MutableFormat.MDMF)
    finally:
        source.close()
    assert hashlib.sha256(files.read(cap, service)).digest() == hashlib.sha256(first).digest()
    second = sample_plaintext(b"stream-2", (20 << 20) - 12345)
    in_reactor(service.overwrite, cap, second)
    assert files.read(cap, service) == second
    storage_index = keys_from_cap(cap).storage_index
    shares = files.all_share_data(storage_index)
    assert sorted(shnum for _server, shnum in shares) == list(range(10))
    for data in shares.values():
        share = parse_mdmf_share(data)
        assert (share.seqnum, share.data_length) == (2, len(second))
