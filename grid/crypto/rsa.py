"""RSA-2048 keys and RSA-PSS signatures for mutable files.

Rules: every mutable file has its own RSA key of exactly 2048 bits; new keys
use e = 65537, while old keys with e = 17 (292-byte public keys) still load
and verify. The bytes Tahoe hashes and stores are fixed: the private key as
unencrypted PKCS#8 DER and the public key as X.509 SubjectPublicKeyInfo DER,
both computed once when a key is built. Signatures are RSA-PSS with SHA-256,
MGF1-SHA-256 and a 32-byte salt: 256 bytes each. Loaders raise only
:class:`~grid.errors.KeyFormatError`; :func:`verify` raises
:class:`~grid.errors.BadSignatureError` on a signature that does not verify.
"""

import attrs
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from grid.errors import BadSignatureError, KeyFormatError

RSA_KEY_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537
SIGNATURE_SIZE = RSA_KEY_BITS // 8
PSS_SALT_SIZE = 32

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_SIZE)
_LOAD_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm)


def _require_public_key(value: object) -> None:
    """Require a ``cryptography`` RSA public key of 2048 bits."""
    if not isinstance(value, rsa.RSAPublicKey) or value.key_size != RSA_KEY_BITS:
        raise KeyFormatError(f"need an RSA-{RSA_KEY_BITS} public key")


def _require_private_key(value: object) -> None:
    """Require a ``cryptography`` RSA private key of 2048 bits."""
    if not isinstance(value, rsa.RSAPrivateKey) or value.key_size != RSA_KEY_BITS:
        raise KeyFormatError(f"need an RSA-{RSA_KEY_BITS} private key")


@attrs.frozen
class RsaPublicKey:
    """An RSA-2048 public key (a mutable file's verification key).

    Build it with :func:`load_public_key_der` or from
    :attr:`RsaPrivateKey.public_key`; ``spki_der`` is what the fingerprint hashes.
    """

    key: rsa.RSAPublicKey = attrs.field(eq=False, repr=False)
    spki_der: bytes = attrs.field(init=False)

    @spki_der.default
    def _serialize(self) -> bytes:
        _require_public_key(self.key)  # the first default runs before any validator would
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@attrs.frozen
class RsaPrivateKey:
    """An RSA-2048 private key (a mutable file's signing key).

    ``pkcs8_der`` is the unencrypted PKCS#8 DER that the write key hashes and
    that every share stores encrypted. It is a secret, so it is left out of repr.
    """

    key: rsa.RSAPrivateKey = attrs.field(eq=False, repr=False)
    pkcs8_der: bytes = attrs.field(init=False, repr=False)
    public_key: RsaPublicKey = attrs.field(init=False)

    @pkcs8_der.default
    def _serialize(self) -> bytes:
        _require_private_key(self.key)  # the first default runs before any validator would
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @public_key.default
    def _derive_public_key(self) -> RsaPublicKey:
        return RsaPublicKey(self.key.public_key())


def generate_rsa_private_key() -> RsaPrivateKey:
    """Generate a fresh RSA-2048 key with e = 65537 (randomness from the OS)."""
    return RsaPrivateKey(
        rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    )


def _wrap_private_key(loaded: object) -> RsaPrivateKey:
    """Accept a loaded key only if it is an RSA-2048 private key."""
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise KeyFormatError(f"not an RSA private key: {type(loaded).__name__}")
    if loaded.key_size != RSA_KEY_BITS:
        raise KeyFormatError(f"RSA key has {loaded.key_size} bits, need {RSA_KEY_BITS}")
    return RsaPrivateKey(loaded)


def load_private_key_pem(data: bytes) -> RsaPrivateKey:
    """Load an unencrypted RSA-2048 private key from PEM (PKCS#1 or PKCS#8)."""
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except _LOAD_ERRORS as error:
        raise KeyFormatError(f"not an unencrypted PEM private key: {error}") from error
    return _wrap_private_key(loaded)


def load_private_key_der(data: bytes) -> RsaPrivateKey:
    """Load an unencrypted RSA-2048 private key from DER (PKCS#8, as shares store it).

    ``pkcs8_der`` of the result is the key re-serialized; for the canonical
    DER that Tahoe writes it equals ``data``. A caller checking a fetched key
    against a write key should hash the bytes it fetched.
    """
    try:
        loaded = serialization.load_der_private_key(data, password=None)
    except _LOAD_ERRORS as error:
        raise KeyFormatError(f"not an unencrypted DER private key: {error}") from error
    return _wrap_private_key(loaded)


def load_authenticated_private_key_der(data: bytes) -> RsaPrivateKey:
    """Load PKCS#8 DER key bytes already authenticated by their hash, skipping key validation.

    A mutable file's private key comes back from a share only after its
    bytes hash to the file's write key, so they are the bytes the writer
    stored; re-checking the RSA key's internal consistency (about 35 ms of
    CPU on the reactor thread, every write) proves nothing more. Never use
    this for key bytes from anywhere else: :func:`load_private_key_der`
    validates.
    """
    try:
        loaded = serialization.load_der_private_key(
            data, password=None, unsafe_skip_rsa_key_validation=True
        )
    except _LOAD_ERRORS as error:
        raise KeyFormatError(f"not an unencrypted DER private key: {error}") from error
    return _wrap_private_key(loaded)


def load_public_key_der(data: bytes) -> RsaPublicKey:
    """Load an RSA-2048 public key from SubjectPublicKeyInfo DER (any exponent)."""
    try:
        loaded = serialization.load_der_public_key(data)
    except _LOAD_ERRORS as error:
        raise KeyFormatError(f"not a DER SubjectPublicKeyInfo: {error}") from error
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise KeyFormatError(f"not an RSA public key: {type(loaded).__name__}")
    if loaded.key_size != RSA_KEY_BITS:
        raise KeyFormatError(f"RSA key has {loaded.key_size} bits, need {RSA_KEY_BITS}")
    return RsaPublicKey(loaded)


def sign(private_key: RsaPrivateKey, message: bytes) -> bytes:
    """Sign ``message`` with RSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt): 256 bytes."""
    return private_key.key.sign(message, _PSS, hashes.SHA256())


def verify(public_key: RsaPublicKey | bytes, message: bytes, signature: bytes) -> None:
    """Check an RSA-PSS signature; raise BadSignatureError if it does not verify.

    ``public_key`` may be a loaded key or its SPKI DER; unparseable DER raises
    :class:`~grid.errors.KeyFormatError`.
    """
    if not isinstance(public_key, RsaPublicKey):
        public_key = load_public_key_der(public_key)
    if len(signature) != SIGNATURE_SIZE:
        raise BadSignatureError(
            f"RSA signature has {len(signature)} bytes, expected {SIGNATURE_SIZE}"
        )
    try:
        public_key.key.verify(signature, message, _PSS, hashes.SHA256())
    except InvalidSignature as error:
        raise BadSignatureError("RSA-PSS signature does not verify") from error
