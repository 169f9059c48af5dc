import functools
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from grid import hashing
from grid.base32 import a2b, b2a
from grid.crypto.aes import aes_ctr
from grid.crypto.rsa import (
    RSA_KEY_BITS,
    SIGNATURE_SIZE,
    RsaPrivateKey,
    RsaPublicKey,
    generate_rsa_private_key,
    load_authenticated_private_key_der,
    load_private_key_der,
    load_private_key_pem,
    load_public_key_der,
    sign,
    verify,
)
from grid.errors import BadSignatureError, KeyFormatError
from tests.strategies.crypto import (
    first_ssk_pem,
    mutated_bytes,
    pem_armoured_garbage,
    rsa_private_keys,
    ssk_vectors,
)
from tests.vectors import TAHOE_SHARES_DIR, VECTORS_DIR

SDMF_KEY = TAHOE_SHARES_DIR / "sdmf-key.pem"
NO_ENCRYPTION = serialization.NoEncryption()


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, private_format: str) -> bytes:
    """Serialize a key as unencrypted PEM: PKCS#1 ("TraditionalOpenSSL") or "PKCS8"."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        getattr(serialization.PrivateFormat, private_format),
        NO_ENCRYPTION,
    )


@functools.cache
def _sample_key() -> RsaPrivateKey:
    """The SDMF sample share's key (a public test key)."""
    return load_private_key_pem(SDMF_KEY.read_bytes())


def _old_tahoe_mutable_share_data() -> bytes:
    """Share data of the Tahoe 1.2.0 SDMF share in tahoe-vectors.md section 11.2 (e=17 key)."""
    text = (VECTORS_DIR / "tahoe-vectors.md").read_text()
    section = text[text.index("### 11.2") : text.index("## 12.")]
    share_file = a2b(re.findall(r"```\n([a-z2-7]+)\n```", section)[0])
    return share_file[468 : 468 + 2170]


# --- generation and round trips ---------------------------------------------------------


def test_generated_key_has_tahoe_parameters() -> None:
    """A new key is RSA-2048 with e=65537, a ~1218-byte PKCS#8 and a 294-byte SPKI, and reloads."""
    private_key = generate_rsa_private_key()
    assert private_key.key.key_size == RSA_KEY_BITS
    assert private_key.key.private_numbers().public_numbers.e == 65537
    assert 1210 <= len(private_key.pkcs8_der) <= 1220
    assert len(private_key.public_key.spki_der) == 294
    assert load_private_key_der(private_key.pkcs8_der) == private_key
    assert load_public_key_der(private_key.public_key.spki_der) == private_key.public_key


@given(private_key=rsa_private_keys())
def test_der_round_trip(private_key: RsaPrivateKey) -> None:
    """Loading a key's PKCS#8 and SPKI DER gives back equal keys with identical bytes."""
    reloaded = load_private_key_der(private_key.pkcs8_der)
    assert reloaded == private_key
    assert reloaded.pkcs8_der == private_key.pkcs8_der
    assert load_public_key_der(private_key.public_key.spki_der) == private_key.public_key


@given(private_key=rsa_private_keys())
def test_authenticated_der_loads_the_same_key(private_key: RsaPrivateKey) -> None:
    """Skipping validation of authenticated bytes loads the same key, with the same bytes."""
    reloaded = load_authenticated_private_key_der(private_key.pkcs8_der)
    assert reloaded == private_key
    assert reloaded.pkcs8_der == private_key.pkcs8_der
    verify(private_key.public_key, b"m", sign(reloaded, b"m"))


def test_authenticated_der_still_refuses_what_is_not_an_rsa_2048_key() -> None:
    """Garbage, a short RSA key and a non-RSA key are KeyFormatError, validation or not."""
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  refused
    curve = ec.generate_private_key(ec.SECP256R1())
    for data in (
        b"garbage",
        small.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        curve.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    ):
        with pytest.raises(KeyFormatError):
            load_authenticated_private_key_der(data)


@given(
    private_key=rsa_private_keys(), private_format=st.sampled_from(["TraditionalOpenSSL", "PKCS8"])
)
def test_pem_round_trip(private_key: RsaPrivateKey, private_format: str) -> None:
    """PKCS#1 ("RSA PRIVATE KEY") and PKCS#8 ("PRIVATE KEY") PEM both load to the same key."""
    assert load_private_key_pem(_pem(private_key.key, private_format)) == private_key


