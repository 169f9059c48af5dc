import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.config import parse_bool, parse_config, parse_size, render_config
from grid.errors import ConfigError
from introducer.tub import TubAddress, parse_tub_address


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1024", 1024),
        ("1G", 10**9),
        ("1Gi", 2**30),
        ("500M", 5 * 10**8),
        ("10ki", 10240),
        ("2TB", 2 * 10**12),
    ],
)
def test_sizes(text: str, size: int) -> None:
    """Sizes take Tahoe's suffixes, decimal by default and binary with i."""
    assert parse_size(text) == size


@given(st.text(max_size=20))
def test_any_size_text_parses_or_raises_config_error(text: str) -> None:
    """Arbitrary text is a size or raises ConfigError, nothing else."""
    with contextlib.suppress(ConfigError):
        assert parse_size(text) >= 0


def test_booleans() -> None:
    """Booleans accept Tahoe's spellings and refuse others."""
    assert parse_bool("True") is True
    assert parse_bool("no") is False
    with pytest.raises(ConfigError):
        parse_bool("maybe")


def test_round_trip_and_typed_getters() -> None:
    """Rendered config parses back, and typed getters read and default values."""
    text = render_config(
        {"node": {"nickname": "n", "tub.port": "tcp:1"}, "storage": {"reserved_space": "1G"}}
    )
    config = parse_config(text)
    assert config.get("node", "nickname") == "n"
    assert config.get_size("storage", "reserved_space", 0) == 10**9
    assert config.get_bool("storage", "readonly", default=False) is False
    assert config.get_int("client", "shares.needed", 3) == 3
    with pytest.raises(ConfigError, match=r"\[storage\] reserved_space"):
        parse_config("[storage]\nreserved_space = lots\n").get_size("storage", "reserved_space", 0)


def test_key_report_separates_unknown_and_unsupported() -> None:
    """Keys Tahoe does not know are unknown; Tahoe keys we ignore are unsupported."""
    config = parse_config(
        "[node]\nnickname = a\nlog_gatherer.furl = x\n[storage]\nexpire.enabeld = 1\n"
        "[bogus]\nk = v\n[storageserver.plugins.x]\na = b\n"
    )
    report = config.key_report()
    assert report.unknown == ("storage.expire.enabeld", "bogus.k")
    assert set(report.unsupported) == {"node.log_gatherer.furl", "storageserver.plugins.x.a"}


@pytest.mark.parametrize("text", ["no section\n", "[a]\n[a]\n", "[a]\nk = 1\nk = 2\n"])
def test_malformed_config_raises_config_error(text: str) -> None:
    """Text that is not valid INI raises ConfigError."""
    with pytest.raises(ConfigError):
        parse_config(text)


@given(st.text(max_size=200))
def test_any_config_text_parses_or_raises_config_error(text: str) -> None:
    """Arbitrary text is a config or raises ConfigError, nothing else."""
    with contextlib.suppress(ConfigError):
        parse_config(text).key_report()


@pytest.mark.parametrize(
    ("port", "location", "expected"),
    [
        ("tcp:3457", "tcp:example.net:3457", TubAddress("tcp:3457", "tcp:example.net:3457")),
        ("3457", None, TubAddress("tcp:3457", "AUTO")),
        ("disabled", "disabled", TubAddress(None, None)),
        (None, None, TubAddress(None, None)),
    ],
)
def test_tub_addresses(port: str | None, location: str | None, expected: TubAddress) -> None:
    """tub.port and tub.location are normalised as Tahoe reads them."""
    assert parse_tub_address(port, location) == expected


@pytest.mark.parametrize(
    ("port", "location"),
    [("tcp:0", "tcp:h:1"), ("0", None), ("disabled", "tcp:h:1"), ("tcp:1", "disabled")],
)
def test_bad_tub_addresses(port: str, location: str | None) -> None:
    """Port 0 and half-disabled settings raise ConfigError."""
    with pytest.raises(ConfigError):
        parse_tub_address(port, location)


def test_empty_values_and_tahoe_defaults_are_not_reported() -> None:
    """Keys Tahoe's create commands write empty or at their defaults raise no warning."""
    config = parse_config("[node]\nweb.static = public_html\n[client]\nhelper.furl =\n")
    assert config.key_report().unsupported == ()
    assert parse_config("[client]\nhelper.furl = pb://x\n").key_report().unsupported == (
        "client.helper.furl",
    )
