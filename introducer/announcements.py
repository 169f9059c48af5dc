"""Signed announcements: how a node tells the grid it offers a service.

Rules (Tahoe-LAFS introducer protocol v2):

- On the wire an announcement is a triple ``(message, signature, key)`` of
  bytes. ``message`` is the UTF-8 JSON of a dict; ``signature`` is ``b"v0-"``
  plus the base32 of the Ed25519 signature over exactly those message bytes
  (there is no canonical form: the bytes are what is signed); ``key`` is
  ``b"v0-"`` plus the base32 of the signer's 32-byte public key, and is the
  server id.
- :func:`parse_announcement` accepts a triple (tuple or list) only if both
  prefixes are there, the base32 is canonical, the signature verifies, the
  message is at most :data:`ANNOUNCEMENT_MAX_BYTES`, and it decodes to a JSON
  object with a non-empty string ``service-name`` and an integer
  ``seqnum >= 0``, all of whose strings are valid Unicode. Anything else
  raises :class:`~introducer.errors.AnnouncementError` (or a subclass) and
  nothing else.
- :class:`AnnouncementTable` keeps one announcement per (service name,
  server id): a newcomer replaces the one it holds only with a strictly
  higher ``seqnum``; equal or lower (including an identical repeat) is
  ignored. The introducer and every subscriber apply the same rule.
"""

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NoReturn

import attrs

from grid.base32 import a2b_sized, b2a, encoded_length
from grid.crypto.ed25519 import (
    ED25519_KEY_SIZE,
    ED25519_SIGNATURE_SIZE,
    SERVER_ID_PREFIX,
    NodeSigningKey,
    NodeVerifyingKey,
)
from grid.errors import GridError
from introducer.errors import (
    AnnouncementError,
    AnnouncementSignatureError,
    AnnouncementTooLargeError,
)

ANNOUNCEMENT_MAX_BYTES = 64 * 1024
WIRE_PREFIX = SERVER_ID_PREFIX.encode("ascii")
KEY_WIRE_LENGTH = len(WIRE_PREFIX) + encoded_length(ED25519_KEY_SIZE)
SIGNATURE_WIRE_LENGTH = len(WIRE_PREFIX) + encoded_length(ED25519_SIGNATURE_SIZE)
STORAGE_SERVICE = "storage"
ANNOUNCEMENT_VERSION = 0
OLDEST_SUPPORTED = "1.0.0"
_WIRE_PARTS = 3


