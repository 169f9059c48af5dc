"""A node's ``tahoe.cfg``: parsing, checking every key, typed values, and writing.

Rules: the file is INI as Tahoe-LAFS writes it. Every ``section.key`` is one
of three kinds: known to Tahoe-LAFS 1.20 and used by us, known to Tahoe but
not used by us (reported as *unsupported*, so an operator sees it was
ignored, unless it is empty or Tahoe's own default), or known to neither
(reported as *unknown*; nodes refuse to start, as Tahoe does). Values are
read through typed getters that raise :class:`~grid.errors.ConfigError`
naming the section and key. Nothing here
touches the disk: callers pass text in and get text out.
"""

import configparser
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

import attrs

from grid.errors import ConfigError

TAHOE_KEYS: Mapping[str, frozenset[str]] = {
    "node": frozenset(
        {
            "nickname",
            "web.port",
            "web.static",
            "tub.port",
            "tub.location",
            "log_gatherer.furl",
            "timeout.keepalive",
            "timeout.disconnect",
            "tempdir",
            "reveal-IP-address",
        }
    ),
    "connections": frozenset({"tcp"}),
    "tor": frozenset(
        {
            "enabled",
            "launch",
            "socks.port",
            "control.port",
            "tor.executable",
            "onion",
            "onion.local_port",
            "onion.external_port",
            "onion.private_key_file",
        }
    ),
    "i2p": frozenset(
        {
            "enabled",
            "launch",
            "sam.port",
            "i2p.configdir",
            "i2p.executable",
            "dest",
            "dest.port",
            "dest.private_key_file",
        }
    ),
    "client": frozenset(
        {
            "helper.furl",
            "introducer.furl",
            "shares.needed",
            "shares.happy",
            "shares.total",
            "shares._max_immutable_segment_size_for_testing",
            "mutable.format",
            "peers.preferred",
            "storage.plugins",
            "force_foolscap",
        }
    ),
    "storage": frozenset(
        {
            "enabled",
            "anonymous",
            "readonly",
            "reserved_space",
            "storage_dir",
            "expire.enabled",
            "expire.mode",
            "expire.override_lease_duration",
            "expire.cutoff_date",
            "expire.immutable",
            "expire.mutable",
            "debug_discard",
            "plugins",
            "grid_management",
            "force_foolscap",
        }
    ),
    "helper": frozenset({"enabled"}),
    "sftpd": frozenset(
        {"enabled", "port", "host_pubkey_file", "host_privkey_file", "accounts.file"}
    ),
}
DYNAMIC_SECTION_PREFIXES = (
    "storageserver.plugins.",
    "storageclient.plugins.",
    "grid_managers",
    "grid_manager_certificates",
)

SUPPORTED_KEYS: frozenset[str] = frozenset(
    {
        "node.nickname",
        "node.web.port",
        "node.tub.port",
        "node.tub.location",
        "node.tempdir",
        "node.reveal-IP-address",
        "connections.tcp",
        "client.introducer.furl",
        "client.shares.needed",
        "client.shares.happy",
        "client.shares.total",
        "client.shares._max_immutable_segment_size_for_testing",
        "client.mutable.format",
        "client.force_foolscap",
        "storage.enabled",
        "storage.anonymous",
        "storage.readonly",
        "storage.reserved_space",
        "storage.storage_dir",
        "storage.expire.enabled",
        "storage.expire.mode",
        "storage.expire.override_lease_duration",
        "storage.expire.cutoff_date",
        "storage.expire.immutable",
        "storage.expire.mutable",
        "storage.force_foolscap",
        "helper.enabled",
        "sftpd.enabled",
        "tor.enabled",
        "i2p.enabled",
    }
)

TAHOE_DEFAULTS: Mapping[str, str] = {"node.web.static": "public_html"}
"""Values Tahoe's own create commands write that mean "nothing to do"; not reported."""

_T = TypeVar("_T")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})
_SIZE_RE = re.compile(r"(\d+)\s*([kmgtpe]?)(i?)b?", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


@attrs.frozen
class KeyReport:
    """Which keys of a config Tahoe does not know, and which we ignore."""

    unknown: tuple[str, ...]
    unsupported: tuple[str, ...]


def parse_size(text: str) -> int:
    """Parse a size such as ``1G``, ``500M``, ``10Ki`` or ``1024`` into bytes."""
    match = _SIZE_RE.fullmatch(text.strip())
    if match is None:
        raise ConfigError(f"{text!r} is not a size (examples: 1G, 500M, 10Ki, 1024)")
    digits, prefix, binary = match.groups()
    base = 1024 if binary else 1000
    size: int = int(digits) * base ** _SIZE_POWERS[prefix.lower()]
    return size


def parse_bool(text: str) -> bool:
    """Parse a boolean as Tahoe accepts it (true/false, yes/no, on/off, 1/0)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{text!r} is not a boolean (use true or false)")


class NodeConfig:
    """A parsed ``tahoe.cfg``: every value as written, with typed getters."""

    def __init__(self, sections: Mapping[str, Mapping[str, str]]) -> None:
        """Hold the sections and their keys."""
        self.sections = {name: dict(values) for name, values in sections.items()}

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        """Return a value as text, or ``default`` if it is not set."""
        return self.sections.get(section, {}).get(key, default)

    def get_bool(self, section: str, key: str, default: bool) -> bool:
        """Return a boolean value, or ``default`` if it is not set."""
        value = self.get(section, key)
        return default if value is None else _typed(section, key, value, parse_bool)

    def get_int(self, section: str, key: str, default: int) -> int:
        """Return an integer value, or ``default`` if it is not set."""
        value = self.get(section, key)
        return default if value is None else _typed(section, key, value, _parse_int)

    def get_size(self, section: str, key: str, default: int) -> int:
        """Return a size in bytes, or ``default`` if it is not set."""
        value = self.get(section, key)
        return (
            default
            if value is None or not value.strip()
            else _typed(section, key, value, parse_size)
        )

    def key_report(self) -> KeyReport:
        """Sort every key into known-and-used, unsupported, and unknown."""
        unknown: list[str] = []
        unsupported: list[str] = []
        for section, values in self.sections.items():
            dynamic = section.startswith(DYNAMIC_SECTION_PREFIXES)
            for key in values:
                name = f"{section}.{key}"
                if dynamic or key in TAHOE_KEYS.get(section, frozenset()):
                    if name not in SUPPORTED_KEYS and not _is_default(name, values[key]):
                        unsupported.append(name)
                else:
                    unknown.append(name)
        return KeyReport(tuple(unknown), tuple(unsupported))


def _is_default(name: str, value: str) -> bool:
    return not value.strip() or TAHOE_DEFAULTS.get(name) == value.strip()


def _parse_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConfigError(f"{text!r} is not a whole number") from None


def _typed(section: str, key: str, value: str, parser: Callable[[str], _T]) -> _T:
    try:
        return parser(value)
    except ConfigError as error:
        raise ConfigError(f"[{section}] {key}: {error}") from None


def parse_config(text: str) -> NodeConfig:
    """Parse ``tahoe.cfg`` text; raise ConfigError if it is not valid INI."""
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(f"tahoe.cfg is not valid: {first_line}") from None
    return NodeConfig({name: dict(parser.items(name)) for name in parser.sections()})


def render_config(sections: Mapping[str, Mapping[str, str]]) -> str:
    """Write sections as ``tahoe.cfg`` text, in the order given."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)
