"""Ed25519 node keys and their text forms.

Rules: a node's signing key is a 32-byte seed, written ``priv-v0-<b32>``; its
verifying key is 32 raw bytes, written ``pub-v0-<b32>`` in files and
``v0-<b32>`` as the server id in announcements (:meth:`NodeVerifyingKey.to_id`).
The base32 must be canonical (:mod:`grid.base32`) and encode exactly 32
bytes. Parsers raise only :class:`~grid.errors.KeyFormatError`; verification
raises only :class:`~grid.errors.BadSignatureError`. Keys are generated from a
seed the caller supplies (``os.urandom(32)`` at the edge), never here.
"""

from typing import Self

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from grid.base32 import a2b_sized, b2a
from grid.errors import BadSignatureError, EncodingError, KeyFormatError

ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
SIGNING_KEY_PREFIX = "priv-v0-"
VERIFYING_KEY_PREFIX = "pub-v0-"
SERVER_ID_PREFIX = "v0-"


def _require_key_bytes(value: object, name: str) -> None:
    """Require exactly 32 bytes."""
    if not isinstance(value, bytes) or len(value) != ED25519_KEY_SIZE:
        raise KeyFormatError(f"{name} must be {ED25519_KEY_SIZE} bytes")


def _check_key_bytes(instance: object, attribute: "attrs.Attribute[bytes]", value: bytes) -> None:
    """Attrs validator form of :func:`_require_key_bytes`."""
    _require_key_bytes(value, attribute.name)


def _decode_prefixed(text: str, prefix: str, what: str) -> bytes:
    """Strip ``prefix`` from ``text`` and decode the 32-byte base32 value after it."""
    if not text.startswith(prefix):
        raise KeyFormatError(f"{what} must start with {prefix!r}")
    try:
        return a2b_sized(text[len(prefix) :], ED25519_KEY_SIZE)
    except EncodingError as error:
        raise KeyFormatError(f"{what} does not hold a 32-byte base32 key: {error}") from error


@attrs.frozen
class NodeVerifyingKey:
    """A node's Ed25519 public key: 32 raw bytes."""

    key_bytes: bytes = attrs.field(validator=_check_key_bytes)

    @classmethod
    def from_string(cls, text: str) -> Self:
        """Parse the ``pub-v0-<b32>`` form (as in ``node.pubkey``)."""
        return cls(_decode_prefixed(text, VERIFYING_KEY_PREFIX, "verifying key"))

    @classmethod
    def from_id(cls, text: str) -> Self:
        """Parse the ``v0-<b32>`` server id form used in announcements."""
        return cls(_decode_prefixed(text, SERVER_ID_PREFIX, "server id"))

    def to_string(self) -> str:
        """Return the ``pub-v0-<b32>`` form."""
        return VERIFYING_KEY_PREFIX + b2a(self.key_bytes)

    def to_id(self) -> str:
        """Return the ``v0-<b32>`` server id form."""
        return SERVER_ID_PREFIX + b2a(self.key_bytes)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check an Ed25519 signature over ``message``; raise BadSignatureError if wrong."""
        if len(signature) != ED25519_SIGNATURE_SIZE:
            raise BadSignatureError(
                f"Ed25519 signature has {len(signature)} bytes, expected {ED25519_SIGNATURE_SIZE}"
            )
        try:
            Ed25519PublicKey.from_public_bytes(self.key_bytes).verify(signature, message)
        except InvalidSignature as error:
            raise BadSignatureError("Ed25519 signature does not verify") from error


@attrs.frozen
class NodeSigningKey:
    """A node's Ed25519 private key, held as its 32-byte seed (kept out of repr)."""

    seed: bytes = attrs.field(validator=_check_key_bytes, repr=False)
    verifying_key: NodeVerifyingKey = attrs.field(init=False, eq=False)

    @verifying_key.default
    def _derive_verifying_key(self) -> NodeVerifyingKey:
        _require_key_bytes(self.seed, "seed")  # defaults are computed before validators run
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return NodeVerifyingKey(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    @classmethod
    def from_string(cls, text: str) -> Self:
        """Parse the ``priv-v0-<b32>`` form (as in ``private/node.privkey``)."""
        return cls(_decode_prefixed(text, SIGNING_KEY_PREFIX, "signing key"))

    def to_string(self) -> str:
        """Return the ``priv-v0-<b32>`` form (a secret: never log it)."""
        return SIGNING_KEY_PREFIX + b2a(self.seed)

    def sign(self, message: bytes) -> bytes:
        """Sign ``message``: a 64-byte Ed25519 signature."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)
