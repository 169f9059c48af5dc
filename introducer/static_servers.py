"""Storage servers configured by hand, in ``private/servers.yaml``.

Rules (Tahoe-LAFS 1.20 layout): the file is a YAML mapping whose ``storage``
key maps each server id to ``{ann: {...announcement fields...}}``, with
optional keys beside ``ann`` (``connections``, …) kept as they are. A
missing file, an empty file or one without ``storage`` means no static
servers. Anything else that is not that shape raises
:class:`~grid.errors.ConfigError` naming the file and what is wrong. Whether
an entry's fields describe a reachable server (its FURL, its seed) is for
the storage broker to judge.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grid.errors import ConfigError
from introducer.yaml_files import read_node_file, yaml_section

SERVERS_FILE = Path("private") / "servers.yaml"


def load_static_servers(node_dir: Path) -> dict[str, Mapping[str, Any]]:
    """Server id → entry (``{ann: {...}, …}``) from ``private/servers.yaml``."""
    path = node_dir / SERVERS_FILE
    text = read_node_file(path)
    try:
        return parse_static_servers(text)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def parse_static_servers(text: str) -> dict[str, Mapping[str, Any]]:
    """Parse ``servers.yaml`` text; raise ConfigError if it is not the expected shape."""
    storage = yaml_section(text, "storage", "server ids to {ann: {...}} entries")
    if storage is None:
        return {}
    servers: dict[str, Mapping[str, Any]] = {}
    for server_id, entry in storage.items():
        if not isinstance(server_id, str) or not server_id:
            raise ConfigError(f"server id {repr(server_id)[:40]} is not a non-empty string")
        if not isinstance(entry, dict) or not isinstance(entry.get("ann"), dict):
            raise ConfigError(f"server {server_id}: needs an 'ann' mapping")
        if not all(isinstance(key, str) for key in entry["ann"]):
            raise ConfigError(f"server {server_id}: 'ann' keys must be strings")
        servers[server_id] = entry
    return servers
