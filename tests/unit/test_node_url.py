"""The node.url file a running node writes for tools to find it."""

from pathlib import Path

import pytest
from twisted.internet.address import IPv4Address, IPv6Address

from client.node_url import write_node_url


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (IPv4Address("TCP", "127.0.0.1", 3456), "http://127.0.0.1:3456/"),
        (IPv4Address("TCP", "0.0.0.0", 8080), "http://127.0.0.1:8080/"),  # noqa: S104  a wildcard listener
        (IPv6Address("TCP", "::", 9000), "http://127.0.0.1:9000/"),
        (IPv4Address("TCP", "192.0.2.7", 80), "http://192.0.2.7:80/"),
    ],
)
def test_the_url_names_a_reachable_address(tmp_path: Path, host: object, expected: str) -> None:
    """A wildcard listener is named by loopback; any other address as it is."""
    assert write_node_url(tmp_path, host) == expected
    assert (tmp_path / "node.url").read_text() == expected + "\n"


def test_an_old_url_is_replaced_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    """A restart on another port replaces the file whole."""
    (tmp_path / "node.url").write_text("http://127.0.0.1:1/\n")
    write_node_url(tmp_path, IPv4Address("TCP", "127.0.0.1", 2))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["node.url"]
    assert (tmp_path / "node.url").read_text() == "http://127.0.0.1:2/\n"