def test_key_repr_hides_the_private_key() -> None:
    """The repr of a private key does not contain its DER."""
    private_key = _sample_key()
    assert private_key.pkcs8_der.hex() not in repr(private_key)
    assert "pkcs8_der" not in repr(private_key)


def test_key_file_pem_body_is_the_hashed_der() -> None:
    """The sample key files' PKCS#8 re-serialize to themselves and give the manifest's write key."""
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    for sample in manifest["files"]:
        if "key_file" not in sample or sample["key_file"] is None:
            continue
        pem = (TAHOE_SHARES_DIR / sample["key_file"]).read_bytes()
        private_key = load_private_key_pem(pem)
        body = serialization.load_pem_private_key(pem, password=None).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, NO_ENCRYPTION
        )
        assert private_key.pkcs8_der == body
        assert b2a(hashing.mutable_writekey(private_key.pkcs8_der)) == sample["writekey_b32"]


# --- rejecting what is not an RSA-2048 key ---------------------------------------------


@given(data=st.binary(max_size=2000))
def test_garbage_der_private_key_raises_key_format_error(data: bytes) -> None:
    """Arbitrary bytes given as a DER private key raise only KeyFormatError."""
    with pytest.raises(KeyFormatError):
        load_private_key_der(data)


@given(data=st.one_of(st.binary(max_size=2000), pem_armoured_garbage()))
def test_garbage_pem_private_key_raises_key_format_error(data: bytes) -> None:
    """Arbitrary bytes or armoured garbage given as a PEM private key raise only KeyFormatError."""
    with pytest.raises(KeyFormatError):
        load_private_key_pem(data)


@given(data=st.binary(max_size=600))
def test_garbage_spki_raises_key_format_error(data: bytes) -> None:
    """Arbitrary bytes given as an SPKI public key raise only KeyFormatError."""
    with pytest.raises(KeyFormatError):
        load_public_key_der(data)


@settings(max_examples=40)
@given(data=st.data())
def test_mutated_private_der_loads_or_raises_key_format_error(data: st.DataObject) -> None:
    """A damaged PKCS#8 key either still loads as RSA-2048 or raises KeyFormatError."""
    mutated = data.draw(mutated_bytes(_sample_key().pkcs8_der))
    try:
        loaded = load_private_key_der(mutated)
    except KeyFormatError:
        return
    assert loaded.key.key_size == RSA_KEY_BITS


@settings(max_examples=40)
@given(data=st.data())
def test_mutated_spki_loads_or_raises_key_format_error(data: st.DataObject) -> None:
    """A damaged SPKI either still loads as RSA-2048 or raises KeyFormatError."""
    mutated = data.draw(mutated_bytes(_sample_key().public_key.spki_der))
    try:
        loaded = load_public_key_der(mutated)
    except KeyFormatError:
        return
    assert loaded.key.key_size == RSA_KEY_BITS


def test_small_rsa_key_is_rejected() -> None:
    """An RSA-1024 key is refused as PEM, as DER and as SPKI."""
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  refused  # noqa: S505  a key we must refuse
    der = small.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, NO_ENCRYPTION
    )
    spki = small.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFormatError, match="1024 bits"):
        load_private_key_pem(_pem(small, "PKCS8"))
    with pytest.raises(KeyFormatError, match="1024 bits"):
        load_private_key_der(der)
    with pytest.raises(KeyFormatError, match="1024 bits"):
        load_public_key_der(spki)
    with pytest.raises(KeyFormatError):
        RsaPrivateKey(small)


def test_wrappers_refuse_non_keys() -> None:
    """The key records refuse anything but a cryptography RSA-2048 key object."""
    with pytest.raises(KeyFormatError):
        RsaPrivateKey(b"not a key")  # type: ignore[arg-type]
    with pytest.raises(KeyFormatError):
        RsaPublicKey(_sample_key().key)  # type: ignore[arg-type]


def test_non_rsa_keys_are_rejected() -> None:
    """EC and Ed25519 keys are refused with KeyFormatError."""
    ec_key = ec.derive_private_key(123456789, ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32))
    for other in (ec_key, ed_key):
        pem = other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, NO_ENCRYPTION
        )
        spki = other.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(KeyFormatError, match="not an RSA"):
            load_private_key_pem(pem)
        with pytest.raises(KeyFormatError, match="not an RSA"):
            load_public_key_der(spki)


