"""The servermap: which versions of a mutable file exist, and which shares hold them.

Rules:

- Every server is asked at once with ``slot_readv(SI, [], [(0, read_size)])``
  (32 KiB by default: the whole share of a small SDMF file or directory, so
  reading or changing one needs no second round trip). Shares whose signed fields end
  past what was read are read again, in one more call, far enough (never
  past :data:`MAX_SIGNED_END`).
- A share counts only if its header parses, its verification key hashes to
  the cap's fingerprint, and its RSA-PSS signature over the signed prefix
  verifies. Any other share is *bad*: it is ignored for reading, its server
  is sent ``advise_corrupt_share(b"mutable", SI, shnum, reason)``, and it is
  still remembered (with the bytes at its start) so a writer can replace it.
- A server that fails or does not answer within ``timeout`` seconds is
  skipped and listed in :attr:`ServerMap.failed_servers`.
- A version is identified by everything the signature covers. The best
  version is the recoverable one (at least k distinct share numbers) with
  the highest seqnum, then the highest root hash, as Tahoe chooses. The next
  publish uses the highest seqnum seen in *any* good share, plus one.
"""

import logging
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Protocol

import attrs
from twisted.internet.interfaces import IReactorTime

from client.download.errors import ServerFailedError, ServerTimeoutError
from client.download.remote_calls import call_remote, gather
from client.mutable.errors import CorruptMutableShareError
from client.mutable.servers import MutableServer
from grid.crypto.rsa import verify
from grid.errors import BadSignatureError, KeyFormatError, ShareFormatError
from grid.formats.mdmf import (
    MDMF_CHECKSTRING_SIZE,
    MdmfHeader,
    mdmf_checkstring,
    mdmf_signed_prefix,
)
from grid.formats.mutable_share import MutableHeader, parse_mutable_header
from grid.formats.sdmf import (
    SDMF_CHECKSTRING_SIZE,
    SDMF_HEADER_SIZE,
    SdmfHeader,
    sdmf_checkstring,
)
from grid.hashing import pubkey_fingerprint

DEFAULT_READ_SIZE = 32768
DEFAULT_TIMEOUT = 60.0
MAX_SIGNED_END = 65536

_log = logging.getLogger(__name__)


class SlotIdentity(Protocol):
    """What mapping a file's shares needs to know: its storage index and key fingerprint.

    :class:`~client.mutable.keys.MutableKeys` and a mutable verify cap both
    qualify, so a verify cap alone can map (and check) a file.
    """

    @property
    def storage_index(self) -> bytes:
        """The slot's storage index."""

    @property
    def fingerprint(self) -> bytes:
        """The hash of the file's public key, which every good share's key must match."""


@attrs.frozen
class VersionId:
    """One version of a mutable file: every field its signature covers."""

    seqnum: int
    root_hash: bytes
    salt: bytes | None
    needed_shares: int
    total_shares: int
    segment_size: int
    data_length: int
    share_version: int

    @property
    def rank(self) -> tuple[int, bytes]:
        """Newer versions rank higher: by seqnum, then by root hash."""
        return (self.seqnum, self.root_hash)

    @property
    def checkstring(self) -> bytes:
        """The bytes at the start of each of this version's shares that test vectors compare."""
        if self.salt is not None:
            return sdmf_checkstring(self.seqnum, self.root_hash, self.salt)
        return mdmf_checkstring(self.seqnum, self.root_hash)


@attrs.frozen
class MappedShare:
    """A good share: where it is, which version it holds, and its parsed header."""

    server: MutableServer = attrs.field(eq=False)
    shnum: int
    version: VersionId
    header: MutableHeader = attrs.field(repr=False)
    first_bytes: bytes = attrs.field(repr=False, eq=False)


