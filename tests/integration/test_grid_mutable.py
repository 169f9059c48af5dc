"""Mutable files (SDMF and MDMF) on an in-process grid of ten real storage servers (k=3, N=10).

Every server is a real StorageServer on its own loopback Tub; the client is
a MutableService over a real broker (see
:mod:`tests.integration.mutable_grid`). Hostile servers are Foolscap
references standing in for real ones in a second broker, under the same
server ids, so they take the same places in the permutation.
"""

import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from foolscap.api import Referenceable
from twisted.internet.defer import Deferred, gatherResults

from client.mutable import keys_from_private_key
from client.mutable.encode import mdmf_segment_size
from grid.base32 import a2b
from grid.caps.mutable import MutableFormat, MutableWriteCap
from grid.caps.parse import parse_cap
from grid.crypto.rsa import generate_rsa_private_key, load_private_key_pem
from grid.errors import NotEnoughSharesError
from grid.formats.mdmf import pack_mdmf_share, parse_mdmf_share
from grid.formats.mutable_container import lease_secret_matches, parse_mutable_container
from grid.formats.mutable_share import parse_mutable_header, parse_mutable_share
from grid.hashing import lease_secrets
from storage_server.foolscap_adapter import FoolscapStorageServer
from tests.chk_samples import sample_plaintext
from tests.integration.inprocess_grid import LEASE_SECRET, InProcessGrid
from tests.integration.mutable_grid import FAST_TIMEOUT, MutableGrid
from tests.integration.reactor_thread import in_reactor
from tests.vectors import TAHOE_SHARES_DIR

SEGMENT = mdmf_segment_size(3)
FORMATS = [MutableFormat.SDMF, MutableFormat.MDMF]


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGrid]:
    """Ten real storage servers on loopback and a broker connected to all of them."""
    started = InProcessGrid.start(tmp_path_factory.mktemp("mutable-grid"))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def files(grid: InProcessGrid) -> MutableGrid:
    """The grid seen through a MutableService."""
    return MutableGrid(grid)


def _data(label: str, size: int) -> bytes:
    return sample_plaintext(label.encode(), size)


def _header_of(files: MutableGrid, cap: MutableWriteCap) -> Any:
    shares = files.all_share_data(cap.storage_index)
    headers = {
        parse_mutable_header(data).seqnum: parse_mutable_header(data) for data in shares.values()
    }
    return headers[max(headers)]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size", [0, 1, 55, 56, 1000, 100_000])
def test_create_read_overwrite_round_trip(
    files: MutableGrid, fmt: MutableFormat, size: int
) -> None:
    """Small files come back byte for byte, by write and read cap, before and after overwrite."""
    data = _data(f"round-{fmt.value}-{size}", size)
    cap = files.create(data, fmt)
    assert cap.format is fmt
    assert files.read(cap) == data
    assert files.read(cap.read_only()) == data
    assert files.size(cap) == size
    replacement = _data(f"again-{fmt.value}-{size}", size + 7)
    files.overwrite(cap, replacement)
    assert files.read(cap.read_only()) == replacement
    header = _header_of(files, cap)
    assert (header.seqnum, header.data_length) == (2, size + 7)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_five_mebibytes_round_trip(files: MutableGrid, fmt: MutableFormat) -> None:
    """A 5 MiB file stores as one share per server and comes back whole and in ranges."""
    data = random.Random(5).randbytes(5 * 1024 * 1024)
    cap = files.create(data, fmt)
    shares = files.all_share_data(cap.storage_index)
    assert sorted(shnum for _server, shnum in shares) == list(range(10))
    assert len({server for server, _shnum in shares}) == 10
    assert files.read(cap) == data
    middle = 2 * 1024 * 1024 + 5
    assert files.read(cap, offset=middle, length=SEGMENT + 3) == data[middle : middle + SEGMENT + 3]


