"""The keys of one mutable file, derived from its RSA private key or from a cap.

Rules (tahoe-formats.md §7.1): from the private key's PKCS#8 DER comes the
write key; from the write key the read key and the write-enabler master;
from the read key the storage index; the fingerprint is the hash of the
public key's SPKI DER. Every share stores the private key AES-128-CTR
encrypted under the write key (zero IV). A key recovered from a share is
trusted only if the bytes that decrypted hash back to the cap's write key.
A read cap yields the read key, storage index and fingerprint only. RSA key
generation is slow (tens to hundreds of milliseconds), so it runs on the
injected :class:`~client.upload.cpu.CpuRunner`, never on the reactor.
"""

import attrs

from client.mutable.errors import PrivateKeyUnavailableError
from client.upload.cpu import CpuRunner
from grid.caps.mutable import MutableFormat, MutableReadCap, MutableWriteCap
from grid.crypto.aes import aes_ctr
from grid.crypto.rsa import (
    RsaPrivateKey,
    generate_rsa_private_key,
    load_authenticated_private_key_der,
)
from grid.errors import KeyFormatError
from grid.hashing import (
    mutable_readkey,
    mutable_storage_index,
    mutable_writekey,
    pubkey_fingerprint,
    write_enabler,
    write_enabler_master,
)


@attrs.frozen
class MutableKeys:
    """What a holder of a cap (or of the private key) knows about one mutable file.

    ``writekey`` is None for a read cap; ``private_key`` is None until the
    signing key is known (from creation, or recovered from a share).
    """

    readkey: bytes = attrs.field(repr=False)
    storage_index: bytes
    fingerprint: bytes
    writekey: bytes | None = attrs.field(default=None, repr=False)
    private_key: RsaPrivateKey | None = attrs.field(default=None, repr=False)

    def write_enabler(self, nodeid: bytes) -> bytes:
        """The write enabler for the server whose 20-byte tub id is ``nodeid``."""
        if self.writekey is None:
            raise PrivateKeyUnavailableError("a read cap cannot write: it has no write key")
        return write_enabler(write_enabler_master(self.writekey), nodeid)

    def encrypted_private_key(self) -> bytes:
        """The private key as every share stores it: AES-CTR under the write key."""
        if self.writekey is None or self.private_key is None:
            raise PrivateKeyUnavailableError("the private key of this file is not known")
        return aes_ctr(self.writekey, self.private_key.pkcs8_der)

    def write_cap(self, file_format: MutableFormat) -> MutableWriteCap:
        """The write cap of this file in ``file_format``."""
        if self.writekey is None:
            raise PrivateKeyUnavailableError("a read cap cannot make a write cap")
        return MutableWriteCap(file_format, self.writekey, self.fingerprint)

    def with_private_key(self, private_key: RsaPrivateKey) -> "MutableKeys":
        """These keys with the signing key known."""
        return attrs.evolve(self, private_key=private_key)


def keys_from_private_key(private_key: RsaPrivateKey) -> MutableKeys:
    """Every key of the file whose signing key is ``private_key``."""
    writekey = mutable_writekey(private_key.pkcs8_der)
    readkey = mutable_readkey(writekey)
    return MutableKeys(
        readkey=readkey,
        storage_index=mutable_storage_index(readkey),
        fingerprint=pubkey_fingerprint(private_key.public_key.spki_der),
        writekey=writekey,
        private_key=private_key,
    )


def keys_from_cap(cap: MutableWriteCap | MutableReadCap) -> MutableKeys:
    """The keys a cap carries (no private key: that lives, encrypted, in the shares)."""
    writekey = cap.writekey if isinstance(cap, MutableWriteCap) else None
    return MutableKeys(
        readkey=cap.readkey,
        storage_index=cap.storage_index,
        fingerprint=cap.fingerprint,
        writekey=writekey,
    )


def decrypt_private_key(writekey: bytes, encrypted: bytes) -> RsaPrivateKey:
    """Recover the signing key from a share's encrypted copy, checked against ``writekey``.

    Raises PrivateKeyUnavailableError if the decrypted bytes do not hash to
    the write key or do not load as an RSA-2048 key.
    """
    der = aes_ctr(writekey, encrypted)
    if mutable_writekey(der) != writekey:
        raise PrivateKeyUnavailableError("a share's encrypted private key is not this file's")
    try:
        return load_authenticated_private_key_der(der)
    except KeyFormatError as error:
        raise PrivateKeyUnavailableError(f"a share's private key does not load: {error}") from None


async def generate_private_key(runner: CpuRunner) -> RsaPrivateKey:
    """Generate a fresh RSA-2048 signing key on ``runner`` (off the reactor thread)."""
    return await runner.run(generate_rsa_private_key)