def test_encrypted_pem_is_rejected() -> None:
    """A password-protected PEM key raises KeyFormatError, not TypeError."""
    encrypted = _sample_key().key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"password"),
    )
    with pytest.raises(KeyFormatError):
        load_private_key_pem(encrypted)


# --- signatures ------------------------------------------------------------------------


@given(private_key=rsa_private_keys(), message=st.binary(max_size=200))
def test_sign_verify_round_trip(private_key: RsaPrivateKey, message: bytes) -> None:
    """A signature is 256 bytes and verifies under the key object and its SPKI DER."""
    signature = sign(private_key, message)
    assert len(signature) == SIGNATURE_SIZE
    verify(private_key.public_key, message, signature)
    verify(private_key.public_key.spki_der, message, signature)


@given(
    private_key=rsa_private_keys(),
    message=st.binary(max_size=100),
    bit=st.integers(min_value=0, max_value=SIGNATURE_SIZE * 8 - 1),
)
def test_flipped_signature_bit_fails(private_key: RsaPrivateKey, message: bytes, bit: int) -> None:
    """Flipping any one bit of a signature makes it fail with BadSignatureError."""
    signature = bytearray(sign(private_key, message))
    signature[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadSignatureError):
        verify(private_key.public_key, message, bytes(signature))


@given(private_key=rsa_private_keys(), message=st.binary(max_size=100))
def test_changed_message_fails(private_key: RsaPrivateKey, message: bytes) -> None:
    """A signature does not verify a different message."""
    signature = sign(private_key, message)
    with pytest.raises(BadSignatureError):
        verify(private_key.public_key, message + b"!", signature)


def test_other_key_fails() -> None:
    """A signature by one key does not verify under another."""
    sdmf_key = _sample_key()
    mdmf_key = load_private_key_pem((TAHOE_SHARES_DIR / "mdmf-key.pem").read_bytes())
    with pytest.raises(BadSignatureError):
        verify(mdmf_key.public_key, b"message", sign(sdmf_key, b"message"))


@given(signature=st.binary(max_size=300).filter(lambda value: len(value) != SIGNATURE_SIZE))
def test_wrong_length_signature_fails(signature: bytes) -> None:
    """A signature that is not 256 bytes raises BadSignatureError."""
    with pytest.raises(BadSignatureError):
        verify(_sample_key().public_key, b"message", signature)


def test_verify_with_unparseable_key_raises_key_format_error() -> None:
    """verify() given garbage key bytes raises KeyFormatError."""
    with pytest.raises(KeyFormatError):
        verify(b"not a key", b"message", bytes(SIGNATURE_SIZE))


@pytest.mark.parametrize("kind", ["SDMF", "MDMF"])
def test_real_tahoe_share_signature_verifies(kind: str) -> None:
    """Tahoe 1.20's signature over a share's signed prefix verifies, and its key matches the cap."""
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    sample = next(entry for entry in manifest["files"] if entry["kind"] == kind)
    share_entry = sample["shares"][0]
    layout = share_entry["share"]
    offsets = layout["offsets"]
    share_data = (TAHOE_SHARES_DIR / share_entry["file"]).read_bytes()[
        share_entry["share_data_offset"] :
    ]
    signature = share_data[offsets["signature"] : offsets["signature"] + layout["signature_length"]]
    key_start = 107 if kind == "SDMF" else offsets["verification_key"]
    spki = share_data[key_start : key_start + layout["verification_key_length"]]
    private_key = load_private_key_pem((TAHOE_SHARES_DIR / sample["key_file"]).read_bytes())
    assert spki == private_key.public_key.spki_der
    assert sample["write_cap"].endswith(":" + b2a(hashing.pubkey_fingerprint(spki)))
    verify(spki, share_data[: layout["signed_prefix_length"]], signature)
    with pytest.raises(BadSignatureError):
        verify(spki, share_data[: layout["signed_prefix_length"] - 1], signature)


def test_old_e17_key_loads_and_its_signature_verifies() -> None:
    """A pycryptopp-era e=17 key (292-byte SPKI) loads, and Tahoe 1.2.0's signature verifies."""
    share_data = _old_tahoe_mutable_share_data()
    spki = share_data[107:399]
    public_key = load_public_key_der(spki)
    assert len(public_key.spki_der) == 292
    assert public_key.key.public_numbers().e == 17
    verify(public_key, share_data[:75], share_data[399:655])
    fingerprint = "euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq"
    assert b2a(hashing.pubkey_fingerprint(spki)) == fingerprint