@pytest.mark.parametrize("size", [SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 2 * SEGMENT + 1])
def test_mdmf_segment_boundaries(files: MutableGrid, size: int) -> None:
    """MDMF files around the 131073-byte segment size have the segments Tahoe would cut."""
    data = _data(f"mdmf-boundary-{size}", size)
    cap = files.create(data, MutableFormat.MDMF)
    assert files.read(cap) == data
    header = _header_of(files, cap)
    assert header.segment_size == SEGMENT
    assert header.geometry().num_segments == -(-size // SEGMENT)
    for start, length in [(SEGMENT - 2, 4), (size - 1, 10), (0, size), (SEGMENT, 1)]:
        assert files.read(cap, offset=start, length=length) == data[start : start + length]


def _blocks_by_share(
    files: MutableGrid, cap: MutableWriteCap
) -> dict[int, list[tuple[bytes, bytes]]]:
    blocks = {}
    for (_server, shnum), data in files.all_share_data(cap.storage_index).items():
        share = parse_mdmf_share(data)
        assert pack_mdmf_share(share) == data[: len(pack_mdmf_share(share))]
        blocks[shnum] = list(share.blocks)
    return blocks


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (0, 10),
        (SEGMENT - 1, 2),
        (SEGMENT, 5),
        (2 * SEGMENT - 3, 3),
        (3 * SEGMENT - 10, 20),
        (3 * SEGMENT + 1000, 7),
    ],
)
def test_mdmf_write_at_rewrites_only_touched_segments(
    files: MutableGrid, offset: int, length: int
) -> None:
    """An MDMF write patches the segments it touches (appending or zero-filling past the end)."""
    size = 3 * SEGMENT - 5
    data = _data(f"patch-{offset}", size)
    cap = files.create(data, MutableFormat.MDMF)
    before = _blocks_by_share(files, cap)
    patch = _data(f"patch-bytes-{offset}", length)
    files.write_at(cap, offset, patch)
    expected = data[:offset].ljust(offset, b"\x00") + patch + data[offset + length :]
    assert files.read(cap) == expected
    after = _blocks_by_share(files, cap)
    first = min(offset, size) // SEGMENT
    last = (offset + length - 1) // SEGMENT
    for shnum in range(10):
        for segment, old in enumerate(before[shnum]):
            if first <= segment <= last:
                assert after[shnum][segment][0] != old[0], "touched segments get fresh salts"
            else:
                assert after[shnum][segment] == old, "untouched segments stay as they were"
    assert _header_of(files, cap).seqnum == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_at_and_modify(files: MutableGrid, fmt: MutableFormat) -> None:
    """write_at splices (SDMF: read-modify-write); modify applies a change; None changes nothing."""
    data = _data(f"splice-{fmt.value}", 5000)
    cap = files.create(data, fmt)
    files.write_at(cap, 4990, b"0123456789abcdef")
    expected = data[:4990] + b"0123456789abcdef"
    assert files.read(cap) == expected
    files.modify(cap, lambda old: old.upper())
    assert files.read(cap) == expected.upper()
    seqnum = _header_of(files, cap).seqnum
    files.modify(cap, lambda _old: None)
    assert _header_of(files, cap).seqnum == seqnum == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_version_survives_seven_servers_down(files: MutableGrid, fmt: MutableFormat) -> None:
    """With N-k servers down the file reads and takes a modify; one more: unrecoverable."""
    grid = files.grid
    data = _data(f"down-{fmt.value}", 3 * SEGMENT // 2)
    cap = files.create(data, fmt)
    order = grid.permuted_indexes(cap.storage_index)
    try:
        grid.stop_servers(order[:8])
        with pytest.raises(NotEnoughSharesError) as caught:
            files.read(cap)
        assert (caught.value.needed, caught.value.found) == (3, 2)
        grid.restart_stopped()
        grid.stop_servers(order[:7])
        assert files.read(cap) == data
        files.modify(cap, lambda old: old + b"tail")
        assert files.read(cap) == data + b"tail"
        running = {
            shnum
            for index in order[7:]
            for shnum, share in files.share_data(index, cap.storage_index).items()
            if parse_mutable_header(share).seqnum == 2
        }
        assert running == set(range(10)), "the new version's shares all go to the live servers"
    finally:
        grid.restart_stopped()
    assert files.read(cap) == data + b"tail"
    files.overwrite(cap, b"all back")
    assert files.read(cap) == b"all back"


@pytest.mark.parametrize("fmt", FORMATS)
def test_concurrent_modifies_both_land(files: MutableGrid, fmt: MutableFormat) -> None:
    """Two writers appending at once through separate services lose no acknowledged update."""
    cap = files.create(b"start\n", fmt)
    writers = [files.service(), files.service()]

    def append(line: bytes) -> Any:
        return lambda old: old + line

    async def write(writer: int) -> None:
        for line in range(3):
            await writers[writer].modify(cap, append(b"writer-%d line-%d\n" % (writer, line)))

    async def run() -> None:
        both = [Deferred.fromCoroutine(write(writer)) for writer in (0, 1)]
        await gatherResults(both, consumeErrors=True)

    in_reactor(run)
    lines = files.read(cap).splitlines()
    assert lines[0] == b"start"
    assert sorted(lines[1:]) == sorted(
        b"writer-%d line-%d" % (w, n) for w in (0, 1) for n in range(3)
    )
    for writer in (0, 1):
        mine = [line for line in lines if line.startswith(b"writer-%d" % writer)]
        assert mine == sorted(mine), "each writer's updates land in the order it made them"


class _StandIn(Referenceable):  # type: ignore[misc]
    """Forwards every storage call to the real server it stands in for."""

    def __init__(self, real: FoolscapStorageServer) -> None:
        self.real = real

    def remote_get_version(self) -> Any:
        return self.real.remote_get_version()

    def remote_slot_readv(self, storage_index: bytes, shares: Any, readv: Any) -> Any:
        return self.real.remote_slot_readv(storage_index, shares, readv)

    def remote_slot_testv_and_readv_and_writev(self, *args: Any) -> Any:
        return self.real.remote_slot_testv_and_readv_and_writev(*args)

    def remote_advise_corrupt_share(self, *args: Any) -> Any:
        return self.real.remote_advise_corrupt_share(*args)


class _ForgedSeqnum(_StandIn):
    """Claims every share is version 2**40 by rewriting the (signed) seqnum field."""

    def remote_slot_readv(self, storage_index: bytes, shares: Any, readv: Any) -> Any:
        answer = super().remote_slot_readv(storage_index, shares, readv)
        forged = (2**40).to_bytes(8, "big")
        return {
            shnum: [
                data[:1] + forged + data[9:] if offset == 0 else data
                for data, (offset, _) in zip(items, readv, strict=True)
            ]
            for shnum, items in answer.items()
        }


class _RolledBack(_StandIn):
    """Serves the shares it held at some earlier moment, never the current ones."""

    def __init__(self, real: FoolscapStorageServer, storage_index: bytes) -> None:
        super().__init__(real)
        self.snapshot = real.remote_slot_readv(storage_index, [], [(0, 10**7)])

    def remote_slot_readv(self, storage_index: bytes, shares: Any, readv: Any) -> Any:
        return {
            shnum: [items[0][offset : offset + length] for offset, length in readv]
            for shnum, items in self.snapshot.items()
            if not shares or shnum in shares
        }


@pytest.mark.parametrize("fmt", FORMATS)
def test_forged_and_rolled_back_shares_change_nothing(
    files: MutableGrid, fmt: MutableFormat
) -> None:
    """Servers forging a seqnum or serving an old version: reads see the real newest version."""
    grid = files.grid
    old = _data(f"old-{fmt.value}", 2 * SEGMENT if fmt is MutableFormat.MDMF else 3000)
    cap = files.create(old, fmt)
    order = grid.permuted_indexes(cap.storage_index)
    rolled = {
        index: _RolledBack(grid.servers[index].serving(), cap.storage_index) for index in order[:3]
    }
    new = _data(f"new-{fmt.value}", len(old) + 11)
    files.overwrite(cap, new)
    forged = {index: _ForgedSeqnum(grid.servers[index].serving()) for index in order[3:6]}
    advisories_before = {index: len(grid.servers[index].advisories()) for index in forged}
    with grid.substitute_broker({**rolled, **forged}) as broker:
        service = files.service(broker, timeout=FAST_TIMEOUT)
        assert files.read(cap, service) == new
        assert in_reactor(service.size, cap) == len(new)
        for index in forged:
            grid.settle(index)
    for index in forged:
        assert len(grid.servers[index].advisories()) > advisories_before[index]
    assert files.read(cap) == new
    assert _header_of(files, cap).seqnum == 2


def _tahoe_file(kind: str) -> dict[str, Any]:
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    (entry,) = [item for item in manifest["files"] if item["kind"] == kind]
    return entry


@pytest.mark.parametrize("kind", ["SDMF", "MDMF"])
def test_same_private_key_gives_tahoes_caps(kind: str) -> None:
    """Tahoe's key files give the write, read and verify caps Tahoe made from them."""
    entry = _tahoe_file(kind)
    key = load_private_key_pem((TAHOE_SHARES_DIR / entry["key_file"]).read_bytes())
    keys = keys_from_private_key(key)
    cap = keys.write_cap(MutableFormat[kind])
    assert cap.to_string() == entry["write_cap"]
    assert cap.read_only().to_string() == entry["read_cap"]
    assert cap.verify_cap().to_string() == entry["verify_cap"]


@pytest.mark.parametrize("kind", ["SDMF", "MDMF"])
@pytest.mark.parametrize("present", [(0, 1, 2, 3, 4), (0, 2, 4), (2, 3, 4)])
def test_files_written_by_tahoe_read_back(
    files: MutableGrid, kind: str, present: tuple[int, ...]
) -> None:
    """Real Tahoe 1.20 shares placed on our servers read back to the plaintext, from any 3."""
    entry = _tahoe_file(kind)
    cap = parse_cap(entry["read_cap"])
    folder = TAHOE_SHARES_DIR / kind.lower()
    storage_index = a2b(entry["storage_index_b32"])
    files.remove_shares(storage_index)
    try:
        files.place_share_files(
            storage_index, {shnum: folder / f"share-{shnum}.bin" for shnum in present}
        )
        data = files.read(cap)
        assert hashlib.sha256(data).hexdigest() == entry["plaintext"]["sha256"]
        assert len(data) == entry["data_length"]
        assert files.read(cap, offset=131070, length=10) == data[131070:131080]
    finally:
        files.remove_shares(storage_index)


def test_tahoe_mdmf_with_two_shares_is_unrecoverable(files: MutableGrid) -> None:
    """With only two of Tahoe's shares (k=3) the read says needed 3, found 2."""
    entry = _tahoe_file("MDMF")
    storage_index = a2b(entry["storage_index_b32"])
    folder = TAHOE_SHARES_DIR / "mdmf"
    files.remove_shares(storage_index)
    try:
        files.place_share_files(
            storage_index, {shnum: folder / f"share-{shnum}.bin" for shnum in (3, 4)}
        )
        with pytest.raises(NotEnoughSharesError) as caught:
            files.read(parse_cap(entry["read_cap"]))
        assert (caught.value.needed, caught.value.found) == (3, 2)
    finally:
        files.remove_shares(storage_index)


def test_shares_carry_tahoes_layout_write_enablers_and_lease_secrets(files: MutableGrid) -> None:
    """Each share is Tahoe's layout, under the server's write enabler and the client's lease."""
    key = generate_rsa_private_key()
    cap = files.create(b"x" * 1000, MutableFormat.SDMF, key)
    keys = keys_from_private_key(key)
    assert cap == keys.write_cap(MutableFormat.SDMF)
    for server in files.grid.servers:
        nodeid = server.server.nodeid if server.server is not None else b""
        for path in server.share_paths(cap.storage_index).values():
            container = parse_mutable_container(path.read_bytes())
            share = parse_mutable_share(container.data)
            assert share.seqnum == 1
            assert (share.needed_shares, share.total_shares, share.segment_size) == (3, 10, 1002)
            assert container.header.write_enabler_matches(keys.write_enabler(nodeid))
            renew, cancel = lease_secrets(LEASE_SECRET, cap.storage_index, nodeid)
            (lease,) = container.leases
            version = container.header.version
            assert lease_secret_matches(version, lease.renew_secret_stored, renew)
            assert lease_secret_matches(version, lease.cancel_secret_stored, cancel)


def test_reading_a_file_no_server_holds(files: MutableGrid) -> None:
    """Reading a cap no server holds raises NotEnoughSharesError saying nothing was found."""
    entry = _tahoe_file("SDMF")
    files.remove_shares(a2b(entry["storage_index_b32"]))
    with pytest.raises(NotEnoughSharesError) as caught:
        files.read(parse_cap(entry["read_cap"]))
    assert caught.value.found == 0
    assert "no recoverable version" in str(caught.value)