@attrs.define
class ServerMap:
    """What a round of queries found for one storage index."""

    storage_index: bytes
    responding_servers: list[MutableServer] = attrs.Factory(list)
    failed_servers: list[str] = attrs.Factory(list)
    shares: list[MappedShare] = attrs.Factory(list)
    found: dict[str, dict[int, bytes]] = attrs.Factory(dict)
    bad_shares: list[tuple[str, int, str]] = attrs.Factory(list)

    def without_writers(self, avoid: AbstractSet[str]) -> "ServerMap":
        """This map for a publish that writes to no server in ``avoid`` (ids).

        Their shares still count as seen (versions, the highest seqnum); only
        the servers written to, and the shares tested there, leave out ``avoid``.
        """
        if not avoid:
            return self
        return attrs.evolve(
            self,
            responding_servers=[s for s in self.responding_servers if s.server_id not in avoid],
            found={server: shares for server, shares in self.found.items() if server not in avoid},
        )

    def versions(self) -> dict[VersionId, list[MappedShare]]:
        """Every version seen, with its good shares (in server order)."""
        by_version: dict[VersionId, list[MappedShare]] = {}
        for share in self.shares:
            by_version.setdefault(share.version, []).append(share)
        return by_version

    def recoverable_versions(self) -> list[VersionId]:
        """The versions with at least k distinct share numbers, newest first."""
        recoverable = [
            version
            for version, shares in self.versions().items()
            if len({share.shnum for share in shares}) >= version.needed_shares
        ]
        return sorted(recoverable, key=lambda version: version.rank, reverse=True)

    def best_version(self) -> VersionId | None:
        """The newest recoverable version, if any."""
        recoverable = self.recoverable_versions()
        return recoverable[0] if recoverable else None

    def newest_version(self) -> VersionId | None:
        """The newest version seen in a good share, recoverable or not."""
        versions = self.versions()
        return max(versions, key=lambda version: version.rank) if versions else None

    def highest_seqnum(self) -> int:
        """The highest seqnum of any good share (0 when there is none)."""
        return max((share.version.seqnum for share in self.shares), default=0)

    def shares_of(self, version: VersionId) -> list[MappedShare]:
        """The good shares of ``version``, in server order."""
        return [share for share in self.shares if share.version == version]

    def distinct_shares(self, version: VersionId) -> int:
        """How many distinct share numbers of ``version`` were found."""
        return len({share.shnum for share in self.shares_of(version)})


def _signed_fields(header: MutableHeader, data: bytes) -> tuple[bytes, bytes, bytes, int]:
    """Return (verification key, signature, signed prefix, end of those fields)."""
    if isinstance(header, SdmfHeader):
        sdmf = header.offsets
        return (
            data[SDMF_HEADER_SIZE : sdmf.signature],
            data[sdmf.signature : sdmf.share_hash_chain],
            header.signed_prefix(),
            sdmf.share_hash_chain,
        )
    offsets = header.offsets
    prefix = mdmf_signed_prefix(
        seqnum=header.seqnum,
        root_hash=header.root_hash,
        needed_shares=header.needed_shares,
        total_shares=header.total_shares,
        segment_size=header.segment_size,
        data_length=header.data_length,
    )
    return (
        data[offsets.verification_key : offsets.verification_key_end],
        data[offsets.signature : offsets.verification_key],
        prefix,
        max(offsets.verification_key_end, offsets.signature),
    )


def signed_end(data: bytes) -> int:
    """How many bytes of a share are needed to check its signature; 0 if the header is bad."""
    try:
        header = parse_mutable_header(data)
    except ShareFormatError:
        return 0
    return _signed_fields(header, data)[3]


def version_of(header: MutableHeader) -> VersionId:
    """The version a share's header names."""
    return VersionId(
        seqnum=header.seqnum,
        root_hash=header.root_hash,
        salt=header.salt if isinstance(header, SdmfHeader) else None,
        needed_shares=header.needed_shares,
        total_shares=header.total_shares,
        segment_size=header.segment_size,
        data_length=header.data_length,
        share_version=0 if isinstance(header, SdmfHeader) else 1,
    )


def check_share_start(data: bytes, fingerprint: bytes) -> MutableHeader:
    """Check the first bytes of a share: header, key fingerprint and signature.

    Raises CorruptMutableShareError naming what failed.
    """
    try:
        header = parse_mutable_header(data)
    except ShareFormatError as error:
        raise CorruptMutableShareError(f"bad header: {error}") from None
    verification_key, signature, prefix, end = _signed_fields(header, data)
    if end > len(data):
        raise CorruptMutableShareError(f"share ends at {len(data)}, before its signature")
    if pubkey_fingerprint(verification_key) != fingerprint:
        raise CorruptMutableShareError("verification key does not match the cap's fingerprint")
    try:
        verify(verification_key, prefix, signature)
    except (BadSignatureError, KeyFormatError) as error:
        raise CorruptMutableShareError(f"bad signature: {error}") from None
    if isinstance(header, MdmfHeader):
        _check_mdmf_geometry(header)
    return header


