"""A node's identity on disk: its ed25519 key and its Foolscap TLS certificate.

Rules: ``private/node.privkey`` holds ``priv-v0-<b32 seed>``, ``node.pubkey``
``pub-v0-<b32>`` (the node id is ``v0-<b32>``), ``private/node.pem`` the
Foolscap certificate and key; private files are written with mode 0600 and
never overwritten. The tub id (a server's lease and write-enabler seed) is
derived from the certificate, so a node keeps it across restarts.
"""

import os
from pathlib import Path

import attrs
from foolscap.api import Tub

from grid.crypto.ed25519 import NodeSigningKey
from grid.errors import ConfigError, KeyFormatError

PRIVATE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (its directory 0700) and write ``data``; never overwrite."""
    path.parent.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


@attrs.frozen
class NodeIdentity:
    """A node's signing key and its Foolscap certificate (PEM)."""

    signing_key: NodeSigningKey = attrs.field(repr=False)
    tub_certificate: bytes = attrs.field(repr=False)

    @property
    def node_id(self) -> str:
        """The node's announcement id: ``v0-<b32 pubkey>``."""
        return self.signing_key.verifying_key.to_id()


def create_node_identity(node_dir: Path, seed: bytes) -> NodeIdentity:
    """Write a new identity into ``node_dir``: keys from ``seed``, a fresh certificate."""
    signing_key = NodeSigningKey(seed)
    certificate: bytes = Tub().getCertData()
    write_private_file(
        node_dir / "private" / "node.privkey", signing_key.to_string().encode() + b"\n"
    )
    write_private_file(node_dir / "private" / "node.pem", certificate)
    (node_dir / "node.pubkey").write_text(signing_key.verifying_key.to_string() + "\n")
    return NodeIdentity(signing_key, certificate)


def load_node_identity(node_dir: Path) -> NodeIdentity:
    """Read a node's identity; raise ConfigError naming the file that is wrong."""
    key_path = node_dir / "private" / "node.privkey"
    pem_path = node_dir / "private" / "node.pem"
    try:
        signing_key = NodeSigningKey.from_string(key_path.read_text().strip())
        certificate = pem_path.read_bytes()
    except FileNotFoundError as error:
        raise ConfigError(f"{error.filename} is missing; is this a node directory?") from None
    except KeyFormatError as error:
        raise ConfigError(f"{key_path}: {error}") from None
    return NodeIdentity(signing_key, certificate)
