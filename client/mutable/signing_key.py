"""Recovering a mutable file's signing key from its shares, for a holder of the write cap.

Rules: every share stores the RSA private key encrypted under the write key
(SDMF: after the share data; MDMF: right after the header, so the
servermap's first read usually holds it). Shares of the best version are
tried first, then the others; a copy is accepted only if it decrypts to
bytes whose hash is the cap's write key. A share whose copy fails that check
is reported to its server as corrupt; a server that fails is passed over.
"""

import logging

from twisted.internet.interfaces import IReactorTime

from client.download.errors import ServerFailedError, ServerTimeoutError
from client.mutable.errors import (
    CorruptMutableShareError,
    PrivateKeyUnavailableError,
    ShareChangedError,
)
from client.mutable.keys import MutableKeys, decrypt_private_key
from client.mutable.retrieve import ShareReader
from client.mutable.servermap import DEFAULT_TIMEOUT, MappedShare, ServerMap, advise_corrupt
from grid.crypto.rsa import RsaPrivateKey
from grid.formats.sdmf import SdmfHeader
from grid.hashtree import IncompleteHashTree

_log = logging.getLogger(__name__)


def private_key_location(share: MappedShare) -> tuple[int, int]:
    """(offset, length) of a share's encrypted private key."""
    header = share.header
    if isinstance(header, SdmfHeader):
        return header.offsets.enc_privkey, header.offsets.eof - header.offsets.enc_privkey
    offsets = header.offsets
    return offsets.enc_privkey, offsets.share_hash_chain - offsets.enc_privkey


async def fetch_private_key(
    servermap: ServerMap,
    keys: MutableKeys,
    *,
    clock: IReactorTime,
    timeout: float = DEFAULT_TIMEOUT,
) -> RsaPrivateKey:
    """Recover the file's signing key from the first share whose copy checks out."""
    if keys.writekey is None:
        raise PrivateKeyUnavailableError("a read cap cannot recover the private key")
    best = servermap.best_version()
    ordered = sorted(servermap.shares, key=lambda share: share.version != best)
    for share in ordered:
        offset, length = private_key_location(share)
        try:
            if offset + length <= len(share.first_bytes):
                encrypted = share.first_bytes[offset : offset + length]
            else:
                reader = ShareReader(
                    share,
                    IncompleteHashTree(share.version.total_shares, share.version.root_hash),
                    keys.storage_index,
                    clock,
                    timeout,
                )
                (encrypted,) = await reader.read([(offset, length)])
            return decrypt_private_key(keys.writekey, encrypted)
        except PrivateKeyUnavailableError as error:
            await advise_corrupt(
                share.server,
                keys.storage_index,
                share.shnum,
                str(error),
                clock=clock,
                timeout=timeout,
            )
        except (
            CorruptMutableShareError,
            ShareChangedError,
            ServerFailedError,
            ServerTimeoutError,
        ) as error:
            _log.info("mutable.private-key.share-failed shnum=%d error=%s", share.shnum, error)
    raise PrivateKeyUnavailableError(
        f"none of {len(servermap.shares)} good shares held this file's private key"
    )
