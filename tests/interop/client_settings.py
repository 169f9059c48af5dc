"""The settings that decide a client's caps, written the same way into Tahoe's and our nodes.

Rules: a cap depends on the file, the convergence secret and k, N and the
maximum segment size (happy only decides where shares may go). Both
``tahoe create-client`` and ``grid create-client`` take the three share
counts as the same flags; the segment size is the ``[client]
shares._max_immutable_segment_size_for_testing`` key both programs read from
``tahoe.cfg``, and the secret is ``private/convergence`` (base32), written
over the random one each program made. Two clients given equal settings
must therefore give equal caps for equal files.
"""

import configparser
from pathlib import Path

import attrs

from grid.base32 import b2a

SEGMENT_SIZE_KEY = "shares._max_immutable_segment_size_for_testing"


@attrs.frozen
class ClientSettings:
    """Encoding parameters, and optionally a segment size and a convergence secret, for a client."""

    needed: int
    happy: int
    total: int
    max_segment_size: int | None = None
    convergence_secret: bytes | None = None

    def create_flags(self) -> list[str]:
        """The ``create-client`` flags (the same for ``tahoe`` and ``grid``) for k, happy, N."""
        return [
            f"--shares-needed={self.needed}",
            f"--shares-happy={self.happy}",
            f"--shares-total={self.total}",
        ]


def apply_client_settings(node_dir: Path, settings: ClientSettings) -> None:
    """Write the segment size and convergence secret (if set) into a created client directory."""
    if settings.max_segment_size is not None:
        config_path = node_dir / "tahoe.cfg"
        config = configparser.ConfigParser(interpolation=None)
        config.read_string(config_path.read_text())
        if not config.has_section("client"):
            config.add_section("client")
        config.set("client", SEGMENT_SIZE_KEY, str(settings.max_segment_size))
        with config_path.open("w") as output:
            config.write(output)
    if settings.convergence_secret is not None:
        secret_text = b2a(settings.convergence_secret) + "\n"
        (node_dir / "private" / "convergence").write_text(secret_text)