def _check_mdmf_geometry(header: MdmfHeader) -> None:
    """A signed header can still describe blocks that cannot exist; refuse it."""
    try:
        header.geometry()
    except ShareFormatError as error:
        raise CorruptMutableShareError(f"bad geometry: {error}") from None


async def advise_corrupt(
    server: MutableServer,
    storage_index: bytes,
    shnum: int,
    reason: str,
    *,
    clock: IReactorTime,
    timeout: float,
) -> None:
    """Tell ``server`` a share is corrupt; a failure to tell it is logged, never raised."""
    _log.warning("mutable.corrupt-share server=%s shnum=%d reason=%s", server.name, shnum, reason)
    try:
        await call_remote(
            clock,
            timeout,
            f"advise_corrupt_share to {server.name}",
            lambda: server.advise_corrupt_share(storage_index, shnum, reason.encode("utf-8")),
        )
    except (ServerFailedError, ServerTimeoutError) as error:
        _log.info("mutable.advise-failed server=%s error=%s", server.name, error)


class _MapBuilder:
    """Queries every server once and fills a :class:`ServerMap`."""

    def __init__(
        self, keys: SlotIdentity, clock: IReactorTime, timeout: float, read_size: int
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._timeout = timeout
        self._read_size = read_size
        self.map = ServerMap(keys.storage_index)

    async def query(self, server: MutableServer) -> None:
        """Ask one server for its shares' first bytes; record what it holds."""
        storage_index = self._keys.storage_index
        try:
            answer = await call_remote(
                self._clock,
                self._timeout,
                f"slot_readv to {server.name}",
                lambda: server.slot_readv(storage_index, [], [(0, self._read_size)]),
            )
            shares = {shnum: _first(items) for shnum, items in answer.items()}
            short = {
                shnum: end
                for shnum, data in shares.items()
                if len(data) < (end := min(signed_end(data), MAX_SIGNED_END))
            }
            if short:
                longest = max(short.values())
                again = await call_remote(
                    self._clock,
                    self._timeout,
                    f"slot_readv to {server.name}",
                    lambda: server.slot_readv(storage_index, sorted(short), [(0, longest)]),
                )
                shares.update({shnum: _first(again.get(shnum, [b""])) for shnum in short})
        except (ServerFailedError, ServerTimeoutError) as error:
            _log.info("mutable.servermap.server-failed server=%s error=%s", server.name, error)
            self.map.failed_servers.append(server.server_id)
            return
        self.map.responding_servers.append(server)
        self.map.found[server.server_id] = {
            shnum: data[:SDMF_CHECKSTRING_SIZE] for shnum, data in shares.items()
        }
        for shnum, data in sorted(shares.items()):
            await self._record(server, shnum, data)

    async def _record(self, server: MutableServer, shnum: int, data: bytes) -> None:
        try:
            header = check_share_start(data, self._keys.fingerprint)
        except CorruptMutableShareError as error:
            self.map.bad_shares.append((server.server_id, shnum, str(error)))
            await advise_corrupt(
                server,
                self._keys.storage_index,
                shnum,
                str(error),
                clock=self._clock,
                timeout=self._timeout,
            )
            return
        self.map.shares.append(MappedShare(server, shnum, version_of(header), header, data))


def _first(items: Sequence[bytes]) -> bytes:
    return items[0] if items else b""


async def map_servers(
    servers: Sequence[MutableServer],
    keys: SlotIdentity,
    *,
    clock: IReactorTime,
    timeout: float = DEFAULT_TIMEOUT,
    read_size: int = DEFAULT_READ_SIZE,
) -> ServerMap:
    """Query ``servers`` (in permuted order) at once and map what they hold."""
    builder = _MapBuilder(keys, clock, timeout, read_size)
    await gather(*(builder.query(server) for server in servers))
    order = {server.server_id: rank for rank, server in enumerate(servers)}
    found = builder.map
    found.responding_servers.sort(key=lambda server: order[server.server_id])
    found.shares.sort(key=lambda share: (order[share.server.server_id], share.shnum))
    return found


def checkstring_size(share_version: int) -> int:
    """How many leading bytes a test vector compares for a share format."""
    return SDMF_CHECKSTRING_SIZE if share_version == 0 else MDMF_CHECKSTRING_SIZE
