"""Who a storage server is, from its announcement: ids, seeds and where to reach it.

Rules (Tahoe-LAFS 1.20): the server id is the announcement key
``v0-<b32 pubkey>``. The permutation seed is the base32 value of
``permutation-seed-base32``; without it, the decoded pubkey when the server
id is ``v0-`` and 52 alphanumerics; otherwise SHA-256 of the server id.
``anonymous-storage-FURL`` must be present: its tub id (``pb://<tubid>@…``,
20 bytes) is the lease seed and the write-enabler seed, whatever transport
is used. A nickname that is not text counts as empty. Everything wrong with
an announcement raises :class:`ServerAnnouncementError`.
"""

import contextlib
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from client.errors import ServerAnnouncementError
from grid.base32 import a2b, a2b_sized
from grid.errors import EncodingError
from grid.hashing import NODEID_SIZE

FURL_KEY = "anonymous-storage-FURL"
PERMUTATION_SEED_KEY = "permutation-seed-base32"
_PUBKEY_SERVER_ID_RE = re.compile(r"v0-[0-9a-zA-Z]{52}")
_FURL_TUBID_RE = re.compile(r"pb://([^@/]+)@")


@attrs.frozen
class ServerDescription:
    """A storage server as a client knows it from its announcement."""

    server_id: str
    nickname: str
    furl: str = attrs.field(repr=False)
    tubid: bytes
    permutation_seed: bytes
    announcement: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def lease_seed(self) -> bytes:
        """The value lease secrets are derived from for this server: its tub id."""
        return self.tubid

    @property
    def write_enabler_seed(self) -> bytes:
        """The value write enablers are derived from for this server: its tub id."""
        return self.tubid

    @property
    def short_name(self) -> str:
        """Eight characters for people: the id without its ``v0-`` prefix, cut short."""
        return self.server_id.removeprefix("v0-")[:8]


def describe_storage_server(server_id: str, fields: Mapping[str, Any]) -> ServerDescription:
    """Describe a server from its id and announcement fields; raise ServerAnnouncementError."""
    if not server_id:
        raise ServerAnnouncementError("a storage server needs a non-empty server id")
    furl = fields.get(FURL_KEY)
    if not isinstance(furl, str):
        raise ServerAnnouncementError(f"server {server_id}: the announcement has no {FURL_KEY}")
    nickname = fields.get("nickname", "")
    return ServerDescription(
        server_id=server_id,
        nickname=nickname if isinstance(nickname, str) else "",
        furl=furl,
        tubid=tubid_of_furl(furl),
        permutation_seed=_permutation_seed(server_id, fields),
        announcement=fields,
    )


def tubid_of_furl(furl: str) -> bytes:
    """The 20-byte tub id a FURL names; raise ServerAnnouncementError if it names none."""
    match = _FURL_TUBID_RE.match(furl)
    if match is None:
        raise ServerAnnouncementError("a storage FURL must start with pb://<tubid>@")
    try:
        return a2b_sized(match.group(1).lower(), NODEID_SIZE)
    except EncodingError:
        raise ServerAnnouncementError(
            f"the tub id of a storage FURL must be base32 of {NODEID_SIZE} bytes"
        ) from None


def _permutation_seed(server_id: str, fields: Mapping[str, Any]) -> bytes:
    """The announced seed, else the pubkey from the server id, else SHA-256 of the id."""
    if PERMUTATION_SEED_KEY in fields:
        return _decode_announced_seed(server_id, fields[PERMUTATION_SEED_KEY])
    if _PUBKEY_SERVER_ID_RE.fullmatch(server_id):
        with contextlib.suppress(EncodingError):  # not canonical base32: hash it instead
            return a2b(server_id[3:])
    return hashlib.sha256(server_id.encode("utf-8")).digest()


def _decode_announced_seed(server_id: str, announced: object) -> bytes:
    """Decode ``permutation-seed-base32``; raise ServerAnnouncementError if it is not base32."""
    error = ServerAnnouncementError(f"server {server_id}: {PERMUTATION_SEED_KEY} is not base32")
    if not isinstance(announced, str) or not announced:
        raise error
    try:
        return a2b(announced)
    except EncodingError:
        raise error from None
