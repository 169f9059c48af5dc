import hashlib
import json
import re
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid.base32 import a2b, b2a
from grid.errors import ShareFormatError
from grid.formats.immutable_container import (
    build_container,
    lease_matches_cancel_secret,
    lease_matches_renew_secret,
    parse_container,
)
from grid.formats.immutable_share import (
    num_share_hashes,
    pack_share_hashes,
    parse_share,
    plan_share_layout,
)
from grid.formats.uri_extension import (
    check_consistent_with_cap,
    pack_uri_extension,
    parse_uri_extension,
)
from grid.hashing import lease_secrets, uri_extension_hash
from tests.vectors import TAHOE_SHARES_DIR, VECTORS_DIR

OLD_SHARE_CAP = (
    "URI:CHK:g4i6qkk7mlj4vkl5ncg6dwo73i:"
    "qcas2ebousfk3q5rkl2ncayeku52kpyse76v5yeel2t2eaa4f6ha:3:10:310"
)


@cache
def chk_manifest() -> dict[str, Any]:
    """The CHK file's entry of MANIFEST.json, plus the top-level lease secret."""
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    (entry,) = [item for item in manifest["files"] if item["kind"] == "CHK"]
    return {**entry, "client_lease_secret_b32": manifest["client_lease_secret_b32"]}


@cache
def share_file(shnum: int) -> bytes:
    """Bytes of the Tahoe 1.20 CHK share file ``shnum``."""
    return (TAHOE_SHARES_DIR / "chk" / f"share-{shnum}.bin").read_bytes()


@cache
def old_share_file() -> bytes:
    """Bytes of share 0 written by Tahoe 1.2.0 (tahoe-vectors.md section 11.1)."""
    return a2b((VECTORS_DIR / "tahoe-1.2-chk-share0.b32").read_text().strip())


SHNUMS = range(5)


@pytest.mark.parametrize("shnum", SHNUMS)
def test_container(shnum: int) -> None:
    """Each 1.20 share file is a v2 container with one owner-0 lease, as in the manifest."""
    expected = chk_manifest()["shares"][shnum]
    data = share_file(shnum)
    assert hashlib.sha256(data).hexdigest() == expected["sha256"]
    container = parse_container(data)
    assert container.version == expected["container_version"] == 2
    assert container.header.legacy_length == expected["legacy_length_field"]
    assert len(container.share_data) == expected["share_data_length"]
    assert hashlib.sha256(container.share_data).hexdigest() == expected["share_data_sha256"]
    (lease,) = container.leases
    (lease_expected,) = expected["leases"]
    assert lease.owner_num == lease_expected["owner"] == 0
    assert lease.expiration_time == lease_expected["expiration_time"]
    assert b2a(lease.stored_renew_secret) == lease_expected["renew_secret_stored_b32"]
    assert b2a(lease.stored_cancel_secret) == lease_expected["cancel_secret_stored_b32"]
    assert container.pack() == data
    assert build_container(2, container.share_data, container.leases) == data


@pytest.mark.parametrize("shnum", SHNUMS)
def test_lease_secrets_derive_from_client_secret(shnum: int) -> None:
    """The stored lease secrets are BLAKE2b of the secrets derived for that server."""
    manifest = chk_manifest()
    expected = manifest["shares"][shnum]
    renew, cancel = lease_secrets(
        a2b(manifest["client_lease_secret_b32"]),
        a2b(manifest["storage_index_b32"]),
        a2b(expected["server_nodeid_b32"]),
    )
    (lease,) = parse_container(share_file(shnum)).leases
    assert lease_matches_renew_secret(2, lease, renew)
    assert lease_matches_cancel_secret(2, lease, cancel)
    assert not lease_matches_renew_secret(2, lease, cancel)


