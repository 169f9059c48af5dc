"""The mutable-file service: create, read, overwrite, modify and patch SDMF and MDMF files.

Rules:

- Every operation starts with a fresh servermap
  (:mod:`client.mutable.servermap`) of the broker's connected servers in
  permuted order, and reads the newest recoverable version.
- A new version gets seqnum = highest seen + 1 and keeps the file's k and N
  (new files use the service's). Its shares replace every share found and
  fill the missing share numbers (:mod:`client.mutable.placement`).
- ``modify`` is read -> change -> publish; ``None`` from the change means
  no change. It may start from a :class:`Snapshot` an earlier
  ``read_snapshot`` took (the servermap, version and contents it saw), which
  saves the read; the publish's test vectors still compare every share with
  what the snapshot saw, so a stale snapshot only costs one failed attempt,
  retried at once from a fresh read. When another writer interferes (a failed test vector, or the
  version being read replaced mid-read: VersionChangedError) it waits a random, growing delay on
  the injected clock and starts again, at most ``max_attempts`` times, so an
  update that returns has landed on top of every update acknowledged
  before it. A server that did not answer a write in time counts as
  interference too: it may have taken another writer's version instead of
  ours, and acknowledging then could let that version win later; the retry
  reads afresh and publishes on top of whatever is there, writing to every
  server but the ones that went unanswered (their shares are still read, so
  the new version outranks whatever they hold). The same holds for
  ``write_at`` (writing the same bytes again is harmless).
- ``write_at`` on MDMF rewrites only the segments it touches (and may
  append), as :mod:`client.mutable.mdmf_update` says; on SDMF, or when not
  every share of the file can be patched, it rewrites the whole file.
- Keys for new files come from the :class:`~client.mutable.key_pool.KeyPool`
  if one is given, else are generated on the CPU runner. Encoding runs on
  the runner too; the reactor thread only moves bytes.
- New contents come as bytes or as a
  :class:`~client.upload.plaintext_source.PlaintextSource`. MDMF is read,
  coded and written a batch of segments at a time
  (:mod:`client.mutable.mdmf_publish`), so memory stays bounded by the batch
  size, not the file's. SDMF is one segment by definition: its single block
  per share is coded from the whole plaintext at once, so an SDMF version is
  read whole into memory (as in Tahoe, which has no streaming SDMF writer
  either); large mutable files should be MDMF.
"""

import os
from collections.abc import Callable, Sequence

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater

from client.download.downloader import covered_range
from client.mutable.encode import MDMF_MAX_SEGMENT_SIZE, EncodedVersion, encode_sdmf
from client.mutable.errors import (
    UnconfirmedWriteError,
    UncoordinatedWriteError,
    VersionChangedError,
)
from client.mutable.key_pool import KeyPool
from client.mutable.keys import (
    MutableKeys,
    generate_private_key,
    keys_from_cap,
    keys_from_private_key,
)
from client.mutable.mdmf_publish import DEFAULT_BATCH_SIZE, publish_mdmf
from client.mutable.mdmf_stream import mdmf_layout_for
from client.mutable.mdmf_update import UpdateNotPossibleError, patch_mdmf
from client.mutable.placement import place_shares
from client.mutable.publish import PublishResult, publish_version, whole_shares
from client.mutable.retrieve import (
    Consumer,
    VersionReader,
    deliver_range,
    read_version,
)
from client.mutable.servermap import (
    DEFAULT_TIMEOUT,
    ServerMap,
    VersionId,
    checkstring_size,
    map_servers,
)
from client.mutable.servers import MutableServer, mutable_servers
from client.mutable.signing_key import fetch_private_key
from client.storage_broker import StorageBroker
from client.upload.cpu import CpuRunner
from client.upload.plaintext_source import BytesSource, PlaintextSource, read_exactly
from grid.caps.mutable import MutableFormat, MutableReadCap, MutableWriteCap
from grid.crypto.rsa import RsaPrivateKey
from grid.errors import NotEnoughSharesError

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF = 0.05

Change = Callable[[bytes], bytes | None]
Contents = bytes | PlaintextSource
"""New contents of a file: in memory, or a source read by range."""


@attrs.frozen
class Snapshot:
    """What one read of a file saw: the servermap, the version read and its contents."""

    servermap: ServerMap
    version: VersionId
    contents: bytes


