"""The server's files are Tahoe's: it writes Tahoe 1.20's bytes and serves Tahoe's directories."""

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.task import Clock

from grid.base32 import a2b, b2a
from grid.caps.immutable import CHKReadCap
from grid.caps.mutable import MutableWriteCap
from grid.caps.parse import parse_cap
from grid.formats.immutable_container import LEASE_RECORD, parse_container
from grid.formats.mutable_container import (
    CONTAINER_V1,
    lease_slot_offset,
    parse_mutable_container,
)
from grid.hashing import lease_secrets, write_enabler, write_enabler_master
from storage_server.errors import BadWriteEnablerError
from storage_server.layout import StorageLayout
from storage_server.server import LEASE_DURATION, StorageServer
from tests.vectors import TAHOE_SHARES_DIR, VECTORS_DIR

WRITE_CHUNK = 10_000
OLD_CHK_CAP = (
    "URI:CHK:g4i6qkk7mlj4vkl5ncg6dwo73i:"
    "qcas2ebousfk3q5rkl2ncayeku52kpyse76v5yeel2t2eaa4f6ha:3:10:310"
)
OLD_SDMF_CAP = (
    "URI:SSK:vfvcbdfbszyrsaxchgevhmmlii:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq"
)
OLD_SDMF_NODEID = a2b("ncieuno4yjvioe7fz5y7tqhl3nfrmawh")
LATER = 1_900_000_000


@cache
def manifest() -> dict[str, Any]:
    """MANIFEST.json of the Tahoe 1.20 share files."""
    result: dict[str, Any] = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    return result


def entry(kind: str) -> dict[str, Any]:
    """The manifest entry of one file (CHK, SDMF or MDMF)."""
    return next(item for item in manifest()["files"] if item["kind"] == kind)


def client_lease_secret() -> bytes:
    """The lease secret of the client that wrote the sample files."""
    return a2b(manifest()["client_lease_secret_b32"])


def read_b32_vector(name: str) -> bytes:
    """A share file stored as base32 text (``#`` lines are comments)."""
    lines = (VECTORS_DIR / name).read_text().splitlines()
    return a2b("".join(line.strip() for line in lines if not line.startswith("#")))


def started_server(storage_dir: Path, nodeid: bytes, now: float) -> StorageServer:
    """A started server whose clock reads ``now``."""
    clock = Clock()
    clock.advance(now)
    server = StorageServer(storage_dir, nodeid, clock=clock.seconds, free_space=lambda _: None)
    server.start()
    return server


def place_share(storage_dir: Path, storage_index: bytes, shnum: int, source: Path) -> Path:
    """Copy a Tahoe share file to where Tahoe would keep it."""
    target = StorageLayout(storage_dir).share_path(storage_index, shnum)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


CHK_SHARES = entry("CHK")["shares"]


@pytest.mark.parametrize("share", CHK_SHARES, ids=lambda share: share["file"])
def test_uploaded_share_is_byte_identical_to_tahoe(tmp_path: Path, share: dict[str, Any]) -> None:
    """Uploading a real share's data gives Tahoe 1.20's file, lease expiry aside."""
    real = (TAHOE_SHARES_DIR / share["file"]).read_bytes()
    share_data = parse_container(real).share_data
    storage_index = a2b(entry("CHK")["storage_index_b32"])
    nodeid = a2b(share["server_nodeid_b32"])
    server = started_server(tmp_path, nodeid, LATER)
    renew, cancel = lease_secrets(client_lease_secret(), storage_index, nodeid)
    _, writers = server.allocate_buckets(
        storage_index, renew, cancel, {share["shnum"]}, len(share_data)
    )
    writer = writers[share["shnum"]]
    for offset in range(0, len(share_data), WRITE_CHUNK):
        writer.write(offset, share_data[offset : offset + WRITE_CHUNK])
    writer.close()
    written = server.layout.share_path(storage_index, share["shnum"]).read_bytes()
    assert len(written) == len(real)
    assert written[:-4] == real[:-4]
    assert int.from_bytes(written[-4:], "big") == LATER + LEASE_DURATION