@pytest.mark.parametrize("shnum", SHNUMS)
def test_share_layout(shnum: int) -> None:
    """The share header, hash chain order and UEB length match the manifest."""
    expected = chk_manifest()["shares"][shnum]["share"]
    share = parse_share(parse_container(share_file(shnum)).share_data)
    layout = share.layout
    assert layout.version == expected["layout_version"]
    assert layout.block_size == expected["block_size"]
    assert layout.data_size == expected["share_data_size"]
    assert {name: getattr(layout, name) for name in expected["offsets"]} == expected["offsets"]
    assert [node for node, _ in share.share_hashes] == expected["share_hash_node_ids"]
    assert layout.share_hash_count == num_share_hashes(5) == 4
    assert layout.ueb_length == expected["ueb_length"]
    assert hashlib.sha256(share.uri_extension).hexdigest() == expected["ueb_sha256"]
    assert len(share.crypttext_hash_tree) == len(share.block_hash_tree) == 3


@pytest.mark.parametrize("shnum", SHNUMS)
def test_planned_layout_matches_real_share(shnum: int) -> None:
    """Planning with the file's parameters reproduces the real header and allocated size."""
    container = parse_container(share_file(shnum))
    share = parse_share(container.share_data)
    planned = plan_share_layout(
        block_size=43691,
        data_size=66667,
        num_segments=2,
        num_share_hashes=num_share_hashes(5),
        ueb_length=321,
    )
    assert planned == share.layout
    assert planned.allocated_size == len(container.share_data)
    assert container.share_data.startswith(planned.pack_header())


@pytest.mark.parametrize("shnum", SHNUMS)
def test_uri_extension(shnum: int) -> None:
    """The UEB parses to the manifest's values, repacks byte-identically and hashes to the cap."""
    manifest = chk_manifest()
    expected = manifest["shares"][shnum]["share"]["ueb"]
    packed = parse_share(parse_container(share_file(shnum)).share_data).uri_extension
    ueb = parse_uri_extension(packed)
    for key, value in expected.items():
        actual = getattr(ueb, key)
        assert (b2a(actual) if isinstance(actual, bytes) else actual) == value
    assert ueb.extra == ()
    assert pack_uri_extension(ueb) == packed
    cap_ueb_hash = a2b(manifest["read_cap"].split(":")[3])
    assert uri_extension_hash(packed) == cap_ueb_hash
    check_consistent_with_cap(ueb, needed_shares=3, total_shares=5, size=200000)


def test_blocks_from_ueb_geometry() -> None:
    """The UEB's block geometry slices the 66667-byte data region into two blocks."""
    share = parse_share(parse_container(share_file(0)).share_data)
    ueb = parse_uri_extension(share.uri_extension)
    geometry = {
        "block_size": ueb.block_size,
        "tail_block_size": ueb.tail_block_size,
        "num_segments": 2,
    }
    blocks = [share.block(index, **geometry) for index in range(2)]
    assert [len(block) for block in blocks] == [43691, 22976]
    assert b"".join(blocks) == share.share_data[36:66703]


def test_dump_share_offsets() -> None:
    """File offsets printed by `tahoe debug dump-share` equal 12 + the parsed offsets."""
    dump = (TAHOE_SHARES_DIR / "dump-chk.txt").read_text()
    printed = {name: int(value) for name, value in re.findall(r"(\w+): (\d+)", dump)}
    layout = parse_share(parse_container(share_file(0)).share_data).layout
    for name in ("plaintext_hash_tree", "crypttext_hash_tree", "block_hashes", "share_hashes"):
        assert printed[name] == 12 + getattr(layout, name)
    assert printed["uri_extension"] == 12 + layout.uri_extension
    assert printed["leases"] == 12 + len(parse_container(share_file(0)).share_data)