def test_old_e17_private_key_decrypts_and_loads() -> None:
    """The 1.2.0 share's enc_privkey decrypts to an e=17 key that hashes to the write key."""
    share_data = _old_tahoe_mutable_share_data()
    writekey = a2b("vfvcbdfbszyrsaxchgevhmmlii")
    pkcs8 = aes_ctr(writekey, share_data[953:2170])
    assert hashing.mutable_writekey(pkcs8) == writekey
    private_key = load_private_key_der(pkcs8)
    assert private_key.pkcs8_der == pkcs8
    assert private_key.public_key.spki_der == share_data[107:399]


# --- known answers ---------------------------------------------------------------------


def _mutable_key_entries() -> list[dict[str, object]]:
    """The tahoe-vectors section 6 samples from hash_vectors.json."""
    entries: list[dict[str, object]] = json.loads((VECTORS_DIR / "hash_vectors.json").read_text())[
        "mutable_keys"
    ]
    return entries


@pytest.mark.parametrize(
    ("entry", "mutable_format"), list(zip(_mutable_key_entries(), ["sdmf", "mdmf"], strict=True))
)
def test_sample_key_derivations(entry: dict[str, object], mutable_format: str) -> None:
    """The section 6.1/6.2 keys give the listed DER lengths and every derived value."""
    private_key = load_private_key_pem(first_ssk_pem(mutable_format))
    pkcs8 = private_key.pkcs8_der
    spki = private_key.public_key.spki_der
    assert len(pkcs8) == entry["pkcs8_length"]
    assert len(spki) == entry["spki_length"]
    writekey = hashing.mutable_writekey(pkcs8)
    readkey = hashing.mutable_readkey(writekey)
    fingerprint = hashing.pubkey_fingerprint(spki)
    master = hashing.write_enabler_master(writekey)
    assert b2a(writekey) == entry["writekey_b32"]
    assert b2a(readkey) == entry["readkey_b32"]
    assert b2a(hashing.mutable_storage_index(readkey)) == entry["storage_index_b32"]
    assert b2a(fingerprint) == entry["fingerprint_b32"]
    assert b2a(master) == entry["write_enabler_master_b32"]
    assert b2a(hashing.write_enabler(master, bytes(20))) == entry["write_enabler_zero_nodeid_b32"]
    assert b2a(hashing.mutable_data_key(bytes(16), readkey)) == entry["data_key_zero_salt_b32"]
    assert f"{entry['cap_prefix']}{b2a(writekey)}:{b2a(fingerprint)}" == entry["expected_cap"]


def _check_ssk_vector(mutable_format: str, pem: bytes, expected: str) -> None:
    """Build the write cap of one test_vectors.yaml SSK entry by hand and compare."""
    prefixes = {"sdmf": "URI:SSK:", "mdmf": "URI:MDMF:"}
    private_key = load_private_key_pem(pem)
    writekey = hashing.mutable_writekey(private_key.pkcs8_der)
    fingerprint = hashing.pubkey_fingerprint(private_key.public_key.spki_der)
    assert f"{prefixes[mutable_format]}{b2a(writekey)}:{b2a(fingerprint)}" == expected


def test_ssk_vector_caps_sample() -> None:
    """Every 20th SDMF/MDMF entry of test_vectors.yaml gives the expected write cap."""
    vectors = ssk_vectors()
    assert len(vectors) == 240
    for mutable_format, pem, expected in vectors[::20]:
        _check_ssk_vector(mutable_format, pem, expected)


@pytest.mark.slow
def test_every_ssk_vector_cap() -> None:
    """All 240 SDMF/MDMF entries of test_vectors.yaml give the expected write cap from their key."""
    for mutable_format, pem, expected in ssk_vectors():
        _check_ssk_vector(mutable_format, pem, expected)


def test_public_key_equality_ignores_object_identity() -> None:
    """Two loads of the same SPKI are equal and hash alike."""
    spki = _sample_key().public_key.spki_der
    first, second = load_public_key_der(spki), load_public_key_der(spki)
    assert first == second
    assert hash(first) == hash(second)
    assert isinstance(first, RsaPublicKey)