def test_tahoe_immutable_shares_are_served(tmp_path: Path) -> None:
    """Tahoe's CHK share files, copied into place, are listed and read back exactly."""
    storage_index = a2b(entry("CHK")["storage_index_b32"])
    for share in CHK_SHARES:
        place_share(tmp_path, storage_index, share["shnum"], TAHOE_SHARES_DIR / share["file"])
    server = started_server(tmp_path, a2b(CHK_SHARES[0]["server_nodeid_b32"]), LATER)
    readers = server.get_buckets(storage_index)
    assert set(readers) == {share["shnum"] for share in CHK_SHARES}
    for share in CHK_SHARES:
        data = parse_container((TAHOE_SHARES_DIR / share["file"]).read_bytes()).share_data
        assert readers[share["shnum"]].read(0, 2**31 - 1) == data
        assert readers[share["shnum"]].read(len(data) - 5, 100) == data[-5:]


def test_tahoe_immutable_lease_is_renewed_in_place(tmp_path: Path) -> None:
    """Allocating with the client's real secrets renews Tahoe's lease instead of adding one."""
    share = CHK_SHARES[1]
    storage_index = a2b(entry("CHK")["storage_index_b32"])
    nodeid = a2b(share["server_nodeid_b32"])
    path = place_share(tmp_path, storage_index, 1, TAHOE_SHARES_DIR / share["file"])
    original = path.read_bytes()
    server = started_server(tmp_path, nodeid, LATER)
    renew, cancel = lease_secrets(client_lease_secret(), storage_index, nodeid)
    already, writers = server.allocate_buckets(storage_index, renew, cancel, {1}, 100)
    assert (already, writers) == ({1}, {})
    renewed = path.read_bytes()
    assert renewed[:-4] == original[:-4]
    assert int.from_bytes(renewed[-4:], "big") == LATER + LEASE_DURATION


MUTABLE_KINDS = ["SDMF", "MDMF"]


@pytest.mark.parametrize("kind", MUTABLE_KINDS)
def test_tahoe_mutable_shares_are_read(tmp_path: Path, kind: str) -> None:
    """Tahoe's mutable share files, copied into place, are read by slot_readv."""
    item = entry(kind)
    storage_index = a2b(item["storage_index_b32"])
    for share in item["shares"]:
        place_share(tmp_path, storage_index, share["shnum"], TAHOE_SHARES_DIR / share["file"])
    server = started_server(tmp_path, a2b(item["shares"][0]["server_nodeid_b32"]), LATER)
    result = server.slot_readv(storage_index, [], [(0, 2**20), (1, 8)])
    assert set(result) == {share["shnum"] for share in item["shares"]}
    for share in item["shares"]:
        data = parse_mutable_container((TAHOE_SHARES_DIR / share["file"]).read_bytes()).data
        assert result[share["shnum"]] == [data, data[1:9]]


@pytest.mark.parametrize("kind", MUTABLE_KINDS)
def test_tahoe_mutable_share_accepts_its_write_enabler(tmp_path: Path, kind: str) -> None:
    """A test-and-write with the write enabler derived from the write key works on Tahoe's file.

    Rewriting the share's own first bytes leaves the file identical except for
    the renewed expiry of the client's lease.
    """
    item = entry(kind)
    share = item["shares"][2]
    storage_index = a2b(item["storage_index_b32"])
    nodeid = a2b(share["server_nodeid_b32"])
    path = place_share(tmp_path, storage_index, 2, TAHOE_SHARES_DIR / share["file"])
    original = path.read_bytes()
    prefix = parse_mutable_container(original).data[:41]
    enabler = write_enabler(write_enabler_master(a2b(item["writekey_b32"])), nodeid)
    renew, cancel = lease_secrets(client_lease_secret(), storage_index, nodeid)
    server = started_server(tmp_path, nodeid, LATER)
    passed, reads = server.slot_testv_and_readv_and_writev(
        storage_index,
        (enabler, renew, cancel),
        {2: ([(0, 41, b"eq", prefix)], [(0, prefix)], None)},
        [(0, 41)],
    )
    assert (passed, reads) == (True, {2: [prefix]})
    updated = path.read_bytes()
    expiry = lease_slot_offset(parse_mutable_container(original).header, 0) + 4
    assert updated[:expiry] == original[:expiry]
    assert updated[expiry + 4 :] == original[expiry + 4 :]
    assert int.from_bytes(updated[expiry : expiry + 4], "big") == LATER + LEASE_DURATION