class MutableService:
    """Mutable files (SDMF and MDMF) on the broker's storage servers."""

    def __init__(
        self,
        broker: StorageBroker,
        clock: IReactorTime,
        runner: CpuRunner,
        *,
        needed: int,
        total: int,
        lease_secret: bytes,
        key_pool: KeyPool | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
        timeout: float = DEFAULT_TIMEOUT,
        max_segment_size: int = MDMF_MAX_SEGMENT_SIZE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        """Use ``broker``'s servers, k = ``needed`` and N = ``total`` for new files.

        ``batch_size`` is how many plaintext bytes an MDMF publish codes and
        writes per round of calls.
        """
        self._broker = broker
        self._clock = clock
        self._runner = runner
        self._needed = needed
        self._total = total
        self._lease_secret = lease_secret
        self._key_pool = key_pool
        self._random_bytes = random_bytes
        self._timeout = timeout
        self._max_segment_size = max_segment_size
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._batch_size = batch_size

    async def create(
        self,
        contents: Contents,
        fmt: MutableFormat,
        private_key: RsaPrivateKey | None = None,
    ) -> MutableWriteCap:
        """Store ``contents`` as a new mutable file (seqnum 1); return its write cap."""
        if private_key is None:
            private_key = await self.new_private_key()
        keys = keys_from_private_key(private_key)
        servermap = await self._map(keys)
        await self._publish(
            keys, fmt, _as_source(contents), servermap, needed=self._needed, total=self._total
        )
        return keys.write_cap(fmt)

    async def read(
        self,
        cap: MutableWriteCap | MutableReadCap,
        consumer: Consumer,
        *,
        offset: int = 0,
        length: int | None = None,
    ) -> None:
        """Deliver the newest version's plaintext (or a range of it) to ``consumer``."""
        keys = keys_from_cap(cap)
        servermap = await self._map(keys)
        version = _best_version(servermap, self._needed)
        start, end = covered_range(version.data_length, offset, length)
        reader = VersionReader(servermap, version, keys, clock=self._clock, timeout=self._timeout)
        await deliver_range(reader, consumer, start, end)

    async def read_all(self, cap: MutableWriteCap | MutableReadCap) -> bytes:
        """The newest version's whole plaintext."""
        chunks: list[bytes] = []
        await self.read(cap, chunks.append)
        return b"".join(chunks)

    async def read_snapshot(self, cap: MutableWriteCap | MutableReadCap) -> Snapshot:
        """The newest version's whole plaintext, with the servermap and version it came from."""
        keys = keys_from_cap(cap)
        servermap = await self._map(keys)
        version = _best_version(servermap, self._needed)
        contents = await read_version(
            servermap, version, keys, clock=self._clock, timeout=self._timeout
        )
        return Snapshot(servermap, version, contents)

    async def size(self, cap: MutableWriteCap | MutableReadCap) -> int:
        """The size in bytes of the newest recoverable version."""
        keys = keys_from_cap(cap)
        return _best_version(await self._map(keys), self._needed).data_length

    async def overwrite(self, cap: MutableWriteCap, contents: Contents) -> None:
        """Replace the file's contents with ``contents`` (one attempt)."""
        keys = keys_from_cap(cap)
        servermap = await self._map(keys)
        version = servermap.best_version()
        needed, total = (
            (version.needed_shares, version.total_shares)
            if version is not None
            else (self._needed, self._total)
        )
        keys = await self._signing_keys(keys, servermap)
        await self._publish(
            keys, cap.format, _as_source(contents), servermap, needed=needed, total=total
        )

    async def modify(
        self, cap: MutableWriteCap, change: Change, *, start: Snapshot | None = None
    ) -> None:
        """Read, apply ``change``, publish; start again when another writer interferes.

        With ``start``, the first attempt changes the snapshot's contents instead of reading.
        """
        avoid: set[str] = set()
        for attempt in range(self._max_attempts):
            try:
                await self._modify_once(cap, change, start, avoid)
            except (UncoordinatedWriteError, VersionChangedError) as error:
                if attempt + 1 == self._max_attempts:
                    raise
                if isinstance(error, UnconfirmedWriteError):
                    avoid |= error.servers
                if start is None:
                    await self._wait_before_retry(attempt)
                start = None
            else:
                return

    async def write_at(self, cap: MutableWriteCap, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``, zero-filling any gap; MDMF patches only what it touches."""
        if offset < 0:
            raise ValueError(f"a write offset must be >= 0, got {offset}")
        avoid: set[str] = set()
        for attempt in range(self._max_attempts):
            try:
                if cap.format is MutableFormat.MDMF:
                    await self._patch_once(cap, offset, data, avoid)
                else:
                    await self._modify_once(cap, _splice(offset, data), None, avoid)
            except (UncoordinatedWriteError, VersionChangedError) as error:
                if attempt + 1 == self._max_attempts:
                    raise
                if isinstance(error, UnconfirmedWriteError):
                    avoid |= error.servers
                await self._wait_before_retry(attempt)
            else:
                return

    async def _modify_once(
        self, cap: MutableWriteCap, change: Change, start: Snapshot | None, avoid: set[str]
    ) -> None:
        keys = keys_from_cap(cap)
        if start is None:
            start = await self.read_snapshot(cap)
        servermap, version = start.servermap.without_writers(avoid), start.version
        new = change(start.contents)
        if new is None:
            return
        keys = await self._signing_keys(keys, servermap)
        result = await self._publish(
            keys,
            cap.format,
            BytesSource(new),
            servermap,
            needed=version.needed_shares,
            total=version.total_shares,
        )
        _require_confirmed(result)

    async def _patch_once(
        self, cap: MutableWriteCap, offset: int, data: bytes, avoid: set[str]
    ) -> None:
        keys = keys_from_cap(cap)
        read_map = await self._map(keys)
        version = _best_version(read_map, self._needed)
        servermap = read_map.without_writers(avoid)
        keys = await self._signing_keys(keys, servermap)
        try:
            result = await patch_mdmf(
                servermap,
                version,
                keys,
                offset,
                data,
                runner=self._runner,
                random_bytes=self._random_bytes,
                lease_secret=self._lease_secret,
                clock=self._clock,
                timeout=self._timeout,
            )
        except UpdateNotPossibleError:
            old = await read_version(
                servermap, version, keys, clock=self._clock, timeout=self._timeout
            )
            new = _splice(offset, data)(old)
            result = await self._publish(
                keys,
                cap.format,
                BytesSource(new),
                servermap,
                needed=version.needed_shares,
                total=version.total_shares,
            )
        _require_confirmed(result)

    async def _wait_before_retry(self, attempt: int) -> None:
        """Sleep a random delay that doubles with each attempt, so colliding writers part."""
        jitter = int.from_bytes(self._random_bytes(2), "big") / 65535
        delay = self._backoff * (2**attempt) * (0.5 + jitter)
        await deferLater(self._clock, delay, lambda: None)

    async def new_private_key(self) -> RsaPrivateKey:
        """A signing key never used before: from the key pool if there is one, else made now."""
        if self._key_pool is not None:
            return await self._key_pool.take()
        return await generate_private_key(self._runner)

    def _servers(self, storage_index: bytes) -> Sequence[MutableServer]:
        return mutable_servers(self._broker, storage_index)

    async def _map(self, keys: MutableKeys) -> ServerMap:
        return await map_servers(
            self._servers(keys.storage_index), keys, clock=self._clock, timeout=self._timeout
        )

    async def _signing_keys(self, keys: MutableKeys, servermap: ServerMap) -> MutableKeys:
        private_key = await fetch_private_key(
            servermap, keys, clock=self._clock, timeout=self._timeout
        )
        return keys.with_private_key(private_key)

    async def _publish(
        self,
        keys: MutableKeys,
        fmt: MutableFormat,
        source: PlaintextSource,
        servermap: ServerMap,
        *,
        needed: int,
        total: int,
    ) -> PublishResult:
        if fmt is MutableFormat.MDMF:
            return await publish_mdmf(
                keys,
                source,
                mdmf_layout_for(needed, total, source.size, self._max_segment_size),
                servermap,
                runner=self._runner,
                random_bytes=self._random_bytes,
                lease_secret=self._lease_secret,
                clock=self._clock,
                timeout=self._timeout,
                batch_size=self._batch_size,
            )
        contents = await read_exactly(source, 0, source.size)
        encoded: EncodedVersion = await self._runner.run(
            encode_sdmf,
            keys,
            contents,
            needed=needed,
            total=total,
            seqnum=servermap.highest_seqnum() + 1,
            random_bytes=self._random_bytes,
        )
        servers = servermap.responding_servers
        plan = place_shares([server.server_id for server in servers], servermap.found, total)
        return await publish_version(
            keys,
            encoded.version,
            whole_shares(encoded.shares),
            plan,
            servers,
            lease_secret=self._lease_secret,
            checkstring_size=checkstring_size(encoded.version.share_version),
            clock=self._clock,
            timeout=self._timeout,
        )


def _require_confirmed(result: PublishResult | None) -> None:
    """Treat a write some server never confirmed as a collision (see the module rules)."""
    if result is not None and result.unconfirmed:
        raise UnconfirmedWriteError(result.unconfirmed)


def _best_version(servermap: ServerMap, default_needed: int) -> VersionId:
    """The newest recoverable version, or NotEnoughSharesError saying what was found."""
    version = servermap.best_version()
    if version is not None:
        return version
    newest = servermap.newest_version()
    asked = len(servermap.responding_servers) + len(servermap.failed_servers)
    detail = (
        f"no recoverable version of this mutable file on {asked} servers "
        f"({len(servermap.failed_servers)} did not answer, "
        f"{len(servermap.bad_shares)} bad shares)"
    )
    if newest is None:
        raise NotEnoughSharesError(default_needed, 0, detail)
    raise NotEnoughSharesError(newest.needed_shares, servermap.distinct_shares(newest), detail)


def _splice(offset: int, data: bytes) -> Callable[[bytes], bytes]:
    """A change that writes ``data`` at ``offset``, zero-filling any gap past the end."""

    def change(old: bytes) -> bytes:
        head = old[:offset].ljust(offset, b"\x00")
        return head + data + old[offset + len(data) :]

    return change


def _as_source(contents: Contents) -> PlaintextSource:
    """Contents as a source read by range (bytes are served from memory)."""
    return BytesSource(contents) if isinstance(contents, bytes) else contents
