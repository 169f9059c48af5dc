"""Foolscap Tubs for nodes: where they listen and how others reach them.

Rules: ``tub.port`` is a Twisted server endpoint string (``tcp:3457``,
``tcp:3457:interface=127.0.0.1``), a bare port number meaning ``tcp:N``, or
``disabled``; port 0 is refused because a node's FURLs must stay valid
across restarts. ``tub.location`` is a comma-separated list of hints such as
``tcp:example.net:3457``, or ``AUTO`` for this machine's addresses, or
``disabled``. A Tub is built from the node's certificate, so its tub id is
the node's for life.
"""

import contextlib
import re
import socket

import attrs
from foolscap.api import Tub

from grid.errors import ConfigError

_PORT_NUMBER_RE = re.compile(r"\d+")
_TCP_PORT_RE = re.compile(r"tcp:(\d+)(?::.*)?")
_INTERFACE_RE = re.compile(r":interface=([^:]+)")


@attrs.frozen
class TubAddress:
    """Where a Tub listens, and the location hints it gives out (None: disabled)."""

    listen: str | None
    location: str | None

    @property
    def port(self) -> int | None:
        """The TCP port number the listen string names, if it names one."""
        match = _TCP_PORT_RE.fullmatch(self.listen or "")
        return None if match is None else int(match.group(1))


def parse_tub_address(tub_port: str | None, tub_location: str | None) -> TubAddress:
    """Check ``tub.port`` and ``tub.location``; raise ConfigError if either is wrong."""
    listen = (tub_port or "").strip()
    location = (tub_location or "").strip()
    if _PORT_NUMBER_RE.fullmatch(listen):
        listen = f"tcp:{listen}"
    if listen in {"", "disabled"}:
        if location not in {"", "disabled"}:
            raise ConfigError("tub.location is set but tub.port is disabled")
        return TubAddress(None, None)
    if listen in {"tcp:0", "0"} or listen.startswith("tcp:0:"):
        raise ConfigError("tub.port must name a fixed port, not 0")
    if location == "disabled":
        raise ConfigError("tub.port is set but tub.location is disabled")
    return TubAddress(listen, location or "AUTO")


def check_port_free(address: TubAddress) -> None:
    """Raise ConfigError now if the TCP port to listen on is taken.

    Foolscap binds later and only logs a failure, which would leave a node
    running that nobody can reach; checking first turns it into a start-up
    error with a clear message.
    """
    if address.listen is None or address.port is None:
        return
    interface = _INTERFACE_RE.search(address.listen)
    host = interface.group(1) if interface else ""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, address.port))
        except OSError as error:
            raise ConfigError(f"cannot listen on port {address.port}: {error.strerror}") from None


def build_tub(certificate: bytes, address: TubAddress) -> Tub:
    """Make a Tub with the node's certificate that listens where configured."""
    check_port_free(address)
    tub = Tub(certData=certificate)
    tub.setOption("logLocalFailures", True)
    tub.setOption("logRemoteFailures", True)
    if address.listen is not None:
        tub.listenOn(address.listen)
        tub.setLocation(
            automatic_location(address) if address.location == "AUTO" else address.location
        )
    return tub


def automatic_location(address: TubAddress) -> str:
    """Location hints for ``AUTO``: loopback if listening there only, else every local address."""
    if address.listen is None or address.port is None:
        raise ConfigError("tub.location = AUTO needs a tcp tub.port")
    hosts = ["127.0.0.1"]
    if "interface=127.0.0.1" not in address.listen:
        with contextlib.suppress(OSError):
            hosts += socket.gethostbyname_ex(socket.gethostname())[2]
    unique = list(dict.fromkeys(hosts))
    return ",".join(f"tcp:{host}:{address.port}" for host in unique)
