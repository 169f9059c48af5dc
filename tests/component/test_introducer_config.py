from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from grid.config import parse_config
from grid.errors import ConfigError
from introducer.introducers_file import load_introducers, parse_introducers
from introducer.static_servers import load_static_servers, parse_static_servers

FURL_A = "pb://" + "a" * 32 + "@tcp:example.net:4000/" + "s" * 32
FURL_B = "pb://" + "b" * 32 + "@tcp:example.org:4000/" + "t" * 32
SERVER_ID = "v0-" + "a" * 52


def write_private(node_dir: Path, name: str, text: str) -> None:
    """Write a file into the node's private/ directory."""
    (node_dir / "private").mkdir(exist_ok=True)
    (node_dir / "private" / name).write_text(text)


def test_introducers_yaml_and_tahoe_cfg_combine(tmp_path: Path) -> None:
    """Petnames come from introducers.yaml; introducer.furl adds 'default'."""
    write_private(tmp_path, "introducers.yaml", f"introducers:\n  work:\n    furl: {FURL_A}\n")
    config = parse_config(f"[client]\nintroducer.furl = {FURL_B}\n")
    assert load_introducers(tmp_path, config) == {"work": FURL_A, "default": FURL_B}


def test_no_introducers_at_all(tmp_path: Path) -> None:
    """No file and no introducer.furl (or a blank one) name no introducers."""
    assert load_introducers(tmp_path, parse_config("[client]\nintroducer.furl =\n")) == {}


def test_default_in_both_places_is_refused(tmp_path: Path) -> None:
    """Naming 'default' in both tahoe.cfg and introducers.yaml is a ConfigError."""
    write_private(tmp_path, "introducers.yaml", f"introducers:\n  default:\n    furl: {FURL_A}\n")
    config = parse_config(f"[client]\nintroducer.furl = {FURL_B}\n")
    with pytest.raises(ConfigError, match="both"):
        load_introducers(tmp_path, config)


def test_a_bad_introducer_furl_in_tahoe_cfg_is_refused(tmp_path: Path) -> None:
    """A [client] introducer.furl that is not pb:// is a ConfigError."""
    with pytest.raises(ConfigError, match="pb://"):
        load_introducers(tmp_path, parse_config("[client]\nintroducer.furl = http://x\n"))


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{{{", "not valid YAML"),
        ("- a list", "mapping"),
        ("introducers: [1, 2]", "petnames"),
        ("introducers:\n  work: just-a-string", "furl"),
        ("introducers:\n  work:\n    furl: 42", "furl"),
        ("introducers:\n  work:\n    other: x", "furl"),
        (f"introducers:\n  '../escape':\n    furl: {FURL_A}", "petname"),
        (f"introducers:\n  '':\n    furl: {FURL_A}", "petname"),
        (f"introducers:\n  7:\n    furl: {FURL_A}", "petname"),
    ],
)
def test_malformed_introducers_yaml(tmp_path: Path, text: str, complaint: str) -> None:
    """Every malformed introducers.yaml is a ConfigError naming the file and the problem."""
    write_private(tmp_path, "introducers.yaml", text)
    with pytest.raises(ConfigError, match=complaint) as raised:
        load_introducers(tmp_path, parse_config(""))
    assert "introducers.yaml" in str(raised.value)


def test_empty_introducers_yaml(tmp_path: Path) -> None:
    """An empty file, or one without 'introducers', names no introducers."""
    assert parse_introducers("") == {}
    assert parse_introducers("other: 1") == {}


@given(st.text())
def test_arbitrary_introducers_text(text: str) -> None:
    """Any text gives petname → pb:// FURL, or ConfigError, nothing else."""
    try:
        introducers = parse_introducers(text)
    except ConfigError:
        return
    assert all(furl.startswith("pb://") for furl in introducers.values())


def test_servers_yaml(tmp_path: Path) -> None:
    """servers.yaml gives server id → entry, keeping keys beside 'ann'."""
    entry = {
        "ann": {"anonymous-storage-FURL": FURL_A, "nickname": "n"},
        "connections": {"tcp": "tor"},
    }
    write_private(tmp_path, "servers.yaml", yaml.safe_dump({"storage": {SERVER_ID: entry}}))
    assert load_static_servers(tmp_path) == {SERVER_ID: entry}


def test_no_servers_yaml(tmp_path: Path) -> None:
    """A missing, empty or storage-less servers.yaml names no servers."""
    assert load_static_servers(tmp_path) == {}
    assert parse_static_servers("") == {}
    assert parse_static_servers("other: {}") == {}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{{{", "not valid YAML"),
        ("[1, 2]", "mapping"),
        ("storage: [1]", "server ids"),
        ("storage:\n  7: {ann: {}}", "server id"),
        ("storage:\n  v0-x: 3", "ann"),
        ("storage:\n  v0-x: {ann: [1]}", "ann"),
        ("storage:\n  v0-x: {connections: {}}", "ann"),
        ("storage:\n  v0-x: {ann: {1: 2}}", "keys"),
    ],
)
def test_malformed_servers_yaml(tmp_path: Path, text: str, complaint: str) -> None:
    """Every malformed servers.yaml is a ConfigError naming the file and the problem."""
    write_private(tmp_path, "servers.yaml", text)
    with pytest.raises(ConfigError, match=complaint) as raised:
        load_static_servers(tmp_path)
    assert "servers.yaml" in str(raised.value)


def test_unreadable_servers_yaml(tmp_path: Path) -> None:
    """A servers.yaml that is not UTF-8 is a ConfigError."""
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "servers.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_static_servers(tmp_path)


@given(st.text())
def test_arbitrary_servers_text(text: str) -> None:
    """Any text gives server id → entry with an 'ann' mapping, or ConfigError."""
    try:
        servers = parse_static_servers(text)
    except ConfigError:
        return
    assert all(isinstance(entry["ann"], dict) for entry in servers.values())
