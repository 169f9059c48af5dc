"""The agent's ``tahoe.cfg``: which keys it takes, and its schedule from ``[repair-agent]``.

Rules: an agent directory's ``tahoe.cfg`` may hold only the ``[node]`` keys
a node needs to make outgoing connections and serve reports (``nickname``,
``web.port``, ``tub.port``, ``tub.location``), ``[client] introducer.furl``,
and ``[repair-agent]``: ``threshold`` (repair when good shares fall below
it; empty means the file's N), ``interval`` (seconds between two checks of
one file), ``rate`` (checks per second at most), ``min_servers`` (check
nothing while fewer servers are connected) and ``verify`` (read and prove
every share instead of asking which are held). Any other key is refused,
naming it, so a typo does not silently change what the agent does.
"""

import attrs

from client.repair_agent.scheduler import Schedule
from grid.config import NodeConfig
from grid.errors import ConfigError

SECTION = "repair-agent"
DEFAULT_INTERVAL = 7 * 24 * 3600.0
DEFAULT_RATE = 1.0
ALLOWED_KEYS = {
    "node": frozenset({"nickname", "web.port", "tub.port", "tub.location"}),
    "client": frozenset({"introducer.furl"}),
    SECTION: frozenset({"threshold", "interval", "rate", "min_servers", "verify"}),
}


@attrs.frozen
class AgentSettings:
    """The agent's schedule, how many servers it waits for, and whether it verifies."""

    schedule: Schedule
    min_servers: int
    verify: bool


def check_agent_keys(config: NodeConfig) -> None:
    """Raise ConfigError naming every key a repair agent does not take."""
    unknown = [
        f"{section}.{key}"
        for section, values in config.sections.items()
        for key in values
        if key not in ALLOWED_KEYS.get(section, frozenset())
    ]
    if unknown:
        raise ConfigError(f"tahoe.cfg has keys a repair agent does not take: {', '.join(unknown)}")


def _positive_float(config: NodeConfig, key: str, default: float) -> float:
    text = (config.get(SECTION, key) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"[{SECTION}] {key} must be a number, not {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"[{SECTION}] {key} must be a positive number, not {text!r}")
    return value


def agent_settings(config: NodeConfig) -> AgentSettings:
    """The ``[repair-agent]`` settings; ConfigError if one is malformed."""
    check_agent_keys(config)
    threshold_text = (config.get(SECTION, "threshold") or "").strip()
    threshold = config.get_int(SECTION, "threshold", 0) if threshold_text else None
    if threshold is not None and threshold < 1:
        raise ConfigError(f"[{SECTION}] threshold must be at least 1, not {threshold}")
    min_servers = config.get_int(SECTION, "min_servers", 1)
    if min_servers < 1:
        raise ConfigError(f"[{SECTION}] min_servers must be at least 1, not {min_servers}")
    return AgentSettings(
        schedule=Schedule(
            interval=_positive_float(config, "interval", DEFAULT_INTERVAL),
            rate=_positive_float(config, "rate", DEFAULT_RATE),
            threshold=threshold,
        ),
        min_servers=min_servers,
        verify=config.get_bool(SECTION, "verify", default=False),
    )