def test_old_share_container() -> None:
    """The 1.2.0 share is a v1 container with one cleartext lease."""
    container = parse_container(old_share_file())
    assert (container.version, container.header.legacy_length) == (1, 1410)
    assert len(container.share_data) == 1410
    (lease,) = container.leases
    assert (lease.owner_num, lease.expiration_time) == (0, 1230942425)
    renew = a2b("kpncc3o7wigtpdwcbep2xjhev7tjftdbkzmb2p5zjog6t7kdr26a")
    assert lease.stored_renew_secret == renew
    assert lease_matches_renew_secret(1, lease, renew)
    assert container.pack() == old_share_file()


def test_old_share_layout_and_ueb() -> None:
    """The 1.2.0 share's UEB is followed by zero padding, honours its length, matches the cap."""
    share = parse_share(parse_container(old_share_file()).share_data)
    layout = share.layout
    assert (layout.version, layout.block_size, layout.data_size) == (1, 104, 104)
    assert (layout.data, layout.plaintext_hash_tree, layout.crypttext_hash_tree) == (36, 140, 172)
    assert (layout.block_hashes, layout.share_hashes, layout.uri_extension) == (204, 236, 406)
    assert layout.ueb_length == 312
    assert share.share_data[layout.allocated_size :] == bytes(688)
    assert [node for node, _ in share.share_hashes] == [16, 8, 2, 4, 15]
    assert uri_extension_hash(share.uri_extension) == a2b(OLD_SHARE_CAP.split(":")[3])
    ueb = parse_uri_extension(share.uri_extension)
    assert pack_uri_extension(ueb) == share.uri_extension
    check_consistent_with_cap(ueb, needed_shares=3, total_shares=10, size=310)
    assert (ueb.block_size, ueb.tail_block_size) == (104, 104)


def assert_consistent_or_refused(data: bytes) -> None:
    """Parse a (possibly damaged) share file; whatever parses must repack consistently."""
    try:
        container = parse_container(data)
    except ShareFormatError:
        return
    assert container.pack() == data
    try:
        share = parse_share(container.share_data)
    except ShareFormatError:
        return
    layout = share.layout
    assert container.share_data.startswith(layout.pack_header())
    chain = container.share_data[layout.share_hashes : layout.uri_extension]
    assert pack_share_hashes(share.share_hashes) == chain
    try:
        ueb = parse_uri_extension(share.uri_extension)
    except ShareFormatError:
        return
    assert pack_uri_extension(ueb) == share.uri_extension
    for index in range(min(ueb.num_segments, 3)):
        try:
            share.block(
                index,
                block_size=ueb.block_size,
                tail_block_size=ueb.tail_block_size,
                num_segments=ueb.num_segments,
            )
        except ShareFormatError:
            return


def test_every_corruption_of_old_share() -> None:
    """Every single-byte change and truncation of the 1.2.0 share raises or parses consistently."""
    data = old_share_file()
    for position in range(len(data)):
        assert_consistent_or_refused(data[:position])
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[position] ^= flip
            assert_consistent_or_refused(bytes(damaged))


def _structural_positions(data: bytes) -> list[int]:
    """File positions of everything in a 1.20 share file except its block data."""
    container = parse_container(data)
    layout = parse_share(container.share_data).layout
    return [
        *range(12 + layout.data),
        *range(12 + layout.plaintext_hash_tree - 4, len(data)),
    ]


def test_every_structural_corruption_of_new_share() -> None:
    """Every single-byte change in a 1.20 share's headers, hashes, UEB and lease is handled."""
    data = share_file(0)
    for position in _structural_positions(data):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        assert_consistent_or_refused(bytes(damaged))


@settings(max_examples=200)
@given(st.integers(0, 4), st.data())
def test_random_corruption_of_new_share(shnum: int, draw: st.DataObject) -> None:
    """Random byte changes and truncations anywhere in a 1.20 share raise or parse consistently."""
    data = share_file(shnum)
    position = draw.draw(st.integers(0, len(data) - 1))
    value = draw.draw(st.integers(0, 255))
    assert_consistent_or_refused(data[:position] + bytes([value]) + data[position + 1 :])
    assert_consistent_or_refused(data[:position])