@pytest.mark.parametrize("kind", MUTABLE_KINDS)
def test_tahoe_mutable_share_refuses_a_wrong_write_enabler(tmp_path: Path, kind: str) -> None:
    """A write enabler derived for another node is refused, naming the recorded node id."""
    item = entry(kind)
    share = item["shares"][0]
    storage_index = a2b(item["storage_index_b32"])
    path = place_share(tmp_path, storage_index, 0, TAHOE_SHARES_DIR / share["file"])
    original = path.read_bytes()
    other_node = a2b(item["shares"][1]["server_nodeid_b32"])
    enabler = write_enabler(write_enabler_master(a2b(item["writekey_b32"])), other_node)
    server = started_server(tmp_path, a2b(share["server_nodeid_b32"]), LATER)
    with pytest.raises(BadWriteEnablerError) as failure:
        server.slot_testv_and_readv_and_writev(
            storage_index, (enabler, bytes(32), bytes(32)), {0: ([], [(0, b"x")], None)}, []
        )
    assert str(failure.value) == (
        f"The write enabler was recorded by nodeid '{share['write_enabler_nodeid_b32']}'."
    )
    assert path.read_bytes() == original


def test_version_1_immutable_container_is_served_and_leased(tmp_path: Path) -> None:
    """A Tahoe 1.2 (container v1) share is read, and new leases keep its cleartext secrets."""
    original = read_b32_vector("tahoe-1.2-chk-share0.b32")
    cap = parse_cap(OLD_CHK_CAP)
    assert isinstance(cap, CHKReadCap)
    storage_index = cap.storage_index
    source = tmp_path / "old-share"
    source.write_bytes(original)
    path = place_share(tmp_path / "storage", storage_index, 0, source)
    server = started_server(tmp_path / "storage", bytes(20), LATER)
    data = parse_container(original).share_data
    assert server.get_buckets(storage_index)[0].read(0, 5000) == data
    server.add_lease(storage_index, b"R" * 32, b"C" * 32)
    container = parse_container(path.read_bytes())
    assert container.version == 1
    assert container.share_data == data
    old_lease, new_lease = container.leases
    assert old_lease == parse_container(original).leases[0]
    assert (new_lease.owner_num, new_lease.expiration_time) == (1, LATER + LEASE_DURATION)
    assert (new_lease.stored_renew_secret, new_lease.stored_cancel_secret) == (b"R" * 32, b"C" * 32)
    assert len(path.read_bytes()) == len(original) + LEASE_RECORD.size


def test_version_1_mutable_container_is_served_and_written(tmp_path: Path) -> None:
    """A Tahoe 1.2 (container v1) slot is read, written with its write enabler, and leased."""
    original = read_b32_vector("tahoe-1.2-sdmf-share2.b32")
    cap = parse_cap(OLD_SDMF_CAP)
    assert isinstance(cap, MutableWriteCap)
    storage_index, writekey = cap.storage_index, cap.writekey
    source = tmp_path / "old-share"
    source.write_bytes(original)
    path = place_share(tmp_path / "storage", storage_index, 2, source)
    server = started_server(tmp_path / "storage", OLD_SDMF_NODEID, LATER)
    data = parse_mutable_container(original).data
    assert server.slot_readv(storage_index, [2], [(0, 10000)]) == {2: [data]}
    enabler = write_enabler(write_enabler_master(writekey), OLD_SDMF_NODEID)
    passed, _ = server.slot_testv_and_readv_and_writev(
        storage_index,
        (enabler, b"R" * 32, b"C" * 32),
        {2: ([(0, 9, b"eq", data[:9])], [(len(data), b"tail")], None)},
        [],
    )
    assert passed
    container = parse_mutable_container(path.read_bytes())
    assert container.header.version == CONTAINER_V1
    assert container.data == data + b"tail"
    old_lease, new_lease = container.leases
    assert old_lease == parse_mutable_container(original).leases[0]
    assert new_lease.renew_secret_stored == b"R" * 32
    assert new_lease.expiration_time == LATER + LEASE_DURATION
    assert len(path.read_bytes()) == len(original) + len(b"tail")
    assert b2a(container.header.write_enabler_nodeid) == b2a(OLD_SDMF_NODEID)