def _read_only(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view of a copy of ``fields`` (nested values are shared, not frozen)."""
    return MappingProxyType(dict(fields))


@attrs.frozen
class SignedAnnouncement:
    """One verified announcement: the signed bytes as received, and what they say.

    Build it only with :func:`sign_announcement` or :func:`parse_announcement`,
    which guarantee that ``fields`` is the parse of ``message`` and that the
    signature verifies. ``fields`` is a read-only mapping; its nested lists
    and dicts must not be changed (use :meth:`as_dict` for a private copy).
    Equality and hashing are over the three wire values.
    """

    message: bytes = attrs.field(repr=False)
    signature: bytes = attrs.field(repr=False)
    key: bytes
    fields: Mapping[str, Any] = attrs.field(converter=_read_only, eq=False, repr=False)

    @property
    def server_id(self) -> str:
        """The signer's id, ``v0-<b32 public key>``."""
        return self.key.decode("ascii")

    @property
    def service_name(self) -> str:
        """The service announced (``"storage"`` for storage servers)."""
        name: str = self.fields["service-name"]
        return name

    @property
    def seqnum(self) -> int:
        """The announcement's sequence number: a newer one has a higher number."""
        seqnum: int = self.fields["seqnum"]
        return seqnum

    @property
    def index(self) -> tuple[str, str]:
        """Where a table files it: (service name, server id)."""
        return self.service_name, self.server_id

    @property
    def nonce(self) -> str:
        """The random nonce (empty if the announcement has none)."""
        return self.text_field("nonce")

    @property
    def nickname(self) -> str:
        """The node's nickname (empty if none)."""
        return self.text_field("nickname")

    @property
    def my_version(self) -> str:
        """The node's application version, such as ``tahoe-lafs/1.20.0`` (empty if none)."""
        return self.text_field("my-version")

    def text_field(self, name: str) -> str:
        """The string field ``name``, or ``""`` if it is missing or not a string."""
        value = self.fields.get(name)
        return value if isinstance(value, str) else ""

    def as_dict(self) -> dict[str, Any]:
        """A fresh, mutable parse of the message (for caches and callers that edit)."""
        fields: dict[str, Any] = json.loads(self.message)
        return fields

    def to_wire(self) -> tuple[bytes, bytes, bytes]:
        """The ``(message, signature, key)`` triple to send."""
        return self.message, self.signature, self.key


def _refuse_constant(name: str) -> NoReturn:
    """Reject ``NaN`` and ``Infinity``, which are not JSON."""
    raise ValueError(f"{name} is not a JSON value")


def _check_size(message: bytes) -> None:
    """Refuse a message bigger than :data:`ANNOUNCEMENT_MAX_BYTES`."""
    if len(message) > ANNOUNCEMENT_MAX_BYTES:
        raise AnnouncementTooLargeError(
            f"announcement has {len(message)} bytes, at most {ANNOUNCEMENT_MAX_BYTES} allowed"
        )


def decode_announcement_message(message: bytes) -> dict[str, Any]:
    """Parse and check announcement message bytes; raise AnnouncementError if unusable."""
    _check_size(message)
    try:
        fields = json.loads(message.decode("utf-8"), parse_constant=_refuse_constant)
        json.dumps(fields, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as error:
        raise AnnouncementError(f"announcement is not UTF-8 JSON text: {error}") from None
    if not isinstance(fields, dict):
        raise AnnouncementError("announcement is not a JSON object")
    service_name = fields.get("service-name")
    if not isinstance(service_name, str) or not service_name:
        raise AnnouncementError("announcement has no service-name string")
    seqnum = fields.get("seqnum")
    if not isinstance(seqnum, int) or isinstance(seqnum, bool) or seqnum < 0:
        raise AnnouncementError("announcement has no seqnum that is an integer >= 0")
    return fields


def _split_wire(wire: object) -> tuple[bytes, bytes, bytes]:
    """Check the outer shape: three byte strings, with both ``v0-`` prefixes."""
    if not isinstance(wire, tuple | list) or len(wire) != _WIRE_PARTS:
        raise AnnouncementError("an announcement must be a (message, signature, key) triple")
    message, signature, key = wire
    if not all(isinstance(part, bytes) for part in (message, signature, key)):
        raise AnnouncementError("announcement message, signature and key must be bytes")
    _check_size(message)
    if not signature.startswith(WIRE_PREFIX):
        raise AnnouncementError("announcement is unsigned or its signature is not v0-")
    if not key.startswith(WIRE_PREFIX):
        raise AnnouncementError("announcement key is not a v0- key")
    return message, signature, key


def _parse_key(key: bytes) -> NodeVerifyingKey:
    """The verifying key a ``v0-`` key names."""
    if len(key) != KEY_WIRE_LENGTH:
        raise AnnouncementError(f"announcement key has {len(key)} bytes, not {KEY_WIRE_LENGTH}")
    try:
        return NodeVerifyingKey.from_id(key.decode("ascii"))
    except (UnicodeDecodeError, GridError) as error:
        raise AnnouncementError(f"announcement key is malformed: {error}") from None


def _parse_signature(signature: bytes) -> bytes:
    """The 64 raw signature bytes a ``v0-`` signature carries."""
    if len(signature) != SIGNATURE_WIRE_LENGTH:
        raise AnnouncementError(
            f"announcement signature has {len(signature)} bytes, not {SIGNATURE_WIRE_LENGTH}"
        )
    try:
        return a2b_sized(signature[len(WIRE_PREFIX) :].decode("ascii"), ED25519_SIGNATURE_SIZE)
    except (UnicodeDecodeError, GridError) as error:
        raise AnnouncementError(f"announcement signature is malformed: {error}") from None


def parse_announcement(wire: object) -> SignedAnnouncement:
    """Check what a remote node sent as an announcement; raise only AnnouncementError."""
    message, signature, key = _split_wire(wire)
    verifying_key = _parse_key(key)
    raw_signature = _parse_signature(signature)
    try:
        verifying_key.verify(message, raw_signature)
    except (GridError, ValueError):
        raise AnnouncementSignatureError(
            "announcement signature does not verify under its key"
        ) from None
    return SignedAnnouncement(message, signature, key, decode_announcement_message(message))


def sign_announcement(fields: Mapping[str, Any], signing_key: NodeSigningKey) -> SignedAnnouncement:
    """Sign ``fields`` as JSON with the node's key; raise AnnouncementError if they are unusable."""
    try:
        message = json.dumps(dict(fields), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:
        raise AnnouncementError(f"announcement fields are not JSON: {error}") from None
    checked = decode_announcement_message(message)
    signature = WIRE_PREFIX + b2a(signing_key.sign(message)).encode("ascii")
    key = signing_key.verifying_key.to_id().encode("ascii")
    return SignedAnnouncement(message, signature, key, checked)


def base_announcement_fields(
    *, service_name: str, nickname: str, seqnum: int, nonce: str, app_version: str
) -> dict[str, Any]:
    """The keys every announcement carries, in Tahoe's order.

    ``app_version`` is the whole version string (``"grid/0.1.0"``); ``nonce``
    is the base32 of 32 random bytes the caller drew.
    """
    return {
        **_common_fields(service_name, nickname, app_version),
        "seqnum": seqnum,
        "nonce": nonce,
    }


def storage_announcement_fields(
    *,
    nickname: str,
    furl: str,
    permutation_seed_b32: str,
    seqnum: int,
    nonce: str,
    app_version: str,
) -> dict[str, Any]:
    """A storage server's announcement: the common keys plus its FURL and permutation seed.

    There is no ``anonymous-storage-NURLs`` key: we serve storage over
    Foolscap only, so Tahoe clients use the FURL.
    """
    return {
        **_common_fields(STORAGE_SERVICE, nickname, app_version),
        "anonymous-storage-FURL": furl,
        "permutation-seed-base32": permutation_seed_b32,
        "seqnum": seqnum,
        "nonce": nonce,
    }


def _common_fields(service_name: str, nickname: str, app_version: str) -> dict[str, Any]:
    """The node-wide keys, before the service's own keys."""
    return {
        "version": ANNOUNCEMENT_VERSION,
        "nickname": nickname,
        "app-versions": [],
        "my-version": app_version,
        "oldest-supported": OLDEST_SUPPORTED,
        "service-name": service_name,
    }


class AnnouncementTable:
    """The current announcement of each (service name, server id), under the replacement rule."""

    def __init__(self) -> None:
        """Start empty."""
        self._current: dict[tuple[str, str], SignedAnnouncement] = {}

    def offer(self, announcement: SignedAnnouncement) -> bool:
        """Keep ``announcement`` if it is new or has a higher seqnum; tell whether it was kept."""
        held = self._current.get(announcement.index)
        if held is not None and announcement.seqnum <= held.seqnum:
            return False
        self._current[announcement.index] = announcement
        return True

    def get(self, service_name: str, server_id: str) -> SignedAnnouncement | None:
        """The current announcement of one server for one service, if any."""
        return self._current.get((service_name, server_id))

    def current(self, service_name: str | None = None) -> list[SignedAnnouncement]:
        """The current announcements, of one service or of all, in first-seen order."""
        return [
            announcement
            for announcement in self._current.values()
            if service_name is None or announcement.service_name == service_name
        ]

    def __len__(self) -> int:
        """How many (service, server) entries the table holds."""
        return len(self._current)
