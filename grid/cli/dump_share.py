"""``grid debug dump-share``: the container, leases and layout of a share file.

Lease secrets are never printed, in any form. When the file sits where a
storage server keeps it (``.../<storage index>/<shnum>``), the storage index
is taken from the path and the share's verify cap is printed too.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import attrs

from grid import base32
from grid.caps import CHKVerifyCap, MutableFormat, MutableVerifyCap
from grid.errors import GridError
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from grid.formats.mutable_container import is_mutable_container, parse_mutable_container
from grid.formats.mutable_share import parse_mutable_header, parse_mutable_share
from grid.formats.sdmf import SdmfShare
from grid.formats.uri_extension import UriExtension, parse_uri_extension
from grid.hashing import STORAGE_INDEX_SIZE, pubkey_fingerprint, uri_extension_hash


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid debug dump-share``."""
    parser = commands.add_parser(
        "dump-share", help="show a share file's container, leases and layout"
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="a share file from storage/shares/")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    """Read, parse and print the share file."""
    path: Path = arguments.path
    facts = describe_share_file(path.read_bytes(), _storage_index_from_path(path))
    if arguments.json:
        print(json.dumps(facts, indent=1))
    else:
        _print_text(facts)
    return 0


def describe_share_file(data: bytes, storage_index: bytes | None) -> dict[str, Any]:
    """Return the facts of a share file (immutable or mutable), without secrets."""
    if is_mutable_container(data):
        return _describe_mutable(data, storage_index)
    return _describe_immutable(data, storage_index)


def _storage_index_from_path(path: Path) -> bytes | None:
    try:
        storage_index = base32.a2b_sized(path.resolve().parent.name, STORAGE_INDEX_SIZE)
    except GridError:
        return None
    return storage_index


def _describe_immutable(data: bytes, storage_index: bytes | None) -> dict[str, Any]:
    container = parse_container(data)
    share = parse_share(container.share_data)
    ueb = parse_uri_extension(share.uri_extension)
    layout = share.layout
    facts: dict[str, Any] = {
        "container": {
            "type": "immutable",
            "version": container.header.version,
            "lease_count": container.header.lease_count,
            "share_data_length": len(container.share_data),
        },
        "leases": [
            {"owner": lease.owner_num, "expiration_time": lease.expiration_time}
            for lease in container.leases
        ],
        "layout": {
            "version": layout.version,
            "block_size": layout.block_size,
            "data_size": layout.data_size,
            "offsets": {
                "data": layout.data,
                "plaintext_hash_tree": layout.plaintext_hash_tree,
                "crypttext_hash_tree": layout.crypttext_hash_tree,
                "block_hashes": layout.block_hashes,
                "share_hashes": layout.share_hashes,
                "uri_extension": layout.uri_extension,
            },
            "share_hash_nodes": [node for node, _ in share.share_hashes],
        },
        "uri_extension": {
            key: base32.b2a(value) if isinstance(value, bytes) else value
            for key, value in _ueb_fields(ueb).items()
        },
        "uri_extension_hash": base32.b2a(uri_extension_hash(share.uri_extension)),
    }
    if storage_index is not None:
        facts["verify_cap"] = CHKVerifyCap(
            storage_index=storage_index,
            uri_extension_hash=uri_extension_hash(share.uri_extension),
            needed_shares=ueb.needed_shares,
            total_shares=ueb.total_shares,
            size=ueb.size,
        ).to_string()
    return facts


def _ueb_fields(ueb: UriExtension) -> dict[str, Any]:
    names = (
        "size",
        "segment_size",
        "num_segments",
        "needed_shares",
        "total_shares",
        "codec_name",
        "codec_params",
        "tail_codec_params",
        "crypttext_hash",
        "crypttext_root_hash",
        "share_root_hash",
    )
    fields = {name: getattr(ueb, name) for name in names}
    fields.update(dict(ueb.extra))
    return fields


def _describe_mutable(data: bytes, storage_index: bytes | None) -> dict[str, Any]:
    container = parse_mutable_container(data)
    share = parse_mutable_share(container.data)
    header = parse_mutable_header(container.data)
    is_sdmf = isinstance(share, SdmfShare)
    fingerprint = pubkey_fingerprint(share.verification_key)
    facts: dict[str, Any] = {
        "container": {
            "type": "mutable",
            "version": container.header.version.number,
            "write_enabler_nodeid": base32.b2a(container.header.write_enabler_nodeid),
            "data_length": container.header.data_length,
            "extra_lease_offset": container.header.extra_lease_offset,
        },
        "leases": [
            {
                "owner": lease.owner_num,
                "expiration_time": lease.expiration_time,
                "nodeid": base32.b2a(lease.nodeid),
            }
            for lease in container.leases
        ],
        "share": {
            "format": "SDMF" if is_sdmf else "MDMF",
            "seqnum": share.seqnum,
            "root_hash": base32.b2a(share.root_hash),
            "needed_shares": share.needed_shares,
            "total_shares": share.total_shares,
            "segment_size": share.segment_size,
            "data_length": share.data_length,
            "verification_key_fingerprint": base32.b2a(fingerprint),
            "share_hash_nodes": [node for node, _ in share.share_hash_chain],
            "offsets": attrs.asdict(header.offsets),
        },
    }
    if isinstance(share, SdmfShare):
        facts["share"]["salt"] = base32.b2a(share.salt)
    if storage_index is not None:
        facts["verify_cap"] = MutableVerifyCap(
            format=MutableFormat.SDMF if is_sdmf else MutableFormat.MDMF,
            storage_index=storage_index,
            fingerprint=fingerprint,
        ).to_string()
    return facts


def _print_text(facts: dict[str, Any], indent: str = "") -> None:
    for name, value in facts.items():
        label = name.replace("_", " ")
        if isinstance(value, dict):
            print(f"{indent}{label}:")
            _print_text(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for number, item in enumerate(value):
                print(f"{indent}{label} #{number}:")
                _print_text(_readable_lease(item), indent + "  ")
        else:
            print(f"{indent}{label}: {value}")


def _readable_lease(lease: dict[str, Any]) -> dict[str, Any]:
    readable = dict(lease)
    expiry = lease.get("expiration_time")
    if isinstance(expiry, int):
        readable["expires"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))
    return readable
